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
from grader.student import StudentError
from grader.values import Recipe, StudentTensor, describe

RTOL = ATOL = 1e-4
LOST_GRAPH_MESSAGES = ("does not require grad", "not have been used in the graph")
CREATE_GRAPH_HINT = ("the first derivative was not kept differentiable: compute each derivative with "
                     "torch.autograd.grad(y, x, create_graph=True) and differentiate that result again")
ACCUMULATED_HINT = ("the values are what x.grad holds when it accumulates across backward() calls: set "
                    "x.grad = None between them, or use torch.autograd.grad")
STARTS_WITH_VALUE_HINT = "the list starts with f(x) itself; return [f'(x), f''(x), …]"
HINTS = {CREATE_GRAPH_HINT, ACCUMULATED_HINT, STARTS_WITH_VALUE_HINT}


@dataclasses.dataclass(frozen=True)
class Function:
    recipe: Recipe
    derivative: Callable[[float, int], float]  # (x, k) -> the k-th derivative; k = 0 is f(x)
    formula: str                               # shown for public functions
    kind: str                                  # shown for hidden ones


def _times(coefficient: float, term: str) -> str:
    return {1: term, -1: f"-{term}"}.get(coefficient, f"{coefficient:g}*{term}")


def polynomial(coefficients: list[float]) -> Function:
    def derivative(x, k):
        return sum(c * math.perm(j, k) * x ** (j - k) for j, c in enumerate(coefficients) if j >= k)

    terms = [_times(c, "x" if j == 1 else f"x**{j}") if j else f"{c:g}" for j, c in enumerate(coefficients) if c]
    formula = " + ".join(terms).replace("+ -", "- ")
    return Function(Recipe("polynomial", (list(coefficients),)), derivative, formula, "a polynomial")


def sine(amplitude: float, frequency: float) -> Function:
    def derivative(x, k):
        return amplitude * frequency ** k * math.sin(frequency * x + k * math.pi / 2)

    return Function(Recipe("sine", (amplitude, frequency)), derivative,
                    _times(amplitude, f"sin({_times(frequency, 'x')})"), "a sine")


def exponential(scale: float, rate: float) -> Function:
    def derivative(x, k):
        return scale * rate ** k * math.exp(rate * x)

    return Function(Recipe("exponential", (scale, rate)), derivative, _times(scale, f"exp({_times(rate, 'x')})"),
                    "an exponential")


COURSE_CASE = (polynomial([0, 0, 1]), 3.0, 2)
FIRST_CASES = [(sine(1, 1), 0.5, 1), (exponential(1, 1), -1.0, 1), (polynomial([1, -2, 0.5]), 1.5, 1)]
SECOND_CASES = [(sine(1, 1), 0.5, 2), (exponential(2, 0.5), 1.0, 2), (polynomial([0, 1, -1, 0.5]), -1.0, 2)]


def hidden_cases(seed: int) -> list[tuple[Function, float, int]]:
    rng = random.Random(seed)

    def uniform(low, high):
        return round(rng.uniform(low, high), 2)

    return [
        (sine(uniform(0.5, 2), uniform(0.5, 2)), uniform(-2, 2), 4),
        (exponential(uniform(0.5, 2), rng.choice([-1, 1]) * uniform(0.3, 1.5)), uniform(-2, 2), 4),
        (polynomial([uniform(-2, 2) for _ in range(5)]), uniform(-2, 2), 4),
        (polynomial([uniform(-2, 2) for _ in range(4)]), uniform(-2, 2), 3),
    ]


# ---------------------------------------------------------------------------- one call

def _call_text(function: Function, x: float, order: int, visible: bool) -> str:
    if visible:
        return f"derivatives(f, {x!r}, {order}) for f(x) = {function.formula}"
    return f"derivatives(f, x, {order}) for {function.kind} f"


def _close(value: float, expected: float) -> bool:
    return abs(value - expected) <= ATOL + RTOL * abs(expected)


