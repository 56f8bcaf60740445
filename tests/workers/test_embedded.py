"""The README's path on the embedded defaults (SQLite database, SQLite broker, no server):
the operator's CLI, `torchgrade serve` with its embedded worker, and a student's
`torchgrade submit` that shows progress and the result table."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.workers.stack import GOOD, REPOSITORY, SLOTS, Process, environment, free_port, service_settings, wait_for

TORCHGRADE = [sys.executable, "-m", "torchgrade.cli"]


def torchgrade(env: dict, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TORCHGRADE, *args], env=env, cwd=REPOSITORY, capture_output=True, text=True,
                          timeout=300, input=input_text)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, references):
    data_dir = tmp_path_factory.mktemp("embedded")
    settings = service_settings(data_dir, references, SLOTS["embedded"])
    env = environment(settings)
    assert torchgrade(env, "migrate").returncode == 0
    port = free_port()
    server = Process([*TORCHGRADE, "serve", "--port", str(port)], env, data_dir / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: not server.alive() or _up(url), 120, "torchgrade serve")
        assert server.alive(), server.output()[-3000:]
        yield env, url, data_dir
    finally:
        server.stop()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_operator_cli_then_student_submit(embedded, tmp_path):
    env, url, data_dir = embedded
    assert torchgrade(env, "course", "create", "pytorch-demo", "--title", "Demo").returncode == 0
    again = torchgrade(env, "course", "create", "pytorch-demo")
    assert again.returncode == 2 and "exists already" in again.stderr
    added = torchgrade(env, "user", "add", "ada", "--role", "student", "--course", "pytorch-demo")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("tg_")
    submitted = torchgrade(env, "submit", "w1-normal-modes", str(REPOSITORY / "reference/w1-normal-modes/selftest/"
                                                                 "good_torch_normal.py"), "--server", url,
                           "--token", token)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert "done: graded" in submitted.stdout and "32/32" in submitted.stdout
    assert "✓ tensor_tensor_shape_dtype 2/2" in submitted.stdout


def test_student_submit_errors_are_clear(embedded, tmp_path):
    env, url, _ = embedded
    bad_token = torchgrade(env, "submit", "w1-normal-modes", str(REPOSITORY / "reference/w1-normal-modes/starter.py"),
                           "--server", url, "--token", "tg_wrong")
    assert bad_token.returncode == 2 and "not accepted (401)" in bad_token.stderr
    missing = torchgrade(env, "submit", "w1-normal-modes", str(tmp_path / "nope.py"), "--server", url, "--token", "x")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_roster_import(embedded, tmp_path):
    env, _, _ = embedded
    assert torchgrade(env, "course", "create", "roster-course").returncode == 0
    roster = tmp_path / "course.csv"
    roster.write_bytes("学号,姓名,角色\nli.lei,李雷,学生\nhan.mei,韩梅梅,student\nprof.wang,,教师\n".encode("gbk"))
    imported = torchgrade(env, "roster", "import", str(roster), "--course", "roster-course")
    assert imported.returncode == 0, imported.stderr
    assert "GBK" in imported.stderr
    lines = imported.stdout.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("学号/student_id,姓名/name") and len(lines) == 4
    assert [line.split(",")[0] for line in lines[1:]] == ["li.lei", "han.mei", "prof.wang"]
    broken = tmp_path / "broken.csv"
    broken.write_text("学号,角色\nok.user,student\nbad name!,student\n")
    failed = torchgrade(env, "roster", "import", str(broken), "--course", "roster-course")
    assert failed.returncode == 2 and "roster line 3" in failed.stderr


def test_demo_prints_tokens_that_work(embedded):
    env, url, _ = embedded
    demo = torchgrade(env, "demo")
    assert demo.returncode == 0, demo.stderr
    tokens = dict(line.strip().removeprefix("export ").split("=", 1) for line in demo.stdout.splitlines()
                  if line.strip().startswith("export "))
    logins = dict(line.strip().split(" / ", 1) for line in demo.stdout.splitlines() if " / " in line)
    assert set(tokens) == {"INSTRUCTOR", "TA", "STUDENT"} and set(logins) == {"instructor", "ta", "student"}
    session = httpx.post(f"{url}/api/v1/session", json={"name": "ta", "password": logins["ta"]})
    assert session.status_code == 200, session.text
    ta = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {tokens['TA']}"}).json()
    assert ta["courses"] == [{"course": "demo", "role": "ta"}]
    response = httpx.post(f"{url}/api/v1/assignments/w1-normal-modes/submissions",
                          headers={"Authorization": f"Bearer {tokens['STUDENT']}"}, files={"file": ("hw.py", GOOD)})
    assert response.status_code == 202
    me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {tokens['INSTRUCTOR']}"}).json()
    assert me["courses"] == [{"course": "demo", "role": "instructor"}]
