"""Checks for w1-autograd: derivatives(f, x, order) against analytic derivatives.  The functions
are sent as recipes (grader/sandbox/recipes.py: polynomial, sine, exponential) and built in the
job; their parameters are the checker's, hidden ones for the hidden check."""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Callable

from grader.checks import Verdict, check, failed, passed
from grader.compare import numbers
from grader.i18n import Message, Text, catalogue_beside, render
from grader.student import StudentError
from grader.values import Recipe, StudentTensor, describe

RTOL = ATOL = 1e-4
LOST_GRAPH_MESSAGES = ("does not require grad", "not have been used in the graph")
_ = catalogue_beside(__file__)
CREATE_GRAPH_HINT = _("the first derivative was not kept differentiable: compute each derivative with "
                      "torch.autograd.grad(y, x, create_graph=True) and differentiate that result again")
CONSTANT_HINT = _("the same call up to the order where the derivative becomes a constant works, so it is the "
                  "constant that cannot be differentiated: it no longer depends on x (y.requires_grad is False), and "
                  "every derivative after it is 0. Append 0.0 for those instead of calling torch.autograd.grad")
ACCUMULATED_HINT = _("the values are what x.grad holds when it accumulates across backward() calls: set "
                     "x.grad = None between them, or use torch.autograd.grad")
STARTS_WITH_VALUE_HINT = _("the list starts with f(x) itself; return [f'(x), f''(x), …]")
HINTS = {hint.msgid for hint in (CREATE_GRAPH_HINT, CONSTANT_HINT, ACCUMULATED_HINT, STARTS_WITH_VALUE_HINT)}


@dataclasses.dataclass(frozen=True)
class Function:
    recipe: Recipe
    derivative: Callable[[float, int], float]  # (x, k) -> the k-th derivative; k = 0 is f(x)
    formula: str                               # shown for public functions
    kind: Message                              # shown for hidden ones
    constant_from: int | None = None           # the order whose derivative is a constant (a polynomial's degree)


def _times(coefficient: float, term: str) -> str:
    return {1: term, -1: f"-{term}"}.get(coefficient, f"{coefficient:g}*{term}")


def polynomial(coefficients: list[float]) -> Function:
    def derivative(x, k):
        return sum(c * math.perm(j, k) * x ** (j - k) for j, c in enumerate(coefficients) if j >= k)

    terms = [_times(c, "x" if j == 1 else f"x**{j}") if j else f"{c:g}" for j, c in enumerate(coefficients) if c]
    formula = " + ".join(terms).replace("+ -", "- ")
    degree = max((j for j, c in enumerate(coefficients) if c), default=0)
    return Function(Recipe("polynomial", (list(coefficients),)), derivative, formula, _("a polynomial"), degree)


def sine(amplitude: float, frequency: float) -> Function:
    def derivative(x, k):
        return amplitude * frequency ** k * math.sin(frequency * x + k * math.pi / 2)

    return Function(Recipe("sine", (amplitude, frequency)), derivative,
                    _times(amplitude, f"sin({_times(frequency, 'x')})"), _("a sine"))


def exponential(scale: float, rate: float) -> Function:
    def derivative(x, k):
        return scale * rate ** k * math.exp(rate * x)

    return Function(Recipe("exponential", (scale, rate)), derivative, _times(scale, f"exp({_times(rate, 'x')})"),
                    _("an exponential"))


COURSE_CASE = (polynomial([0, 0, 1]), 3.0, 2)
FIRST_CASES = [(sine(1, 1), 0.5, 1), (exponential(1, 1), -1.0, 1), (polynomial([1, -2, 0.5]), 1.5, 1)]
SECOND_CASES = [(sine(1, 1), 0.5, 2), (exponential(2, 0.5), 1.0, 2), (polynomial([0, 1, -1, 0.5]), -1.0, 2)]


def hidden_cases(seed: int) -> list[tuple[Function, float, int]]:
    """Orders 3 and 4; two polynomials reach a constant derivative before the last order (the
    contract promises polynomials up to order 4: x**2 to order 4 is [2x, 2, 0, 0])."""
    rng = random.Random(seed)

    def uniform(low, high):
        return round(rng.uniform(low, high), 2)

    def leading():
        return rng.choice([-1, 1]) * uniform(0.5, 2)

    return [
        (sine(uniform(0.5, 2), uniform(0.5, 2)), uniform(-2, 2), 4),
        (exponential(uniform(0.5, 2), rng.choice([-1, 1]) * uniform(0.3, 1.5)), uniform(-2, 2), 4),
        (polynomial([uniform(-2, 2) for _ in range(4)] + [leading()]), uniform(-2, 2), 4),
        (polynomial([uniform(-2, 2) for _ in range(3)] + [leading()]), uniform(-2, 2), 3),
        (polynomial([uniform(-2, 2), uniform(-2, 2), leading()]), uniform(-2, 2), 4),   # constant at 2, then 0, 0
        (polynomial([uniform(-2, 2), leading()]), uniform(-2, 2), 3),                     # constant at 1, then 0, 0
    ]


# ---------------------------------------------------------------------------- one call

def _call_text(function: Function, x: float, order: int, visible: bool) -> Message:
    if visible:
        return _("derivatives(f, {x!r}, {order}) for f(x) = {formula}", x=x, order=order, formula=function.formula)
    return _("derivatives(f, x, {order}) for {kind} f", order=order, kind=function.kind)


def _close(value: float, expected: float) -> bool:
    return abs(value - expected) <= ATOL + RTOL * abs(expected)


