"""A submission's life, in the one module that writes its status, claim, lease and progress
events.  Nothing else updates those columns or adds events.

    stored (queued, unsent) ──publish──▶ queued ──claim──▶ running ──record──▶ graded / error / …
          ▲                                 ▲                │
          └──────── requeue (sweeper) ──────┴── release ◀────┘ (a grader fault: retried)
    reset (regrade): any state ──▶ stored, its events and result gone

- **store**: ``new_row`` gives the values of a new row; ``core.store`` inserts batches of them.
- **publish**: send each id to its queue, then mark the sent rows (``enqueued_at``), always in
  that order: a row marked but never sent would wait for the stale-queue sweep, a row sent but
  not marked is only sent twice by the sweeper, which is harmless (claims make a second
  delivery do nothing).
- **claim / record / release**: a delivery takes the row with a compare-and-set on its claim
  token, records the result only while it holds that token (exactly once), or gives it back.
- **requeue**: the sweeper's compare-and-set for rows stored but never sent, sent long ago, or
  running on a lease that ran out; then it publishes them.
- **reset**: a regrade clears the row and its events; then it is published.
- **forget deliveries**: a restored database (``core.backup``) has no broker messages and no
  live claims: queued and running rows become stored and unsent again, for the sweeper.

Progress events are typed (``core.events``): ``running`` at a claim, ``check`` per finished
check (``ProgressWriter``; the worker's ``WriteBehindProgress`` writes them from a thread, a
burst of them in one transaction, those left over with the result), ``done`` with the recorded
result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Protocol

import psycopg
from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core import answers
from core.db import utcnow, without_flush_wait
from core.events import Check, Done, Running, payload
from core.models import CourseAssignment, Submission, SubmissionEvent
from core.notify import notify_stored
from core.queueing import send_all_without_blocking, send_each
from core.settings import Settings
from grader.results import GradeResult, TestResult
from grader.status import SubmissionStatus

log = logging.getLogger(__name__)

SUBMISSIONS = Submission.__table__
# A row given back to the queue holds no claim.
BACK_IN_QUEUE = {"status": SubmissionStatus.queued, "claim": None, "worker": None, "lease_until": None}


class Enqueuer(Protocol):
    def send(self, submission_id: int, queue: str) -> None: ...


def _add_event(session: Session, submission_id: int, event: Running | Check | Done, at: dt.datetime) -> None:
    _add_events(session, submission_id, [(event, at)])


def _add_events(session: Session, submission_id: int, events: Sequence[tuple[Running | Check | Done, dt.datetime]]
                ) -> None:
    """Events of one submission in their order: one INSERT, one wake-up for its streams."""
    session.execute(insert(SubmissionEvent), [{"submission_id": submission_id, "kind": event.kind,
                                               "data": payload(event), "created_at": at} for event, at in events])
    notify_stored(session, submission_id)


# ---------------------------------------------------------------------- store
def new_row(*, course_assignment_id: int, user_id: int, filename: str, content: bytes, sha256: str, queue: str,
            max_score: float, created_at: dt.datetime) -> dict:
    """The values of a new submission (``core.store.STORED_COLUMNS``): stored, queued, unsent."""
    return {"course_assignment_id": course_assignment_id, "user_id": user_id, "filename": filename,
            "content": content, "sha256": sha256, "size": len(content), "queue": queue,
            "status": SubmissionStatus.queued.value, "created_at": created_at, "attempts": 0, "max_score": max_score}


# ---------------------------------------------------------------------- publish
# A hint for the sweeper: if lost, the submission is queued twice (harmless), so on PostgreSQL it
# does not wait for the WAL flush, in one round trip: sent as one query, SET LOCAL and the UPDATE
# run as one implicit transaction.
MARK_ENQUEUED_POSTGRES = (f"SET LOCAL synchronous_commit TO OFF; UPDATE {SUBMISSIONS.name} SET enqueued_at = %s "
                          f"WHERE id = ANY(%s) AND enqueued_at IS NULL")


def mark_enqueued(connection: Connection, submission_ids: Sequence[int]) -> None:
    """The sweeper's hint, on an autocommit connection of any database."""
    if connection.dialect.name == "postgresql":
        with psycopg.ClientCursor(connection.connection.driver_connection) as cursor:
            cursor.execute(MARK_ENQUEUED_POSTGRES, (utcnow(), list(submission_ids)))
        return
    connection.execute(update(SUBMISSIONS).where(SUBMISSIONS.c.id.in_(submission_ids),
                                                 SUBMISSIONS.c.enqueued_at.is_(None)).values(enqueued_at=utcnow()))