def _floats(value, what: str) -> tuple[list[float] | None, list[str], Verdict | None]:
    """The numbers in a list (1-element tensors accepted with a note; a 1-D tensor too)."""
    notes = []
    if isinstance(value, StudentTensor) and value.tensor.dim() == 1:
        notes.append(f"{what} returned a tensor; return a list of floats (.tolist())")
        value = value.tensor.tolist()
    if not isinstance(value, (list, tuple)):
        return None, notes, failed(f"{what} should return a list of floats, but it returned {describe(value)}")
    floats = []
    for index, item in enumerate(value):
        number, note = numbers.as_float(item)
        if number is None:
            return None, notes, failed(f"{what}[{index}] should be a float, but it is {describe(item)}")
        floats.append(number)
        if note:
            notes.append("the derivatives came back as 1-element tensors; return floats (.item())")
    return floats, list(dict.fromkeys(notes)), None


def _length_problem(floats: list[float], function: Function, x: float, order: int, what: str) -> str | None:
    if len(floats) == order:
        return None
    text = f"{what} returned {len(floats)} values, expected {order} (one per derivative, f'(x) first)"
    if len(floats) == order + 1 and _close(floats[0], function.derivative(x, 0)):
        text += f"\n{STARTS_WITH_VALUE_HINT}"
    return text


def accumulated(expected: list[float]) -> list[float]:
    """What repeated ``y.backward(create_graph=True); y = x.grad`` without clearing x.grad
    returns: g1 = f', g(k+1) = gk + gk', so gk = sum over j of C(k-1, j) * f^(j+1)."""
    return [sum(math.comb(k, j) * expected[j] for j in range(k + 1)) for k in range(len(expected))]


def _value_problem(floats: list[float], expected: list[float], what: str, visible: bool) -> str | None:
    wrong = [k for k, (got, want) in enumerate(zip(floats, expected)) if not _close(got, want)]
    if not wrong:
        return None
    k = wrong[0]
    ordinal = "f" + "'" * (k + 1) + "(x)" if k < 3 else f"the {k + 1}th derivative"
    text = f"{what}: {ordinal} is {floats[k]:.6g}, expected {expected[k]:.6g}" if visible else f"{what}: {ordinal} is wrong"
    if all(_close(got, want) for got, want in zip(floats, accumulated(expected))):
        return f"{text}\n{ACCUMULATED_HINT}"
    if k > 0 and all(got == 0 for got in floats[1:]):
        return f"{text}\n{CREATE_GRAPH_HINT}"
    return text


def judge(student, ctx, function: Function, x: float, order: int) -> Verdict:
    what = _call_text(function, x, order, ctx.visible)
    try:
        value = student.call("derivatives", function.recipe, x, order, seed=ctx.seed)
    except StudentError as exc:
        lost_graph = order > 1 and any(text in exc.message for text in LOST_GRAPH_MESSAGES)
        return failed(exc.feedback(show_message=ctx.visible) + (f"\n{CREATE_GRAPH_HINT}" if lost_graph else ""))
    floats, notes, broken = _floats(value, what)
    if broken:
        return broken
    expected = [function.derivative(x, k) for k in range(1, order + 1)]
    problem = _length_problem(floats, function, x, order, what) or _value_problem(floats, expected, what, ctx.visible)
    return failed(problem) if problem else passed("\n".join(notes))


def judge_all(student, ctx, cases) -> Verdict:
    """Equal weight per case; each feedback line once (hints repeat across cases)."""
    verdicts = [judge(student, ctx, *case) for case in cases]
    shortfalls = [v.feedback for v in verdicts if not v.ok] or [v.feedback for v in verdicts]
    lines = dict.fromkeys(line for text in shortfalls for line in text.splitlines() if line)
    ordered = sorted(lines, key=lambda line: line in HINTS)  # what went wrong first, then why
    return Verdict(sum(v.fraction for v in verdicts) / len(verdicts), "\n".join(ordered))


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
