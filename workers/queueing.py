"""Publishing a submission id to its queue.  The API and the sweeper use this; a broker that
cannot be reached is ``BrokerUnavailable`` (the submission stays stored, the sweeper sends it)."""

from __future__ import annotations

import logging

from celery import Celery
from kombu.exceptions import KombuError, OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

GRADE_TASK = "torchgrade.grade_submission"


class BrokerUnavailable(Exception):
    """The broker did not take the message."""


class CeleryEnqueuer:
    def __init__(self, app: Celery):
        self.app = app

    def send(self, submission_id: int, queue: str) -> None:
        try:
            self.app.send_task(GRADE_TASK, args=[submission_id], queue=queue, routing_key=queue, retry=False)
        except (KombuOperationalError, KombuError, RedisError, SQLAlchemyError, OSError) as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def reachable(self) -> bool:
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
            return True
        except (KombuOperationalError, KombuError, RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("broker unreachable: %s", exc)
            return False
