"""An instructor edits a check while the service runs: a regrade through the running worker
grades with the edited check and records the new pack version; no process is restarted."""

from __future__ import annotations

import shutil

import httpx
import pytest

from core.catalog import ManifestCatalog
from tests.workers.stack import ANSWER, SLOTS, TEST_PACKS, seed_course, service_stack, wait_for
from tests.workers.test_end_to_end import Stack

PACK = "w0-service"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("packs")
    shutil.copytree(TEST_PACKS / PACK, data_dir / "references" / PACK)
    with service_stack(data_dir, data_dir / "references", SLOTS["packs"]) as (settings, url, worker):
        yield Stack(settings, url, worker, seed_course(settings, ManifestCatalog(settings.reference_dir), students=1))


def test_regrade_all_after_an_edited_check_uses_the_edited_check(stack):
    teacher = "instructor"
    submission_id = stack.submit(PACK, ANSWER)["id"]
    before = stack.final(submission_id, teacher)
    assert (before["status"], before["score"], before["pack_outdated"]) == ("graded", 6, False)
    assert stack.row(submission_id).pack_version == before["pack_version"]

    checks = stack.settings.reference_dir / PACK / "checks.py"
    checks.write_text(checks.read_text().replace("value == 42", "value == 43"))
    wait_for(lambda: stack.get(submission_id, teacher)["pack_outdated"], 30, "the API to see the edited pack")

    regraded = httpx.post(f"{stack.url}/api/v1/courses/{stack.people['course']}/regrade",
                          headers=stack.headers(teacher), json={"assignment": PACK})
    assert regraded.status_code == 202 and regraded.json()["submissions"] == [submission_id]
    after = stack.final(submission_id, teacher)
    assert (after["status"], after["score"], after["pack_outdated"]) == ("graded", 1, False)
    assert after["pack_version"] != before["pack_version"]
    assert stack.row(submission_id).pack_version == after["pack_version"]
    assert next(t for t in after["tests"] if t["name"] == "answer_visible")["status"] == "failed"
    assert stack.worker.alive()
