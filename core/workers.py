"""Which grading workers are alive, and which queues nobody consumes.

Each worker's main process writes its row in ``workers`` on a timer (``beat``; the heartbeat
thread in workers/heartbeat.py) and deletes it on a warm shutdown (``forget``).  A worker is
live while its row is younger than ``worker_stale_s``; a killed worker's row goes stale and is
deleted by the next worker that beats.  The database is the source of truth, as it is for the
submissions: the API, ``/readyz`` and ``/metrics`` read it without asking the broker (Celery's
``inspect`` is a broadcast the embedded SQLite transport cannot carry, and would cost every
reader a round trip to every worker).

Its pool processes add what only they know: the sandbox layers their sandbox lacks, and their
grader faults and sandbox failures (counters read by /metrics)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.i18n import _
from core.models import CourseAssignment, Worker
from grader.assignments import Catalog, UnknownAssignment
from grader.i18n import Message

STALE_ROWS_KEPT_S = 24 * 3600  # a dead worker's row is shown as down on /metrics for a day, then deleted


def _row(session: Session, name: str, now: dt.datetime) -> Worker:
    """The worker's row, inserted if need be (its main process and its pool processes may
    insert it at the same moment: the loser reads the winner's)."""
    row = session.get(Worker, name)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = Worker(name=name, queues="", started_at=now, last_seen=now, missing_layers={}, grader_faults=0,
                         sandbox_failures=0)
            session.add(row)
        return row
    except IntegrityError:
        return session.get(Worker, name, populate_existing=True)


def beat(session: Session, name: str, queues: Iterable[str], now: dt.datetime | None = None) -> None:
    """This worker is alive and consumes ``queues`` (inserts or refreshes its row)."""
    now = now or utcnow()
    row = _row(session, name, now)
    row.queues, row.last_seen = ",".join(sorted(queues)), now
    session.execute(delete(Worker).where(Worker.last_seen < now - dt.timedelta(seconds=STALE_ROWS_KEPT_S)))
    session.commit()


def forget(session: Session, name: str) -> None:
    """This worker stops: its queues lose a consumer now, not when its row goes stale."""
    session.execute(delete(Worker).where(Worker.name == name))
    session.commit()


def report_layers(session: Session, name: str, missing: dict[str, str]) -> None:
    """A pool process's sandbox lacks these layers (the last pool process to start says); it
    may say so before its main process's first beat."""
    _row(session, name, utcnow()).missing_layers = dict(missing)
    session.commit()


def count_fault(session: Session, name: str, *, sandbox: bool = False) -> None:
    """One grader fault (``sandbox``: a sandbox that failed to start) in this worker."""
    column = Worker.sandbox_failures if sandbox else Worker.grader_faults
    session.execute(update(Worker).where(Worker.name == name).values({column: column + 1}))
    session.commit()


def is_live(row: Worker, stale_s: float, now: dt.datetime | None = None) -> bool:
    return row.last_seen >= (now or utcnow()) - dt.timedelta(seconds=stale_s)


def all_workers(session: Session) -> list[Worker]:
    return list(session.scalars(select(Worker).order_by(Worker.name)))


def live_queues(session: Session, stale_s: float, now: dt.datetime | None = None) -> set[str]:
    """Every queue some live worker consumes."""
    since = (now or utcnow()) - dt.timedelta(seconds=stale_s)
    rows = session.scalars(select(Worker.queues).where(Worker.last_seen >= since))
    return {queue for queues in rows for queue in queues.split(",") if queue}


def offered_queues(session: Session, catalog: Catalog) -> dict[str, set[str]]:
    """queue -> the assignments offered in some course that are graded on it."""
    needed: dict[str, set[str]] = {}
    for assignment_id in session.scalars(select(CourseAssignment.assignment_id).distinct()):
        try:
            queue = catalog.get(assignment_id).manifest.queue
        except UnknownAssignment:  # its pack is gone: nothing can grade it anywhere
            continue
        needed.setdefault(queue, set()).add(assignment_id)
    return needed


def waiting_message(queue: str) -> Message:
    """What a submission waiting on a queue nobody consumes says."""
    return _("waiting: no {queue} worker is running", queue=queue.upper())


@dataclasses.dataclass(frozen=True)
class Unserved:
    """A queue that offered assignments use and no live worker consumes."""

    queue: str
    assignments: tuple[str, ...]

    @property
    def message(self) -> Message:
        return _("no {queue} worker is running: submissions to {assignments} wait until one starts "
                 "(torchgrade worker --queues {name})", queue=self.queue.upper(),
                 assignments=", ".join(self.assignments), name=self.queue)


def unserved(session: Session, catalog: Catalog, stale_s: float, only: Iterable[str] | None = None) -> list[Unserved]:
    """The queues offered assignments use that no live worker consumes (of ``only``, when given:
    a course's assignments)."""
    live = live_queues(session, stale_s)
    wanted = None if only is None else set(only)
    found = []
    for queue, assignments in sorted(offered_queues(session, catalog).items()):
        mine = sorted(a for a in assignments if wanted is None or a in wanted)
        if mine and queue not in live:
            found.append(Unserved(queue, tuple(mine)))
    return found
