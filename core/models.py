"""The data model (SQLAlchemy 2).  ``migrations/`` creates it; nothing calls ``create_all``."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from core.db import UTCDateTime, utcnow
from grader.status import SubmissionStatus

NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s",
          "pk": "pk_%(table_name)s"}


class Role(StrEnum):
    student = "student"
    ta = "ta"                   # a teaching assistant: core/rules.py says what they may do
    instructor = "instructor"


def _enum(enum: type[StrEnum]) -> Enum:
    return Enum(enum, native_enum=False, length=32, values_callable=lambda members: [m.value for m in members],
                validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255), doc="argon2id; none: log in through an "
                                                                       "invitation first")
    language: Mapped[str | None] = mapped_column(String(8), doc="preferred language (zh, en); none: the course's")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class TokenKind(StrEnum):
    token = "token"      # a bearer token for the CLI and scripts, named by its owner
    session = "session"  # a browser's login: the signed session cookie carries it


class ApiToken(Base):
    """A credential: a bearer token or a browser session.  Only a keyed hash is stored; revoking
    one deletes it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[TokenKind] = mapped_column(_enum(TokenKind), default=TokenKind.token)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, doc="none: until revoked")


class Invitation(Base):
    """A one-time code with which a user sets their password (the roster import and a password
    reset make one); a new one voids the old."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed login, kept for a while to rate-limit guessing (api/services/accounts.py)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(8), doc="the course's default language (zh, en); none: the "
                                                              "service's (TORCHGRADE_DEFAULT_LANGUAGE)")
    time_zone: Mapped[str | None] = mapped_column(String(64), doc="IANA zone deadlines are entered and shown in; "
                                                                 "none: the service's (TORCHGRADE_DEFAULT_TIME_ZONE)")
    ta_grants: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]",
                                                 doc="the instructor's rights its TAs hold too (core/rules.py's "
                                                     "GRANTABLE: policy, extensions, release)")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    assignments: Mapped[list[CourseAssignment]] = relationship(back_populates="course",
                                                               order_by="CourseAssignment.assignment_id")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    class_name: Mapped[str] = mapped_column(String(100), default="", doc="the student's class (班级) as the roster "
                                                                         "names it")
    dropped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, doc="when the member was dropped (their "
                                                                            "work is kept); none: enrolled")

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship(back_populates="memberships")


class CourseAssignment(Base):
    """An assignment of the catalogue as one course offers it: deadline and policies."""

    __tablename__ = "course_assignments"
    __table_args__ = (UniqueConstraint("course_id", "assignment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    assignment_id: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    late_days: Mapped[int] = mapped_column(Integer, default=0)
    late_penalty_per_day: Mapped[float] = mapped_column(Float, default=0.0)
    attempts_per_day: Mapped[int | None] = mapped_column(Integer)
    attempts_total: Mapped[int | None] = mapped_column(Integer)
    results_released: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, doc="when it was withdrawn (hidden from "
                                                                              "students, closed, its work kept); "
                                                                              "none: offered")

    course: Mapped[Course] = relationship(back_populates="assignments")


class Extension(Base):
    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("course_assignment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_assignment_id: Mapped[int] = mapped_column(ForeignKey("course_assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_status_enqueued_at", "status", "enqueued_at"),
                      Index("ix_submissions_ca_user", "course_assignment_id", "user_id", "created_at"),
                      Index("ix_submissions_ca_status", "course_assignment_id", "status"))  # the dashboard's counts

    id: Mapped[int] = mapped_column(primary_key=True)
    course_assignment_id: Mapped[int] = mapped_column(ForeignKey("course_assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(16))
    status: Mapped[SubmissionStatus] = mapped_column(_enum(SubmissionStatus), default=SubmissionStatus.queued)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(64), doc="token of the delivery grading it now")
    worker: Mapped[str | None] = mapped_column(String(255), doc="host:pid of the process holding the claim")
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, doc="claims so far, across deaths and retries")
    score: Mapped[float | None] = mapped_column(Float, doc="auto-graded points earned; NULL until graded")
    max_score: Mapped[float] = mapped_column(Float, default=0.0, doc="auto-graded points available (written "
                                                                    "questions not included: core/points.py)")
    grading_s: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict | None] = deferred(mapped_column(JSON))
    pack_version: Mapped[str | None] = mapped_column(String(64), doc="the pack version that graded it (docs/PACKS.md)")

    course_assignment: Mapped[CourseAssignment] = relationship()
    user: Mapped[User] = relationship()


class Answer(Base):
    """A student's latest text for one written question of a course assignment, whichever upload
    carried it (core/answers.py): a .md of answers and a .py of code combine."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("course_assignment_id", "user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_assignment_id: Mapped[int] = mapped_column(ForeignKey("course_assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), doc="of the text (UTF-8)")
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"),
                                                      doc="the upload that carried this text")
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, doc="when that upload was submitted")


