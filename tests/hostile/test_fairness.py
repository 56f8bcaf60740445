"""One slot must not starve another: a submission that forks 60 busy ``/bin/sh`` loops (within
its process limit) runs in one sandbox slot while an honest logistic-regression submission is
graded in another, through HTTP (one worker, two pool processes) and through the CLI (two
``torchgrade grade`` processes).  The slots' cgroups share the CPU by weight and each check is
judged by its own job's CPU time: the honest one keeps full marks, the attack times out.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import cgroups
from tests.hostile.harness import ManifestCatalog, expected_score, references_for_stack, selftest_source
from tests.workers.stack import (REPOSITORY, migrated, postgres_schema, redis_broker, seed_course, service_settings,
                                 start_api, start_worker, wait_for)

SLOTS = (36, 38)  # the first slot of each pair attacks, the next one (37, 39) grades the honest file
ASSIGNMENT = "w1-logistic-regression"
HONEST = "good_course_loop.py"
LOOPS = 60
ATTACK = f'''
import subprocess

_loops = [subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"]) for _ in range({LOOPS})]
print("busy loops:", len(_loops), flush=True)

'''
# The attack's jobs run out of CPU time (all their processes counted) and are restarted until
# the submission's wall clock ends: the attack keeps burning while the honest file is graded.
CAPS = {"max_wall_s": 40.0, "max_cpu_s": 15.0}
GRADING_TIMEOUT_S = 180
CLI = "torchgrade.cli" if (REPOSITORY / "torchgrade" / "cli.py").exists() else "grader.cli"  # `torchgrade`

host = cgroups.Host.detect()
pytestmark = pytest.mark.skipif(host.missing != {}, reason=f"no cgroups here: {host.missing}")


def attack_source() -> str:
    return ATTACK + selftest_source(ASSIGNMENT, HONEST)


def slot_group(slot: int) -> cgroups.Cgroup:
    return host.group(f"{cgroups.PREFIX}slot-{slot}")


def job_groups(slot: int) -> list[str]:
    """The job cgroups of ``slot`` that exist now, in any hierarchy."""
    found = set()
    for directory in slot_group(slot).dirs.values():
        with contextlib.suppress(FileNotFoundError):
            found |= {name for name in os.listdir(directory) if name.startswith("job-")}
    return sorted(found)


def loops_running(slot: int) -> bool:
    """The attack's loops all run, in a job cgroup of its slot."""
    return any(len(host.group(f"{cgroups.PREFIX}slot-{slot}/{name}").pids()) > LOOPS for name in job_groups(slot))


def assert_still_attacking(slot: int) -> None:
    """The attack outlasted the honest grading (allowing for the moment its job is restarted)."""
    wait_for(lambda: loops_running(slot), 15, "the attack's loops: it ended before the honest submission was graded")


def assert_honest_full_marks(result: dict) -> None:
    statuses = {test["name"]: test["status"] for test in result["tests"]}
    assert "timeout" not in statuses.values(), statuses
    assert (result["status"], result["score"]) == ("graded", expected_score(ASSIGNMENT, HONEST)), statuses


def assert_attack_timed_out(result: dict) -> None:
    """Its jobs ran out of CPU time (all their processes counted), or of wall clock where the
    machine's other load left its slot little CPU."""
    assert any(test["status"] == "timeout" and ("CPU time" in test["feedback"] or "wall clock" in test["feedback"])
               for test in result["tests"]), [(test["name"], test["status"], test["feedback"]) for test in result["tests"]]
    assert result["score"] < expected_score(ASSIGNMENT, HONEST)


# ---------------------------------------------------------------------- HTTP
@pytest.fixture(scope="module")
def two_slot_stack(tmp_path_factory):
    """API and one worker with two pool processes (slots 36 and 37)."""
    tmp = tmp_path_factory.mktemp("fairness")
    (tmp / "data").mkdir()
    references = references_for_stack(tmp / "references")
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix), contextlib.ExitStack() as running:
        settings = migrated(service_settings(tmp / "data", references, SLOTS[0], database_url=database_url,
                                             broker_url=broker_url, broker_key_prefix=prefix, worker_concurrency=2,
                                             **CAPS))
        worker = start_worker(settings, tmp / "worker.log")
        running.callback(worker.stop)
        api, url = start_api(settings, tmp / "api.log")
        running.callback(api.stop)
        yield url, seed_course(settings, ManifestCatalog(references), students=2), worker


class Client:
    def __init__(self, url: str, people: dict):
        self.url, self.people = url, people

    def submit(self, who: str, filename: str, source: str) -> int:
        import httpx

        response = httpx.post(f"{self.url}/api/v1/assignments/{ASSIGNMENT}/submissions", timeout=30,
                              files={"file": (filename, source)}, headers=self.headers(who))
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def final(self, submission_id: int, who: str) -> dict:
        import httpx

        def shown():
            answer = httpx.get(f"{self.url}/api/v1/submissions/{submission_id}", headers=self.headers(who),
                               timeout=30).json()
            return answer if answer["status"] not in ("queued", "running") else None
        return wait_for(shown, GRADING_TIMEOUT_S, f"submission {submission_id} to be graded", 0.2)

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.people['tokens'][who]}"}


