"""One submission: what its student and the instructors see, the event stream, the code,
written-answer scores and regrading."""

from __future__ import annotations

import json

from torchgrade_client.submit import sse_events
from core import lifecycle
from grader.results import GradeResult
from grader.results import TestResult as CheckResult
from tests.api.conftest import bearer, record_result, submit


def graded(client, course, sessions, who=None, **outcome) -> int:
    submission_id = submit(client, course, who or course["students"][0]).json()["id"]
    record_result(sessions, submission_id, **outcome)
    return submission_id


def test_student_sees_hidden_checks_as_one_aggregate(client, queue, course, sessions):
    submission_id = graded(client, course, sessions, hidden="failed")
    shown = client.get(f"/api/v1/submissions/{submission_id}", headers=bearer(course, course["students"][0])).json()
    assert shown["status"] == "graded" and shown["score"] == 3 and shown["max_score"] == 11
    names = [t["name"] for t in shown["tests"]]
    assert names == ["answer_visible", "grader_health", "Q1", "hidden checks"]
    assert "secret feedback" not in json.dumps(shown) and "traceback" not in json.dumps(shown)
    assert "answers" not in shown and "hidden_output" not in shown


def test_released_results_show_hidden_checks(client, queue, course, sessions):
    submission_id = graded(client, course, sessions, hidden="failed")
    client.post(f"/api/v1/courses/{course['course']}/assignments/w0-service/release", headers=bearer(course, "instructor"))
    shown = client.get(f"/api/v1/submissions/{submission_id}", headers=bearer(course, course["students"][0])).json()
    hidden = next(t for t in shown["tests"] if t["name"] == "answer_hidden")
    assert hidden["feedback"] == "secret feedback" and hidden["detail"] == ""


def test_instructor_sees_everything(client, queue, course, sessions):
    submission_id = graded(client, course, sessions, hidden="failed")
    shown = client.get(f"/api/v1/submissions/{submission_id}", headers=bearer(course, "instructor")).json()
    assert {t["name"] for t in shown["tests"]} == {"answer_visible", "grader_health", "answer_hidden", "Q1"}
    assert shown["answers"] == {"Q1": "Because."} and shown["attempts"] == 1
    assert next(t for t in shown["tests"] if t["name"] == "answer_hidden")["detail"] == "instructor-only traceback"


def test_other_students_get_404(client, queue, course, sessions):
    submission_id = graded(client, course, sessions)
    for path in ("", "/events", "/code"):
        response = client.get(f"/api/v1/submissions/{submission_id}{path}", headers=bearer(course, course["students"][1]))
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "submission_not_found"


def test_code_download_is_byte_for_byte(client, queue, course):
    content = "# 中文注释\ndef answer():\n    return 42\n".encode()
    submission_id = submit(client, course, course["students"][0], content=content).json()["id"]
    response = client.get(f"/api/v1/submissions/{submission_id}/code", headers=bearer(course, "instructor"))
    assert response.content == content


def test_event_stream_replays_progress_with_visibility(client, queue, course, sessions):
    submission_id = submit(client, course, course["students"][0]).json()["id"]
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    progress = lifecycle.ProgressWriter(sessions, submission_id, total=3)
    progress(CheckResult(name="answer_visible", score=2, max_score=2, status="passed"))
    progress(CheckResult(name="answer_hidden", score=0, max_score=3, status="failed", visibility="hidden",
                        feedback="secret feedback"))
    lifecycle.record(sessions, claimed, GradeResult(assignment="w0-service", submission="hw.py", status="graded",
                                                  score=2, max_score=6), 0.1, 2.0)
    student = stream(client, submission_id, bearer(course, course["students"][0]))
    assert [kind for kind, _ in student] == ["running", "check", "check", "done"]
    assert student[2][1] == {"name": "hidden check", "visibility": "hidden", "concealed": True, "index": 2, "total": 3}
    teacher = stream(client, submission_id, bearer(course, "instructor"))
    assert teacher[2][1]["feedback"] == "secret feedback"


def test_event_stream_ends_with_done_when_the_submission_errored(client, queue, course, sessions):
    submission_id = submit(client, course, course["students"][0]).json()["id"]
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    lifecycle.record(sessions, claimed, GradeResult(assignment="w0-service", submission="hw.py", status="error",
                                                  message="SyntaxError"), 0.1, 0.0)
    assert [kind for kind, _ in stream(client, submission_id, bearer(course, "instructor"))] == ["running", "done"]


def stream(client, submission_id: int, headers: dict) -> list[tuple[str, dict]]:
    with client.stream("GET", f"/api/v1/submissions/{submission_id}/events", headers=headers) as response:
        assert response.status_code == 200
        return list(sse_events(response.iter_lines()))


def test_written_answers_scored_by_an_instructor(client, queue, course, sessions):
    submission_id = graded(client, course, sessions)
    url = f"/api/v1/submissions/{submission_id}/written/Q1"
    student = bearer(course, course["students"][0])
    assert client.put(url, headers=student, json={"score": 5}).status_code == 403
    too_high = client.put(url, headers=bearer(course, "instructor"), json={"score": 6})
    assert too_high.status_code == 400 and too_high.json()["error"]["code"] == "score_too_high"
    missing = client.put(f"/api/v1/submissions/{submission_id}/written/Q7", headers=bearer(course, "instructor"),
                         json={"score": 1})
    assert missing.status_code == 404 and "Q1" in missing.json()["error"]["message"]
    scored = client.put(url, headers=bearer(course, "instructor"), json={"score": 4, "comment": "Nearly."})
    assert scored.status_code == 200 and scored.json()["scored_by"] == course["instructor"]
    shown = client.get(f"/api/v1/submissions/{submission_id}", headers=student).json()
    q1 = next(t for t in shown["tests"] if t["name"] == "Q1")
    assert (q1["status"], q1["score"], q1["feedback"]) == ("partial", 4, "Nearly.")
    assert shown["score"] == 10


def test_written_score_before_grading_is_refused(client, queue, course):
    submission_id = submit(client, course, course["students"][0]).json()["id"]
    response = client.put(f"/api/v1/submissions/{submission_id}/written/Q1", headers=bearer(course, "instructor"),
                          json={"score": 1})
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_graded"


def test_regrade_one_resets_and_queues(client, queue, course, sessions):
    submission_id = graded(client, course, sessions)
    queue.sent.clear()
    student = bearer(course, course["students"][0])
    assert client.post(f"/api/v1/submissions/{submission_id}/regrade", headers=student).status_code == 403
    response = client.post(f"/api/v1/submissions/{submission_id}/regrade", headers=bearer(course, "instructor"))
    assert response.status_code == 202 and response.json() == {"submissions": [submission_id]}
    assert queue.sent == [(submission_id, "cpu")]
    shown = client.get(f"/api/v1/submissions/{submission_id}", headers=student).json()
    assert shown["status"] == "queued" and shown["score"] is None and shown["tests"] == []


def test_student_lists_own_submissions(client, queue, course):
    mine = [submit(client, course, course["students"][0]).json()["id"] for _ in range(2)]
    submit(client, course, course["students"][1])
    listed = client.get("/api/v1/assignments/w0-service/submissions", headers=bearer(course, course["students"][0]))
    assert [s["id"] for s in listed.json()] == mine[::-1]
