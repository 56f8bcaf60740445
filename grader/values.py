"""What the trusted side makes of the values a job sends back.

A tensor from the job arrives as raw bytes with its dtype, shape and (when it is not row-major)
strides and storage offset; it becomes a ``StudentTensor``: a fresh, plain ``torch.Tensor``
rebuilt here in that layout, plus what the job said
about it (its Python type, device, grad_fn).  Those claims are only ever used to give
feedback on the student's own answer.  Objects that stay in the job come back as ``Handle``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from grader.i18n import Text, _
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

    def described(self) -> Text:
        return _("a tensor of shape {shape} and dtype {dtype}", shape=list(self.shape),
                 dtype=str(self.dtype).removeprefix("torch."))

    def describe(self) -> str:
        return str(self.described())


@dataclasses.dataclass(frozen=True)
class StudentArray:
    array: np.ndarray

    def described(self) -> Text:
        return _("a numpy array of shape {shape} and dtype {dtype}", shape=list(self.array.shape),
                 dtype=str(self.array.dtype))

    def describe(self) -> str:
        return str(self.described())


@dataclasses.dataclass(frozen=True)
class Handle:
    """An object that lives in the job (a model, a dataset, a function)."""

    id: int
    type_name: str = ""
    callable: bool = False

    def __wire__(self, encoder: wire.Encoder) -> dict:
        return {"__handle__": {"id": self.id}}

    def described(self) -> Text:
        name = self.type_name.rsplit(".", 1)[-1]
        return _("a {type}", type=name) if name else _("an object")

    def describe(self) -> str:
        return str(self.described())


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
        tensor=tensor if "stride" in meta else tensor.clone(),  # rebuilt in its layout: already its own memory
        type_name=meta.get("type", "torch.Tensor"),
        device=meta.get("device", "cpu"),
        requires_grad=meta.get("requires_grad", False),
        grad_fn=meta.get("grad_fn"),
        is_leaf=meta.get("is_leaf", True),
    )


def noncontiguous(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor``'s values in a layout no row-major code expects: its dimensions stored in
    reverse order, every other element of the outermost one, from storage offset 1.  Sent to
    the job as it is (its strides and offset cross the channel), so ``t.view(...)`` on it
    raises there as it would on a transposed or sliced tensor; ``reshape`` works.  A tensor of
    at most one element is always contiguous and comes back unchanged."""
    if tensor.numel() <= 1:
        return tensor.clone()
    reversed_shape = list(tensor.shape[::-1])
    reversed_shape[-1] = 2 * reversed_shape[-1] + 1
    holder = torch.zeros(reversed_shape, dtype=tensor.dtype)
    laid_out = holder[..., 1::2].permute(*reversed(range(tensor.dim())))
    return laid_out.copy_(tensor)


def encode(value) -> tuple[object, list]:
    """Encode checker-side arguments (tensors, handles, recipes, plain data)."""
    return wire.encode(value, store=_refuse)


def _refuse(value):
    raise TypeError(f"the checker cannot send a {type(value).__name__}")


def described(value) -> Text | str:
    """A short, student-facing description of a returned value's kind, as a message (for
    ``_("... {value}", value=described(value))``)."""
    if hasattr(value, "described"):
        return value.described()
    if value is None:
        return "None"
    return _("a {type}", type=type(value).__name__)


def describe(value) -> str:
    """``described(value)`` in English, for text that is not a catalogue message yet."""
    return str(described(value))
