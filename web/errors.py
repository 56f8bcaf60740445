"""Errors on pages render as pages, in the user's language; the API's stay JSON.

``install`` wraps each of the app's exception handlers: for a page (any path outside the API,
the operations endpoints and the static files) the JSON handler's message is shown in the error
page with the same status; a missing login (``LoginRequired``, or an ``Unauthorized`` a page
met) redirects to /login?next=.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from core.errors import Unauthorized
from web import i18n
from web.pages import LoginRequired, here, login_redirect
from web.templating import page

log = logging.getLogger(__name__)
NOT_PAGES = ("/api/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/static/")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


def install(app: FastAPI) -> None:
    for exception, handler in list(app.exception_handlers.items()):
        app.add_exception_handler(exception, _as_page(handler))
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Exception, _crash)


def _as_page(handler):
    async def handle(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if not is_page(request) or not isinstance(response, JSONResponse):
            return response
        if isinstance(exc, Unauthorized) or response.status_code == 401:
            return login_redirect(here(request))
        return error_page(request, response.status_code, _message(response), _kept_headers(response))

    handle.__wrapped__ = handler
    return handle


def _message(response: JSONResponse) -> str:
    body = json.loads(response.body)
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("message", "") if isinstance(error, dict) else ""


def _kept_headers(response: Response) -> dict:
    return {name: value for name, value in response.headers.items() if name.lower() in ("retry-after",)}


def error_page(request: Request, status_code: int, message: str, headers: dict | None = None) -> Response:
    if not getattr(request.state, "language", None):
        i18n.choose(request, request.app.state.settings.default_language)
    return page(request, "error.html", {"status_code": status_code, "message": message}, status_code, headers)


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    return login_redirect(exc.target)


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    if not is_page(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    try:
        return error_page(request, 500, "")
    except Exception:  # the error page itself failed: the plain answer
        log.exception("the error page failed")
        return PlainTextResponse("Internal Server Error", status_code=500)
