# What the nodes and edges stand for, not the concepts themselves; no written answer.
import torch


def graph_facts(w, x):
    w = torch.tensor([w], requires_grad=True)
    x = torch.tensor([x], requires_grad=True)
    a = w + x
    b = w + 1
    y = a * b
    y.backward()
    tensors = dict(w=w, x=x, a=a, b=b, y=y)
    return {
        "dy_dw": w.grad.item(),
        "dy_dx": x.grad.item(),
        "is_leaf": {k: t.is_leaf for k, t in tensors.items()},
        "grad_fn": {k: (type(t.grad_fn).__name__ if t.grad_fn else None) for k, t in tensors.items()},
    }


GRAPH_CONCEPTS = ["数据", "运算"]
