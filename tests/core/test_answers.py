"""The student's current answers: the latest upload wins even when recorded out of order, a
score stays with the text it scored, and migration 0003 moves the scores of submissions to the
answers."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from core import answers
from core.db import session_factory
from core.migrate import upgrade
from core.models import Course, CourseAssignment, Submission, User, WrittenScore
from grader.results import GradeResult

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)


@pytest.fixture
def world(database_url):
    upgrade(database_url)
    sessions = session_factory(database_url)
    with sessions() as session:
        course = Course(slug="c")
        student = User(name="alice")
        session.add_all([course, student])
        session.flush()
        offered = CourseAssignment(course_id=course.id, assignment_id="w0-service")
        session.add(offered)
        session.commit()
        return sessions, offered.id, student


def upload(sessions, offered_id: int, user: User, minutes: int, filename: str = "answers.md") -> int:
    with sessions() as session:
        submission = Submission(course_assignment_id=offered_id, user_id=user.id, filename=filename, content=b"x",
                                sha256="0" * 64, size=1, queue="cpu", created_at=T0 + dt.timedelta(minutes=minutes))
        session.add(submission)
        session.commit()
        return submission.id


def remember(sessions, submission_id: int, **texts: str) -> None:
    with sessions() as session:
        answers.remember(session, submission_id, GradeResult(assignment="w0-service", submission="answers.md",
                                                             status="graded", answers=texts))
        session.commit()


def current(sessions, offered_id: int, user: User) -> dict[str, answers.Current]:
    with sessions() as session:
        return answers.current(session, [offered_id], [user.id]).get((user.id, offered_id), {})


def test_the_latest_upload_wins_even_recorded_out_of_order(world):
    sessions, offered_id, alice = world
    early, late = upload(sessions, offered_id, alice, 0), upload(sessions, offered_id, alice, 5)
    remember(sessions, late, Q1="second", Q2="only once")
    remember(sessions, early, Q1="first", Q3="from the early one")
    found = current(sessions, offered_id, alice)
    assert {name: a.submission_id for name, a in found.items()} == {"Q1": late, "Q2": late, "Q3": early}
    assert found["Q1"].sha256 == answers.digest("second")
    remember(sessions, late, Q1="second")  # recorded again (a regrade): nothing changes
    assert current(sessions, offered_id, alice)["Q1"].submission_id == late


def test_a_score_stays_with_the_text_it_scored(world):
    sessions, offered_id, alice = world
    remember(sessions, upload(sessions, offered_id, alice, 0), Q1="first")
    with sessions() as session:
        answers.score(session, alice, current(sessions, offered_id, alice)["Q1"], 4.0, "ok")
    assert current(sessions, offered_id, alice)["Q1"].score == 4.0
    remember(sessions, upload(sessions, offered_id, alice, 1), Q1="first")
    assert current(sessions, offered_id, alice)["Q1"].score == 4.0
    remember(sessions, upload(sessions, offered_id, alice, 2), Q1="changed")
    assert current(sessions, offered_id, alice)["Q1"].score is None
    remember(sessions, upload(sessions, offered_id, alice, 3), Q1="first")
    assert current(sessions, offered_id, alice)["Q1"].score == 4.0


def test_migration_moves_scores_from_submissions_to_answers(database_url):
    upgrade(database_url, "0001")
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    meta = sa.MetaData()
    meta.reflect(engine)
    tables = meta.tables
    result = {"assignment": "w0-service", "submission": "hw.py", "status": "graded", "max_score": 6.0,
              "pending_max_score": 5.0, "answers": {"Q1": "Because."}}
    with engine.begin() as connection:
        connection.execute(tables["courses"].insert(), [{"id": 1, "slug": "c", "title": "", "created_at": T0}])
        connection.execute(tables["users"].insert(), [
            {"id": 1, "name": "alice", "display_name": "", "email": "", "is_admin": False, "token_hash": "a" * 64,
             "created_at": T0}])
        connection.execute(tables["course_assignments"].insert(), [
            {"id": 1, "course_id": 1, "assignment_id": "w0-service", "late_days": 0, "late_penalty_per_day": 0.0,
             "results_released": False}])
        rows = [{"id": i, "course_assignment_id": 1, "user_id": 1, "filename": "hw.py", "content": b"x",
                 "sha256": "0" * 64, "size": 1, "queue": "cpu", "status": "graded", "attempts": 1, "score": 6.0,
                 "max_score": 11.0, "created_at": T0 + dt.timedelta(minutes=i), "result": result} for i in (1, 2)]
        rows.append({**rows[0], "id": 3, "status": "queued", "score": None, "result": None,
                     "created_at": T0 + dt.timedelta(minutes=3)})
        connection.execute(tables["submissions"].insert(), rows)
        connection.execute(tables["written_scores"].insert(), [
            {"submission_id": 1, "name": "Q1", "score": 4.0, "comment": "Nearly.", "scored_by": 1,
             "scored_at": T0 + dt.timedelta(hours=1)}])
    engine.dispose()
    upgrade(database_url)
    sessions = session_factory(database_url)
    with sessions() as session:
        alice = session.get(User, 1)
        assert [session.get(Submission, i).max_score for i in (1, 2, 3)] == [6.0, 6.0, 6.0]
        moved = session.scalars(sa.select(WrittenScore)).one()
        assert (moved.score, moved.comment, moved.answer_sha256) == \
            (4.0, "Nearly.", hashlib.sha256(b"Because.").hexdigest())
    found = current(sessions, 1, alice)["Q1"]
    assert (found.submission_id, found.score, found.comment) == (2, 4.0, "Nearly.")  # the same text, uploaded again


def test_a_pending_answer_says_the_engines_message_in_both_languages():
    """One message, one translation: the service shows a pending answer as the engine graded it."""
    from grader.i18n import render
    from grader.manifest import Text, WrittenSpec
    from grader.results import WRITTEN_PENDING

    spec = WrittenSpec(name="Q1", points=5, prompt=Text(zh="为什么？", en="Why?"))
    pending = answers.Current(answer_id=1, name="Q1", sha256="0" * 64, submission_id=None, answered_at=T0, score=None)
    shown = answers.as_test(spec, pending)
    assert shown.feedback == render(WRITTEN_PENDING, "en") == "written answer received; an instructor will score it"
    assert shown.translations["zh"].feedback == render(WRITTEN_PENDING, "zh") == "已收到书面回答，将由教师评分"
