"""What the instructors' dashboard shows beside the gradebook: a course at a glance (who has
submitted what, the course's queue, grader faults; as the gradebook, without dropped students
and withdrawn assignments) and when an assignment's submissions came in
around its deadline.  Counted in the database (GROUP BY), never row by row in Python; a
result's JSON is read only for the few faults listed.  An assignment's score histogram, pass
rates and failures with their students are ``gradebook.stats``."""

from __future__ import annotations

import collections
import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.services import gradebook
from core import clock, rules
from core.models import Course, CourseAssignment, Membership, Submission, User
from grader.assignments import Catalog
from grader.status import SubmissionStatus

WAITING = (SubmissionStatus.queued, SubmissionStatus.running)
RECENT_FAULTS = 20
HOUR = dt.timedelta(hours=1)


# ---------------------------------------------------------------------- the course at a glance
def overview(session: Session, catalog: Catalog, course: Course, zone: ZoneInfo) -> dict:
    offered = [o for o in gradebook.in_catalog(catalog, course.assignments) if o.withdrawn_at is None]
    students = graded_students(session, course)
    uploads = per_student(session, [o.id for o in offered])
    return {"course": course.slug, "time_zone": zone.key, "students": len(students),
            "assignments": assignments(session, offered, uploads, len(students), zone),
            "submitted": submitted(uploads, {o.id: o.assignment_id for o in offered}, students),
            "queue": queue(session, course, zone),
            "faults": faults(session, course, zone)}


def graded_students(session: Session, course: Course) -> list[tuple[int, str, str]]:
    """(id, name, display name) of the members the gradebook lists (enrolled, not dropped), by name."""
    return session.execute(select(User.id, User.name, User.display_name).join(Membership)
                           .where(Membership.course_id == course.id, Membership.dropped_at.is_(None),
                                  Membership.role.in_(rules.roles_with(rules.Right.graded)))
                           .order_by(User.name)).all()


def waiting(session: Session, offered: CourseAssignment) -> int:
    """The assignment's submissions queued or being graded (a regrade's progress)."""
    return session.scalar(select(func.count()).where(Submission.course_assignment_id == offered.id,
                                                     Submission.status.in_(WAITING)))


def per_student(session: Session, offered_ids: list[int]) -> list[tuple[int, int, int, dt.datetime]]:
    """(user id, course assignment id, uploads, the last one's time) of everyone who uploaded to
    these assignments (one pass over an index: docs/BENCHMARKS.md, "Instructor pages")."""
    return session.execute(
        select(Submission.user_id, Submission.course_assignment_id, func.count(), func.max(Submission.created_at))
        .where(Submission.course_assignment_id.in_(offered_ids))
        .group_by(Submission.course_assignment_id, Submission.user_id)).all()


def assignments(session: Session, offered: list[CourseAssignment], uploads, students: int,
                zone: ZoneInfo) -> list[dict]:
    """Per assignment: its deadline, how many students submitted, its submissions by status."""
    by_status: dict[int, dict[str, int]] = {o.id: {} for o in offered}
    for offered_id, status, count in session.execute(
            select(Submission.course_assignment_id, Submission.status, func.count())
            .where(Submission.course_assignment_id.in_(list(by_status)))
            .group_by(Submission.course_assignment_id, Submission.status)):
        by_status[offered_id][str(status)] = count
    submitters = collections.Counter(offered_id for _, offered_id, _, _ in uploads)
    return [{"assignment": o.assignment_id, "due_at": clock.shown(o.due_at, zone),
             "results_released": o.results_released, "students_submitted": submitters[o.id],
             "students": students, "submissions": sum(by_status[o.id].values()), "by_status": by_status[o.id],
             "faults": by_status[o.id].get(SubmissionStatus.internal_error, 0)} for o in offered]


