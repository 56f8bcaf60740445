"""LTI 1.3: this service as a tool of an LMS (Canvas, Moodle, …), on pylti1p3.

- **Registration** (``register``): an LMS platform, for one course: its issuer, client id,
  deployment ids and endpoints, and a new RSA key of this tool (its public half is served at
  ``/lti/jwks``; the platform checks the tool's service requests with it).
- **Login and launch** (``login_redirect``, ``launch``): OpenID Connect third-party initiated
  login, then the launch, validated by pylti1p3: the state (a cookie set at login), the nonce
  (stored at login, used once), the issuer and audience (a registered client id), the
  signature (the platform's JWKS), the expiry, the deployment id.  The launch's student ID claim
  (configurable per platform) finds the user on the course's roster, or the launch is refused;
  its resource link names the course assignment.
- **Grade passback** (``passback``): the student's grade for an assignment (the gradebook's, best
  attempt, late penalties applied) to every line item linked to it, through Assignment and Grade
  Services.  Called by the worker's task after a result is recorded and after an instructor
  releases results (``workers.lti``); sending the same score twice changes nothing.

pylti1p3 is framework-neutral: the small adapters here give it a request, cookies, a launch
storage in the database (``LtiLaunchData``) and a redirect.  docs/SERVICE.md, "LMS".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.grade import Grade
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.service_connector import ServiceConnector
from pylti1p3.session import SessionService
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.services import accounts, courses, gradebook
from core import rules
from core.db import utcnow
from core.errors import BadRequest, Forbidden, NotFound, ServiceError
from core.i18n import _
from core.models import CourseAssignment, LtiAccount, LtiLaunchData, LtiLink, LtiPlatform, Membership, Submission, User
from core.settings import Settings
from grader.assignments import Catalog

log = logging.getLogger(__name__)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
CLAIM_PREFIXES = {"lis": CLAIM + "lis", "custom": CLAIM + "custom"}
LAUNCH_DATA_LIFETIME_S = 3600
KEY_BITS = 2048


# ---------------------------------------------------------------------- registration
def register(session: Session, course_slug: str, issuer: str, client_id: str, deployment_ids: list[str],
             auth_login_url: str, auth_token_url: str, key_set_url: str, auth_audience: str | None = None,
             student_id_claim: str = "lis.person_sourcedid") -> LtiPlatform:
    """Register a platform for a course, or update its details (the tool's key is kept)."""
    course = accounts.course_by_slug(session, course_slug)
    platform = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == issuer,
                                                        LtiPlatform.client_id == client_id))
    if platform is None:
        platform = LtiPlatform(issuer=issuer, client_id=client_id, tool_private_key=new_private_key(),
                               tool_key_id=uuid.uuid4().hex)
        session.add(platform)
    platform.course_id = course.id
    platform.deployment_ids = sorted(set(deployment_ids))
    platform.auth_login_url, platform.auth_token_url, platform.key_set_url = auth_login_url, auth_token_url, key_set_url
    platform.auth_audience = auth_audience
    platform.student_id_claim = student_id_claim
    session.flush()
    return platform


def new_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def jwks(session: Session) -> dict:
    """The public keys of every registration (one per platform), as a JSON Web Key Set."""
    return {"keys": [ToolRegistration(p).get_jwks()[0] for p in session.scalars(select(LtiPlatform)
                                                                               .order_by(LtiPlatform.id))]}


def tool_config(base_url: str) -> dict:
    """What an LMS administrator enters when adding the tool."""
    base_url = base_url.rstrip("/")
    return {"oidc_initiation_url": f"{base_url}/lti/login", "target_link_uri": f"{base_url}/lti/launch",
            "redirect_uris": [f"{base_url}/lti/launch"], "jwks_url": f"{base_url}/lti/jwks",
            "scopes": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem", SCORE_SCOPE],
            "custom_parameters": {"assignment": "the assignment id, e.g. w1-hello (or ?assignment= on the "
                                                "target link)"}}


