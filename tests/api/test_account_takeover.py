"""Attack: an instructor takes over an account that is more than a student of their course.
Any instructor can enrol an existing user in their own course (a roster that names them), then
reset that user's password and receive the invitation code: if the user teaches another course
(or is a student of another course), the reset hands the attacker that account and everything it
may do elsewhere.  A reset is allowed only to whoever administers every course the target is in
(core/rules.py ``may_manage_account``); an admin resets anyone's."""

from __future__ import annotations

import uuid

from api.services import accounts, administration
from core.db import session_factory
from tests.api.conftest import bearer
from tests.workers.stack import seed_course


def enrol_by_roster(client, course: dict, name: str):
    response = client.post(f"/api/v1/courses/{course['course']}/roster", headers=bearer(course, "instructor"),
                           files={"file": ("roster.csv", f"学号,姓名\n{name},someone\n".encode())})
    assert response.status_code == 200, response.text


def reset(client, course: dict, name: str):
    return client.post(f"/api/v1/courses/{course['course']}/members/{name}/password-reset",
                       headers=bearer(course, "instructor"))


def test_an_instructor_cannot_take_over_another_courses_instructor(client, api_settings, catalog):
    attacker, victim = seed_course(api_settings, catalog), seed_course(api_settings, catalog)
    enrol_by_roster(client, attacker, victim["instructor"])
    refused = reset(client, attacker, victim["instructor"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "not_instructor"


def test_an_instructor_cannot_take_over_a_student_of_another_course(client, api_settings, catalog):
    attacker, other = seed_course(api_settings, catalog), seed_course(api_settings, catalog)
    student = other["students"][0]
    enrol_by_roster(client, attacker, student)
    assert reset(client, attacker, student).status_code == 403


def test_a_student_of_only_this_course_is_reset_and_an_admin_resets_anyone(client, api_settings, catalog):
    course, other = seed_course(api_settings, catalog), seed_course(api_settings, catalog)
    assert reset(client, course, course["students"][0]).status_code == 200
    enrol_by_roster(client, course, other["instructor"])
    admin = f"admin-{uuid.uuid4().hex[:8]}"
    with session_factory(api_settings.database_url)() as session:
        token = accounts.add_user(session, api_settings.secret_key, admin, "admin").token
        session.commit()
    allowed = client.post(f"/api/v1/courses/{course['course']}/members/{other['instructor']}/password-reset",
                          headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200, allowed.text


def test_a_roster_does_not_rename_another_courses_member(client, api_settings, catalog):
    attacker, other = seed_course(api_settings, catalog), seed_course(api_settings, catalog)
    victim, own = other["instructor"], attacker["students"][0]
    file = f"学号,姓名,邮箱\n{victim},系统管理员,phish@evil.example\n{own},李雷,lilei@example.edu\n".encode()
    response = client.post(f"/api/v1/courses/{attacker['course']}/roster", headers=bearer(attacker, "instructor"),
                           files={"file": ("roster.csv", file)})
    assert response.status_code == 200, response.text
    with session_factory(api_settings.database_url)() as session:
        kept = accounts.user_by_name(session, victim)
        assert (kept.display_name, kept.email) == (victim, "")
        renamed = accounts.user_by_name(session, own)
        assert (renamed.display_name, renamed.email) == ("李雷", "lilei@example.edu")



def test_a_password_reset_is_in_the_audit_log(client, api_settings, catalog):
    """Attack: an instructor who resets a student's password holds the code that logs in as the
    student (and submits as them); the reset left no trace.  It is audited like a role change."""
    course = seed_course(api_settings, catalog)
    student = course["students"][0]
    assert reset(client, course, student).status_code == 200
    entries = client.get(f"/api/v1/courses/{course['course']}/audit", headers=bearer(course, "instructor"),
                         params={"action": "password_reset"})
    assert entries.status_code == 200, entries.text
    assert [(e["actor"], e["target"]) for e in entries.json()] == [(course["instructor"], student)]


def test_a_drop_does_not_open_the_account_to_another_course(client, api_settings, catalog):
    """A dropped membership comes back with its role on re-enrolment: the teacher dropped from
    their course (on leave) stays out of another instructor's reach."""
    attacker, victim = seed_course(api_settings, catalog), seed_course(api_settings, catalog)
    with session_factory(api_settings.database_url)() as session:
        accounts.add_user(session, api_settings.secret_key, f"{victim['course']}-co", "instructor", victim["course"])
        session.commit()
    teacher = victim["instructor"]
    with session_factory(api_settings.database_url)() as session:
        administration.drop(session, None, accounts.course_by_slug(session, victim["course"]), teacher)
        session.commit()
    enrol_by_roster(client, attacker, teacher)
    assert reset(client, attacker, teacher).status_code == 403


def test_an_instructor_cannot_demote_a_fellow_instructor_to_take_over_their_account(client, api_settings, catalog):
    """Demote, then reset: a roster row making a fellow instructor a student would make their
    password the demoting instructor's to reset.  Taking an instructor role away is an admin's."""
    course = seed_course(api_settings, catalog)
    fellow = f"{course['course']}-co"
    with session_factory(api_settings.database_url)() as session:
        accounts.add_user(session, api_settings.secret_key, fellow, "instructor", course["course"])
        session.commit()
    demoted = client.post(f"/api/v1/courses/{course['course']}/roster", headers=bearer(course, "instructor"),
                          files={"file": ("roster.csv", f"学号,姓名,角色\n{fellow},someone,学生\n".encode())})
    assert demoted.status_code == 403 and demoted.json()["error"]["code"] == "not_admin"
    assert reset(client, course, fellow).status_code == 403
    promoted = client.post(f"/api/v1/courses/{course['course']}/roster", headers=bearer(course, "instructor"),
                           files={"file": ("roster.csv", f"学号,姓名,角色\n{course['students'][0]},s,助教\n".encode())})
    assert promoted.status_code == 200, promoted.text


def test_reissued_invitations_do_not_take_over_another_courses_instructor(client, api_settings, catalog):
    """The same takeover through ``POST /invitations``: a new invitation code sets the password
    of a user who has one, so it is a reset by another name, and the same rule holds."""
    attacker, victim = seed_course(api_settings, catalog), seed_course(api_settings, catalog)
    enrol_by_roster(client, attacker, victim["instructor"])
    named = client.post(f"/api/v1/courses/{attacker['course']}/invitations", headers=bearer(attacker, "instructor"),
                        json={"students": [victim["instructor"]]})
    assert named.status_code == 403, named.text
    everyone = client.post(f"/api/v1/courses/{attacker['course']}/invitations", headers=bearer(attacker, "instructor"))
    assert everyone.status_code == 200 and victim["instructor"] not in everyone.content.decode("utf-8-sig")
