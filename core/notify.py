"""Wake-ups for progress streams: one notifier per API process tells the streams waiting on a
submission that an event of it was stored, so that a waiting stream costs no query, no thread
and no database connection.

- PostgreSQL: ``core.lifecycle`` adds ``pg_notify`` to the transaction that stores an event
  (``notify_stored``: delivered at commit, never for a rollback); the notifier LISTENs on one
  connection of its own and wakes the streams of the submission named.
- SQLite (no notifications): one poller asks, every ``sse_poll_s``, how many events each
  watched submission has, for all of them in one query, and wakes those whose count changed.

A wake-up that is lost (the listening connection dropped, the poller's query failed) only delays
a stream: every stream also looks again every ``sse_recheck_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator

import anyio
import psycopg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_factory, sqlalchemy_url
from core.models import SubmissionEvent

log = logging.getLogger(__name__)

CHANNEL = "torchgrade_events"
# The payload names the schema too: databases shared by several schemas (tests, benchmarks)
# share the channel.
NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', current_schema() || ' ' || CAST(:submission AS text))")
RECONNECT_S = 1.0


def notify_stored(session: Session, submission_id: int) -> None:
    """In the transaction that stores an event of the submission: wake its streams at commit
    (PostgreSQL; the SQLite poller needs no word)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(NOTIFY, {"submission": submission_id})


class Wake:
    """One stream's wake-up call."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def pending(self) -> bool:
        """Woken, and not yet waited for."""
        return self._event.is_set()

    async def wait(self, timeout_s: float) -> bool:
        """Until woken (True) or for ``timeout_s`` (False); either way the call is answered."""
        with anyio.move_on_after(timeout_s):
            await self._event.wait()
        woken = self._event.is_set()
        self._event.clear()
        return woken


class Notifier:
    """The submissions streams wait on, and their wake-ups (used from the event loop only)."""

    def __init__(self) -> None:
        self._waiting: dict[int, set[Wake]] = {}
        self._task: asyncio.Task | None = None

    @contextlib.contextmanager
    def watching(self, submission_id: int) -> Iterator[Wake]:
        wake = Wake()
        self._waiting.setdefault(submission_id, set()).add(wake)
        try:
            yield wake
        finally:
            waiting = self._waiting[submission_id]
            waiting.discard(wake)
            if not waiting:
                del self._waiting[submission_id]

    def watched(self) -> list[int]:
        return list(self._waiting)

    def wake(self, submission_ids: Iterable[int]) -> None:
        for submission_id in submission_ids:
            for wake in self._waiting.get(submission_id, ()):
                wake.set()

    def wake_all(self) -> None:
        self.wake(self.watched())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=type(self).__name__)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError


class PostgresNotifier(Notifier):
    """LISTEN on one connection; reconnects (waking every stream: notifications sent meanwhile
    are lost) when the connection drops."""

    def __init__(self, libpq_url: str, reconnect_s: float = RECONNECT_S):
        super().__init__()
        self.url = libpq_url
        self.reconnect_s = reconnect_s
        self.listening = asyncio.Event()
        self.backend_pid: int | None = None

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as error:
                log.warning("progress notifications: %s; streams fall back to their re-check until reconnected",
                            error)
            except Exception:  # a bug here must not end the notifier: streams would wait for their re-check
                log.exception("progress notifications failed; listening again")
            self.listening.clear()
            await asyncio.sleep(self.reconnect_s)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as connection:
            schema = (await (await connection.execute("SELECT current_schema()")).fetchone())[0]
            self.backend_pid = connection.info.backend_pid
            await connection.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self.wake_all()
            async for note in connection.notifies():
                in_schema, _, submission = note.payload.rpartition(" ")
                if in_schema == schema and submission.isdigit():
                    self.wake([int(submission)])


class PollingNotifier(Notifier):
    """One query per ``interval_s`` for every watched submission: (count, last id) of its events."""

    def __init__(self, sessions: sessionmaker[Session], interval_s: float):
        super().__init__()
        self.sessions = sessions
        self.interval_s = interval_s
        self.seen: dict[int, tuple[int, int]] = {}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.poll()
            except Exception:  # a bug here must not end the poller: streams would wait for their re-check
                log.exception("progress poller failed; polling again")

    async def poll(self) -> None:
        watched = self.watched()
        if not watched:
            self.seen = {}
            return
        try:
            latest = await anyio.to_thread.run_sync(self._latest, watched)
        except SQLAlchemyError as error:
            log.warning("progress poller: %s", error)
            return
        changed = [each for each in watched if latest.get(each) != self.seen.get(each)]
        self.seen = latest
        self.wake(changed)

    def _latest(self, submission_ids: list[int]) -> dict[int, tuple[int, int]]:
        with self.sessions() as session:
            rows = session.execute(select(SubmissionEvent.submission_id, func.count(), func.max(SubmissionEvent.id))
                                   .where(SubmissionEvent.submission_id.in_(submission_ids))
                                   .group_by(SubmissionEvent.submission_id))
            return {submission_id: (count, last) for submission_id, count, last in rows}


def notifier_for(database_url: str, poll_s: float) -> Notifier:
    url = make_url(sqlalchemy_url(database_url))
    if url.get_backend_name() == "postgresql":
        return PostgresNotifier(url.set(drivername="postgresql").render_as_string(hide_password=False))
    return PollingNotifier(session_factory(database_url), poll_s)
