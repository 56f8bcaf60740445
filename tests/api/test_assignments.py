"""A student's view of assignments: list with deadlines and status, statement, starter, grades."""

from __future__ import annotations

from sqlalchemy import select

from core.models import Course, CourseAssignment
from tests.api.conftest import bearer, record_result, submit


def test_list_with_status(client, queue, course, sessions):
    student = course["students"][0]
    submission_id = submit(client, course, student).json()["id"]
    record_result(sessions, submission_id)
    listed = {a["id"]: a for a in client.get("/api/v1/assignments", headers=bearer(course, student)).json()}
    assert set(listed) == {"w0-service", "w1-normal-modes"}
    mine = listed["w0-service"]
    assert (mine["course"], mine["attempts_used"], mine["latest_status"], mine["best_score"]) == \
        (course["course"], 1, "graded", 6)
    assert listed["w1-normal-modes"]["title_zh"] == "torch.normal 的四种模式"
    assert listed["w1-normal-modes"]["latest_submission"] is None


def test_statement_by_accept_language(client, course):
    student = bearer(course, course["students"][0])
    url = "/api/v1/assignments/w0-service/statement"
    zh = client.get(url, headers={**student, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert zh.headers["content-language"] == "zh" and "服务测试" in zh.text
    en = client.get(url, headers={**student, "Accept-Language": "fr, en;q=0.5, zh;q=0.1"})
    assert en.headers["content-language"] == "en" and "Service test pack" in en.text
    assert client.get(url, headers=student).headers["content-language"] == "en"


def test_starter_download(client, course):
    response = client.get("/api/v1/assignments/w1-normal-modes/starter", headers=bearer(course, course["students"][0]))
    assert response.status_code == 200 and "def normal_tensor_tensor" in response.text
    assert 'filename="w1-normal-modes.py"' in response.headers["content-disposition"]


def test_my_grades_and_me(client, queue, course, sessions):
    student = course["students"][0]
    record_result(sessions, submit(client, course, student).json()["id"])
    grades = {g["assignment"]: g for g in client.get("/api/v1/grades", headers=bearer(course, student)).json()}
    assert grades["w0-service"]["grade"]["adjusted_score"] == 6 and grades["w1-normal-modes"]["grade"] is None
    me = client.get("/api/v1/me", headers=bearer(course, student)).json()
    assert me["courses"] == [{"course": course["course"], "role": "student"}]


def test_an_assignment_no_longer_in_the_catalogue(client, course, sessions):
    with sessions() as session:
        course_id = session.scalar(select(Course.id).where(Course.slug == course["course"]))
        session.add(CourseAssignment(course_id=course_id, assignment_id="w9-removed"))
        session.commit()
    student = bearer(course, course["students"][0])
    assert "w9-removed" not in {a["id"] for a in client.get("/api/v1/assignments", headers=student).json()}
    response = submit(client, course, course["students"][0], assignment="w9-removed")
    assert response.status_code == 404 and "no longer in the catalogue" in response.json()["error"]["message"]
    book = client.get(f"/api/v1/courses/{course['course']}/gradebook", headers=bearer(course, "instructor"))
    assert book.status_code == 200 and "w9-removed" not in book.json()["assignments"]
    assert client.get("/api/v1/grades", headers=student).status_code == 200
