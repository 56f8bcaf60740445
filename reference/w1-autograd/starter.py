"""w1-autograd — torch.autograd.grad and higher-order derivatives (W1T3, lesson 5).

derivatives(f, x, order) returns [f'(x), f''(x), ...] up to the given order, computed with
torch.autograd.grad.  f takes a tensor and returns a tensor (for example torch.sin, or
lambda t: t ** 2).
"""

import torch


def derivatives(f, x: float, order: int) -> list[float]:
    raise NotImplementedError


if __name__ == "__main__":
    print(derivatives(lambda t: t ** 2, 3.0, 2))  # the lesson's example: [6.0, 2.0]
