"""w1-from-numpy — torch.from_numpy and data addresses (W1T1 Q4).

Fill in the two functions.
"""

import numpy as np
import torch


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    """A tensor that shares arr's memory (a write to either is seen by the other), with arr's
    dtype and shape."""
    raise NotImplementedError


def data_addresses(arr: np.ndarray, t: torch.Tensor) -> tuple[int, int]:
    """The addresses of the data buffers of arr and of t (not the ids of the Python objects)."""
    raise NotImplementedError


if __name__ == "__main__":
    arr = np.array([[1, 2, 3], [4, 5, 6]])
    t = to_tensor(arr)
    t[0, 0] = -1
    print(arr)
    print(data_addresses(arr, t))
