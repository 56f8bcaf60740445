"""The dashboard's data: the course overview, the submissions around a deadline, and the students
behind each common failure (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from core import lifecycle
from grader.results import GradeResult
from grader.status import SubmissionStatus
from tests.api.conftest import bearer, submit
from tests.api.test_courses import backdate, graded


def fault(sessions, submission_id: int, message: str) -> None:
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    result = GradeResult(assignment="w0-service", submission="hw.py", status=SubmissionStatus.internal_error,
                         message=message)
    assert lifecycle.record(sessions, claimed, result, 0.1, 0.0)


def test_overview_counts_who_submitted_the_queue_and_the_faults(client, queue, course, sessions):
    alice, bob = course["students"]
    graded(client, course, sessions, alice)
    graded(client, course, sessions, alice, visible="failed")
    waiting = submit(client, course, bob).json()["id"]
    broken = submit(client, course, bob).json()["id"]
    fault(sessions, broken, "the sandbox could not start: <no cgroup>")
    view = client.get(f"/api/v1/courses/{course['course']}/overview", headers=bearer(course, "instructor")).json()
    assert view["students"] == 2
    w0 = next(a for a in view["assignments"] if a["assignment"] == "w0-service")
    assert (w0["students_submitted"], w0["submissions"], w0["faults"]) == (2, 4, 1)
    assert w0["by_status"] == {"graded": 2, "queued": 1, "internal_error": 1}
    rows = {row["student"]: row["assignments"] for row in view["submitted"]}
    assert rows[alice]["w0-service"]["count"] == 2 and rows[bob]["w0-service"]["count"] == 2
    assert "w1-normal-modes" not in rows[alice]
    assert [(q["queue"], q["status"], q["count"]) for q in view["queue"]] == [("cpu", "queued", 1)]
    assert view["queue"][0]["oldest"].endswith("+00:00") or "+" in view["queue"][0]["oldest"]
    assert [(f["submission_id"], f["student"], f["message"]) for f in view["faults"]] == \
        [(broken, bob, "the sandbox could not start: <no cgroup>")]
    assert waiting not in [f["submission_id"] for f in view["faults"]]


def test_timeline_counts_submissions_around_the_due_date(client, queue, course, sessions):
    alice, bob = course["students"]
    teacher = bearer(course, "instructor")
    early, on_time, late = (submit(client, course, who).json()["id"] for who in (alice, bob, alice))
    backdate(sessions, early, 100)   # before the window (72 h before the due date)
    backdate(sessions, on_time, 5)   # 4 h before the due date: bucket -6..-3
    backdate(sessions, late, 0.5)    # 30 min after it: bucket 0..3
    due = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    client.patch(f"/api/v1/courses/{course['course']}/assignments/w0-service/policy", headers=teacher,
                 json={"due_at": due.isoformat()})
    line = client.get(f"/api/v1/courses/{course['course']}/assignments/w0-service/timeline", headers=teacher).json()
    assert (line["before"], line["after"], line["bucket_hours"]) == (1, 0, 3)
    counts = {b["hours_from_due"]: b["count"] for b in line["buckets"]}
    assert len(counts) == 32 and min(counts) == -72 and max(counts) == 21
    assert (counts[-6], counts[0], sum(counts.values())) == (1, 1, 2)
    assert line["time_zone"] == "Asia/Shanghai" and line["due_at"].endswith("+08:00")


def test_timeline_without_a_due_date_ends_at_the_latest_submission(client, queue, course, sessions):
    submit(client, course, course["students"][0])
    line = client.get(f"/api/v1/courses/{course['course']}/assignments/w0-service/timeline",
                      headers=bearer(course, "instructor"), params={"hours_before": 24, "hours_after": 0,
                                                                    "bucket_hours": 6}).json()
    assert line["due_at"] is None and len(line["buckets"]) == 4
    assert {b["hours_from_due"] for b in line["buckets"]} == {None}
    assert sum(b["count"] for b in line["buckets"]) + line["after"] == 1


def test_common_failures_name_the_students_behind_them(client, queue, course, sessions):
    alice, bob = course["students"]
    graded(client, course, sessions, alice, visible="failed")
    graded(client, course, sessions, bob, visible="failed")
    stats = client.get(f"/api/v1/courses/{course['course']}/assignments/w0-service/stats",
                       headers=bearer(course, "instructor")).json()
    visible = next(c for c in stats["checks"] if c["name"] == "answer_visible")
    assert visible["common_failures"] == [{"feedback": "answer() returned 41, expected 42", "count": 2,
                                           "students": sorted([alice, bob])}]


def test_a_student_sees_neither_overview_nor_timeline(client, course):
    student = bearer(course, course["students"][0])
    for path in ("/overview", "/assignments/w0-service/timeline"):
        response = client.get(f"/api/v1/courses/{course['course']}{path}", headers=student)
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_instructor", path


def test_the_written_queue_lists_pending_answers_until_scored(client, queue, course, sessions):
    alice, bob = course["students"]
    first = graded(client, course, sessions, alice)
    graded(client, course, sessions, bob)
    teacher = bearer(course, "instructor")
    url = f"/api/v1/courses/{course['course']}/written"
    pending = client.get(url, headers=teacher).json()
    assert [(e["student"], e["assignment"], e["name"], e["points"], e["score"]) for e in pending] == \
        [(alice, "w0-service", "Q1", 5, None), (bob, "w0-service", "Q1", 5, None)]
    assert pending[0]["submission_id"] == first and pending[0]["prompt"]["en"]
    client.put(f"/api/v1/submissions/{first}/written/Q1", headers=teacher, json={"score": 4, "comment": "<b>ok</b>"})
    assert [e["student"] for e in client.get(url, headers=teacher).json()] == [bob]
    everything = client.get(url, headers=teacher, params={"pending": "false", "assignment": "w0-service"}).json()
    assert [(e["student"], e["score"], e["comment"]) for e in everything] == [(alice, 4, "<b>ok</b>"), (bob, None, "")]
    missing = client.get(url, headers=teacher, params={"assignment": "w9-nothing"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "assignment_not_found"