class ToolRegistration(Registration):
    """pylti1p3's registration with this tool's own key id."""

    def __init__(self, platform: LtiPlatform):
        super().__init__()
        self.platform_id = platform.id
        self._kid = platform.tool_key_id
        (self.set_issuer(platform.issuer).set_client_id(platform.client_id)
         .set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
         .set_key_set_url(platform.key_set_url).set_tool_private_key(platform.tool_private_key)
         .set_tool_public_key(public_key(platform.tool_private_key)))
        if platform.auth_audience:
            self.set_auth_audience(platform.auth_audience)

    def get_kid(self) -> str:
        return self._kid

    def get_jwks(self) -> list[Mapping[str, Any]]:
        return [{**jwk, "kid": self._kid} for jwk in super().get_jwks()]


class DatabaseToolConf(ToolConfAbstract):
    """Registrations from ``lti_platforms``: always looked up by issuer and client id (the
    launch's audience), so a token for another client id finds nothing."""

    def __init__(self, session: Session):
        super().__init__()
        self.session = session

    def platform(self, iss: str, client_id: str | None) -> LtiPlatform | None:
        query = select(LtiPlatform).where(LtiPlatform.issuer == iss)
        if client_id is not None:
            return self.session.scalar(query.where(LtiPlatform.client_id == client_id))
        found = self.session.scalars(query).all()
        return found[0] if len(found) == 1 else None   # a login may omit client_id only where it is unambiguous

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args, **kwargs):
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(self, iss: str, client_id: str | None, *args, **kwargs):
        platform = self.platform(iss, client_id)
        return None if platform is None else ToolRegistration(platform)

    def find_deployment(self, iss: str, deployment_id: str):
        return None

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str, *args, **kwargs):
        platform = self.platform(iss, client_id)
        if platform is None or deployment_id not in platform.deployment_ids:
            return None
        return Deployment().set_deployment_id(deployment_id)


# ---------------------------------------------------------------------- pylti1p3's adapters
@dataclasses.dataclass
class LtiRequest(Request):
    """A request as pylti1p3 reads it: its parameters (query and form), cookies, https or not."""

    params: Mapping[str, str]
    cookies: Mapping[str, str]
    secure: bool

    @property
    def session(self):
        return None

    def is_secure(self) -> bool:
        return self.secure

    def get_param(self, key: str):
        return self.params.get(key)

    def get_cookie(self, key: str):
        return self.cookies.get(key)


class Cookies(CookieService):
    """Reads the request's cookies; collects those to set for the router to write."""

    def __init__(self, request: LtiRequest):
        self.request = request
        self.to_set: dict[str, tuple[str, int]] = {}

    def _key(self, name: str) -> str:
        return f"{self._cookie_prefix}-{name}"

    def get_cookie(self, name: str):
        return self.request.get_cookie(self._key(name))

    def set_cookie(self, name: str, value, exp=3600):
        self.to_set[self._key(name)] = (str(value), exp or 3600)


class DatabaseStorage(LaunchDataStorage):
    """Launch data in ``lti_launch_data``, with an expiry; no session id cookie."""

    def __init__(self, session: Session):
        super().__init__()
        self.session = session

    def get_session_cookie_name(self):
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def _live(self, key: str) -> LtiLaunchData | None:
        row = self.session.scalar(select(LtiLaunchData).where(LtiLaunchData.key == self._prepare_key(key)))
        return row if row is not None and row.expires_at > utcnow() else None

    def get_value(self, key: str):
        row = self._live(key)
        return None if row is None else row.value

    def set_value(self, key: str, value, exp=None) -> None:
        key = self._prepare_key(key)
        expires = utcnow() + dt.timedelta(seconds=exp or LAUNCH_DATA_LIFETIME_S)
        row = self.session.scalar(select(LtiLaunchData).where(LtiLaunchData.key == key))
        if row is None:
            self.session.add(LtiLaunchData(key=key, value=value, expires_at=expires))
        else:
            row.value, row.expires_at = value, expires
        self.session.flush()

    def check_value(self, key: str) -> bool:
        return self._live(key) is not None

    def take(self, key: str) -> bool:
        """Remove a live key; False if it was not there (used already, or never stored)."""
        row = self._live(key)
        if row is None:
            return False
        return self.session.execute(delete(LtiLaunchData).where(LtiLaunchData.id == row.id)).rowcount == 1

    def sweep(self) -> None:
        self.session.execute(delete(LtiLaunchData).where(LtiLaunchData.expires_at <= utcnow()))


