"""Typed dependencies: the settings, a database session, the submit path's batcher, the catalogue,
the queue, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import sessions
from api.errors import language
from api.services import accounts
from api.services.submit_batcher import SubmitBatcher
from core.catalog import ManifestCatalog
from core.errors import Unauthorized
from core.i18n import _
from core.models import User
from core.queueing import CeleryEnqueuer
from core.settings import Settings
from grader.i18n import language_of, negotiate

bearer = HTTPBearer(auto_error=False, description="the token `torchgrade user add` printed, or one made with "
                                                 "POST /api/v1/me/tokens")
# Only for the documentation: api/sessions.py reads the cookie (Starlette's SessionMiddleware).
session_cookie = APIKeyCookie(name=sessions.COOKIE, auto_error=False, description="the browser session that POST "
                              "/api/v1/session starts; changes also need the X-CSRF-Token header")
NO_TOKEN = _("log in, or send your token in an 'Authorization: Bearer <token>' header")
BAD_TOKEN = _("the token is not valid; ask your instructor for a new one")


# These are async only so that FastAPI calls them in the event loop instead of a worker thread
# (none does I/O: a Session connects on first use, in the route's thread).
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


async def get_submit_batcher(request: Request) -> SubmitBatcher:
    return request.app.state.submit_batcher


async def get_catalog(request: Request) -> ManifestCatalog:
    return request.app.state.catalog


async def get_enqueuer(request: Request) -> CeleryEnqueuer:
    return request.app.state.enqueuer


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
SubmitBatcherDep = Annotated[SubmitBatcher, Depends(get_submit_batcher)]
CatalogDep = Annotated[ManifestCatalog, Depends(get_catalog)]
EnqueuerDep = Annotated[CeleryEnqueuer, Depends(get_enqueuer)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def presented_credential(request: Request, credentials: BearerDep,
                               _cookie: Annotated[str | None, Depends(session_cookie)]) -> str | None:
    """The bearer token, else the browser session's secret (after its CSRF check), else None."""
    if credentials is not None:
        return credentials.credentials
    secret = sessions.secret_of(request)
    if secret is not None:
        await sessions.check_csrf(request)
    return secret


CredentialDep = Annotated[str | None, Depends(presented_credential)]


def optional_user(request: Request, session: SessionDep, settings: SettingsDep, credential: CredentialDep) -> User | None:
    """The caller (their language chosen for this request), or None: no, or no valid, credential."""
    user = accounts.authenticate(session, settings.secret_key, credential) if credential else None
    if user is not None:
        course_languages = {m.course.language for m in user.memberships}
        speak(request, settings, user.language, course_languages.pop() if len(course_languages) == 1 else None)
    return user


def current_user(credential: CredentialDep, user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized(BAD_TOKEN if credential else NO_TOKEN)
    return user


def speak(request: Request, settings: Settings, user_language: str | None, course_language: str | None) -> str:
    """Choose the language of this request's messages (``?lang=zh|en`` asked for this request, as
    the student's client sends its --lang, then the user's preference, their course's default,
    Accept-Language, the service's default) and keep it on the request."""
    request.state.language = negotiate(asked_language(request), user_language, course_language,
                                       accept_language=request.headers.get("accept-language"),
                                       default=settings.default_language)
    return request.state.language


def asked_language(request: Request) -> str | None:
    """The language this request names itself (``?lang=``), if torchgrade speaks it."""
    return language_of(request.query_params.get("lang"))


async def request_language(request: Request) -> str:
    """After CurrentUser: the language it chose."""
    return language(request)


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
LanguageDep = Annotated[str, Depends(request_language)]
