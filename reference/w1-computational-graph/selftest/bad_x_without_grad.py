# x created without requires_grad, so x.grad stays None.
import torch


def graph_facts(w, x):
    w = torch.tensor([w], requires_grad=True)
    x = torch.tensor([x])
    a = torch.add(w, x)
    b = torch.add(w, 1)
    y = torch.mul(a, b)
    y.backward()
    tensors = {"w": w, "x": x, "a": a, "b": b, "y": y}
    return {
        "dy_dw": w.grad.item(),
        "dy_dx": x.grad,
        "is_leaf": {name: t.is_leaf for name, t in tensors.items()},
        "grad_fn": {name: (t.grad_fn.name() if t.grad_fn else None) for name, t in tensors.items()},
    }


GRAPH_CONCEPTS = {"nodes", "edges"}
DYNAMIC_VS_STATIC = "Dynamic graphs are built on the fly."
