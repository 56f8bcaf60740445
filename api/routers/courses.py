"""The instructors' dashboard API: gradebook, statistics, submissions, regrading, deadlines,
extensions, attempt limits, late policy and the release of hidden results."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.deps import CatalogDep, CurrentUser, EnqueuerDep, SessionDep, SettingsDep
from api.routers import errors, json_errors
from api.schemas import EARLIEST, LATEST, AssignmentStats, ExtensionIn, ExtensionPublic, Gradebook, PolicyIn, \
    PolicyPublic, RegradeAccepted, RegradeIn, SubmissionSummary
from api.services import courses, gradebook, lti, submissions
from core import clock
from core.models import CourseAssignment
from grader.status import SubmissionStatus

router = APIRouter(prefix="/courses/{course}", tags=["instructors"])
PolicyQuery = Annotated[Literal["best", "latest"], Query(description="which submission counts per assignment")]
ExportQuery = Annotated[gradebook.ExportFormat, Query(alias="format", description="plain, or an LMS's import format")]
DateQuery = Annotated[dt.datetime | None, Query(ge=EARLIEST, le=LATEST, description="without a time zone: UTC")]


@router.get("/gradebook", response_model=Gradebook, responses=errors(403, 404))
def get_gradebook(course: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser,
                  policy: PolicyQuery = "best") -> dict:
    """Every student's score per assignment (late penalty applied, extensions honoured)."""
    return gradebook.gradebook(session, catalog, courses.course_for_instructor(session, user, course), policy)


@router.get("/gradebook.csv", responses={**json_errors(403, 404), 200: {"content": {"text/csv": {}}}})
def get_gradebook_csv(course: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser,
                      policy: PolicyQuery = "best", export_format: ExportQuery = "plain") -> Response:
    """The gradebook as UTF-8 CSV with a BOM: `plain`, or the grade import format of `canvas`
    (with its "Points Possible" row) or `moodle` (users identified by "ID number")."""
    book = gradebook.gradebook(session, catalog, courses.course_for_instructor(session, user, course), policy)
    name = f"{course}-gradebook-{policy}-{export_format}"
    return Response(gradebook.gradebook_csv(book, export_format), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/assignments/{assignment_id}/stats", response_model=AssignmentStats, responses=errors(403, 404))
def get_stats(course: str, assignment_id: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser) -> dict:
    """Counts, mean, median and histogram of each student's best score, each check's pass rate
    and its most common failing feedback."""
    return gradebook.stats(session, catalog, _offered(session, user, course, assignment_id))


@router.get("/submissions", response_model=list[SubmissionSummary], responses=errors(403, 404))
def list_submissions(course: str, session: SessionDep, catalog: CatalogDep, user: CurrentUser,
                     student: str | None = None, assignment: str | None = None,
                     status_: Annotated[SubmissionStatus | None, Query(alias="status")] = None,
                     since: DateQuery = None, until: DateQuery = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     offset: Annotated[int, Query(ge=0)] = 0) -> list[dict]:
    """Submissions, newest first, filtered by student, assignment, status and date; each says
    which pack version graded it and whether the pack changed since."""
    found = submissions.search(session, courses.course_for_instructor(session, user, course), student=student,
                               assignment=assignment, status=status_, since=_aware(since), until=_aware(until),
                               limit=limit, offset=offset)
    return [summary | gradebook.pack_flags(catalog, s)
            for s, summary in zip(found, submissions.summaries(session, catalog, found))]


def _aware(when: dt.datetime | None) -> dt.datetime | None:
    return when.replace(tzinfo=dt.timezone.utc) if when is not None and when.tzinfo is None else when


@router.post("/regrade", status_code=status.HTTP_202_ACCEPTED, response_model=RegradeAccepted,
             responses=errors(400, 403, 404))
def regrade(course: str, body: RegradeIn, session: SessionDep, enqueuer: EnqueuerDep, user: CurrentUser) -> dict:
    """Regrade a student's submissions, a whole assignment's, or one student's at one assignment."""
    found = submissions.select_for_regrade(session, courses.course_for_instructor(session, user, course),
                                           body.student, body.assignment)
    return {"submissions": submissions.regrade(session, enqueuer, found)}


@router.get("/assignments/{assignment_id}/policy", response_model=PolicyPublic, responses=errors(403, 404))
def get_policy(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> dict:
    return _policy(_offered(session, user, course, assignment_id), settings)


@router.patch("/assignments/{assignment_id}/policy", response_model=PolicyPublic, responses=errors(400, 403, 404, 422))
def update_policy(course: str, assignment_id: str, body: PolicyIn, session: SessionDep, settings: SettingsDep,
                  enqueuer: EnqueuerDep, user: CurrentUser) -> dict:
    """Deadline, late days and penalty, attempt limits, release of hidden results.  Fields
    left out keep their value; ``null`` clears a deadline or a limit."""
    offered = _offered(session, user, course, assignment_id)
    changes = body.model_dump(exclude_unset=True)
    courses.update_policy(offered, changes, courses.zone_of(offered.course, settings))
    session.commit()
    if changes.get("results_released"):
        lti.after_release(session, enqueuer, offered)
    return _policy(offered, settings)


@router.post("/assignments/{assignment_id}/release", response_model=PolicyPublic, responses=errors(403, 404))
def release(course: str, assignment_id: str, session: SessionDep, settings: SettingsDep, enqueuer: EnqueuerDep,
            user: CurrentUser) -> dict:
    """Show every check's feedback, hidden ones included, to the students (and send the grades
    of students who came from an LMS to it)."""
    offered = _offered(session, user, course, assignment_id)
    courses.update_policy(offered, {"results_released": True}, courses.zone_of(offered.course, settings))
    session.commit()
    lti.after_release(session, enqueuer, offered)
    return _policy(offered, settings)


@router.put("/assignments/{assignment_id}/extensions/{student}", response_model=ExtensionPublic,
            responses=errors(400, 403, 404, 422))
def grant_extension(course: str, assignment_id: str, student: str, body: ExtensionIn, session: SessionDep,
                    settings: SettingsDep, user: CurrentUser) -> dict:
    offered = _offered(session, user, course, assignment_id)
    zone = courses.zone_of(offered.course, settings)
    extension = courses.set_extension(session, offered, courses.student_in(session, offered.course, student),
                                      body.due_at, zone)
    session.commit()
    return {"course": course, "assignment": assignment_id, "student": student,
            "due_at": clock.shown(extension.due_at, zone)}


@router.delete("/assignments/{assignment_id}/extensions/{student}", status_code=status.HTTP_204_NO_CONTENT,
               responses=errors(403, 404))
def revoke_extension(course: str, assignment_id: str, student: str, session: SessionDep, user: CurrentUser) -> None:
    offered = _offered(session, user, course, assignment_id)
    courses.remove_extension(session, offered, courses.student_in(session, offered.course, student))
    session.commit()


def _offered(session, user, course: str, assignment_id: str) -> CourseAssignment:
    return courses.course_assignment(session, courses.course_for_instructor(session, user, course), assignment_id)


def _policy(offered: CourseAssignment, settings) -> dict:
    zone = courses.zone_of(offered.course, settings)
    return {"course": offered.course.slug, "assignment": offered.assignment_id, "time_zone": zone.key,
            "due_at": clock.shown(offered.due_at, zone),
            "late_days": offered.late_days, "late_penalty_per_day": offered.late_penalty_per_day,
            "attempts_per_day": offered.attempts_per_day, "attempts_total": offered.attempts_total,
            "results_released": offered.results_released}
