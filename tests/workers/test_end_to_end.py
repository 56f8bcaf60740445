"""The real stack, end to end: the API (uvicorn), a Celery worker process with its warm
sandbox, Redis and PostgreSQL.  HTTP submission to recorded score, a worker killed mid-grade,
a grader fault retried, the broker down at submit time, duplicate deliveries."""

from __future__ import annotations

import dataclasses
import os
import signal

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from api.app import create_app
from torchgrade_client.submit import sse_events
from core.broker import create_celery
from core.db import session_factory
from core.models import Submission, SubmissionEvent
from core.queueing import CeleryEnqueuer
from tests.workers.stack import ANSWER, GOOD, SLOTS, VARIANCE, Process, free_port, seed_course, service_stack, wait_for

GRADING_TIMEOUT_S = 120


@dataclasses.dataclass
class Stack:
    settings: object
    url: str
    worker: Process
    people: dict

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.people['tokens'][who]}"}

    @property
    def student(self) -> str:
        return self.people["students"][0]

    def submit(self, assignment: str, content: bytes, filename: str = "hw.py", who: str | None = None) -> dict:
        response = httpx.post(f"{self.url}/api/v1/assignments/{assignment}/submissions",
                              headers=self.headers(who or self.student), files={"file": (filename, content)})
        assert response.status_code == 202, response.text
        return response.json()

    def get(self, submission_id: int, who: str | None = None) -> dict:
        return httpx.get(f"{self.url}/api/v1/submissions/{submission_id}", headers=self.headers(who or self.student)).json()

    def final(self, submission_id: int, who: str | None = None) -> dict:
        def finished() -> dict | None:
            shown = self.get(submission_id, who)
            return shown if shown["status"] not in ("queued", "running") else None
        return wait_for(finished, GRADING_TIMEOUT_S, f"submission {submission_id} to be graded", 0.2)

    def running(self, submission_id: int) -> Submission:
        def claimed() -> Submission | None:
            row = self.row(submission_id)
            return row if row.status == "running" else None
        return wait_for(claimed, GRADING_TIMEOUT_S, f"submission {submission_id} to be running")

    def row(self, submission_id: int) -> Submission:
        with session_factory(self.settings.database_url)() as session:
            return session.get(Submission, submission_id)

    def done_events(self, submission_id: int) -> int:
        with session_factory(self.settings.database_url)() as session:
            return session.scalar(select(func.count()).where(SubmissionEvent.submission_id == submission_id,
                                                             SubmissionEvent.kind == "done"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory, references, catalog):
    with service_stack(tmp_path_factory.mktemp("e2e"), references, SLOTS["e2e"]) as (settings, url, worker):
        yield Stack(settings, url, worker, seed_course(settings, catalog))


def test_submission_to_recorded_score_with_live_progress(stack):
    accepted = stack.submit("w1-normal-modes", GOOD)
    with httpx.stream("GET", f"{stack.url}{accepted['events_url']}", headers=stack.headers(stack.student),
                      timeout=GRADING_TIMEOUT_S) as response:
        events = list(sse_events(response.iter_lines()))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and kinds.count("check") == 12 and "running" in kinds
    assert kinds[0] in ("queued", "running")
    shown = stack.final(accepted["id"])
    assert (shown["status"], shown["score"], shown["max_score"]) == ("graded", 32, 32)
    assert shown["tests"][-1]["name"] == "hidden checks"


def test_a_wrong_submission_gets_its_verdict(stack):
    shown = stack.final(stack.submit("w1-normal-modes", VARIANCE)["id"])
    assert (shown["status"], shown["score"]) == ("graded", 14)
    assert any("is std used as a variance" in t["feedback"] for t in shown["tests"])


def test_worker_killed_mid_grade_is_graded_once(stack):
    slow = b"import time\ntime.sleep(4)\n" + ANSWER
    submission_id = stack.submit("w0-service", slow)["id"]
    pool_process = int(stack.running(submission_id).worker.rpartition(":")[2])
    assert pool_process != stack.worker.process.pid
    os.kill(pool_process, signal.SIGKILL)
    shown = stack.final(submission_id)
    assert (shown["status"], shown["score"]) == ("graded", 6)
    assert stack.row(submission_id).attempts == 2
    assert stack.done_events(submission_id) == 1
    assert stack.worker.alive()


def test_grader_fault_is_retried_not_scored(stack, tmp_path):
    marker = tmp_path / "fault-once"
    marker.write_text("")
    faulty = ANSWER + f"\nFAULT_MARKER = {str(marker)!r}\n".encode()
    submission_id = stack.submit("w0-service", faulty)["id"]
    shown = stack.final(submission_id)
    assert (shown["status"], shown["score"], shown["message"]) == ("graded", 6, "")
    assert not marker.exists() and stack.row(submission_id).attempts == 2


def test_broker_down_at_submit_time_then_the_sweeper_queues_it(stack):
    dead_broker = stack.settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(dead_broker)) as client:
        checks = client.get("/readyz").json()["checks"]
        assert checks["database"] == "ok" and checks["broker"].startswith("the broker redis://127.0.0.1:")
        response = client.post("/api/v1/assignments/w0-service/submissions", headers=stack.headers(stack.student),
                               files={"file": ("hw.py", ANSWER)})
    assert response.status_code == 202
    submission_id = response.json()["id"]
    assert stack.final(submission_id)["status"] == "graded"
    row = stack.row(submission_id)
    queued_after = (row.enqueued_at - row.created_at).total_seconds()
    assert queued_after >= stack.settings.sweep_grace_s, "queued by the sweeper, not at submit time"


