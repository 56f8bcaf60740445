"""Progress events: the worker writes them, the event stream replays them with visibility
applied.  ``Streams`` holds the API process's open streams: how many (capped per user and in
all), the notifier that wakes them and the few threads their reads share."""

from __future__ import annotations

import collections
import dataclasses
import random

import anyio

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.services import courses, submissions
from core import events
from core.db import utcnow
from core.errors import ServiceError
from core.i18n import _
from core.notify import Notifier
from core.settings import Settings
from core.models import Submission, SubmissionEvent, User
from grader.i18n import Message
from grader.status import SubmissionStatus, Visibility


def revealed_to(session: Session, settings: Settings, user: User, submission_id: int) -> set[Visibility] | None:
    """What the viewer may see of a submission's checks: None (an instructor) for everything."""
    submission = submissions.get_for(session, user, submission_id)
    offered = submission.course_assignment
    if courses.sees_all(session, user, offered.course_id):
        return None
    revealed = {Visibility.visible} | ({Visibility.hidden} if offered.results_released else set())
    if courses.deadline_for(session, settings, offered, submission.user_id).passed(utcnow()):
        revealed.add(Visibility.after_due_date)
    return revealed


def poll(session: Session, submission_id: int, after_id: int) -> tuple[SubmissionStatus | None, list[Progress]]:
    """The submission's status (None: it is gone) and the events after ``after_id``."""
    status = session.scalar(select(Submission.status).where(Submission.id == submission_id))
    return status, events_after(session, submission_id, after_id)


@dataclasses.dataclass(frozen=True)
class Progress:
    id: int
    event: events.Running | events.Check | events.Done


def events_after(session: Session, submission_id: int, after_id: int) -> list[Progress]:
    rows = session.execute(select(SubmissionEvent.id, SubmissionEvent.kind, SubmissionEvent.data)
                           .where(SubmissionEvent.submission_id == submission_id, SubmissionEvent.id > after_id)
                           .order_by(SubmissionEvent.id))
    return [Progress(event_id, events.stored(kind, data)) for event_id, kind, data in rows]


# ---------------------------------------------------------------------- open streams
RETRY_AFTER_S = 10


class TooManyStreams(ServiceError):
    status_code, code = 429, "too_many_streams"

    def __init__(self, message: Message, code: str):
        super().__init__(message, code=code, headers={"Retry-After": str(RETRY_AFTER_S)})


class Lease:
    """One open stream's place; ``close`` (any number of times) gives it back."""

    def __init__(self, streams: Streams, user_id: int):
        self.streams = streams
        self.user_id = user_id
        self.open = True

    def close(self) -> None:
        if self.open:
            self.open = False
            self.streams.closed(self.user_id)


class Streams:
    """The progress streams of this API process (used from the event loop only)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], notifier: Notifier):
        self.sessions = sessions
        self.notifier = notifier
        self.recheck_s = settings.sse_recheck_s
        self.max_per_user = settings.sse_max_streams_per_user
        self.max_total = settings.sse_max_streams
        self.by_user: collections.Counter[int] = collections.Counter()
        self.open = 0  # an int: /metrics reads it from another thread
        self.refused: collections.Counter[str] = collections.Counter()
        self.reads = anyio.CapacityLimiter(settings.sse_read_threads)

    def admit(self, user_id: int) -> Lease:
        """A place for one more stream of the user, or ``TooManyStreams``."""
        if self.by_user[user_id] >= self.max_per_user:
            self.refused["user"] += 1
            raise TooManyStreams(_("you have {count} progress streams open, the most one person may hold; close one "
                                   "and try again", count=self.by_user[user_id]), code="too_many_streams")
        if self.open >= self.max_total:
            self.refused["total"] += 1
            raise TooManyStreams(_("the server holds {count} progress streams, all it allows; try again shortly (GET "
                                   "/submissions/ID also says how the submission stands)", count=self.open),
                                 code="streams_full")
        self.by_user[user_id] += 1
        self.open += 1
        return Lease(self, user_id)

    def recheck_after(self) -> float:
        """``sse_recheck_s``, give or take a quarter: streams opened together do not all read at once."""
        return self.recheck_s * random.uniform(0.75, 1.25)

    def closed(self, user_id: int) -> None:
        self.open -= 1
        self.by_user[user_id] -= 1
        if self.by_user[user_id] <= 0:
            del self.by_user[user_id]

    async def in_thread(self, function, *args):
        """``function(*args)`` in one of the streams' own threads, never one that serves other requests."""
        return await anyio.to_thread.run_sync(function, *args, limiter=self.reads)

    async def poll(self, submission_id: int, after_id: int) -> tuple[SubmissionStatus | None, list[Progress]]:
        return await self.in_thread(self._poll, submission_id, after_id)

    def _poll(self, submission_id: int, after_id: int) -> tuple[SubmissionStatus | None, list[Progress]]:
        with self.sessions() as session:
            return poll(session, submission_id, after_id)
