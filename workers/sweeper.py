"""The sweeper: nothing accepted is ever lost.  It queues submissions that were stored but
never queued (the broker was down), that waited too long (their message was lost with the
broker's data), and that are running on a lease that ran out (their worker died)."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import utcnow
from core.models import Submission
from core.queueing import BrokerUnavailable
from core.settings import Settings
from grader.status import SubmissionStatus

log = logging.getLogger(__name__)


def overdue(settings: Settings, now: dt.datetime):
    queued = Submission.status == SubmissionStatus.queued
    never_sent = and_(queued, Submission.enqueued_at.is_(None),
                      Submission.created_at < now - dt.timedelta(seconds=settings.sweep_grace_s))
    sent_long_ago = and_(queued, Submission.enqueued_at < now - dt.timedelta(seconds=settings.stale_queued_s))
    abandoned = and_(Submission.status == SubmissionStatus.running, Submission.lease_until < now)
    return or_(never_sent, sent_long_ago, abandoned)


def sweep(sessions: sessionmaker[Session], enqueuer, settings: Settings) -> list[int]:
    """One pass; returns the ids queued.  Stops at the first broker failure (next pass retries)."""
    now = utcnow()
    sent = []
    with sessions() as session:
        rows = session.execute(select(Submission.id, Submission.status, Submission.claim, Submission.enqueued_at,
                                      Submission.queue).where(overdue(settings, now)).order_by(Submission.id)).all()
        for submission_id, status, claim, enqueued_at, queue in rows:
            if not _requeue(session, submission_id, status, claim, enqueued_at, now):
                continue
            try:
                enqueuer.send(submission_id, queue)
            except BrokerUnavailable as exc:
                session.execute(update(Submission).where(Submission.id == submission_id,
                                                         Submission.enqueued_at == now).values(enqueued_at=None))
                session.commit()
                log.warning("sweeper: broker unavailable, will try again: %s", exc)
                break
            sent.append(submission_id)
    if sent:
        log.info("sweeper queued %d submission(s): %s", len(sent), sent)
    return sent


def _requeue(session: Session, submission_id: int, status, claim, enqueued_at, now: dt.datetime) -> bool:
    """Compare-and-set, so that two sweepers (or a worker) never act on the same row at once."""
    taken = session.execute(update(Submission).where(
        Submission.id == submission_id, Submission.status == status,
        Submission.claim.is_(None) if claim is None else Submission.claim == claim,
        Submission.enqueued_at.is_(None) if enqueued_at is None else Submission.enqueued_at == enqueued_at,
    ).values(status=SubmissionStatus.queued, claim=None, worker=None, lease_until=None, enqueued_at=now)).rowcount
    session.commit()
    return taken == 1


class SweeperThread(threading.Thread):
    def __init__(self, sessions: sessionmaker[Session], enqueuer, settings: Settings):
        super().__init__(name="torchgrade-sweeper", daemon=True)
        self.sessions = sessions
        self.enqueuer = enqueuer
        self.settings = settings
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.settings.sweep_interval_s):
            try:
                sweep(self.sessions, self.enqueuer, self.settings)
            except Exception:  # the database may be down; the next pass tries again
                log.exception("sweeper pass failed")

    def stop(self) -> None:
        self.stopping.set()