class Sessions(SessionService):
    def __init__(self, request: LtiRequest, storage: DatabaseStorage):
        super().__init__(request)
        self.storage = storage
        self.set_data_storage(storage)

    def take_nonce(self, nonce: str) -> bool:
        """Use up a nonce this tool issued; False if it is gone (used, expired, never issued)."""
        return self.storage.take(self._get_key("nonce", nonce))


class Redirection(Redirect):
    def __init__(self, location: str):
        self.location = location

    def do_redirect(self):
        return self.location

    def do_js_redirect(self):
        return self.location

    def set_redirect_url(self, location: str):
        self.location = location

    def get_redirect_url(self) -> str:
        return self.location


class Login(OIDCLogin):
    def get_redirect(self, url: str) -> Redirection:
        return Redirection(url)


class Launch(MessageLaunch):
    def _get_request_param(self, key: str):
        return self._request.get_param(key)


@dataclasses.dataclass
class Tool:
    """pylti1p3's collaborators for one request."""

    request: LtiRequest
    config: DatabaseToolConf
    storage: DatabaseStorage
    sessions: Sessions
    cookies: Cookies
    http: requests.Session

    @classmethod
    def of(cls, session: Session, request: LtiRequest, http: requests.Session | None = None) -> Tool:
        storage = DatabaseStorage(session)
        return cls(request, DatabaseToolConf(session), storage, Sessions(request, storage), Cookies(request),
                   http or requests.Session())


def refused(why: Exception) -> ServiceError:
    return BadRequest(_("the launch from your LMS was refused ({why}); open the assignment again from the LMS, "
                        "and ask your instructor if this persists", why=str(why)), code="lti_launch_refused")


# ---------------------------------------------------------------------- login and launch
def login_redirect(tool: Tool, launch_url: str) -> str:
    """The OIDC login: the platform's authorization URL to send the browser to (the state
    cookie to set is in ``tool.cookies``)."""
    tool.storage.sweep()
    try:
        login = Login(tool.request, tool.config, tool.sessions, tool.cookies)
        return login.set_launch_data_lifetime(LAUNCH_DATA_LIFETIME_S).get_redirect_object(launch_url) \
            .get_redirect_url()
    except (LtiException, OIDCException) as exc:
        raise refused(exc) from exc


@dataclasses.dataclass(frozen=True)
class Launched:
    user: User
    offered: CourseAssignment

    @property
    def page(self) -> str:
        """The assignment's web page (web/routers/student.py), in the course of the launch."""
        return f"/assignments/{self.offered.assignment_id}?course={self.offered.course.slug}"


def launch(session: Session, tool: Tool) -> Launched:
    """Validate a launch and find who and what it is for; records the link and the user's
    platform id for grade passback."""
    message = Launch(tool.request, tool.config, tool.sessions, tool.cookies, requests_session=tool.http)
    try:
        claims = message.set_launch_data_lifetime(LAUNCH_DATA_LIFETIME_S).get_launch_data()
    except LtiException as exc:
        raise refused(exc) from exc
    if not tool.sessions.take_nonce(claims["nonce"]):
        raise refused(LtiException("Invalid Nonce"))   # a second launch with the same token, in a race
    if claims.get(CLAIM + "message_type") != "LtiResourceLinkRequest":
        raise refused(LtiException("only resource link launches are supported"))
    platform = tool.config.platform(claims["iss"], message.get_client_id())
    user = _roster_user(session, platform, claims)
    offered = _linked_assignment(session, platform, user, claims)
    _remember(session, platform, user, offered, claims)
    return Launched(user, offered)


