"""Running a course: offer and withdraw assignments, list, drop and re-enrol members, reissue
invitations in bulk.  The API's routes and the CLI's commands call these; each change is written
to the audit log (core/audit.py) in the same transaction.  What a dropped member or a withdrawn
assignment may still do is core/rules.py's to say."""

from __future__ import annotations

import dataclasses
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import accounts, courses
from core import audit, spreadsheet
from core.db import utcnow
from core.errors import BadRequest, Forbidden, NotFound
from core.i18n import _
from core.models import Course, CourseAssignment, Membership, Role, User
from core.settings import Settings
from grader.assignments import Catalog


# ---------------------------------------------------------------------- offerings
def offer(session: Session, catalog: Catalog, actor: audit.Actor, course: Course,
          assignment_id: str) -> CourseAssignment:
    """Offer a pack of the catalogue (one added since the course began, too), or offer a
    withdrawn one again (its work and policies as they were).  Offering an offered one changes nothing."""
    if assignment_id not in catalog.ids():
        raise NotFound(_("no assignment called {unknown}; known: {known}", unknown=assignment_id,
                         known=", ".join(catalog.ids())), code="assignment_not_found")
    offered = session.scalar(select(CourseAssignment).where(CourseAssignment.course_id == course.id,
                                                            CourseAssignment.assignment_id == assignment_id))
    if offered is None:
        offered = CourseAssignment(course_id=course.id, assignment_id=assignment_id)
        session.add(offered)
        audit.record(session, course.id, actor, "offer", assignment_id, None, {"offered": True})
    elif offered.withdrawn_at is not None:
        audit.record(session, course.id, actor, "offer", assignment_id, {"withdrawn_at": offered.withdrawn_at},
                     {"withdrawn_at": None})
        offered.withdrawn_at = None
    session.flush()
    return offered


def withdraw(session: Session, actor: audit.Actor, course: Course, assignment_id: str) -> CourseAssignment:
    """Hide an assignment from the students and close it to new submissions; every submission,
    score and answer stays (``offer`` restores it)."""
    offered = courses.course_assignment(session, course, assignment_id)
    if offered.withdrawn_at is None:
        offered.withdrawn_at = utcnow()
        audit.record(session, course.id, actor, "withdraw", assignment_id, {"withdrawn_at": None},
                     {"withdrawn_at": offered.withdrawn_at})
    return offered


def offerings(session: Session, course: Course) -> list[CourseAssignment]:
    """Every assignment the course has offered, withdrawn ones included."""
    return list(session.scalars(select(CourseAssignment).where(CourseAssignment.course_id == course.id)
                                .order_by(CourseAssignment.assignment_id)))


def offering_shown(offered: CourseAssignment) -> dict:
    return {"course": offered.course.slug, "assignment": offered.assignment_id,
            "withdrawn": offered.withdrawn_at is not None, "withdrawn_at": offered.withdrawn_at}


# ---------------------------------------------------------------------- members
def members(session: Session, course: Course, *, role: str | None = None,
            include_dropped: bool = False) -> list[tuple[User, Membership]]:
    """The course's members (by login name), enrolled ones only unless ``include_dropped``."""
    query = (select(User, Membership).join(Membership, Membership.user_id == User.id)
             .where(Membership.course_id == course.id).order_by(User.name))
    if role:
        query = query.where(Membership.role == role)
    if not include_dropped:
        query = query.where(Membership.dropped_at.is_(None))
    return [tuple(row) for row in session.execute(query)]


def member_shown(user: User, membership: Membership) -> dict:
    return {"student_id": user.name, "name": user.display_name, "class": membership.class_name,
            "email": user.email, "role": membership.role, "dropped": membership.dropped_at is not None,
            "dropped_at": membership.dropped_at}


