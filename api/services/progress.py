"""Progress events: the worker writes them, the event stream replays them with visibility applied."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import courses, submissions
from core import events
from core.db import utcnow
from core.models import Submission, SubmissionEvent, User
from grader.status import SubmissionStatus, Visibility


def revealed_to(session: Session, user: User, submission_id: int) -> set[Visibility] | None:
    """What the viewer may see of a submission's checks: None (an instructor) for everything."""
    submission = submissions.get_for(session, user, submission_id)
    offered = submission.course_assignment
    if courses.sees_all(session, user, offered.course_id):
        return None
    revealed = {Visibility.visible} | ({Visibility.hidden} if offered.results_released else set())
    if courses.deadline_for(session, offered, submission.user_id).passed(utcnow()):
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
