"""The staff's pages in process (SQLite and PostgreSQL): who may see them, what they show, the
forms (policy, extension, written scores, regrade) with their refusals in the page's language,
and hostile strings escaped."""

from __future__ import annotations

import re

from sqlalchemy import update

from api.services import accounts, courses
from core.db import session_factory
from core.models import User
from tests.api.conftest import record_result, submit
from tests.web.conftest import HOSTILE, form_token, log_in_client, set_passwords


def graded(web_app, settings, people, student, **outcome) -> int:
    """Submitted through the app's own client (its event loop holds the submit batcher), graded
    as a worker records it."""
    submission_id = submit(web_app, people, student).json()["id"]
    record_result(session_factory(settings.database_url), submission_id, **outcome)
    return submission_id


def as_teacher(pages, people):
    log_in_client(pages, people["instructor"])
    return pages


def test_students_and_strangers_get_no_staff_page(pages, course_people):
    course = course_people["course"]
    log_in_client(pages, course_people["students"][0])
    for path in ("", "/gradebook", "/assignments/w0-service", f"/students/{course_people['students'][1]}",
                 "/written"):
        response = pages.get(f"/staff/{course}{path}?lang=en")
        assert response.status_code == 403, path
        assert "staff" in response.text or "instructors" in response.text
    assert pages.get("/staff/no-such-course?lang=en").status_code == 404


def test_a_page_without_a_login_sends_to_the_login(pages, course_people):
    response = pages.get(f"/staff/{course_people['course']}/gradebook")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_overview_gradebook_assignment_and_student_pages_show_the_service_numbers(pages, web_app, web_settings,
                                                                                  course_people):
    course, (alice, bob) = course_people["course"], course_people["students"]
    first = graded(web_app, web_settings, course_people, alice)
    graded(web_app, web_settings, course_people, bob, visible="failed")
    as_teacher(pages, course_people)
    overview = pages.get(f"/staff/{course}?lang=en").text
    assert "2 / 2" in overview and f"/staff/{course}/students/{alice}" in overview
    book = pages.get(f"/staff/{course}/gradebook?lang=en&sort=total&order=desc").text
    assert book.index(f">{alice}<") < book.index(f">{bob}<")  # 6 points before 4
    only_bob = pages.get(f"/staff/{course}/gradebook?lang=en&q={bob[-2:]}").text
    assert f">{bob}<" in only_bob and f">{alice}<" not in only_bob
    assert f"/api/v1/courses/{course}/gradebook.csv?policy=best" in book
    assert "gradebook.csv?policy=best&amp;format=canvas" in book and "&amp;format=moodle" in book
    page = pages.get(f"/staff/{course}/assignments/w0-service?lang=en").text
    assert page.count("<svg") == 3 and 'role="img"' in page and "answer() returned 41, expected 42" in page
    assert f'/staff/{course}/students/{bob}"' in page  # the drill-down names the failing student
    student = pages.get(f"/staff/{course}/students/{alice}?lang=en").text
    assert f'href="/submissions/{first}"' in student


