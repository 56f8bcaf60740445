"""w1-normal-modes — the four modes of torch.normal (W1T1 Q5).

Fill in the four functions.  Each must draw its samples with torch's random generator
(so that torch.manual_seed makes it reproducible) and return a tensor.
"""

import torch


def normal_tensor_tensor(mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """mean and std are tensors: element i ~ N(mean[i], std[i]**2), shapes broadcast."""
    raise NotImplementedError


def normal_tensor_scalar(mean: torch.Tensor, std: float) -> torch.Tensor:
    """mean is a tensor, std a number: element i ~ N(mean[i], std**2)."""
    raise NotImplementedError


def normal_scalar_tensor(mean: float, std: torch.Tensor) -> torch.Tensor:
    """mean is a number, std a tensor: element i ~ N(mean, std[i]**2)."""
    raise NotImplementedError


def normal_scalar_scalar(mean: float, std: float, size: tuple[int, ...]) -> torch.Tensor:
    """mean and std are numbers: a tensor of the given size, every element ~ N(mean, std**2)."""
    raise NotImplementedError


if __name__ == "__main__":
    torch.manual_seed(1)
    mean = torch.arange(1, 5, dtype=torch.float)
    std = torch.arange(1, 5, dtype=torch.float)
    print(normal_tensor_tensor(mean, std))
    print(normal_tensor_scalar(mean, 1.0))
    print(normal_scalar_tensor(0.0, std))
    print(normal_scalar_scalar(0.0, 1.0, (4,)))
