"""The API in process (TestClient) against SQLite and against PostgreSQL, with a queue that
records what it is sent (the end-to-end tests in tests/workers use a real broker and worker)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core import lifecycle
from core.catalog import ManifestCatalog
from core.db import session_factory
from core.queueing import BrokerUnavailable
from grader.results import GradeResult, TestResult
from grader.status import CheckStatus, SubmissionStatus
from tests.workers.stack import migrated, postgres_schema, reference_dir, seed_course, service_settings


class RecordingQueue:
    def __init__(self):
        self.sent: list[tuple[int, str]] = []
        self.passbacks: list[tuple[int, int]] = []
        self.down = False

    def send(self, submission_id: int, queue: str) -> None:
        if self.down:
            raise BrokerUnavailable("connection refused (test)")
        self.sent.append((submission_id, queue))

    def send_passback(self, user_id: int, course_assignment_id: int) -> None:
        if self.down:
            raise BrokerUnavailable("connection refused (test)")
        self.passbacks.append((user_id, course_assignment_id))

    def reachable(self) -> bool:
        return not self.down


@pytest.fixture(scope="session")
def references(tmp_path_factory):
    return reference_dir(tmp_path_factory.mktemp("references"))


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def api_settings(request, tmp_path_factory, references):
    data_dir = tmp_path_factory.mktemp(f"api-{request.param}")
    if request.param == "sqlite":
        yield migrated(service_settings(data_dir, references, slot=10))
        return
    with postgres_schema() as url:
        yield migrated(service_settings(data_dir, references, slot=10, database_url=url))


@pytest.fixture(scope="session")
def queue_and_client(api_settings):
    queue = RecordingQueue()
    with TestClient(create_app(api_settings, enqueuer=queue)) as client:
        yield queue, client


@pytest.fixture
def queue(queue_and_client):
    queue = queue_and_client[0]
    queue.sent.clear()
    queue.passbacks.clear()
    queue.down = False
    return queue


@pytest.fixture
def client(queue_and_client):
    return queue_and_client[1]


@pytest.fixture(scope="session")
def catalog(api_settings):
    return ManifestCatalog(api_settings.reference_dir)


@pytest.fixture
def course(api_settings, catalog):
    return seed_course(api_settings, catalog)


@pytest.fixture
def sessions(api_settings):
    return session_factory(api_settings.database_url)


def bearer(people: dict, who: str) -> dict:
    return {"Authorization": f"Bearer {people['tokens'][who]}"}


def submit(client, people: dict, who: str, assignment: str = "w0-service", content: bytes = b"def answer():\n"
           b"    return 42\n", filename: str = "hw.py", **params):
    return client.post(f"/api/v1/assignments/{assignment}/submissions", headers=bearer(people, who),
                       files={"file": (filename, content)}, params=params)


def record_result(sessions, submission_id: int, visible: str = "passed", hidden: str = "passed") -> None:
    """Grade a w0-service submission without a sandbox: the worker's own claim and record."""
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    points = {"passed": 1.0, "failed": 0.0}
    tests = [TestResult(name="answer_visible", score=2 * points[visible], max_score=2, status=CheckStatus(visible),
                        feedback="" if visible == "passed" else "answer() returned 41, expected 42"),
             TestResult(name="grader_health", score=1, max_score=1, status=CheckStatus.passed),
             TestResult(name="answer_hidden", score=3 * points[hidden], max_score=3, status=CheckStatus(hidden),
                        visibility="hidden", feedback="" if hidden == "passed" else "secret feedback",
                        detail="instructor-only traceback"),
             TestResult(name="Q1", score=0, max_score=5, status=CheckStatus.pending,
                        feedback="written answer received; an instructor will score it")]
    result = GradeResult(assignment="w0-service", submission="hw.py", status=SubmissionStatus.graded,
                         score=sum(t.score for t in tests), max_score=6, pending_max_score=5, tests=tests,
                         answers={"Q1": "Because."})
    assert lifecycle.record(sessions, claimed, result, 0.2, result.score)
