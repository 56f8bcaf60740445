"""Who may do what in a course, and each offered assignment's deadline and policies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.accounts import course_by_slug
from core.errors import BadRequest, Forbidden, NotFound
from core.models import Course, CourseAssignment, Extension, Membership, Role, User

DAY = dt.timedelta(days=1)
T = TypeVar("T")


def membership(session: Session, user: User, course: Course) -> Membership | None:
    return session.scalar(select(Membership).where(Membership.user_id == user.id, Membership.course_id == course.id))


def course_for_instructor(session: Session, user: User, slug: str) -> Course:
    course = course_by_slug(session, slug)
    if not user.is_admin:
        member = membership(session, user, course)
        if member is None or member.role != Role.instructor:
            raise Forbidden(f"only the instructors of {slug} may do this", code="not_instructor")
    return course


def course_for_member(session: Session, user: User, slug: str) -> Course:
    course = course_by_slug(session, slug)
    if not user.is_admin and membership(session, user, course) is None:
        raise Forbidden(f"you are not a member of {slug}", code="not_member")
    return course


def is_instructor(session: Session, user: User, course_id: int) -> bool:
    if user.is_admin:
        return True
    role = session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                        Membership.course_id == course_id))
    return role == Role.instructor


def offered_to(session: Session, user: User, assignment_id: str, course_slug: str | None = None) -> CourseAssignment:
    """The course assignment a user works on: their only course offering it, or the named one."""
    query = (select(CourseAssignment).join(Course).join(Membership, Membership.course_id == Course.id)
             .where(Membership.user_id == user.id, CourseAssignment.assignment_id == assignment_id))
    if course_slug:
        query = query.where(Course.slug == course_slug)
    return only_offering(session.scalars(query).all(), lambda offered: offered.course.slug, assignment_id, course_slug)


def only_offering(offered: list[T], slug_of: Callable[[T], str], assignment_id: str, course_slug: str | None) -> T:
    """The one course assignment among those a user's courses offer, or the 404 / 400 that says why not."""
    if not offered:
        where = f" in {course_slug}" if course_slug else " in your courses"
        raise NotFound(f"no assignment called {assignment_id!r}{where}", code="assignment_not_found")
    if len(offered) > 1:
        courses = ", ".join(sorted(slug_of(each) for each in offered))
        raise BadRequest(f"{assignment_id} is offered by several of your courses ({courses}); add ?course=NAME",
                         code="course_ambiguous")
    return offered[0]


def course_assignment(session: Session, course: Course, assignment_id: str) -> CourseAssignment:
    offered = session.scalar(select(CourseAssignment).where(CourseAssignment.course_id == course.id,
                                                            CourseAssignment.assignment_id == assignment_id))
    if offered is None:
        raise NotFound(f"{course.slug} offers no assignment called {assignment_id!r}", code="assignment_not_found")
    return offered


def student_in(session: Session, course: Course, name: str) -> User:
    user = session.scalar(select(User).join(Membership).where(User.name == name, Membership.course_id == course.id))
    if user is None:
        raise NotFound(f"{course.slug} has no member called {name!r}", code="student_not_found")
    return user


# ---------------------------------------------------------------------- deadlines
@dataclasses.dataclass(frozen=True)
class Deadline:
    due_at: dt.datetime | None          # this student's due date (extension honoured)
    late_days: int                      # days after it that are still accepted
    penalty_per_day: float

    @property
    def closes_at(self) -> dt.datetime | None:
        return None if self.due_at is None else self.due_at + self.late_days * DAY

    def accepts(self, when: dt.datetime) -> bool:
        return self.closes_at is None or when <= self.closes_at

    def days_late(self, when: dt.datetime) -> int:
        if self.due_at is None or when <= self.due_at:
            return 0
        return math.ceil((when - self.due_at) / DAY)

    def penalty(self, when: dt.datetime) -> float:
        return min(1.0, self.days_late(when) * self.penalty_per_day)

    def passed(self, now: dt.datetime) -> bool:
        return self.due_at is not None and now > self.due_at


def deadline(offered: CourseAssignment, extension: Extension | None) -> Deadline:
    due = extension.due_at if extension is not None else offered.due_at
    return Deadline(due, offered.late_days, offered.late_penalty_per_day)


def extension_for(session: Session, offered: CourseAssignment, user_id: int) -> Extension | None:
    return session.scalar(select(Extension).where(Extension.course_assignment_id == offered.id,
                                                  Extension.user_id == user_id))


def deadline_for(session: Session, offered: CourseAssignment, user_id: int) -> Deadline:
    return deadline(offered, extension_for(session, offered, user_id))


def extensions_by_user(session: Session, offered_ids: list[int]) -> dict[tuple[int, int], Extension]:
    rows = session.scalars(select(Extension).where(Extension.course_assignment_id.in_(offered_ids))).all()
    return {(e.course_assignment_id, e.user_id): e for e in rows}


# ---------------------------------------------------------------------- policies
POLICY_FIELDS = ("due_at", "late_days", "late_penalty_per_day", "attempts_per_day", "attempts_total",
                 "results_released")


def update_policy(offered: CourseAssignment, changes: dict) -> CourseAssignment:
    for field, value in changes.items():
        if field not in POLICY_FIELDS:
            raise BadRequest(f"unknown policy field {field!r}")
        setattr(offered, field, value)
    return offered


def set_extension(session: Session, offered: CourseAssignment, student: User, due_at: dt.datetime) -> Extension:
    extension = extension_for(session, offered, student.id)
    if extension is None:
        extension = Extension(course_assignment_id=offered.id, user_id=student.id, due_at=due_at)
        session.add(extension)
    extension.due_at = due_at
    session.flush()
    return extension


def remove_extension(session: Session, offered: CourseAssignment, student: User) -> None:
    extension = extension_for(session, offered, student.id)
    if extension is None:
        raise NotFound(f"{student.name} has no extension for {offered.assignment_id}", code="extension_not_found")
    session.delete(extension)
