"""Scalars: floats with tolerances and explicit NaN/inf handling, integers, booleans."""

from __future__ import annotations

import math

from grader.checks import Verdict, failed, passed
from grader.values import StudentTensor, describe


def as_float(value) -> tuple[float | None, str]:
    """The float a student meant, and a note when it came in another form (a 1-element
    tensor is accepted: returning ``w`` instead of ``w.item()`` is a common slip)."""
    if isinstance(value, bool):
        return None, ""
    if isinstance(value, (int, float)):
        return float(value), ""
    if isinstance(value, StudentTensor) and value.tensor.numel() == 1 and value.tensor.is_floating_point():
        return float(value.tensor.reshape(())), "it is a 1-element tensor; return .item() to give a plain float"
    return None, ""


def float_close(value, expected: float, *, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> Verdict:
    number, note = as_float(value)
    if number is None:
        return failed(f"{what} should be a number, but it is {describe(value)}")
    if math.isnan(expected) or math.isnan(number):
        if math.isnan(expected) and math.isnan(number):
            return passed()
        return failed(f"{what} is {_fmt(number)}, expected {_fmt(expected)}")
    if math.isinf(expected) or math.isinf(number):
        ok = number == expected
    else:
        ok = abs(number - expected) <= atol + rtol * abs(expected)
    if not ok:
        return failed(f"{what} is {_fmt(number)}, expected {_fmt(expected)}")
    return passed(f"{what}: {note}" if note else "")


def _fmt(number: float) -> str:
    return f"{number:.6g}"
