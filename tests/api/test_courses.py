"""The instructors' API: gradebook, CSV, statistics, filtering, regrading, policies, extensions."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import update

from core.models import Submission
from tests.api.conftest import bearer, record_result, submit


def graded(client, course, sessions, who, **outcome) -> int:
    submission_id = submit(client, course, who).json()["id"]
    record_result(sessions, submission_id, **outcome)
    return submission_id


def backdate(sessions, submission_id: int, hours: float) -> None:
    with sessions() as session:
        when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours)
        session.execute(update(Submission).where(Submission.id == submission_id).values(created_at=when))
        session.commit()


def test_students_cannot_use_instructor_routes(client, course):
    student = bearer(course, course["students"][0])
    base = f"/api/v1/courses/{course['course']}"
    for method, path in (("get", "/gradebook"), ("get", "/gradebook.csv"), ("get", "/submissions"),
                         ("get", "/assignments/w0-service/stats"), ("post", "/assignments/w0-service/release")):
        response = getattr(client, method)(base + path, headers=student)
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_instructor", path


def test_unknown_course_and_assignment(client, course):
    teacher = bearer(course, "instructor")
    assert client.get("/api/v1/courses/nope/gradebook", headers=teacher).json()["error"]["code"] == "course_not_found"
    response = client.get(f"/api/v1/courses/{course['course']}/assignments/w9-x/stats", headers=teacher)
    assert response.status_code == 404 and response.json()["error"]["code"] == "assignment_not_found"


def test_gradebook_best_and_latest_with_late_penalty_and_extension(client, queue, course, sessions):
    alice, bob = course["students"]
    first = graded(client, course, sessions, alice)
    graded(client, course, sessions, alice, visible="failed")
    graded(client, course, sessions, bob)
    backdate(sessions, first, 2)
    due = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    teacher = bearer(course, "instructor")
    client.patch(f"/api/v1/courses/{course['course']}/assignments/w0-service/policy", headers=teacher,
                 json={"due_at": due.isoformat(), "late_days": 5, "late_penalty_per_day": 0.5})
    book = client.get(f"/api/v1/courses/{course['course']}/gradebook", headers=teacher).json()
    rows = {row["student"]: row for row in book["students"]}
    assert book["max_scores"]["w0-service"] == 11
    assert rows[alice]["grades"]["w0-service"]["submission_id"] == first
    assert rows[alice]["grades"]["w0-service"]["adjusted_score"] == 6
    assert rows[bob]["grades"]["w0-service"]["late_penalty"] == 0.5
    assert rows[bob]["grades"]["w0-service"]["adjusted_score"] == 3
    assert rows[bob]["grades"]["w1-normal-modes"] is None
    latest = client.get(f"/api/v1/courses/{course['course']}/gradebook", params={"policy": "latest"},
                        headers=teacher).json()
    assert {r["student"]: r for r in latest["students"]}[alice]["grades"]["w0-service"]["adjusted_score"] == 2
    client.put(f"/api/v1/courses/{course['course']}/assignments/w0-service/extensions/{bob}", headers=teacher,
               json={"due_at": (due + dt.timedelta(days=2)).isoformat()})
    book = client.get(f"/api/v1/courses/{course['course']}/gradebook", headers=teacher).json()
    assert {r["student"]: r for r in book["students"]}[bob]["grades"]["w0-service"]["adjusted_score"] == 6


def test_gradebook_csv(client, queue, course, sessions):
    graded(client, course, sessions, course["students"][0])
    response = client.get(f"/api/v1/courses/{course['course']}/gradebook.csv", headers=bearer(course, "instructor"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["student", "display_name", "w0-service", "w1-normal-modes", "total"]
    assert rows[1] == ["(max)", "", "11", "32", "43"]
    assert rows[2][0] == course["students"][0] and rows[2][2] == "6" and rows[3][2] == ""


def test_written_scores_count_in_the_gradebook(client, queue, course, sessions):
    submission_id = graded(client, course, sessions, course["students"][0])
    teacher = bearer(course, "instructor")
    client.put(f"/api/v1/submissions/{submission_id}/written/Q1", headers=teacher, json={"score": 5})
    book = client.get(f"/api/v1/courses/{course['course']}/gradebook", headers=teacher).json()
    assert book["students"][0]["grades"]["w0-service"]["score"] == 11


def test_stats(client, queue, course, sessions):
    alice, bob = course["students"]
    graded(client, course, sessions, alice)
    graded(client, course, sessions, bob, visible="failed", hidden="failed")
    submit(client, course, bob)
    stats = client.get(f"/api/v1/courses/{course['course']}/assignments/w0-service/stats",
                       headers=bearer(course, "instructor")).json()
    assert stats["counts"] == {"submissions": 3, "students": 2, "by_status": {"graded": 2, "queued": 1}}
    assert (stats["mean"], stats["median"], stats["students_scored"], stats["students_pending"]) == \
        (None, None, 0, 2)  # Q1 awaits a score for both: no grade is complete yet
    assert sum(b["count"] for b in stats["histogram"]) == 0 and stats["histogram"][0]["from"] == 0
    checks = {c["name"]: c for c in stats["checks"]}
    assert checks["answer_visible"]["pass_rate"] == 0.5
    assert checks["answer_visible"]["common_failures"] == [{"feedback": "answer() returned 41, expected 42",
                                                            "count": 1, "students": [bob]}]
    assert (checks["Q1"]["graded"], checks["Q1"]["pass_rate"]) == (0, None)  # pending: not a failure
    for student in (alice, bob):
        submission_id = next(s["id"] for s in client.get(f"/api/v1/courses/{course['course']}/submissions",
                                                          headers=bearer(course, "instructor"),
                                                          params={"student": student, "status": "graded"}).json())
        client.put(f"/api/v1/submissions/{submission_id}/written/Q1", headers=bearer(course, "instructor"),
                   json={"score": 5})
    stats = client.get(f"/api/v1/courses/{course['course']}/assignments/w0-service/stats",
                       headers=bearer(course, "instructor")).json()
    assert (stats["mean"], stats["median"], stats["students_scored"]) == (8.5, 8.5, 2)
    assert sum(b["count"] for b in stats["histogram"]) == 2


def test_submissions_filtered(client, queue, course, sessions):
    alice, bob = course["students"]
    first = graded(client, course, sessions, alice)
    second = submit(client, course, bob).json()["id"]
    base = f"/api/v1/courses/{course['course']}/submissions"
    teacher = bearer(course, "instructor")
    ids = lambda **params: [s["id"] for s in client.get(base, headers=teacher, params=params).json()]  # noqa: E731
    assert ids() == [second, first]
    assert ids(student=alice) == [first]
    assert ids(status="queued") == [second]
    assert ids(assignment="w1-normal-modes") == []
    assert ids(since=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()) == []
    response = client.get(base, headers=teacher, params={"status": "lost"})
    assert response.status_code == 422


def test_regrade_a_student_or_an_assignment(client, queue, course, sessions):
    alice, bob = course["students"]
    a = graded(client, course, sessions, alice)
    b = graded(client, course, sessions, bob)
    teacher = bearer(course, "instructor")
    url = f"/api/v1/courses/{course['course']}/regrade"
    queue.sent.clear()
    assert client.post(url, headers=teacher, json={"student": alice}).json() == {"submissions": [a]}
    assert sorted(client.post(url, headers=teacher, json={"assignment": "w0-service"}).json()["submissions"]) == [a, b]
    assert len(queue.sent) == 3
    response = client.post(url, headers=teacher, json={})
    assert response.status_code == 400 and response.json()["error"]["code"] == "regrade_scope"
    assert client.post(url, headers=teacher, json={"student": "nobody"}).status_code == 404


def test_policy_round_trip_and_extension_removal(client, course):
    teacher = bearer(course, "instructor")
    base = f"/api/v1/courses/{course['course']}/assignments/w0-service"
    changed = client.patch(f"{base}/policy", headers=teacher, json={"attempts_total": 5, "late_days": 1,
                                                                    "due_at": "2029-12-01T00:00:00Z"}).json()
    assert changed["attempts_total"] == 5 and changed["late_days"] == 1 and changed["results_released"] is False
    student = course["students"][0]
    assert client.delete(f"{base}/extensions/{student}", headers=teacher).status_code == 404
    client.put(f"{base}/extensions/{student}", headers=teacher, json={"due_at": "2030-01-01T00:00:00Z"})
    mine = client.get("/api/v1/assignments/w0-service", headers=bearer(course, student)).json()
    assert mine["due_at"].startswith("2030-01-01")
    assert client.delete(f"{base}/extensions/{student}", headers=teacher).status_code == 204
    assert client.get(f"{base}/policy", headers=teacher).json()["attempts_total"] == 5
