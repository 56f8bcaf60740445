"""Logging in and out, invitations, one's own bearer tokens, and password resets."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request, Response, status

from api import sessions
from api.deps import CurrentUser, SessionDep, SettingsDep, speak
from api.routers import errors
from api.schemas import (InvitationIssued, InvitationPublic, LoginIn, PasswordIn, SessionPublic, TokenIn,
                         TokenIssued, TokenPublic)
from api.services import accounts, administration, courses
from core.models import User

router = APIRouter(tags=["accounts"])


def _session_public(request: Request, user: User, csrf: str) -> dict:
    return {"user": {"name": user.name, "display_name": user.display_name, "is_admin": user.is_admin,
                     "language": user.language,
                     "courses": [{"course": m.course.slug, "role": m.role} for m in user.memberships
                                 if m.dropped_at is None]},
            "csrf_token": csrf}


@router.post("/session", response_model=SessionPublic, responses=errors(400, 422, 429))
def log_in(body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep) -> dict:
    """Log in with your ID and password: sets the session cookie (HttpOnly, SameSite=Lax)."""
    client = request.client.host if request.client else "unknown"
    user = accounts.login(session, settings, body.name.strip(), body.password, client)
    csrf = sessions.start(request, session, settings, user)
    session.commit()
    speak(request, settings, user.language, None)
    return _session_public(request, user, csrf)


async def _csrf_if_logged_in(request: Request) -> None:
    if sessions.secret_of(request):
        await sessions.check_csrf(request)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403),
               dependencies=[Depends(_csrf_if_logged_in)])
def log_out(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """End this browser's session (its cookie is void on the server too)."""
    if sessions.secret_of(request):
        sessions.end(request, session, settings)
        session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/invitations/{code}", response_model=InvitationPublic, responses=errors(404))
def read_invitation(code: str, session: SessionDep, settings: SettingsDep) -> dict:
    """Whose invitation this is (the page that sets a password shows it)."""
    user = accounts.invited_user(session, settings, code)
    return {"name": user.name, "display_name": user.display_name}


@router.post("/invitations/{code}", response_model=SessionPublic, responses=errors(400, 404, 422))
def accept_invitation(code: str, body: PasswordIn, request: Request, session: SessionDep,
                      settings: SettingsDep) -> dict:
    """Set your password with the invitation's one-time code; you are logged in."""
    user = accounts.accept_invitation(session, settings, code, body.password)
    csrf = sessions.start(request, session, settings, user)
    session.commit()
    return _session_public(request, user, csrf)


@router.get("/me/tokens", response_model=list[TokenPublic], responses=errors())
def list_tokens(session: SessionDep, user: CurrentUser) -> list:
    """Your bearer tokens (for the CLI and scripts): names and expiry, never the secrets."""
    return accounts.list_tokens(session, user)


@router.post("/me/tokens", response_model=TokenIssued, status_code=status.HTTP_201_CREATED,
             responses=errors(400, 422))
def create_token(body: TokenIn, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> dict:
    """A new named bearer token, shown once."""
    expires_at = body.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
    row, secret = accounts.create_token(session, settings, user, body.name, expires_at)
    session.commit()
    return {"id": row.id, "name": row.name, "created_at": row.created_at, "expires_at": row.expires_at,
            "token": secret}


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def revoke_token(token_id: int, session: SessionDep, user: CurrentUser) -> Response:
    accounts.revoke_token(session, user, token_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/courses/{course}/members/{member}/password-reset", response_model=InvitationIssued,
             responses=errors(403, 404))
def reset_password(course: str, member: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> dict:
    """Void a member's password and browser sessions; give them the new invitation code."""
    target, code = administration.reset_password(session, settings, user,
                                                 courses.course_for_member(session, user, course), member)
    invitation = accounts.live_invitation(session, target)
    session.commit()
    return {"name": target.name, "code": code, "url": accounts.invitation_url(settings, code),
            "expires_at": invitation.expires_at}
