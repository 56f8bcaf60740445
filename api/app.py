"""The FastAPI application: ``create_app(settings)``; ``uvicorn api.app:app`` serves the default."""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import AsyncIterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from api import errors, sessions
from api.limits import BodyLimit
from api.metrics import ServiceCollector, StreamCollector
from api.routers import accounts, administration, assignments, courses, health, lti, similarity, submissions
from api.services.progress import Streams
from api.services.submit_batcher import SubmitBatcher
from core.broker import create_celery
from core.catalog import ManifestCatalog
from core.db import session_factory
from core.notify import notifier_for
from core.queueing import CeleryEnqueuer
from core.settings import Settings, get_settings
from core.store import store_for
from web.app import install as install_pages

DESCRIPTION = """Submit PyTorch homework and get it graded in a sandbox.

Every call but `/healthz`, `/readyz`, `/metrics`, logging in and invitations needs
`Authorization: Bearer <token>` (the token `torchgrade user add` printed, or one made with
`POST /api/v1/me/tokens`) or the session cookie that `POST /api/v1/session` sets (then changes also
need its `X-CSRF-Token` header). Errors are `{"error": {"code", "message", "details"}}` with a
4xx status; 503 means the database is unavailable.
"""
UPLOAD_OVERHEAD_BYTES = 64 << 10


def create_app(settings: Settings | None = None, enqueuer=None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="torchgrade", version="1", description=DESCRIPTION,
                  openapi_tags=[{"name": "students"}, {"name": "submissions"}, {"name": "instructors"},
                                {"name": "operations"}], lifespan=_lifespan,
                  docs_url=None, redoc_url=None)  # /docs: web.routers.docs serves Swagger UI from /static
    app.state.settings = settings
    app.state.sessions = session_factory(settings.database_url)
    app.state.submit_store = store_for(settings.database_url)
    app.state.catalog = ManifestCatalog(settings.reference_dir)
    app.state.enqueuer = enqueuer or CeleryEnqueuer(create_celery(settings))
    app.state.submit_batcher = SubmitBatcher(app.state.submit_store, app.state.enqueuer)
    app.state.registry = CollectorRegistry()
    app.state.streams = Streams(settings, app.state.sessions, notifier_for(settings.database_url, settings.sse_poll_s))
    app.state.registry.register(ServiceCollector(app.state.sessions, settings.worker_stale_s))
    app.state.registry.register(StreamCollector(app.state.streams))
    errors.install(app)
    for router in (accounts.router, assignments.router, submissions.router, courses.router, administration.router,
                   similarity.router):
        app.include_router(router, prefix="/api/v1")
    app.include_router(health.router)
    app.include_router(lti.router)
    install_pages(app)  # the web pages at /, /static and /docs
    largest = max(settings.max_upload_kb, settings.max_notebook_kb) << 10  # a notebook may carry its outputs
    app.add_middleware(BodyLimit, max_bytes=largest + UPLOAD_OVERHEAD_BYTES)
    sessions.install(app, settings)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # What is loaded by now (modules, the app) lives as long as the process: out of the cyclic
    # collector's sight, its full passes take 5 ms instead of 100 (every request in flight waits).
    gc.collect()
    gc.freeze()
    await app.state.streams.notifier.start()
    yield
    gc.unfreeze()
    await app.state.streams.notifier.stop()
    # The submit path's connections belong to the event loop that ends here.
    await app.state.submit_batcher.close()
    await app.state.submit_store.close()
    closing = getattr(app.state.enqueuer, "aclose", None)
    if closing is not None:
        await closing()


@functools.cache
def default_app() -> FastAPI:
    return create_app()


def __getattr__(name: str):
    # `uvicorn api.app:app` builds the app on first use, from the environment.
    if name == "app":
        return default_app()
    raise AttributeError(name)