def membership_of(session: Session, course: Course, name: str) -> tuple[User, Membership]:
    found = session.execute(select(User, Membership).join(Membership, Membership.user_id == User.id)
                            .where(User.name == name, Membership.course_id == course.id)).one_or_none()
    if found is None:
        raise NotFound(_("{course} has no member called {name!r}", course=course.slug, name=name),
                       code="student_not_found")
    return tuple(found)


def drop(session: Session, actor: audit.Actor, course: Course, name: str) -> Membership:
    """The member can no longer see the course or submit; their work and scores stay, and the
    gradebook leaves them out unless asked."""
    user, membership = membership_of(session, course, name)
    if isinstance(actor, User) and actor.id == user.id:
        raise BadRequest(_("you cannot drop yourself from {course}", course=course.slug), code="drop_self")
    if membership.dropped_at is None:
        membership.dropped_at = utcnow()
        audit.record(session, course.id, actor, "enrolment", name, {"enrolled": True, "role": membership.role},
                     {"enrolled": False})
    return membership


def reenrol(session: Session, actor: audit.Actor, course: Course, name: str) -> Membership:
    """Undo a drop: the member sees the course and their work again."""
    user, membership = membership_of(session, course, name)
    return accounts.enrol(session, actor, course, user, membership.role)[0]


# ---------------------------------------------------------------------- passwords
def reset_password(session: Session, settings: Settings, actor: User, course: Course, name: str) -> tuple[User, str]:
    """Void a member's password and browser sessions (core/rules.py's ``may_manage_account``
    says whose); the new invitation code, which the audit log records was handed out."""
    target = courses.student_in(session, course, name)
    _check_manages(session, actor, target)
    code = accounts.reset_password(session, settings, target)
    audit.record(session, course.id, actor, "password_reset", target.name)
    return target, code


# ---------------------------------------------------------------------- invitations
@dataclasses.dataclass(frozen=True)
class Invitation:
    student_id: str
    name: str
    class_name: str
    code: str
    url: str


INVITATION_HEADER = ("学号/student_id", "姓名/name", "班级/class", "邀请码/invitation_code", "邀请链接/invitation_url")


def invite(session: Session, settings: Settings, user: User, class_name: str = "") -> Invitation:
    """A new one-time invitation for the user (their earlier one is void)."""
    code = accounts.invite(session, settings, user)
    return Invitation(user.name, user.display_name, class_name, code, accounts.invitation_url(settings, code))


def reissue_invitations(session: Session, settings: Settings, actor: audit.Actor, course: Course,
                        names: list[str] | None = None) -> list[Invitation]:
    """New invitations for the named members, or for every enrolled student of the course.  A
    code sets the password of whoever has one, so an instructor (``actor``) gets codes only for
    the accounts they manage (``courses.may_manage_account``, as a reset): a named other one is
    refused, and "every student" leaves out those who are also in someone else's course.  The
    command line's operator (``actor`` a string or None) gets every code."""
    if names:
        chosen = [membership_of(session, course, name) for name in names]
        for user, _membership in chosen:
            _check_manages(session, actor, user)
    else:
        chosen = [(user, membership) for user, membership in members(session, course, role=Role.student)
                  if _manages(session, actor, user)]
    return [invite(session, settings, user, membership.class_name) for user, membership in chosen]


def _manages(session: Session, actor: audit.Actor, user: User) -> bool:
    return not isinstance(actor, User) or courses.may_manage_account(session, actor, user)


def _check_manages(session: Session, actor: audit.Actor, user: User) -> None:
    if not _manages(session, actor, user):
        raise Forbidden(_("only an instructor of every course {name} is in may reset their password, and never a "
                          "fellow instructor's; ask an admin", name=user.name), code="not_instructor")


def invitations_csv(invitations: list[Invitation]) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheet programs read 姓名 right) and LF line ends."""
    out = io.StringIO()
    writer = spreadsheet.writer(out, lineterminator="\n")
    writer.writerow(INVITATION_HEADER)
    for each in invitations:
        writer.writerow([each.student_id, each.name, each.class_name, each.code, each.url])
    return out.getvalue().encode("utf-8-sig")
