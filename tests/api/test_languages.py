"""Messages in the user's language: their preference, then their course's default, then
Accept-Language, then the service's default; the same rule on the batched submit path."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core.models import Course
from tests.api.conftest import bearer, submit


@pytest.fixture
def chinese_course(sessions, course):
    with sessions() as session:
        session.execute(update(Course).where(Course.slug == course["course"]).values(language="zh"))
        session.commit()
    yield course
    with sessions() as session:
        session.execute(update(Course).where(Course.slug == course["course"]).values(language=None))
        session.commit()


def message(response) -> str:
    return response.json()["error"]["message"]


def test_the_course_default_speaks_chinese_on_every_path(client, chinese_course):
    student = chinese_course["students"][0]
    refused = submit(client, chinese_course, student, filename="hw.txt")
    assert refused.status_code == 415 and "请上传 .py 文件" in message(refused), "the batched submit path"
    missing = client.get("/api/v1/submissions/2000000000", headers=bearer(chinese_course, student))
    assert missing.status_code == 404 and message(missing) == "没有编号为 2000000000 的提交", "the ORM path"


def test_the_users_preference_comes_before_the_course_and_the_browser(client, chinese_course):
    student = chinese_course["students"][0]
    headers = {**bearer(chinese_course, student), "Accept-Language": "zh-CN"}
    chosen = client.patch("/api/v1/me", json={"language": "en"}, headers=headers)
    assert chosen.status_code == 200 and chosen.json()["language"] == "en"
    try:
        refused = submit(client, chinese_course, student, filename="hw.txt")
        assert "upload a .py file" in message(refused)
        missing = client.get("/api/v1/submissions/2000000000", headers=headers)
        assert message(missing) == "no submission 2000000000"
    finally:
        client.patch("/api/v1/me", json={"language": None}, headers=headers)


def test_without_a_preference_or_a_course_default_the_browser_decides(client, course):
    student = course["students"][0]
    missing = client.get("/api/v1/submissions/2000000000",
                         headers={**bearer(course, student), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert message(missing) == "没有编号为 2000000000 的提交"
    anonymous = client.get("/api/v1/me", headers={"Accept-Language": "zh"})
    assert anonymous.status_code == 401 and "令牌" in message(anonymous)


def test_a_language_torchgrade_does_not_speak_is_refused(client, course):
    response = client.patch("/api/v1/me", json={"language": "fr"}, headers=bearer(course, course["students"][0]))
    assert response.status_code == 422



def test_a_result_is_shown_in_the_viewers_language(client, chinese_course, sessions):
    """The stored result carries every language; each viewer reads theirs."""
    from core import lifecycle
    from grader.i18n import _
    from grader.results import GradeResult, TestResult
    from grader.status import CheckStatus, SubmissionStatus

    student = chinese_course["students"][0]
    submission_id = submit(client, chinese_course, student).json()["id"]
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    hidden = TestResult.said(name="answer_hidden", score=0, max_score=3, status=CheckStatus.failed,
                             visibility="hidden", feedback="secret")
    result = GradeResult(assignment="w0-service", submission="hw.py", status=SubmissionStatus.graded, max_score=3,
                         tests=[hidden], **GradeResult.texts(notes=[_("{name} is empty", name="hw.py")]))
    assert lifecycle.record(sessions, claimed, result, 0.1, 0.0)
    shown = client.get(f"/api/v1/submissions/{submission_id}", headers=bearer(chinese_course, student)).json()
    assert shown["notes"] == ["hw.py 是空文件"]
    assert shown["tests"][0]["feedback"] == "另有 1 项隐藏检查；公布成绩后可以看到它们的反馈"
    staff = client.get(f"/api/v1/submissions/{submission_id}",
                       headers={**bearer(chinese_course, "instructor"), "Accept-Language": "en"}).json()
    assert staff["notes"] == ["hw.py 是空文件"], "the course's default comes before the browser"
    client.patch("/api/v1/me", json={"language": "en"}, headers=bearer(chinese_course, "instructor"))
    try:
        staff = client.get(f"/api/v1/submissions/{submission_id}", headers=bearer(chinese_course, "instructor")).json()
        assert staff["notes"] == ["hw.py is empty"] and staff["tests"][0]["feedback"] == "secret"
    finally:
        client.patch("/api/v1/me", json={"language": None}, headers=bearer(chinese_course, "instructor"))


def test_deadlines_are_entered_and_shown_in_course_time(client, course, sessions):
    """A naive due date is the course's time (Asia/Shanghai by default, +08:00); it is stored
    in UTC and shown back with the course's offset, and a late refusal says it in course time."""
    instructor, student = bearer(course, "instructor"), bearer(course, course["students"][0])
    policy = f"/api/v1/courses/{course['course']}/assignments/w0-service/policy"
    try:
        changed = client.patch(policy, json={"due_at": "2020-03-15T23:59:00", "late_days": 0}, headers=instructor)
        assert changed.status_code == 200, changed.text
        assert changed.json()["due_at"] == "2020-03-15T23:59:00+08:00" and changed.json()["time_zone"] == "Asia/Shanghai"
        listed = client.get("/api/v1/assignments/w0-service", headers=student).json()
        assert listed["due_at"] == "2020-03-15T23:59:00+08:00"
        refused = submit(client, course, course["students"][0])
        assert refused.status_code == 403 and "2020-03-15 23:59 (Asia/Shanghai)" in message(refused)
        with sessions() as session:
            session.execute(update(Course).where(Course.slug == course["course"]).values(time_zone="Europe/Berlin"))
            session.commit()
        assert client.get(policy, headers=instructor).json()["due_at"] == "2020-03-15T16:59:00+01:00"
        utc = client.patch(policy, json={"due_at": "2020-03-15T15:59:00Z"}, headers=instructor).json()
        assert utc["due_at"] == "2020-03-15T16:59:00+01:00", "a time with a zone is taken as it is"
    finally:
        client.patch(policy, json={"due_at": None}, headers=instructor)
        with sessions() as session:
            session.execute(update(Course).where(Course.slug == course["course"]).values(time_zone=None))
            session.commit()


def test_lang_in_the_query_comes_first(client, chinese_course):
    """The student's client sends its --lang so: one language in the terminal, whatever the course's default."""
    student = chinese_course["students"][0]
    refused = submit(client, chinese_course, student, filename="hw.txt", lang="en")
    assert refused.status_code == 415 and "upload a .py file" in message(refused), "the batched submit path"
    missing = client.get("/api/v1/submissions/2000000000", params={"lang": "en"},
                         headers={**bearer(chinese_course, student), "Accept-Language": "zh"})
    assert message(missing) == "no submission 2000000000", "the ORM path"
    anonymous = client.get("/api/v1/me", params={"lang": "zh"}, headers={"Accept-Language": "en"})
    assert anonymous.status_code == 401 and "令牌" in message(anonymous)
    unknown = client.get("/api/v1/submissions/2000000000", params={"lang": "fr"}, headers=bearer(chinese_course,
                                                                                               student))
    assert message(unknown) == "没有编号为 2000000000 的提交"  # a language it does not speak: the usual rule
