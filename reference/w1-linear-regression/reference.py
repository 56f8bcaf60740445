"""Reference solution for w1-linear-regression (trusted process only): the course's loop,
with the stop rule tested at every iteration."""

import torch


def train_linear_regression(x: torch.Tensor, y: torch.Tensor, lr: float = 0.05, loss_threshold: float = 1.0,
                            max_iters: int = 1000) -> dict:
    w = torch.randn(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for iteration in range(max_iters):
        loss = (0.5 * (y - (w * x + b)) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        if loss.item() < loss_threshold:
            break
    with torch.no_grad():
        final_loss = (0.5 * (y - (w * x + b)) ** 2).mean().item()
    return {"w": w.item(), "b": b.item(), "iterations": iteration, "final_loss": final_loss}
