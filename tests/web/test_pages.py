"""The pages in process (SQLite and PostgreSQL): logging in, redirects, languages, security
headers, CSRF, escaping of every student-controlled string, and the student's pages over the
service's own functions."""

from __future__ import annotations

from markupsafe import escape
import re

import pytest

from api.services import accounts
from core import lifecycle
from core.db import session_factory
from grader.results import GradeResult
from grader.results import TestResult as CheckResult
from grader.status import CheckStatus, SubmissionStatus
from tests.web.conftest import HOSTILE, PASSWORD, form_token, log_in_client
from web import diff
from web.markdown import to_html
from web.security import local_path

W0 = "w0-service"
ANSWER = b"def answer():\n    return 42\n"


def h1(page) -> str:
    return re.search(r"<h1>(.*?)</h1>", page.text, re.S).group(1).strip()


def upload(client, course: str, filename: str, content: bytes = ANSWER, assignment: str = W0):
    page = client.get(f"/assignments/{assignment}?course={course}")
    return client.post(f"/assignments/{assignment}/submissions?course={course}",
                       data={"csrf_token": form_token(page.text)}, files={"file": (filename, content)})


def grade(settings, submission_id: int, feedback: str, status: str = "failed") -> None:
    """Record a result as the worker would (its claim, then its record), with this feedback."""
    sessions = session_factory(settings.database_url)
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "test-host:1")
    tests = [CheckResult(name="answer_visible", score=0, max_score=2, status=CheckStatus(status), feedback=feedback,
                        description=feedback)]
    result = GradeResult(assignment=W0, submission="hw.py", status=SubmissionStatus.graded, score=0, max_score=2,
                         tests=tests)
    assert lifecycle.record(sessions, claimed, result, 0.1, 0.0)


# ---------------------------------------------------------------------- logging in
def test_a_page_needs_a_login_and_the_api_still_answers_json(pages):
    answer = pages.get("/assignments/w0-service?course=x")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fassignments%2Fw0-service%3Fcourse%3Dx"
    api = pages.get("/api/v1/assignments")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthorized"


def test_logging_in_and_out(pages, course_people):
    student = course_people["students"][0]
    login = pages.get("/login?next=/assignments/w0-service")
    assert login.status_code == 200 and h1(login) == "登录"
    wrong = pages.post("/login", data={"name": student, "password": "wrong", "csrf_token": form_token(login.text)})
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text and student in wrong.text, "kept, with why"
    right = pages.post("/login", data={"name": student, "password": PASSWORD, "next": "/assignments/w0-service",
                                       "csrf_token": form_token(login.text)})
    assert right.status_code == 303 and right.headers["location"] == "/assignments/w0-service"
    home = pages.get("/")
    assert h1(home) == "我的作业" and student in home.text
    assert pages.post("/logout", data={"csrf_token": "forged"}).status_code == 403, "logging out needs the token"
    assert pages.post("/logout", data={"csrf_token": form_token(home.text)}).status_code == 303
    assert pages.get("/").status_code == 303, "logged out on the server too"


def test_a_form_without_its_csrf_token_is_refused_with_a_page(pages, course_people):
    refused = pages.post("/login", data={"name": course_people["students"][0], "password": PASSWORD})
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert "请刷新页面后重试" in refused.text, "why, in Chinese"
    log_in_client(pages, course_people["students"][0])
    forged = pages.post(f"/assignments/{W0}/submissions?course={course_people['course']}",
                        data={"csrf_token": "forged"}, files={"file": ("hw.py", ANSWER)})
    assert forged.status_code == 403 and not pages.queue.sent, "nothing stored, nothing queued"


