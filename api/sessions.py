"""Browser sessions: a signed, HttpOnly, SameSite=Lax cookie (Starlette's SessionMiddleware, signed
with itsdangerous) that carries the secret of a ``session`` row of ``api_tokens`` and a CSRF token.
The row makes a session revocable on the server: logging out, a password reset or a new password
deletes it, whatever the browser keeps.  A request authenticated by the cookie that changes
anything (POST, PUT, PATCH, DELETE) must also present the CSRF token: the ``X-CSRF-Token`` header
(htmx, fetch) or a ``csrf_token`` form field."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from api.services import accounts
from core.errors import Forbidden
from core.i18n import _
from core.models import User
from core.settings import Settings

COOKIE = "tg_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
BAD_CSRF = _("this form has expired or did not come from torchgrade; reload the page and try again")


def install(app: FastAPI, settings: Settings) -> None:
    # The cookie's key is derived from the service's secret, apart from the tokens' keyed hashes.
    key = hmac.new(settings.secret_key.encode(), b"torchgrade session cookie", hashlib.sha256).hexdigest()
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie=COOKIE,
                       max_age=int(settings.session_days * 86400), same_site="lax",
                       https_only=settings.secure_cookies)


def start(request: Request, db: Session, settings: Settings, user: User) -> str:
    """Log the browser in as ``user`` (a new session, a new CSRF token); returns the CSRF token."""
    end(request, db, settings)
    request.session["secret"] = accounts.start_session(db, settings, user)
    request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


def end(request: Request, db: Session, settings: Settings) -> None:
    secret = secret_of(request)
    if secret:
        accounts.end_session(db, settings, secret)
    request.session.clear()


def secret_of(request: Request) -> str | None:
    """The session's secret the cookie carries (None: no cookie, or no SessionMiddleware)."""
    if "session" not in request.scope:
        return None
    secret = request.session.get("secret")
    return secret if isinstance(secret, str) else None


def csrf_token(request: Request) -> str:
    """The token a page embeds in its forms (one per session; made on first use)."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


async def check_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated change without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        presented = (await request.form()).get(CSRF_FIELD)
    if not (isinstance(expected, str) and isinstance(presented, str)
            and hmac.compare_digest(expected.encode(), presented.encode())):
        raise Forbidden(BAD_CSRF, code="csrf_failed")
