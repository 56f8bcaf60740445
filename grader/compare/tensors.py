"""Tensors: type, device, shape, dtype, NaN, then values, one message per step."""

from __future__ import annotations

import torch

from grader.checks import Verdict, failed, first_failure, passed
from grader.values import StudentTensor, describe

PLAIN_TENSOR_TYPES = {"torch.Tensor", "torch.nn.parameter.Parameter"}


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def is_tensor(value, *, what: str) -> Verdict:
    if not isinstance(value, StudentTensor):
        return failed(f"{what} should be a torch.Tensor, but it is {describe(value)}")
    if value.type_name not in PLAIN_TENSOR_TYPES:
        return failed(f"{what} should be a plain torch.Tensor, but it is a {value.type_name}")
    return passed()


def on_device(value: StudentTensor, device: str, *, what: str) -> Verdict:
    if value.device.split(":")[0] != device:
        return failed(f"{what} is on {value.device}; expected {device}")
    return passed()


def shape_matches(value: StudentTensor, shape, *, what: str, why: str = "") -> Verdict:
    expected = list(shape)
    if list(value.shape) != expected:
        return failed(f"{what} has shape {list(value.shape)}, expected {expected}{f' ({why})' if why else ''}")
    return passed()


def dtype_matches(value: StudentTensor, dtype: torch.dtype, *, what: str, why: str = "") -> Verdict:
    if value.dtype != dtype:
        return failed(f"{what} has dtype {dtype_name(value.dtype)}, expected {dtype_name(dtype)}"
                      f"{f' ({why})' if why else ''}")
    return passed()


def no_nan(value: StudentTensor, expected: torch.Tensor, *, what: str) -> Verdict:
    unexpected = torch.isnan(value.tensor) & ~torch.isnan(expected) if value.tensor.is_floating_point() \
        else torch.zeros(value.shape, dtype=torch.bool)
    if unexpected.any():
        index = tuple(int(i) for i in unexpected.nonzero()[0])
        return failed(f"{what} has NaN at index {list(index)} (and {int(unexpected.sum()) - 1} more) "
                      f"where a number was expected")
    return passed()


def values_close(value: StudentTensor, expected: torch.Tensor, *, what: str, rtol: float, atol: float) -> Verdict:
    got = value.tensor.to(torch.float64) if value.tensor.is_floating_point() else value.tensor
    want = expected.to(got.dtype)
    if got.is_floating_point():
        close = torch.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    else:
        close = got == want
    if bool(close.all()):
        return passed()
    index = tuple(int(i) for i in (~close).nonzero()[0])
    wrong = int((~close).sum())
    return failed(f"{what} at index {list(index)} is {float(got[index]):.6g}, expected {float(want[index]):.6g} "
                  f"({wrong} of {close.numel()} elements differ beyond rtol={rtol:g}, atol={atol:g})")


def tensor_matches(value, expected: torch.Tensor, *, what: str = "the result", rtol: float = 1e-5,
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
