# The older course loop never zeroes the gradients: they pile up and the weights swing about.
import torch


def train_linear_regression(x, y, lr=0.05, loss_threshold=1.0, max_iters=1000):
    w = torch.randn((1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    for iteration in range(max_iters):
        loss = (0.5 * (y - (w * x + b)) ** 2).mean()
        loss.backward()
        b.data.sub_(lr * b.grad)
        w.data.sub_(lr * w.grad)
        if iteration % 20 == 0 and loss.item() < loss_threshold:
            break
    return {"w": w.item(), "b": b.item(), "iterations": iteration, "final_loss": loss.item()}
