"""Recursion: the n-th derivative is the derivative of the (n-1)-th."""
import torch


def _nth(y, x, n):
    if n == 0:
        return []
    if not y.requires_grad:  # a constant: its derivatives are all 0
        return [0.0] * n
    grad = torch.autograd.grad(outputs=y, inputs=x, create_graph=True)[0]
    return [float(grad)] + _nth(grad, x, n - 1)


def derivatives(f, x, order):
    x = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    return _nth(f(x), x, order)
