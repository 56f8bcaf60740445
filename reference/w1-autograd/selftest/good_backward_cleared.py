"""backward() with create_graph=True, clearing x.grad each time; returns 1-element tensors."""
import torch


def derivatives(f, x, order):
    x = torch.tensor([float(x)], requires_grad=True)
    y = f(x)
    result = []
    for _ in range(order):
        x.grad = None
        if y.requires_grad:
            y.backward(create_graph=True)
            y = x.grad
        else:  # a constant derivative: the next ones are 0
            y = torch.zeros_like(x)
        result.append(y.detach().clone())
    return result
