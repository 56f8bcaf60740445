"""Each pool process holds its own warm Grader, on its own sandbox slot (its own uid):
slot = TORCHGRADE_SANDBOX_SLOT + the pool process's index."""

from __future__ import annotations

import logging
import os
import signal

from billiard.process import current_process

from core.db import engine_for, session_factory
from core.settings import Settings
from core.workers import report_layers as store_layers
from grader.assignments import AssignmentError
from grader.engine import Grader
from grader.sandbox import cgroups
from grader.sandbox.host import SandboxError

log = logging.getLogger(__name__)

_grader: Grader | None = None


def slot_settings(settings: Settings) -> Settings:
    index = getattr(current_process(), "index", None) or 0
    return settings.model_copy(update={"sandbox_slot": settings.sandbox_slot + index})


def start(settings: Settings, main_pid: int, worker: str | None = None) -> None:
    """In a new pool process: make sure it dies with the worker's main process, drop the
    parent's database connections, warm a sandbox."""
    global _grader
    # Celery has set this process's parent-death signal (SIGKILL); a main process that died
    # before that would never send it.  A hang-up is for the main process to act on (a warm
    # shutdown): the grading in progress here finishes.
    if os.getppid() != main_pid:
        log.error("the worker's main process (pid %s) is gone; this pool process exits", main_pid)
        os._exit(1)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    engine_for(settings.database_url).dispose(close=False)
    mine = slot_settings(settings)
    limit_memory(mine)
    try:
        _grader = Grader(mine).start()
        _grader.catalog.all()  # import every pack's checks now, not during a student's first grading
        log.info("pool process ready on sandbox slot %s", mine.sandbox_slot, extra={"worker": worker})
        if worker is not None:
            report_layers(settings, worker, _grader.sandbox.missing_layers())
    except SandboxError as exc:
        log.error("sandbox did not start on slot %s (the first task retries): %s", mine.sandbox_slot, exc,
                  extra={"worker": worker})
    except AssignmentError as exc:  # packs are reloaded when they change: fixing it is enough
        log.error("a pack is broken; its submissions wait until it is fixed: %s", exc)


def report_layers(settings: Settings, worker: str, missing: dict[str, str]) -> None:
    """The sandbox layers this pool process's sandbox lacks, for /metrics."""
    try:
        with session_factory(settings.database_url)() as session:
            store_layers(session, worker, missing)
    except Exception:
        log.exception("could not report the sandbox's layers", extra={"worker": worker})


def limit_memory(settings: Settings) -> None:
    """The grading process (the trusted checker) under its own memory limit, before it warms a
    sandbox (its zygote moves to the slot's group)."""
    if not settings.sandbox_worker_memory_mb:
        return
    why = cgroups.limit_worker_memory(settings.sandbox_slot, settings.sandbox_worker_memory_mb)
    if why is None:
        log.info("grading process limited to %s MB of memory", settings.sandbox_worker_memory_mb)
    else:
        log.warning("grading process runs without a memory limit: %s", why)


def grader(settings: Settings) -> Grader:
    global _grader
    if _grader is None:
        _grader = Grader(slot_settings(settings)).start()
    return _grader


def stop() -> None:
    global _grader
    if _grader is not None:
        _grader.close()
        _grader = None
