import torch


def derivatives(f, x, order):
    x = torch.tensor(x, requires_grad=True)
    y = f(x)
    result = []
    for _ in range(order):
        if y.requires_grad:
            (y,) = torch.autograd.grad(y, x, create_graph=True)
        else:  # the derivative became a constant: the next ones are 0
            y = torch.zeros_like(x)
        result.append(y.item())
    return result
