"""What every page route stands on: its user (or a redirect to the login page) and its language."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from api.deps import OptionalUser, SettingsDep
from core.models import User
from web import i18n


class LoginRequired(Exception):
    """A page that needs a login, asked for without one: answered by a redirect to /login?next=."""

    def __init__(self, target: str):
        super().__init__(target)
        self.target = target


def here(request: Request) -> str:
    """This request's path and query, for ``next=``."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def login_redirect(target: str) -> RedirectResponse:
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def course_language(user: User) -> str | None:
    """The default language of the user's courses, when they agree (as the API's ``current_user``)."""
    languages = {membership.course.language for membership in user.memberships}
    return languages.pop() if len(languages) == 1 else None


def page_user(request: Request, settings: SettingsDep, user: OptionalUser) -> User:
    if user is None:
        raise LoginRequired(here(request))
    request.state.page_user = user
    i18n.choose(request, settings.default_language, user.language, course_language(user))
    return user


def page_visitor(request: Request, settings: SettingsDep, user: OptionalUser) -> User | None:
    """A page anyone may see (login, invitation): the user if logged in."""
    request.state.page_user = user
    i18n.choose(request, settings.default_language, user.language if user else None,
                course_language(user) if user else None)
    return user


PageUser = Annotated[User, Depends(page_user)]
PageVisitor = Annotated[User | None, Depends(page_visitor)]
