"""Running a course: offering and withdrawing assignments, members, roster imports, invitations
and the audit log (api/services/administration.py, roster.py, core/audit.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from api.deps import CatalogDep, CurrentUser, SessionDep, SettingsDep
from api.routers import errors, json_errors
from api.routers.courses import DateQuery, _stored
from api.schemas import AuditEntryPublic, InvitationsIn, MemberPublic, OfferingPublic, RosterReport
from api.services import administration, courses, roster
from core import audit
from core.errors import BadRequest
from core.i18n import _
from core.models import Role

router = APIRouter(prefix="/courses/{course}", tags=["course administration"])
CSV = {200: {"content": {"text/csv": {}}, "description": "UTF-8 with BOM, LF line ends"}}


@router.get("/offerings", response_model=list[OfferingPublic], responses=errors(403, 404))
def list_offerings(course: str, session: SessionDep, user: CurrentUser) -> list[dict]:
    """Every assignment the course offers or has withdrawn."""
    found = courses.course_for_instructor(session, user, course)
    return [administration.offering_shown(o) for o in administration.offerings(session, found)]


@router.post("/assignments/{assignment_id}/offer", response_model=OfferingPublic, responses=errors(403, 404))
def offer(course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser) -> dict:
    """Offer an assignment of the catalogue (a pack added later, too), or a withdrawn one again."""
    offered = administration.offer(session, catalog, user, courses.course_for_instructor(session, user, course),
                                   assignment_id)
    session.commit()
    return administration.offering_shown(offered)


@router.post("/assignments/{assignment_id}/withdraw", response_model=OfferingPublic, responses=errors(403, 404))
def withdraw(course: str, assignment_id: str, session: SessionDep, user: CurrentUser) -> dict:
    """Hide it from the students and refuse new submissions; every submission and score is kept."""
    offered = administration.withdraw(session, user, courses.course_for_instructor(session, user, course),
                                      assignment_id)
    session.commit()
    return administration.offering_shown(offered)


@router.get("/members", response_model=list[MemberPublic], responses=errors(403, 404))
def list_members(course: str, session: SessionDep, user: CurrentUser, dropped: bool = False,
                 role: Role | None = None) -> list[dict]:
    """The course's members by student ID; dropped ones only with ``dropped=true``."""
    found = courses.course_for_instructor(session, user, course)
    return [administration.member_shown(*m)
            for m in administration.members(session, found, role=role, include_dropped=dropped)]


@router.post("/members/{student}/drop", response_model=MemberPublic, responses=errors(400, 403, 404))
def drop(course: str, student: str, session: SessionDep, user: CurrentUser) -> dict:
    """The student no longer sees the course nor submits; their work stays."""
    found = courses.course_for_instructor(session, user, course)
    administration.drop(session, user, found, student)
    session.commit()
    return administration.member_shown(*administration.membership_of(session, found, student))


@router.post("/members/{student}/enrol", response_model=MemberPublic, responses=errors(403, 404))
def reenrol(course: str, student: str, session: SessionDep, user: CurrentUser) -> dict:
    """Undo a drop."""
    found = courses.course_for_instructor(session, user, course)
    administration.reenrol(session, user, found, student)
    session.commit()
    return administration.member_shown(*administration.membership_of(session, found, student))


@router.post("/roster", response_model=RosterReport, responses={**errors(400, 403, 404, 422), **CSV})
def import_roster(course: str, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                  file: Annotated[UploadFile, File(description="CSV in UTF-8 (with or without BOM), GBK or GB18030")],
                  mapping: Annotated[str | None, Form(description='JSON: header -> field, e.g. {"学籍号": '
                                                                   '"student_id"}')] = None,
                  drop_missing: Annotated[bool, Form(description="drop enrolled students the file leaves out")] = False,
                  format: Annotated[Literal["json", "csv"], Query(description="csv: the new users' invitations "
                                                                                "as a CSV file")] = "json"):
    """Import a class list (school, Canvas or Moodle export): adds, updates, reports those
    missing; new users get an invitation."""
    found = courses.course_for_instructor(session, user, course)
    report = roster.import_roster(session, settings, user, found, file.file.read(), _mapping(mapping), drop_missing)
    session.commit()
    if format == "csv":
        return _csv(administration.invitations_csv(report.invitations), f"{course}-invitations.csv")
    return report.shown()


def _mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise BadRequest(_('the column mapping is a JSON object of header to field, e.g. {{"学籍号": "student_id"}}'),
                         code="roster_mapping")
    return mapping


@router.post("/invitations", responses={**json_errors(400, 403, 404, 422), **CSV})
def reissue_invitations(course: str, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                        body: InvitationsIn | None = None) -> Response:
    """New one-time invitations (the old ones are void) for the named students, or every enrolled
    student, as a CSV file: 学号/student_id, 姓名/name, 班级/class, code, URL."""
    found = courses.course_for_instructor(session, user, course)
    invitations = administration.reissue_invitations(session, settings, user, found, body.students if body else None)
    session.commit()
    return _csv(administration.invitations_csv(invitations), f"{course}-invitations.csv")


def _csv(content: bytes, filename: str) -> Response:
    return Response(content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/audit", response_model=list[AuditEntryPublic], responses=errors(403, 404))
def audit_log(course: str, session: SessionDep, settings: SettingsDep, user: CurrentUser,
              action: Annotated[Literal[audit.ACTIONS] | None, Query()] = None,  # type: ignore[valid-type]
              actor: str | None = None, target: Annotated[str | None, Query(description="a substring")] = None,
              since: DateQuery = None, until: DateQuery = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0) -> list[dict]:
    """Who changed what and when (policies, releases, written scores, regrades, enrolments, roles,
    offerings), newest first."""
    found = courses.course_for_instructor(session, user, course)
    zone = courses.zone_of(found, settings)
    return [audit.shown(e, zone) for e in audit.entries(session, found.id, action=action, actor=actor, target=target,
                                                  since=_stored(since, zone), until=_stored(until, zone), limit=limit,
                                                  offset=offset)]
