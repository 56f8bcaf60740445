"""A student's view of the assignments their courses offer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.services import courses, gradebook
from core import clock, points, rules
from core.models import CourseAssignment, Membership, Submission, User
from core.settings import Settings
from grader.assignments import Catalog


def offered_to_user(session: Session, catalog: Catalog, user: User,
                    course_slug: str | None = None) -> list[CourseAssignment]:
    """The user's courses' assignments (those still in the catalogue, and the rules let them see)."""
    query = (select(CourseAssignment, Membership.role, Membership.dropped_at).select_from(CourseAssignment)
             .join(Membership, Membership.course_id == CourseAssignment.course_id)
             .where(Membership.user_id == user.id).order_by(CourseAssignment.course_id, CourseAssignment.assignment_id))
    return [o for o in gradebook.in_catalog(catalog, courses.visible(user, session.execute(query)))
            if course_slug is None or o.course.slug == course_slug]


def overview(session: Session, settings: Settings, catalog: Catalog, user: User, offered: CourseAssignment) -> dict:
    """Title, points, this student's deadline (in the course's time zone), attempts used, latest
    status and best score."""
    manifest = catalog.get(offered.assignment_id).manifest
    zone = courses.zone_of(offered.course, settings)
    deadline = courses.deadline_for(session, settings, offered, user.id)
    mine = select(Submission).where(Submission.course_assignment_id == offered.id, Submission.user_id == user.id)
    latest = session.scalar(mine.order_by(Submission.id.desc()).limit(1))
    best = gradebook.grades(session, settings, catalog, [offered], "best", [user.id]).get((user.id, offered.id))
    return {"id": offered.assignment_id, "course": offered.course.slug, "title": manifest.title.en,
            "title_zh": manifest.title.zh, "week": manifest.week, "queue": manifest.queue,
            "max_score": points.max_total(manifest),
            "due_at": clock.shown(deadline.due_at, zone), "closes_at": clock.shown(deadline.closes_at, zone),
            "late_penalty_per_day": offered.late_penalty_per_day, "attempts_per_day": offered.attempts_per_day,
            "attempts_total": offered.attempts_total,
            "attempts_used": session.scalar(mine.with_only_columns(func.count(Submission.id))),
            "results_released": offered.results_released, "withdrawn": offered.withdrawn_at is not None,
            "latest_submission": latest.id if latest else None,
            "latest_status": latest.status if latest else None,
            "best_score": best.points.adjusted if best else None}


def standing(session: Session, settings: Settings, user: User, offered: CourseAssignment, now: dt.datetime) -> dict:
    """Where the user stands now (core/rules decides): the deadline's phase, the penalty a
    submission made now would take, and the attempts left (None: no limit)."""
    deadline = courses.deadline_for(session, settings, offered, user.id)
    exempt = rules.exempt(user.is_admin, courses.role_in(session, user, offered.course_id))
    total, today = session.execute(
        select(func.count(), func.count().filter(Submission.created_at > now - rules.DAY))
        .where(Submission.course_assignment_id == offered.id, Submission.user_id == user.id)).one()
    attempts = rules.Attempts(offered.attempts_per_day, offered.attempts_total)
    return {"phase": deadline.phase(now), "penalty_now": deadline.penalty(now),
            "attempts_left": None if exempt else attempts.remaining(total, today)}
