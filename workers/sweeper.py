"""The sweeper: nothing accepted is ever lost.  It queues submissions that were stored but
never queued (the broker was down), that waited too long (their message was lost with the
broker's data), and that are running on a lease that ran out (their worker died)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from core import lifecycle
from core.settings import Settings

log = logging.getLogger(__name__)


def sweep(sessions: sessionmaker[Session], enqueuer, settings: Settings) -> list[int]:
    """One pass (``core.lifecycle.requeue_overdue``); the ids queued."""
    sent = lifecycle.requeue_overdue(sessions, enqueuer, settings)
    if sent:
        log.info("sweeper queued %d submission(s): %s", len(sent), sent)
    return sent


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
