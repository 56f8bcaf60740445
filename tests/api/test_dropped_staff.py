"""Attack: a dropped TA or instructor keeps their rights.  Dropping a member must take away every
right their role gave them in that course (core/rules.py's ``enrolled_role``), not only a
student's view of the assignments: the gradebook, every submission, the administration."""

from __future__ import annotations

from api.services import accounts
from core.db import session_factory
from tests.api.conftest import bearer, submit

ADMIN = "/api/v1/courses/{course}"


def add_staff(api_settings, course: dict, name: str, role: str) -> None:
    with session_factory(api_settings.database_url)() as session:
        course["tokens"][name] = accounts.add_user(session, api_settings.secret_key, name, role,
                                                   course["course"]).token
        session.commit()


def test_a_dropped_ta_loses_the_gradebook_and_the_submissions(client, api_settings, course):
    ta = f"{course['course']}-ta"
    add_staff(api_settings, course, ta, "ta")
    student_work = submit(client, course, course["students"][0]).json()["id"]
    base = ADMIN.format(course=course["course"])
    assert client.get(f"{base}/gradebook", headers=bearer(course, ta)).status_code == 200

    dropped = client.post(f"{base}/members/{ta}/drop", headers=bearer(course, "instructor"))
    assert dropped.status_code == 200, dropped.text

    assert client.get(f"{base}/gradebook", headers=bearer(course, ta)).status_code == 403
    assert client.get(f"{base}/gradebook.csv", headers=bearer(course, ta)).status_code == 403
    assert client.get(f"{base}/submissions", headers=bearer(course, ta)).status_code == 403
    assert client.get(f"/api/v1/submissions/{student_work}", headers=bearer(course, ta)).status_code == 404


def test_a_dropped_instructor_can_no_longer_run_the_course(client, api_settings, course):
    other = f"{course['course']}-co"
    add_staff(api_settings, course, other, "instructor")
    base = ADMIN.format(course=course["course"])
    assert client.post(f"{base}/members/{other}/drop", headers=bearer(course, "instructor")).status_code == 200

    student = course["students"][0]
    assert client.get(f"{base}/members", headers=bearer(course, other)).status_code == 403
    assert client.post(f"{base}/members/{student}/drop", headers=bearer(course, other)).status_code == 403
    reset = client.post(f"{base}/members/{student}/password-reset", headers=bearer(course, other))
    assert reset.status_code == 403
    assert client.post(f"{base}/members/{other}/enrol", headers=bearer(course, other)).status_code == 403
