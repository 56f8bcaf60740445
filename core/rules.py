"""Who may do what in a course, and when a student's work is due: the rules, once.

Pure functions and values over plain data (a user's ``is_admin``, their role in a course, an
offering's due date and policies, an extension's date), so that the ORM path (api/services, on
sessions and models) and the submit path's batched query (core/store.py, on raw rows) decide
alike.  Nothing here reads the database, and no rule is computed in SQL.

- Rights come from a table, role -> rights (``RIGHTS``); an admin holds every right in every
  course.  A TA is staff for reading (sees every submission, the gradebook, the statistics),
  scores written answers and regrades; the rights that change what students are held to
  (``GRANTABLE``: deadlines and policies, extensions, releasing hidden results) are the
  instructor's, and a TA's only where the course's instructor grants them (``Course.ta_grants``).
  Every refusal says which right is missing (``refusal``).
- Time is course time (core/clock.py): a late day is a day of the course's calendar, ending at
  the due date's wall-clock time ("23:59 Shanghai" -> each following 23:59 Shanghai), so a day
  across a daylight-saving change has 23 or 25 hours.
- A student's due date is the later of the assignment's and their extension's: an extension only
  ever extends.  An assignment with no due date has no deadline for anybody: nothing is refused
  and nothing is late, extension or not.  Submissions are accepted until ``late_days`` after the
  due date; each started day late takes ``penalty_per_day`` off (at most everything).
- The course's staff and admins (``exempt``) have no deadline and no attempt limit.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from core import clock
from core.errors import BadRequest, Forbidden, NotFound, TooManyAttempts
from core.i18n import _
from core.models import Role

DAY = dt.timedelta(days=1)
NEVER = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
T = TypeVar("T")


# ---------------------------------------------------------------------- roles and rights
class Right(StrEnum):
    member = "member"           # sees the course's assignments, submits, sees their own submissions
    graded = "graded"           # has a row in the course's gradebook
    exempt = "exempt"           # no deadline, no attempt limit
    see_all = "see_all"         # every submission (code, every check and its detail), gradebook, statistics
    grade = "grade"             # scores written answers, regrades
    policy = "policy"           # deadlines, late days and penalty, attempt limits
    extensions = "extensions"   # grants and revokes a student's extension
    release = "release"         # releases hidden results to the students
    administer = "administer"   # the instructor's own: what TAs may do (and the course's administration)


STAFF = frozenset({Right.member, Right.exempt, Right.see_all, Right.grade})
GRANTABLE = frozenset({Right.policy, Right.extensions, Right.release})   # to a TA, by the course's instructor
RIGHTS: dict[Role, frozenset[Right]] = {
    Role.student: frozenset({Right.member, Right.graded}),
    Role.ta: STAFF,
    Role.instructor: STAFF | GRANTABLE | {Right.administer},
}
ADMIN_RIGHTS = frozenset(Right) - {Right.graded}


def rights(is_admin: bool, role: Role | str | None, ta_grants: Iterable[str] = ()) -> frozenset[Right]:
    """A user's rights in one course, given their role there (None: not a member) and, for a TA,
    what the course's instructor grants TAs (``Course.ta_grants``)."""
    if is_admin:
        return ADMIN_RIGHTS
    if role is None:
        return frozenset()
    held = RIGHTS[Role(role)]
    return held | grants(ta_grants) if Role(role) == Role.ta else held


def grants(names: Iterable[str] | None) -> frozenset[Right]:
    """The grantable rights among ``names`` (a course's stored ``ta_grants``; others are ignored)."""
    return frozenset(Right(n) for n in names or () if n in GRANTABLE)


def checked_grants(names: Iterable[str]) -> list[str]:
    """What an instructor asks TAs to be allowed, checked: sorted names of grantable rights."""
    unknown = sorted(set(names) - set(GRANTABLE))
    if unknown:
        raise BadRequest(_("TAs cannot be granted {unknown}; grantable: {grantable}", unknown=", ".join(unknown),
                           grantable=", ".join(sorted(GRANTABLE))), code="unknown_grant")
    return sorted(set(names))


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


