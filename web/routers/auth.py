"""Logging in and out, and setting a password from an invitation: pages over
``api.services.accounts`` and ``api.sessions`` (the same functions as the API's routes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api import sessions
from api.deps import SessionDep, SettingsDep
from api.services import accounts
from core.errors import BadRequest, ServiceError
from core.i18n import _
from grader.i18n import render
from web.pages import PageVisitor
from web.security import local_path
from web.templating import page

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=4096)]
CsrfChecked = [Depends(sessions.check_csrf)]
PASSWORDS_DIFFER = _("the two passwords differ; type the same password twice")


@router.get("/login")
def login_form(request: Request, user: PageVisitor, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(local_path(next), status_code=303)
    return page(request, "login.html", {"next": local_path(next), "name": "", "error": None})


@router.post("/login", dependencies=CsrfChecked)
def login(request: Request, session: SessionDep, settings: SettingsDep, visitor: PageVisitor, name: Text = "",
          password: Text = "", next: Text = "/") -> Response:
    target = local_path(next)
    client = request.client.host if request.client else "unknown"
    try:
        user = accounts.login(session, settings, name.strip(), password, client)
    except ServiceError as exc:
        return page(request, "login.html", {"next": target, "name": name, "error": said(request, exc)},
                    status_code=exc.status_code, headers=retry_after(exc))
    sessions.start(request, session, settings, user)
    session.commit()
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=CsrfChecked)
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    if sessions.secret_of(request):
        sessions.end(request, session, settings)
        session.commit()
    return RedirectResponse("/login", status_code=303)


@router.get("/invite/{code}")
def invitation_form(request: Request, code: str, session: SessionDep, settings: SettingsDep,
                    visitor: PageVisitor) -> Response:
    invited = accounts.invited_user(session, settings, code)
    return page(request, "invite.html", {"code": code, "invited": invited, "error": None})


@router.post("/invite/{code}", dependencies=CsrfChecked)
def accept_invitation(request: Request, code: str, session: SessionDep, settings: SettingsDep, visitor: PageVisitor,
                      password: Text = "", confirm: Text = "") -> Response:
    invited = accounts.invited_user(session, settings, code)
    try:
        if password != confirm:
            raise BadRequest(PASSWORDS_DIFFER, code="passwords_differ")
        user = accounts.accept_invitation(session, settings, code, password)
    except ServiceError as exc:
        session.rollback()
        return page(request, "invite.html", {"code": code, "invited": invited, "error": said(request, exc)},
                    status_code=exc.status_code)
    sessions.start(request, session, settings, user)
    session.commit()
    return RedirectResponse("/", status_code=303)


def said(request: Request, exc: ServiceError) -> str:
    return render(exc.message, request.state.language)


def retry_after(exc: ServiceError) -> dict:
    return {name: value for name, value in exc.headers.items() if name.lower() == "retry-after"}
