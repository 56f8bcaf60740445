# No autograd: the gradients of mean(0.5 * (y - (w*x + b))**2) written out by hand. w and b are
# returned as 1-element tensors (accepted, with a note).
import torch


def train_linear_regression(x, y, lr=0.05, loss_threshold=1.0, max_iters=1000):
    x, y = x.reshape(-1), y.reshape(-1)
    w = torch.randn(1)
    b = torch.zeros(1)
    n_done = 0
    while n_done < max_iters:
        residual = (w * x + b) - y
        w = w - lr * (residual * x).mean()
        b = b - lr * residual.mean()
        n_done += 1
        loss = (0.5 * ((w * x + b) - y) ** 2).mean()
        if loss < loss_threshold:
            break
    return {"w": w, "b": b, "iterations": n_done, "final_loss": float(loss)}