def may_see_similarity(is_admin: bool, role: Role | str | None) -> bool:
    """The code similarity report compares everyone's code: whoever sees all of the course's
    submissions (its staff, admins), never a student."""
    return sees_all(is_admin, role)


def may_set_similarity_bases(is_admin: bool, role: Role | str | None) -> bool:
    """Adding or removing a file the report subtracts as the course's own code changes what it
    flags: the course's administrators."""
    return may_administer(is_admin, role)


def may_see_submission(is_admin: bool, role: Role | str | None, *, own: bool) -> bool:
    """Its student, or whoever sees all of the course's submissions."""
    return own or sees_all(is_admin, role)


def may_manage_account(is_admin: bool, target_is_admin: bool,
                       roles: Iterable[tuple[Role | str | None, Role | str | None]]) -> bool:
    """Who may reset a user's password or change their name and e-mail (a roster): an admin
    anyone's.  Anyone else only those of a user every one of whose courses they administer
    (``roles``: for each course the target is in, dropped or not, the caller's role there and
    the target's) and who administers none of them: the invitation code a reset hands over *is*
    the account, so it must not reach someone who could not already do all the account may (an
    instructor cannot take over a fellow instructor, nor, by enrolling them, the teacher or a
    student of another course)."""
    if is_admin:
        return True
    pairs = list(roles)
    return bool(pairs) and not target_is_admin and all(
        may_administer(False, mine) and not may_administer(False, theirs) for mine, theirs in pairs)


def may_change_role(is_admin: bool, old: Role | str, new: Role | str) -> bool:
    """Taking a member's administration of a course away (an instructor made a TA or a student)
    is an admin's (or the command line's): a fellow instructor demoted would be a student whose
    password the demoting instructor may reset (``may_manage_account``), that is, their account."""
    return is_admin or not may_administer(False, old) or may_administer(False, new)


def policy_rights(fields: Iterable[str]) -> frozenset[Right]:
    """The rights a change of these policy fields needs: releasing hidden results is ``release``,
    the rest (due date, late days and penalty, attempt limits) ``policy``, as does a change of nothing."""
    return frozenset(Right.release if field == "results_released" else Right.policy for field in fields) \
        or frozenset({Right.policy})


def require(held: frozenset[Right], needed: Right | Iterable[Right], course: str) -> None:
    """Raises the refusal of the first right ``held`` lacks (``rights()`` of the caller)."""
    for right in sorted({needed} if isinstance(needed, Right) else set(needed)):
        if right not in held:
            raise refusal(held, right, course)


def refusal(held: frozenset[Right], right: Right, course: str) -> Forbidden:
    """Why a caller holding ``held`` may not use ``right``: a TA is told to ask for the grant."""
    if right in GRANTABLE and STAFF <= held:
        return Forbidden(TA_REFUSALS[right](course), code="ta_not_allowed")
    if right in STAFF:
        return Forbidden(_("only the instructors and TAs of {slug} may do this", slug=course), code="not_instructor")
    return Forbidden(_("only the instructors of {slug} may do this", slug=course), code="not_instructor")


TA_REFUSALS: dict[Right, Callable[[str], object]] = {
    Right.policy: lambda course: _("only the instructors of {slug} may change deadlines, late policy or attempt "
                                   "limits; ask them to allow TAs to", slug=course),
    Right.extensions: lambda course: _("only the instructors of {slug} may grant or revoke extensions; ask them "
                                       "to allow TAs to", slug=course),
    Right.release: lambda course: _("only the instructors of {slug} may release hidden results; ask them to "
                                    "allow TAs to", slug=course),
}


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


def late_for_nobody_until(due_at: dt.datetime | None) -> dt.datetime:
    """Up to when no one's upload to an assignment is late, whoever they are: its due date (an
    extension only moves a student's later, an exempt member has none); without one, never.
    The gradebook ranks most attempts without working out a student's deadline."""
    return NEVER if due_at is None else due_at


class Phase(StrEnum):
    no_deadline = "no_deadline"
    open = "open"
    late = "late"                       # accepted, with the late penalty
    closed = "closed"                   # refused


