"""Checks for w1-from-numpy.  Shared memory can only be seen inside the job (what crosses to
the checker is a copy), and the job is the student's process: it may replace whatever observes
it there.  So the points for sharing rest on a reading of the source (``to_tensor`` returns
``torch.from_numpy(arr)`` or ``torch.as_tensor(arr)``), and the builtin ``to_tensor_facts``,
which writes through the tensor and the array inside the job, may only take them away.
``data_addresses`` is judged by relations the checker knows: equal addresses for a tensor that
shares the array's memory, different ones for a copy, a row's bytes apart for a view that starts
one row later, provided the source replaces nothing that answers in the job; the object-id
answer is recognised in the source.  The verdicts are made here."""

import re

import numpy as np
import torch

from grader.checks import Verdict, check, failed, first_failure, mean_of, partial, passed
from grader.compare import source, tensors
from grader.i18n import Text
from grader.values import describe

DTYPES = ("float32", "float64", "int64", "uint8")
VISIBLE_SHAPE = (2, 3)
HIDDEN_SHAPES = ((), (7,), (2, 3, 4), (1, 5, 1, 2))
IDS_CREDIT = 1 / 3
SHOWN_FAILURES = 3
COPY_FINDING = "holds a copy"
COPY_ADVICE = ("torch.tensor(arr) copies the data, and so do torch.Tensor(arr) and dtype conversions such as "
               ".float(); torch.from_numpy(arr) (or torch.as_tensor(arr)) shares the array's memory")
IDS_EXPLANATION = (
    "data_addresses returned (id(arr), id(t)), the Python object ids. id() tells where each Python object "
    "lives: the ndarray and the Tensor are two different objects, so their ids always differ, even when they "
    "share one block of data. Shared memory means one data buffer: its address is "
    "arr.__array_interface__['data'][0] for the array and t.data_ptr() for the tensor, and the two are "
    "equal for torch.from_numpy(arr). Partial credit.")


def _visible_array(dtype: str) -> np.ndarray:
    return np.arange(1, 1 + int(np.prod(VISIBLE_SHAPE))).reshape(VISIBLE_SHAPE).astype(dtype)


