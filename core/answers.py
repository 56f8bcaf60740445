"""Written answers belong to the student's work on an assignment, not to one upload.

Each (course assignment, student, question) has one current answer: the text of the latest
upload that carried one, a ``.md`` of answers or a ``.py`` defining ``Q1 = \"\"\"...\"\"\"``.  An
instructor's score is kept with the text it scored (its hash): a changed answer is pending again,
the same text submitted again keeps its score.  docs/SERVICE.md, "Written answers".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import points
from core.db import utcnow
from core.i18n import _
from core.models import Answer, Submission, User, WrittenScore
from grader.manifest import Manifest, Said, WrittenSpec
from grader.results import WRITTEN_PENDING, GradeResult, TestResult
from grader.status import CheckStatus

INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
ANSWERS_ONLY = ".md"  # an upload of this kind carries answers, never a code attempt


def storable(text: str) -> str:
    """An answer as a text column keeps it: a NUL (which PostgreSQL refuses in text) written as
    ``\\x00``, as lone surrogates already are in a result (``grader.results.encodable``)."""
    return text.replace("\x00", "\\x00")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def answers_only(filename: str) -> bool:
    """A Markdown upload holds written answers only: the engine runs no check on it."""
    return filename.lower().endswith(ANSWERS_ONLY)


@dataclasses.dataclass(frozen=True)
class Current:
    """A student's current answer to one question, with the score of this very text."""

    answer_id: int
    name: str
    sha256: str
    submission_id: int | None
    answered_at: dt.datetime
    score: float | None        # None: awaiting an instructor
    comment: str = ""


def remember(session: Session, submission_id: int, result: GradeResult) -> None:
    """Make the answers a recorded result carries the student's current ones, unless a later
    upload's answer is already there (workers record out of order).  Call it inside the
    transaction that records the result."""
    if not result.answers:
        return
    offered_id, user_id, submitted_at = session.execute(
        select(Submission.course_assignment_id, Submission.user_id, Submission.created_at)
        .where(Submission.id == submission_id)).one()
    insert = INSERTS[session.get_bind().dialect.name]
    for name, said in result.answers.items():
        text = storable(said)
        new = insert(Answer).values(course_assignment_id=offered_id, user_id=user_id, name=name, text=text,
                                    sha256=digest(text), submission_id=submission_id, answered_at=submitted_at)
        older = or_(Answer.answered_at < submitted_at,
                    and_(Answer.answered_at == submitted_at, Answer.submission_id <= submission_id),
                    Answer.submission_id.is_(None))
        session.execute(new.on_conflict_do_update(
            index_elements=[Answer.course_assignment_id, Answer.user_id, Answer.name],
            set_={"text": new.excluded.text, "sha256": new.excluded.sha256,
                  "submission_id": new.excluded.submission_id, "answered_at": new.excluded.answered_at},
            where=older))


def current(session: Session, offered_ids: list[int],
            user_ids: list[int] | None = None) -> dict[tuple[int, int], dict[str, Current]]:
    """(user id, course assignment id) -> question name -> the current answer."""
    query = (select(Answer.id, Answer.user_id, Answer.course_assignment_id, Answer.name, Answer.sha256,
                    Answer.submission_id, Answer.answered_at, WrittenScore.score, WrittenScore.comment)
             .outerjoin(WrittenScore, and_(WrittenScore.answer_id == Answer.id,
                                           WrittenScore.answer_sha256 == Answer.sha256))
             .where(Answer.course_assignment_id.in_(offered_ids)))
    if user_ids is not None:
        query = query.where(Answer.user_id.in_(user_ids))
    found: dict[tuple[int, int], dict[str, Current]] = {}
    for answer_id, user_id, offered_id, name, sha256, submission_id, answered_at, score, comment in session.execute(
            query):
        found.setdefault((user_id, offered_id), {})[name] = Current(answer_id, name, sha256, submission_id,
                                                                    answered_at, score, comment or "")
    return found


def written(manifest: Manifest, answers: dict[str, Current],
            penalty: Callable[[dt.datetime], float]) -> list[points.Written]:
    """The answered questions the pack still asks, for ``points.combine``."""
    return [points.Written(spec.points, answers[spec.name].score, penalty(answers[spec.name].answered_at))
            for spec in manifest.written if spec.name in answers]


def as_test(spec: WrittenSpec, answer: Current, shown_in: int | None = None) -> TestResult:
    """A current answer as an entry of ``tests``: pending, or scored with the instructor's comment."""
    said = WRITTEN_PENDING if answer.score is None else answer.comment or _("scored by an instructor")
    if answer.submission_id not in (None, shown_in):
        said = _("{said} (answered in submission {id})", said=said, id=answer.submission_id)
    status = CheckStatus.pending if answer.score is None else CheckStatus.passed if answer.score >= spec.points \
        else CheckStatus.partial if answer.score > 0 else CheckStatus.failed
    return TestResult.said(name=spec.name, score=answer.score or 0.0, max_score=spec.points, status=status,
                           description=Said(spec.prompt), feedback=said)


def unanswered(spec: WrittenSpec) -> TestResult:
    return TestResult.said(name=spec.name, score=0.0, max_score=spec.points, status=CheckStatus.failed,
                           description=Said(spec.prompt), feedback=_("no answer"))


def score(session: Session, grader_user: User, answer: Current, score: float, comment: str) -> WrittenScore:
    """Score the answer's current text (a later change of the text makes it pending again)."""
    entry = session.scalar(select(WrittenScore).where(WrittenScore.answer_id == answer.answer_id,
                                                      WrittenScore.answer_sha256 == answer.sha256))
    if entry is None:
        entry = WrittenScore(answer_id=answer.answer_id, answer_sha256=answer.sha256)
        session.add(entry)
    entry.score, entry.comment, entry.scored_by, entry.scored_at = score, comment, grader_user.id, utcnow()
    session.commit()
    return entry


def texts(session: Session, offered_id: int, user_id: int) -> dict[str, str]:
    """The student's current answers, for the instructor who scores them."""
    return dict(session.execute(select(Answer.name, Answer.text).where(
        Answer.course_assignment_id == offered_id, Answer.user_id == user_id).order_by(Answer.name)).all())