def submitted(uploads, names: dict[int, str], students) -> list[dict]:
    """Who has submitted what: per student and assignment, the number of uploads and the last one's time."""
    counts: dict[int, dict[str, dict]] = {user_id: {} for user_id, _, _ in students}
    for user_id, offered_id, count, last in uploads:
        if user_id in counts:
            counts[user_id][names[offered_id]] = {"count": count, "last_at": _aware(last)}
    return [{"student": name, "display_name": display_name, "assignments": counts[user_id]}
            for user_id, name, display_name in students]


def queue(session: Session, course: Course, zone: ZoneInfo) -> list[dict]:
    """The course's submissions waiting or being graded, per queue and status, with the oldest."""
    rows = session.execute(
        select(Submission.queue, Submission.status, func.count(), func.min(Submission.created_at))
        .join(CourseAssignment, CourseAssignment.id == Submission.course_assignment_id)
        .where(CourseAssignment.course_id == course.id, Submission.status.in_(WAITING))
        .group_by(Submission.queue, Submission.status).order_by(Submission.queue, Submission.status)).all()
    return [{"queue": name, "status": str(status), "count": count, "oldest": clock.shown(_aware(oldest), zone)}
            for name, status, count, oldest in rows]


def faults(session: Session, course: Course, zone: ZoneInfo, limit: int = RECENT_FAULTS) -> list[dict]:
    """The latest grader faults (internal errors: never the student's doing), with the result's message."""
    rows = session.execute(
        select(Submission.id, User.name, CourseAssignment.assignment_id, Submission.created_at, Submission.worker,
               Submission.result["message"].as_string())
        .join(CourseAssignment, CourseAssignment.id == Submission.course_assignment_id)
        .join(User, User.id == Submission.user_id)
        .where(CourseAssignment.course_id == course.id, Submission.status == SubmissionStatus.internal_error)
        .order_by(Submission.created_at.desc(), Submission.id.desc()).limit(limit)).all()
    return [{"submission_id": sid, "student": name, "assignment": assignment_id,
             "created_at": clock.shown(_aware(created_at), zone), "worker": worker, "message": message or ""}
            for sid, name, assignment_id, created_at, worker, message in rows]


# ---------------------------------------------------------------------- around the deadline
def timeline(session: Session, offered: CourseAssignment, zone: ZoneInfo, hours_before: int = 72,
             hours_after: int = 24, bucket_hours: int = 3) -> dict:
    """Submissions per ``bucket_hours`` from ``hours_before`` the due date to ``hours_after`` it
    (an assignment without one: the last ``hours_before + hours_after`` hours up to its latest
    submission), with the counts before and after that window."""
    span = dt.timedelta(hours=hours_before + hours_after)
    latest = session.scalar(select(func.max(Submission.created_at))
                            .where(Submission.course_assignment_id == offered.id))
    anchor = offered.due_at or _aware(latest) or dt.datetime.now(dt.timezone.utc)
    start = anchor - (dt.timedelta(hours=hours_before) if offered.due_at else span)
    end = start + span
    times = session.scalars(select(Submission.created_at).where(Submission.course_assignment_id == offered.id,
                                                                Submission.created_at >= start,
                                                                Submission.created_at < end)).all()
    counts = [0] * -(-(hours_before + hours_after) // bucket_hours)
    for moment in times:
        counts[int((_aware(moment) - start) / (bucket_hours * HOUR))] += 1
    before, after = session.execute(
        select(func.count().filter(Submission.created_at < start), func.count().filter(Submission.created_at >= end))
        .where(Submission.course_assignment_id == offered.id)).one()
    return {"course": offered.course.slug, "assignment": offered.assignment_id, "time_zone": zone.key,
            "due_at": clock.shown(offered.due_at, zone), "bucket_hours": bucket_hours,
            "before": before, "after": after,
            "buckets": [{"start": clock.shown(start + i * bucket_hours * HOUR, zone),
                         "hours_from_due": round(((start - anchor) / HOUR) + i * bucket_hours) if offered.due_at
                         else None, "count": count} for i, count in enumerate(counts)]}


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """An aggregate (MIN, MAX) of a UTC column comes back naive from SQLite."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment is not None and moment.tzinfo is None else moment
