"""What the trusted side makes of the values a job sends back.

A tensor from the job arrives as raw bytes with its dtype and shape; it becomes a
``StudentTensor``: a fresh, plain ``torch.Tensor`` rebuilt here, plus what the job said
about it (its Python type, device, grad_fn).  Those claims are only ever used to give
feedback on the student's own answer.  Objects that stay in the job come back as ``Handle``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from grader.sandbox import wire


@dataclasses.dataclass(frozen=True)
class StudentTensor:
    tensor: torch.Tensor
    type_name: str = "torch.Tensor"
    device: str = "cpu"
    requires_grad: bool = False
    grad_fn: str | None = None
    is_leaf: bool = True

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)

    @property
    def dtype(self) -> torch.dtype:
        return self.tensor.dtype

    def describe(self) -> str:
        return f"a tensor of shape {list(self.shape)} and dtype {str(self.dtype).removeprefix('torch.')}"


@dataclasses.dataclass(frozen=True)
class StudentArray:
    array: np.ndarray

    def describe(self) -> str:
        return f"a numpy array of shape {list(self.array.shape)} and dtype {self.array.dtype}"


@dataclasses.dataclass(frozen=True)
class Handle:
    """An object that lives in the job (a model, a dataset, a function)."""

    id: int
    type_name: str = ""
    callable: bool = False

    def __wire__(self, encoder: wire.Encoder) -> dict:
        return {"__handle__": {"id": self.id}}

    def describe(self) -> str:
        return f"a {self.type_name.rsplit('.', 1)[-1] or 'object'}"


@dataclasses.dataclass(frozen=True)
class Recipe:
    """An object for the job to build from its recipe registry (see ``sandbox.recipes``)."""

    name: str
    args: tuple = ()

    def __wire__(self, encoder: wire.Encoder) -> dict:
        return {"__recipe__": {"name": self.name, "args": [encoder.encode(a) for a in self.args]}}


def decode(node, blobs, caps: wire.Caps):
    """Validate and rebuild a value from the job.  Raises ``wire.ProtocolError``."""
    return decoder(blobs, caps).decode(node)


def decoder(blobs, caps: wire.Caps, budget: int | None = None) -> wire.Decoder:
    """A decoder that rebuilds the job's values as checker-side types; ``budget`` bounds the
    bytes they take once rebuilt (``Decoder.decoded`` tells what they took)."""
    return wire.Decoder(
        blobs, caps,
        on_tensor=_student_tensor,
        on_array=lambda meta, array: StudentArray(array),
        on_handle=lambda meta: Handle(meta["id"], meta.get("type", ""), meta.get("callable", False)),
        budget=budget,
    )


def _student_tensor(meta: dict, tensor: torch.Tensor) -> StudentTensor:
    return StudentTensor(
        tensor=tensor.clone(),
        type_name=meta.get("type", "torch.Tensor"),
        device=meta.get("device", "cpu"),
        requires_grad=meta.get("requires_grad", False),
        grad_fn=meta.get("grad_fn"),
        is_leaf=meta.get("is_leaf", True),
    )


def encode(value) -> tuple[object, list]:
    """Encode checker-side arguments (tensors, handles, recipes, plain data)."""
    return wire.encode(value, store=_refuse)


def _refuse(value):
    raise TypeError(f"the checker cannot send a {type(value).__name__}")


def describe(value) -> str:
    """A short, student-facing description of a returned value's kind."""
    if hasattr(value, "describe"):
        return value.describe()
    if value is None:
        return "None"
    return f"a {type(value).__name__}"
