"""The database going away right after an upload is committed and published: the upload is
stored and queued, so the client must get its 202, not an error that makes the student upload
it again (a second submission, a second attempt used).  Found by the fault test; reproduced
here in process, on SQLite (every statement made to fail) and on a private PostgreSQL that
crashes at that moment."""

from __future__ import annotations

import contextlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from api.app import create_app
from core.catalog import ManifestCatalog
from core.db import engine_for, session_factory
from core.models import Submission
from tests.api.conftest import RecordingQueue, bearer, submit
from tests.faults.services import private_postgres
from tests.workers.stack import migrated, reference_dir, seed_course, service_settings

SLOT = 44


class DatabaseDiesOnSend(RecordingQueue):
    """The broker takes the message; at that moment, once armed, the database goes down."""

    def __init__(self, outage):
        super().__init__()
        self.outage = outage
        self.armed = False

    def send(self, submission_id: int, queue: str) -> None:
        super().send(submission_id, queue)
        if self.armed:
            self.armed = False
            self.outage.begin()


class SqliteOutage:
    """Every statement fails while it lasts."""

    def __init__(self, url: str):
        self.engine = engine_for(url)
        self.down = False
        event.listen(self.engine, "before_cursor_execute", self._fail_when_down)

    def _fail_when_down(self, *_):
        if self.down:
            raise OperationalError("SELECT", {}, ConnectionRefusedError("the database went away (test)"))

    def begin(self) -> None:
        self.down = True

    def end(self) -> None:
        self.down = False
        event.remove(self.engine, "before_cursor_execute", self._fail_when_down)


class PostgresCrash:
    """The server is stopped at once (no shutdown), then started again."""

    def __init__(self, server):
        self.server = server

    def begin(self) -> None:
        self.server.crash()

    def end(self) -> None:
        self.server.start()


@contextlib.contextmanager
def database(kind: str, data_dir):
    if kind == "sqlite":
        yield "", SqliteOutage
        return
    with private_postgres() as server:
        yield server.url, lambda url: PostgresCrash(server)


@pytest.fixture(params=["sqlite", "postgres"])
def outage_stack(request, tmp_path):
    with database(request.param, tmp_path) as (url, outage_for):
        overrides = {"database_url": url} if url else {}
        settings = migrated(service_settings(tmp_path, reference_dir(tmp_path / "references"), SLOT, **overrides))
        people = seed_course(settings, ManifestCatalog(settings.reference_dir))
        outage = outage_for(settings.database_url)
        queue = DatabaseDiesOnSend(outage)
        with TestClient(create_app(settings, enqueuer=queue)) as client:
            yield client, queue, outage, people, settings


def stored(settings) -> int:
    with session_factory(settings.database_url)() as session:
        return session.scalar(select(func.count()).select_from(Submission))


def test_upload_committed_then_database_down_still_answers_202(outage_stack):
    client, queue, outage, people, settings = outage_stack
    queue.armed = True
    response = submit(client, people, people["students"][0])
    outage.end()
    assert response.status_code == 202, response.text
    assert queue.sent == [(response.json()["id"], "cpu")]
    assert response.json()["course"] == people["course"]
    assert stored(settings) == 1


def test_regrade_committed_then_database_down_still_answers_202(outage_stack):
    client, queue, outage, people, settings = outage_stack
    student = people["students"][0]
    ids = sorted(submit(client, people, student).json()["id"] for _ in range(2))
    queue.sent.clear()
    queue.armed = True
    response = client.post(f"/api/v1/courses/{people['course']}/regrade", headers=bearer(people, "instructor"),
                           json={"student": student})
    outage.end()
    assert response.status_code == 202, response.text
    assert sorted(response.json()["submissions"]) == ids
    assert sorted(submission_id for submission_id, _ in queue.sent) == ids
