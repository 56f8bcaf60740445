"""Who may do what in a course, and when a student's work is due: the rules, once.

Pure functions and values over plain data (a user's ``is_admin``, their role in a course, an
offering's due date and policies, an extension's date), so that the ORM path (api/services, on
sessions and models) and the submit path's batched query (core/store.py, on raw rows) decide
alike.  Nothing here reads the database, and no rule is computed in SQL.

- Rights come from a table, role -> rights (``RIGHTS``); an admin holds every right in every
  course.  A new role (a teaching assistant, say) is one line of that table.
- A student's due date is the later of the assignment's and their extension's: an extension only
  ever extends.  An assignment with no due date has no deadline for anybody: nothing is refused
  and nothing is late, extension or not.  Submissions are accepted until ``late_days`` after the
  due date; each started day late takes ``penalty_per_day`` off (at most everything).
- The course's staff and admins (``exempt``) have no deadline and no attempt limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from core import clock
from core.errors import BadRequest, Forbidden, NotFound, TooManyAttempts
from core.i18n import _
from core.models import Role

DAY = dt.timedelta(days=1)
T = TypeVar("T")


# ---------------------------------------------------------------------- roles and rights
class Right(StrEnum):
    member = "member"           # sees the course's assignments, submits, sees their own submissions
    graded = "graded"           # has a row in the course's gradebook
    exempt = "exempt"           # no deadline, no attempt limit
    see_all = "see_all"         # sees every submission of the course, every check and its detail
    administer = "administer"   # gradebook, statistics, policies, extensions, regrading, written scores


RIGHTS: dict[Role, frozenset[Right]] = {
    Role.student: frozenset({Right.member, Right.graded}),
    Role.instructor: frozenset({Right.member, Right.exempt, Right.see_all, Right.administer}),
}
ADMIN_RIGHTS = frozenset(Right) - {Right.graded}


def rights(is_admin: bool, role: Role | str | None) -> frozenset[Right]:
    """A user's rights in one course, given their role there (None: not a member)."""
    if is_admin:
        return ADMIN_RIGHTS
    return frozenset() if role is None else RIGHTS[Role(role)]


def roles_with(right: Right) -> list[Role]:
    """The roles that hold a right (e.g. those whose members the gradebook lists)."""
    return [role for role, held in RIGHTS.items() if right in held]


def may_see_course(is_admin: bool, role: Role | str | None) -> bool:
    return Right.member in rights(is_admin, role)


def may_administer(is_admin: bool, role: Role | str | None) -> bool:
    return Right.administer in rights(is_admin, role)


def sees_all(is_admin: bool, role: Role | str | None) -> bool:
    return Right.see_all in rights(is_admin, role)


def exempt(is_admin: bool, role: Role | str | None) -> bool:
    """No deadline and no attempt limit (the course's staff, admins)."""
    return Right.exempt in rights(is_admin, role)


def may_see_submission(is_admin: bool, role: Role | str | None, *, own: bool) -> bool:
    """Its student, or whoever sees all of the course's submissions."""
    return own or sees_all(is_admin, role)


def may_reset_password(is_admin: bool, role: Role | str | None, target_is_admin: bool,
                       target_role: Role | str | None) -> bool:
    """An admin resets anyone's password; whoever administers a course resets those of its members
    who do not administer it (an instructor cannot take over a fellow instructor's account)."""
    if is_admin:
        return True
    return (target_role is not None and not target_is_admin and may_administer(False, role)
            and not may_administer(False, target_role))


# ---------------------------------------------------------------------- which offering
def one_offering(offered: Sequence[T], slug_of: Callable[[T], str], assignment_id: str, course_slug: str | None) -> T:
    """The one course assignment a user works on among those their courses offer (already
    narrowed to ``course_slug`` when named), or the 404 / 400 that says why there is none."""
    if not offered:
        refusal = _("no assignment called {assignment!r} in {course}", assignment=assignment_id, course=course_slug) \
            if course_slug else _("no assignment called {assignment!r} in your courses", assignment=assignment_id)
        raise NotFound(refusal, code="assignment_not_found")
    if len(offered) > 1:
        courses = ", ".join(sorted(slug_of(each) for each in offered))
        raise BadRequest(_("{assignment} is offered by several of your courses ({courses}); add ?course=NAME",
                           assignment=assignment_id, courses=courses),
                         code="course_ambiguous")
    return offered[0]


# ---------------------------------------------------------------------- the deadline
def due_date(due_at: dt.datetime | None, extended_to: dt.datetime | None) -> dt.datetime | None:
    """A student's due date: none without the assignment's; else the later of it and the extension."""
    if due_at is None:
        return None
    return due_at if extended_to is None else max(due_at, extended_to)


@dataclasses.dataclass(frozen=True)
class Deadline:
    due_at: dt.datetime | None          # this student's due date (None: no deadline)
    late_days: int                      # days after it that are still accepted
    penalty_per_day: float

    @classmethod
    def of(cls, due_at: dt.datetime | None, late_days: int, penalty_per_day: float,
           extended_to: dt.datetime | None = None, *, exempt: bool = False) -> Deadline:
        """From an offering's policy and the user's extension (None: none); an exempt user
        (``exempt()``) has no deadline."""
        return cls(None if exempt else due_date(due_at, extended_to), late_days, penalty_per_day)

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

    def check(self, assignment_id: str, now: dt.datetime, course_zone: ZoneInfo) -> None:
        """Refuses a submission made after the deadline closed (late days included)."""
        if not self.accepts(now):
            raise Forbidden(_("{assignment} closed at {closed}; ask your instructor for an extension",
                              assignment=assignment_id, closed=clock.said(self.closes_at, course_zone)),
                            code="deadline_passed")


# ---------------------------------------------------------------------- attempts
@dataclasses.dataclass(frozen=True)
class Attempts:
    per_day: int | None                 # in the last 24 hours (None: no limit)
    total: int | None

    @property
    def limited(self) -> bool:
        return self.per_day is not None or self.total is not None

    def check(self, assignment_id: str, now: dt.datetime, total: int, today: int,
              oldest_today: dt.datetime | None) -> None:
        """Given the student's earlier submissions: all of them, those of the last 24 hours and
        the oldest of those; raises if they leave no attempt."""
        if self.total is not None and total >= self.total:
            raise TooManyAttempts(_("you have used all {total} attempts at {assignment}", total=self.total,
                                      assignment=assignment_id))
        if self.per_day is not None and today >= self.per_day:
            wait = max(int((oldest_today + DAY - now).total_seconds()) + 1, 1)
            raise TooManyAttempts(_("you have used your {per_day} attempts at {assignment} in the last 24 hours; the "
                                     "next one is possible in {minutes} minutes", per_day=self.per_day,
                                     assignment=assignment_id, minutes=wait // 60 + 1),
                                  headers={"Retry-After": str(wait)})