def test_sixty_busy_loops_in_one_slot_do_not_cost_another_slot_points(two_slot_stack):
    url, people, worker = two_slot_stack
    client, (attacker, victim) = Client(url, people), people["students"]
    attack_id = client.submit(attacker, "logistic.py", attack_source())
    wait_for(lambda: loops_running(SLOTS[0]) or loops_running(SLOTS[0] + 1), 120, "the attack's loops to run")
    attacked = SLOTS[0] if loops_running(SLOTS[0]) else SLOTS[0] + 1
    honest = client.final(client.submit(victim, HONEST, selftest_source(ASSIGNMENT, HONEST)), victim)
    assert_still_attacking(attacked)
    assert_honest_full_marks(honest)
    assert {"cpu_cgroup", "memory_cgroup"} <= set(honest["environment"]["sandbox_layers"])
    attack = client.final(attack_id, "instructor")  # every check, hidden ones included
    assert "busy loops: 60" in attack["output"]["stdout"]
    assert_attack_timed_out(attack)
    assert worker.alive()
    assert job_groups(SLOTS[0]) == job_groups(SLOTS[0] + 1) == []  # every job's cgroup was removed


HOARD = '''

_train = train_logistic_regression


def train_logistic_regression(*args, **kwargs):
    import os, time
    for _ in range(6):  # 6 x 400 MB: each process under RLIMIT_AS, together past memory_mb
        if os.fork() == 0:
            _block = b"x" * (400 << 20)
            time.sleep(60)
            os._exit(0)
    time.sleep(20)
    return _train(*args, **kwargs)
'''


def test_memory_held_in_many_processes_is_the_memory_verdict(two_slot_stack):
    url, people, worker = two_slot_stack
    client, (attacker, victim) = Client(url, people), people["students"]
    attack = client.final(client.submit(attacker, "logistic.py", selftest_source(ASSIGNMENT, HONEST) + HOARD),
                          attacker)
    statuses = {test["name"]: test["status"] for test in attack["tests"]}
    assert statuses["output_shape"] == "memory", attack["tests"]
    assert attack["score"] < expected_score(ASSIGNMENT, HONEST)
    assert_honest_full_marks(client.final(client.submit(victim, HONEST, selftest_source(ASSIGNMENT, HONEST)), victim))
    assert worker.alive()
    assert job_groups(SLOTS[0]) == job_groups(SLOTS[0] + 1) == []


# ---------------------------------------------------------------------- CLI
def grade_command(slot: int, path: Path, caps: dict) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHGRADE_")}
    env.update(PYTHONPATH=str(REPOSITORY), TORCHGRADE_ENVIRONMENT="test", TORCHGRADE_SANDBOX_SLOT=str(slot),
               TORCHGRADE_LANG="en",
               TORCHGRADE_DATA_DIR=str(path.parent / f"data-{slot}"),
               **{f"TORCHGRADE_{name.upper()}": str(value) for name, value in caps.items()})
    return subprocess.Popen([sys.executable, "-m", CLI, "grade", ASSIGNMENT, str(path), "--json"], env=env,
                            cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sixty_busy_loops_beside_an_honest_cli_run(tmp_path):
    attack_slot, honest_slot = SLOTS[1], SLOTS[1] + 1
    (tmp_path / "logistic.py").write_text(attack_source())
    (tmp_path / HONEST).write_text(selftest_source(ASSIGNMENT, HONEST))
    # The honest process starts its own sandbox (a torch import) under the attack's load: the
    # attack's wall clock is longer here, so that it outlasts that.
    attack = grade_command(attack_slot, tmp_path / "logistic.py", dict(CAPS, max_wall_s=90.0))
    try:
        wait_for(lambda: loops_running(attack_slot) or attack.poll() is not None, 120, "the attack's loops to run")
        assert loops_running(attack_slot), attack.communicate()
        honest = grade_command(honest_slot, tmp_path / HONEST, CAPS)
        honest_out, honest_err = honest.communicate(timeout=GRADING_TIMEOUT_S)
        assert_still_attacking(attack_slot)
        attack_out, _ = attack.communicate(timeout=GRADING_TIMEOUT_S)
    finally:
        if attack.poll() is None:
            attack.kill()
    assert honest.returncode == 0, honest_err[-3000:]
    assert_honest_full_marks(json.loads(honest_out))
    attacked = json.loads(attack_out)
    assert "busy loops: 60" in attacked["output"]["stdout"]
    assert_attack_timed_out(attacked)
    for slot in (attack_slot, honest_slot):  # the grader removed its slot's cgroups when it closed
        assert not any(os.path.exists(d) for d in slot_group(slot).dirs.values()), slot