@pytest.mark.parametrize(("target", "kept"), [
    ("/assignments/x?course=y", "/assignments/x?course=y"), ("//evil.example/", "/"), ("https://evil.example/", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("/ok\r\nSet-Cookie: x=1", "/"), ("", "/")])
def test_next_stays_on_this_site(target, kept):
    assert local_path(target) == kept


# ---------------------------------------------------------------------- languages and headers
def test_chinese_by_default_english_on_request_and_remembered(pages, course_people):
    log_in_client(pages, course_people["students"][0])
    assert h1(pages.get("/")) == "我的作业"
    english = pages.get("/?lang=en")
    assert h1(english) == "My assignments" and english.headers["content-language"] == "en"
    assert "lang=en" in english.headers["set-cookie"] and "HttpOnly" in english.headers["set-cookie"]
    assert h1(pages.get("/")) == "My assignments", "the cookie keeps the choice"
    assert h1(pages.get("/?lang=zh")) == "我的作业"


def test_accept_language_is_heard_without_a_choice(pages):
    assert h1(pages.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})) == "Log in"
    assert h1(pages.get("/login", headers={"Accept-Language": "fr"})) == "登录"


def test_errors_are_pages_in_the_users_language(pages, course_people):
    log_in_client(pages, course_people["students"][0])
    missing = pages.get("/submissions/2147483000")
    assert missing.status_code == 404 and h1(missing) == "找不到页面" and "没有" in missing.text
    english = pages.get("/submissions/2147483000?lang=en")
    assert h1(english) == "Not found" and "no submission 2147483000" in english.text
    invalid = pages.get("/assignments/w0-service/diff?a=x&b=1")
    assert invalid.status_code == 422 and "text/html" in invalid.headers["content-type"]
    assert pages.get("/api/v1/submissions/2147483000").json()["error"]["code"] == "submission_not_found"


@pytest.mark.parametrize("path", ["/login", "/api/v1/assignments", "/static/css/app.css", "/healthz", "/docs"])
def test_every_response_carries_the_security_headers(pages, path):
    headers = pages.get(path).headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_no_page_has_inline_script_or_a_foreign_asset(pages, course_people):
    log_in_client(pages, course_people["students"][0])
    for path in ("/", f"/assignments/w0-service?course={course_people['course']}", "/docs", "/login?lang=en"):
        text = pages.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)[^>]*>", text), path
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", text), f"{path}: an inline event handler"
        assert not re.search(r"<[^>]+\sstyle\s*=", text), f"{path}: an inline style"


def test_the_api_documentation_uses_local_files(pages):
    docs = pages.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert pages.get("/redoc").status_code in (303, 404)


# ---------------------------------------------------------------------- the student's pages
def test_assignments_with_deadlines_attempts_and_scores(pages, course_people, web_settings):
    log_in_client(pages, course_people["students"][0])
    home = pages.get("/")
    assert "服务测试" in home.text and "w0-service" in home.text and "不限" in home.text
    page = pages.get(f"/assignments/{W0}?course={course_people['course']}")
    assert page.status_code == 200 and 'class="statement"' in page.text
    assert f"/api/v1/assignments/{W0}/starter?course={course_people['course']}" in page.text
    accepted = upload(pages, course_people["course"], "hw.py")
    assert accepted.status_code == 303 and pages.queue.sent, "stored and queued, as the API does"
    shown = pages.get(accepted.headers["location"])
    assert "排队中" in shown.text and "data-events=" in shown.text, "the page listens for progress"


def test_a_refused_upload_says_why_on_the_assignments_page(pages, course_people):
    log_in_client(pages, course_people["students"][0])
    refused = upload(pages, course_people["course"], "notes.txt", b"hello")
    assert refused.status_code == 415 and 'role="alert"' in refused.text and ".py" in refused.text
    assert h1(refused) == "服务测试" and not pages.queue.sent


def test_another_students_submission_is_not_found(pages, course_people):
    log_in_client(pages, course_people["students"][0])
    theirs = re.search(r"/submissions/(\d+)", upload(pages, course_people["course"], "hw.py").headers["location"])
    pages.cookies.clear()
    log_in_client(pages, course_people["students"][1])
    assert pages.get(f"/submissions/{theirs.group(1)}").status_code == 404
    assert pages.get(f"/submissions/{theirs.group(1)}/result").status_code == 404


