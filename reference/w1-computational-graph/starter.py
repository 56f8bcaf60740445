"""w1-computational-graph — nodes, edges, leaves, grad_fn (W1T2 Q2, Q3 and lesson 4).

Build the course's graph  a = w + x,  b = w + 1,  y = a * b  with torch and report what torch
says about it.
"""

import torch


def graph_facts(w: float, x: float) -> dict:
    """Return
    {
        "dy_dw": float,                                   # w.grad after y.backward()
        "dy_dx": float,                                   # x.grad
        "is_leaf": {"w": bool, "x": bool, "a": bool, "b": bool, "y": bool},
        "grad_fn": {"w": str | None, ..., "y": str | None},   # e.g. "MulBackward0"; None for a leaf
    }
    """
    raise NotImplementedError


# The two main concepts of a computational graph (a set of strings, English or Chinese).
GRAPH_CONCEPTS = set()

# 动态图与静态图的区别是什么？
# What is the difference between a dynamic and a static graph?
DYNAMIC_VS_STATIC = """"""


if __name__ == "__main__":
    print(graph_facts(1.0, 2.0))
