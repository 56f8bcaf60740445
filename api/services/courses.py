"""Membership, offerings, deadlines and policies as the database holds them; what they allow is
core/rules.py's to say."""

from __future__ import annotations

import datetime as dt

from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from api.services.accounts import course_by_slug
from core import audit, clock, rules
from core.errors import BadRequest, Forbidden, NotFound
from core.i18n import _
from core.models import Course, CourseAssignment, Extension, Membership, Role, Submission, User
from core.settings import Settings


def role_in(session: Session, user: User, course_id: int) -> Role | None:
    """The user's role in a course (None: not a member, or dropped)."""
    found = session.execute(select(Membership.role, Membership.dropped_at).where(
        Membership.user_id == user.id, Membership.course_id == course_id)).one_or_none()
    return None if found is None else rules.enrolled_role(*found)


def enrolments(user: User) -> list[Membership]:
    """The user's memberships that grant a role (not dropped)."""
    return [m for m in user.memberships if rules.enrolled_role(m.role, m.dropped_at) is not None]


def rights_in(session: Session, user: User, course_id: int) -> frozenset[rules.Right]:
    """The user's rights in a course: their role's, and for a TA what the course grants TAs."""
    if user.is_admin:
        return rules.rights(True, None)
    found = session.execute(select(Membership.role, Membership.dropped_at, Course.ta_grants)
                            .join(Course, Course.id == Membership.course_id)
                            .where(Membership.user_id == user.id, Membership.course_id == course_id)).first()
    if found is None:
        return frozenset()
    return rules.rights(False, rules.enrolled_role(found.role, found.dropped_at), found.ta_grants)


def course_for(session: Session, user: User, slug: str, right: rules.Right, *more: rules.Right) -> Course:
    """The course, if the user holds every right named there; else core/rules.py's refusal."""
    course = course_by_slug(session, slug)
    rules.require(rights_in(session, user, course.id), {right, *more}, slug)
    return course


def course_for_instructor(session: Session, user: User, slug: str) -> Course:
    return course_for(session, user, slug, rules.Right.administer)


def course_for_member(session: Session, user: User, slug: str) -> Course:
    course = course_by_slug(session, slug)
    if rules.Right.member not in rights_in(session, user, course.id):
        raise Forbidden(_("you are not a member of {slug}", slug=slug), code="not_member")
    return course


def sees_all(session: Session, user: User, course_id: int) -> bool:
    """Sees every submission of the course and all of each (its staff, admins)."""
    return rules.Right.see_all in rights_in(session, user, course_id)


def may_administer(session: Session, user: User, course_id: int) -> bool:
    return rules.Right.administer in rights_in(session, user, course_id)


def may_see_submission(session: Session, user: User, submission: Submission) -> bool:
    return rules.may_see_submission(user.is_admin, None, own=submission.user_id == user.id) or \
        sees_all(session, user, submission.course_assignment.course_id)


def may_manage_account(session: Session, user: User, target: User) -> bool:
    """Whether ``user`` may reset ``target``'s password or change their details (core/rules.py),
    given every course the target is in (dropped from, too: a re-enrolment restores the role)
    and the caller's role in each."""
    enrolled = session.execute(select(Membership.course_id, Membership.role).where(
        Membership.user_id == target.id)).all()
    return rules.may_manage_account(user.is_admin, target.is_admin,
                                    [(role_in(session, user, course_id), role) for course_id, role in enrolled])


def set_ta_grants(session: Session, actor: audit.Actor, course: Course, names: list[str]) -> Course:
    """What the course's TAs may do besides reading and grading (core/rules.py's GRANTABLE)."""
    before = ta_grants(course)
    course.ta_grants = rules.checked_grants(names)
    if ta_grants(course) != before:
        audit.record(session, course.id, actor, "permissions", "ta", {"ta_may": before}, {"ta_may": ta_grants(course)})
    return course


def ta_grants(course: Course) -> list[str]:
    return sorted(rules.grants(course.ta_grants))


def offered_to(session: Session, user: User, assignment_id: str, course_slug: str | None = None) -> CourseAssignment:
    """The course assignment a user works on: their only course offering it, or the named one."""
    query = (select(CourseAssignment, Membership.role, Membership.dropped_at).select_from(CourseAssignment)
             .join(Course, Course.id == CourseAssignment.course_id)
             .join(Membership, Membership.course_id == Course.id)
             .where(Membership.user_id == user.id, CourseAssignment.assignment_id == assignment_id))
    if course_slug:
        query = query.where(Course.slug == course_slug)
    return rules.one_offering(visible(user, session.execute(query)), lambda offered: offered.course.slug,
                              assignment_id, course_slug)


def visible(user: User, rows) -> list[CourseAssignment]:
    """Of (course assignment, the user's role there, when they were dropped) rows, the offerings
    the rules let the user see (not dropped; withdrawn ones only for staff)."""
    return [offered for offered, role, dropped_at in rows
            if rules.may_see_offering(user.is_admin, rules.enrolled_role(role, dropped_at), offered.withdrawn_at)]


def course_assignment(session: Session, course: Course, assignment_id: str) -> CourseAssignment:
    offered = session.scalar(select(CourseAssignment).where(CourseAssignment.course_id == course.id,
                                                            CourseAssignment.assignment_id == assignment_id))
    if offered is None:
        raise NotFound(_("{course} offers no assignment called {assignment!r}", course=course.slug,
                         assignment=assignment_id), code="assignment_not_found")
    return offered


