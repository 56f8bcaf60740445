"""Written answers belong to the student's work on an assignment: a .py of code and a .md of
answers add up, a score stays with the text it scored, and points mean one thing everywhere.

w0-service offers 6 auto-graded points (answer_visible 2, answer_hidden 3, grader_health 1) and
one written question, Q1, worth 5: 11 in all."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from core.models import Submission
from grader.results import GradeResult, TestResult
from grader.status import CheckStatus, SubmissionStatus
from tests.api.conftest import bearer, submit
from workers import grading

CHECKS = (("answer_visible", 2), ("answer_hidden", 3), ("grader_health", 1))
CODE = b"def answer():\n    return 42\n"
PENDING = "written answer received; an instructor will score it"


def record(sessions, submission_id: int, filename: str, *, passed: bool = True, answer: str | None = None,
           status: SubmissionStatus = SubmissionStatus.graded) -> None:
    """Record what the engine gives a .py (checks run) or a .md (checks skipped) of w0-service."""
    markdown = filename.endswith(".md")
    tests = [] if status != SubmissionStatus.graded else [
        TestResult(name=name, score=points if passed and not markdown else 0.0, max_score=points,
                   status=CheckStatus.skipped if markdown else CheckStatus.passed if passed else CheckStatus.failed)
        for name, points in CHECKS] + [
        TestResult(name="Q1", score=0.0, max_score=5, status=CheckStatus.pending, feedback=PENDING)
        if answer else TestResult(name="Q1", score=0.0, max_score=5, status=CheckStatus.failed,
                                  feedback="no answer found")]
    result = GradeResult(assignment="w0-service", submission=filename, status=status,
                         score=sum(t.score for t in tests), max_score=6,
                         pending_max_score=5 if answer else 0, tests=tests,
                         answers={"Q1": answer} if answer else {})
    claimed = grading.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    assert grading.record(sessions, claimed, result, 0.1, result.score)


def upload(client, sessions, course, who: str, filename: str, **outcome) -> int:
    content = CODE if filename.endswith(".py") else f"## Q1\n{outcome.get('answer') or ''}\n".encode()
    response = submit(client, course, who, content=content, filename=filename)
    assert response.status_code == 202, response.text
    record(sessions, response.json()["id"], filename, **outcome)
    return response.json()["id"]


def grade_of(client, course, who: str, policy: str = "best") -> dict:
    book = client.get(f"/api/v1/courses/{course['course']}/gradebook", params={"policy": policy},
                      headers=bearer(course, "instructor")).json()
    return next(r for r in book["students"] if r["student"] == who)["grades"]["w0-service"]


def my_grade(client, course, who: str) -> dict:
    grades = client.get("/api/v1/grades", headers=bearer(course, who)).json()
    return next(g for g in grades if g["assignment"] == "w0-service")["grade"]


def score(client, course, submission_id: int, points: float, comment: str = ""):
    response = client.put(f"/api/v1/submissions/{submission_id}/written/Q1", headers=bearer(course, "instructor"),
                          json={"score": points, "comment": comment})
    assert response.status_code == 200, response.text
    return response.json()


def points(grade: dict) -> tuple:
    return (grade["score"], grade["auto_score"], grade["written_score"], grade["pending_max_score"],
            grade["max_score"])


def test_code_and_markdown_answers_add_up(client, queue, course, sessions):
    alice = course["students"][0]
    code = upload(client, sessions, course, alice, "hw.py")
    answers = upload(client, sessions, course, alice, "answers.md", answer="Because it is the answer.")
    assert points(grade_of(client, course, alice, "latest")) == (6, 6, 0, 5, 11)
    score(client, course, answers, 5, "Right.")
    for policy in ("best", "latest"):
        grade = grade_of(client, course, alice, policy)
        assert points(grade) == (11, 6, 5, 0, 11) and grade["adjusted_score"] == 11
        assert grade["submission_id"] == code  # the .md carries answers, not a code attempt
    mine = my_grade(client, course, alice)
    assert (mine["score"], mine["submission_id"]) == (11, code)
    overview = client.get("/api/v1/assignments", headers=bearer(course, alice)).json()
    assert next(a for a in overview if a["course"] == course["course"])["best_score"] == 11
    shown = client.get(f"/api/v1/submissions/{code}", headers=bearer(course, alice)).json()
    q1 = next(t for t in shown["tests"] if t["name"] == "Q1")
    assert (shown["score"], q1["status"], q1["score"]) == (11, "passed", 5)
    assert q1["feedback"] == f"Right. (answered in submission {answers})"
    listed = client.get("/api/v1/assignments/w0-service/submissions", headers=bearer(course, alice)).json()
    assert {s["id"]: (s["score"], s["auto_score"]) for s in listed} == {code: (11, 6), answers: (5, 0)}


def test_a_broken_resubmission_keeps_the_written_scores(client, queue, course, sessions):
    alice = course["students"][0]
    code = upload(client, sessions, course, alice, "hw.py", answer="Because.")
    score(client, course, code, 4, "Nearly.")
    broken = upload(client, sessions, course, alice, "hw.py", status=SubmissionStatus.error)
    latest, best = grade_of(client, course, alice, "latest"), grade_of(client, course, alice, "best")
    assert (latest["submission_id"], points(latest)) == (broken, (4, 0, 4, 0, 11))
    assert (best["submission_id"], points(best)) == (code, (10, 6, 4, 0, 11))


def test_a_changed_answer_is_pending_again_and_an_unchanged_one_keeps_its_score(client, queue, course, sessions):
    alice = course["students"][0]
    upload(client, sessions, course, alice, "hw.py")
    first = upload(client, sessions, course, alice, "answers.md", answer="Because.")
    scored = score(client, course, first, 3)
    upload(client, sessions, course, alice, "answers.md", answer="Because.")
    assert points(grade_of(client, course, alice)) == (9, 6, 3, 0, 11)
    changed = upload(client, sessions, course, alice, "answers.md", answer="Because it is the answer.")
    assert points(grade_of(client, course, alice)) == (6, 6, 0, 5, 11)
    shown = client.get(f"/api/v1/submissions/{first}", headers=bearer(course, "instructor")).json()
    assert shown["answers"] == {"Q1": "Because it is the answer."}
    assert next(t for t in shown["tests"] if t["name"] == "Q1")["status"] == "pending"
    assert score(client, course, changed, 5)["answer_sha256"] != scored["answer_sha256"]
    assert points(grade_of(client, course, alice)) == (11, 6, 5, 0, 11)
    upload(client, sessions, course, alice, "answers.md", answer="Because.")  # back to the text scored 3
    assert points(grade_of(client, course, alice)) == (9, 6, 3, 0, 11)


def test_unanswered_questions_are_not_pending(client, queue, course, sessions):
    alice = course["students"][0]
    code = upload(client, sessions, course, alice, "hw.py")
    shown = client.get(f"/api/v1/submissions/{code}", headers=bearer(course, alice)).json()
    assert (shown["pending_max_score"], shown["written_score"], shown["max_score"]) == (0, 0, 11)
    assert points(grade_of(client, course, alice)) == (6, 6, 0, 0, 11)
    missing = client.put(f"/api/v1/submissions/{code}/written/Q1", headers=bearer(course, "instructor"),
                         json={"score": 1})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "answer_not_found"


def test_answers_only_count_until_there_is_code(client, queue, course, sessions):
    alice = course["students"][0]
    answers = upload(client, sessions, course, alice, "answers.md", answer="Because.")
    score(client, course, answers, 5)
    grade = grade_of(client, course, alice, "latest")
    assert (grade["submission_id"], points(grade)) == (answers, (5, 0, 5, 0, 11))


def test_late_answers_carry_their_own_penalty(client, queue, course, sessions):
    alice = course["students"][0]
    teacher = bearer(course, "instructor")
    due = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    client.patch(f"/api/v1/courses/{course['course']}/assignments/w0-service/policy", headers=teacher,
                 json={"due_at": (due + dt.timedelta(days=1)).isoformat(), "late_days": 3,
                       "late_penalty_per_day": 0.5})
    code = upload(client, sessions, course, alice, "hw.py")
    answers = upload(client, sessions, course, alice, "answers.md", answer="Because.")
    score(client, course, answers, 4)
    client.patch(f"/api/v1/courses/{course['course']}/assignments/w0-service/policy", headers=teacher,
                 json={"due_at": due.isoformat()})
    with sessions() as session:  # the code was on time; the answers came within the first day late
        session.execute(update(Submission).where(Submission.id == code).values(created_at=due - dt.timedelta(hours=1)))
        session.commit()
    grade = grade_of(client, course, alice)
    assert (grade["submission_id"], grade["late_penalty"], grade["score"], grade["adjusted_score"]) == (code, 0, 10, 8)


def test_statistics_leave_pending_answers_out(client, queue, course, sessions):
    alice, bob = course["students"]
    scored_one = upload(client, sessions, course, alice, "hw.py", answer="Because.")
    score(client, course, scored_one, 5)
    upload(client, sessions, course, bob, "hw.py", passed=False, answer="No idea.")
    url = f"/api/v1/courses/{course['course']}/assignments/w0-service/stats"
    stats = client.get(url, headers=bearer(course, "instructor")).json()
    assert (stats["students_scored"], stats["students_pending"], stats["mean"], stats["median"]) == (1, 1, 11, 11)
    q1 = next(c for c in stats["checks"] if c["name"] == "Q1")
    assert (q1["graded"], q1["pass_rate"], q1["common_failures"]) == (1, 1.0, [])
    visible = next(c for c in stats["checks"] if c["name"] == "answer_visible")
    assert (visible["graded"], visible["pass_rate"]) == (2, 0.5)