@dataclasses.dataclass(frozen=True)
class Deadline:
    due_at: dt.datetime | None          # this student's due date (None: no deadline)
    late_days: int                      # days after it that are still accepted
    penalty_per_day: float
    zone: ZoneInfo = clock.UTC          # the course's: its days are the late days

    @classmethod
    def of(cls, due_at: dt.datetime | None, late_days: int, penalty_per_day: float,
           extended_to: dt.datetime | None = None, *, exempt: bool = False,
           zone: ZoneInfo = clock.UTC) -> Deadline:
        """From an offering's policy, the user's extension (None: none) and the course's time
        zone; an exempt user (``exempt()``) has no deadline."""
        return cls(None if exempt else due_date(due_at, extended_to), late_days, penalty_per_day, zone)

    def days_after(self, days: int) -> dt.datetime:
        """The due date's wall-clock time ``days`` course days later (in UTC)."""
        return clock.days_later(self.due_at, days, self.zone)

    @property
    def closes_at(self) -> dt.datetime | None:
        return None if self.due_at is None else self.days_after(self.late_days)

    def accepts(self, when: dt.datetime) -> bool:
        return self.closes_at is None or when <= self.closes_at

    @functools.cached_property
    def _day_ends(self) -> list[dt.datetime]:
        """When each late day ends, for the late days and one after (a gradebook asks about tens
        of thousands of attempts against one student's deadline: the zone math is done once)."""
        return [self.days_after(day) for day in range(1, self.late_days + 2)]

    def days_late(self, when: dt.datetime) -> int:
        """Started course days after the due date: 23:59 due, 00:30 the next day is 1."""
        if self.due_at is None or when <= self.due_at:
            return 0
        ends = self._day_ends
        if when <= ends[-1]:
            return bisect.bisect_left(ends, when) + 1
        days = max(math.ceil((when - self.due_at) / DAY) - 1, len(ends) + 1)   # a course day has 23 to 25 hours
        while when > self.days_after(days):
            days += 1
        return days

    def late(self, when: dt.datetime) -> tuple[int, float]:
        """Days late and the penalty (a fraction of the points) of a submission made then."""
        days = self.days_late(when)
        return days, min(1.0, days * self.penalty_per_day)

    def penalty(self, when: dt.datetime) -> float:
        return self.late(when)[1]

    def passed(self, now: dt.datetime) -> bool:
        return self.due_at is not None and now > self.due_at

    def phase(self, now: dt.datetime) -> Phase:
        """Where a submission made now stands: before the due date, late (penalised), or refused."""
        if self.due_at is None:
            return Phase.no_deadline
        if now <= self.due_at:
            return Phase.open
        return Phase.late if self.accepts(now) else Phase.closed

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

    def remaining(self, total: int, today: int) -> int | None:
        """Submissions left, given the student's earlier ones (all, those of the last 24 hours);
        None: no limit."""
        left = [limit - used for limit, used in ((self.total, total), (self.per_day, today)) if limit is not None]
        return max(0, min(left)) if left else None

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


# ---------------------------------------------------------------------- enrolment and offering
def enrolled_role(role: Role | str | None, dropped_at: dt.datetime | None) -> Role | str | None:
    """The role a membership grants: none once the member is dropped (their work is kept; a
    re-enrolment restores the role)."""
    return None if dropped_at is not None else role


def may_see_offering(is_admin: bool, role: Role | str | None, withdrawn_at: dt.datetime | None) -> bool:
    """A withdrawn assignment is hidden from students; the course's staff still see it (and its work)."""
    return may_see_course(is_admin, role) and (withdrawn_at is None or sees_all(is_admin, role))


def check_offered(assignment_id: str, course_slug: str, withdrawn_at: dt.datetime | None) -> None:
    """Refuses a new submission to a withdrawn assignment (from anybody: re-offer it first)."""
    if withdrawn_at is not None:
        raise Forbidden(_("{assignment} has been withdrawn from {course}; it takes no new submissions",
                          assignment=assignment_id, course=course_slug), code="assignment_withdrawn")
