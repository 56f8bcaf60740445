"""One deadline (core/rules.py) for the submit path (the batched caller query) and the ORM path
(a submission's view, the gradebook, a student's grades and assignment list): extensions only
ever extend, a cleared due date is no deadline for anybody, the staff are exempt."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import update

from api.services import accounts
from core.db import utcnow
from core.models import Submission
from tests.api.conftest import bearer, record_result, submit

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def base(course) -> str:
    return f"/api/v1/courses/{course['course']}/assignments/w0-service"


def set_policy(client, course, **policy) -> None:
    policy = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in policy.items()}
    assert client.patch(f"{base(course)}/policy", headers=bearer(course, "instructor"), json=policy).status_code == 200


def extend(client, course, student: str, due_at: dt.datetime) -> None:
    response = client.put(f"{base(course)}/extensions/{student}", headers=bearer(course, "instructor"),
                           json={"due_at": due_at.isoformat()})
    assert response.status_code == 200


def grade_of(client, course, student: str) -> dict:
    book = client.get(f"/api/v1/courses/{course['course']}/gradebook", headers=bearer(course, "instructor")).json()
    return {row["student"]: row for row in book["students"]}[student]["grades"]["w0-service"]


def closed_at(response) -> dt.datetime:
    """The moment a refusal names, in course time ("2026-03-15 23:59 (Asia/Shanghai)"), to the minute."""
    assert response.status_code == 403 and response.json()["error"]["code"] == "deadline_passed"
    said = response.json()["error"]["message"].split(" closed at ")[1].split(";")[0]
    moment, zone = said.rsplit(" (", 1)
    return dt.datetime.strptime(moment, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(zone.rstrip(")")))


def same_minute(a: dt.datetime, b: dt.datetime) -> bool:
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def backdate(sessions, submission_id: int, when: dt.datetime) -> None:
    with sessions() as session:
        session.execute(update(Submission).where(Submission.id == submission_id).values(created_at=when))
        session.commit()


def test_after_the_extension_the_submit_path_refuses_at_the_deadline_the_student_is_shown(client, course):
    student, other = course["students"]
    now = utcnow()
    set_policy(client, course, due_at=now - 5 * DAY, late_days=1, late_penalty_per_day=0.25)
    extend(client, course, student, now - 3 * DAY)
    refused = closed_at(submit(client, course, student))
    shown = client.get("/api/v1/assignments/w0-service", headers=bearer(course, student)).json()
    assert same_minute(refused, dt.datetime.fromisoformat(shown["closes_at"]))
    assert same_minute(dt.datetime.fromisoformat(shown["due_at"]), refused - DAY)
    assert abs(refused - (now - 2 * DAY)) < dt.timedelta(minutes=1)
    assert closed_at(submit(client, course, other)) < refused


def test_cleared_due_date_with_an_extension_is_no_deadline_on_either_path(client, course, sessions):
    """The bug of issue 9: the submit path accepted after the extension date (no due date) while
    the gradebook charged the extension's late penalty."""
    student = course["students"][0]
    now = utcnow()
    set_policy(client, course, due_at=now - 5 * DAY, late_days=0, late_penalty_per_day=0.5)
    extend(client, course, student, now - 3 * DAY)
    assert submit(client, course, student).status_code == 403
    set_policy(client, course, due_at=None)
    accepted = submit(client, course, student)
    assert accepted.status_code == 202
    record_result(sessions, accepted.json()["id"])
    view = client.get(accepted.json()["url"], headers=bearer(course, student)).json()
    assert view["days_late"] == 0 and view["late_penalty"] == 0
    entry = grade_of(client, course, student)
    assert entry["submission_id"] == accepted.json()["id"]
    assert entry["days_late"] == 0 and entry["late_penalty"] == 0
    shown = client.get("/api/v1/assignments/w0-service", headers=bearer(course, student)).json()
    assert shown["due_at"] is None and shown["closes_at"] is None


def test_an_extension_earlier_than_the_due_date_does_not_shorten_it(client, course):
    student = course["students"][0]
    now = utcnow()
    set_policy(client, course, due_at=now + DAY)
    extend(client, course, student, now - DAY)
    assert submit(client, course, student).status_code == 202
    shown = client.get("/api/v1/assignments/w0-service", headers=bearer(course, student)).json()
    assert abs(dt.datetime.fromisoformat(shown["due_at"]) - (now + DAY)) < dt.timedelta(seconds=1)


def test_a_late_submission_costs_the_same_in_its_view_the_gradebook_and_the_students_grades(client, course,
                                                                                            sessions):
    student = course["students"][0]
    now = utcnow()
    set_policy(client, course, due_at=now - 30 * HOUR, late_days=3, late_penalty_per_day=0.25)
    extend(client, course, student, now - 26 * HOUR)
    accepted = submit(client, course, student)
    assert accepted.status_code == 202
    record_result(sessions, accepted.json()["id"])
    view = client.get(accepted.json()["url"], headers=bearer(course, student)).json()
    entry = grade_of(client, course, student)
    mine = {g["assignment"]: g["grade"] for g in client.get("/api/v1/grades", headers=bearer(course, student)).json()
            if g["course"] == course["course"]}["w0-service"]
    assert view["days_late"] == entry["days_late"] == mine["days_late"] == 2
    assert view["late_penalty"] == entry["late_penalty"] == mine["late_penalty"] == 0.5


def test_staff_are_exempt_from_the_deadline_and_the_limits(client, course, api_settings, sessions):
    with sessions() as session:  # an admin enrolled as a student: is_admin alone exempts
        name = f"{course['course']}-admin"
        admin = accounts.add_user(session, api_settings.secret_key, name, "student", course["course"]).token
        accounts.add_user(session, api_settings.secret_key, name, "admin")
        session.commit()
    people = {**course, "tokens": {**course["tokens"], "admin": admin}}
    set_policy(client, course, due_at=utcnow() - 5 * DAY, late_days=0, late_penalty_per_day=0.5, attempts_total=1)
    assert submit(client, course, course["students"][0]).status_code == 403
    for who in ("instructor", "admin"):
        first, second = (submit(client, people, who) for _ in range(2))
        assert first.status_code == second.status_code == 202, who
        record_result(sessions, first.json()["id"])
        view = client.get(first.json()["url"], headers=bearer(people, who)).json()
        assert view["days_late"] == 0 and view["late_penalty"] == 0, who