def claim_value(claims: Mapping[str, Any], path: str) -> str | None:
    """A claim by a short path: ``lis.person_sourcedid``, ``custom.student_id``, ``email``, ``sub``."""
    head, _dot, rest = path.partition(".")
    value: Any = claims.get(CLAIM_PREFIXES.get(head, head)) if rest else claims.get(path)
    for part in rest.split(".") if rest else ():
        value = value.get(part) if isinstance(value, Mapping) else None
    return str(value).strip() if value not in (None, "") else None


def _roster_user(session: Session, platform: LtiPlatform, claims: Mapping[str, Any]) -> User:
    student_id = claim_value(claims, platform.student_id_claim)
    if student_id is None:
        raise Forbidden(_("your LMS did not send your student ID ({claim}); ask your instructor to check the tool's "
                          "settings", claim=platform.student_id_claim), code="lti_no_student_id")
    found = session.execute(select(User, Membership).join(Membership).where(
        User.name == student_id, Membership.course_id == platform.course_id)).one_or_none()
    user = None if found is None or rules.enrolled_role(found[1].role, found[1].dropped_at) is None else found[0]
    if user is None:                            # not a member, or dropped
        raise Forbidden(_("{student} is not on the roster of {course}; ask your instructor to add you",
                          student=student_id, course=platform.course.slug), code="lti_not_on_roster")
    return user


def _linked_assignment(session: Session, platform: LtiPlatform, user: User,
                       claims: Mapping[str, Any]) -> CourseAssignment:
    """The assignment the link names (its custom parameter, its target, or what it named before),
    as the access rules offer it to this user (``courses.offered_to``: withdrawn ones are the
    staff's only)."""
    link_id = claims[CLAIM + "resource_link"]["id"]
    assignment_id = claim_value(claims, "custom.assignment") or _query_assignment(claims.get(CLAIM + "target_link_uri"))
    if assignment_id is None:
        assignment_id = session.scalar(select(CourseAssignment.assignment_id).join(
            LtiLink, LtiLink.course_assignment_id == CourseAssignment.id).where(
            LtiLink.platform_id == platform.id, LtiLink.resource_link_id == link_id))
    if assignment_id is None:
        raise NotFound(_("this LMS link names no assignment; the instructor sets the custom parameter "
                         "assignment=<id> on it"), code="lti_no_assignment")
    return courses.offered_to(session, user, assignment_id, platform.course.slug)


def _query_assignment(target: str | None) -> str | None:
    values = parse_qs(urlparse(target or "").query).get("assignment")
    return values[0] if values else None


def _remember(session: Session, platform: LtiPlatform, user: User, offered: CourseAssignment,
              claims: Mapping[str, Any]) -> None:
    account = session.scalar(select(LtiAccount).where(LtiAccount.platform_id == platform.id,
                                                      LtiAccount.user_id == user.id))
    if account is None:
        session.execute(delete(LtiAccount).where(LtiAccount.platform_id == platform.id,
                                                 LtiAccount.sub == claims["sub"]))
        session.add(LtiAccount(platform_id=platform.id, user_id=user.id, sub=claims["sub"]))
    else:
        account.sub = claims["sub"]
    link_id = claims[CLAIM + "resource_link"]["id"]
    link = session.scalar(select(LtiLink).where(LtiLink.platform_id == platform.id,
                                                LtiLink.resource_link_id == link_id))
    if link is None:
        link = LtiLink(platform_id=platform.id, resource_link_id=link_id)
        session.add(link)
    ags = claims.get(AGS_CLAIM) or {}
    link.course_assignment_id = offered.id
    link.lineitem_url = ags.get("lineitem") or link.lineitem_url
    link.ags_scopes = list(ags.get("scope") or link.ags_scopes or [])
    session.flush()


# ---------------------------------------------------------------------- grade passback
def linked(session: Session, course_assignment_id: int) -> bool:
    """Whether any LMS line item receives this assignment's scores (the worker asks before it
    queues a passback)."""
    return session.scalar(select(LtiLink.id).where(LtiLink.course_assignment_id == course_assignment_id,
                                                   LtiLink.lineitem_url.is_not(None)).limit(1)) is not None


