"""Checks for w1-tensor-basics: the order of scalars, vectors and matrices, and the attributes
Variable wrapped around a tensor.  Q2 and Q3 are written answers (manifest [[written]])."""

from __future__ import annotations

import difflib

from grader.checks import Verdict, check, failed
from grader.i18n import Message, Text, catalogue_beside
from grader.values import describe

from . import reference

_ = catalogue_beside(__file__)

ORDER_KEYS_ZH = {"标量": "scalar", "向量": "vector", "矩阵": "matrix"}
ORDER_REASONS = {
    "scalar": _("a scalar is a 0-dimensional tensor: torch.tensor(3.).dim() == 0"),
    "vector": _("a vector has one dimension: torch.ones(3).dim() == 1"),
    "matrix": _("a matrix has two: torch.ones(2, 3).dim() == 2"),
}
TENSOR_ATTRIBUTES = {"dtype", "shape", "device"}
ATTRIBUTE_NOTES = {
    "tensor": _("dtype, shape and device are attributes of Tensor itself, not part of what Variable wrapped "
                "(no points taken)"),
    "volatile": _("volatile was an old Variable flag, replaced by torch.no_grad() in 0.4.0; it is not one of the "
                  "five (no points taken)"),
}


def _with_notes(fraction: float, problems: list[Message], notes: list[Message]) -> Verdict:
    return Verdict(fraction, Text.join("\n", problems + notes))


# ---------------------------------------------------------------------------- TENSOR_ORDERS

def _order_keys(orders: dict) -> tuple[dict, list[Message]]:
    """Keys read case-insensitively; the Chinese names are accepted with a note."""
    read, notes = {}, []
    for key, value in orders.items():
        name = key.strip().lower() if isinstance(key, str) else key
        if name in ORDER_KEYS_ZH:
            notes.append(_("the key '{key}' was read as '{name}'; use the English keys", key=key,
                           name=ORDER_KEYS_ZH[name]))
            name = ORDER_KEYS_ZH[name]
        read[name] = value
    return read, notes


def _order_problem(orders: dict, kind: str, expected: int) -> tuple[Message | None, Message | None]:
    """(problem, note) for one key."""
    if kind not in orders:
        return _("TENSOR_ORDERS has no key '{kind}'", kind=kind), None
    value, note = orders[kind], None
    if isinstance(value, float) and value.is_integer():
        value, note = int(value), _("TENSOR_ORDERS['{kind}'] is the float {value:g}; an int was asked for",
                                    kind=kind, value=value)
    elif type(value) is not int:
        return _("TENSOR_ORDERS['{kind}'] should be an int, but it is {value}", kind=kind, value=describe(value)), None
    if value != expected:
        return _("TENSOR_ORDERS['{kind}'] is {value}, expected {expected} ({reason})", kind=kind, value=value,
                 expected=expected, reason=ORDER_REASONS[kind]), None
    return None, note


@check("tensor_orders")
def tensor_orders(student, ctx):
    value = student.get("TENSOR_ORDERS")
    if not isinstance(value, dict):
        return failed(_("TENSOR_ORDERS should be a dict mapping 'scalar', 'vector' and 'matrix' to an int, but it "
                        "is {value}", value=describe(value)))
    orders, notes = _order_keys(value)
    results = [_order_problem(orders, kind, expected) for kind, expected in reference.TENSOR_ORDERS.items()]
    problems = [problem for problem, note in results if problem]
    notes += [note for problem, note in results if note]
    return _with_notes(1 - len(problems) / len(results), problems, notes)


# ---------------------------------------------------------------------------- VARIABLE_ATTRIBUTES

def _attribute_names(value) -> tuple[set[str] | None, list[Message]]:
    """A set of names ('t.grad' is read as 'grad'); a list or tuple is accepted with a note."""
    notes = []
    if isinstance(value, (list, tuple)):
        notes.append(_("VARIABLE_ATTRIBUTES is a {type}; a set was asked for (graded the same)",
                       type=type(value).__name__))
    elif not isinstance(value, (set, frozenset)):
        return None, []
    names = {item.strip().rpartition(".")[2] if isinstance(item, str) else describe(item) for item in value}
    return names, notes


def _closest(name: str, candidates: set[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


def _attribute_verdict(names: set[str], notes: list[Message]) -> Verdict:
    expected = reference.VARIABLE_ATTRIBUTES
    found, missing = names & expected, expected - names
    noted = names & (TENSOR_ATTRIBUTES | {"volatile"})
    unknown = names - expected - noted
    typos = {name: _closest(name, missing) for name in sorted(unknown) if _closest(name, missing)}
    wrong = sorted(unknown - set(typos))
    problems = [_("{found} of the five attributes found; missing: {missing}", found=len(found),
                  missing=", ".join(sorted(missing)))] if missing else []
    problems += [_("'{name}' is not an attribute; did you mean '{typo}'?", name=name, typo=typo)
                 for name, typo in typos.items()]
    problems += [_("'{name}' is not one of the attributes Variable wrapped (costs a point)", name=name)
                 for name in wrong]
    if noted & TENSOR_ATTRIBUTES:
        notes = notes + [ATTRIBUTE_NOTES["tensor"]]
    if "volatile" in noted:
        notes = notes + [ATTRIBUTE_NOTES["volatile"]]
    return _with_notes(max(0, len(found) - len(wrong)) / len(expected), problems, notes)


@check("variable_attributes")
def variable_attributes(student, ctx):
    value = student.get("VARIABLE_ATTRIBUTES")
    names, notes = _attribute_names(value)
    if names is None:
        return failed(_("VARIABLE_ATTRIBUTES should be a set of attribute names such as {{'data', ...}}, but it "
                        "is {value}", value=describe(value)))
    return _attribute_verdict(names, notes)