def _hidden_array(dtype: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(1, 100, size=shape).astype(dtype)


def _call(array: np.ndarray, visible: bool) -> str:
    if visible:
        return f"to_tensor({_article(str(array.dtype))} {array.dtype} array of shape {list(array.shape)})"
    return f"to_tensor(a {array.ndim}-d {array.dtype} array)"


def _article(dtype: str) -> str:
    return "an" if dtype.startswith("int") else "a"  # "a uint8 array": the u is said "you"


def _to_tensor_facts(student, array: np.ndarray, what: str) -> dict:
    return student.builtin("to_tensor_facts", student.get("to_tensor"), array, what=what)


# The calls to_tensor may return, and the array dtypes for which each shares the array's memory;
# a conversion after it (torch.from_numpy(arr).float()) shares only when it changes nothing.
SHARING_CALLS = {"torch.from_numpy": set(DTYPES), "torch.as_tensor": set(DTYPES), "torch.asarray": set(DTYPES),
                 "torch.Tensor": {"float32"}, "torch.FloatTensor": {"float32"}}
CONVERSIONS = {"float": "float32", "double": "float64", "long": "int64", "byte": "uint8"}


def _sharing_dtypes(ctx) -> set[str] | Verdict:
    """The array dtypes for which the source shows to_tensor sharing memory, or why none."""
    finding = source.reading(ctx.source, lambda s: source.Finding(True, source.returned_call(s, "to_tensor")))
    call, _, conversions = finding.reason.partition("()") if finding.ok else ("", "", "")
    methods = re.findall(r"\.(\w+)\(\)", conversions)
    if finding.ok and call in SHARING_CALLS and all(m in CONVERSIONS for m in methods):
        return SHARING_CALLS[call].intersection(*({CONVERSIONS[m]} for m in methods))
    if finding.ok:
        finding = source.Finding(False, f"to_tensor returns {finding.reason}, which is not a call known to share")
    return failed(f"{source.verdict(finding, 'that to_tensor shares the array memory').feedback}\n{COPY_ADVICE}")


def _shared_in_source(dtypes: set[str] | Verdict, array: np.ndarray, what: str) -> Verdict:
    if isinstance(dtypes, Verdict):
        return dtypes
    if str(array.dtype) in dtypes:
        return passed()
    return failed(f"{what} {COPY_FINDING}: your to_tensor converts a {array.dtype} array, which copies it")


def _returned_tensor(facts: dict, what: str) -> Verdict:
    if "tensor" not in facts:
        kind = facts["type"].removeprefix("builtins.")
        return failed(f"{what} should return a torch.Tensor, but it returned a {kind}")
    return tensors.is_tensor(facts["tensor"], what=what)


def _matches_array(facts: dict, array: np.ndarray, what: str) -> Verdict:
    expected = torch.from_numpy(array)
    return first_failure(
        lambda: _returned_tensor(facts, what),
        lambda: tensors.shape_matches(facts["tensor"], array.shape, what=what, why="the array's shape"),
        lambda: tensors.dtype_matches(facts["tensor"], expected.dtype, what=what, why=_dtype_hint(facts["tensor"])),
        lambda: tensors.values_close(facts["tensor"], expected, what=what, rtol=0.0, atol=0.0),
    )


def _dtype_hint(tensor) -> str:
    if tensor.dtype == torch.float32:
        return "the array's dtype; torch.Tensor(arr) and .float() convert to float32"
    return "the array's dtype"


def _shares_memory(facts: dict, what: str) -> Verdict:
    tensor_write_seen, array_write_seen = facts.get("tensor_write_seen"), facts.get("array_write_seen")
    if tensor_write_seen is None:
        return failed(f"{what} returned {facts['tensor'].describe()}, which does not hold the array's elements, "
                      f"so it cannot share its memory")
    if tensor_write_seen and array_write_seen:
        return passed()
    if not tensor_write_seen and not array_write_seen:
        return failed(f"{what} {COPY_FINDING}: a write to the tensor did not change the array, and a write to the "
                      f"array did not change the tensor")
    seen, unseen = ("tensor", "array") if tensor_write_seen else ("array", "tensor")
    return failed(f"{what}: a write to the {seen} reached the {unseen}, but a write to the {unseen} did not reach "
                  f"the {seen}; expected one shared block of memory")


def _mean_over_arrays(verdicts: list[Verdict]) -> Verdict:
    """The average, with the first few shortfalls and, when a copy was found, how to avoid one."""
    fraction = mean_of(verdicts).fraction
    shortfalls = list(dict.fromkeys(v.feedback for v in verdicts if not v.ok))
    lines = shortfalls[:SHOWN_FAILURES]
    if len(shortfalls) > SHOWN_FAILURES:
        lines.append(f"… and {len(shortfalls) - SHOWN_FAILURES} more arrays like these")
    if any(COPY_FINDING in str(line) for line in shortfalls):  # comparator feedback is a message
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


def _describe_answer(answer) -> str:
    if isinstance(answer, (tuple, list)):
        kinds = ", ".join(type(a).__name__ for a in answer)
        return f"a {type(answer).__name__} of {len(answer)} ({kinds})"
    return describe(answer)


ADDRESS_HINT = ("expected (arr.__array_interface__['data'][0], t.data_ptr()), which are {relation}. id() of any "
                "object (arr, t, t.data) tells where that Python object lives, not where its data is")
# (what the checker asked for, how the two addresses must relate, the sentence for the student)
ADDRESS_CASES = (
    ("data_addresses(arr, torch.from_numpy(arr))", lambda a, t, row: a == t,
     "equal here: the tensor uses the array's memory"),
    ("data_addresses(arr, torch.tensor(arr))", lambda a, t, row: a != t,
     "different here: torch.tensor(arr) copies the data"),
    ("data_addresses(arr, torch.from_numpy(arr)[1])", lambda a, t, row: t - a == row,
     "one row's bytes apart here: the tensor is a view that starts at the array's second row"),
)
IDS_IN_SOURCE = ({"id(a)"}, {"id(b)"})


def _judge_addresses(answer, what: str, relation, sentence: str, row_bytes: int) -> Verdict:
    if not _is_two_ints(answer):
        return failed(f"{what} should return a tuple of two ints, but it returned {_describe_answer(answer)}")
    if relation(*answer, row_bytes):
        return passed()
    return failed(f"{what} returned {tuple(answer)}, which are not the addresses of the two data buffers; "
                  + ADDRESS_HINT.format(relation=sentence))


@check("data_addresses")
def data_addresses(student, ctx):
    array = _visible_array("float32")
    answers = student.builtin("data_addresses_answers", student.get("data_addresses"), array,
                              what="data_addresses(arr, t)")
    if not (isinstance(answers, list) and len(answers) == len(ADDRESS_CASES)):
        return failed("data_addresses(arr, t) could not be called on the three tensors it is checked with")
    verdict = first_failure(*[lambda case=case, answer=answer: _judge_addresses(answer, *case, array.strides[0])
                              for answer, case in zip(answers, ADDRESS_CASES)])
    if verdict.ok:  # the answers came through a builtin in the job: only if nothing there was replaced
        untouched = source.reading(ctx.source, lambda s: source.FOUND)
        return source.verdict(untouched, "that these answers come from your data_addresses") or verdict
    object_ids = source.reading(ctx.source, lambda s: source.returns_pair(s, "data_addresses", *IDS_IN_SOURCE))
    return partial(IDS_CREDIT, IDS_EXPLANATION) if object_ids.ok else verdict


@check("other_shapes")
def other_shapes(student, ctx):
    rng = np.random.default_rng(ctx.seed)

    dtypes = _sharing_dtypes(ctx)

    def judge(facts, array, what):
        return first_failure(lambda: _matches_array(facts, array, what), lambda: _shares_memory(facts, what),
                             lambda: _shared_in_source(dtypes, array, what))

    arrays = [_hidden_array(dtype, shape, rng) for shape in HIDDEN_SHAPES for dtype in DTYPES]
    return _mean_over_arrays([_judge_to_tensor(student, ctx, array, judge) for array in arrays])
