"""Reference solution for w1-autograd (trusted process only)."""

import torch


def derivatives(f, x, order):
    x = torch.tensor(float(x), requires_grad=True)
    y = f(x)
    found = []
    for _ in range(order):
        if not y.requires_grad:  # a constant (x**2 twice differentiated): every further derivative is 0
            found.append(0.0)
            continue
        (y,) = torch.autograd.grad(y, x, create_graph=True)
        found.append(y.item())
    return found