def passback(session: Session, settings: Settings, catalog: Catalog, user_id: int, course_assignment_id: int,
             http: requests.Session | None = None) -> int:
    """Send the student's current grade for the assignment to every line item linked to it;
    returns how many scores were sent.  Idempotent: a score is the grade now, not a delta."""
    offered = session.get(CourseAssignment, course_assignment_id)
    if offered is None or offered.assignment_id not in catalog.ids():
        return 0
    targets = session.execute(select(LtiLink, LtiAccount.sub).join(LtiAccount, LtiAccount.platform_id ==
                                                                   LtiLink.platform_id)
                              .where(LtiLink.course_assignment_id == offered.id, LtiAccount.user_id == user_id,
                                     LtiLink.lineitem_url.is_not(None))).all()
    if not targets:
        return 0
    grade = gradebook.grades(session, settings, catalog, [offered], "best", [user_id]).get((user_id, offered.id))
    if grade is None:
        return 0
    http = http or requests.Session()
    for link, sub in targets:
        _send_score(link, sub, grade.points, http)
    return len(targets)


def _send_score(link: LtiLink, sub: str, points, http: requests.Session) -> None:
    if SCORE_SCOPE not in link.ags_scopes:
        log.warning("lti link %s: the platform did not grant the score scope; no passback", link.id)
        return
    score = (Grade().set_score_given(points.adjusted).set_score_maximum(points.max_total).set_user_id(sub)
             .set_activity_progress("Completed")
             .set_grading_progress("Pending" if points.pending_max else "FullyGraded")
             .set_timestamp(utcnow().isoformat()))
    connector = ServiceConnector(ToolRegistration(link.platform), http)
    connector.make_service_request(link.ags_scopes, _scores_url(link.lineitem_url), is_post=True,
                                   data=score.get_value(), content_type="application/vnd.ims.lis.v1.score+json")


def _scores_url(lineitem_url: str) -> str:
    """``{lineitem}/scores``, keeping a query string (the AGS spec's rule)."""
    parsed = urlparse(lineitem_url)
    return parsed._replace(path=parsed.path.rstrip("/") + "/scores").geturl()


def linked_students(session: Session, course_assignment_id: int) -> list[int]:
    """Users with a platform id and a line item for this assignment (a release resends theirs)."""
    return list(session.scalars(select(LtiAccount.user_id).join(LtiLink, LtiLink.platform_id == LtiAccount.platform_id)
                                .where(LtiLink.course_assignment_id == course_assignment_id,
                                       LtiLink.lineitem_url.is_not(None)).distinct()))

def queue_passbacks(enqueuer, pairs: list[tuple[int, int]]) -> int:
    """Queue passbacks of (user id, course assignment id); a broker that is down loses them
    (logged; ``torchgrade lti passback`` sends them again).  Returns how many were queued."""
    from core.queueing import BrokerUnavailable

    for done, (user_id, course_assignment_id) in enumerate(pairs):
        try:
            enqueuer.send_passback(user_id, course_assignment_id)
        except BrokerUnavailable as exc:
            log.warning("lti passback of %d grade(s) not queued: %s", len(pairs) - done, exc)
            return done
    return len(pairs)


def after_release(session: Session, enqueuer, offered: CourseAssignment) -> int:
    """An instructor released the results: resend the grades of every linked student."""
    return queue_passbacks(enqueuer, [(user_id, offered.id) for user_id in linked_students(session, offered.id)])


def after_recorded(session: Session, enqueuer, submission_id: int) -> int:
    """A result was recorded (the worker), or a written answer of this submission's student
    scored: queue the student's passback if the assignment is linked."""
    row = session.execute(select(Submission.user_id, Submission.course_assignment_id)
                          .where(Submission.id == submission_id)).one_or_none()
    if row is None or not linked(session, row.course_assignment_id):
        return 0
    return queue_passbacks(enqueuer, [(row.user_id, row.course_assignment_id)])
