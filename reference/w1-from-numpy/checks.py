"""Checks for w1-from-numpy.  Shared memory can only be seen inside the job (what crosses to
the checker is a copy), and the job is the student's process: it may replace whatever observes
it there.  So the points for sharing rest on a reading of the source (``to_tensor`` returns
``torch.from_numpy(arr)`` or ``torch.as_tensor(arr)``), and the builtin ``to_tensor_facts``,
which writes through the tensor and the array inside the job, may only take them away.
``data_addresses`` is judged by relations the checker knows: equal addresses for a tensor that
shares the array's memory, different ones for a copy, a row's bytes apart for a view that starts
one row later, provided the source replaces nothing that answers in the job.  Python object ids
in place of the addresses, the course's most common misconception, earn partial credit however
they are spelled: the source returns ``(id(X), id(Y))`` with X read from ``arr`` and Y from ``t``
(``id(arr)``, ``id(arr.data)``, ``id(t.data)``, ``id(t.numpy())`` ...).  The verdicts are made here."""

import re

import numpy as np
import torch

from grader.checks import Verdict, check, failed, first_failure, mean_of, partial, passed
from grader.compare import source, tensors
from grader.i18n import Message, Text, catalogue_beside
from grader.values import describe

DTYPES = ("float32", "float64", "int64", "uint8")
VISIBLE_SHAPE = (2, 3)
HIDDEN_SHAPES = ((), (7,), (2, 3, 4), (1, 5, 1, 2))
IDS_CREDIT = 1 / 3
SHOWN_FAILURES = 3
_ = catalogue_beside(__file__)
COPY_FINDING = "holds a copy"  # in the English of the messages that find a copy
COPY_ADVICE = _("torch.tensor(arr) copies the data, and so do torch.Tensor(arr) and dtype conversions such as "
                ".float(); torch.from_numpy(arr) (or torch.as_tensor(arr)) shares the array's memory")
# id() of the argument itself, or of what its attributes and argument-less methods give (arr.data, t.data,
# t.numpy(), t.detach().numpy(), t.storage()): ids of Python objects, whichever object it is.
OBJECT_IDS = (re.compile(r"id\(a(\.\w+(\(\))?)*\)"), re.compile(r"id\(b(\.\w+(\(\))?)*\)"))


def _ids_explanation(pair: str) -> Message:
    spelled = pair.replace("id(a", "id(arr").replace("id(b", "id(t")  # the canonical names, as the statement writes them
    return _("data_addresses returns {pair}, the ids of Python objects. id() tells where a Python object lives: "
             "the ndarray, the Tensor and what their attributes and methods give (arr.data, t.data, t.numpy()) are "
             "separate objects, so their ids tell nothing about the data they hold, even when they share one "
             "block of it. Shared memory means one data buffer: its address is arr.__array_interface__['data'][0] "
             "for the array and t.data_ptr() for the tensor, and the two are equal for torch.from_numpy(arr). "
             "Partial credit.", pair=spelled)


def _visible_array(dtype: str) -> np.ndarray:
    return np.arange(1, 1 + int(np.prod(VISIBLE_SHAPE))).reshape(VISIBLE_SHAPE).astype(dtype)


