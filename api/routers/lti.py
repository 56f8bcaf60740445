"""LTI 1.3 (api/services/lti.py): the OIDC login, the launch, the tool's JWKS and the settings
an LMS administrator enters.  Public routes: a launch authenticates by the platform's signed
JWT, and starts a browser session for the student it names.  A refused launch is a page in
Chinese and English (a browser shows it inside the LMS), with the error's status."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api import sessions as browser_sessions
from api.deps import SessionDep, SettingsDep
from api.services import lti
from core.errors import ServiceError
from grader.i18n import LANGUAGES, render

router = APIRouter(prefix="/lti", tags=["lti"])
STATE_COOKIE_S = 5 * 60
REFUSED_PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>torchgrade</title></head>
<body>{paragraphs}</body></html>
"""


async def lti_request(request: Request) -> lti.LtiRequest:
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    return lti.LtiRequest(params, dict(request.cookies), request.url.scheme == "https")


def refused_page(exc: ServiceError) -> HTMLResponse:
    paragraphs = "\n".join(f'<p lang="{language}">{html.escape(render(exc.message, language))}</p>'
                           for language in LANGUAGES)
    return HTMLResponse(REFUSED_PAGE.format(paragraphs=paragraphs), status_code=exc.status_code)


def with_cookies(response: Response, tool: lti.Tool, secure: bool) -> Response:
    for name, (value, max_age) in tool.cookies.to_set.items():
        # The launch comes back as a cross-site POST: only SameSite=None (which needs https) rides on it.
        response.set_cookie(name, value, max_age=max_age, path="/lti/", httponly=True, secure=secure,
                            samesite="none" if secure else "lax")
    return response


# The login and the launch are the browser's steps of the LTI protocol, answered with redirects and
# HTML pages: not JSON API operations, so not in the OpenAPI document (docs/SERVICE.md, "LMS").
@router.api_route("/login", methods=["GET", "POST"], response_class=RedirectResponse, status_code=302,
                  include_in_schema=False)
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """OIDC third-party initiated login: to the platform's authorization endpoint, with a state
    cookie and a stored nonce."""
    params = await lti_request(request)
    tool = lti.Tool.of(session, params)
    launch_url = f"{base_url(request, settings)}/lti/launch"
    try:
        target = await run_in_threadpool(lti.login_redirect, tool, launch_url)
    except ServiceError as exc:
        return refused_page(exc)
    await run_in_threadpool(session.commit)
    return with_cookies(RedirectResponse(target, status_code=302), tool, params.secure)


@router.post("/launch", response_class=RedirectResponse, status_code=303, include_in_schema=False)
async def launch(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The launch: validated, the student found on the roster, a browser session started, then
    the assignment's page."""
    tool = lti.Tool.of(session, await lti_request(request))
    try:
        launched = await run_in_threadpool(lti.launch, session, tool)
    except ServiceError as exc:
        await run_in_threadpool(session.rollback)
        return refused_page(exc)
    await run_in_threadpool(browser_sessions.start, request, session, settings, launched.user)
    await run_in_threadpool(session.commit)
    return RedirectResponse(launched.page, status_code=303)


@router.get("/jwks")
def jwks(session: SessionDep) -> JSONResponse:
    """This tool's public keys (the platforms check its service requests with them)."""
    return JSONResponse(lti.jwks(session))


@router.get("/config")
def config(request: Request, settings: SettingsDep) -> dict:
    """The URLs an LMS administrator enters when adding this tool."""
    return lti.tool_config(base_url(request, settings))


def base_url(request: Request, settings) -> str:
    """The service's public URL (TORCHGRADE_API_URL), else the one this request came to."""
    return (settings.api_url or str(request.base_url)).rstrip("/")
