"""Reference solution for w1-from-numpy (trusted process only)."""

import numpy as np
import torch


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(arr)


def data_addresses(arr: np.ndarray, t: torch.Tensor) -> tuple[int, int]:
    return arr.__array_interface__["data"][0], t.data_ptr()