def _hidden_array(dtype: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(1, 100, size=shape).astype(dtype)


def _call(array: np.ndarray, visible: bool) -> Message:
    dtype = str(array.dtype)
    if not visible:
        return _("to_tensor(a {ndim}-d {dtype} array)", ndim=array.ndim, dtype=dtype)
    shape = str(list(array.shape))
    if dtype.startswith("int"):  # "an int64 array", but "a uint8 array": the u is said "you"
        return _("to_tensor(an {dtype} array of shape {shape})", dtype=dtype, shape=shape)
    return _("to_tensor(a {dtype} array of shape {shape})", dtype=dtype, shape=shape)


def _to_tensor_facts(student, array: np.ndarray, what: Message) -> dict:
    return student.builtin("to_tensor_facts", student.get("to_tensor"), array, what=str(what))


# The calls to_tensor may return, and the array dtypes for which each shares the array's memory;
# a conversion after it (torch.from_numpy(arr).float()) shares only when it changes nothing.
SHARING_CALLS = {"torch.from_numpy": set(DTYPES), "torch.as_tensor": set(DTYPES), "torch.asarray": set(DTYPES),
                 "torch.Tensor": {"float32"}, "torch.FloatTensor": {"float32"}}
CONVERSIONS = {"float": "float32", "double": "float64", "long": "int64", "byte": "uint8"}


def _sharing_dtypes(ctx) -> set[str] | Verdict:
    """The array dtypes for which the source shows to_tensor sharing memory, or why none."""
    finding = source.reading(ctx.source, lambda s: source.Finding(True, source.returned_call(s, "to_tensor")))
    call, _parenthesis, conversions = finding.reason.partition("()") if finding.ok else ("", "", "")
    methods = re.findall(r"\.(\w+)\(\)", conversions)
    if finding.ok and call in SHARING_CALLS and all(m in CONVERSIONS for m in methods):
        return SHARING_CALLS[call].intersection(*({CONVERSIONS[m]} for m in methods))
    if finding.ok:
        why = failed(_("to_tensor returns {call}, which is not a call known to share the array's memory",
                       call=finding.reason))
    else:
        why = source.verdict(finding, _("that to_tensor shares the array's memory"))
    return failed(Text.join("\n", [why.feedback, COPY_ADVICE]))


def _shared_in_source(dtypes: set[str] | Verdict, array: np.ndarray, what: Message) -> Verdict:
    if isinstance(dtypes, Verdict):
        return dtypes
    if str(array.dtype) in dtypes:
        return passed()
    return failed(_("{what} holds a copy: your to_tensor converts a {dtype} array, which copies it", what=what,
                    dtype=str(array.dtype)))


def _returned_tensor(facts: dict, what: Message) -> Verdict:
    if "tensor" not in facts:
        kind = facts["type"].removeprefix("builtins.")
        return failed(_("{what} should return a torch.Tensor, but it returned a {kind}", what=what, kind=kind))
    return tensors.is_tensor(facts["tensor"], what=what)


def _matches_array(facts: dict, array: np.ndarray, what: Message) -> Verdict:
    expected = torch.from_numpy(array)
    return first_failure(
        lambda: _returned_tensor(facts, what),
        lambda: tensors.shape_matches(facts["tensor"], array.shape, what=what, why=_("the array's shape")),
        lambda: tensors.dtype_matches(facts["tensor"], expected.dtype, what=what, why=_dtype_hint(facts["tensor"])),
        lambda: tensors.values_close(facts["tensor"], expected, what=what, rtol=0.0, atol=0.0),
    )


def _dtype_hint(tensor) -> Message:
    if tensor.dtype == torch.float32:
        return _("the array's dtype; torch.Tensor(arr) and .float() convert to float32")
    return _("the array's dtype")


def _shares_memory(facts: dict, what: Message) -> Verdict:
    tensor_write_seen, array_write_seen = facts.get("tensor_write_seen"), facts.get("array_write_seen")
    if tensor_write_seen is None:
        return failed(_("{what} returned {value}, which does not hold the array's elements, so it cannot share its "
                        "memory", what=what, value=facts["tensor"].describe()))
    if tensor_write_seen and array_write_seen:
        return passed()
    if not tensor_write_seen and not array_write_seen:
        return failed(_("{what} holds a copy: a write to the tensor did not change the array, and a write to the "
                        "array did not change the tensor", what=what))
    if tensor_write_seen:
        return failed(_("{what}: a write to the tensor reached the array, but a write to the array did not reach "
                        "the tensor; expected one shared block of memory", what=what))
    return failed(_("{what}: a write to the array reached the tensor, but a write to the tensor did not reach the "
                    "array; expected one shared block of memory", what=what))


def _mean_over_arrays(verdicts: list[Verdict]) -> Verdict:
    """The average, with the first few shortfalls and, when a copy was found, how to avoid one."""
    fraction = mean_of(verdicts).fraction
    shortfalls = list({str(v.feedback): v.feedback for v in verdicts if not v.ok}.values())
    lines = shortfalls[:SHOWN_FAILURES]
    if len(shortfalls) > SHOWN_FAILURES:
        lines.append(_("… and {count} more arrays like these", count=len(shortfalls) - SHOWN_FAILURES))
    if any(COPY_FINDING in str(line) for line in shortfalls):
        lines.append(COPY_ADVICE)
    return Verdict(fraction, Text.join("\n", lines))


def _judge_to_tensor(student, ctx, array: np.ndarray, judge) -> Verdict:
    what = _call(array, ctx.visible)
    return ctx.attempt(lambda: judge(_to_tensor_facts(student, array, what), array, what))


@check("dtype_and_shape")
def dtype_and_shape(student, ctx):
    return _mean_over_arrays([_judge_to_tensor(student, ctx, _visible_array(dtype), _matches_array)
                              for dtype in DTYPES])


@check("shares_memory")
def shares_memory(student, ctx):
    dtypes = _sharing_dtypes(ctx)

    def judge(facts, array, what):
        return first_failure(lambda: _returned_tensor(facts, what), lambda: _shares_memory(facts, what),
                             lambda: _shared_in_source(dtypes, array, what))

    return _mean_over_arrays([_judge_to_tensor(student, ctx, _visible_array(dtype), judge) for dtype in DTYPES])


def _is_two_ints(answer) -> bool:
    return isinstance(answer, (tuple, list)) and len(answer) == 2 and all(type(a) is int for a in answer)


def _describe_answer(answer) -> Message:
    if isinstance(answer, (tuple, list)):
        kinds = ", ".join(type(a).__name__ for a in answer)
        return _("a {kind} of {count} ({kinds})", kind=type(answer).__name__, count=len(answer), kinds=kinds)
    return describe(answer)


# (what the checker asked for, how the two addresses must relate, the sentence for the student)
ADDRESS_CASES = (
    ("data_addresses(arr, torch.from_numpy(arr))", lambda a, t, row: a == t,
     _("equal here: the tensor uses the array's memory")),
    ("data_addresses(arr, torch.tensor(arr))", lambda a, t, row: a != t,
     _("different here: torch.tensor(arr) copies the data")),
    ("data_addresses(arr, torch.from_numpy(arr)[1])", lambda a, t, row: t - a == row,
     _("one row's bytes apart here: the tensor is a view that starts at the array's second row")),
)


def _judge_addresses(answer, what: str, relation, sentence: Message, row_bytes: int) -> Verdict:
    if not _is_two_ints(answer):
        return failed(_("{what} should return a tuple of two ints, but it returned {value}", what=what,
                        value=_describe_answer(answer)))
    if relation(*answer, row_bytes):
        return passed()
    return failed(_("{what} returned {answer}, which are not the addresses of the two data buffers; expected "
                    "(arr.__array_interface__['data'][0], t.data_ptr()), which are {relation}. id() of any object "
                    "(arr, t, t.data) tells where that Python object lives, not where its data is", what=what,
                    answer=str(tuple(answer)), relation=sentence))


@check("data_addresses")
def data_addresses(student, ctx):
    array = _visible_array("float32")
    answers = student.builtin("data_addresses_answers", student.get("data_addresses"), array,
                              what="data_addresses(arr, t)")
    if not (isinstance(answers, list) and len(answers) == len(ADDRESS_CASES)):
        return failed(_("data_addresses(arr, t) could not be called on the three tensors it is checked with"))
    verdict = first_failure(*[lambda case=case, answer=answer: _judge_addresses(answer, *case, array.strides[0])
                              for answer, case in zip(answers, ADDRESS_CASES)])
    if verdict.ok:  # the answers came through a builtin in the job: only if nothing there was replaced
        untouched = source.reading(ctx.source, lambda s: source.FOUND)
        return source.verdict(untouched, _("that these answers come from your data_addresses")) or verdict
    object_ids = source.reading(ctx.source, lambda s: source.returns_pair(s, "data_addresses", *OBJECT_IDS))
    return partial(IDS_CREDIT, _ids_explanation(object_ids.reason)) if object_ids.ok else verdict


@check("other_shapes")
def other_shapes(student, ctx):
    rng = np.random.default_rng(ctx.seed)

    dtypes = _sharing_dtypes(ctx)

    def judge(facts, array, what):
        return first_failure(lambda: _matches_array(facts, array, what), lambda: _shares_memory(facts, what),
                             lambda: _shared_in_source(dtypes, array, what))

    arrays = [_hidden_array(dtype, shape, rng) for shape in HIDDEN_SHAPES for dtype in DTYPES]
    return _mean_over_arrays([_judge_to_tensor(student, ctx, array, judge) for array in arrays])
