"""Objects the checker asks the job to build from a name and plain arguments.

A check cannot send a function or a transform across the channel, so it sends a recipe,
``{"__recipe__": {"name": ..., "args": [...]}}``, and the job builds the object from this
fixed registry.  Builtins are helpers the checker runs inside the job on the student's
objects (e.g. iterating a DataLoader over a student's Dataset).  Nothing here is secret:
hidden values only ever arrive as recipe arguments.
"""

from __future__ import annotations

RECIPES: dict = {}
BUILTINS: dict = {}


def recipe(name: str):
    def register(builder):
        RECIPES[name] = builder
        return builder
    return register


def builtin(name: str):
    def register(helper):
        BUILTINS[name] = helper
        return helper
    return register


def build(name: str, args: list):
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}")
    return RECIPES[name](*args)


def run_builtin(name: str, args: list):
    if name not in BUILTINS:
        raise ValueError(f"unknown builtin {name!r}")
    return BUILTINS[name](*args)


@builtin("module_parameters")
def module_parameters(module) -> dict:
    """Name -> detached parameter tensor of an ``nn.Module``."""
    return {name: value.detach().clone() for name, value in module.named_parameters()}


@builtin("predict")
def predict(model, inputs):
    """The model's output on ``inputs`` in eval mode, without gradients, on the CPU."""
    import torch

    model.eval()
    with torch.no_grad():
        return model.cpu()(inputs)
