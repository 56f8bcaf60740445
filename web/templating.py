"""The pages' Jinja2 environment and ``page()``, which renders a template for a request.

Everything is autoescaped (code, file names, feedback, answers are data, never markup); the
i18n extension's ``_()`` / ``{% trans %}`` read ``web/locale`` in the request's language.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from api import sessions
from web import i18n, nav

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


@pass_context
def _gettext(context, msgid: str) -> str:
    return i18n.gettext(context["language"], msgid)


@pass_context
def _ngettext(context, singular: str, plural: str, count: int) -> str:
    return i18n.ngettext(context["language"], singular, plural, count)


def _moment(value: dt.datetime | None, empty: str = "—") -> str:
    """A moment as the course's clock shows it (``clock.shown`` has put it in the course's zone)."""
    return empty if value is None else value.strftime("%Y-%m-%d %H:%M")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:g}%"


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def environment(folders: list[Path] | None = None) -> Environment:
    env = Environment(loader=FileSystemLoader([TEMPLATES, *(folders or [])]), autoescape=True,
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.filters.update(moment=_moment, percent=_percent, points=_points)
    return env


ENV = environment()


def switch_url(request: Request, language: str) -> str:
    """This page again, in another language: a query-only link (``?…``), which stays on this page
    whatever its path (a path such as ``//evil.example/`` would be another host's address)."""
    query = [(key, value) for key, value in request.query_params.multi_items() if key != i18n.COOKIE]
    return f"?{urlencode([*query, (i18n.COOKIE, language)])}"


def page(request: Request, template: str, context: dict | None = None, status_code: int = 200,
         headers: dict | None = None) -> HTMLResponse:
    """Render a page (or an htmx fragment) in the request's language (``i18n.choose`` first)."""
    language = getattr(request.state, "language", None) or i18n.choose(request, request.app.state.settings.default_language)
    values = {"request": request, "language": language, "csrf_token": sessions.csrf_token(request),
              "user": getattr(request.state, "page_user", None), "language_names": LANGUAGE_NAMES,
              "switch": {other: switch_url(request, other) for other in i18n.other_languages(language)},
              "now": dt.datetime.now(dt.timezone.utc), "nav": nav.links(getattr(request.state, "page_user", None), language)}
    values.update(context or {})
    response = HTMLResponse(ENV.get_template(template).render(values), status_code=status_code, headers=headers)
    response.headers["Content-Language"] = language
    response.headers.setdefault("Cache-Control", "no-store")
    if i18n.switched(request):
        response.set_cookie(i18n.COOKIE, language, max_age=i18n.COOKIE_MAX_AGE_S, samesite="lax", httponly=True)
    return response
