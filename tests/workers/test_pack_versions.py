"""An instructor edits a check while the service runs: a regrade through the running worker
grades with the edited check and records the new pack version; no process is restarted."""

from __future__ import annotations

import shutil

import httpx
import pytest

from tests.workers.stack import (ANSWER, SLOTS, TEST_PACKS, migrated, postgres_schema, redis_broker, seed_course,
                                 service_settings, start_api, start_worker, wait_for)
from tests.workers.test_end_to_end import Stack

PACK = "w0-service"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("packs")
    references = data_dir / "references"
    shutil.copytree(TEST_PACKS / PACK, references / PACK)
    from core.catalog import ManifestCatalog

    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix):
        settings = migrated(service_settings(data_dir, references, SLOTS["packs"], database_url=database_url,
                                             broker_url=broker_url, broker_key_prefix=prefix))
        worker = start_worker(settings, data_dir / "worker.log")
        api, url = start_api(settings, data_dir / "api.log")
        try:
            yield Stack(settings, url, worker, seed_course(settings, ManifestCatalog(references), students=1))
        finally:
            api.stop()
            worker.stop()


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
