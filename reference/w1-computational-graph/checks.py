"""Checks for w1-computational-graph: graph_facts(w, x) for a = w + x, b = w + 1, y = a * b
against torch itself (reference.py), and the two concepts of a computational graph.
DYNAMIC_VS_STATIC is a written answer (manifest [[written]])."""

from __future__ import annotations

import random
import re

from grader.checks import Verdict, check, failed, mean_of
from grader.compare import numbers
from grader.i18n import Message, Text, catalogue_beside
from grader.values import Handle, describe

from . import reference

COURSE_W, COURSE_X = 1.0, 2.0
COURSE_CALL = "graph_facts(1.0, 2.0)"
NAMES = ("w", "x", "a", "b", "y")
GRADIENTS = {"dy_dw": "w", "dy_dx": "x"}
GRAD_FN_REPR = re.compile(r"^<(?P<name>\w+) object at 0x[0-9a-fA-F]+>$")
CONCEPT_WORDS = {
    "nodes": ("node", "vertex", "vertices", "结点", "节点", "顶点"),
    "edges": ("edge", "边"),
}
MEANING_WORDS = ("data", "数据", "tensor", "张量", "operation", "运算", "操作", "function", "函数")
_ = catalogue_beside(__file__)
CONCEPT_NAMES = {"nodes": _("nodes"), "edges": _("edges")}


def _with_notes(fraction: float, problems: list[Message], notes: list[Message]) -> Verdict:
    return Verdict(fraction, Text.join("\n", problems + notes))


def _facts(student, ctx, w: float, x: float) -> dict | Verdict:
    facts = student.call("graph_facts", w, x, seed=ctx.seed)
    if not isinstance(facts, dict):
        return failed(_("graph_facts(w, x) should return a dict, but it returned {value}", value=describe(facts)))
    return facts


def _table(facts: dict, key: str) -> dict | Verdict:
    """facts['is_leaf'] or facts['grad_fn']: a dict keyed by the tensors' names."""
    if key not in facts:
        return failed(_("{call} has no key '{key}'", call=COURSE_CALL, key=key))
    if not isinstance(facts[key], dict):
        return failed(_("{call}['{key}'] should be a dict keyed by 'w', 'x', 'a', 'b', 'y', but it is {value}",
                        call=COURSE_CALL, key=key, value=describe(facts[key])))
    return facts[key]


# ---------------------------------------------------------------------------- gradients

def _gradient(facts: dict, key: str, expected: float, what: str) -> Verdict:
    if key not in facts:
        return failed(_("{what} has no key '{key}'", what=what, key=key))
    if facts[key] is None:
        return failed(_("{what}['{key}'] is None: {tensor}.grad stays None unless {tensor} is created with "
                        "requires_grad=True and y.backward() has run", what=what, key=key, tensor=GRADIENTS[key]))
    return numbers.float_close(facts[key], expected, what=f"{what}['{key}']", rtol=1e-5, atol=1e-6)


@check("course_gradients")
def course_gradients(student, ctx):
    facts = _facts(student, ctx, COURSE_W, COURSE_X)
    if isinstance(facts, Verdict):
        return facts
    expected = reference.graph_facts(COURSE_W, COURSE_X)
    return mean_of([_gradient(facts, key, expected[key], COURSE_CALL) for key in GRADIENTS])


def _hidden_points(seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(round(rng.uniform(-3, 3), 3), round(rng.uniform(-3, 3), 3)) for _point in range(3)]


@check("hidden_gradients")
def hidden_gradients(student, ctx):
    """Only counts go into the feedback: the hidden w and x and their gradients stay hidden."""
    points = _hidden_points(ctx.seed)
    wrong = {key: 0 for key in GRADIENTS}
    for w, x in points:
        facts = _facts(student, ctx, w, x)
        if isinstance(facts, Verdict):
            return facts
        expected = reference.graph_facts(w, x)
        for key in GRADIENTS:
            wrong[key] += not _gradient(facts, key, expected[key], "graph_facts(w, x)").ok
    problems = [_("{key} differs from the gradient torch computes at {count} of {total} other (w, x) pairs", key=key,
                  count=count, total=len(points)) for key, count in wrong.items() if count]
    if problems and course_gradients(student, ctx).ok:
        problems.append(_("it was right at w=1, x=2: compute it with autograd rather than writing the course's "
                          "numbers down"))
    return Verdict(1 - sum(wrong.values()) / (len(points) * len(GRADIENTS)), Text.join("\n", problems))


# ---------------------------------------------------------------------------- leaves and grad_fn

