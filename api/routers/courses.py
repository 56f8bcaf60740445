"""The staff's dashboard API: gradebook, statistics, submissions, regrading, deadlines,
extensions, attempt limits, late policy, the release of hidden results and what TAs may do.
Each route names the right it needs (core/rules.py); the refusal is the rules'."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.deps import CatalogDep, CurrentUser, EnqueuerDep, LanguageDep, SessionDep, SettingsDep
from api.routers import errors, json_errors
from api.schemas import EARLIEST, LATEST, AssignmentStats, CourseOverview, ExtensionIn, ExtensionPublic, Gradebook, \
    PermissionsIn, PermissionsPublic, PolicyIn, PolicyPublic, RegradeAccepted, RegradeIn, SubmissionSummary, Timeline, \
    WrittenQueueEntry
from api.services import courses, gradebook, lti, statistics, submissions, written
from core import clock, rules
from core.models import CourseAssignment, Role
from core.rules import Right
from grader.status import SubmissionStatus

router = APIRouter(prefix="/courses/{course}", tags=["instructors"])
PolicyQuery = Annotated[Literal["best", "latest"], Query(description="which submission counts per assignment")]
ExportQuery = Annotated[gradebook.ExportFormat, Query(alias="format", description="plain, or an LMS's import format")]
SEE_ALL = Right.see_all
DateQuery = Annotated[dt.datetime | None, Query(ge=EARLIEST, le=LATEST,
                                                description="without a time zone: the course's time")]
DroppedQuery = Annotated[bool, Query(description="list dropped students too")]
WithdrawnQuery = Annotated[bool, Query(description="list withdrawn assignments too")]


@router.get("/gradebook", response_model=Gradebook, responses=errors(403, 404))
def get_gradebook(course: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser, settings: SettingsDep,
                  language: LanguageDep, policy: PolicyQuery = "best", dropped: DroppedQuery = False,
                  withdrawn: WithdrawnQuery = False) -> dict:
    """Every student's score per assignment (late penalty applied, extensions honoured); dropped
    students and withdrawn assignments only when asked for; and ``warnings``: what keeps the
    course's submissions from being graded now."""
    found = courses.course_for(session, user, course, SEE_ALL)
    return {**gradebook.gradebook(session, settings, catalog, found, policy, include_dropped=dropped,
                                  include_withdrawn=withdrawn),
            "warnings": gradebook.warnings(session, catalog, found, settings.worker_stale_s, language)}


