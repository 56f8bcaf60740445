"""Users, courses, memberships and credentials: passwords (argon2id), one-time invitations,
named bearer tokens and browser sessions (both rows of ``api_tokens``), rate-limited logins."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from api.security import new_token, token_hash
from core import audit, clock, rules
from core.db import utcnow
from core.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from core.i18n import _
from core.models import (ApiToken, Course, CourseAssignment, Invitation, LoginFailure, Membership, Role, TokenKind,
                         User)
from core.settings import Settings
from grader.assignments import Catalog

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is a denial of service
TOKEN_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")
# argon2id with the library's defaults (RFC 9106's second recommendation, 64 MiB); one hasher per process.
HASHER = PasswordHasher()
BAD_LOGIN = _("wrong student/staff ID or password")
ROLES = ("student", "ta", "instructor", "admin")


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
        user = User(name=name, display_name=display_name or name, email=email)
        session.add(user)
        session.flush()
        token = _store_token(session, secret_key, user, TokenKind.token, "default")[1]
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
        if isinstance(actor, User) and not rules.may_change_role(actor.is_admin, membership.role, role):
            raise Forbidden(_("only an admin may take {name}'s instructor role in {course} away", name=user.name,
                              course=course.slug), code="not_admin")
        audit.record(session, course.id, actor, "role", user.name, {"role": membership.role}, {"role": role})
        membership.role = role
        outcome = "updated" if outcome == "unchanged" else outcome
    if class_name is not None and membership.class_name != class_name:
        membership.class_name = class_name
        outcome = "updated" if outcome == "unchanged" else outcome
    return membership, outcome


def user_by_name(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(_("no user called {name!r}", name=name), code="user_not_found")
    return user


def reissue_token(session: Session, secret_key: str, name: str) -> str:
    """Revoke every bearer token of the user and issue one new one (named "default")."""
    user = user_by_name(session, name)
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == TokenKind.token))
    return _store_token(session, secret_key, user, TokenKind.token, "default")[1]


def _store_token(session: Session, secret_key: str, user: User, kind: TokenKind, name: str,
                 expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """The new credential's row, and its secret (shown once: only a keyed hash is stored)."""
    secret = new_token()
    row = ApiToken(user_id=user.id, kind=kind, name=name, token_hash=token_hash(secret, secret_key),
                   expires_at=expires_at)
    session.add(row)
    session.flush()
    return row, secret


def authenticate(session: Session, secret_key: str, token: str) -> User | None:
    """The user of a live bearer token or browser session; None: unknown, revoked or expired."""
    return session.scalar(select(User).join(ApiToken, ApiToken.user_id == User.id)
                          .where(ApiToken.token_hash == token_hash(token, secret_key),
                                 or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow())))


# ---------------------------------------------------------------------- passwords and logins
def check_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(_("the password needs at least {count} characters", count=MIN_PASSWORD),
                         code="weak_password")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(_("the password may have at most {count} characters", count=MAX_PASSWORD),
                         code="weak_password")
    if password.casefold() in (user.name.casefold(), (user.email or "").casefold()):
        raise BadRequest(_("the password must not be your ID or e-mail address"), code="weak_password")


def set_password(session: Session, user: User, password: str) -> None:
    """Set a new password; every browser session of the user ends (their bearer tokens stay)."""
    check_password(user, password)
    user.password_hash = HASHER.hash(password)
    end_sessions(session, user)


def login(session: Session, settings: Settings, name: str, password: str, client: str) -> User:
    """The user whose ID and password these are.  Failures are counted per name and per client
    address; past the limit, even a right password is refused until the window passes (the
    caller commits).  Each attempt is stored as a failure before the password is checked, and
    forgotten when it succeeds: concurrent guesses, each checked while the others are hashing,
    would otherwise all pass the limit."""
    client = client_key(client)
    _refuse_if_limited(session, settings, name, client)
    session.add(LoginFailure(name=name[:64], client=client[:64]))
    session.commit()
    user = session.scalar(select(User).where(User.name == name))
    if not _verify(user, password):
        raise Unauthorized(BAD_LOGIN)
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    session.execute(delete(LoginFailure).where(LoginFailure.name == user.name))
    return user