def test_the_staff_read_a_students_submission_as_theirs_not_as_their_own(pages, course_people):
    student = course_people["students"][0]
    log_in_client(pages, student)
    theirs = upload(pages, course_people["course"], "hw.py").headers["location"]
    own = pages.get(theirs).text
    assert "你的代码" in own and "学生：" not in own
    pages.cookies.clear()
    log_in_client(pages, course_people["instructor"])
    page = pages.get(theirs)
    assert page.status_code == 200 and "你的代码" not in page.text and "你上传" not in page.text
    assert f"（{student}）" in page.text and "学生的代码" in page.text and "下载上传的原始文件" in page.text


@pytest.mark.parametrize("hostile", HOSTILE, ids=["script", "attribute", "template", "bidi", "long"])
def test_hostile_file_names_code_and_feedback_are_shown_as_text(pages, course_people, web_settings, hostile):
    log_in_client(pages, course_people["students"][0])
    code = ANSWER + f"# {hostile}\n".encode()
    accepted = upload(pages, course_people["course"], f"{hostile}.py", code)
    assert accepted.status_code == 303, accepted.text
    submission_id = int(accepted.headers["location"].rsplit("/", 1)[1])
    grade(web_settings, submission_id, f"expected 42 {hostile}")
    shown = str(escape(hostile))  # as Jinja2 escapes it
    for path in (f"/submissions/{submission_id}", f"/submissions/{submission_id}/result",
                 f"/assignments/{W0}?course={course_people['course']}"):
        text = pages.get(path).text
        assert "<script>alert" not in text and "<img src=x" not in text, path
        if path.startswith("/submissions/"):
            assert f"expected 42 {shown}" in text, f"{path}: the feedback, as text"
    assert "{{7*7}}" in text or hostile != "{{7*7}}", "a template in data is text, never evaluated"
    assert f"# {shown}" in pages.get(f"/submissions/{submission_id}").text, "the code, as text"


def test_two_attempts_compared(pages, course_people):
    log_in_client(pages, course_people["students"][0])
    first = upload(pages, course_people["course"], "hw.py", ANSWER + b"# <b>old</b>\n").headers["location"]
    second = upload(pages, course_people["course"], "hw.py", ANSWER + b"# new\n").headers["location"]
    a, b = first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]
    page = pages.get(f"/assignments/{W0}/diff?a={b}&b={a}&course={course_people['course']}")
    assert page.status_code == 200
    assert '<div class="del">' in page.text and "&lt;b&gt;old&lt;/b&gt;" in page.text and "# new" in page.text
    assert pages.get(f"/assignments/w1-normal-modes/diff?a={a}&b={b}").status_code == 404


def test_the_diff_of_uploads_of_every_kind():
    import io
    import json
    import zipfile

    notebook = json.dumps({"cells": [{"cell_type": "code", "source": ["x = 1\n"]},
                                     {"cell_type": "markdown", "source": "# title"}]}).encode()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hw/main.py", "x = 2\n")
        z.writestr("hw/data.bin", b"\x00\x01")
    assert diff.sources("a.ipynb", notebook) == {"a.ipynb": "# In[1]\nx = 1\n"}
    assert diff.sources("a.zip", archive.getvalue()) == {"hw/main.py": "x = 2\n"}
    assert diff.sources("a.py", "x = '中'\n".encode("gbk")) == {"a.py": "x = '中'\n"}
    lines = diff.between({"a.py": "x = 1\n"}, {"a.py": "x = 2\n", "b.py": "y\n"})
    assert [line.kind for line in lines] == ["file", "hunk", "del", "add", "file", "hunk", "add"]
    assert diff.between({"a.py": "same\n"}, {"a.py": "same\n"}) == []
    renamed = diff.between({"hw.py": "x = 1\n"}, {"hw2.py": "x = 2\n"})
    assert [(line.kind, line.text) for line in renamed][:1] == [("file", "hw.py → hw2.py")] and len(renamed) == 4


