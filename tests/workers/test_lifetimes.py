"""Processes live and die together (issue 15): whatever ends `torchgrade serve` or a
`torchgrade worker` — SIGKILL, as the OOM killer sends, or SIGHUP, as a closed terminal does —
none of the processes below it (the embedded worker, its pool processes, their sandbox
zygotes) is alive 10 s later; a second `serve` on the same data directory is refused; `serve`
stops when its embedded worker dies.  The descendants are collected from /proc (psutil) before
the signal is sent."""

from __future__ import annotations

import os
import signal
import sys

import httpx
import psutil
import pytest

from tests.workers.stack import (GOOD, REPOSITORY, Process, environment, free_port, migrated, postgres_schema,
                                 service_settings, wait_for)

SLOT = 16
TORCHGRADE = [sys.executable, "-m", "torchgrade.cli"]
START_TIMEOUT_S = 240  # two shared cores: the zygote's torch import alone takes seconds
GONE_WITHIN_S = 10


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def alive(processes: list[psutil.Process]) -> list[str]:
    """Those still running (a zombie has ended: it waits for a reaper that is not ours)."""
    found = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {' '.join(process.cmdline())}")
        except psutil.NoSuchProcess:
            continue
    return found


def wait_for_tree(top: Process) -> list[psutil.Process]:
    """Wait until the process has a sandbox zygote below it (worker, pool process, zygote): all
    of its descendants then."""
    def grown():
        assert top.alive(), top.output()[-3000:]
        tree = descendants(top.process.pid)
        return tree if any("grader.sandbox.zygote" in " ".join(p.cmdline()) for p in tree) else None

    return wait_for(grown, START_TIMEOUT_S, "a sandbox zygote below the process")


def assert_all_gone(tree: list[psutil.Process], what: str) -> None:
    try:
        wait_for(lambda: not alive(tree), GONE_WITHIN_S, what)
    except AssertionError:
        pytest.fail(f"{what}: still alive after {GONE_WITHIN_S} s: {alive(tree)}")


def serve(env: dict, log) -> tuple[Process, str]:
    port = free_port()
    return Process([*TORCHGRADE, "serve", "--port", str(port)], env, log), f"http://127.0.0.1:{port}"


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def sqlite_env(tmp_path, references):
    return environment(migrated(service_settings(tmp_path / "data", references, SLOT)))


def test_nothing_outlives_serve_killed(sqlite_env, tmp_path):
    """The server killed outright (SIGKILL, as the OOM killer sends) as soon as its tree has
    grown, the zygote perhaps still importing torch: nothing below it is left, and the data
    directory can be served again.  (A hang-up: test_server_database_and_missing_data_dir.)"""
    server, _ = serve(sqlite_env, tmp_path / "serve.log")
    try:
        tree = wait_for_tree(server)
        os.kill(server.process.pid, signal.SIGKILL)
        assert_all_gone(tree, "the processes below `serve` after SIGKILL")
        assert server.process.wait(60) == -signal.SIGKILL
    finally:
        server.stop()
    again, url = serve(sqlite_env, tmp_path / "again.log")
    try:
        wait_for(lambda: not again.alive() or ready(url), START_TIMEOUT_S, "the data directory to be served again")
        assert again.alive(), again.output()[-3000:]
    finally:
        again.stop()


def test_embedded_worker_dies_then_serve_stops(sqlite_env, tmp_path):
    server, url = serve(sqlite_env, tmp_path / "serve.log")
    try:
        tree = wait_for_tree(server)
        wait_for(lambda: ready(url), START_TIMEOUT_S, "/readyz")
        worker = next(p for p in tree if p.ppid() == server.process.pid)
        worker.kill()
        assert server.process.wait(GONE_WITHIN_S) == 1
        assert "the embedded worker exited" in server.output()
        assert_all_gone(tree, "the worker's pool process and zygote")
    finally:
        server.stop()