def test_a_duplicate_delivery_is_harmless(stack):
    submission_id = stack.submit("w0-service", ANSWER)["id"]
    stack.final(submission_id)
    CeleryEnqueuer(create_celery(stack.settings)).send(submission_id, "cpu")
    marker = stack.submit("w0-service", ANSWER)["id"]
    stack.final(marker)  # queued after the duplicate, so the duplicate has been consumed
    assert stack.done_events(submission_id) == 1 and stack.row(submission_id).attempts == 1


def test_written_score_then_regrade(stack):
    teacher = stack.headers("instructor")
    submission_id = stack.submit("w0-service", ANSWER)["id"]
    assert next(t for t in stack.final(submission_id)["tests"] if t["name"] == "Q1")["status"] == "pending"
    scored = httpx.put(f"{stack.url}/api/v1/submissions/{submission_id}/written/Q1", headers=teacher,
                       json={"score": 5, "comment": "Good."})
    assert scored.status_code == 200
    assert httpx.post(f"{stack.url}/api/v1/submissions/{submission_id}/regrade", headers=teacher).status_code == 202
    shown = stack.final(submission_id)
    assert (shown["status"], shown["score"]) == ("graded", 11)


def test_health_and_metrics(stack):
    assert httpx.get(f"{stack.url}/healthz").json() == {"status": "ok"}
    # the stack's worker beats (workers/heartbeat.py): it is seen live, and it consumes cpu
    assert httpx.get(f"{stack.url}/readyz").json()["checks"]["workers"] == "ok"
    samples = [sample for family in text_string_to_metric_families(httpx.get(f"{stack.url}/metrics").text)
               for sample in family.samples]

    def value(name: str, **labels) -> list[float]:
        return [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]

    assert value("torchgrade_workers_live", queue="cpu") == [1]
    assert value("torchgrade_worker_up", queues="cpu") == [1]
    assert value("torchgrade_submissions", status="graded", queue="cpu")[0] >= 1
    assert value("torchgrade_queue_depth", queue="cpu")
    assert sum(value("torchgrade_grading_duration_seconds_count")) >= 1  # per assignment
    assert sum(value("torchgrade_queue_wait_seconds_count")) >= 1
