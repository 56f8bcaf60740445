"""The instructors' code similarity pages in process (SQLite and PostgreSQL): the report with its
pairs, clusters and bases, a pair side by side, adding and removing a base through the forms
(with their CSRF token), the students' code shown as text, and students and TAs kept out of
what is not theirs."""

from __future__ import annotations

import re

from markupsafe import escape

from core import lifecycle
from core.db import session_factory
from grader.results import GradeResult
from grader.status import SubmissionStatus
from tests.core.similarity_corpus import corpus
from tests.web.conftest import HOSTILE, form_token, log_in_client

W0 = "w0-service"


def submit(client, settings, token: str, filename: str, content: bytes) -> int:
    """Through the API with the student's token (the page tests' client holds no cookie for it)."""
    answer = client.post(f"/api/v1/assignments/{W0}/submissions", headers={"Authorization": f"Bearer {token}"},
                         files={"file": (filename, content)})
    assert answer.status_code == 202, answer.text
    sessions = session_factory(settings.database_url)
    claimed = lifecycle.claim(sessions, answer.json()["id"], lambda assignment: 60.0, "web-similarity:1")
    assert lifecycle.record(sessions, claimed, GradeResult(assignment=W0, submission=filename, max_score=1,
                                                           status=SubmissionStatus.graded, score=0, tests=[]), 0.1, 0)
    return answer.json()["id"]


def url(course: str, tail: str = "") -> str:
    return f"/courses/{course}/assignments/{W0}/similarity{tail}"


def test_the_instructor_reads_the_report_and_a_pair_side_by_side(pages, web_settings, course_people):
    family = [s.source for s in corpus() if s.family == "ind_tensors"]    # a .py and its notebook copy
    hostile = family[0].content.replace(b"def load_folder", f"# {HOSTILE[0]} {HOSTILE[1]}\ndef load_folder".encode())
    ids = [submit(pages, web_settings, course_people["tokens"][name], source.filename, content)
           for name, source, content in zip(course_people["students"], family, (hostile, family[1].content))]
    log_in_client(pages, course_people["instructor"])
    report = pages.get(url(course_people["course"]))
    assert report.status_code == 200 and "代码相似度" in report.text
    assert "仅限教学人员" in report.text and "starter.py" in report.text
    assert f"/pair?a={ids[0]}&amp;b={ids[1]}" in report.text
    index = pages.get(f"/courses/{course_people['course']}/similarity")
    assert index.status_code == 200 and url(course_people["course"]) in index.text
    pair = pages.get(url(course_people["course"], f"/pair?a={ids[0]}&b={ids[1]}"))
    assert pair.status_code == 200 and pair.text.count("相同片段") >= 3 and "cell " in pair.text
    assert HOSTILE[0] not in pair.text and str(escape(HOSTILE[0])) in pair.text, "the code is text, escaped"
    english = pages.get(url(course_people["course"], "?lang=en"))
    assert "Code similarity" in english.text and "Pairs, most similar first" in english.text


def test_bases_are_added_and_removed_through_the_forms(pages, course_people):
    log_in_client(pages, course_people["instructor"])
    report = pages.get(url(course_people["course"]))
    token = form_token(report.text)
    forged = pages.post(url(course_people["course"], "/bases"), data={"csrf_token": "forged"},
                        files={"file": ("handout.py", b"def given():\n    return 1\n")})
    assert forged.status_code == 403
    added = pages.post(url(course_people["course"], "/bases"), data={"csrf_token": token},
                       files={"file": ("handout.py", b"def given():\n    return 1\n")})
    assert added.status_code == 303 and added.headers["location"].endswith("#bases")
    shown = pages.get(url(course_people["course"]))
    assert "handout.py" in shown.text and "教师添加" in shown.text
    refused = pages.post(url(course_people["course"], "/bases"), data={"csrf_token": token},
                         files={"file": ("notes.txt", b"x")})
    assert refused.status_code == 415 and 'role="alert"' in refused.text and "notes.txt" in refused.text
    empty = pages.post(url(course_people["course"], "/bases"), data={"csrf_token": token})
    assert empty.status_code == 400 and "请先选择要添加的文件" in empty.text
    removed = pages.post(url(course_people["course"], "/bases/handout.py/remove"), data={"csrf_token": token})
    assert removed.status_code == 303
    assert "handout.py" not in pages.get(url(course_people["course"])).text


def test_a_student_gets_a_refusal_page_and_no_link(pages, course_people):
    log_in_client(pages, course_people["students"][0])
    home = pages.get("/")
    assert "/similarity" not in home.text and "代码相似度" not in home.text
    for path in (url(course_people["course"]), f"/courses/{course_people['course']}/similarity"):
        refused = pages.get(path)
        assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert re.search(r"<h1>", refused.text)