@router.get("/gradebook.csv", responses={**json_errors(403, 404), 200: {"content": {"text/csv": {}}}})
def get_gradebook_csv(course: str, session: SessionDep, settings: SettingsDep, catalog: CatalogDep, user: CurrentUser,
                      policy: PolicyQuery = "best", dropped: DroppedQuery = False,
                      withdrawn: WithdrawnQuery = False, export_format: ExportQuery = "plain") -> Response:
    """The gradebook as UTF-8 CSV with a BOM: `plain`, or the grade import format of `canvas`
    (with its "Points Possible" row) or `moodle` (users identified by "ID number")."""
    book = gradebook.gradebook(session, settings, catalog, courses.course_for(session, user, course, SEE_ALL), policy,
                               include_dropped=dropped, include_withdrawn=withdrawn)
    name = f"{course}-gradebook-{policy}-{export_format}"
    return Response(gradebook.gradebook_csv(book, export_format), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/assignments/{assignment_id}/stats", response_model=AssignmentStats, responses=errors(403, 404))
def get_stats(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, catalog: CatalogDep,
              user: CurrentUser) -> dict:
    """Counts, mean, median and histogram of each student's best score, each check's pass rate
    and its most common failing feedback."""
    return gradebook.stats(session, settings, catalog, _offered(session, user, course, assignment_id, SEE_ALL))


@router.get("/assignments/{assignment_id}/timeline", response_model=Timeline, responses=errors(403, 404))
def get_timeline(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                 hours_before: Annotated[int, Query(ge=1, le=24 * 60)] = 72,
                 hours_after: Annotated[int, Query(ge=0, le=24 * 60)] = 24,
                 bucket_hours: Annotated[int, Query(ge=1, le=24 * 7)] = 3) -> dict:
    """Submissions per time bucket around the due date (course time)."""
    offered = _offered(session, user, course, assignment_id, SEE_ALL)
    return statistics.timeline(session, offered, courses.zone_of(offered.course, settings), hours_before,
                               hours_after, bucket_hours)


@router.get("/overview", response_model=CourseOverview, responses=errors(403, 404))
def get_overview(course: str, session: SessionDep, settings: SettingsDep, catalog: CatalogDep,
                 user: CurrentUser) -> dict:
    """Per assignment: who submitted and the submissions by status; per student: what they
    submitted; the course's queue; the latest grader faults."""
    found = courses.course_for(session, user, course, SEE_ALL)
    return statistics.overview(session, catalog, found, courses.zone_of(found, settings))


@router.get("/written", response_model=list[WrittenQueueEntry], responses=errors(403, 404))
def get_written(course: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser,
                assignment: str | None = None, pending: bool = True) -> list[dict]:
    """The written answers to score (``pending=false``: scored ones too), by assignment, question
    and student."""
    found = courses.course_for(session, user, course, Right.grade)
    if assignment is not None:
        courses.course_assignment(session, found, assignment)
    return written.queue(session, catalog, found, assignment, pending_only=pending)


@router.get("/submissions", response_model=list[SubmissionSummary], responses=errors(403, 404))
def list_submissions(course: str, session: SessionDep, catalog: CatalogDep, settings: SettingsDep, user: CurrentUser,
                     student: str | None = None, assignment: str | None = None,
                     status_: Annotated[SubmissionStatus | None, Query(alias="status")] = None,
                     since: DateQuery = None, until: DateQuery = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     offset: Annotated[int, Query(ge=0)] = 0) -> list[dict]:
    """Submissions, newest first, filtered by student, assignment, status and date; each says
    which pack version graded it and whether the pack changed since."""
    found_course = courses.course_for(session, user, course, SEE_ALL)
    zone = courses.zone_of(found_course, settings)
    found = submissions.search(session, found_course, student=student, assignment=assignment, status=status_,
                               since=_stored(since, zone), until=_stored(until, zone), limit=limit, offset=offset)
    return [summary | gradebook.pack_flags(catalog, s)
            for s, summary in zip(found, submissions.summaries(session, catalog, found))]


def _stored(when: dt.datetime | None, zone) -> dt.datetime | None:
    """A naive moment is course time, as everywhere an instructor enters one."""
    return None if when is None else clock.stored(when, zone)


@router.post("/regrade", status_code=status.HTTP_202_ACCEPTED, response_model=RegradeAccepted,
             responses=errors(400, 403, 404))
def regrade(course: str, body: RegradeIn, session: SessionDep, enqueuer: EnqueuerDep, user: CurrentUser) -> dict:
    """Regrade a student's submissions, a whole assignment's, or one student's at one assignment."""
    found = submissions.select_for_regrade(session, courses.course_for(session, user, course, Right.grade),
                                           body.student, body.assignment)
    scope = " ".join(part for part in (body.assignment, body.student) if part)
    return {"submissions": submissions.regrade(session, enqueuer, found, user, scope)}


@router.get("/assignments/{assignment_id}/policy", response_model=PolicyPublic, responses=errors(403, 404))
def get_policy(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> dict:
    return _policy(_offered(session, user, course, assignment_id, SEE_ALL), settings)


@router.patch("/assignments/{assignment_id}/policy", response_model=PolicyPublic, responses=errors(400, 403, 404, 422))
def update_policy(course: str, assignment_id: str, body: PolicyIn, session: SessionDep, settings: SettingsDep,
                  enqueuer: EnqueuerDep, user: CurrentUser) -> dict:
    """Deadline, late days and penalty, attempt limits, release of hidden results.  Fields
    left out keep their value; ``null`` clears a deadline or a limit."""
    changes = body.model_dump(exclude_unset=True)
    offered = _offered(session, user, course, assignment_id, *rules.policy_rights(changes))
    courses.update_policy(session, user, offered, changes, courses.zone_of(offered.course, settings))
    session.commit()
    if changes.get("results_released"):
        lti.after_release(session, enqueuer, offered)
    return _policy(offered, settings)


@router.post("/assignments/{assignment_id}/release", response_model=PolicyPublic, responses=errors(403, 404))
def release(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, enqueuer: EnqueuerDep,
            user: CurrentUser) -> dict:
    """Show every check's feedback, hidden ones included, to the students (and send the grades
    of students who came from an LMS to it)."""
    offered = _offered(session, user, course, assignment_id, Right.release)
    courses.update_policy(session, user, offered, {"results_released": True}, courses.zone_of(offered.course, settings))
    session.commit()
    lti.after_release(session, enqueuer, offered)
    return _policy(offered, settings)


@router.put("/assignments/{assignment_id}/extensions/{student}", response_model=ExtensionPublic,
            responses=errors(400, 403, 404, 422))
def grant_extension(course: str, assignment_id: str, student: str, body: ExtensionIn, session: SessionDep,
                    settings: SettingsDep, user: CurrentUser) -> dict:
    offered = _offered(session, user, course, assignment_id, Right.extensions)
    zone = courses.zone_of(offered.course, settings)
    extension = courses.set_extension(session, user, offered, courses.student_in(session, offered.course, student),
                                      body.due_at, zone)
    session.commit()
    return {"course": course, "assignment": assignment_id, "student": student,
            "due_at": clock.shown(extension.due_at, zone)}


@router.delete("/assignments/{assignment_id}/extensions/{student}", status_code=status.HTTP_204_NO_CONTENT,
               responses=errors(403, 404))
def revoke_extension(course: str, assignment_id: str, student: str, session: SessionDep, user: CurrentUser) -> None:
    offered = _offered(session, user, course, assignment_id, Right.extensions)
    courses.remove_extension(session, user, offered, courses.student_in(session, offered.course, student))
    session.commit()


@router.get("/permissions", response_model=PermissionsPublic, responses=errors(403, 404))
def get_permissions(course: str, session: SessionDep, user: CurrentUser) -> dict:
    """What each role may do in the course, and what its instructor lets TAs do besides reading and grading."""
    return _permissions(courses.course_for(session, user, course, SEE_ALL))


@router.put("/permissions", response_model=PermissionsPublic, responses=errors(400, 403, 404, 422))
def set_permissions(course: str, body: PermissionsIn, session: SessionDep, user: CurrentUser) -> dict:
    """Grant TAs the instructor's ``policy`` (deadlines, late policy, attempt limits), ``extensions``
    and ``release`` (of hidden results): the list replaces the course's grants; ``[]`` revokes all."""
    found = courses.set_ta_grants(session, user, courses.course_for(session, user, course, Right.administer),
                                  body.ta_may)
    session.commit()
    return _permissions(found)


def _permissions(found) -> dict:
    grants = courses.ta_grants(found)
    return {"course": found.slug, "ta_may": grants,
            "roles": {role.value: sorted(rules.rights(False, role, grants)) for role in Role}}


def _offered(session, user, course: str, assignment_id: str, right: Right, *more: Right) -> CourseAssignment:
    return courses.course_assignment(session, courses.course_for(session, user, course, right, *more), assignment_id)


def _policy(offered: CourseAssignment, settings) -> dict:
    zone = courses.zone_of(offered.course, settings)
    return {"course": offered.course.slug, "assignment": offered.assignment_id, "time_zone": zone.key,
            "due_at": clock.shown(offered.due_at, zone),
            "late_days": offered.late_days, "late_penalty_per_day": offered.late_penalty_per_day,
            "attempts_per_day": offered.attempts_per_day, "attempts_total": offered.attempts_total,
            "results_released": offered.results_released}