def _leaf_problem(table: dict, name: str, expected: bool) -> Message | None:
    if name not in table:
        return _("is_leaf has no entry '{name}'", name=name)
    value = table[name]
    if type(value) is not bool:
        return _("is_leaf['{name}'] should be True or False, but it is {value}", name=name, value=describe(value))
    if value == expected:
        return None
    if expected:
        return _("is_leaf['{name}'] is {value}, expected {expected}: {name} was created by you, not computed (a leaf "
                 "node of the computational graph)", name=name, value=value, expected=expected)
    return _("is_leaf['{name}'] is {value}, expected {expected}: {name} was computed from other tensors (not a leaf "
             "node)", name=name, value=value, expected=expected)


@check("leaves")
def leaves(student, ctx):
    facts = _facts(student, ctx, COURSE_W, COURSE_X)
    table = facts if isinstance(facts, Verdict) else _table(facts, "is_leaf")
    if isinstance(table, Verdict):
        return table
    expected = reference.graph_facts(COURSE_W, COURSE_X)["is_leaf"]
    problems = [p for name in NAMES if (p := _leaf_problem(table, name, expected[name]))]
    return _with_notes(1 - len(problems) / len(NAMES), problems, [])


def _grad_fn_name(value) -> tuple[object, Message | None]:
    """The name a student meant, and a note when it came as str(grad_fn) or the object itself."""
    if isinstance(value, Handle):
        return value.type_name.rpartition(".")[2], _("the grad_fn objects were returned; return their names, "
                                                     "type(t.grad_fn).__name__ or t.grad_fn.name()")
    if isinstance(value, str) and (match := GRAD_FN_REPR.match(value.strip())):
        return match["name"], _("str(t.grad_fn) gives '<MulBackward0 object at …>'; return the name alone, "
                                 "type(t.grad_fn).__name__ or t.grad_fn.name()")
    return value, None


def _grad_fn_problem(table: dict, name: str, expected: str | None) -> tuple[Message | None, Message | None]:
    if name not in table:
        return _("grad_fn has no entry '{name}'", name=name), None
    value, note = _grad_fn_name(table[name])
    if value == expected:
        return None, note
    if expected is None and value == "None":
        return _("grad_fn['{name}'] is the string 'None'; a leaf's grad_fn is None itself, not a string",
                 name=name), note
    if expected is None:
        return _("grad_fn['{name}'] is {value}, expected None: {name} is a leaf, created by you", name=name,
                 value=repr(value)), note
    if not isinstance(value, str):
        return _("grad_fn['{name}'] should be the name of a function, e.g. '{expected}', but it is {value}",
                 name=name, expected=expected, value=describe(value)), note
    return _("grad_fn['{name}'] is {value}, expected {expected}", name=name, value=repr(value),
             expected=repr(expected)), note


@check("grad_fn_names")
def grad_fn_names(student, ctx):
    facts = _facts(student, ctx, COURSE_W, COURSE_X)
    table = facts if isinstance(facts, Verdict) else _table(facts, "grad_fn")
    if isinstance(table, Verdict):
        return table
    expected = reference.graph_facts(COURSE_W, COURSE_X)["grad_fn"]
    results = [_grad_fn_problem(table, name, expected[name]) for name in NAMES]
    problems = [problem for problem, _note in results if problem]
    notes = list({str(note): note for _problem, note in results if note}.values())
    return _with_notes(1 - len(problems) / len(NAMES), problems, notes)


# ---------------------------------------------------------------------------- concepts

def _concepts_of(item) -> set[str]:
    text = item.lower() if isinstance(item, str) else ""
    return {concept for concept, words in CONCEPT_WORDS.items() if any(word in text for word in words)}


def _extra_problem(item) -> Message:
    if isinstance(item, str) and any(word in item.lower() for word in MEANING_WORDS):
        return _("'{item}' is what a node or an edge stands for (nodes hold data, edges are operations); name the "
                 "concepts themselves (costs half a point)", item=item)
    return _("{item} is not one of the two concepts (costs half a point)", item=repr(item))


@check("graph_concepts")
def graph_concepts(student, ctx):
    value = student.get("GRAPH_CONCEPTS")
    notes = []
    if isinstance(value, (list, tuple)):
        notes.append(_("GRAPH_CONCEPTS is a {kind}; a set was asked for (graded the same)", kind=type(value).__name__))
    elif not isinstance(value, (set, frozenset)):
        return failed(_("GRAPH_CONCEPTS should be a set of strings, one per concept, but it is {value}",
                        value=describe(value)))
    found = set().union(*(_concepts_of(item) for item in value))
    extras = [item for item in value if not _concepts_of(item)]
    problems = [_("missing: {concept}", concept=CONCEPT_NAMES[concept]) for concept in CONCEPT_WORDS
                if concept not in found]
    problems += [_extra_problem(item) for item in sorted(extras, key=str)]
    fraction = max(0.0, len(found) - 0.5 * len(extras)) / len(CONCEPT_WORDS)
    return _with_notes(fraction, problems, notes)
