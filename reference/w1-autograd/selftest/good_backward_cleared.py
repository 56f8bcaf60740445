"""backward() with create_graph=True, clearing x.grad each time; returns 1-element tensors."""
import torch


def derivatives(f, x, order):
    x = torch.tensor([float(x)], requires_grad=True)
    y = f(x)
    result = []
    for _ in range(order):
        x.grad = None
        y.backward(create_graph=True)
        y = x.grad
        result.append(y.detach().clone())
    return result