def test_a_policy_and_an_extension_are_saved_in_course_time(pages, web_app, web_settings, course_people):
    course, bob = course_people["course"], course_people["students"][1]
    as_teacher(pages, course_people)
    url = f"/staff/{course}/assignments/w0-service"
    token = form_token(pages.get(url).text)
    saved = pages.post(f"{url}/policy", data={"csrf_token": token, "due_at": "2031-03-15T23:59", "late_days": "2",
                                              "late_penalty_percent": "10", "attempts_total": "5",
                                              "results_released": "on"})
    assert saved.status_code == 303
    page = pages.get(saved.headers["location"].replace("#", "&lang=en#")).text
    assert "The policy is saved." in page and 'value="2031-03-15T23:59"' in page and 'value="10"' in page
    refused = pages.post(f"{url}/policy", data={"csrf_token": token, "late_days": "-1"}, params={"lang": "en"})
    assert refused.status_code == 400 and "late_days" in refused.text
    zh = pages.post(f"{url}/policy", data={"csrf_token": token, "late_days": "x"}, params={"lang": "zh"})
    assert zh.status_code == 400 and "late_days" in zh.text and "these fields" not in zh.text
    granted = pages.post(f"{url}/extensions", data={"csrf_token": token, "student": bob, "due_at": "2031-03-20T12:00"})
    assert granted.status_code == 303
    assert "2031-03-20 12:00" in pages.get(f"{url}?lang=en").text
    unknown = pages.post(f"{url}/extensions", data={"csrf_token": token, "student": "nobody", "due_at":
                                                    "2031-03-20T12:00"}, params={"lang": "en"})
    assert unknown.status_code == 404 and "nobody" in unknown.text
    revoked = pages.post(f"{url}/extensions/{bob}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303 and "No student has an extension." in pages.get(f"{url}?lang=en").text


def test_a_form_without_its_csrf_token_is_refused(pages, course_people):
    as_teacher(pages, course_people)
    response = pages.post(f"/staff/{course_people['course']}/assignments/w0-service/policy", data={"late_days": "3"})
    assert response.status_code == 403


def test_written_answers_are_scored_one_at_a_time(pages, web_app, web_settings, course_people):
    course, (alice, bob) = course_people["course"], course_people["students"]
    first = graded(web_app, web_settings, course_people, alice)
    graded(web_app, web_settings, course_people, bob)
    as_teacher(pages, course_people)
    queue = pages.get(f"/staff/{course}/written?lang=en").text
    assert "Answer 1 of 2" in queue and 'data-queue-next="?assignment=&amp;show=pending&amp;at=1"' in queue
    token = form_token(queue)
    answer_id = re.search(r'name="answer_id" value="(\d+)"', queue).group(1)
    saved = pages.post(f"/staff/{course}/written/{first}/Q1", params={"lang": "en"}, headers={"HX-Request": "true"},
                       data={"csrf_token": token, "score": "4", "comment": "<b>good</b>", "answer_id": answer_id})
    assert saved.status_code == 200 and "Saved: 4 points." in saved.text and "&lt;b&gt;good&lt;/b&gt;" in saved.text
    too_many = pages.post(f"/staff/{course}/written/{first}/Q1", params={"lang": "en"},
                          headers={"HX-Request": "true"},
                          data={"csrf_token": token, "score": "9", "answer_id": answer_id})
    assert too_many.status_code == 400 and "at most 5 points" in too_many.text
    assert "Answer 1 of 1" in pages.get(f"/staff/{course}/written?lang=en").text
    assert "Answer 2 of 2" in pages.get(f"/staff/{course}/written?lang=en&show=all&at=1").text


def test_hostile_strings_are_escaped(pages, web_app, web_settings, course_people):
    course, alice = course_people["course"], course_people["students"][0]
    with session_factory(web_settings.database_url)() as session:
        session.execute(update(User).where(User.name == alice).values(display_name=HOSTILE[1]))
        session.commit()
    graded(web_app, web_settings, course_people, alice)
    as_teacher(pages, course_people)
    for path in ("", "/gradebook", f"/students/{alice}", "/written"):
        text = pages.get(f"/staff/{course}{path}").text
        assert HOSTILE[1] not in text and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in text, path


def test_regrade_queues_the_assignment_and_shows_its_progress(pages, web_app, web_settings, course_people):
    course = course_people["course"]
    graded(web_app, web_settings, course_people, course_people["students"][0])
    as_teacher(pages, course_people)
    url = f"/staff/{course}/assignments/w0-service"
    pages.queue.sent.clear()
    response = pages.post(f"{url}/regrade", data={"csrf_token": form_token(pages.get(url).text)})
    assert response.status_code == 303 and len(pages.queue.sent) == 1
    progress = pages.get(f"{url}/progress?lang=en").text
    assert "Waiting to be graded or being graded: 1." in progress and 'hx-trigger="every 2s"' in progress


def add_ta(settings, people: dict) -> str:
    name = f"{people['course']}-ta"
    with session_factory(settings.database_url)() as session:
        accounts.add_user(session, settings.secret_key, name, "ta", people["course"])
        session.commit()
    set_passwords(settings, [name])
    return name


def test_a_ta_scores_and_regrades_but_sees_no_policy_control_until_allowed(pages, web_app, web_settings,
                                                                           course_people):
    course = course_people["course"]
    graded(web_app, web_settings, course_people, course_people["students"][0])
    log_in_client(pages, add_ta(web_settings, course_people))
    url = f"/staff/{course}/assignments/w0-service"
    page = pages.get(f"{url}?lang=en").text
    assert f'action="{url}/policy"' not in page and f'action="{url}/extensions"' not in page
    assert f'action="{url}/release"' not in page and f'action="{url}/regrade"' in page
    assert "or TAs they allow to" in page and 'id="late_days"' not in page
    assert "Answer 1 of 1" in pages.get(f"/staff/{course}/written?lang=en").text
    refused = pages.post(f"{url}/policy", data={"csrf_token": form_token(page), "late_days": "3"},
                         params={"lang": "en"})
    assert refused.status_code == 403 and "allow TAs" in refused.text
    with session_factory(web_settings.database_url)() as session:
        courses.set_ta_grants(session, None, accounts.course_by_slug(session, course), ["policy"])
        session.commit()
    page = pages.get(f"{url}?lang=en").text
    assert f'action="{url}/policy"' in page and f'action="{url}/extensions"' not in page
    assert pages.post(f"{url}/policy", data={"csrf_token": form_token(page), "late_days": "3"}).status_code == 303


def test_hidden_results_are_released_by_their_own_button(pages, course_people):
    as_teacher(pages, course_people)
    url = f"/staff/{course_people['course']}/assignments/w0-service"
    page = pages.get(f"{url}?lang=en").text
    assert "Not released" in page
    assert pages.post(f"{url}/release", data={"csrf_token": form_token(page)}).status_code == 303
    assert "Released: the students see every check" in pages.get(f"{url}?lang=en").text


def test_roster_invitations_and_audit_log_pages(pages, web_app, web_settings, course_people):
    course, (alice, bob) = course_people["course"], course_people["students"]
    as_teacher(pages, course_people)
    roster = pages.get(f"/staff/{course}/roster?lang=en")
    assert roster.status_code == 200 and f">{alice}<" in roster.text and "Import a class list" in roster.text
    token = form_token(roster.text)
    class_list = "学号,姓名,班级\n20260001,张三,1班\n".encode("gbk")
    imported = pages.post(f"/staff/{course}/roster", params={"lang": "en"}, data={"csrf_token": token},
                          files={"file": ("roster.csv", class_list, "text/csv")})
    assert imported.status_code == 200 and "The class list is imported" in imported.text
    assert "20260001" in imported.text and "/invite/" in imported.text and "张三" in imported.text
    dropped = pages.post(f"/staff/{course}/members/{bob}/drop", data={"csrf_token": token})
    assert dropped.status_code == 303 and "Re-enrol " + bob in pages.get(f"/staff/{course}/roster?dropped=true"
                                                                          f"&lang=en").text
    assert f">{bob}<" not in pages.get(f"/staff/{course}?lang=en").text  # the overview leaves dropped students out
    invitations = pages.post(f"/staff/{course}/invitations", data={"csrf_token": token, "student": alice})
    assert invitations.status_code == 200 and invitations.content.startswith(b"\xef\xbb\xbf")
    assert alice in invitations.content.decode("utf-8-sig")
    pages.post(f"/staff/{course}/assignments/w0-service/policy", data={"csrf_token": token, "late_days": "4"})
    log = pages.get(f"/staff/{course}/audit?lang=en").text
    assert "policy" in log and "enrolment" in log and course_people["instructor"] in log
    only = pages.get(f"/staff/{course}/audit?lang=en&action=policy").text
    assert "enrolment</td>" not in only and "policy</td>" in only


def test_a_ta_gets_no_roster_nor_audit_log(pages, web_settings, course_people):
    log_in_client(pages, add_ta(web_settings, course_people))
    course = course_people["course"]
    assert "/roster" not in pages.get(f"/staff/{course}?lang=en").text
    for path in ("/roster", "/audit"):
        assert pages.get(f"/staff/{course}{path}?lang=en").status_code == 403, path
