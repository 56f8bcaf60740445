"""Progress events, typed: the worker writes them (through ``core.lifecycle``), the event stream
replays them with visibility applied, and the client reads them.  One model per kind; the
stored row keeps the kind and the model's JSON."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from grader.results import TestResult, TestText
from grader.status import CheckStatus, SubmissionStatus, Visibility


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Queued(_Event):
    """Waiting for a worker (said by the stream, never stored)."""

    kind: Literal["queued"] = "queued"
    status: Literal["queued"] = "queued"


class Running(_Event):
    kind: Literal["running"] = "running"
    status: Literal["running"] = "running"
    attempt: int = Field(1, ge=1, description="1 the first time; more after a worker died or a grader fault")


class Check(_Event):
    """One finished check, as the instructor sees it."""

    kind: Literal["check"] = "check"
    index: int = Field(ge=1)
    total: int = Field(ge=0)
    name: str
    description: str = ""
    score: float
    max_score: float
    status: CheckStatus
    visibility: Visibility = Visibility.visible
    feedback: str = ""
    translations: dict[str, TestText] = Field(default_factory=dict, description="feedback and description in "
                                              "other languages than English")

    @classmethod
    def of(cls, test: TestResult, index: int, total: int) -> "Check":
        fields = test.model_dump(mode="json", exclude={"detail"})
        return cls(index=index, total=total, **{k: v for k, v in fields.items() if k in cls.model_fields})

    def localized(self, language: str) -> "Check":
        text = self.translations.get(language)
        update = {"translations": {}} if text is None else \
            {"feedback": text.feedback, "description": text.description, "translations": {}}
        return self.model_copy(update=update)

    def concealed(self) -> "ConcealedCheck":
        return ConcealedCheck(index=self.index, total=self.total, visibility=self.visibility)


class ConcealedCheck(_Event):
    """A check the viewer may not see yet: that it finished, nothing more."""

    kind: Literal["check"] = "check"
    index: int
    total: int
    name: Literal["hidden check"] = "hidden check"
    visibility: Visibility
    concealed: Literal[True] = True


class Done(_Event):
    kind: Literal["done"] = "done"
    status: SubmissionStatus
    score: float | None = None
    max_score: float | None = None
    pending_max_score: float | None = None


Stored = Annotated[Running | Check | Done, Field(discriminator="kind")]
STORED: TypeAdapter[Running | Check | Done] = TypeAdapter(Stored)
Shown = Queued | Running | Check | ConcealedCheck | Done
# What a client reads off the stream: concealed checks and the stream's own queued/done included.
SHOWN: TypeAdapter[Shown] = TypeAdapter(Annotated[Queued | Running | ConcealedCheck | Check | Done,
                                                  Field(union_mode="left_to_right")])


def stored(kind: str, data: dict) -> Running | Check | Done:
    """A stored row back as its event."""
    return STORED.validate_python({**data, "kind": kind})


def shown(event: Running | Check | Done, revealed: set[Visibility] | None, language: str = "en") -> Shown:
    """The event as a viewer may see it (``revealed`` None: everything), in their language."""
    if isinstance(event, Check) and revealed is not None and event.visibility not in revealed:
        return event.concealed()
    return event.localized(language) if isinstance(event, Check) else event


def payload(event: _Event) -> dict:
    """The JSON an event carries on the stream and in the database (its kind goes apart)."""
    return event.model_dump(mode="json", exclude={"kind"})


def parse(kind: str, data: dict) -> Shown:
    """A client's reading of one server-sent event."""
    return SHOWN.validate_python({**data, "kind": kind})
