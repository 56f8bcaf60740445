# "Leaves" taken to be the ends of the graph: the output y.
import torch


def graph_facts(w, x):
    w = torch.tensor([w], requires_grad=True)
    x = torch.tensor([x], requires_grad=True)
    a = w + x
    b = w + 1
    y = a * b
    y.backward()
    return {
        "dy_dw": w.grad.item(),
        "dy_dx": x.grad.item(),
        "is_leaf": {"w": False, "x": False, "a": False, "b": False, "y": True},
        "grad_fn": {n: (t.grad_fn.name() if t.grad_fn else None) for n, t in zip("wxaby", (w, x, a, b, y))},
    }


GRAPH_CONCEPTS = {"nodes", "edges"}
DYNAMIC_VS_STATIC = "Dynamic graphs are built on the fly."
