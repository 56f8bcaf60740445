"""Submitting: stored before queued, 202 with a Location, and a clear 4xx for every bad input."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from sqlalchemy import select

from core.models import Submission
from tests.api.conftest import bearer, submit


def stored(sessions, submission_id: int) -> Submission:
    with sessions() as session:
        return session.scalar(select(Submission).where(Submission.id == submission_id))


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_accepted_stored_then_queued(client, queue, course, sessions):
    response = submit(client, course, course["students"][0])
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["location"] == f"/api/v1/submissions/{body['id']}" == body["url"]
    assert queue.sent == [(body["id"], "cpu")]
    row = stored(sessions, body["id"])
    assert row.enqueued_at is not None and row.sha256 and row.size == len(b"def answer():\n    return 42\n")


def test_broker_down_still_accepts_and_leaves_it_for_the_sweeper(client, queue, course, sessions):
    queue.down = True
    response = submit(client, course, course["students"][0])
    assert response.status_code == 202
    row = stored(sessions, response.json()["id"])
    assert row.status == "queued" and row.enqueued_at is None


def test_notebook_and_zip_and_markdown_accepted(client, queue, course):
    notebook = b'{"cells": [{"cell_type": "code", "source": "def answer():\\n    return 42"}], "nbformat": 4}'
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("project/submission.py", "def answer():\n    return 42\n")
    for filename, content in (("hw.ipynb", notebook), ("hw.zip", archive.getvalue()), ("answers.md", b"## Q1\nBecause")):
        assert submit(client, course, course["students"][0], content=content, filename=filename).status_code == 202


def test_bad_token_and_missing_token(client, course):
    assert client.get("/api/v1/assignments").status_code == 401
    response = client.get("/api/v1/assignments", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and error_code(response) == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_assignment(client, course):
    response = submit(client, course, course["students"][0], assignment="w9-nothing")
    assert response.status_code == 404 and error_code(response) == "assignment_not_found"


def test_missing_file(client, course):
    response = client.post("/api/v1/assignments/w0-service/submissions", headers=bearer(course, course["students"][0]))
    assert response.status_code == 422 and error_code(response) == "validation_error"
    assert "file" in response.json()["error"]["message"]


def test_wrong_type(client, course):
    response = submit(client, course, course["students"][0], filename="hw.docx", content=b"PK...")
    assert response.status_code == 415 and "upload a .py file" in response.json()["error"]["message"]


def test_unparseable_uploads(client, course, sessions):
    student = course["students"][0]
    for filename, content, phrase in (("hw.py", b"", "empty"), ("hw.ipynb", b"{not json", "not a valid .ipynb"),
                                      ("hw.zip", b"not a zip", "damaged"), ("hw.py", b"\xff\xfe\x00bad", "UTF-8")):
        response = submit(client, course, student, filename=filename, content=content)
        assert response.status_code == 422, (filename, response.text)
        assert phrase in response.json()["error"]["message"]
    with sessions() as session:
        assert session.scalars(select(Submission.id).join(Submission.user).where(
            Submission.user.has(name=student))).all() == []


def test_over_the_size_cap(client, course, api_settings):
    too_big = b"#" * ((api_settings.max_upload_kb << 10) + 1)
    response = submit(client, course, course["students"][0], content=too_big)
    assert response.status_code == 413 and error_code(response) == "file_too_large"
    huge = b"#" * ((api_settings.max_upload_kb << 10) + (200 << 10))
    response = submit(client, course, course["students"][0], content=huge)
    assert response.status_code == 413 and error_code(response) == "file_too_large"


def test_after_the_deadline_without_and_with_extension(client, course):
    teacher = bearer(course, "instructor")
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    policy = f"/api/v1/courses/{course['course']}/assignments/w0-service/policy"
    assert client.patch(policy, headers=teacher, json={"due_at": past}).status_code == 200
    student = course["students"][0]
    response = submit(client, course, student)
    assert response.status_code == 403 and error_code(response) == "deadline_passed"
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat()
    extension = f"/api/v1/courses/{course['course']}/assignments/w0-service/extensions/{student}"
    assert client.put(extension, headers=teacher, json={"due_at": later}).status_code == 200
    assert submit(client, course, student).status_code == 202
    assert submit(client, course, course["students"][1]).status_code == 403


def test_late_days_accept_with_a_penalty(client, course, sessions):
    teacher = bearer(course, "instructor")
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)).isoformat()
    client.patch(f"/api/v1/courses/{course['course']}/assignments/w0-service/policy", headers=teacher,
                 json={"due_at": past, "late_days": 3, "late_penalty_per_day": 0.25})
    response = submit(client, course, course["students"][0])
    assert response.status_code == 202
    shown = client.get(response.json()["url"], headers=bearer(course, course["students"][0])).json()
    assert shown["days_late"] == 2 and shown["late_penalty"] == 0.5


def test_attempt_limits(client, course):
    teacher = bearer(course, "instructor")
    policy = f"/api/v1/courses/{course['course']}/assignments/w0-service/policy"
    client.patch(policy, headers=teacher, json={"attempts_per_day": 2})
    student = course["students"][0]
    assert [submit(client, course, student).status_code for _ in range(2)] == [202, 202]
    response = submit(client, course, student)
    assert response.status_code == 429 and error_code(response) == "attempt_limit"
    assert int(response.headers["retry-after"]) > 0
    client.patch(policy, headers=teacher, json={"attempts_per_day": None, "attempts_total": 3})
    assert submit(client, course, student).status_code == 202
    response = submit(client, course, student)
    assert response.status_code == 429 and "all 3 attempts" in response.json()["error"]["message"]
    assert submit(client, course, "instructor").status_code == 202, "instructors are not limited"


def test_not_enrolled(client, course, api_settings, catalog):
    from tests.workers.stack import seed_course

    other = seed_course(api_settings, catalog)
    response = submit(client, other, other["students"][0], course=course["course"])
    assert response.status_code == 404 and error_code(response) == "assignment_not_found"


def test_invalid_json_bodies_are_4xx(client, course):
    teacher = bearer(course, "instructor")
    policy = f"/api/v1/courses/{course['course']}/assignments/w0-service/policy"
    for body in ({"late_days": -1}, {"due_at": "tomorrow"}, {"due_at": "1066-10-14T09:00:00"}, {"colour": "red"},
                 {"late_days": None}):
        response = client.patch(policy, headers=teacher, json=body)
        assert response.status_code == 422, (body, response.text)
        assert error_code(response) == "validation_error"
    response = client.patch(policy, headers=teacher, content=b"{", params={}, )
    assert response.status_code == 422
    naive = client.patch(policy, headers=teacher, json={"due_at": "2026-01-01T00:00:00", "late_days": 0})
    assert naive.status_code == 200 and naive.json()["due_at"].startswith("2026-01-01T00:00:00"), "course time"
    client.patch(policy, headers=teacher, json={"due_at": None})
