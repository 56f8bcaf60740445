"""The student's client (client/, package torchgrade_client): it installs in a fresh venv with
httpx and nothing of torch or the server, submits to a real server over HTTP, follows the
grading, and says everything in Chinese and English, including that a submission waits for a
worker nobody runs.  The server is the API (uvicorn in a thread, SQLite); the grading is the
worker's own claim and record (core/lifecycle.py) without a sandbox."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import delete, func, select

from api.app import create_app
from core import lifecycle, workers
from core.catalog import ManifestCatalog
from core.db import session_factory
from core.models import Submission, Worker
from grader.results import GradeResult, TestResult
from grader.status import CheckStatus, SubmissionStatus
from tests.api.conftest import RecordingQueue
from tests.workers.stack import REPOSITORY, free_port, migrated, reference_dir, seed_course, service_settings, wait_for

CLIENT = REPOSITORY / "client"
PACKAGE = CLIENT / "torchgrade_client"
ANSWER = b"def answer():\n    return 42\n"


def said_messages() -> set[str]:
    """Every literal message the client passes to ``say``."""
    found = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


def test_every_message_has_its_chinese():
    from torchgrade_client.messages import ZH

    said = said_messages()
    assert len(said) >= 12
    assert said <= set(ZH), sorted(said - set(ZH))
    assert set(ZH) <= said, sorted(set(ZH) - said)  # no stale translation


def test_statuses_and_pending_answers_are_said_in_the_students_language():
    from torchgrade_client.messages import STATUS
    from torchgrade_client.submit import progress_line, show_plain

    assert set(STATUS) == {s.value for s in SubmissionStatus}
    shown = {"id": 7, "status": "graded", "score": 4.0, "max_score": 18.0, "pending_max_score": 5.0, "tests": [
        {"name": "tensor_orders", "status": "passed", "score": 3, "max_score": 3},
        {"name": "Q3", "status": "pending", "score": 0, "max_score": 5, "feedback": "已收到书面回答，将由教师评分"}]}
    lines: list[str] = []
    show_plain(shown, lines.append, "zh")
    assert "状态：已评分" in lines and "  … Q3 0/5" in lines, lines
    assert progress_line("done", {"status": "timeout"}, "zh") == "完成：超时"
    assert progress_line("done", {"status": "internal_error"}, "en") == "done: grader fault (not yours)"
    show_plain({**shown, "status": "running"}, lines.append, "zh")
    assert lines[-1].startswith("仍在评分中；")


def test_the_client_imports_nothing_of_the_server():
    allowed = {"__future__", "argparse", "json", "os", "sys", "time", "collections", "pathlib", "typing", "httpx",
               "torchgrade_client"}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert {n.split(".")[0] for n in names} <= allowed, (path.name, names)


# ---------------------------------------------------------------------- installed, against a server
@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh Python 3.11 venv with only the client installed (pip install ./client)."""
    home = tmp_path_factory.mktemp("client-venv")
    subprocess.run(["python3.11", "-m", "venv", str(home)], check=True, timeout=120)
    installed = subprocess.run([str(home / "bin/pip"), "install", "--quiet", str(CLIENT)], capture_output=True,
                               text=True, timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return home


def test_installs_without_torch(venv):
    listed = subprocess.run([str(venv / "bin/pip"), "list", "--format=freeze"], capture_output=True, text=True,
                            check=True).stdout.lower()
    names = {line.split("==")[0] for line in listed.split()}
    assert {"torchgrade-client", "httpx"} <= names
    assert not names & {"torch", "torchvision", "numpy", "fastapi", "sqlalchemy", "celery", "pydantic", "rich"}, names
    size = sum(f.stat().st_size for f in (venv / "lib").rglob("*") if f.is_file())
    assert size < 50 << 20, f"the client's venv holds {size >> 20} MB"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = migrated(service_settings(tmp_path_factory.mktemp("client-server"),
                                         reference_dir(tmp_path_factory.mktemp("client-refs")), slot=12))
    people = seed_course(settings, ManifestCatalog(settings.reference_dir), students=1)
    port = free_port()
    app = create_app(settings, enqueuer=RecordingQueue())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 30, "the API to start")
    yield settings, people, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def submit(venv: Path, url: str, token: str, path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TORCHGRADE_TOKEN")}
    return subprocess.run([str(venv / "bin/torchgrade-submit"), "w0-service", str(path), "--server", url, "--token",
                           token, *extra], capture_output=True, text=True, timeout=120, env=env)


def set_workers(settings, *queues: str) -> None:
    with session_factory(settings.database_url)() as session:
        session.execute(delete(Worker))
        if queues:
            workers.beat(session, "client-test:1", queues)
        session.commit()


def test_a_submission_nobody_grades_says_why(venv, server, tmp_path):
    settings, people, url = server
    set_workers(settings)
    homework = tmp_path / "hw.py"
    homework.write_bytes(ANSWER)
    student = people["tokens"][people["students"][0]]
    english = submit(venv, url, student, homework, "--lang", "en")
    assert english.returncode == 1, english.stdout + english.stderr
    assert "waiting: no CPU worker is running" in english.stdout
    assert "still queued; look again later" in english.stdout
    chinese = submit(venv, url, student, homework, "--lang", "zh")
    assert chinese.returncode == 1 and "没有正在运行的 CPU 评分进程" in chinese.stdout, chinese.stdout
    assert "仍在排队中" in chinese.stdout


def test_submit_follow_and_show_the_result(venv, server, tmp_path):
    settings, people, url = server
    set_workers(settings, "cpu")
    homework = tmp_path / "hw.py"
    homework.write_bytes(ANSWER)
    grader = threading.Thread(target=grade_next, args=(settings, newest(settings)), daemon=True)
    grader.start()
    done = submit(venv, url, people["tokens"][people["students"][0]], homework, "--lang", "zh")
    grader.join(30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "已将 hw.py 提交到 w0-service" in done.stdout
    assert "✓ answer_visible 2/2" in done.stdout and "完成：已评分" in done.stdout
    assert "得分：3 / 11" in done.stdout and "secret feedback" not in done.stdout  # hidden until released


def test_errors_are_clear(venv, server, tmp_path):
    _, _, url = server
    refused = submit(venv, url, "tg_wrong", REPOSITORY / "pyproject.toml", "--lang", "en")
    assert refused.returncode == 2 and "not accepted (401)" in refused.stderr
    missing = submit(venv, url, "x", tmp_path / "nope.py", "--lang", "zh")
    assert missing.returncode == 2 and "无法读取" in missing.stderr
    unreachable = submit(venv, f"http://127.0.0.1:{free_port()}", "x", REPOSITORY / "pyproject.toml", "--lang", "en")
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr


def newest(settings) -> int:
    with session_factory(settings.database_url)() as session:
        return session.scalar(select(func.max(Submission.id))) or 0


def grade_next(settings, after: int) -> None:
    """What a worker does with the next submission: claim it, record a result."""
    sessions = session_factory(settings.database_url)

    def queued():
        with sessions() as session:
            return session.scalar(select(Submission.id).where(Submission.id > after))
    submission_id = wait_for(queued, 30, "a queued submission")
    time.sleep(0.5)  # the client is following the stream by now (it reads the result either way)
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "client-test:2")
    tests = [TestResult(name="answer_visible", score=2, max_score=2, status=CheckStatus.passed),
             TestResult(name="grader_health", score=1, max_score=1, status=CheckStatus.passed),
             TestResult(name="answer_hidden", score=0, max_score=3, status=CheckStatus.failed, visibility="hidden",
                        feedback="secret feedback")]
    result = GradeResult(assignment="w0-service", submission="hw.py", status=SubmissionStatus.graded, score=3,
                         max_score=6, tests=tests)
    lifecycle.record(sessions, claimed, result, 0.1, result.score)
