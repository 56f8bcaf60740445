"""One submission: its result, its live progress, its code, regrading and written scores."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response, status
from sse_starlette.sse import EventSourceResponse

from api.deps import (CatalogDep, CredentialDep, CurrentUser, EnqueuerDep, LanguageDep, SessionDep, SettingsDep,
                      current_user, optional_user)
from api.errors import language
from api.routers import errors, json_errors
from api.schemas import MAX_ID, RegradeAccepted, SubmissionDetail, SubmissionPublic, WrittenScoreIn, WrittenScorePublic
from api.services import courses, gradebook, lti, progress, submissions
from core import events as progress_events
from core import rules
from grader.status import SubmissionStatus

router = APIRouter(prefix="/submissions", tags=["submissions"])


@router.get("/{submission_id}", response_model=SubmissionDetail | SubmissionPublic, responses=errors(404))
def get_submission(submission_id: int, session: SessionDep, settings: SettingsDep, catalog: CatalogDep,
                   user: CurrentUser, language: LanguageDep) -> dict:
    """Status and result.  Students see their own, with hidden checks aggregated until the
    instructor releases results; instructors see everything (SubmissionDetail), and whether
    the pack changed since it was graded.  ``waiting`` says why a queued submission is not
    graded when no worker consumes its queue."""
    submission = submissions.get_for(session, user, submission_id)
    instructor = courses.sees_all(session, user, submission.course_assignment.course_id)
    shown = submissions.view(session, settings, catalog, submission, instructor=instructor, language=language,
                             stale_s=settings.worker_stale_s)
    return SubmissionDetail(**shown, **gradebook.pack_flags(catalog, submission)) if instructor \
        else SubmissionPublic(**shown)


@router.get("/{submission_id}/events", responses={
    **json_errors(404, 429), 200: {"content": {"text/event-stream": {}}, "description":
                              "server-sent events: queued, running, check (one per check), done"}})
async def events(submission_id: int, request: Request, credential: CredentialDep, settings: SettingsDep,
                 last_event_id: Annotated[int | None, Header(ge=0, le=MAX_ID, description="resume after this event")]
                 = None):
    """A live progress stream.  Ends with the ``done`` event.  429 (with Retry-After) when the
    caller, or the server in all, holds as many streams as allowed."""
    streams: progress.Streams = request.app.state.streams
    # The caller and what it may see, in one short session in one of the streams' own threads: a
    # flood of streams never takes the threads or the connections that serve other requests.
    user_id, revealed = await streams.in_thread(_viewer, request, settings, credential, submission_id)
    lease = streams.admit(user_id)
    return LeasedStream(_stream(streams, submission_id, revealed, last_event_id or 0, language(request)), lease,
                        ping=15)


def _viewer(request: Request, settings, credential: str | None, submission_id: int) -> tuple[int, set | None]:
    with request.app.state.sessions() as session:
        user = current_user(credential, optional_user(request, session, settings, credential))
        return user.id, progress.revealed_to(session, settings, user, submission_id)


class LeasedStream(EventSourceResponse):
    """An event stream that gives its place back however it ends: done, the client gone (even
    before the first byte), a failed send, the server shutting down."""

    def __init__(self, content, lease: progress.Lease, **options):
        super().__init__(content, **options)
        self.lease = lease

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.lease.close()


async def _stream(streams: progress.Streams, submission_id: int, revealed, after: int, viewer_language: str):
    """Reads when the notifier wakes it (or every ``sse_recheck_s``); waiting holds no thread and
    no connection.  sse-starlette cancels it the moment the client disconnects."""
    announced_queued = False
    with streams.notifier.watching(submission_id) as wake:
        while True:
            state, found = await streams.poll(submission_id, after)
            if state is None:
                return
            if state == SubmissionStatus.queued and not found and not announced_queued:
                announced_queued = True
                yield _sse(progress_events.Queued())
            for each in found:
                after = each.id
                yield _sse(progress_events.shown(each.event, revealed, viewer_language), each.id)
                if isinstance(each.event, progress_events.Done):
                    return
            if state.final and not found:
                yield _sse(progress_events.Done(status=state))
                return
            await wake.wait(streams.recheck_after())


def _sse(event, event_id: int | None = None) -> dict:
    message = {"event": event.kind, "data": json.dumps(progress_events.payload(event))}
    if event_id is not None:
        message["id"] = str(event_id)
    return message


@router.get("/{submission_id}/code", responses={
    **json_errors(403, 404), 200: {"content": {"application/octet-stream": {}}, "description": "the file as uploaded"}})
def code(submission_id: int, session: SessionDep, user: CurrentUser) -> Response:
    """The uploaded file, byte for byte (its student or an instructor)."""
    submission = submissions.get_for(session, user, submission_id)
    return Response(submission.content, media_type="application/octet-stream",
                    headers={"Content-Disposition": attachment(submission.filename)})


def attachment(filename: str) -> str:
    """A Content-Disposition for any file name: RFC 6266's ``filename*`` (UTF-8, percent-encoded)
    when the name is not plain ASCII, e.g. 作业1.py, which a header cannot carry as it is."""
    quoted = quote(filename)
    return f'attachment; filename="{filename}"' if quoted == filename else f"attachment; filename*=utf-8''{quoted}"


@router.post("/{submission_id}/regrade", status_code=status.HTTP_202_ACCEPTED, response_model=RegradeAccepted,
             responses=errors(403, 404), tags=["instructors"])
def regrade(submission_id: int, session: SessionDep, enqueuer: EnqueuerDep, user: CurrentUser) -> dict:
    submission = submissions.for_staff(session, user, submission_id, rules.Right.grade)
    return {"submissions": submissions.regrade(session, enqueuer, [submission], user, f"#{submission.id}")}


@router.put("/{submission_id}/written/{name}", response_model=WrittenScorePublic, responses=errors(400, 403, 404),
            tags=["instructors"])
def score_written(submission_id: int, name: str, body: WrittenScoreIn, session: SessionDep, catalog: CatalogDep,
                  enqueuer: EnqueuerDep, user: CurrentUser) -> dict:
    """Score the student's current written answer ``name`` (status ``pending``), whichever of their
    uploads for the assignment carried it, with a comment for the student.  The score stays with
    that text: a changed answer is pending again.  A student who came from an LMS has the new
    grade sent to it."""
    submission = submissions.for_staff(session, user, submission_id, rules.Right.grade)
    entry = submissions.score_written(session, catalog, user, submission, name, body.score, body.comment)
    lti.after_recorded(session, enqueuer, submission_id)
    return {"submission": submission_id, "name": name, "score": entry.score, "comment": entry.comment,
            "scored_by": user.name, "scored_at": entry.scored_at, "answer_sha256": entry.answer_sha256}
