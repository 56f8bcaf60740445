# retain_graph keeps the graph of y, but the gradient itself is not differentiable.
import torch


def derivatives(f, x, order):
    x = torch.tensor(x, requires_grad=True)
    y = f(x)
    result = []
    for _ in range(order):
        (y,) = torch.autograd.grad(y, x, retain_graph=True)
        result.append(y.item())
    return result
