"""A submission's life has one owner (core/lifecycle.py): nothing else writes its status, claim,
lease or events; publishing sends before it marks; a reset clears everything; events are typed
from the worker's write to the client's read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from torchgrade_client.submit import progress_line
from core import events, lifecycle
from core.models import SubmissionEvent
from core.queueing import BrokerUnavailable
from core.store import STORED_COLUMNS
from grader.results import GradeResult, TestResult
from grader.status import CheckStatus, SubmissionStatus, Visibility
from tests.workers.conftest import catalog, db_settings, references, sessions  # noqa: F401 (fixtures)
from tests.workers.test_grading import row, stored_submission

REPOSITORY = Path(__file__).resolve().parents[2]
SERVICE = ("api", "core", "workers", "torchgrade")
OWNER = REPOSITORY / "core" / "lifecycle.py"
STATE_COLUMNS = {"status", "claim", "worker", "lease_until", "enqueued_at", "attempts", "result", "score"}
STATE_TABLES = {"Submission", "SubmissionEvent", "SUBMISSIONS"}


def _writes_state(node: ast.AST) -> str | None:
    """What a statement does to a submission's state, if anything."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("update", "delete") \
            and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in STATE_TABLES:
        return f"{node.func.id}({node.args[0].id})"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "insert" \
            and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "SubmissionEvent":
        return "insert(SubmissionEvent)"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "SubmissionEvent":
        return "SubmissionEvent(...)"
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr in STATE_COLUMNS \
                    and isinstance(target.value, ast.Name) and target.value.id in ("submission", "stored"):
                return f"{target.value.id}.{target.attr} = ..."
    return None


def test_only_the_lifecycle_module_writes_a_submissions_state():
    found = []
    for package in SERVICE:
        for path in sorted((REPOSITORY / package).rglob("*.py")):
            if path == OWNER:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                what = _writes_state(node)
                if what:
                    found.append(f"{path.relative_to(REPOSITORY)}:{node.lineno}: {what}")
    assert not found, "state written outside core/lifecycle.py:\n" + "\n".join(found)


def test_the_check_finds_a_write_when_there_is_one():
    for source in ("session.execute(update(Submission).where(Submission.id == 1).values(status='graded'))",
                   "submission.status = 'queued'", "session.add(SubmissionEvent(kind='done'))",
                   "delete(SubmissionEvent)", "update(SUBMISSIONS)"):
        assert any(_writes_state(node) for node in ast.walk(ast.parse(source))), source


class FlakyQueue:
    """A broker that takes the first ``works`` messages, then is down."""

    def __init__(self, works: int):
        self.works, self.sent = works, []

    def send(self, submission_id: int, queue: str) -> None:
        if len(self.sent) >= self.works:
            raise BrokerUnavailable("down (test)")
        self.sent.append(submission_id)


def test_publish_marks_only_what_the_broker_took(sessions, db_settings, catalog):  # noqa: F811
    first, second = (stored_submission(sessions, db_settings, catalog) for _ in range(2))
    queue = FlakyQueue(works=1)
    with sessions() as session:
        assert lifecycle.publish_from(session, queue, [(first, "cpu"), (second, "cpu")]) == [first]
    assert queue.sent == [first]
    assert row(sessions, first).enqueued_at is not None
    assert row(sessions, second).enqueued_at is None, "unsent stays unmarked, for the sweeper"


def test_regrade_clears_result_claim_and_events_then_publishes(sessions, db_settings, catalog):  # noqa: F811
    submission_id = stored_submission(sessions, db_settings, catalog)
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "host:1")
    lifecycle.ProgressWriter(sessions, submission_id, total=1)(
        TestResult(name="a", score=1, max_score=1, status=CheckStatus.passed))
    assert lifecycle.record(sessions, claimed, GradeResult(assignment="w0-service", submission="hw.py",
                                                           status=SubmissionStatus.graded, score=1, max_score=1),
                            0.1, 1.0)
    queue = FlakyQueue(works=10)
    with sessions() as session:
        assert lifecycle.regrade(session, queue, [(submission_id, "cpu")]) == [submission_id]
        kinds = session.scalars(select(SubmissionEvent.kind).where(SubmissionEvent.submission_id == submission_id))
        assert list(kinds) == []
    stored = row(sessions, submission_id)
    assert (stored.status, stored.score, stored.claim, stored.attempts) == ("queued", None, None, 0)
    assert stored.enqueued_at is not None and queue.sent == [submission_id]
    assert not lifecycle.record(sessions, claimed, GradeResult(assignment="w0-service", submission="hw.py",
                                                               status=SubmissionStatus.graded), 0.1, 0.0), \
        "the grading in flight lost its claim"


def test_events_are_typed_from_the_workers_write_to_the_clients_read(sessions, db_settings, catalog):  # noqa: F811
    submission_id = stored_submission(sessions, db_settings, catalog)
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "host:1")
    writer = lifecycle.ProgressWriter(sessions, submission_id, total=2)
    writer(TestResult(name="shape", score=1, max_score=2, status=CheckStatus.partial, feedback="half",
                      detail="traceback for the instructor"))
    writer(TestResult(name="secret", score=0, max_score=3, status=CheckStatus.failed, visibility=Visibility.hidden))
    lifecycle.record(sessions, claimed, GradeResult(assignment="w0-service", submission="hw.py",
                                                    status=SubmissionStatus.graded, score=1, max_score=5), 0.1, 1.0)
    with sessions() as session:
        rows = session.execute(select(SubmissionEvent.kind, SubmissionEvent.data)
                               .where(SubmissionEvent.submission_id == submission_id)
                               .order_by(SubmissionEvent.id)).all()
    stored = [events.stored(kind, data) for kind, data in rows]
    assert [type(e) for e in stored] == [events.Running, events.Check, events.Check, events.Done]
    assert "detail" not in rows[1].data, "no traceback in a progress event"
    student_view = [events.shown(e, {Visibility.visible}) for e in stored]
    assert isinstance(student_view[2], events.ConcealedCheck) and student_view[1].feedback == "half"
    read = [events.parse(e.kind, events.payload(e)) for e in student_view]
    assert read == student_view, "the client reads back exactly what the stream sent"
    assert "shape 1/2" in progress_line("check", events.payload(student_view[1]))
    assert "hidden check" in progress_line("check", events.payload(student_view[2]))


def test_an_event_with_fields_it_does_not_know_is_refused():
    with pytest.raises(ValueError):
        events.stored("done", {"status": "graded", "score": 1, "injected": "<script>"})
    with pytest.raises(ValueError):
        events.stored("teleport", {})


def test_new_rows_are_stored_queued_and_unsent():
    values = lifecycle.new_row(course_assignment_id=1, user_id=2, filename="hw.py", content=b"abc", sha256="0" * 64,
                               queue="cpu", max_score=5, created_at=lifecycle.utcnow())
    assert values["status"] == SubmissionStatus.queued and values["size"] == 3 and "enqueued_at" not in values
    assert set(values) == set(STORED_COLUMNS), "exactly the columns the submit path inserts"


def test_a_check_event_is_shown_in_the_viewers_language():
    from grader.i18n import _

    test = TestResult.said(name="shape", score=0, max_score=1, status=CheckStatus.failed,
                           feedback=_("{name} is empty", name="hw.py"))
    stored = events.stored("check", events.payload(events.Check.of(test, 1, 1)))
    assert events.shown(stored, None, "zh").feedback == "hw.py 是空文件"
    assert events.shown(stored, None, "en").feedback == "hw.py is empty"
    assert events.payload(events.shown(stored, None, "zh"))["translations"] == {}
