"""The worker's heartbeat thread (workers/heartbeat.py) writes its row on a timer and deletes it
on a warm shutdown; a stale row is a dead worker; a pool process counts faults and reports its
sandbox's missing layers into the same row.  SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete

from core import workers
from core.db import utcnow
from core.models import Worker
from tests.workers.conftest import db_settings, references, sessions  # noqa: F401 (fixtures)
from tests.workers.stack import wait_for
from workers.heartbeat import HeartbeatThread, worker_name


def row(sessions, name: str) -> Worker | None:
    with sessions() as session:
        return session.get(Worker, name)


def test_beats_on_a_timer_and_is_forgotten_on_shutdown(sessions, db_settings):
    with sessions() as session:
        session.execute(delete(Worker))
        session.commit()
    settings = db_settings.model_copy(update={"worker_heartbeat_s": 0.1})
    name = worker_name()
    thread = HeartbeatThread(sessions, settings, name, ["cpu", "gpu"])
    thread.beat()
    first = row(sessions, name).last_seen
    thread.start()
    wait_for(lambda: row(sessions, name).last_seen > first, 10, "a second beat")
    with sessions() as session:
        assert workers.live_queues(session, settings.worker_stale_s) == {"cpu", "gpu"}
        assert workers.live_queues(session, settings.worker_stale_s, now=utcnow() + dt.timedelta(minutes=5)) == set()
    thread.stop()
    thread.join(5)
    assert row(sessions, name) is None


def test_faults_and_layers_land_in_the_workers_row(sessions):
    with sessions() as session:
        workers.beat(session, "host-f:9", ["cpu"])
        workers.count_fault(session, "host-f:9")
        workers.count_fault(session, "host-f:9")
        workers.count_fault(session, "host-f:9", sandbox=True)
        workers.report_layers(session, "host-f:9", {"seccomp": "refused"})
    found = row(sessions, "host-f:9")
    assert (found.grader_faults, found.sandbox_failures, found.missing_layers) == (2, 1, {"seccomp": "refused"})


def test_a_day_stale_row_is_deleted_by_the_next_beat(sessions):
    with sessions() as session:
        workers.beat(session, "host-g:1", ["cpu"], now=utcnow() - dt.timedelta(days=2))
        workers.beat(session, "host-h:1", ["cpu"])
    assert row(sessions, "host-g:1") is None and row(sessions, "host-h:1") is not None
