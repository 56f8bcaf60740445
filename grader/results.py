"""The grading result: the documented JSON every interface returns (docs/RESULTS.md)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from grader.i18n import LANGUAGES, SOURCE_LANGUAGE, Message, _, render
from grader.status import CheckStatus, SubmissionStatus, Visibility

# The feedback of a written answer awaiting an instructor: the engine says it when it grades the
# upload, the service (core/answers.py) when it shows the student's current answer.  Here, not in
# grader/engine.py, so that the service need not import the engine (and torch) to say it.
WRITTEN_PENDING = _("written answer received; an instructor will score it")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _encodable(cls, value):
        return encodable(value)


def encodable(value):
    """Text that can be encoded as UTF-8, in strings, lists and dicts of them.  A job's exception
    messages and answers may hold lone surrogates ("\\ud800" in its JSON); kept as they are, they
    would make every response that shows them fail to encode."""
    if type(value) is str:  # not the str-based enums
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [encodable(item) for item in value]
    if isinstance(value, dict):
        return {encodable(key): encodable(item) for key, item in value.items()}
    return value


class TestText(Model):
    feedback: str = ""
    description: str = ""


class TestResult(Model):
    name: str
    score: float
    max_score: float
    status: CheckStatus
    feedback: str = ""
    visibility: Visibility = Visibility.visible
    description: str = ""
    detail: str = Field("", description="instructor-only: exception messages and tracebacks")
    translations: dict[str, TestText] = Field(default_factory=dict, description="feedback and description in "
                                              "other languages than English (zh)")

    @classmethod
    def said(cls, *, feedback: Message = "", description: Message = "", **fields) -> "TestResult":
        """A test whose feedback and description are messages: English, and the translations."""
        return cls(feedback=render(feedback), description=render(description), **fields,
                   translations={language: TestText(feedback=render(feedback, language),
                                                    description=render(description, language))
                                 for language in LANGUAGES if language != SOURCE_LANGUAGE})

    def localized(self, language: str) -> "TestResult":
        text = self.translations.get(language)
        update = {"translations": {}} if text is None else \
            {"feedback": text.feedback, "description": text.description, "translations": {}}
        return self.model_copy(update=update)


class Output(Model):
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False


class Timings(Model):
    total_s: float = 0.0
    start_s: float = Field(0.0, description="sandbox job start and install")
    import_s: float = 0.0
    checks_s: float = 0.0


class Environment(Model):
    torch: str = ""
    python: str = ""
    device: str = "cpu"
    sandbox_layers: list[str] = Field(default_factory=list)
    missing_layers: dict[str, str] = Field(default_factory=dict)


class ResultText(Model):
    message: str = ""
    notes: list[str] = Field(default_factory=list)


class GradeResult(Model):
    assignment: str
    submission: str
    status: SubmissionStatus
    score: float = 0.0
    max_score: float = 0.0
    pending_max_score: float = Field(0.0, description="points of written answers awaiting an instructor")
    message: str = ""
    notes: list[str] = Field(default_factory=list)
    translations: dict[str, ResultText] = Field(default_factory=dict, description="message and notes in other "
                                                "languages than English (zh)")
    tests: list[TestResult] = Field(default_factory=list)
    answers: dict[str, str] = Field(default_factory=dict, description="written answers, for the instructor")
    output: Output = Output()
    hidden_output: Output = Field(Output(), description="instructor-only: output printed during hidden checks")
    timings: Timings = Timings()
    environment: Environment = Environment()
    sha256: str = ""
    pack_version: str = Field("", description="content hash of the assignment pack that graded it (docs/PACKS.md)")

    @staticmethod
    def texts(message: Message = "", notes: Sequence[Message] = ()) -> dict:
        """The fields of a result's message and notes: English, and the translations."""
        return {"message": render(message), "notes": [render(note) for note in notes],
                "translations": {language: ResultText(message=render(message, language),
                                                      notes=[render(note, language) for note in notes])
                                 for language in LANGUAGES if language != SOURCE_LANGUAGE}}

    def localized(self, language: str) -> "GradeResult":
        """The result in one language (English where a text has no translation), translations
        dropped."""
        text = self.translations.get(language)
        update = {"tests": [test.localized(language) for test in self.tests], "translations": {}}
        if text is not None:
            update.update(message=text.message, notes=text.notes)
        return self.model_copy(update=update)

    def for_student(self, *, show_hidden: bool = False, show_after_due: bool = False) -> "GradeResult":
        """What a student may see: hidden checks as one aggregate until released, no
        instructor details, no output printed while hidden inputs were in play."""
        revealed = {Visibility.visible} | ({Visibility.hidden} if show_hidden else set()) \
            | ({Visibility.after_due_date} if show_after_due else set())
        shown = [t.model_copy(update={"detail": ""}) for t in self.tests if t.visibility in revealed]
        concealed = [t for t in self.tests if t.visibility not in revealed]
        if concealed:
            shown.append(TestResult.said(
                name="hidden checks", score=sum(t.score for t in concealed),
                max_score=sum(t.max_score for t in concealed), status=_aggregate_status(concealed),
                feedback=_("{count} hidden check(s); their feedback is shown when results are released",
                           count=len(concealed)),
                visibility=Visibility.hidden))
        return self.model_copy(update={"tests": shown, "hidden_output": Output(), "answers": {}})


def _aggregate_status(tests: list[TestResult]) -> CheckStatus:
    if all(t.status == CheckStatus.passed for t in tests):
        return CheckStatus.passed
    earned = sum(t.score for t in tests)
    return CheckStatus.partial if earned > 0 else CheckStatus.failed
