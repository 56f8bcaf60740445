"""/docs: the API's Swagger UI, its files served from /static/vendor (FastAPI's own page loads
them from a CDN, and runs an inline script the Content-Security-Policy forbids)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.templating import ENV

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(ENV.get_template("docs.html").render(openapi_url=request.app.openapi_url, language="en"))
