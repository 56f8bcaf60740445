"""The worker's heartbeat: its main process writes its row in ``workers`` (core/workers.py)
every ``worker_heartbeat_s``, from the moment it consumes until its warm shutdown deletes it."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from core.workers import beat as record_beat, forget

log = logging.getLogger(__name__)

STOP_WAIT_S = 10.0  # a beat under way at shutdown may wait this long for the database


def worker_name(main_pid: int | None = None) -> str:
    """host:pid of the worker's main process (its pool processes name it by their parent)."""
    return f"{socket.gethostname()}:{main_pid or os.getpid()}"


class HeartbeatThread(threading.Thread):
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, name: str, queues: Sequence[str]):
        super().__init__(name="torchgrade-heartbeat", daemon=True)
        self.sessions = sessions
        self.settings = settings
        self.worker = name
        self.queues = list(queues)
        self.stopping = threading.Event()

    def beat(self) -> None:
        try:
            with self.sessions() as session:
                record_beat(session, self.worker, self.queues)
        except Exception:  # the database may be down: the next beat tries again
            log.exception("heartbeat failed", extra={"worker": self.worker})

    def run(self) -> None:
        while not self.stopping.wait(self.settings.worker_heartbeat_s):
            self.beat()

    def stop(self) -> None:
        """No more beats (one under way ends first), then the row goes."""
        self.stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(STOP_WAIT_S)
        try:
            with self.sessions() as session:
                forget(session, self.worker)
        except Exception:
            log.exception("could not remove this worker's heartbeat row", extra={"worker": self.worker})
