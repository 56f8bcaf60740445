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


# Whether a tensor shares an array's memory can only be seen inside the job (w1-from-numpy):
# what crosses to the checker is a copy.  What these report is the student's process speaking:
# the checker may take points away on it, never give them (it reads the source for that).
@builtin("to_tensor_facts")
def to_tensor_facts(to_tensor, array) -> dict:
    """``to_tensor(array)``: what came back and whether a write through either side is seen
    by the other.  ``array`` arrived as a fresh, writable array of its own."""
    import torch

    tensor = to_tensor(array)
    if not isinstance(tensor, torch.Tensor):
        kind = type(tensor)
        return {"type": f"{kind.__module__}.{kind.__qualname__}"}
    return {"tensor": tensor.detach().clone(), **_writes_seen(array, tensor.detach())}


def _writes_seen(array, tensor) -> dict:
    flat_array, flat_tensor = array.reshape(-1), tensor.reshape(-1)
    if flat_array.size != flat_tensor.numel() or flat_array.size == 0:
        return {}
    flat_tensor[0] = mark = _other_than(flat_array[0].item())
    tensor_write_seen = bool(flat_array[0] == mark)
    flat_array[-1] = mark = _other_than(flat_tensor[-1].item())
    return {"tensor_write_seen": tensor_write_seen, "array_write_seen": bool(flat_tensor[-1].item() == mark)}


def _other_than(value) -> int:
    """A value exact in every dtype that differs from ``value``."""
    return 0 if value != 0 else 1


@builtin("data_addresses_answers")
def data_addresses_answers(data_addresses, array) -> list:
    """``data_addresses(array, t)`` for a tensor sharing the array's memory, for a copy, and for
    a view that starts one row later: the checker knows how the true addresses relate."""
    import torch

    shared = torch.from_numpy(array)
    return [data_addresses(array, tensor) for tensor in (shared, torch.tensor(array), shared[1])]


# Functions of one tensor for autograd exercises (w1-autograd); their parameters are the
# checker's (possibly hidden) arguments.
@recipe("polynomial")
def polynomial(coefficients):
    """x -> sum(c_k * x**k); ``x ** k`` keeps every derivative attached to the graph."""
    return lambda x: sum(c * x ** k for k, c in enumerate(coefficients))


@recipe("sine")
def sine(amplitude, frequency):
    import torch

    return lambda x: amplitude * torch.sin(frequency * x)


@recipe("exponential")
def exponential(scale, rate):
    import torch

    return lambda x: scale * torch.exp(rate * x)


@builtin("call_observed")
def call_observed(function, *args) -> dict:
    """``function(*args)`` plus what cannot be seen from outside the job: the arguments as they
    are after the call (in-place changes show there) and, per top-level package, the first of
    its Python functions that ran during the call."""
    import sys

    packages: dict[str, str] = {}

    def record(frame, event, arg):
        if event == "call":
            module = frame.f_globals.get("__name__", "")
            packages.setdefault(module.partition(".")[0], f"{module}.{frame.f_code.co_qualname}")

    previous = sys.getprofile()
    sys.setprofile(record)
    try:
        result = function(*args)
    finally:
        sys.setprofile(previous)
    return {"result": result, "arguments": list(args), "packages": packages}


# Image datasets (w2-rmb-dataset, w2-dogcat-dataset): a transform whose output the checker can
# recompute, and a DataLoader run over the student's Dataset where it lives, workers included.
@recipe("resize_to_tensor")
def resize_to_tensor(height: int, width: int):
    """``Compose([Resize((height, width)), ToTensor()])``, which also takes the image as a Dataset
    may hold it instead of a PIL image (see ``as_pil_image``): the representation is judged by a
    check of its own, so it does not fail the transform and DataLoader checks a second time."""
    import torchvision.transforms as transforms

    return transforms.Compose([as_pil_image, transforms.Resize((int(height), int(width))), transforms.ToTensor()])


def as_pil_image(image):
    """A numpy array or tensor holding an image (channels last, first or none; 0..255 or [0, 1])
    as the PIL image it was made from; anything else unchanged, for the transform to refuse."""
    import numpy as np
    import torch
    from PIL import Image

    if not isinstance(image, (np.ndarray, torch.Tensor)):
        return image
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = array.transpose(1, 2, 0)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or array.size == 0 or array.dtype.kind not in "uif":
        return image
    if array.dtype != np.uint8:
        scale = 255 if array.dtype.kind == "f" and float(array.max()) <= 1.0 else 1
        array = np.clip(np.round(array.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    try:
        return Image.fromarray(np.ascontiguousarray(array))
    except (TypeError, ValueError):
        return image


@builtin("dataloader_batches")
def dataloader_batches(dataset, batch_size: int, shuffle: bool, num_workers: int) -> list:
    """Every batch of one pass of ``DataLoader(dataset, ...)``; worker processes are forked
    inside the job and count against its process limit.  A worker's failure is re-raised as
    its own last line and the student's line, not the worker's whole traceback (which would be
    cut before the point)."""
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=int(batch_size), shuffle=bool(shuffle), num_workers=int(num_workers))
    try:
        return list(loader)
    except Exception as exc:
        short = _worker_failure(str(exc))
        if short is None:
            raise
        raise _exception_like(exc, short) from None


def _worker_failure(text: str) -> str | None:
    import os
    import re

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("Caught "):
        return None
    own = [re.match(r'File "(.+)", line (\d+)', line) for line in lines if line.startswith(f'File "{os.getcwd()}/')]
    where = f" (line {own[-1][2]} of {os.path.basename(own[-1][1])})" if own and own[-1] else ""
    return f"{lines[0]} {lines[-1]}{where}"


def _exception_like(exc: Exception, message: str) -> Exception:
    try:
        return type(exc)(message)
    except Exception:
        return RuntimeError(message)