def publish(connection: Connection, enqueuer: Enqueuer, messages: Sequence[tuple[int, str]]) -> list[int]:
    """Send (submission id, queue) pairs, up to the first broker failure, then mark those sent
    (on an autocommit connection); the ids sent.  Unsent rows stay unmarked: the sweeper sends
    them later."""
    sent = send_each(enqueuer, messages)
    if sent:
        try:
            mark_enqueued(connection, sent)
        except (OperationalError, psycopg.OperationalError) as exc:
            _not_marked(sent, exc)
            connection.invalidate()  # dead: the next statement gets a fresh connection
            connection.rollback()
    return sent


async def publish_batch(store, enqueuer, messages: Sequence[tuple[int, str]]) -> list[int]:
    """``publish`` from the event loop, for a batch the submit path has just stored (its
    ``store`` marks them, with ``MARK_ENQUEUED_POSTGRES`` on PostgreSQL)."""
    sent = await send_all_without_blocking(enqueuer, messages) if messages else []
    if sent:
        try:
            await store.mark_enqueued(sent)
        except OperationalError as exc:
            _not_marked(sent, exc)
    return sent


def publish_from(session: Session, enqueuer: Enqueuer, messages: Sequence[tuple[int, str]]) -> list[int]:
    """``publish`` on an autocommit connection of the session's database."""
    with session.get_bind().connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        return publish(connection, enqueuer, messages)


def _not_marked(submission_ids: Sequence[int], error: Exception) -> None:
    # Stored and queued: the caller gets its 202 (an error would make the student upload it
    # again).  Without the mark the sweeper queues it once more, which is harmless.
    log.warning("submission(s) %s queued, but the database went away before they were marked so: %s",
                list(submission_ids), error)


# ---------------------------------------------------------------------- claim, record, release
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
        _add_event(session, submission_id, Running(attempt=attempts), now)
        without_flush_wait(session)  # a claim lost in a crash leaves the submission queued: graded later
        session.commit()
    return Claim(submission_id, new_token, assignment_id, filename, content, attempts)


def _holding(claimed: Claim):
    return (Submission.id == claimed.submission_id, Submission.claim == claimed.token,
            Submission.status == SubmissionStatus.running)


def record(sessions: sessionmaker[Session], claimed: Claim, result: GradeResult, grading_s: float,
           score: float | None, progress: Sequence[tuple[Check, dt.datetime]] = ()) -> bool:
    """Store the result if this delivery still holds the claim; False if it lost it.  ``progress``:
    check events not yet written (``WriteBehindProgress.close``), stored before ``done``."""
    now = utcnow()
    with sessions() as session:
        stored = session.execute(update(Submission).where(*_holding(claimed)).values(
            status=result.status, score=score, max_score=result.max_score,
            result=result.model_dump(mode="json"), finished_at=now, grading_s=round(grading_s, 4), claim=None,
            lease_until=None, pack_version=result.pack_version or None)).rowcount
        if stored != 1:
            session.rollback()
            log.warning("submission %s: claim lost (regraded or taken over); result discarded", claimed.submission_id)
            return False
        answers.remember(session, claimed.submission_id, result)
        done = Done(status=result.status, score=score, max_score=result.max_score,
                    pending_max_score=result.pending_max_score)
        _add_events(session, claimed.submission_id, [*progress, (done, now)])
        session.commit()
    return True


def release(sessions: sessionmaker[Session], claimed: Claim) -> None:
    """Give the submission back to the queue (its retry message is on its way)."""
    with sessions() as session:
        session.execute(update(Submission).where(*_holding(claimed)).values(**BACK_IN_QUEUE, enqueued_at=utcnow()))
        session.commit()


class ProgressWriter:
    """The engine's on_progress callback: one ``check`` event per finished check."""

    def __init__(self, sessions: sessionmaker[Session], submission_id: int, total: int):
        self.sessions = sessions
        self.submission_id = submission_id
        self.total = total
        self.index = 0

    def __call__(self, test: TestResult) -> None:
        self.write([self.event(test)])

    def event(self, test: TestResult) -> tuple[Check, dt.datetime]:
        self.index += 1
        return Check.of(test, self.index, self.total), utcnow()

    def write(self, events: Sequence[tuple[Check, dt.datetime]]) -> None:
        if not events:
            return
        with self.sessions() as session:
            without_flush_wait(session)
            _add_events(session, self.submission_id, events)
            session.commit()


