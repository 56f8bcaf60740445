"""The task's logic as plain functions: claim, record exactly once, take over dead claims,
retry grader faults, give up without a score; and the sweeper."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest
from sqlalchemy import func, select, update

from core import lifecycle
from core.db import utcnow
from core.models import CourseAssignment, Submission, SubmissionEvent, User
from core.queueing import BrokerUnavailable
from grader.results import GradeResult, TestResult
from grader.status import CheckStatus, SubmissionStatus
from tests.workers.stack import seed_course
from workers import grading, sweeper

LEASE = lambda assignment: 60.0  # noqa: E731


class StubGrader:
    """The engine's interface, with canned results; ``checks`` progress reports before each."""

    def __init__(self, catalog, status=SubmissionStatus.graded, checks=0):
        self.catalog = catalog
        self.status = status
        self.checks = checks
        self.graded = 0

    def grade(self, assignment_id, filename, content, on_progress=None):
        self.graded += 1
        for index in range(self.checks):
            on_progress(TestResult(name=f"c{index}", score=1.0, max_score=1.0, status=CheckStatus.passed))
        return GradeResult(assignment=assignment_id, submission=filename, status=self.status, score=6.0,
                           max_score=6.0, pending_max_score=5.0,
                           message="grader fault" if self.status == "internal_error" else "")


class Queue:
    def __init__(self, down=False):
        self.sent, self.down = [], down

    def send(self, submission_id, queue):
        if self.down:
            raise BrokerUnavailable("down")
        self.sent.append(submission_id)


def stored_submission(sessions, settings, catalog, **values) -> int:
    people = seed_course(settings, catalog, students=1)
    with sessions() as session:
        offered = session.scalar(select(CourseAssignment).join(CourseAssignment.course).where(
            CourseAssignment.assignment_id == "w0-service", CourseAssignment.course.has(slug=people["course"])))
        user = session.scalar(select(User).where(User.name == people["students"][0]))
        submission = Submission(course_assignment_id=offered.id, user_id=user.id, filename="hw.py", content=b"x",
                                sha256="0" * 64, size=1, queue="cpu", max_score=6, **values)
        session.add(submission)
        session.commit()
        return submission.id


def row(sessions, submission_id) -> Submission:
    with sessions() as session:
        return session.get(Submission, submission_id)


def done_events(sessions, submission_id) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).where(SubmissionEvent.submission_id == submission_id,
                                                         SubmissionEvent.kind == "done"))


def test_graded_once_and_a_second_delivery_does_nothing(sessions, db_settings, catalog):
    submission_id = stored_submission(sessions, db_settings, catalog)
    grader = StubGrader(catalog)
    assert grading.grade(sessions, grader, db_settings, submission_id) == "recorded"
    assert grading.grade(sessions, grader, db_settings, submission_id) == "skipped"
    stored = row(sessions, submission_id)
    assert (stored.status, stored.score, stored.max_score, stored.attempts, grader.graded) == ("graded", 6, 6, 1, 1)
    assert done_events(sessions, submission_id) == 1


def events(sessions, submission_id) -> list[tuple[str, int | None]]:
    with sessions() as session:
        rows = session.execute(select(SubmissionEvent.kind, SubmissionEvent.data).where(
            SubmissionEvent.submission_id == submission_id).order_by(SubmissionEvent.id))
        return [(kind, data.get("index")) for kind, data in rows]


@pytest.mark.parametrize("interval_s", [0.0, 3600.0])
def test_every_progress_event_is_stored_in_order_before_done(sessions, db_settings, catalog, interval_s):
    """Written behind the grading, in bursts at most every interval_s: whatever the thread has
    not written when the engine returns is stored with the result, before ``done``."""
    submission_id = stored_submission(sessions, db_settings, catalog)
    settings = db_settings.model_copy(update={"progress_interval_s": interval_s})
    assert grading.grade(sessions, StubGrader(catalog, checks=5), settings, submission_id) == "recorded"
    assert events(sessions, submission_id) == [("running", None), *(("check", i) for i in range(1, 6)), ("done", None)]


def test_a_grader_faults_progress_is_stored_before_it_is_released(sessions, db_settings, catalog):
    submission_id = stored_submission(sessions, db_settings, catalog)
    settings = db_settings.model_copy(update={"progress_interval_s": 3600.0})
    with pytest.raises(grading.GraderFault):
        grading.grade(sessions, StubGrader(catalog, SubmissionStatus.internal_error, checks=3), settings, submission_id)
    assert events(sessions, submission_id) == [("running", None), ("check", 1), ("check", 2), ("check", 3)]
    assert row(sessions, submission_id).status == "queued"


def test_missing_submission_is_skipped(sessions, db_settings, catalog):
    assert grading.grade(sessions, StubGrader(catalog), db_settings, 10**9) == "skipped"


