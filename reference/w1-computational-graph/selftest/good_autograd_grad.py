import torch


def graph_facts(w, x):
    w = torch.tensor([w], requires_grad=True)
    x = torch.tensor([x], requires_grad=True)
    a = torch.add(w, x)
    b = torch.add(w, 1)
    y = torch.mul(a, b)
    dy_dw, dy_dx = torch.autograd.grad(y, [w, x])
    tensors = {"w": w, "x": x, "a": a, "b": b, "y": y}
    return {
        "dy_dw": dy_dw.item(),
        "dy_dx": dy_dx.item(),
        "is_leaf": {name: t.is_leaf for name, t in tensors.items()},
        "grad_fn": {name: (type(t.grad_fn).__name__ if t.grad_fn is not None else None)
                    for name, t in tensors.items()},
    }


GRAPH_CONCEPTS = {"nodes", "edges"}

DYNAMIC_VS_STATIC = """Static graphs are defined first and executed later (TensorFlow 1.x);
dynamic graphs are built while the code runs (PyTorch), so they can change every iteration."""
