"""Structured logs (core/logs.py): one JSON object a line, with the submission, assignment,
worker and durations of each grading event; plain text on request.  (A grader's traceback in
the log and not in the result: tests/grader/test_engine.py.)"""

from __future__ import annotations

import json
import logging

import pytest

from core import logs
from tests.workers.conftest import catalog, db_settings, references, sessions  # noqa: F401 (fixtures)
from tests.workers.test_grading import StubGrader, stored_submission
from workers import grading


@pytest.fixture
def restored_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_one_json_object_a_line(capsys, restored_logging):
    logs.configure("json")
    logging.getLogger("torchgrade.test").info("graded 学生", extra={"submission_id": 7, "grading_s": 0.25,
                                                                   "color_message": "\x1b[36mgraded\x1b[0m"})
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        logging.getLogger("torchgrade.test").exception("failed", extra={"worker": "h:1"})
    first, second = lines(capsys.readouterr().err)
    assert {k: first[k] for k in ("level", "logger", "message", "submission_id", "grading_s")} == {
        "level": "INFO", "logger": "torchgrade.test", "message": "graded 学生", "submission_id": 7, "grading_s": 0.25}
    assert first["time"].endswith("+00:00") and isinstance(first["process"], int) and "color_message" not in first
    assert second["worker"] == "h:1" and "RuntimeError: boom\nsecond line" in second["exc_info"]


def test_plain_text_on_request(capsys, restored_logging):
    logs.configure("text")
    logging.getLogger("torchgrade.test").warning("hello")
    assert capsys.readouterr().err.rstrip().endswith("WARNING torchgrade.test[" + str(__import__("os").getpid())
                                                     + "]: hello")


def test_a_grading_logs_its_submission_assignment_worker_and_durations(sessions, db_settings, catalog, caplog):
    submission_id = stored_submission(sessions, db_settings, catalog)
    with caplog.at_level(logging.INFO, logger="workers.grading"):
        assert grading.grade(sessions, StubGrader(catalog), db_settings, submission_id) == "recorded"
    events = {r.getMessage(): r for r in caplog.records if getattr(r, "submission_id", None) == submission_id}
    assert set(events) == {"grading", "graded"}
    graded = json.loads(logs.formatter("json").format(events["graded"]))
    assert (graded["assignment"], graded["outcome"], graded["status"], graded["attempt"]) == (
        "w0-service", "recorded", "graded", 1)
    assert ":" in graded["worker"] and graded["grading_s"] >= 0 and "checks_s" in graded


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_invitation_codes_never_reach_the_log(capsys, restored_logging, monkeypatch, log_format):
    """Attack: an invitation code is the account until it is used, and it travels in the URL
    (/invite/CODE, /api/v1/invitations/CODE): uvicorn's access log wrote it for whoever reads
    the logs.  The log keeps the path with the code replaced."""
    logs.configure(log_format)
    for name in ("uvicorn", "uvicorn.access"):  # as logs.uvicorn_config leaves them (a server started by
        logger = logging.getLogger(name)         # another test has uvicorn's own configuration)
        for attribute, value in (("disabled", False), ("propagate", True), ("handlers", []), ("level", logger.level)):
            monkeypatch.setattr(logger, attribute, value)
        logger.setLevel(logging.INFO)  # (setLevel clears the level cache; monkeypatch restores the level)
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5123", "GET", "/invite/Sekr3t-Code_x?lang=zh", "1.1", 200)
    access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5123", "POST", "/api/v1/invitations/Sekr3t-Code_y", "1.1", 200)
    logging.getLogger("web.errors").error("unhandled error on %s", "/invite/Sekr3t-Code_z")
    out = capsys.readouterr().err
    assert "Sekr3t" not in out
    assert "/invite/…?lang=zh" in out and "/api/v1/invitations/…" in out and "/invite/…" in out
