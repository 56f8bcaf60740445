"""The pages' language and their messages.

A page speaks, in order: the language picked with the switch (``?lang=zh|en``, remembered in the
``lang`` cookie), the user's preference, their course's default, ``Accept-Language``, the
service's default (Chinese).  Template messages live in ``web/locale/zh.po`` (msgids in English,
Jinja2's i18n extension, %-style placeholders); the service's messages (errors) come from
``core/locale`` as the API's do.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request

from grader.i18n import LANGUAGES, MISSING, SOURCE_LANGUAGE, language_of, negotiate, translations

LOCALE = Path(__file__).resolve().parent / "locale"
COOKIE = "lang"
COOKIE_MAX_AGE_S = 365 * 24 * 3600


def gettext(language: str, msgid: str) -> str:
    """A template message in ``language``; English (and remembered in ``MISSING``) without a translation."""
    if language == SOURCE_LANGUAGE:
        return msgid
    translated = translations(LOCALE, language).get(msgid)
    if translated is None:
        MISSING.add((str(LOCALE), msgid))
        return msgid
    return translated


def ngettext(language: str, singular: str, plural: str, count: int) -> str:
    return gettext(language, singular if count == 1 else plural)


def switched(request: Request) -> str | None:
    """The language the switch asked for in this request (``?lang=``), if any."""
    return language_of(request.query_params.get(COOKIE))


def choose(request: Request, default: str, user_language: str | None = None,
           course_language: str | None = None) -> str:
    """This page's language (kept on the request, where the error handlers find it)."""
    request.state.language = negotiate(switched(request), request.cookies.get(COOKIE), user_language,
                                       course_language, accept_language=request.headers.get("accept-language"),
                                       default=default)
    return request.state.language


def other_languages(language: str) -> list[str]:
    return [each for each in LANGUAGES if each != language]
