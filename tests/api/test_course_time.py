"""Course time end to end (core/clock.py, core/rules.py): a due date or extension entered without
a time zone is the course's time, stored in UTC and shown back with the course's offset; a late
day is a day of the course's calendar, ending at the due date's wall-clock time, so a day across
a daylight-saving change is 23 or 25 hours; the view of a submission, the gradebook and the
student's grades count alike.  On SQLite and PostgreSQL (the ``api_settings`` parameters)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from core.models import Course
from tests.api.conftest import RecordingQueue, bearer, record_result, submit
from tests.api.test_deadlines import backdate, base, closed_at, grade_of
from tests.workers.stack import REPOSITORY, environment

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def new_york(api_settings):
    """The API of a service whose default zone (TORCHGRADE_DEFAULT_TIME_ZONE) is New York, on the
    same database: a course that records no zone of its own is New York's."""
    settings = api_settings.model_copy(update={"default_time_zone": "America/New_York"})
    with TestClient(create_app(settings, enqueuer=RecordingQueue())) as client:
        yield client


def set_zone(sessions, course, zone: str) -> None:
    with sessions() as session:
        session.execute(update(Course).where(Course.slug == course["course"]).values(time_zone=zone))
        session.commit()


def elapsed(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Real time between two moments (Python subtracts two times of one zone by their wall clocks)."""
    return end.astimezone(dt.timezone.utc) - start.astimezone(dt.timezone.utc)


def handed_in_at(client, course, sessions, student: str, when: dt.datetime) -> dict:
    """A graded submission made at ``when`` (submitted before the deadline exists, then dated)."""
    accepted = submit(client, course, student)
    assert accepted.status_code == 202, accepted.text
    record_result(sessions, accepted.json()["id"])
    backdate(sessions, accepted.json()["id"], when)
    return accepted.json()


def policy(client, course, **changes) -> dict:
    response = client.patch(f"{base(course)}/policy", headers=bearer(course, "instructor"), json=changes)
    assert response.status_code == 200, response.text
    return response.json()


def days_late(client, course, accepted: dict, student: str) -> set[int]:
    """As the submission's view, the gradebook and the student's own grades count them."""
    view = client.get(accepted["url"], headers=bearer(course, student)).json()["days_late"]
    mine = {g["assignment"]: g["grade"] for g in client.get("/api/v1/grades", headers=bearer(course, student)).json()
            if g["course"] == course["course"]}["w0-service"]["days_late"]
    return {view, mine, grade_of(client, course, student)["days_late"]}


def test_a_naive_due_date_is_course_time_stored_in_utc_and_shown_with_its_offset(client, course):
    shown = policy(client, course, due_at="2026-03-15 23:59", late_days=2)
    assert shown["time_zone"] == "Asia/Shanghai"
    assert dt.datetime.fromisoformat(shown["due_at"]) == dt.datetime(2026, 3, 15, 23, 59, tzinfo=SHANGHAI)
    assert shown["due_at"].endswith("+08:00")
    student = client.get("/api/v1/assignments/w0-service", headers=bearer(course, course["students"][0])).json()
    assert student["due_at"] == shown["due_at"] and student["closes_at"] == "2026-03-17T23:59:00+08:00"
    with_zone = policy(client, course, due_at="2026-03-15T15:59:00Z")   # the same moment, said in UTC
    assert with_zone["due_at"] == shown["due_at"]


def test_a_naive_extension_is_course_time(client, course):
    student = course["students"][0]
    response = client.put(f"{base(course)}/extensions/{student}", headers=bearer(course, "instructor"),
                          json={"due_at": "2026-03-20 12:00"})
    assert response.status_code == 200 and response.json()["due_at"] == "2026-03-20T12:00:00+08:00"


def test_half_an_hour_after_a_2359_shanghai_deadline_is_one_late_day(client, course, sessions):
    early, late = course["students"]
    first = handed_in_at(client, course, sessions, early, dt.datetime(2026, 3, 16, 0, 30, tzinfo=SHANGHAI))
    second = handed_in_at(client, course, sessions, late, dt.datetime(2026, 3, 17, 0, 0, tzinfo=SHANGHAI))
    policy(client, course, due_at="2026-03-15 23:59", late_days=3, late_penalty_per_day=0.1)
    assert days_late(client, course, first, early) == {1}
    assert days_late(client, course, second, late) == {2}       # 24 h 1 min after: a second day started


def test_late_days_across_the_spring_forward_are_course_days(client, course, sessions):
    """New York moves its clocks from 02:00 to 03:00 on 2026-03-08: that day has 23 hours.  Due
    Saturday 23:59 EST; Monday 00:30 EDT is only 23 h 31 min later but in the second day late, and
    one late day closes on Sunday 23:59 EDT, not 24 hours after the due date (Monday 00:59)."""
    set_zone(sessions, course, "America/New_York")
    sunday, monday = course["students"]
    first = handed_in_at(client, course, sessions, sunday, dt.datetime(2026, 3, 8, 23, 30, tzinfo=NEW_YORK))
    second = handed_in_at(client, course, sessions, monday, dt.datetime(2026, 3, 9, 0, 30, tzinfo=NEW_YORK))
    assert elapsed(dt.datetime(2026, 3, 7, 23, 59, tzinfo=NEW_YORK), dt.datetime(2026, 3, 9, 0, 30, tzinfo=NEW_YORK)) \
        == dt.timedelta(hours=23, minutes=31)
    shown = policy(client, course, due_at="2026-03-07 23:59", late_days=1, late_penalty_per_day=0.25)
    assert shown["due_at"] == "2026-03-07T23:59:00-05:00"
    student = client.get("/api/v1/assignments/w0-service", headers=bearer(course, sunday)).json()
    assert student["closes_at"] == "2026-03-08T23:59:00-04:00"
    assert days_late(client, course, first, sunday) == {1}
    assert days_late(client, course, second, monday) == {2}


def test_late_days_across_the_fall_back_are_course_days(client, course, sessions):
    """On 2026-11-01 New York's clocks go back from 02:00 to 01:00: that day has 25 hours.  24.5
    hours after a Saturday 23:59 EDT due date is Sunday 23:29 EST, still the first day late."""
    set_zone(sessions, course, "America/New_York")
    student = course["students"][0]
    due = dt.datetime(2026, 10, 31, 23, 59, tzinfo=NEW_YORK)
    when = (due.astimezone(dt.timezone.utc) + dt.timedelta(hours=24, minutes=30)).astimezone(NEW_YORK)
    assert (when.day, when.hour, when.minute) == (1, 23, 29)
    accepted = handed_in_at(client, course, sessions, student, when)
    policy(client, course, due_at="2026-10-31 23:59", late_days=2, late_penalty_per_day=0.25)
    assert days_late(client, course, accepted, student) == {1}


def test_the_submission_search_reads_naive_dates_in_course_time(client, course, sessions):
    student = course["students"][0]
    handed_in_at(client, course, sessions, student, dt.datetime(2026, 3, 16, 0, 30, tzinfo=SHANGHAI))
    url = f"/api/v1/courses/{course['course']}/submissions"

    def found(**params) -> int:
        response = client.get(url, headers=bearer(course, "instructor"), params=params)
        assert response.status_code == 200, response.text
        return len(response.json())

    assert found(since="2026-03-16 00:00", until="2026-03-16 01:00") == 1      # Shanghai: 16:00-17:00 UTC the 15th
    assert found(since="2026-03-16T00:00:00Z", until="2026-03-16T01:00:00Z") == 0


def test_the_cli_sets_a_courses_zone_and_the_deadline_keeps_its_moment(client, course, api_settings):
    shanghai = policy(client, course, due_at="2026-03-15 23:59")["due_at"]

    def time_zone(*zone: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "torchgrade.cli", "--lang", "en", "course", "time-zone",
                               course["course"], *zone], env=environment(api_settings), cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=300)

    changed = time_zone("Europe/Paris")
    assert changed.returncode == 0 and "deadlines are in Europe/Paris" in changed.stdout, changed.stderr
    paris = client.get(f"{base(course)}/policy", headers=bearer(course, "instructor")).json()["due_at"]
    assert paris == "2026-03-15T16:59:00+01:00"
    assert dt.datetime.fromisoformat(paris) == dt.datetime.fromisoformat(shanghai)
    wrong = time_zone("Mars/Olympus")
    assert wrong.returncode == 2 and "no time zone called 'Mars/Olympus'" in wrong.stderr


def test_a_course_without_a_zone_counts_late_days_in_the_zone_it_is_shown_in(new_york, course, sessions):
    """The course records no zone (seed_course): the service's default, New York, is the zone its
    due dates are shown in and, on every path, the one its late days are counted in (the spring
    forward of 2026-03-08 makes the first late day 23 hours, as in a course that names New York)."""
    with sessions() as session:
        assert session.query(Course.time_zone).filter(Course.slug == course["course"]).scalar() is None
    sunday, monday = course["students"]
    first = handed_in_at(new_york, course, sessions, sunday, dt.datetime(2026, 3, 8, 23, 30, tzinfo=NEW_YORK))
    second = handed_in_at(new_york, course, sessions, monday, dt.datetime(2026, 3, 9, 0, 30, tzinfo=NEW_YORK))
    shown = policy(new_york, course, due_at="2026-03-07 23:59", late_days=1, late_penalty_per_day=0.25)
    assert shown["time_zone"] == "America/New_York" and shown["due_at"] == "2026-03-07T23:59:00-05:00"
    student = new_york.get("/api/v1/assignments/w0-service", headers=bearer(course, sunday)).json()
    assert student["closes_at"] == "2026-03-08T23:59:00-04:00"
    assert days_late(new_york, course, first, sunday) == {1}      # the view, the student's grades, the gradebook
    assert days_late(new_york, course, second, monday) == {2}
    refused = submit(new_york, course, sunday)                     # the submit path
    assert closed_at(refused) == dt.datetime(2026, 3, 8, 23, 59, tzinfo=NEW_YORK)
    assert "(America/New_York)" in refused.json()["error"]["message"]
