"""Errors rendered as ``{"error": {"code": ..., "message": ..., "details": [...]}}``: the
service's own (``core.errors``) and those of FastAPI, Starlette and the database."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import ServiceError
from core.i18n import _
from grader.assignments import UnknownAssignment
from grader.i18n import DEFAULT_LANGUAGE, language_of, negotiate, render

log = logging.getLogger(__name__)


def body(code: str, message: str, details: list | None = None) -> dict:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(IntegrityError, _conflict)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(UnknownAssignment, _unknown_assignment)


def language(request: Request) -> str:
    """The language of this request's messages: the one the caller's dependencies chose (``?lang=``,
    the user's preference, then their course's), else ``?lang=``, else the best of Accept-Language,
    else the service's default."""
    chosen = getattr(request.state, "language", None)
    if chosen:
        return chosen
    settings = getattr(request.app.state, "settings", None)
    return negotiate(language_of(request.query_params.get("lang")),
                     accept_language=request.headers.get("accept-language"),
                     default=getattr(settings, "default_language", DEFAULT_LANGUAGE))


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    return JSONResponse(body(exc.code, render(exc.message, language(request))), status_code=exc.status_code,
                        headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [{"field": ".".join(str(part) for part in error["loc"] if part != "body"), "message": error["msg"]}
               for error in exc.errors()]
    summary = "; ".join(f"{d['field']}: {d['message']}" if d["field"] else d["message"] for d in details)
    return JSONResponse(body("validation_error", summary, details), status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    codes = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable", 413: "file_too_large"}
    return JSONResponse(body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
                        status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _conflict(request: Request, exc: IntegrityError) -> JSONResponse:
    log.warning("integrity error (a concurrent change): %s", exc.orig)
    return JSONResponse(body("conflict", render(_("the change conflicts with another one made at the same time; "
                                                  "try again"), language(request))), status_code=409)


async def _unstorable_value(request: Request, exc: DataError) -> JSONResponse:
    # The database refused a value the request carried: a NUL character in a name or a text, a
    # number beyond its column's range (e.g. submission 2147483648).
    log.info("value refused by the database: %s", exc.orig)
    return JSONResponse(body("invalid_value", render(_("a value in the request is out of range or holds a character "
                                                       "that cannot be stored (such as NUL)"), language(request))),
                        status_code=422)


async def _unknown_assignment(request: Request, exc: UnknownAssignment) -> JSONResponse:
    return JSONResponse(body("assignment_not_found", render(_("{assignment}: it is no longer in the catalogue",
                                                              assignment=exc.args[0]), language(request))),
                        status_code=404)


async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
    log.error("database unavailable: %s", exc)
    return JSONResponse(body("database_unavailable", render(_("the database is unavailable; try again shortly"),
                                                              language(request))),
                        status_code=503, headers={"Retry-After": "5"})
