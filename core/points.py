"""Points: one value type with one meaning per field, computed one way for every view (a
submission, the gradebook, a student's grades, the statistics).  docs/SERVICE.md, "Points".

A student's grade for an assignment is the auto-graded points of one code submission (the best
or the latest, ``api.services.gradebook.counting``) plus the instructor's scores of the student's
current written answers (``core.answers``), whichever upload carried them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from grader.manifest import Manifest


class Written(NamedTuple):
    """One answered written question: its points, the instructor's score (None: awaiting one)
    and the late penalty of the upload that carried the answer."""

    max: float
    score: float | None
    penalty: float = 0.0


class Points(NamedTuple):
    """One grade's points (a NamedTuple, immutable: a gradebook makes thousands, and a frozen
    dataclass costs three times as much to make)."""

    auto: float = 0.0          # earned in the auto-graded checks of one code submission
    auto_max: float = 0.0      # offered by the auto-graded checks
    written: float = 0.0       # given by an instructor to the student's current answers
    written_max: float = 0.0   # offered by the written questions (answered or not)
    pending_max: float = 0.0   # of written questions answered and not scored yet (never unanswered ones)
    adjusted: float = 0.0      # total after late penalties: the code's on auto, each answer's own on its score

    @property
    def total(self) -> float:
        return round(self.auto + self.written, 4)

    @property
    def max_total(self) -> float:
        return round(self.auto_max + self.written_max, 4)

    def fields(self) -> dict[str, float]:
        """The names the API shows these points under (docs/SERVICE.md, "Points")."""
        return {"score": self.total, "max_score": self.max_total, "adjusted_score": self.adjusted,
                "auto_score": self.auto, "auto_max_score": self.auto_max, "written_score": self.written,
                "written_max_score": self.written_max, "pending_max_score": self.pending_max}


def combine(auto: float, auto_max: float, written_max: float, answers: Iterable[Written] = (),
            auto_penalty: float = 0.0) -> Points:
    """The points of auto-graded checks and answered written questions (unanswered ones earn
    nothing and are not pending)."""
    if not answers:   # most grades: no written question answered
        return Points(round(auto, 4), round(auto_max, 4), 0, round(written_max, 4), 0,
                      round(auto * (1 - auto_penalty), 4))
    answers = list(answers)
    scored = [a for a in answers if a.score is not None]
    written = sum(a.score for a in scored)
    adjusted = auto * (1 - auto_penalty) + sum(a.score * (1 - a.penalty) for a in scored)
    return Points(auto=round(auto, 4), auto_max=round(auto_max, 4), written=round(written, 4),
                  written_max=round(written_max, 4),
                  pending_max=round(sum(a.max for a in answers if a.score is None), 4), adjusted=round(adjusted, 4))


def written_max(manifest: Manifest) -> float:
    return sum(w.points for w in manifest.written)


def max_total(manifest: Manifest) -> float:
    """All the points an assignment offers: its checks and its written questions."""
    return round(manifest.max_score + written_max(manifest), 4)