class WrittenScore(Base):
    """An instructor's score of one answer text: it counts while the answer still has that text."""

    __tablename__ = "written_scores"
    __table_args__ = (UniqueConstraint("answer_id", "answer_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    answer_sha256: Mapped[str] = mapped_column(String(64), doc="the text it scored")
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SimilarityBase(Base):
    """A file an instructor adds as the course's own code for one assignment: the similarity
    report subtracts it, with the pack's starter and reference/_course/ (grader/similarity.py)."""

    __tablename__ = "similarity_bases"
    __table_args__ = (UniqueConstraint("course_assignment_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_assignment_id: Mapped[int] = mapped_column(ForeignKey("course_assignments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255), doc="its file name (.py, .ipynb or .zip); a new one replaces it")
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionEvent(Base):
    """Progress a worker reports (running, each check, done), replayed by the event stream."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One change an instructor (or an operator at the command line) made to a course: who, when,
    what, and the values before and after (core/audit.py)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_course_at", "course_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(64), doc="the actor's name, kept should the user go")
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200), default="", doc="the assignment, student or submission changed")
    old: Mapped[dict | None] = mapped_column(JSON)
    new: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Worker(Base):
    """A running grading worker, as it last said (core/workers.py): the queues it consumes and
    when it last wrote (a heartbeat on a timer).  Stale rows are workers that died."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(255), primary_key=True, doc="host:pid of the worker's main process")
    queues: Mapped[str] = mapped_column(String(64), doc="comma-separated queues it consumes")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    missing_layers: Mapped[dict] = mapped_column(JSON, default=dict, doc="sandbox layer -> why its sandbox lacks it")
    grader_faults: Mapped[int] = mapped_column(Integer, default=0, doc="gradings that ended in a grader fault")
    sandbox_failures: Mapped[int] = mapped_column(Integer, default=0, doc="sandboxes that failed to start")


# ---------------------------------------------------------------------- LTI 1.3 (api/services/lti.py)
class LtiPlatform(Base):
    """An LMS registered as an LTI 1.3 platform for one course: what it told us at registration,
    and the key this tool signs its service requests with (its public half is served as JWKS)."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_ids: Mapped[list] = mapped_column(JSON, default=list)
    auth_login_url: Mapped[str] = mapped_column(String(1000), doc="the platform's OIDC authorization endpoint")
    auth_token_url: Mapped[str] = mapped_column(String(1000), doc="its OAuth 2 token endpoint (for AGS)")
    key_set_url: Mapped[str] = mapped_column(String(1000), doc="its JWKS, which signs launches")
    auth_audience: Mapped[str | None] = mapped_column(String(1000), doc="aud of token requests; none: the token url")
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    student_id_claim: Mapped[str] = mapped_column(String(200), default="lis.person_sourcedid",
                                                  doc="the launch claim carrying the student ID (User.name)")
    tool_private_key: Mapped[str] = mapped_column(Text, doc="PEM, RSA")
    tool_key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()


class LtiLink(Base):
    """A resource link of the platform (an assignment placed in an LMS course) → the course
    assignment it launches, and the AGS line item its scores go to."""

    __tablename__ = "lti_links"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    course_assignment_id: Mapped[int] = mapped_column(ForeignKey("course_assignments.id", ondelete="CASCADE"),
                                                      index=True)
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    ags_scopes: Mapped[list] = mapped_column(JSON, default=list)

    platform: Mapped[LtiPlatform] = relationship()


class LtiAccount(Base):
    """The platform's user id (``sub``) of a user on the roster: scores are sent to it."""

    __tablename__ = "lti_accounts"
    __table_args__ = (UniqueConstraint("platform_id", "sub"),
                      UniqueConstraint("platform_id", "user_id", name="uq_lti_accounts_platform_id_user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class LtiLaunchData(Base):
    """pylti1p3's launch storage between the OIDC login and the launch (nonces, state), kept in
    the database: the launch is a cross-site POST, which a SameSite=Lax session cookie misses."""

    __tablename__ = "lti_launch_data"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    value: Mapped[dict | list | str | bool | None] = mapped_column(JSON)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
