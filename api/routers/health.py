"""Liveness (``/healthz``: the process answers), readiness (``/readyz``: a submission accepted
now would be graded) and Prometheus metrics (``/metrics``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from api.errors import language
from api.schemas import Health
from core import readiness
from core.i18n import _
from grader.i18n import render

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> dict:
    """200 while this process answers: a liveness probe restarts a process that does not.  It
    asks nothing of the database or the broker (a restart cures neither): ``/readyz`` does."""
    return {"status": "ok"}


class Readiness(BaseModel):
    status: str = Field(examples=["ready"], description="ready or not_ready")
    checks: dict[str, str] = Field(examples=[{"data_dir": "ok", "database": "ok", "broker": "ok", "workers": "ok",
                                              "worker": "ok"}],
                                   description="each dependency: ok, or why it cannot be used (in the "
                                               "request's language)")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(request: Request) -> JSONResponse:
    """200 when a submission accepted now would be graded: the data directory is writable, the
    database answers and is migrated to the latest revision, the broker takes messages, a live
    worker consumes every queue an offered assignment uses, and the embedded worker of
    ``torchgrade serve`` (when there is one) runs; else 503 saying what is not."""
    settings, said = request.app.state.settings, language(request)
    problems = readiness.problems(settings)
    checks = {name: problems[name].render(said) if name in problems else "ok" for name in readiness.CHECKS}
    if "database" not in problems:
        with request.app.state.sessions() as session:
            problem = readiness.workers_problem(session, request.app.state.catalog, settings)
        checks["workers"] = "ok" if problem is None else problem.render(said)
    worker_alive = getattr(request.app.state, "embedded_worker", None)
    if worker_alive is not None:
        checks["worker"] = "ok" if worker_alive() else render(_("the embedded worker is not running"), said)
    ready = all(check == "ok" for check in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
