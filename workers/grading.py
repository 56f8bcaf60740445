"""Grading one submission by id, as plain functions the Celery task calls.

Exactly once: a delivery first *claims* the submission (a compare-and-set on its claim
token), and records the result only if it still holds that claim.  A second delivery of the
same id finds the submission graded, or claimed by a live process, and does nothing.  A claim
whose process is gone (same host, dead pid) or whose lease ran out is taken over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import time
import uuid

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from core import answers
from core.db import utcnow, without_flush_wait
from core.models import CourseAssignment, Submission, SubmissionEvent
from core.settings import Settings
from grader.engine import Grader
from grader.results import GradeResult, TestResult
from grader.status import SubmissionStatus

log = logging.getLogger(__name__)


class InfrastructureError(Exception):
    """A fault of the grader or its infrastructure: retried with backoff, never a student's score."""


class GraderFault(InfrastructureError):
    """The engine graded with status internal_error."""


@dataclasses.dataclass(frozen=True)
class Claim:
    submission_id: int
    token: str
    assignment_id: str
    filename: str
    content: bytes
    attempts: int


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(worker: str | None, me: str) -> bool:
    """True when the claim's process is known to be dead: it ran on this host and its pid is
    this process (which grades one submission at a time) or no longer exists."""
    if not worker:
        return True
    host, _, pid = worker.rpartition(":")
    my_host, _, my_pid = me.rpartition(":")
    if host != my_host or not pid.isdigit():
        return False
    if pid == my_pid:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claimable(status: SubmissionStatus, worker: str | None, lease_until: dt.datetime | None, me: str,
              now: dt.datetime) -> bool:
    if status == SubmissionStatus.queued:
        return True
    if status != SubmissionStatus.running:
        return False
    return lease_until is None or lease_until < now or holder_is_gone(worker, me)


def claim(sessions: sessionmaker[Session], submission_id: int, lease_s, me: str) -> Claim | None:
    """Take the submission for this delivery, or None when there is nothing to do."""
    now = utcnow()
    with sessions() as session:
        row = session.execute(
            select(Submission.status, Submission.claim, Submission.worker, Submission.lease_until,
                   CourseAssignment.assignment_id)
            .join(CourseAssignment).where(Submission.id == submission_id)).one_or_none()
        if row is None:
            log.info("submission %s is gone; nothing to grade", submission_id)
            return None
        status, token, worker, lease_until, assignment_id = row
        if not claimable(status, worker, lease_until, me, now):
            log.info("submission %s is %s (claimed by %s); this delivery does nothing", submission_id, status, worker)
            return None
        new_token = uuid.uuid4().hex
        taken = session.execute(
            update(Submission)
            .where(Submission.id == submission_id, Submission.status == status,
                   Submission.claim.is_(None) if token is None else Submission.claim == token)
            .values(status=SubmissionStatus.running, claim=new_token, worker=me, started_at=now,
                    lease_until=now + dt.timedelta(seconds=lease_s(assignment_id)),
                    attempts=Submission.attempts + 1)).rowcount
        if taken != 1:
            session.rollback()
            return None
        filename, content, attempts = session.execute(
            select(Submission.filename, Submission.content, Submission.attempts)
            .where(Submission.id == submission_id)).one()
        session.execute(insert(SubmissionEvent).values(submission_id=submission_id, kind="running", created_at=now,
                                                       data={"status": "running", "attempt": attempts}))
        without_flush_wait(session)  # a claim lost in a crash leaves the submission queued: graded later
        session.commit()
    return Claim(submission_id, new_token, assignment_id, filename, content, attempts)


def _holding(claimed: Claim):
    return (Submission.id == claimed.submission_id, Submission.claim == claimed.token,
            Submission.status == SubmissionStatus.running)


