import torch


def derivatives(f, x, order):
    x = torch.tensor(x, requires_grad=True)
    y = f(x)
    result = []
    for _ in range(order):
        (y,) = torch.autograd.grad(y, x, create_graph=True)
        result.append(y.item())
    return result
