"""Progress streams are capped per user and in all (429 with Retry-After), give their place back
when they end, are counted on /metrics, and resume after Last-Event-ID.
A live stream against a real API process (disconnects, NOTIFY) is in tests/hostile/test_streams.py."""

from __future__ import annotations

import contextlib

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from torchgrade_client.submit import sse_events
from api.services.progress import RETRY_AFTER_S, Streams
from core import lifecycle
from core.models import User
from grader.results import GradeResult
from grader.results import TestResult as CheckResult
from tests.api.conftest import bearer, record_result, submit


def user_id(sessions, name: str) -> int:
    with sessions() as session:
        return session.scalar(select(User.id).where(User.name == name))


def finished(client, course, sessions, who: str) -> int:
    submission_id = submit(client, course, who).json()["id"]
    record_result(sessions, submission_id)
    return submission_id


def stream(client, submission_id: int, headers: dict) -> list:
    with client.stream("GET", f"/api/v1/submissions/{submission_id}/events", headers=headers) as response:
        assert response.status_code == 200, response.read()
        return list(sse_events(response.iter_lines()))


def metrics(client) -> dict:
    samples = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def streams(client) -> Streams:
    streams = client.app.state.streams
    assert streams.open == 0, "a stream of an earlier test is still counted"
    return streams


@contextlib.contextmanager
def held(streams: Streams, user: int, count: int):
    """``count`` streams of ``user`` open, as if their clients were still reading."""
    leases = [streams.admit(user) for _ in range(count)]
    try:
        yield leases
    finally:
        for lease in leases:
            lease.close()


def test_a_user_at_the_cap_is_refused_and_others_are_not(client, queue, course, sessions, streams):
    student, other = course["students"]
    mine, theirs = finished(client, course, sessions, student), finished(client, course, sessions, other)
    before = metrics(client)
    with held(streams, user_id(sessions, student), streams.max_per_user):
        refused = client.get(f"/api/v1/submissions/{mine}/events", headers=bearer(course, student))
        assert refused.status_code == 429 and refused.headers["retry-after"] == str(RETRY_AFTER_S)
        assert refused.json()["error"]["code"] == "too_many_streams"
        assert "close one" in refused.json()["error"]["message"]
        assert [kind for kind, _ in stream(client, theirs, bearer(course, other))][-1] == "done"
        assert [kind for kind, _ in stream(client, mine, bearer(course, "instructor"))][-1] == "done"
        counted = metrics(client)
        assert counted[("torchgrade_open_streams", ())] == streams.max_per_user
        assert counted[("torchgrade_streams_refused_total", (("cap", "user"),))] == \
            before[("torchgrade_streams_refused_total", (("cap", "user"),))] + 1
    assert [kind for kind, _ in stream(client, mine, bearer(course, student))][-1] == "done"
    assert streams.open == 0 and metrics(client)[("torchgrade_open_streams", ())] == 0


def test_the_server_full_refuses_everybody(client, queue, course, sessions, streams):
    student = course["students"][0]
    submission_id = finished(client, course, sessions, student)
    cap, streams.max_total = streams.max_total, 3
    try:
        with held(streams, -1, 2), held(streams, -2, 1):
            refused = client.get(f"/api/v1/submissions/{submission_id}/events", headers=bearer(course, student))
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "streams_full"
            assert refused.headers["retry-after"] == str(RETRY_AFTER_S)
            assert client.get(f"/api/v1/submissions/{submission_id}", headers=bearer(course, student)).status_code \
                == 200
        assert [kind for kind, _ in stream(client, submission_id, bearer(course, student))][-1] == "done"
    finally:
        streams.max_total = cap


def test_refused_before_admitted_a_stranger_gets_404_not_429(client, queue, course, sessions, streams):
    student, stranger = course["students"]
    submission_id = finished(client, course, sessions, student)
    with held(streams, user_id(sessions, stranger), streams.max_per_user):
        response = client.get(f"/api/v1/submissions/{submission_id}/events", headers=bearer(course, stranger))
    assert response.status_code == 404


def test_a_stream_resumes_after_last_event_id(client, queue, course, sessions, streams):
    student = course["students"][0]
    submission_id = submit(client, course, student).json()["id"]
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    progress = lifecycle.ProgressWriter(sessions, submission_id, total=2)
    for name in ("answer_visible", "grader_health"):
        progress(CheckResult(name=name, score=1, max_score=1, status="passed"))
    lifecycle.record(sessions, claimed, GradeResult(assignment="w0-service", submission="hw.py", status="graded",
                                                    score=2, max_score=6), 0.1, 2.0)
    url = f"/api/v1/submissions/{submission_id}/events"
    with client.stream("GET", url, headers=bearer(course, student)) as response:
        ids = [line.partition(":")[2].strip() for line in response.iter_lines() if line.startswith("id:")]
    everything = stream(client, submission_id, bearer(course, student))
    assert [kind for kind, _ in everything] == ["running", "check", "check", "done"] and len(ids) == 4
    resumed = stream(client, submission_id, {**bearer(course, student), "Last-Event-ID": ids[1]})
    assert resumed == everything[2:]
