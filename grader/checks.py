"""What a check is: a small function that asks the student's job for values and returns a
``Verdict``.  Points and visibility live in the manifest; the function carries its name.

    @check("shape")
    def shape(student: Student, ctx: Context) -> Verdict:
        out = student.call("normal_tensor_tensor", MEAN, STD, seed=ctx.seed)
        return compare.tensors.shape_matches(out, MEAN.shape)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import traceback
from pathlib import Path
from typing import Callable

from grader.i18n import Message, Text, _, render
from grader.status import CheckStatus

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Verdict:
    fraction: float
    feedback: Message = ""  # a catalogue message (grader/i18n.py), or plain text for data

    def __post_init__(self):
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"a verdict's fraction must lie in [0, 1], not {self.fraction}")

    @property
    def status(self) -> CheckStatus:
        if self.fraction >= 1.0:
            return CheckStatus.passed
        return CheckStatus.failed if self.fraction <= 0.0 else CheckStatus.partial

    @property
    def ok(self) -> bool:
        return self.fraction >= 1.0


def passed(feedback: Message = "") -> Verdict:
    return Verdict(1.0, feedback)


def failed(feedback: Message) -> Verdict:
    return Verdict(0.0, feedback)


def partial(fraction: float, feedback: Message) -> Verdict:
    return Verdict(fraction, feedback)


def first_failure(*steps: Callable[[], Verdict]) -> Verdict:
    """Run steps in order and return the first that does not fully pass (else the last)."""
    verdict = passed()
    for step in steps:
        verdict = step()
        if not verdict.ok:
            return verdict
    return verdict


def mean_of(verdicts: list[Verdict], joiner: str = "\n") -> Verdict:
    """Equal-weight average of several verdicts, with the feedback of those that fell short."""
    if not verdicts:
        return passed()
    fraction = sum(v.fraction for v in verdicts) / len(verdicts)
    shortfalls = [v.feedback for v in verdicts if not v.ok and v.feedback]
    notes = shortfalls or [v.feedback for v in verdicts if v.feedback]
    once = {render(note): note for note in notes}  # the same message said once
    if all(isinstance(note, str) for note in once.values()):
        return Verdict(fraction, joiner.join(once.values()))
    return Verdict(fraction, Text.join(joiner, once.values()))


@dataclasses.dataclass(frozen=True)
class Context:
    """What a check knows besides the student: its name, its seed, and the hidden data —
    ``data_dir`` where the job sees the mounted part, ``private_dir`` for what only the
    checker may read (answer keys, test sets)."""

    assignment: str
    check: str
    visible: bool = True
    data_dir: str | None = None
    private_dir: Path | None = None
    directory: Path | None = None
    cache_dir: Path | None = None  # for what checks derive once and keep (e.g. a traced reference)
    source: object = None  # the upload's Python files, parsed (``compare.source.Source``), for readings

    def attempt(self, step: Callable[[], Verdict]) -> Verdict:
        """Run one part of a check; the student's exception fails that part only.  Exception
        messages are shown for visible checks only (they may quote hidden inputs)."""
        from grader.student import StudentError

        try:
            return step()
        except StudentError as exc:
            return failed(exc.feedback(show_message=self.visible))

    @property
    def seed(self) -> int:
        """A fixed seed per assignment and check, so a submission always gets the same score."""
        digest = hashlib.sha256(f"{self.assignment}/{self.check}".encode()).digest()
        return int.from_bytes(digest[:4], "big")


# What a check may raise on a value it did not expect (NaN, an empty list, a shape, a type):
# after the student's code has answered, these are the student's failure.  NameError,
# ImportError, SyntaxError, NotImplementedError and AssertionError never come from a value:
# they stay grader faults (``internal_error``), as does anything raised before any answer.
VALUE_ERRORS = (ArithmeticError, ValueError, TypeError, IndexError, KeyError, StopIteration, RuntimeError,
                MemoryError, RecursionError, AttributeError, BufferError, UnicodeError)
GRADER_ERRORS = (NameError, ImportError, SyntaxError, NotImplementedError, AssertionError)


def check(name: str):
    """Mark a function (or a bound method) as the check called ``name`` in the manifest."""
    def mark(function):
        @functools.wraps(function)
        def run(student, ctx) -> Verdict:
            answered = getattr(student, "replies", 0)
            try:
                return function(student, ctx)
            except VALUE_ERRORS as exc:
                if isinstance(exc, GRADER_ERRORS) or getattr(student, "replies", 0) == answered:
                    raise
                raise _uncheckable(name, exc) from exc

        run.__check_name__ = name
        return run
    return mark


def _uncheckable(name: str, exc: BaseException):
    """The student's verdict for a check that raised on their value; the checker's frames go to
    the log and (file, line and function only: no source line of a check) to instructors."""
    from grader.student import UncheckableValue

    log.warning("check %s could not judge a returned value", name, exc_info=exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = "".join(f"  {Path(f.filename).name}:{f.lineno} in {f.name}\n" for f in frames[-6:])
    try:
        message = str(exc)[:2000]
    except Exception:  # a message built from a student's value may itself fail
        message = ""
    return UncheckableValue(_("check {name}", name=name), type(exc).__name__, message, traceback=where)
