# torch.optim.SGD with momentum; final_loss is the loss computed before the last update, which
# is not one plain gradient step away from the returned weights.
import torch


def train_linear_regression(x, y, lr=0.05, loss_threshold=1.0, max_iters=1000):
    w = torch.randn(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr, momentum=0.5)
    for iteration in range(max_iters):
        loss = (0.5 * (y - (w * x + b)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if loss.item() < loss_threshold:
            break
    return {"w": w.item(), "b": b.item(), "iterations": iteration, "final_loss": loss.item()}
