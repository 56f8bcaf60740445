"""``install(app)``: the pages, their static files, /docs, the security headers and the error
pages, added to the API's app (``api.app.create_app`` calls it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from web import errors
from web.routers import auth, docs, similarity, staff, student
from web.security import SecurityHeaders

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (docs.router, auth.router, student.router, staff.router, similarity.router):
        app.include_router(router)
    errors.install(app)
    app.add_middleware(SecurityHeaders)
