"""w1-linear-regression — train linear regression, change the slope and the stop rule (W1T2 Q1).

Fill in train_linear_regression.  Importing this file must not train anything: keep demos
under `if __name__ == "__main__":`.
"""

import torch


def train_linear_regression(x: torch.Tensor, y: torch.Tensor, lr: float = 0.05, loss_threshold: float = 1.0,
                            max_iters: int = 1000) -> dict:
    """Fit y ≈ w * x + b by gradient descent on loss = mean(0.5 * (y - (w * x + b)) ** 2).

    x and y have shape [N, 1].  Start from w = torch.randn(1), b = torch.zeros(1) as the course
    does; stop at the first iteration whose loss is below loss_threshold, or after max_iters.
    Return {"w": float, "b": float, "iterations": int, "final_loss": float}.
    """
    raise NotImplementedError


if __name__ == "__main__":
    torch.manual_seed(10)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    print(train_linear_regression(x, y))
