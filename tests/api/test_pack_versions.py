"""The API reads a changed pack without a restart, and the instructor's views show which pack
version graded each result and flag those graded by another version than the current one."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.catalog import ManifestCatalog
from core.db import session_factory
from grader.assignments import load_assignment
from grader.results import GradeResult, TestResult
from grader.status import CheckStatus, SubmissionStatus
from tests.api.conftest import RecordingQueue, bearer, submit
from tests.workers.stack import TEST_PACKS, migrated, seed_course, service_settings
from workers import grading

PACK = "w0-service"


@pytest.fixture
def stack(tmp_path):
    """An API on its own copy of the test pack, with a catalogue that looks at the disk on
    every request (the default looks at most once a second)."""
    shutil.copytree(TEST_PACKS / PACK, tmp_path / "references" / PACK)
    settings = migrated(service_settings(tmp_path / "data", tmp_path / "references", slot=8))
    with TestClient(create_app(settings, enqueuer=RecordingQueue())) as client:
        client.app.state.catalog.check_interval_s = 0.0
        yield client, settings, seed_course(settings, ManifestCatalog(settings.reference_dir), students=1)


def record(settings, submission_id: int, version: str) -> None:
    """What a worker records: its result, with the version of the pack it graded with."""
    sessions = session_factory(settings.database_url)
    claimed = grading.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    tests = [TestResult(name="answer_visible", score=2, max_score=2, status=CheckStatus.passed)]
    result = GradeResult(assignment=PACK, submission="hw.py", status=SubmissionStatus.graded, score=2, max_score=6,
                         tests=tests, pack_version=version)
    assert grading.record(sessions, claimed, result, 0.1, result.score)


def graded_cell(client, people) -> dict:
    book = client.get(f"/api/v1/courses/{people['course']}/gradebook", headers=bearer(people, "instructor")).json()
    return book["pack_versions"][PACK], book["students"][0]["grades"][PACK]


def test_the_api_and_the_worker_agree_on_the_version(stack):
    client, settings, people = stack
    assert client.app.state.catalog.get(PACK).version == load_assignment(settings.reference_dir / PACK).version


def test_a_changed_manifest_is_shown_without_a_restart(stack):
    client, settings, people = stack
    student = people["students"][0]
    shown = client.get(f"/api/v1/assignments/{PACK}", headers=bearer(people, student)).json()
    assert shown["title"] == "Service test pack" and shown["max_score"] == 11
    manifest = settings.reference_dir / PACK / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('en = "Service test pack"', 'en = "Service pack, revised"')
                        .replace("points = 3", "points = 4"))
    shown = client.get(f"/api/v1/assignments/{PACK}", headers=bearer(people, student)).json()
    assert shown["title"] == "Service pack, revised" and shown["max_score"] == 12


def test_results_graded_by_an_older_version_are_flagged(stack):
    client, settings, people = stack
    teacher = bearer(people, "instructor")
    first = client.app.state.catalog.get(PACK).version
    submission_id = submit(client, people, people["students"][0]).json()["id"]
    record(settings, submission_id, first)
    current, cell = graded_cell(client, people)
    assert current == first and (cell["pack_version"], cell["pack_outdated"]) == (first, False)

    checks = settings.reference_dir / PACK / "checks.py"
    checks.write_text(checks.read_text().replace("expected 42", "expected 42 (the answer)"))
    current, cell = graded_cell(client, people)
    assert current != first and (cell["pack_version"], cell["pack_outdated"]) == (first, True)
    listed = client.get(f"/api/v1/courses/{people['course']}/submissions", headers=teacher).json()
    assert [(s["pack_version"], s["pack_outdated"]) for s in listed] == [(first, True)]
    detail = client.get(f"/api/v1/submissions/{submission_id}", headers=teacher).json()
    assert (detail["pack_version"], detail["pack_outdated"]) == (first, True)

    assert client.post(f"/api/v1/submissions/{submission_id}/regrade", headers=teacher).status_code == 202
    listed = client.get(f"/api/v1/courses/{people['course']}/submissions", headers=teacher).json()
    assert listed[0]["status"] == "queued" and listed[0]["pack_outdated"] is None
    record(settings, submission_id, current)
    assert graded_cell(client, people)[1]["pack_outdated"] is False
    detail = client.get(f"/api/v1/submissions/{submission_id}", headers=teacher).json()
    assert (detail["pack_version"], detail["pack_outdated"]) == (current, False)


def test_a_broken_edit_keeps_the_last_good_manifest_in_the_api(stack):
    client, settings, people = stack
    good = client.app.state.catalog.get(PACK)
    manifest = settings.reference_dir / PACK / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("points = 3", "points = -3"))
    shown = client.get(f"/api/v1/assignments/{PACK}", headers=bearer(people, people["students"][0]))
    assert shown.status_code == 200 and shown.json()["max_score"] == 11
    assert client.app.state.catalog.get(PACK) is good
