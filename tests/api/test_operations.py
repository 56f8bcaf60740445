"""Operations (issue 12): /healthz says the process lives; /readyz needs a live worker for every
queue an offered assignment uses; a submission to a queue nobody consumes says so, to its
student (in their language), on /metrics and to the instructor (the gradebook's warnings); and
/metrics carries what a dashboard plots.  Workers are seen through their heartbeat rows
(core/workers.py), written here as a worker's heartbeat thread writes them.  SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete

from api.app import create_app
from core import lifecycle, workers
from core.catalog import ManifestCatalog
from core.db import session_factory, utcnow
from core.models import Worker
from grader.results import GradeResult
from grader.status import SubmissionStatus
from tests.api.conftest import RecordingQueue, bearer, submit
from tests.workers.stack import REPOSITORY, TEST_PACKS, migrated, postgres_schema, seed_course, service_settings

LENET = b"def train_rmb(*args, **kwargs):\n    return None\n"
NO_GPU_WORKER = "waiting: no GPU worker is running"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def settings(request, tmp_path_factory):
    """A catalogue with a cpu assignment (w0-service) and a gpu one (w2-rmb-lenet)."""
    references = tmp_path_factory.mktemp("references")
    for source in (TEST_PACKS / "w0-service", REPOSITORY / "reference/w2-rmb-lenet"):
        (references / source.name).symlink_to(source)
    data_dir = tmp_path_factory.mktemp(f"ops-{request.param}")
    if request.param == "sqlite":
        yield migrated(service_settings(data_dir, references, slot=11))
        return
    with postgres_schema() as url:
        yield migrated(service_settings(data_dir, references, slot=11, database_url=url))


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings, enqueuer=RecordingQueue())) as client:
        yield client


@pytest.fixture
def sessions(settings):
    sessions = session_factory(settings.database_url)
    with sessions() as session:
        session.execute(delete(Worker))
        session.commit()
    return sessions


@pytest.fixture
def people(settings):
    return seed_course(settings, ManifestCatalog(settings.reference_dir))


def beat(sessions, name: str, *queues: str, ago_s: float = 0.0) -> None:
    with sessions() as session:
        workers.beat(session, name, queues, now=utcnow() - dt.timedelta(seconds=ago_s))


def metrics(client) -> dict[str, list]:
    return {family.name: family.samples for family in text_string_to_metric_families(client.get("/metrics").text)}


def sample(found: dict, family: str, name: str | None = None, **labels) -> float:
    values = [s.value for s in found[family] if (name is None or s.name == name)
              and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(values) == 1, (family, labels, found[family])
    return values[0]


def test_healthz_says_the_process_lives(client):
    assert (client.get("/healthz").status_code, client.get("/healthz").json()) == (200, {"status": "ok"})


def test_readyz_needs_a_live_worker_for_every_offered_queue(client, sessions, people):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == (
        "no CPU worker is running: submissions to w0-service wait until one starts (torchgrade worker --queues cpu); "
        "no GPU worker is running: submissions to w2-rmb-lenet wait until one starts (torchgrade worker --queues gpu)")
    beat(sessions, "host-a:1", "cpu")
    checks = client.get("/readyz", headers={"Accept-Language": "zh"}).json()["checks"]
    assert "w0-service" not in checks["workers"] and "w2-rmb-lenet" in checks["workers"]
    assert "GPU" in checks["workers"] and "torchgrade worker --queues gpu" in checks["workers"]
    assert "no GPU worker" not in checks["workers"]  # said in Chinese
    beat(sessions, "host-b:2", "gpu", ago_s=120)  # a worker that stopped beating two minutes ago
    assert client.get("/readyz").status_code == 503
    beat(sessions, "host-b:2", "gpu")
    assert client.get("/readyz").json() == {"status": "ready", "checks": {
        "data_dir": "ok", "database": "ok", "broker": "ok", "workers": "ok"}}
    with sessions() as session:
        workers.forget(session, "host-b:2")  # a warm shutdown
    assert client.get("/readyz").status_code == 503


def test_a_submission_nobody_consumes_says_so(client, sessions, people):
    beat(sessions, "host-a:1", "cpu")
    student = people["students"][0]
    accepted = submit(client, people, student, "w2-rmb-lenet", LENET, "submission.py")
    assert accepted.status_code == 202, accepted.text
    url = accepted.json()["url"]
    shown = client.get(url, headers=bearer(people, student)).json()
    assert (shown["status"], shown["waiting"]) == ("queued", NO_GPU_WORKER)
    in_chinese = client.get(url, headers={**bearer(people, student), "Accept-Language": "zh"}).json()["waiting"]
    assert in_chinese and "GPU" in in_chinese and in_chinese != NO_GPU_WORKER
    cpu = submit(client, people, student).json()["url"]
    assert client.get(cpu, headers=bearer(people, student)).json()["waiting"] is None

    found = metrics(client)
    assert sample(found, "torchgrade_submissions_without_worker", queue="gpu") >= 1
    assert sample(found, "torchgrade_submissions_without_worker", queue="cpu") == 0
    assert sample(found, "torchgrade_submissions", status="queued", queue="gpu") >= 1

    teacher = bearer(people, "instructor")
    warnings = client.get(f"/api/v1/courses/{people['course']}/gradebook", headers=teacher).json()["warnings"]
    assert warnings == ["no GPU worker is running: submissions to w2-rmb-lenet wait until one starts "
                        "(torchgrade worker --queues gpu)"]

    beat(sessions, "host-b:2", "gpu")
    assert client.get(url, headers=bearer(people, student)).json()["waiting"] is None
    assert client.get(f"/api/v1/courses/{people['course']}/gradebook", headers=teacher).json()["warnings"] == []
    assert sample(metrics(client), "torchgrade_submissions_without_worker", queue="gpu") == 0


def test_metrics_for_a_dashboard(client, sessions, people):
    student = people["students"][0]
    submission_id = submit(client, people, student).json()["id"]
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "host-a:1")
    result = GradeResult(assignment="w0-service", submission="hw.py", status=SubmissionStatus.graded, score=6,
                         max_score=6)
    assert lifecycle.record(sessions, claimed, result, 0.3, result.score)
    beat(sessions, "host-a:1", "cpu")
    beat(sessions, "host-c:3", "cpu", "gpu", ago_s=600)
    with sessions() as session:
        workers.report_layers(session, "host-a:1", {"seccomp": "not supported by this kernel"})
        workers.count_fault(session, "host-a:1")
        workers.count_fault(session, "host-a:1", sandbox=True)

    found = metrics(client)
    assert sample(found, "torchgrade_submissions", status="graded", queue="cpu") >= 1
    for family in ("torchgrade_grading_duration_seconds", "torchgrade_queue_wait_seconds"):
        count = sample(found, family, f"{family}_count", assignment="w0-service")
        assert count >= 1 and sample(found, family, f"{family}_bucket", assignment="w0-service", le="+Inf") == count
    assert sample(found, "torchgrade_grading_duration_seconds", "torchgrade_grading_duration_seconds_bucket",
                  assignment="w0-service", le="0.25") < sample(
        found, "torchgrade_grading_duration_seconds", "torchgrade_grading_duration_seconds_bucket",
        assignment="w0-service", le="0.5")
    assert sample(found, "torchgrade_worker_up", worker="host-a:1", queues="cpu") == 1
    assert sample(found, "torchgrade_worker_up", worker="host-c:3", queues="cpu,gpu") == 0
    assert sample(found, "torchgrade_workers_live", queue="cpu") == 1
    assert sample(found, "torchgrade_workers_live", queue="gpu") == 0
    assert sample(found, "torchgrade_worker_grader_faults", worker="host-a:1") == 1
    assert sample(found, "torchgrade_worker_sandbox_failures", worker="host-a:1") == 1
    assert sample(found, "torchgrade_sandbox_layer_missing", worker="host-a:1", layer="seccomp") == 1
    assert sample(found, "torchgrade_worker_last_seen_seconds", worker="host-c:3") >= 600


def test_a_pool_process_may_report_before_its_worker_beats(sessions):
    with sessions() as session:
        workers.report_layers(session, "host-d:4", {})
        workers.beat(session, "host-d:4", ["gpu"])
        assert workers.live_queues(session, 35.0) == {"gpu"}
