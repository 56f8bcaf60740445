"""Scalars: floats with tolerances and explicit NaN/inf handling, integers, booleans."""

from __future__ import annotations

import math

from grader.checks import Verdict, failed, passed
from grader.i18n import Message, _
from grader.values import StudentTensor, describe


def as_float(value) -> tuple[float | None, Message]:
    """The float a student meant, and a note when it came in another form (a 1-element
    tensor is accepted: returning ``w`` instead of ``w.item()`` is a common slip)."""
    if isinstance(value, bool):
        return None, ""
    if isinstance(value, (int, float)):
        return float(value), ""
    if isinstance(value, StudentTensor) and value.tensor.numel() == 1 and value.tensor.is_floating_point():
        return float(value.tensor.reshape(())), _("it is a 1-element tensor; return .item() to give a plain float")
    return None, ""


def float_close(value, expected: float, *, what: Message, rtol: float = 1e-6, atol: float = 1e-9) -> Verdict:
    number, note = as_float(value)
    if number is None:
        return failed(_("{what} should be a number, but it is {kind}", what=what, kind=describe(value)))
    if math.isnan(expected) or math.isnan(number):
        ok = math.isnan(expected) and math.isnan(number)
    elif math.isinf(expected) or math.isinf(number):
        ok = number == expected
    else:
        ok = abs(number - expected) <= atol + rtol * abs(expected)
    if not ok:
        return failed(_("{what} is {got:.6g}, expected {expected:.6g}", what=what, got=number, expected=expected))
    return passed(_("{what}: {note}", what=what, note=note) if note else "")