def test_a_live_claim_is_left_alone_a_dead_one_taken_over(sessions, db_settings, catalog):
    submission_id = stored_submission(sessions, db_settings, catalog)
    first = lifecycle.claim(sessions, submission_id, LEASE, "elsewhere:123")
    assert lifecycle.claim(sessions, submission_id, LEASE, lifecycle.identity()) is None
    with sessions() as session:
        session.execute(update(Submission).where(Submission.id == submission_id).values(worker=f"{os.uname().nodename}:"
                                                                                        f"{_dead_pid()}"))
        session.commit()
    second = lifecycle.claim(sessions, submission_id, LEASE, lifecycle.identity())
    assert second is not None and second.attempts == 2
    result = GradeResult(assignment="w0-service", submission="hw.py", status="graded", score=1, max_score=6)
    assert not lifecycle.record(sessions, first, result, 0.1, 1.0), "the first claim was taken over"
    assert lifecycle.record(sessions, second, result, 0.1, 1.0)
    assert done_events(sessions, submission_id) == 1


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_an_expired_lease_is_taken_over(sessions, db_settings, catalog):
    submission_id = stored_submission(sessions, db_settings, catalog)
    lifecycle.claim(sessions, submission_id, lambda a: -1.0, "elsewhere:123")
    assert lifecycle.claim(sessions, submission_id, LEASE, lifecycle.identity()) is not None


def test_grader_fault_is_released_for_retry_then_given_up_unscored(sessions, db_settings, catalog):
    submission_id = stored_submission(sessions, db_settings, catalog)
    faulty = StubGrader(catalog, status=SubmissionStatus.internal_error)
    for attempt in range(1, db_settings.max_deliveries):
        with pytest.raises(grading.GraderFault):
            grading.grade(sessions, faulty, db_settings, submission_id)
        stored = row(sessions, submission_id)
        assert (stored.status, stored.score, stored.attempts) == ("queued", None, attempt)
    assert grading.grade(sessions, faulty, db_settings, submission_id) == "gave_up"
    stored = row(sessions, submission_id)
    assert (stored.status, stored.score) == ("internal_error", None)
    with sessions() as session:
        result = session.get(Submission, submission_id).result
    assert result["message"] == ("grading failed because of a grader fault, not your code (grader fault); your "
                                 "instructor will regrade it")
    assert result["translations"]["zh"]["message"] == "评分失败是评分程序的故障，不是你的代码的问题（grader fault）；授课教师会重新评分"


def test_too_many_deliveries_give_up_without_grading(sessions, db_settings, catalog):
    submission_id = stored_submission(sessions, db_settings, catalog, attempts=db_settings.max_deliveries)
    grader = StubGrader(catalog)
    assert grading.grade(sessions, grader, db_settings, submission_id) == "gave_up" and grader.graded == 0
    with sessions() as session:
        said = session.get(Submission, submission_id).result["translations"]["zh"]["message"]
    assert f"尝试评分 {db_settings.max_deliveries} 次后放弃" in said


def test_sweeper_queues_unqueued_stale_and_abandoned(sessions, db_settings, catalog):
    old = utcnow() - dt.timedelta(hours=2)
    unqueued = stored_submission(sessions, db_settings, catalog, created_at=old)
    fresh = stored_submission(sessions, db_settings, catalog)
    stale = stored_submission(sessions, db_settings, catalog, created_at=old, enqueued_at=old)
    abandoned = stored_submission(sessions, db_settings, catalog, created_at=old, enqueued_at=old,
                                  status=SubmissionStatus.running, claim="c", worker="gone:1", lease_until=old)
    running = stored_submission(sessions, db_settings, catalog, created_at=old, enqueued_at=old,
                                status=SubmissionStatus.running, claim="d", worker="busy:1",
                                lease_until=utcnow() + dt.timedelta(hours=1))
    queue = Queue()
    sent = sweeper.sweep(sessions, queue, db_settings)
    assert {unqueued, stale, abandoned} <= set(sent) and not {fresh, running} & set(sent)
    assert row(sessions, abandoned).status == "queued" and row(sessions, abandoned).claim is None
    assert not {unqueued, stale, abandoned} & set(sweeper.sweep(sessions, queue, db_settings)), "queued once"


def test_sweeper_with_the_broker_down_keeps_them_unqueued(sessions, db_settings, catalog):
    unqueued = stored_submission(sessions, db_settings, catalog, created_at=utcnow() - dt.timedelta(hours=2))
    sweeper.sweep(sessions, Queue(down=True), db_settings)
    assert row(sessions, unqueued).enqueued_at is None
    assert unqueued in sweeper.sweep(sessions, Queue(), db_settings)
