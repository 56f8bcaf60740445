"""The worker application: ``build(settings)`` registers the grading task and the process
signals; ``celery -A workers.worker worker -Q cpu`` or ``torchgrade worker`` runs it.

Processes live and die together: SIGTERM, SIGINT and SIGHUP stop the worker warm (the running
grading finishes); each pool process is SIGKILLed when the main process dies (Celery sets its
parent-death signal; ``process.start`` checks that the parent is still there), and its sandbox
zygote exits when the pool process's end of its control socket closes."""

from __future__ import annotations

import functools
import logging
import os

from celery import Celery, signals
from celery.apps.worker import Worker, install_worker_term_handler
from sqlalchemy.exc import OperationalError

from core import logs
from core.broker import create_celery
from core.db import session_factory
from core.queueing import GRADE_TASK, CeleryEnqueuer
from core.settings import Settings, get_settings
from core.workers import count_fault
from grader.assignments import AssignmentError
from grader.sandbox.host import SandboxError
from workers import grading, lti, process
from workers.heartbeat import HeartbeatThread, worker_name
from workers.sweeper import SweeperThread

log = logging.getLogger(__name__)

# Infrastructure faults, retried with backoff (a pack broken by an edit included: it is
# reloaded once fixed); anything else is a bug and fails loudly.
RETRIED = (grading.InfrastructureError, SandboxError, OperationalError, AssignmentError)


def build(settings: Settings) -> Celery:
    app = create_celery(settings)
    sessions = session_factory(settings.database_url)
    enqueuer = CeleryEnqueuer(app)

    @app.task(name=GRADE_TASK, bind=True, autoretry_for=RETRIED, retry_backoff=settings.retry_backoff_s,
              retry_backoff_max=settings.retry_backoff_max_s, retry_jitter=True, max_retries=settings.max_deliveries)
    def grade_submission(task, submission_id: int) -> str:
        try:
            outcome = grading.grade(sessions, process.grader(settings), settings, submission_id)
        except SandboxError:
            _count_fault(sessions, sandbox=True)
            raise
        except grading.GraderFault:
            _count_fault(sessions)
            raise
        if outcome == "gave_up":
            _count_fault(sessions)
        if outcome == "recorded":
            lti.after_recorded(sessions, enqueuer, submission_id)
        return outcome

    lti.register(app, sessions, settings)

    _connect_signals(app, settings, sessions)
    app.Worker = app.subclass_with_self(HangupStopsWorker)
    return app


def _count_fault(sessions, sandbox: bool = False) -> None:
    """Counted in this worker's row for /metrics; a database that is down loses the count only."""
    try:
        with sessions() as session:
            count_fault(session, worker_name(os.getppid()), sandbox=sandbox)
    except Exception:
        log.exception("could not count a grader fault")


class HangupStopsWorker(Worker):
    """SIGHUP (the terminal closed, a supervisor's stop) is a warm shutdown, as SIGTERM is.
    Celery's own SIGHUP handler restarts a worker without a terminal by exec, in place: that
    worker would outlive whatever sent the hang-up."""

    def install_platform_tweaks(self, worker):
        super().install_platform_tweaks(worker)
        install_worker_term_handler(worker, sig="SIGHUP")


def _connect_signals(app: Celery, settings: Settings, sessions) -> None:
    sweeper: list[SweeperThread] = []
    heartbeat: list[HeartbeatThread] = []
    main_pid = os.getpid()  # pool processes are forked from the process that built the app

    def on_process_init(**_):
        process.start(settings, main_pid, worker_name(main_pid))

    def on_process_shutdown(**_):
        process.stop()

    def on_ready(**_):
        heartbeat.append(HeartbeatThread(sessions, settings, worker_name(main_pid), consumed_queues(app)))
        heartbeat[0].beat()  # live from the moment it consumes
        heartbeat[0].start()
        if settings.worker_sweep:
            sweeper.append(SweeperThread(sessions, CeleryEnqueuer(app), settings))
            sweeper[0].start()

    def on_shutdown(**_):
        for thread in sweeper + heartbeat:
            thread.stop()

    def on_setup_logging(loglevel=None, **_):
        # Connected, this signal replaces Celery's own logging set-up: JSON lines (core/logs.py).
        logs.configure(settings.log_format, loglevel or logging.INFO)

    for signal, handler in ((signals.setup_logging, on_setup_logging), (signals.worker_process_init, on_process_init),
                            (signals.worker_process_shutdown, on_process_shutdown),
                            (signals.worker_ready, on_ready), (signals.worker_shutdown, on_shutdown)):
        signal.connect(handler, weak=False, dispatch_uid=f"torchgrade-{handler.__name__}")


def consumed_queues(app: Celery) -> list[str]:
    """The queues this worker consumes (``--queues`` / ``-Q``; Celery's default queue without)."""
    return sorted(app.amqp.queues.consume_from or {app.conf.task_default_queue: None})


@functools.cache
def default_app() -> Celery:
    return build(get_settings())


def __getattr__(name: str):
    if name == "app":
        return default_app()
    raise AttributeError(name)
