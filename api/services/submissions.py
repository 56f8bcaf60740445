"""Submissions: validate and store an upload, queue it, show it to whom may see it, regrade it,
and score its written answers."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import posixpath
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, undefer

from api.db import utcnow, without_flush_wait
from api.errors import BadRequest, Forbidden, InvalidSubmission, NotFound, PayloadTooLarge, TooManyAttempts, \
    UnsupportedFileType
from api.models import Course, CourseAssignment, Membership, Submission, SubmissionEvent, User, WrittenScore
from api.services import courses
from grader.assignments import Assignment, Catalog
from grader.config import Settings
from grader.results import GradeResult, TestResult
from grader.status import CheckStatus, SubmissionStatus
from grader.submission import SubmissionError, load_submission
from workers.queueing import BrokerUnavailable

log = logging.getLogger(__name__)

ACCEPTED_SUFFIXES = (".py", ".ipynb", ".zip", ".md")
MAX_FILENAME = 255
DAY = dt.timedelta(days=1)


class Enqueuer(Protocol):
    def send(self, submission_id: int, queue: str) -> None: ...


# ---------------------------------------------------------------------- submitting
def check_upload(filename: str, content: bytes, assignment: Assignment, max_upload_kb: int) -> str:
    """The clean file name, or the 4xx that says what is wrong with the upload."""
    name = posixpath.basename(filename.replace("\\", "/")).strip()[-MAX_FILENAME:]
    if not name:
        raise InvalidSubmission("the uploaded file has no name", code="missing_filename")
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        raise UnsupportedFileType(f"{name}: upload a .py file, a .ipynb notebook, a .zip of your project or a .md "
                                  f"file of written answers")
    if len(content) > max_upload_kb << 10:
        raise PayloadTooLarge(f"{name} is {len(content) // 1024} KB; the limit is {max_upload_kb} KB")
    try:
        load_submission(name, content, assignment.manifest.entry, max_upload_kb << 10)
    except SubmissionError as exc:
        raise InvalidSubmission(str(exc)) from None
    return name


def check_deadline(session: Session, offered: CourseAssignment, user: User, now: dt.datetime) -> None:
    if offered.due_at is None:
        return
    deadline = courses.deadline_for(session, offered, user.id)
    if not deadline.accepts(now):
        raise Forbidden(f"{offered.assignment_id} closed at {deadline.closes_at.isoformat()}; ask your instructor "
                        f"for an extension", code="deadline_passed")


def check_attempts(session: Session, offered: CourseAssignment, user: User, now: dt.datetime) -> None:
    if offered.attempts_per_day is None and offered.attempts_total is None:
        return
    # Serialise one student's submissions so that two at once cannot both pass the limit.
    session.execute(select(Membership.id).where(Membership.user_id == user.id,
                                                Membership.course_id == offered.course_id).with_for_update())
    mine = select(func.count(Submission.id)).where(Submission.course_assignment_id == offered.id,
                                                   Submission.user_id == user.id)
    if offered.attempts_total is not None and session.scalar(mine) >= offered.attempts_total:
        raise TooManyAttempts(f"you have used all {offered.attempts_total} attempts at {offered.assignment_id}")
    if offered.attempts_per_day is not None:
        recent = session.scalars(mine.with_only_columns(Submission.created_at)
                                 .where(Submission.created_at > now - DAY).order_by(Submission.created_at)).all()
        if len(recent) >= offered.attempts_per_day:
            wait = max(int((recent[0] + DAY - now).total_seconds()) + 1, 1)
            raise TooManyAttempts(f"you have used your {offered.attempts_per_day} attempts at {offered.assignment_id} "
                                  f"in the last 24 hours; the next one is possible in {wait // 60 + 1} minutes",
                                  headers={"Retry-After": str(wait)})


def submit(session: Session, settings: Settings, catalog: Catalog, enqueuer: Enqueuer, user: User,
           offered: CourseAssignment, filename: str, content: bytes) -> Submission:
    """Validate, store (committed), then queue.  A broker that is down leaves the submission
    stored and unqueued: the sweeper queues it later."""
    assignment = catalog.get(offered.assignment_id)
    name = check_upload(filename, content, assignment, settings.max_upload_kb)
    now = utcnow()
    if not courses.is_instructor(session, user, offered.course_id):
        check_deadline(session, offered, user, now)
        check_attempts(session, offered, user, now)
    submission = Submission(course_assignment_id=offered.id, user_id=user.id, filename=name, content=content,
                            sha256=hashlib.sha256(content).hexdigest(), size=len(content), queue=assignment.manifest.queue,
                            status=SubmissionStatus.queued, created_at=now,
                            max_score=assignment.manifest.max_score + sum(w.points for w in assignment.manifest.written))
    session.add(submission)
    session.commit()
    send(session, enqueuer, submission)
    return submission


def send(session: Session, enqueuer: Enqueuer, submission: Submission) -> bool:
    try:
        enqueuer.send(submission.id, submission.queue)
    except BrokerUnavailable as exc:
        log.warning("submission %s stored but not queued (the sweeper will queue it): %s", submission.id, exc)
        return False
    without_flush_wait(session)  # a hint for the sweeper: if lost, the submission is queued twice (harmless)
    session.execute(update(Submission).where(Submission.id == submission.id, Submission.enqueued_at.is_(None))
                    .values(enqueued_at=utcnow()))
    session.commit()
    return True


# ---------------------------------------------------------------------- finding
def get_for(session: Session, user: User, submission_id: int) -> Submission:
    """A submission its owner or an instructor of its course may see; anyone else gets 404."""
    submission = session.get(Submission, submission_id, options=[undefer(Submission.result)])
    if submission is None or not (submission.user_id == user.id
                                  or courses.is_instructor(session, user, submission.course_assignment.course_id)):
        raise NotFound(f"no submission {submission_id}", code="submission_not_found")
    return submission


def for_instructor(session: Session, user: User, submission_id: int) -> Submission:
    submission = get_for(session, user, submission_id)
    if not courses.is_instructor(session, user, submission.course_assignment.course_id):
        raise Forbidden("only an instructor of the course may do this", code="not_instructor")
    return submission


def list_own(session: Session, user: User, offered: CourseAssignment | None = None) -> list[Submission]:
    query = select(Submission).where(Submission.user_id == user.id).order_by(Submission.id.desc())
    if offered is not None:
        query = query.where(Submission.course_assignment_id == offered.id)
    return list(session.scalars(query))


def search(session: Session, course: Course, *, student: str | None = None, assignment: str | None = None,
           status: SubmissionStatus | None = None, since: dt.datetime | None = None,
           until: dt.datetime | None = None, limit: int = 100, offset: int = 0) -> list[Submission]:
    query = (select(Submission).join(CourseAssignment).where(CourseAssignment.course_id == course.id)
             .order_by(Submission.id.desc()).limit(limit).offset(offset))
    if student:
        query = query.join(User, User.id == Submission.user_id).where(User.name == student)
    if assignment:
        query = query.where(CourseAssignment.assignment_id == assignment)
    if status:
        query = query.where(Submission.status == status)
    if since:
        query = query.where(Submission.created_at >= since)
    if until:
        query = query.where(Submission.created_at < until)
    return list(session.scalars(query))


# ---------------------------------------------------------------------- what is shown
def summary(submission: Submission) -> dict:
    return {"id": submission.id, "course": submission.course_assignment.course.slug,
            "assignment": submission.course_assignment.assignment_id, "student": submission.user.name,
            "filename": submission.filename, "status": submission.status, "submitted_at": submission.created_at,
            "finished_at": submission.finished_at, "score": submission.score, "max_score": submission.max_score}


def result_with_written(submission: Submission) -> GradeResult | None:
    """The stored result with the instructor's scores of written answers folded in."""
    if submission.result is None:
        return None
    result = GradeResult.model_validate(submission.result)
    scored = {w.name: w for w in submission.written_scores}
    tests = [_scored(test, scored.get(test.name)) for test in result.tests]
    added = sum(w.score for w in scored.values() if any(t.name == w.name for t in result.tests))
    return result.model_copy(update={"tests": tests, "score": round(result.score + added, 4)})