class WriteBehindProgress(ProgressWriter):
    """The worker's progress writer: the grading never waits for the database.  Each check's
    event is handed to a thread of this writer's own, which writes what has come in, at most
    every ``interval_s``, in one transaction (one wake-up for the streams: a burst of fast
    checks is one read for them, not one each).  ``close`` stops the thread once its write in
    flight is committed and returns the events still unwritten, for ``record`` to store before
    ``done`` in its own transaction; a failed write leaves its events unwritten, for the same.
    Used as a context manager, leaving it writes whatever ``close`` was not asked for."""

    def __init__(self, sessions: sessionmaker[Session], submission_id: int, total: int, interval_s: float):
        super().__init__(sessions, submission_id, total)
        self.interval_s = interval_s
        self.pending: list[tuple[Check, dt.datetime]] = []
        self.changed = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, name=f"progress-{submission_id}", daemon=True)
        self.thread.start()

    def __call__(self, test: TestResult) -> None:
        with self.changed:
            self.pending.append(self.event(test))
            self.changed.notify()

    def close(self) -> list[tuple[Check, dt.datetime]]:
        with self.changed:
            self.closed = True
            self.changed.notify()
        self.thread.join()
        unwritten, self.pending = self.pending, []
        return unwritten

    def __enter__(self) -> "WriteBehindProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.write(self.close())

    def _run(self) -> None:
        written_at = -math.inf
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.pending or self.closed)
                self.changed.wait_for(lambda: self.closed, written_at + self.interval_s - time.monotonic())
                if self.closed:
                    return
                batch, self.pending = self.pending, []
            try:
                self.write(batch)
            except Exception:  # the database is away: these go with the result, which retries
                log.warning("submission %s: progress events not written yet", self.submission_id, exc_info=True)
                with self.changed:
                    self.pending[:0] = batch
                return
            written_at = time.monotonic()


# ---------------------------------------------------------------------- requeue (the sweeper)
def overdue(settings: Settings, now: dt.datetime):
    queued = Submission.status == SubmissionStatus.queued
    never_sent = and_(queued, Submission.enqueued_at.is_(None),
                      Submission.created_at < now - dt.timedelta(seconds=settings.sweep_grace_s))
    sent_long_ago = and_(queued, Submission.enqueued_at < now - dt.timedelta(seconds=settings.stale_queued_s))
    abandoned = and_(Submission.status == SubmissionStatus.running, Submission.lease_until < now)
    return or_(never_sent, sent_long_ago, abandoned)


def _requeue(session: Session, submission_id: int, status, claim, enqueued_at) -> bool:
    """Back to the queue, unsent: a compare-and-set, so that two sweepers (or a worker) never act
    on the same row at once."""
    taken = session.execute(update(Submission).where(
        Submission.id == submission_id, Submission.status == status,
        Submission.claim.is_(None) if claim is None else Submission.claim == claim,
        Submission.enqueued_at.is_(None) if enqueued_at is None else Submission.enqueued_at == enqueued_at,
    ).values(**BACK_IN_QUEUE, enqueued_at=None)).rowcount
    session.commit()
    return taken == 1


def requeue_overdue(sessions: sessionmaker[Session], enqueuer: Enqueuer, settings: Settings) -> list[int]:
    """One sweeper pass: requeue what is overdue, then publish it; the ids sent.  A broker
    failure leaves the rest requeued but unsent, for the next pass."""
    now = utcnow()
    with sessions() as session:
        rows = session.execute(select(Submission.id, Submission.status, Submission.claim, Submission.enqueued_at,
                                      Submission.queue).where(overdue(settings, now)).order_by(Submission.id)).all()
        taken = [(submission_id, queue) for submission_id, status, claim, enqueued_at, queue in rows
                 if _requeue(session, submission_id, status, claim, enqueued_at)]
        return publish_from(session, enqueuer, taken) if taken else []


# ---------------------------------------------------------------------- reset (regrade)
def reset(session: Session, submission_ids: Sequence[int]) -> None:
    """From scratch: no result, no events, no claim (a grading in flight loses it and its result
    is discarded), unsent.  Committed."""
    ids = list(submission_ids)
    session.execute(delete(SubmissionEvent).where(SubmissionEvent.submission_id.in_(ids)))
    session.execute(update(Submission).where(Submission.id.in_(ids)).values(
        **BACK_IN_QUEUE, score=None, result=None, started_at=None, finished_at=None, grading_s=None, attempts=0,
        enqueued_at=None, pack_version=None))
    session.commit()


# ---------------------------------------------------------------------- restore (core.backup)
def forget_deliveries(connection: Connection) -> None:
    """After a restore, in its transaction: no message of the old broker will come and no
    worker holds a claim, so queued and running submissions go back to stored, unsent (the
    sweeper sends them); their running event stays, a new one comes with the next claim."""
    in_flight = SUBMISSIONS.c.status.in_([SubmissionStatus.queued, SubmissionStatus.running])
    connection.execute(update(SUBMISSIONS).where(in_flight).values(**BACK_IN_QUEUE, enqueued_at=None))


def regrade(session: Session, enqueuer: Enqueuer, messages: Sequence[tuple[int, str]]) -> list[int]:
    """Reset (submission id, queue) pairs, then publish them; the ids reset."""
    ids = [submission_id for submission_id, _ in messages]
    if ids:
        reset(session, ids)
        publish_from(session, enqueuer, messages)
    return ids
