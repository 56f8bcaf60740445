"""Self-test submissions: each pack's ``selftest/expected.toml`` lists files (or folders, zipped
on the fly) with the status, score, failing checks and feedback they must get."""

from __future__ import annotations

import dataclasses
import io
import tomllib
import zipfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.assignments import Assignment
from grader.i18n import SOURCE_LANGUAGE, Message, _, render
from grader.results import GradeResult
from grader.status import CheckStatus, SubmissionStatus


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    base: str | None = Field(None, description="another self-test file this case is made from by ``edits``")
    edits: list[tuple[str, str]] = Field(default_factory=list, description="[old, new] replacements that "
                                         "make the one mistake this case shows; every old text must occur")
    status: SubmissionStatus = SubmissionStatus.graded
    score: float
    not_passed: list[str] | None = Field(None, description="exactly the checks that must not pass")
    feedback: list[str] = Field(default_factory=list, description="phrases the feedback must contain (in "
                                "English or Chinese)")
    why: str = ""

    @model_validator(mode="after")
    def _edits_need_a_base(self) -> "Case":
        if bool(self.base) != bool(self.edits):
            raise ValueError(f"{self.file}: 'base' and 'edits' go together")
        return self


class Expectations(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case: list[Case]


@dataclasses.dataclass
class Outcome:
    assignment: str
    case: Case
    result: GradeResult
    problems: list[Message]

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self, language: str = SOURCE_LANGUAGE) -> str:
        """The case's outcome for a TA: ``ok`` or ``FAIL``, status and score, then each problem."""
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark} {self.assignment}/{self.case.file}: {self.result.status.value} {self.result.score:g}"
        return text + "".join(f"\n     {render(p, language)}" for p in self.problems)


def load_cases(assignment: Assignment) -> list[Case]:
    with open(assignment.directory / "selftest" / "expected.toml", "rb") as handle:
        return Expectations.model_validate(tomllib.load(handle)).case


def case_submission(directory: Path, case: Case) -> tuple[str, bytes]:
    """The file name and bytes a case submits: its file, or its base with its edits made."""
    if case.base is None:
        return submission_bytes(directory / case.file)
    source = (directory / case.base).read_text(encoding="utf-8")
    for old, new in case.edits:
        if old not in source:
            raise ValueError(f"{case.file}: {old!r} does not occur in {case.base}")
        source = source.replace(old, new)
    return case.file, source.encode()


def submission_bytes(path: Path) -> tuple[str, bytes]:
    """A folder is zipped (with the folder as its top level), a file read as it is."""
    if not path.is_dir():
        return path.name, path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path.parent).as_posix())
    return f"{path.name}.zip", buffer.getvalue()


def problems_with(result: GradeResult, case: Case) -> list[Message]:
    problems = []
    if result.status != case.status:
        problems.append(_("status {status}, expected {expected}: {message}", status=result.status.value,
                          expected=case.status.value, message=result.message[:300]))
    if abs(result.score - case.score) > 1e-6:
        problems.append(_("score {score:g}, expected {expected:g}", score=result.score, expected=case.score))
    not_passed = {t.name for t in result.tests if t.status not in (CheckStatus.passed, CheckStatus.pending)}
    if case.not_passed is not None and not_passed != set(case.not_passed):
        problems.append(_("checks not passed {checks}, expected {expected}", checks=sorted(not_passed),
                          expected=sorted(case.not_passed)))
    text = "\n".join([result.message, *(t.message for t in result.translations.values()),
                      *(t.feedback for t in result.tests),
                      *(said.feedback for t in result.tests for said in t.translations.values())])
    problems += [_("feedback lacks {phrase!r}", phrase=phrase) for phrase in case.feedback if phrase not in text]
    return problems


def run_cases(grader, assignment: Assignment) -> list[Outcome]:
    outcomes = []
    for case in load_cases(assignment):
        name, content = case_submission(assignment.directory / "selftest", case)
        result = grader.grade(assignment.id, name, content)
        outcomes.append(Outcome(assignment.id, case, result, problems_with(result, case)))
    return outcomes
