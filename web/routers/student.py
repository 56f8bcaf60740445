"""The student's pages: their assignments, one assignment (statement, starter, upload, history),
one submission (live progress, each check's result and feedback), and the difference between two
of their submissions.  Every decision is the service's: ``api.services`` and ``core``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import CatalogDep, SessionDep, SettingsDep, SubmitBatcherDep
from api.routers.assignments import submitting_caller
from api.services import assignments, courses, submissions
from core import clock
from core.db import utcnow
from core.errors import InvalidSubmission, NotFound, ServiceError
from core.i18n import _
from core.models import CourseAssignment, Submission, User
from core.settings import Settings
from grader.assignments import Catalog
from grader.i18n import render
from grader.status import SubmissionStatus
from grader.submission import upload_cap
from web import diff, markdown, nav
from web.pages import PageUser
from web.templating import page

router = APIRouter(include_in_schema=False)
CourseQuery = Annotated[str | None, Query(max_length=64)]
nav.add(nav.Link(_("My assignments"), lambda user: "/", section="/assignments"))
NO_FILE = _("choose a file to upload first (.py, .ipynb, .zip or .md)")


# ---------------------------------------------------------------------- the assignments
@router.get("/")
def home(request: Request, session: SessionDep, catalog: CatalogDep, settings: SettingsDep, user: PageUser) -> Response:
    now = utcnow()
    rows = [_row(session, catalog, settings, user, offered, now)
            for offered in assignments.offered_to_user(session, catalog, user)]
    staff = [m.course for m in user.memberships if courses.sees_all(session, user, m.course_id)]
    return page(request, "student/home.html", {"rows": rows, "staff_courses": staff})


def _row(session: Session, catalog: Catalog, settings: Settings, user: User, offered: CourseAssignment, now) -> dict:
    zone = courses.zone_of(offered.course, settings)
    return {**assignments.overview(session, settings, catalog, user, offered),
            **assignments.standing(session, settings, user, offered, now), "time_zone": zone.key}


@router.get("/assignments/{assignment_id}")
def assignment(request: Request, assignment_id: str, session: SessionDep, catalog: CatalogDep, settings: SettingsDep,
               user: PageUser, course: CourseQuery = None) -> Response:
    return page(request, "student/assignment.html",
                assignment_context(session, catalog, settings, user, assignment_id, course, request.state.language))


def assignment_context(session: Session, catalog: Catalog, settings: Settings, user: User, assignment_id: str,
                       course: str | None, language: str, error: str | None = None) -> dict:
    offered = courses.offered_to(session, user, assignment_id, course)
    zone = courses.zone_of(offered.course, settings)
    history = submissions.summaries(session, catalog, submissions.list_own(session, user, offered))
    for each in history:
        each["submitted_at"] = clock.shown(each["submitted_at"], zone)
    query = f"?course={offered.course.slug}"
    return {"a": _row(session, catalog, settings, user, offered, utcnow()), "history": history, "error": error,
            "statement": markdown.to_html(catalog.get(offered.assignment_id).statement(language)),
            "starter_url": f"/api/v1/assignments/{offered.assignment_id}/starter{query}",
            "submit_url": f"/assignments/{offered.assignment_id}/submissions{query}", "course_query": query,
            "accept": ".py,.ipynb,.zip,.md"}


@router.post("/assignments/{assignment_id}/submissions")
async def submit(request: Request, assignment_id: str, session: SessionDep, settings: SettingsDep,
                 batcher: SubmitBatcherDep,
                 catalog: CatalogDep, user: PageUser,
                 caller: Annotated[submissions.Caller, Depends(submitting_caller)],
                 file: Annotated[UploadFile | None, File()] = None, course: CourseQuery = None) -> Response:
    """The upload form (its CSRF token is checked by ``submitting_caller``'s credential): the same
    ``submissions.submit`` as the API; a refusal is shown on the assignment's page."""
    try:
        if file is None or not file.filename:
            raise InvalidSubmission(NO_FILE, code="missing_file")
        content = await file.read(upload_cap(file.filename, settings.max_upload_kb << 10,
                                             settings.max_notebook_kb << 10) + 1)
        accepted = await submissions.submit(batcher, settings, catalog, caller.user_id, caller.target(), file.filename,
                                            content)
    except ServiceError as exc:
        language = request.state.language
        context = await run_in_threadpool(assignment_context, session, catalog, settings, user, assignment_id, course,
                                          language, render(exc.message, language))
        return page(request, "student/assignment.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/submissions/{accepted.id}", status_code=303)


# ---------------------------------------------------------------------- one submission
@router.get("/submissions/{submission_id}")
def submission(request: Request, submission_id: int, session: SessionDep, catalog: CatalogDep, settings: SettingsDep,
               user: PageUser) -> Response:
    return page(request, "student/submission.html",
                submission_context(session, catalog, settings, user, submission_id, request.state.language))


@router.get("/submissions/{submission_id}/result")
def submission_result(request: Request, submission_id: int, session: SessionDep, catalog: CatalogDep,
                      settings: SettingsDep, user: PageUser) -> Response:
    """The result part of the submission's page, reloaded as its progress events arrive."""
    return page(request, "student/_result.html",
                submission_context(session, catalog, settings, user, submission_id, request.state.language))


def submission_context(session: Session, catalog: Catalog, settings: Settings, user: User, submission_id: int,
                       language: str) -> dict:
    found = submissions.get_for(session, user, submission_id)
    offered = found.course_assignment
    zone = courses.zone_of(offered.course, settings)
    staff = courses.sees_all(session, user, offered.course_id)
    shown = submissions.view(session, settings, catalog, found, instructor=staff, language=language)
    for moment in ("submitted_at", "started_at", "finished_at"):
        shown[moment] = clock.shown(shown[moment], zone)
    return {"s": shown, "final": SubmissionStatus(found.status).final, "time_zone": zone.key,
            "title": _title(catalog, offered, language), "course_query": f"?course={offered.course.slug}",
            "code": diff.sources(found.filename, found.content),
            "own": found.user_id == user.id, "author": found.user,  # staff read other students' work
            "events_url": f"/api/v1/submissions/{found.id}/events", "fragment_url": f"/submissions/{found.id}/result"}


def _title(catalog: Catalog, offered: CourseAssignment, language: str) -> str:
    title = catalog.get(offered.assignment_id).manifest.title
    return title.zh if language == "zh" else title.en


# ---------------------------------------------------------------------- two submissions
@router.get("/assignments/{assignment_id}/diff")
def difference(request: Request, assignment_id: str, session: SessionDep, settings: SettingsDep, user: PageUser,
               a: Annotated[int, Query(ge=1, le=2**31 - 1)], b: Annotated[int, Query(ge=1, le=2**31 - 1)],
               course: CourseQuery = None) -> Response:
    older, newer = sorted((submissions.get_for(session, user, a), submissions.get_for(session, user, b)),
                          key=lambda s: s.id)
    if {older.course_assignment.assignment_id, newer.course_assignment.assignment_id} != {assignment_id}:
        raise NotFound(_("submissions {a} and {b} are not both of {assignment}", a=a, b=b, assignment=assignment_id),
                       code="submission_not_found")
    zone = courses.zone_of(older.course_assignment.course, settings)
    return page(request, "student/diff.html", {
        "assignment_id": assignment_id, "older": _brief(older, zone), "newer": _brief(newer, zone),
        "lines": diff.of_submissions(older, newer), "course_query": f"?course={older.course_assignment.course.slug}"})


def _brief(found: Submission, zone) -> dict:
    return {"id": found.id, "filename": found.filename, "submitted_at": clock.shown(found.created_at, zone)}
