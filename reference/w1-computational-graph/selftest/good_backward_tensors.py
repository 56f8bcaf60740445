"""The course's lesson-4 code, returning w.grad itself (a 1-element tensor)."""
import torch


def graph_facts(w, x):
    w = torch.tensor([w], requires_grad=True)
    x = torch.tensor([x], requires_grad=True)
    a = w + x
    b = w + 1
    y = a * b
    y.backward()

    def name(t):
        return t.grad_fn.name() if t.grad_fn else None

    return {
        "dy_dw": w.grad,
        "dy_dx": x.grad,
        "is_leaf": {"w": w.is_leaf, "x": x.is_leaf, "a": a.is_leaf, "b": b.is_leaf, "y": y.is_leaf},
        "grad_fn": {"w": name(w), "x": name(x), "a": name(a), "b": name(b), "y": name(y)},
    }


GRAPH_CONCEPTS = {"node", "edge"}
DYNAMIC_VS_STATIC = "Dynamic: built as it runs. Static: built first, then run."