def _scored(test: TestResult, written: WrittenScore | None) -> TestResult:
    if written is None or test.status != CheckStatus.pending:
        return test
    status = CheckStatus.passed if written.score >= test.max_score else \
        CheckStatus.partial if written.score > 0 else CheckStatus.failed
    return test.model_copy(update={"score": written.score, "status": status,
                                   "feedback": written.comment or "scored by an instructor"})


def total_score(submission: Submission, written_total: float = 0.0) -> float | None:
    return None if submission.score is None else round(submission.score + written_total, 4)


def view(session: Session, submission: Submission, *, instructor: bool) -> dict:
    """Everything the API shows about one submission, with visibility applied for students."""
    offered = submission.course_assignment
    deadline = courses.deadline_for(session, offered, submission.user_id)
    result = result_with_written(submission)
    if result is not None and not instructor:
        result = result.for_student(show_hidden=offered.results_released, show_after_due=deadline.passed(utcnow()))
    penalty = deadline.penalty(submission.created_at)
    shown = {
        "id": submission.id, "course": offered.course.slug, "assignment": offered.assignment_id,
        "student": submission.user.name, "filename": submission.filename, "status": submission.status,
        "submitted_at": submission.created_at, "started_at": submission.started_at,
        "finished_at": submission.finished_at, "max_score": submission.max_score,
        "days_late": deadline.days_late(submission.created_at), "late_penalty": penalty,
        "score": result.score if result and submission.score is not None else None,
    }
    shown["adjusted_score"] = None if shown["score"] is None else round(shown["score"] * (1 - penalty), 4)
    if result is not None:
        shown.update(result.model_dump(include={"pending_max_score", "message", "notes", "tests", "output",
                                                "timings", "environment"}))
    if instructor:
        shown.update({"sha256": submission.sha256, "size": submission.size, "attempts": submission.attempts,
                      "worker": submission.worker})
        if result is not None:
            shown.update(result.model_dump(include={"hidden_output", "answers"}))
    return shown


