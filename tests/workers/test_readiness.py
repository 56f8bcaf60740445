"""Readiness (issue 9): `torchgrade serve` and `torchgrade worker` refuse to start, with the
reason and exit status 2, while their data directory, database or broker cannot be used; the
API's /readyz says which one is not usable.  (The embedded worker dying and the original bug,
a data directory that did not exist yet: tests/workers/test_lifetimes.py.)"""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.workers.stack import REPOSITORY, environment, free_port, migrated, service_settings

SLOT = 17
TORCHGRADE = [sys.executable, "-m", "torchgrade.cli"]
COMMANDS = {"serve": ["serve", "--port", "1"], "worker": ["worker", "--queues", "cpu"]}


def start(command: str, env: dict, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TORCHGRADE, *COMMANDS[command], *extra], env=env, cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=120)


def refused(result: subprocess.CompletedProcess, command: str, reason: str) -> bool:
    return (result.returncode == 2 and f"torchgrade {command}: cannot start: {reason}" in result.stderr
            and "Uvicorn running" not in result.stderr and "celery@" not in result.stdout)


@pytest.mark.parametrize("command", COMMANDS)
def test_refused_on_a_data_directory_that_cannot_be_made(command, tmp_path, references):
    (tmp_path / "a-file").write_text("")
    data_dir = tmp_path / "a-file" / "data"
    result = start(command, environment(service_settings(data_dir, references, SLOT)))
    assert refused(result, command, f"the data directory {data_dir} cannot be used: Not a directory"), result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_refused_on_a_database_not_migrated(command, tmp_path, references):
    settings = service_settings(tmp_path / "data", references, SLOT)
    result = start(command, environment(settings))
    assert refused(result, command, f"the database {settings.database_url} is not migrated: run `torchgrade migrate`"), \
        result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_refused_on_a_database_that_does_not_answer(command, tmp_path, references):
    url = f"postgresql://root@127.0.0.1:{free_port()}/test"
    env = environment(service_settings(tmp_path / "data", references, SLOT, database_url=url))
    result = start(command, env, "--wait-for-services", "1")
    assert "waiting up to 1 s: the database" in result.stderr, result.stderr
    assert refused(result, command, f"the database {url} cannot be reached"), result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_refused_on_a_broker_that_does_not_answer(command, tmp_path, references):
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = migrated(service_settings(tmp_path / "data", references, SLOT, broker_url=url))
    result = start(command, environment(settings), "--wait-for-services", "0")
    assert refused(result, command, f"the broker {url} cannot be used"), result.stderr


def readyz(settings, worker_alive=None) -> tuple[int, dict]:
    app = create_app(settings)
    if worker_alive is not None:
        app.state.embedded_worker = worker_alive
    with TestClient(app) as client:
        response = client.get("/readyz")
    return response.status_code, response.json()


def test_readyz_when_all_is_usable(tmp_path, references):
    settings = migrated(service_settings(tmp_path / "data", references, SLOT))
    assert readyz(settings) == (200, {"status": "ready",
                                      "checks": {"data_dir": "ok", "database": "ok", "broker": "ok",
                                                                 "workers": "ok"}})


def test_readyz_names_what_is_not_usable(tmp_path, references):
    not_migrated = service_settings(tmp_path / "fresh", references, SLOT)
    status, body = readyz(not_migrated)
    assert status == 503 and body["status"] == "not_ready"
    assert body["checks"]["database"] == f"the database {not_migrated.database_url} is not migrated: run " \
                                         "`torchgrade migrate`"
    assert body["checks"]["broker"] == "ok"

    broker = f"redis://127.0.0.1:{free_port()}/0"
    no_broker = migrated(service_settings(tmp_path / "data", references, SLOT, broker_url=broker))
    status, body = readyz(no_broker)
    assert status == 503 and body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith(f"the broker {broker} cannot be used")


def test_readyz_reports_a_dead_embedded_worker(tmp_path, references):
    settings = migrated(service_settings(tmp_path / "data", references, SLOT))
    assert readyz(settings, worker_alive=lambda: True)[0] == 200
    status, body = readyz(settings, worker_alive=lambda: False)
    assert status == 503 and body["checks"]["worker"] == "the embedded worker is not running"