def record(sessions: sessionmaker[Session], claimed: Claim, result: GradeResult, grading_s: float,
           score: float | None) -> bool:
    """Store the result if this delivery still holds the claim; False if it lost it."""
    now = utcnow()
    with sessions() as session:
        stored = session.execute(update(Submission).where(*_holding(claimed)).values(
            status=result.status, score=score, max_score=result.max_score,
            result=result.model_dump(mode="json"), finished_at=now, grading_s=round(grading_s, 4), claim=None,
            lease_until=None)).rowcount
        if stored != 1:
            session.rollback()
            log.warning("submission %s: claim lost (regraded or taken over); result discarded", claimed.submission_id)
            return False
        answers.remember(session, claimed.submission_id, result)
        session.execute(insert(SubmissionEvent).values(
            submission_id=claimed.submission_id, kind="done", created_at=now,
            data={"status": result.status.value, "score": score, "max_score": result.max_score,
                  "pending_max_score": result.pending_max_score}))
        session.commit()
    return True


def release(sessions: sessionmaker[Session], claimed: Claim) -> None:
    """Give the submission back to the queue (its retry message is on its way)."""
    with sessions() as session:
        session.execute(update(Submission).where(*_holding(claimed)).values(
            status=SubmissionStatus.queued, claim=None, worker=None, lease_until=None, enqueued_at=utcnow()))
        session.commit()


class ProgressWriter:
    """The engine's on_progress callback: one ``check`` event per finished check."""

    def __init__(self, sessions: sessionmaker[Session], submission_id: int, total: int):
        self.sessions = sessions
        self.submission_id = submission_id
        self.total = total
        self.index = 0

    def __call__(self, test: TestResult) -> None:
        self.index += 1
        data = {"index": self.index, "total": self.total, **test.model_dump(mode="json", exclude={"detail"})}
        with self.sessions() as session:
            without_flush_wait(session)
            session.execute(insert(SubmissionEvent).values(submission_id=self.submission_id, kind="check",
                                                           data=data, created_at=utcnow()))
            session.commit()


def lease_seconds(grader: Grader, settings: Settings):
    def lease_s(assignment_id: str) -> float:
        wall_s = grader.catalog.get(assignment_id).manifest.limits.wall_s
        return min(wall_s, settings.max_wall_s) + settings.lease_grace_s
    return lease_s


def grade(sessions: sessionmaker[Session], grader: Grader, settings: Settings, submission_id: int) -> str:
    """Grade one submission; returns what happened.  Raises GraderFault (to be retried) when
    the engine reports a fault of its own and attempts remain."""
    claimed = claim(sessions, submission_id, lease_seconds(grader, settings), identity())
    if claimed is None:
        return "skipped"
    if claimed.attempts > settings.max_deliveries:
        return _give_up(sessions, grader, claimed, f"gave up after {claimed.attempts - 1} grading attempts")
    started = time.monotonic()
    total = len(grader.catalog.get(claimed.assignment_id).manifest.checks)
    result = grader.grade(claimed.assignment_id, claimed.filename, claimed.content,
                          on_progress=ProgressWriter(sessions, submission_id, total))
    if result.status == SubmissionStatus.internal_error:
        if claimed.attempts >= settings.max_deliveries:
            return _give_up(sessions, grader, claimed, result.message)
        release(sessions, claimed)
        raise GraderFault(f"submission {submission_id}: {result.message}")
    return "recorded" if record(sessions, claimed, result, time.monotonic() - started, result.score) else "discarded"


def _give_up(sessions, grader: Grader, claimed: Claim, why: str) -> str:
    """Final internal_error, without a score: an instructor regrades once the fault is fixed."""
    manifest = grader.catalog.get(claimed.assignment_id).manifest
    log.error("submission %s: giving up: %s", claimed.submission_id, why)
    result = GradeResult(assignment=claimed.assignment_id, submission=claimed.filename,
                         status=SubmissionStatus.internal_error, max_score=manifest.max_score,
                         pending_max_score=sum(w.points for w in manifest.written),
                         message=f"grading failed because of a grader fault, not your code ({why}); your instructor "
                                 f"will regrade it")
    return "gave_up" if record(sessions, claimed, result, 0.0, None) else "discarded"
