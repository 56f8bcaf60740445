"""A student's assignments: list, statement, starter, submit, their submissions and grades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Query, Request, Response, UploadFile, status
from fastapi.responses import FileResponse, PlainTextResponse
from api.deps import BAD_TOKEN, NO_TOKEN, CatalogDep, CredentialDep, CurrentUser, SessionDep, SettingsDep, speak, \
    SubmitBatcherDep
from api.routers import errors, json_errors
from api.schemas import AssignmentPublic, MembershipPublic, MyGrade, SubmissionAccepted, SubmissionSummary, \
    UserPublic, UserUpdate
from api.security import token_hash
from api.services import assignments, courses, gradebook, submissions
from core.errors import Unauthorized
from grader.status import SubmissionStatus
from grader.submission import upload_cap

router = APIRouter(tags=["students"])
CourseQuery = Annotated[str | None, Query(description="the course, when several of yours offer the assignment")]


@router.get("/me", response_model=UserPublic, responses=errors())
def me(user: CurrentUser) -> dict:
    return _me(user)


@router.patch("/me", response_model=UserPublic, responses=errors(400, 422))
def update_me(body: UserUpdate, session: SessionDep, user: CurrentUser) -> dict:
    """Set your preferred language (messages, feedback): ``{"language": "en"}``; null for none."""
    user.language = body.language
    session.commit()
    return _me(user)


def _me(user) -> dict:
    return {"name": user.name, "display_name": user.display_name, "is_admin": user.is_admin,
            "language": user.language,
            "courses": [{"course": m.course.slug, "role": m.role} for m in courses.enrolments(user)]}


@router.get("/assignments", response_model=list[AssignmentPublic], responses=errors())
def list_assignments(session: SessionDep, catalog: CatalogDep, settings: SettingsDep, user: CurrentUser,
                     course: CourseQuery = None) -> list[dict]:
    return [assignments.overview(session, settings, catalog, user, o)
            for o in assignments.offered_to_user(session, catalog, user, course)]


@router.get("/assignments/{assignment_id}", response_model=AssignmentPublic, responses=errors(400, 404))
def get_assignment(assignment_id: str, session: SessionDep, catalog: CatalogDep, settings: SettingsDep,
                   user: CurrentUser, course: CourseQuery = None) -> dict:
    offered = courses.offered_to(session, user, assignment_id, course)
    return assignments.overview(session, settings, catalog, user, offered)


@router.get("/assignments/{assignment_id}/statement", response_class=PlainTextResponse, responses={
    **json_errors(400, 404), 200: {"content": {"text/markdown": {}}, "description": "the statement in Markdown"}})
def statement(assignment_id: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser,
              course: CourseQuery = None,
              accept_language: Annotated[str, Header(description="zh or en (default)")] = "en") -> Response:
    offered = courses.offered_to(session, user, assignment_id, course)
    language = preferred_language(accept_language)
    return Response(catalog.get(offered.assignment_id).statement(language), media_type="text/markdown; charset=utf-8",
                    headers={"Content-Language": language, "Vary": "Accept-Language"})


def preferred_language(header: str) -> str:
    """zh or en, by the Accept-Language quality values."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith(("zh", "en")):
            return tag[:2]
    return "en"


@router.get("/assignments/{assignment_id}/starter", response_class=FileResponse, responses={
    **json_errors(400, 404), 200: {"content": {"text/x-python": {}}, "description": "the starter file"}})
def starter(assignment_id: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser,
            course: CourseQuery = None) -> FileResponse:
    offered = courses.offered_to(session, user, assignment_id, course)
    return FileResponse(catalog.get(offered.assignment_id).starter, media_type="text/x-python",
                        filename=f"{offered.assignment_id}.py")


async def submitting_caller(request: Request, assignment_id: str, settings: SettingsDep, batcher: SubmitBatcherDep,
                            credential: CredentialDep, course: CourseQuery = None) -> submissions.Caller:
    """The submit route's CurrentUser: token (or browser session), enrolment, offering and
    extension in one query."""
    if credential is None:
        raise Unauthorized(NO_TOKEN)
    caller = await submissions.find_caller(batcher, settings, token_hash(credential, settings.secret_key),
                                           assignment_id, course)
    if caller is None:
        raise Unauthorized(BAD_TOKEN)
    speak(request, settings, caller.language, caller.course_language)
    return caller


@router.post("/assignments/{assignment_id}/submissions", status_code=status.HTTP_202_ACCEPTED,
             response_model=SubmissionAccepted, responses=errors(400, 403, 404, 413, 415, 422, 429))
async def submit(settings: SettingsDep, batcher: SubmitBatcherDep, catalog: CatalogDep,
                 caller: Annotated[submissions.Caller, Depends(submitting_caller)],
                 file: Annotated[UploadFile, File(description=".py, .ipynb, .zip or .md (written answers)")]) -> Response:
    """Store the upload and queue it for grading.  Answers 202 at once; follow the Location
    (or the events stream) for the result."""
    target = caller.target()
    content = await file.read(upload_cap(file.filename or "", settings.max_upload_kb << 10,
                                         settings.max_notebook_kb << 10) + 1)
    accepted = await submissions.submit(batcher, settings, catalog, caller.user_id, target, file.filename or "",
                                        content)
    url = f"{settings.api_url.rstrip('/')}/api/v1/submissions/{accepted.id}"
    shown = SubmissionAccepted(id=accepted.id, status=SubmissionStatus.queued, course=target.course,
                               assignment=target.assignment_id, filename=accepted.filename,
                               submitted_at=accepted.submitted_at, url=url, events_url=f"{url}/events")
    return Response(shown.model_dump_json(), status_code=status.HTTP_202_ACCEPTED, media_type="application/json",
                    headers={"Location": url})


@router.get("/assignments/{assignment_id}/submissions", response_model=list[SubmissionSummary],
            responses=errors(400, 404))
def my_submissions(assignment_id: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser,
                   course: CourseQuery = None) -> list:
    offered = courses.offered_to(session, user, assignment_id, course)
    return submissions.summaries(session, catalog, submissions.list_own(session, user, offered))


@router.get("/grades", response_model=list[MyGrade], responses=errors())
def my_grades(session: SessionDep, settings: SettingsDep, catalog: CatalogDep, user: CurrentUser) -> list[dict]:
    """Your grade per assignment: your best code submission plus your written answers, late penalties applied."""
    return gradebook.my_grades(session, settings, catalog, user)


@router.get("/courses", response_model=list[MembershipPublic], responses=errors())
def my_courses(user: CurrentUser) -> list[dict]:
    return [{"course": m.course.slug, "role": m.role} for m in courses.enrolments(user)]

