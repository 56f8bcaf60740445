"""Tensors: type, device, shape, dtype, NaN, then values, one message per step.

``what`` names the value for the student (a catalogue message, or plain text such as a call);
``why`` says why the expected shape or dtype is what it is (a catalogue message)."""

from __future__ import annotations

import torch

from grader.checks import Verdict, failed, first_failure, passed
from grader.i18n import Message, _
from grader.values import StudentTensor, describe

PLAIN_TENSOR_TYPES = {"torch.Tensor", "torch.nn.parameter.Parameter"}


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def is_tensor(value, *, what: Message) -> Verdict:
    if not isinstance(value, StudentTensor):
        return failed(_("{what} should be a torch.Tensor, but it is {kind}", what=what, kind=describe(value)))
    if value.type_name not in PLAIN_TENSOR_TYPES:
        return failed(_("{what} should be a plain torch.Tensor, but it is a {type_name}", what=what,
                        type_name=value.type_name))
    return passed()


def on_device(value: StudentTensor, device: str, *, what: Message) -> Verdict:
    if value.device.split(":")[0] != device:
        return failed(_("{what} is on {device}; expected {expected}", what=what, device=value.device, expected=device))
    return passed()


def shape_matches(value: StudentTensor, shape, *, what: Message, why: Message = "") -> Verdict:
    if list(value.shape) == list(shape):
        return passed()
    expected, got = str(list(shape)), str(list(value.shape))  # as text: a message's arguments stay hashable
    if why:
        return failed(_("{what} has shape {got}, expected {expected} ({why})", what=what, got=got, expected=expected,
                        why=why))
    return failed(_("{what} has shape {got}, expected {expected}", what=what, got=got, expected=expected))


def dtype_matches(value: StudentTensor, dtype: torch.dtype, *, what: Message, why: Message = "") -> Verdict:
    if value.dtype == dtype:
        return passed()
    got, expected = dtype_name(value.dtype), dtype_name(dtype)
    if why:
        return failed(_("{what} has dtype {got}, expected {expected} ({why})", what=what, got=got, expected=expected,
                        why=why))
    return failed(_("{what} has dtype {got}, expected {expected}", what=what, got=got, expected=expected))


def no_nan(value: StudentTensor, expected: torch.Tensor, *, what: Message) -> Verdict:
    unexpected = torch.isnan(value.tensor) & ~torch.isnan(expected) if value.tensor.is_floating_point() \
        else torch.zeros(value.shape, dtype=torch.bool)
    if unexpected.any():
        index = str([int(i) for i in unexpected.nonzero()[0]])
        return failed(_("{what} has NaN at index {index} (and {more} more) where a number was expected",
                        what=what, index=index, more=int(unexpected.sum()) - 1))
    return passed()


def values_close(value: StudentTensor, expected: torch.Tensor, *, what: Message, rtol: float, atol: float) -> Verdict:
    got = value.tensor.to(torch.float64) if value.tensor.is_floating_point() else value.tensor
    want = expected.to(got.dtype)
    if got.is_floating_point():
        close = torch.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    else:
        close = got == want
    if bool(close.all()):
        return passed()
    index = tuple(int(i) for i in (~close).nonzero()[0])
    return failed(_("{what} at index {index} is {got:.6g}, expected {expected:.6g} ({wrong} of {total} elements "
                    "differ beyond rtol={rtol:g}, atol={atol:g})", what=what, index=str(list(index)),
                    got=float(got[index]), expected=float(want[index]), wrong=int((~close).sum()),
                    total=close.numel(), rtol=rtol, atol=atol))


def tensor_matches(value, expected: torch.Tensor, *, what: Message = _("the result"), rtol: float = 1e-5,
                   atol: float = 1e-8, check_dtype: bool = True, device: str | None = "cpu") -> Verdict:
    """The whole ladder: a tensor, on the device, of the shape, of the dtype, without stray
    NaN, with values close to ``expected``."""
    return first_failure(
        lambda: is_tensor(value, what=what),
        lambda: on_device(value, device, what=what) if device else passed(),
        lambda: shape_matches(value, expected.shape, what=what),
        lambda: dtype_matches(value, expected.dtype, what=what) if check_dtype else passed(),
        lambda: no_nan(value, expected, what=what),
        lambda: values_close(value, expected, what=what, rtol=rtol, atol=atol),
    )
