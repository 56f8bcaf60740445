"""Publishing a submission id to its queue.  The API and the sweeper use this; a broker that
cannot be reached is ``BrokerUnavailable`` (``send``), or leaves the ids out of those a batch
returns as sent (``send_many``): the submission stays stored, and the sweeper sends it."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence

import redis
import redis.asyncio
from celery import Celery
from kombu.exceptions import KombuError, OperationalError as KombuOperationalError
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

GRADE_TASK = "torchgrade.grade_submission"
PASSBACK_TASK = "torchgrade.lti_passback"  # workers/lti.py: a student's grade to the LMS (api/services/lti.py)
PERSISTENT = 2  # kombu's delivery_mode for messages that survive a broker restart


class BrokerUnavailable(Exception):
    """The broker did not take the message."""


class CeleryEnqueuer:
    """Sends the grading task.  On a ``redis://`` broker the message goes straight onto the
    queue's list with LPUSH (what kombu's Redis transport does, at a third of the CPU), and from
    the event loop many at once in one round trip (``send_many``); any other broker gets
    ``send_task``."""

    def __init__(self, app: Celery):
        self.app = app
        on_redis = app.conf.broker_url.startswith("redis://")
        self.redis = _redis_client(app, redis.Redis, Retry) if on_redis else None
        self.async_redis = _redis_client(app, redis.asyncio.Redis, AsyncRetry) if on_redis else None
        self.key_prefix = app.conf.broker_transport_options.get("global_keyprefix", "")

    def send(self, submission_id: int, queue: str) -> None:
        try:
            if self.redis is None:
                self.app.send_task(GRADE_TASK, args=[submission_id], queue=queue, routing_key=queue, retry=False)
            else:
                self.redis.lpush(self.key_prefix + queue, task_message(self.app, submission_id, queue))
        except (KombuOperationalError, KombuError, RedisError, SQLAlchemyError, OSError) as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def send_passback(self, user_id: int, course_assignment_id: int) -> None:
        """Queue the LMS grade passback of one student's grade for one assignment (default queue)."""
        try:
            self.app.send_task(PASSBACK_TASK, args=[user_id, course_assignment_id], retry=False)
        except (KombuOperationalError, KombuError, RedisError, SQLAlchemyError, OSError) as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def send_many(self, messages: Sequence[tuple[int, str]]) -> list[int]:
        """(submission id, queue) pairs; the ids sent.  On Redis all or none: one LPUSH of many
        values per queue, in one pipeline (in the list's order, so consumers take them in order)."""
        if self.async_redis is None:
            return await asyncio.to_thread(send_each, self, messages)
        bodies: dict[str, list[bytes]] = defaultdict(list)
        for submission_id, queue in messages:
            bodies[queue].append(task_message(self.app, submission_id, queue))
        try:
            async with self.async_redis.pipeline(transaction=False) as pipeline:
                for queue, queued in bodies.items():
                    pipeline.lpush(self.key_prefix + queue, *queued)
                await pipeline.execute()
        except (RedisError, OSError) as exc:
            _not_sent([unsent for unsent, _ in messages], exc)
            return []
        return [sent for sent, _ in messages]

    async def aclose(self) -> None:
        """Closes the event loop's connections (they belong to that loop)."""
        if self.async_redis is not None:
            await self.async_redis.aclose()

    def reachable(self) -> bool:
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
            return True
        except (KombuOperationalError, KombuError, RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("broker unreachable: %s", exc)
            return False


def task_message(app: Celery, submission_id: int, queue: str) -> bytes:
    """The Redis list entry kombu writes for ``send_task(GRADE_TASK, [submission_id], queue=queue)``:
    Celery's own protocol-2 message in kombu's envelope (body in base64, a delivery tag), routed
    by the default exchange (the queue is the routing key), at priority 0 (the list named queue)."""
    task_id = str(uuid.uuid4())
    headers, properties, body, _ = app.amqp.as_task_v2(task_id, GRADE_TASK, args=[submission_id])
    properties.update(delivery_mode=PERSISTENT, priority=0, body_encoding="base64", delivery_tag=str(uuid.uuid4()),
                      delivery_info={"exchange": "", "routing_key": queue})
    return json.dumps({"body": base64.b64encode(json.dumps(body).encode()).decode(), "content-encoding": "utf-8",
                       "content-type": "application/json", "headers": headers, "properties": properties}).encode()


async def send_all_without_blocking(enqueuer, messages: Sequence[tuple[int, str]]) -> list[int]:
    """From the event loop: (submission id, queue) pairs; the ids sent.  The enqueuer's
    ``send_many`` where it has one, else its ``send`` for each in a worker thread."""
    sending = getattr(enqueuer, "send_many", None)
    if sending is None:
        return await asyncio.to_thread(send_each, enqueuer, messages)
    return await sending(messages)


def send_each(enqueuer, messages: Sequence[tuple[int, str]]) -> list[int]:
    """One ``send`` after another, up to the first failure (the broker is down: the rest would
    fail too); the ids sent."""
    sent = []
    for submission_id, queue in messages:
        try:
            enqueuer.send(submission_id, queue)
        except BrokerUnavailable as exc:
            _not_sent([unsent for unsent, _ in messages[len(sent):]], exc)
            break
        sent.append(submission_id)
    return sent


def _not_sent(submission_ids: list[int], error: Exception) -> None:
    log.warning("submission(s) %s stored but not queued (the sweeper will queue them): %s", submission_ids, error)


def _redis_client(app: Celery, client: type, retry: type):
    options = app.conf.broker_transport_options
    # One quick retry on a fresh connection (Redis restarted), never redis-py's default backoff:
    # a broker that is down must not hold up the 202.
    return client.from_url(app.conf.broker_url, socket_connect_timeout=options.get("socket_connect_timeout"),
                           socket_timeout=options.get("socket_timeout"), retry=retry(NoBackoff(), 1))
