"""The assignment manifest (``reference/<id>/manifest.toml``), validated strictly."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from grader.i18n import Message
from grader.status import Visibility

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


@dataclasses.dataclass(frozen=True)
class Said:
    """A manifest's text (``{zh, en}``) as a message (grader/i18n.py)."""

    text: Text

    def render(self, language: str = "en") -> str:
        return getattr(self.text, language, None) or self.text.en

    def __str__(self) -> str:
        return self.text.en


class Limits(Strict):
    """Per-submission limits; the engine clamps each to the operator's cap."""

    wall_s: float = Field(60.0, gt=0, description="wall-clock budget for the whole submission")
    check_s: float = Field(30.0, gt=0, description="CPU seconds of the job for one check (import included); "
                                                   "without a CPU cgroup, wall-clock seconds")
    cpu_s: float = Field(60.0, gt=0, description="CPU seconds for one job: all its processes (its cgroup), and "
                                                 "each process (RLIMIT_CPU)")
    memory_mb: int = Field(2048, gt=0, description="memory of one job (its cgroup) and address space of each of "
                                                   "its processes, on top of the warm interpreter's")
    processes: int = Field(64, gt=0, description="processes and threads of the job's uid (RLIMIT_NPROC)")
    file_size_mb: int = Field(64, gt=0, description="largest file the job may write (RLIMIT_FSIZE)")
    open_files: int = Field(256, gt=0)
    tmp_mb: int = Field(256, gt=0, description="size of each writable tmpfs (work dir, /tmp, /dev/shm)")
    output_kb: int = Field(64, gt=0, description="stdout and stderr kept, each")
    message_mb: int = Field(64, gt=0, description="largest reply from the job")


class CheckSpec(Strict):
    name: str
    points: float = Field(gt=0)
    visibility: Visibility = Visibility.visible
    description: Text | str = Field(description="what is checked, shown to students: {zh = ..., en = ...} "
                                                "(a plain string is English only)")

    def described(self) -> Message:
        """The description as a message in every language the manifest gives."""
        return self.description if isinstance(self.description, str) else Said(self.description)

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not NAME.match(name):
            raise ValueError(f"check name {name!r} is not an identifier")
        return name


class WrittenSpec(Strict):
    """A free-text answer, scored by an instructor."""

    name: str = Field(description="the module-level string, e.g. Q1, or the '## Q1' heading")
    points: float = Field(gt=0)
    prompt: Text


class Manifest(Strict):
    id: str = Field(pattern=r"^w[0-9]+-[a-z0-9-]+$")
    title: Text
    week: int = Field(ge=1)
    kind: Literal["module", "script"] = "module"
    entry: str = Field("submission.py", pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.py$",
                       description="the module name the submission is installed and imported as")
    exports: list[str] = Field(default_factory=list, description="names the student's module must define")
    queue: Literal["cpu", "gpu"] = "cpu"
    hidden_data: bool = Field(False, description="the pack's data.py generates files for the checks")
    limits: Limits = Limits()
    checks: list[CheckSpec] = Field(min_length=1)
    written: list[WrittenSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> "Manifest":
        names = [c.name for c in self.checks] + [w.name for w in self.written]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"check names must be unique: {sorted(duplicates)}")
        return self

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)


def parse_manifest(data: bytes) -> Manifest:
    """A ``manifest.toml``'s bytes, validated (ValueError when they are not a valid manifest)."""
    return Manifest.model_validate(tomllib.loads(data.decode("utf-8")))