def _floats(value, what: Message) -> tuple[list[float] | None, list[Message], Verdict | None]:
    """The numbers in a list (1-element tensors accepted with a note; a 1-D tensor too)."""
    notes = []
    if isinstance(value, StudentTensor) and value.tensor.dim() == 1:
        notes.append(_("{what} returned a tensor; return a list of floats (.tolist())", what=what))
        value = value.tensor.tolist()
    if not isinstance(value, (list, tuple)):
        return None, notes, failed(_("{what} should return a list of floats, but it returned {value}", what=what,
                                     value=describe(value)))
    floats = []
    for index, item in enumerate(value):
        number, note = numbers.as_float(item)
        if number is None:
            return None, notes, failed(_("{what}[{index}] should be a float, but it is {value}", what=what,
                                         index=index, value=describe(item)))
        floats.append(number)
        if note:
            notes.append(_("the derivatives came back as 1-element tensors; return floats (.item())"))
    return floats, list({render(note): note for note in notes}.values()), None


def _length_problem(floats: list[float], function: Function, x: float, order: int, what: Message) -> list[Message]:
    if len(floats) == order:
        return []
    text = _("{what} returned {count} values, expected {order} (one per derivative, f'(x) first)", what=what,
             count=len(floats), order=order)
    if len(floats) == order + 1 and _close(floats[0], function.derivative(x, 0)):
        return [text, STARTS_WITH_VALUE_HINT]
    return [text]


def accumulated(expected: list[float]) -> list[float]:
    """What repeated ``y.backward(create_graph=True); y = x.grad`` without clearing x.grad
    returns: g1 = f', g(k+1) = gk + gk', so gk = sum over j of C(k-1, j) * f^(j+1)."""
    return [sum(math.comb(k, j) * expected[j] for j in range(k + 1)) for k in range(len(expected))]


def _ordinal(k: int) -> Message:
    return "f" + "'" * (k + 1) + "(x)" if k < 3 else _("the {n}th derivative", n=k + 1)


def _value_problem(floats: list[float], expected: list[float], what: Message, visible: bool) -> list[Message]:
    wrong = [k for k, (got, want) in enumerate(zip(floats, expected)) if not _close(got, want)]
    if not wrong:
        return []
    k = wrong[0]
    text = _("{what}: {ordinal} is {got:.6g}, expected {expected:.6g}", what=what, ordinal=_ordinal(k), got=floats[k],
             expected=expected[k]) if visible else _("{what}: {ordinal} is wrong", what=what, ordinal=_ordinal(k))
    if all(_close(got, want) for got, want in zip(floats, accumulated(expected))):
        return [text, ACCUMULATED_HINT]
    if k > 0 and all(got == 0 for got in floats[1:]):
        return [text, CREATE_GRAPH_HINT]
    return [text]


def _lost_graph_hint(student, ctx, function: Function, x: float, order: int) -> Message:
    """Why differentiating again found no graph, from evidence: when the function's derivative is a
    constant before ``order`` and the same call up to that order gives the right values, the
    constant is what could not be differentiated; otherwise the derivatives were not kept in the
    graph (no create_graph=True)."""
    constant_from = function.constant_from
    if constant_from is not None and 1 <= constant_from < order:
        try:
            value = student.call("derivatives", function.recipe, x, constant_from, seed=ctx.seed)
        except StudentError:
            return CREATE_GRAPH_HINT
        floats, _notes, broken = _floats(value, "")
        expected = [function.derivative(x, k) for k in range(1, constant_from + 1)]
        if not broken and len(floats) == constant_from and all(map(_close, floats, expected)):
            return CONSTANT_HINT
    return CREATE_GRAPH_HINT


def judge(student, ctx, function: Function, x: float, order: int) -> Verdict:
    what = _call_text(function, x, order, ctx.visible)
    try:
        value = student.call("derivatives", function.recipe, x, order, seed=ctx.seed)
    except StudentError as exc:
        raised = exc.feedback(show_message=ctx.visible)
        if order > 1 and any(text in exc.message for text in LOST_GRAPH_MESSAGES):
            return failed(Text.join("\n", [raised, _lost_graph_hint(student, ctx, function, x, order)]))
        return failed(raised)
    floats, notes, broken = _floats(value, what)
    if broken:
        return broken
    expected = [function.derivative(x, k) for k in range(1, order + 1)]
    problem = _length_problem(floats, function, x, order, what) or _value_problem(floats, expected, what, ctx.visible)
    return failed(Text.join("\n", problem)) if problem else passed(Text.join("\n", notes))


def _lines(feedback: Message) -> list[Message]:
    return list(feedback.parts) if hasattr(feedback, "parts") else [feedback]


def judge_all(student, ctx, cases) -> Verdict:
    """Equal weight per case; each feedback line once (hints repeat across cases)."""
    verdicts = [judge(student, ctx, *case) for case in cases]
    shortfalls = [v.feedback for v in verdicts if not v.ok] or [v.feedback for v in verdicts]
    lines = {render(line): line for feedback in shortfalls for line in _lines(feedback) if render(line)}
    ordered = sorted(lines.values(), key=lambda line: getattr(line, "msgid", None) in HINTS)  # what, then why
    return Verdict(sum(v.fraction for v in verdicts) / len(verdicts), Text.join("\n", ordered))


@check("course_example")
def course_example(student, ctx):
    return judge(student, ctx, *COURSE_CASE)


@check("first_derivatives")
def first_derivatives(student, ctx):
    return judge_all(student, ctx, FIRST_CASES)


@check("second_derivatives")
def second_derivatives(student, ctx):
    return judge_all(student, ctx, SECOND_CASES)


@check("higher_orders")
def higher_orders(student, ctx):
    return judge_all(student, ctx, hidden_cases(ctx.seed))