def student_in(session: Session, course: Course, name: str) -> User:
    user = session.scalar(select(User).join(Membership).where(User.name == name, Membership.course_id == course.id))
    if user is None:
        raise NotFound(_("{course} has no member called {name!r}", course=course.slug, name=name),
                       code="student_not_found")
    return user


# ---------------------------------------------------------------------- deadlines
def deadline(settings: Settings, offered: CourseAssignment, extended_to: dt.datetime | None, *,
             exempt: bool = False) -> rules.Deadline:
    return rules.Deadline.of(offered.due_at, offered.late_days, offered.late_penalty_per_day, extended_to,
                             exempt=exempt, zone=zone_of(offered.course, settings))


def extension_for(session: Session, offered: CourseAssignment, user_id: int) -> Extension | None:
    return session.scalar(select(Extension).where(Extension.course_assignment_id == offered.id,
                                                  Extension.user_id == user_id))


def deadline_for(session: Session, settings: Settings, offered: CourseAssignment, user_id: int) -> rules.Deadline:
    """One user's deadline: their extension, their exemption (one query)."""
    is_admin, role, extended_to = session.execute(
        select(User.is_admin, Membership.role, Extension.due_at).select_from(User)
        .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.course_id == offered.course_id))
        .outerjoin(Extension, and_(Extension.user_id == User.id, Extension.course_assignment_id == offered.id))
        .where(User.id == user_id)).one()
    return rules.Deadline.of(offered.due_at, offered.late_days, offered.late_penalty_per_day, extended_to,
                             exempt=rules.exempt(is_admin, role), zone=zone_of(offered.course, settings))


def extensions_by_user(session: Session, offered_ids: list[int]) -> dict[tuple[int, int], Extension]:
    rows = session.scalars(select(Extension).where(Extension.course_assignment_id.in_(offered_ids))).all()
    return {(e.course_assignment_id, e.user_id): e for e in rows}


def exempt_members(session: Session, course_ids: list[int]) -> set[tuple[int, int]]:
    """(course id, user id) of the members the rules exempt from deadlines."""
    rows = session.execute(select(Membership.course_id, Membership.user_id, User.is_admin, Membership.role,
                                  Membership.dropped_at)
                           .join(User, User.id == Membership.user_id).where(Membership.course_id.in_(course_ids)))
    return {(course_id, user_id) for course_id, user_id, is_admin, role, dropped_at in rows
            if rules.exempt(is_admin, rules.enrolled_role(role, dropped_at))}


# ---------------------------------------------------------------------- policies
POLICY_FIELDS = ("due_at", "late_days", "late_penalty_per_day", "attempts_per_day", "attempts_total",
                 "results_released")


def update_policy(session: Session, actor: audit.Actor, offered: CourseAssignment, changes: dict,
                  course_zone: ZoneInfo) -> CourseAssignment:
    """A naive due date is course time.  What changed goes to the audit log (a release of hidden
    results as ``release``, the rest as ``policy``)."""
    before = {field: getattr(offered, field) for field in POLICY_FIELDS}
    for field, value in changes.items():
        if field not in POLICY_FIELDS:
            raise BadRequest(_("unknown policy field {field!r}", field=field))
        setattr(offered, field, clock.stored(value, course_zone) if isinstance(value, dt.datetime) else value)
    old, new = audit.changed(before, {field: getattr(offered, field) for field in changes})
    if new:
        action = "release" if set(new) == {"results_released"} else "policy"
        audit.record(session, offered.course_id, actor, action, offered.assignment_id, old, new)
    return offered


def zone_of(course: Course, settings: Settings) -> ZoneInfo:
    """The course's time zone, else the service's: deadlines are entered and shown in it and
    late days counted in it, on every path (the submit path's rows: ``clock.zone(name, default)``)."""
    return clock.zone(course.time_zone, settings.default_time_zone)


def set_time_zone(session: Session, actor: audit.Actor, course: Course, name: str) -> Course:
    """The zone the course's deadlines are entered and shown in, and its late days counted in; the
    stored due dates keep their moment (a due date of 23:59 Shanghai is 16:59 in Paris after the change)."""
    if not clock.known(name):
        raise BadRequest(_("no time zone called {zone!r} (use an IANA name such as Asia/Shanghai)", zone=name))
    if course.time_zone != name:
        audit.record(session, course.id, actor, "policy", "time_zone", {"time_zone": course.time_zone},
                     {"time_zone": name})
    course.time_zone = name
    return course


def set_extension(session: Session, actor: audit.Actor, offered: CourseAssignment, student: User,
                  due_at: dt.datetime, course_zone: ZoneInfo) -> Extension:
    """A naive date is course time."""
    due_at = clock.stored(due_at, course_zone)
    extension = extension_for(session, offered, student.id)
    audit.record(session, offered.course_id, actor, "extension", f"{offered.assignment_id} {student.name}",
                 None if extension is None else {"due_at": extension.due_at}, {"due_at": due_at})
    if extension is None:
        extension = Extension(course_assignment_id=offered.id, user_id=student.id, due_at=due_at)
        session.add(extension)
    extension.due_at = due_at
    session.flush()
    return extension


def remove_extension(session: Session, actor: audit.Actor, offered: CourseAssignment, student: User) -> None:
    extension = extension_for(session, offered, student.id)
    if extension is None:
        raise NotFound(_("{student} has no extension for {assignment}", student=student.name,
                         assignment=offered.assignment_id), code="extension_not_found")
    audit.record(session, offered.course_id, actor, "extension", f"{offered.assignment_id} {student.name}",
                 {"due_at": extension.due_at}, None)
    session.delete(extension)
