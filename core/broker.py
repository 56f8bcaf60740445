"""The Celery application, configured from Settings.

Reliability settings: late acknowledgement and redelivery when a worker process dies
mid-grade, one message prefetched per process, JSON messages, no result backend (the task
writes its result to the database).
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from core.settings import Settings, get_settings
from grader.sandbox.host import ZYGOTE_START_TIMEOUT_S

QUEUES = ("cpu", "gpu")
BROKER_CONNECT_TIMEOUT_S = 2


def transport_options(settings: Settings) -> dict:
    if settings.broker_url.startswith(("redis://", "rediss://")):
        options = {"visibility_timeout": settings.broker_visibility_timeout_s,
                   "socket_connect_timeout": BROKER_CONNECT_TIMEOUT_S, "socket_timeout": 10}
        if settings.broker_key_prefix:
            options["global_keyprefix"] = settings.broker_key_prefix
        return options
    if settings.broker_url.startswith("sqla+sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {}


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("torchgrade", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_backend=None, task_ignore_result=True,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_queues=[Queue(name, routing_key=name) for name in QUEUES], task_default_queue="cpu",
        broker_transport_options=transport_options(settings), broker_connection_timeout=BROKER_CONNECT_TIMEOUT_S,
        broker_connection_retry_on_startup=True, broker_pool_limit=64,
        # A pool process starts its sandbox zygote (torch import) before it reports ready.
        worker_proc_alive_timeout=ZYGOTE_START_TIMEOUT_S,
        worker_concurrency=settings.worker_concurrency, worker_hijack_root_logger=False,
        worker_send_task_events=False, task_send_sent_event=False, worker_enable_remote_control=False,
    )
    if settings.broker_url.startswith("sqla+"):
        _poll_embedded_transport_every(settings.broker_poll_interval_s)
    app.torchgrade_settings = settings
    return app


def _poll_embedded_transport_every(seconds: float) -> None:
    # kombu's SQLAlchemy transport forwards every transport option to create_engine, so its
    # polling interval (1 s by default, a second of latency per submission) is set on the class.
    from kombu.transport import sqlalchemy

    sqlalchemy.Transport.polling_interval = seconds