def test_statements_are_rendered_without_raw_html_or_script_links():
    rendered = to_html("# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](https://pytorch.org)\n\n"
                       "| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<h1>Title</h1>" in rendered and "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert 'href="javascript' not in rendered and 'href="https://pytorch.org"' in rendered and "<table>" in rendered


def test_an_invitation_sets_the_password_and_logs_in(pages, course_people, web_settings):
    student = course_people["students"][1]
    with session_factory(web_settings.database_url)() as session:
        code = accounts.invite(session, web_settings, accounts.user_by_name(session, student))
        session.commit()
    form = pages.get(f"/invite/{code}")
    assert form.status_code == 200 and h1(form) == "设置密码"
    assert f"你的登录名（学号或工号）是 <strong>{student}</strong>" in form.text  # a roster's 姓名 is not the login
    assert f'name="username" value="{student}" autocomplete="username"' in form.text  # for password managers
    differ = pages.post(f"/invite/{code}", data={"password": "a long new password", "confirm": "another one",
                                                 "csrf_token": form_token(form.text)})
    assert differ.status_code == 400 and "两次输入的密码不一致" in differ.text
    done = pages.post(f"/invite/{code}", data={"password": "a long new password", "confirm": "a long new password",
                                               "csrf_token": form_token(form.text)})
    assert done.status_code == 303 and h1(pages.get("/")) == "我的作业"
    assert pages.get(f"/invite/{code}").status_code == 404, "the code was for one use"
    pages.cookies.clear()
    log_in_client(pages, student, "a long new password")


def test_a_late_assignment_and_the_attempts_left_are_shown(pages, course_people, web_settings):
    import datetime as dt

    from sqlalchemy import select

    from core.models import Course, CourseAssignment

    with session_factory(web_settings.database_url)() as session:
        offered = session.scalar(select(CourseAssignment).join(Course).where(
            Course.slug == course_people["course"], CourseAssignment.assignment_id == W0))
        offered.due_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        offered.late_days, offered.late_penalty_per_day, offered.attempts_total = 2, 0.1, 3
        session.commit()
    log_in_client(pages, course_people["students"][0])
    upload(pages, course_people["course"], "hw.py")
    home = pages.get("/").text
    assert "迟交：扣 10%" in home and "可迟交至" in home
    row = re.search(r"w0-service</div></td>(.*?)</tr>", home, re.S).group(1)
    assert '<td class="number">2</td>' in row, "3 attempts, 1 used"
    english = pages.get(f"/assignments/{W0}?course={course_people['course']}&lang=en").text
    assert "late: 10% off" in english and "10% off per day late" in english and "(Asia/Shanghai)" in english


def test_a_closed_assignment_shows_no_upload_form(pages, course_people, web_settings):
    import datetime as dt

    from sqlalchemy import select

    from core.models import Course, CourseAssignment

    def policy(**values):
        with session_factory(web_settings.database_url)() as session:
            offered = session.scalar(select(CourseAssignment).join(Course).where(
                Course.slug == course_people["course"], CourseAssignment.assignment_id == W0))
            before = {k: getattr(offered, k) for k in values}
            for k, v in values.items():
                setattr(offered, k, v)
            session.commit()
            return before

    before = policy(due_at=dt.datetime(2026, 3, 1, 15, 59, tzinfo=dt.timezone.utc), late_days=0)
    try:
        log_in_client(pages, course_people["students"][0])
        page = pages.get(f"/assignments/{W0}?course={course_people['course']}").text
        assert 'type="file"' not in page and "已于 2026-03-01 23:59（Asia/Shanghai）截止，不再接受提交" in page
        english = pages.get(f"/assignments/{W0}?course={course_people['course']}&lang=en").text
        assert "Closed at 2026-03-01 23:59 (Asia/Shanghai): no more submissions" in english
    finally:
        policy(**before)
