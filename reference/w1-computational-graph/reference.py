"""Reference solution for w1-computational-graph (trusted process only): the course's graph,
computed by torch itself."""

import torch

GRAPH_CONCEPTS = {"nodes", "edges"}

DYNAMIC_VS_STATIC = """A static graph is built first and then run (TensorFlow 1.x: define the
graph, then feed data through a session); it can be optimised as a whole but is rigid.  A
dynamic graph is built as the operations execute (PyTorch: define by run), so ordinary Python
control flow shapes it and it is easy to debug."""


def graph_tensors(w: float, x: float) -> dict[str, torch.Tensor]:
    w_t = torch.tensor([w], requires_grad=True)
    x_t = torch.tensor([x], requires_grad=True)
    a = torch.add(w_t, x_t)
    b = torch.add(w_t, 1)
    y = torch.mul(a, b)
    y.backward()
    return {"w": w_t, "x": x_t, "a": a, "b": b, "y": y}


def graph_facts(w: float, x: float) -> dict:
    tensors = graph_tensors(w, x)
    return {
        "dy_dw": tensors["w"].grad.item(),
        "dy_dx": tensors["x"].grad.item(),
        "is_leaf": {name: t.is_leaf for name, t in tensors.items()},
        "grad_fn": {name: type(t.grad_fn).__name__ if t.grad_fn is not None else None for name, t in tensors.items()},
    }
