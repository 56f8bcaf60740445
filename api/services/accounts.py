"""Users, courses, memberships and tokens."""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.security import new_token, token_hash
from core import audit, clock
from core.errors import BadRequest, Conflict, NotFound
from core.i18n import _
from core.models import Course, CourseAssignment, Membership, Role, User
from grader.assignments import Catalog

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
ROLES = ("student", "instructor", "admin")


@dataclasses.dataclass
class Enrolment:
    name: str
    role: str
    course: str | None
    token: str | None  # None: the user existed and keeps their token


def create_course(session: Session, catalog: Catalog, slug: str, title: str = "",
                  assignment_ids: list[str] | None = None, language: str | None = None,
                  time_zone: str | None = None) -> Course:
    if not SLUG.match(slug):
        raise BadRequest(_("course name {slug!r}: use lowercase letters, digits and '-'", slug=slug))
    if session.scalar(select(Course).where(Course.slug == slug)):
        raise Conflict(_("course {slug!r} exists already", slug=slug), code="course_exists")
    wanted = assignment_ids if assignment_ids is not None else catalog.ids()
    unknown = sorted(set(wanted) - set(catalog.ids()))
    if unknown:
        raise NotFound(_("no assignment called {unknown}; known: {known}", unknown=", ".join(unknown),
                         known=", ".join(catalog.ids())),
                       code="assignment_not_found")
    if time_zone is not None and not clock.known(time_zone):
        raise BadRequest(_("no time zone called {zone!r} (use an IANA name such as Asia/Shanghai)", zone=time_zone))
    course = Course(slug=slug, title=title or slug, language=language, time_zone=time_zone)
    course.assignments = [CourseAssignment(assignment_id=a) for a in wanted]
    session.add(course)
    session.flush()
    return course


def course_by_slug(session: Session, slug: str) -> Course:
    course = session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        raise NotFound(_("no course called {slug!r}", slug=slug), code="course_not_found")
    return course


def add_user(session: Session, secret_key: str, name: str, role: str, course_slug: str | None = None,
             display_name: str = "", email: str = "", actor: audit.Actor = None) -> Enrolment:
    """Create the user (with a new token) if needed and enrol them in the course."""
    if role not in ROLES:
        raise BadRequest(_("role {role!r}: use one of {roles}", role=role, roles=", ".join(ROLES)))
    if not USER_NAME.match(name):
        raise BadRequest(_("user name {name!r}: use letters, digits and . _ @ -", name=name))
    if role != "admin" and not course_slug:
        raise BadRequest(_("a {role} belongs to a course: name it (--course)", role=role))
    course = course_by_slug(session, course_slug) if course_slug else None
    user = session.scalar(select(User).where(User.name == name))
    token = None
    if user is None:
        token = new_token()
        user = User(name=name, display_name=display_name or name, email=email, token_hash=token_hash(token, secret_key))
        session.add(user)
        session.flush()
    if role == "admin":
        user.is_admin = True
    if course is not None:
        enrol(session, actor, course, user, Role(role) if role != "admin" else Role.instructor)
    return Enrolment(name, role, course_slug, token)


def enrol(session: Session, actor: audit.Actor, course: Course, user: User, role: Role,
          class_name: str | None = None) -> tuple[Membership, str]:
    """Enrol a user (or re-enrol, or change their role or class): the membership and what
    happened: ``added``, ``updated`` or ``unchanged``."""
    membership = session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                         Membership.course_id == course.id))
    if membership is None:
        membership = Membership(user_id=user.id, course_id=course.id, role=role, class_name=class_name or "")
        session.add(membership)
        audit.record(session, course.id, actor, "enrolment", user.name, None, {"enrolled": True, "role": role})
        session.flush()
        return membership, "added"
    outcome = "unchanged"
    if membership.dropped_at is not None:
        audit.record(session, course.id, actor, "enrolment", user.name, {"enrolled": False},
                     {"enrolled": True, "role": role})
        membership.dropped_at = None
        outcome = "added"
    if membership.role != role:
        audit.record(session, course.id, actor, "role", user.name, {"role": membership.role}, {"role": role})
        membership.role = role
        outcome = "updated" if outcome == "unchanged" else outcome
    if class_name is not None and membership.class_name != class_name:
        membership.class_name = class_name
        outcome = "updated" if outcome == "unchanged" else outcome
    return membership, outcome


def reissue_token(session: Session, secret_key: str, name: str) -> str:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(_("no user called {name!r}", name=name), code="user_not_found")
    token = new_token()
    user.token_hash = token_hash(token, secret_key)
    return token


def authenticate(session: Session, secret_key: str, token: str) -> User | None:
    return session.scalar(select(User).where(User.token_hash == token_hash(token, secret_key)))