def test_server_database_and_missing_data_dir(references, tmp_path):
    """The bug: a server database (TORCHGRADE_DATABASE_URL) and a data directory that did not
    exist yet; the embedded worker could not open its broker file in it and gave up, while the
    API accepted submissions.  Now the directory is made at start, what is accepted is graded,
    a second server on the directory is refused, and a hang-up stops the server warm."""
    with postgres_schema() as database_url:
        data_dir = tmp_path / "not" / "there" / "yet"
        settings = migrated(service_settings(data_dir, references, SLOT, database_url=database_url))
        env = environment(settings)
        server, url = serve(env, tmp_path / "serve.log")
        try:
            wait_for(lambda: not server.alive() or ready(url), START_TIMEOUT_S, "/readyz")
            assert server.alive(), server.output()[-3000:]
            assert httpx.get(f"{url}/readyz").json() == {
                "status": "ready", "checks": {"data_dir": "ok", "database": "ok", "broker": "ok", "workers": "ok",
                                              "worker": "ok"}}
            token = _student_token(env)
            submitted = httpx.post(f"{url}/api/v1/assignments/w1-normal-modes/submissions",
                                   headers={"Authorization": f"Bearer {token}"}, files={"file": ("hw.py", GOOD)})
            assert submitted.status_code == 202, submitted.text
            location = f"{url}/api/v1/submissions/{submitted.json()['id']}"
            graded = wait_for(lambda: _finished(location, token), START_TIMEOUT_S, "the submission to be graded")
            assert graded["status"] == "graded" and graded["score"] == 32.0, graded

            second = Process([*TORCHGRADE, "serve", "--port", str(free_port())], env, tmp_path / "second.log")
            assert second.process.wait(120) == 2
            assert f"is using the data directory {data_dir}" in second.output(), second.output()[-3000:]

            tree = descendants(server.process.pid)
            os.killpg(server.process.pid, signal.SIGHUP)
            assert server.process.wait(60) == 128 + signal.SIGHUP, server.output()[-3000:]
            assert "Warm shutdown" in server.output()
            assert_all_gone(tree, "the processes below `serve` after its hang-up")
        finally:
            server.stop()


def _student_token(env: dict) -> str:
    import subprocess

    demo = subprocess.run([*TORCHGRADE, "demo"], env=env, cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    return next(line.split("=", 1)[1] for line in demo.stdout.split() if line.startswith("STUDENT="))


def _finished(location: str, token: str) -> dict | None:
    body = httpx.get(location, headers={"Authorization": f"Bearer {token}"}).json()
    return body if body["status"] not in ("queued", "running") else None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP], ids=["SIGKILL", "SIGHUP"])
def test_nothing_outlives_a_worker(sig, sqlite_env, tmp_path):
    """A standalone worker: SIGKILL to its main process alone leaves no pool process nor
    zygote; a hang-up of its process group (the terminal closed) is a warm shutdown, not
    Celery's restart by exec."""
    worker = Process([*TORCHGRADE, "worker", "--queues", "cpu", "--loglevel", "info"], sqlite_env,
                     tmp_path / "worker.log")
    try:
        tree = wait_for_tree(worker)
        wait_for(lambda: "pool process ready" in worker.output() or not worker.alive(), START_TIMEOUT_S,
                 "the pool process's sandbox")
        if sig == signal.SIGKILL:
            os.kill(worker.process.pid, sig)
        else:
            os.killpg(worker.process.pid, sig)
        assert_all_gone(tree, f"the worker's pool process and zygote after {sig.name}")
        status = worker.process.wait(60)
        assert status == (-signal.SIGKILL if sig == signal.SIGKILL else 0), worker.output()[-3000:]
        if sig == signal.SIGHUP:
            assert "Warm shutdown" in worker.output() and "Restarting celery worker" not in worker.output()
    finally:
        worker.stop()


def test_zygote_outlives_the_thread_that_started_it():
    """PR_SET_PDEATHSIG fires when the *thread* that started a process ends: the zygote watches
    its control socket instead, so a sandbox started on a short-lived thread keeps working."""
    import threading

    from grader.sandbox.host import JobLimits, Sandbox, SandboxConfig

    started: list[Sandbox] = []
    thread = threading.Thread(target=lambda: started.append(Sandbox(SandboxConfig(slot=SLOT + 2)).start()))
    thread.start()
    thread.join()
    sandbox = started[0]
    try:
        with sandbox.job(JobLimits(wall_s=60), seed=0, enforce_layers=False) as job:
            assert job.layers  # the zygote forked it and it reported its layers
        assert sandbox.alive
    finally:
        sandbox.close()