# ---------------------------------------------------------------------- instructors
def regrade(session: Session, enqueuer: Enqueuer, submissions: list[Submission]) -> list[int]:
    """Queue submissions again from scratch; a grading in flight loses its claim and is discarded."""
    ids = [s.id for s in submissions]
    if not ids:
        return []
    session.execute(delete(SubmissionEvent).where(SubmissionEvent.submission_id.in_(ids)))
    session.execute(update(Submission).where(Submission.id.in_(ids)).values(
        status=SubmissionStatus.queued, score=None, result=None, claim=None, worker=None, lease_until=None,
        started_at=None, finished_at=None, grading_s=None, attempts=0, enqueued_at=None))
    session.commit()
    for submission in submissions:
        send(session, enqueuer, submission)
    return ids


def select_for_regrade(session: Session, course: Course, student: str | None,
                       assignment: str | None) -> list[Submission]:
    if not student and not assignment:
        raise BadRequest("name a student, an assignment or both; to regrade one submission use "
                         "POST /submissions/{id}/regrade", code="regrade_scope")
    if student:
        courses.student_in(session, course, student)
    if assignment:
        courses.course_assignment(session, course, assignment)
    return search(session, course, student=student, assignment=assignment, limit=100_000)


def score_written(session: Session, grader_user: User, submission: Submission, name: str, score: float,
                  comment: str) -> WrittenScore:
    result = submission.result and GradeResult.model_validate(submission.result)
    if not result:
        raise BadRequest(f"submission {submission.id} is not graded yet ({submission.status})", code="not_graded")
    written = next((t for t in result.tests if t.name == name), None)
    if written is None or written.status != CheckStatus.pending:
        answers = [t.name for t in result.tests if t.status == CheckStatus.pending]
        raise NotFound(f"submission {submission.id} has no written answer {name!r} to score; "
                       f"answers awaiting a score: {', '.join(answers) or 'none'}", code="answer_not_found")
    if score > written.max_score:
        raise BadRequest(f"{name} is worth at most {written.max_score:g} points", code="score_too_high")
    entry = next((w for w in submission.written_scores if w.name == name), None)
    if entry is None:
        entry = WrittenScore(submission_id=submission.id, name=name, score=score)
        submission.written_scores.append(entry)
    entry.score, entry.comment, entry.scored_by, entry.scored_at = score, comment, grader_user.id, utcnow()
    session.commit()
    return entry
