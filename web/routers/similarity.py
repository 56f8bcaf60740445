"""The instructors' code similarity pages: a course's assignments, one assignment's report
(ranked pairs, clusters, what was left out, the bases and a form to add one), and one pair side
by side.  Every decision is ``api.services.similarity``'s (who: ``core.rules``), as for the API
and the command line."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import CatalogDep, SessionDep, SettingsDep
from api.services import courses, similarity
from api.services.gradebook import Policy
from core import rules
from core.errors import BadRequest, ServiceError
from core.i18n import _
from core.models import CourseAssignment, User
from core.settings import Settings
from grader.assignments import Catalog
from grader.i18n import render
from grader.similarity import THRESHOLD
from web import nav
from web.pages import PageUser
from web.templating import page

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Query(ge=1, le=2**31 - 1)]
SHOWN = 100
NO_FILE = _("choose a file to add first (.py, .ipynb or .zip)")


def _staff_courses(user: User) -> list:
    return [m.course for m in user.memberships
            if rules.may_see_similarity(user.is_admin, rules.enrolled_role(m.role, m.dropped_at))]


nav.add(nav.Link(_("Code similarity"), lambda user: f"/courses/{_staff_courses(user)[0].slug}/similarity",
                 shown_to=lambda user: bool(_staff_courses(user)), section="/courses/"))


def _base(course: str, assignment_id: str) -> str:
    return f"/courses/{course}/assignments/{assignment_id}/similarity"


@router.get("/courses/{course}/similarity")
def course_index(request: Request, course: str, session: SessionDep, catalog: CatalogDep, user: PageUser) -> Response:
    found = similarity.course_for_staff(session, user, course)
    language = request.state.language
    rows = [{"id": o.assignment_id, "title": _title(catalog, o, language), "url": _base(course, o.assignment_id)}
            for o in found.assignments if o.assignment_id in catalog.ids()]
    return page(request, "similarity/index.html", {"course": found, "rows": rows})


@router.get("/courses/{course}/assignments/{assignment_id}/similarity")
def report(request: Request, course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep,
           settings: SettingsDep, user: PageUser, policy: Policy = "latest",
           threshold: Annotated[float, Query(ge=0, le=1)] = THRESHOLD) -> Response:
    offered = similarity.offering(session, user, course, assignment_id)
    return page(request, "similarity/report.html",
                report_context(session, settings, catalog, user, offered, policy, threshold, request.state.language))


def report_context(session: Session, settings: Settings, catalog: Catalog, user: User, offered: CourseAssignment,
                   policy: Policy, threshold: float, language: str, error: str | None = None) -> dict:
    found = similarity.report(session, settings, catalog, offered, policy=policy, threshold=threshold, limit=SHOWN,
                              language=language)
    role = None if user.is_admin else courses.role_in(session, user, offered.course_id)
    url = _base(offered.course.slug, offered.assignment_id)
    return {"r": found, "title": _title(catalog, offered, language), "url": url, "error": error,
            "policy": policy, "threshold": threshold, "bases": similarity.list_bases(session, catalog, offered),
            "may_change": rules.may_set_similarity_bases(user.is_admin, role)}


@router.get("/courses/{course}/assignments/{assignment_id}/similarity/pair")
def pair(request: Request, course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep,
         user: PageUser, a: Id, b: Id) -> Response:
    offered = similarity.offering(session, user, course, assignment_id)
    shown = similarity.side_by_side(session, catalog, offered, a, b, request.state.language)
    return page(request, "similarity/pair.html", {**shown, "url": _base(course, assignment_id),
                                                  "title": _title(catalog, offered, request.state.language)})


@router.post("/courses/{course}/assignments/{assignment_id}/similarity/bases")
def add_base(request: Request, course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep,
             settings: SettingsDep, user: PageUser, file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The form's upload (its CSRF token checked with the session): the API's ``add_base``; a
    refusal is shown on the report's page."""
    offered = similarity.offering(session, user, course, assignment_id, change=True)
    try:
        if file is None or not file.filename:
            raise BadRequest(NO_FILE, code="missing_file")
        content = file.file.read((settings.max_upload_kb << 10) + 1)
        similarity.add_base(session, settings, catalog, offered, user, file.filename, content)
    except ServiceError as exc:
        session.rollback()
        language = request.state.language
        context = report_context(session, settings, catalog, user, offered, "latest", THRESHOLD, language,
                                 render(exc.message, language))
        return page(request, "similarity/report.html", context, status_code=exc.status_code)
    session.commit()
    return RedirectResponse(f"{_base(course, assignment_id)}#bases", status_code=303)


@router.post("/courses/{course}/assignments/{assignment_id}/similarity/bases/{name}/remove")
def remove_base(course: str, assignment_id: str, name: str, session: SessionDep, user: PageUser) -> Response:
    similarity.remove_base(session, similarity.offering(session, user, course, assignment_id, change=True), name)
    session.commit()
    return RedirectResponse(f"{_base(course, assignment_id)}#bases", status_code=303)


def _title(catalog: Catalog, offered: CourseAssignment, language: str) -> str:
    title = catalog.get(offered.assignment_id).manifest.title
    return title.zh if language == "zh" else title.en