def client_key(client: str) -> str:
    """What the per-client limit counts: an IPv4 address, or an IPv6 client's /64 (one
    subscriber's network holds 2^64 addresses to rotate through)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:64]
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def _verify(user: User | None, password: str) -> bool:
    """Whether it is the user's password; a failure costs what a check costs, whoever the user
    (no user, no password yet), so the time taken tells no one which IDs exist."""
    if user is None or not user.password_hash or len(password) > MAX_PASSWORD:
        HASHER.hash("spend the same time as a real check")
        return False
    try:
        return HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _refuse_if_limited(session: Session, settings: Settings, name: str, client: str) -> None:
    since = utcnow() - dt.timedelta(seconds=settings.login_window_s)
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at < since))
    failures = lambda column, value: session.scalar(select(func.count()).where(column == value))  # noqa: E731
    if (failures(LoginFailure.name, name[:64]) >= settings.login_max_failures
            or failures(LoginFailure.client, client[:64]) >= settings.login_max_failures_per_client):
        minutes = max(1, round(settings.login_window_s / 60))
        raise TooManyRequests(_("too many failed logins; try again in {minutes} minutes, or ask your instructor to "
                                "reset your password", minutes=minutes),
                              headers={"Retry-After": str(int(settings.login_window_s))})


# ---------------------------------------------------------------------- invitations
def invite(session: Session, settings: Settings, user: User) -> str:
    """A new one-time code that sets the user's password (shown once; their old code is void)."""
    code = _invitation_code()
    session.execute(delete(Invitation).where(Invitation.user_id == user.id))
    session.add(Invitation(user_id=user.id, code_hash=token_hash(code, settings.secret_key),
                           expires_at=utcnow() + dt.timedelta(days=settings.invitation_days)))
    session.flush()
    return code


def _invitation_code() -> str:
    """96 random bits, never starting with ``-``: a spreadsheet would take ``-AbC…`` in the
    invitations CSV for a formula (core/spreadsheet.py would then have to quote the code)."""
    while True:
        code = secrets.token_urlsafe(12)
        if not code.startswith("-"):
            return code


def live_invitation(session: Session, user: User) -> Invitation | None:
    return session.scalar(select(Invitation).where(Invitation.user_id == user.id, Invitation.expires_at > utcnow()))


def invitation_url(settings: Settings, code: str) -> str:
    return f"{settings.api_url.rstrip('/')}/invite/{code}"


def invited_user(session: Session, settings: Settings, code: str) -> User:
    """Whose live invitation this code is."""
    user = session.scalar(select(User).join(Invitation, Invitation.user_id == User.id)
                          .where(Invitation.code_hash == token_hash(code, settings.secret_key),
                                 Invitation.expires_at > utcnow()))
    if user is None:
        raise NotFound(_("this invitation code is not valid or has expired; ask your instructor for a new one"),
                       code="invitation_not_found")
    return user


def accept_invitation(session: Session, settings: Settings, code: str, password: str) -> User:
    user = invited_user(session, settings, code)
    set_password(session, user, password)
    session.execute(delete(Invitation).where(Invitation.user_id == user.id))
    return user


def reset_password(session: Session, settings: Settings, user: User) -> str:
    """Void the user's password and browser sessions; the new invitation code sets a new one."""
    user.password_hash = None
    end_sessions(session, user)
    return invite(session, settings, user)


# ---------------------------------------------------------------------- tokens and sessions
def create_token(session: Session, settings: Settings, user: User, name: str,
                 expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    name = name.strip()
    if not TOKEN_NAME.match(name):
        raise BadRequest(_("a token needs a name of 1 to 100 characters, such as 'laptop'"), code="bad_token_name")
    if expires_at is not None and expires_at <= utcnow():
        raise BadRequest(_("the token's expiry is in the past"), code="bad_expiry")
    return _store_token(session, settings.secret_key, user, TokenKind.token, name, expires_at)


def list_tokens(session: Session, user: User, kind: TokenKind = TokenKind.token) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == kind)
                                .order_by(ApiToken.id)))


def revoke_token(session: Session, user: User, token_id: int) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound(_("you have no token {id}", id=token_id), code="token_not_found")
    session.delete(token)


def start_session(session: Session, settings: Settings, user: User) -> str:
    """A browser session's secret (the signed cookie carries it; api/sessions.py)."""
    return _store_token(session, settings.secret_key, user, TokenKind.session, "browser",
                        utcnow() + dt.timedelta(days=settings.session_days))[1]


def end_session(session: Session, settings: Settings, secret: str) -> None:
    session.execute(delete(ApiToken).where(ApiToken.token_hash == token_hash(secret, settings.secret_key),
                                           ApiToken.kind == TokenKind.session))


def end_sessions(session: Session, user: User) -> None:
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == TokenKind.session))
