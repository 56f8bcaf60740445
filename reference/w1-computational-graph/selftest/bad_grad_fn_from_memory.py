# grad_fn names written from memory, 'None' as a string for the leaves.
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
        "is_leaf": {"w": w.is_leaf, "x": x.is_leaf, "a": a.is_leaf, "b": b.is_leaf, "y": y.is_leaf},
        "grad_fn": {"w": "None", "x": "None", "a": "AddBackward", "b": "AddBackward", "y": "MulBackward"},
    }


GRAPH_CONCEPTS = {"nodes", "edges"}
DYNAMIC_VS_STATIC = "Dynamic graphs are built on the fly."
