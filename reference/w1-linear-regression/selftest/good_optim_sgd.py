# torch.optim.SGD on two parameters; the stop rule is tested before each step, and
# iterations is the 1-based count of loss evaluations.
import torch
from torch import nn


def mse_half(y, y_pred):
    return torch.mean(0.5 * (y - y_pred) ** 2)


def train_linear_regression(x, y, lr=0.05, loss_threshold=1.0, max_iters=1000):
    w = nn.Parameter(torch.randn(1))
    b = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([w, b], lr=lr)
    count = 0
    for count in range(1, max_iters + 1):
        optimizer.zero_grad()
        loss = mse_half(y, w * x + b)
        if loss.item() < loss_threshold:
            break
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = mse_half(y, w * x + b).item()
    return dict(w=float(w.detach()), b=float(b.detach()), iterations=count, final_loss=final)
