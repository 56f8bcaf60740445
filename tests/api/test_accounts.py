"""Accounts: passwords set through invitations, logins with rate limits, browser sessions (cookie
flags, CSRF, revocation on the server), named bearer tokens with expiry, password resets; on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import accounts
from core.db import session_factory, utcnow
from core.migrate import upgrade
from core.models import ApiToken, Submission, User
from tests.api.conftest import RecordingQueue
from tests.workers.stack import seed_course

PASSWORD = "correct horse battery"
HW = ("hw.py", b"def answer():\n    return 42\n")
clients = itertools.count(1)


@pytest.fixture
def browser(api_settings):
    """A client of its own (its own cookie jar, its own address for the rate limit)."""
    address = f"10.9.{next(clients) // 250}.{next(clients) % 250}"
    with TestClient(create_app(api_settings, enqueuer=RecordingQueue()), client=(address, 50000)) as client:
        yield client


@pytest.fixture
def people(api_settings, catalog):
    return seed_course(api_settings, catalog, students=2)


def invite(settings, name: str) -> str:
    with session_factory(settings.database_url)() as session:
        code = accounts.invite(session, settings, accounts.user_by_name(session, name))
        session.commit()
    return code


def with_password(settings, name: str, password: str = PASSWORD) -> None:
    with session_factory(settings.database_url)() as session:
        accounts.set_password(session, accounts.user_by_name(session, name), password)
        session.commit()


def log_in(client, name: str, password: str = PASSWORD):
    return client.post("/api/v1/session", json={"name": name, "password": password})


# ---------------------------------------------------------------------- invitations and passwords
def test_an_invitation_sets_the_password_once_and_logs_in(api_settings, browser, people):
    student = people["students"][0]
    code = invite(api_settings, student)
    assert browser.get(f"/api/v1/invitations/{code}").json()["name"] == student
    weak = browser.post(f"/api/v1/invitations/{code}", json={"password": student})
    assert weak.status_code == 400 and weak.json()["error"]["code"] == "weak_password"
    accepted = browser.post(f"/api/v1/invitations/{code}", json={"password": PASSWORD})
    assert accepted.status_code == 200 and accepted.json()["user"]["name"] == student
    assert browser.get("/api/v1/me").json()["name"] == student  # the cookie logs them in
    again = browser.post(f"/api/v1/invitations/{code}", json={"password": "another password"})
    assert again.status_code == 404 and again.json()["error"]["code"] == "invitation_not_found"
    assert log_in(browser, student).status_code == 200


def test_a_new_invitation_voids_the_old_and_an_expired_one_is_refused(api_settings, browser, people):
    student = people["students"][0]
    old, new = invite(api_settings, student), invite(api_settings, student)
    assert browser.get(f"/api/v1/invitations/{old}").status_code == 404
    with session_factory(api_settings.database_url)() as session:
        session.execute(sa.text("UPDATE invitations SET expires_at = :past"),
                        {"past": (utcnow() - dt.timedelta(minutes=1)).replace(tzinfo=None)})
        session.commit()
    refused = browser.post(f"/api/v1/invitations/{new}", json={"password": PASSWORD})
    assert refused.status_code == 404


def test_messages_speak_the_callers_language(api_settings, browser, people):
    refused = browser.post("/api/v1/session", json={"name": people["students"][0], "password": "wrong password"},
                           headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 401 and "密码" in refused.json()["error"]["message"]


# ---------------------------------------------------------------------- logins and their limits
def test_a_wrong_password_and_an_unknown_name_are_refused_alike(api_settings, browser, people):
    student = people["students"][0]
    with_password(api_settings, student)
    wrong = log_in(browser, student, "not the password")
    unknown = log_in(browser, f"nobody-{uuid.uuid4().hex[:6]}")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    no_password_yet = log_in(browser, people["students"][1], "")
    assert no_password_yet.status_code == 401


def test_failed_logins_are_rate_limited_per_name(api_settings, browser, people):
    student = people["students"][0]
    with_password(api_settings, student)
    for _ in range(api_settings.login_max_failures):
        assert log_in(browser, student, "guess guess").status_code == 401
    limited = log_in(browser, student)  # even the right password, until the window passes
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert limited.json()["error"]["code"] == "too_many_requests"
    with session_factory(api_settings.database_url)() as session:
        session.execute(sa.text("UPDATE login_failures SET failed_at = :past WHERE name = :name"),
                        {"past": (utcnow() - dt.timedelta(hours=1)).replace(tzinfo=None), "name": student})
        session.commit()
    assert log_in(browser, student).status_code == 200


def test_failed_logins_are_rate_limited_per_client(api_settings, catalog, people):
    settings = api_settings.model_copy(update={"login_max_failures_per_client": 3})
    with TestClient(create_app(settings, enqueuer=RecordingQueue()), client=("10.8.8.8", 1)) as client:
        for index in range(3):
            assert log_in(client, f"guess-{uuid.uuid4().hex[:6]}").status_code == 401
        with_password(api_settings, people["students"][0])
        assert log_in(client, people["students"][0]).status_code == 429


# ---------------------------------------------------------------------- the browser session
def test_the_session_cookie_is_http_only_and_same_site(api_settings, browser, people):
    with_password(api_settings, people["students"][0])
    response = log_in(browser, people["students"][0])
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("tg_session=") and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # a test server speaks plain HTTP; production sets Secure


def test_a_change_made_with_the_cookie_needs_the_csrf_token(api_settings, browser, people):
    student = people["students"][0]
    with_password(api_settings, student)
    csrf = log_in(browser, student).json()["csrf_token"]
    url = "/api/v1/assignments/w0-service/submissions"
    forged = browser.post(url, files={"file": HW})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    wrong = browser.patch("/api/v1/me", json={"language": "en"}, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    assert browser.patch("/api/v1/me", json={"language": "en"}, headers={"X-CSRF-Token": csrf}).status_code == 200
    accepted = browser.post(url, files={"file": HW}, data={"csrf_token": csrf})  # a plain HTML form
    assert accepted.status_code == 202, accepted.text
    assert browser.post(url, files={"file": HW}, headers={"X-CSRF-Token": csrf}).status_code == 202


def test_a_bearer_token_needs_no_csrf_token(api_settings, browser, people):
    token = people["tokens"][people["students"][0]]
    response = browser.patch("/api/v1/me", json={"language": "zh"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_logging_out_voids_the_cookie_on_the_server(api_settings, browser, people):
    student = people["students"][0]
    with_password(api_settings, student)
    csrf = log_in(browser, student).json()["csrf_token"]
    stolen = dict(browser.cookies)
    assert browser.delete("/api/v1/session").status_code == 403  # a forged logout
    assert browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert browser.get("/api/v1/me").status_code == 401
    browser.cookies.update(stolen)  # the old cookie, replayed
    replayed = browser.get("/api/v1/me")
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "unauthorized"


def test_a_new_password_ends_every_session(api_settings, browser, people):
    student = people["students"][0]
    with_password(api_settings, student)
    log_in(browser, student)
    assert browser.get("/api/v1/me").status_code == 200
    with_password(api_settings, student, "a brand new password")
    assert browser.get("/api/v1/me").status_code == 401


# ---------------------------------------------------------------------- bearer tokens
def test_tokens_are_named_listed_expire_and_are_revoked(api_settings, browser, people):
    token = people["tokens"][people["students"][0]]
    bearer = {"Authorization": f"Bearer {token}"}
    made = browser.post("/api/v1/me/tokens", json={"name": "laptop"}, headers=bearer)
    assert made.status_code == 201 and made.json()["token"].startswith("tg_")
    laptop = {"Authorization": f"Bearer {made.json()['token']}"}
    listed = browser.get("/api/v1/me/tokens", headers=laptop).json()
    assert [t["name"] for t in listed] == ["default", "laptop"] and all("token" not in t for t in listed)
    assert browser.post("/api/v1/assignments/w0-service/submissions", files={"file": HW},
                        headers=laptop).status_code == 202
    assert browser.delete(f"/api/v1/me/tokens/{made.json()['id']}", headers=bearer).status_code == 204
    assert browser.get("/api/v1/me", headers=laptop).status_code == 401
    assert browser.post("/api/v1/assignments/w0-service/submissions", files={"file": HW},
                        headers=laptop).status_code == 401


def test_an_expired_token_is_refused_on_every_path(api_settings, browser, people):
    bearer = {"Authorization": f"Bearer {people['tokens'][people['students'][0]]}"}
    soon = (utcnow() + dt.timedelta(hours=1)).isoformat()
    made = browser.post("/api/v1/me/tokens", json={"name": "ci", "expires_at": soon}, headers=bearer).json()
    with session_factory(api_settings.database_url)() as session:
        session.get(ApiToken, made["id"]).expires_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()
    expired = {"Authorization": f"Bearer {made['token']}"}
    assert browser.get("/api/v1/me", headers=expired).status_code == 401
    assert browser.post("/api/v1/assignments/w0-service/submissions", files={"file": HW},
                        headers=expired).status_code == 401
    past = browser.post("/api/v1/me/tokens", json={"name": "old", "expires_at": "2020-01-01T00:00:00Z"},
                        headers=bearer)
    assert past.status_code == 400 and past.json()["error"]["code"] == "bad_expiry"


def test_one_cannot_revoke_anothers_token(api_settings, browser, people):
    alice, bob = people["students"]
    with session_factory(api_settings.database_url)() as session:
        bobs = accounts.list_tokens(session, accounts.user_by_name(session, bob))[0].id
    response = browser.delete(f"/api/v1/me/tokens/{bobs}",
                              headers={"Authorization": f"Bearer {people['tokens'][alice]}"})
    assert response.status_code == 404
    assert browser.get("/api/v1/me", headers={"Authorization": f"Bearer {people['tokens'][bob]}"}).status_code == 200


# ---------------------------------------------------------------------- password resets
def test_an_instructor_resets_a_students_password(api_settings, browser, people):
    student = people["students"][0]
    with_password(api_settings, student)
    log_in(browser, student)
    teacher = {"Authorization": f"Bearer {people['tokens']['instructor']}"}
    reset = browser.post(f"/api/v1/courses/{people['course']}/members/{student}/password-reset", headers=teacher)
    assert reset.status_code == 200 and reset.json()["url"].endswith(f"/invite/{reset.json()['code']}")
    assert browser.get("/api/v1/me").status_code == 401  # their sessions ended
    assert log_in(browser, student).status_code == 401   # and the old password is void
    code = reset.json()["code"]
    assert browser.post(f"/api/v1/invitations/{code}", json={"password": "a fresh password"}).status_code == 200


def test_a_student_cannot_reset_and_an_instructor_cannot_reset_a_fellow_instructor(api_settings, catalog, browser,
                                                                                     people):
    alice, bob = people["students"]
    url = f"/api/v1/courses/{people['course']}/members/{{}}/password-reset"
    as_alice = {"Authorization": f"Bearer {people['tokens'][alice]}"}
    assert browser.post(url.format(bob), headers=as_alice).status_code == 403
    fellow = f"{people['course']}-co"
    with session_factory(api_settings.database_url)() as session:
        accounts.add_user(session, api_settings.secret_key, fellow, "instructor", people["course"])
        session.commit()
    teacher = {"Authorization": f"Bearer {people['tokens']['instructor']}"}
    refused = browser.post(url.format(fellow), headers=teacher)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_instructor"


# ---------------------------------------------------------------------- the migration
def test_the_migration_keeps_every_users_token_and_their_work(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0004")
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    now = dt.datetime(2026, 3, 1)
    with engine.begin() as connection:
        connection.execute(meta.tables["courses"].insert(), [{"id": 1, "slug": "c", "title": "", "created_at": now}])
        connection.execute(meta.tables["users"].insert(), [
            {"id": 1, "name": "alice", "display_name": "", "email": "", "is_admin": False, "token_hash": "a" * 64,
             "created_at": now}])
        connection.execute(meta.tables["course_assignments"].insert(), [
            {"id": 1, "course_id": 1, "assignment_id": "w0-service", "late_days": 0, "late_penalty_per_day": 0.0,
             "results_released": False}])
        connection.execute(meta.tables["submissions"].insert(), [
            {"id": 1, "course_assignment_id": 1, "user_id": 1, "filename": "hw.py", "content": b"x",
             "sha256": "0" * 64, "size": 1, "queue": "cpu", "status": "queued", "attempts": 0, "max_score": 1.0,
             "created_at": now}])
    engine.dispose()
    upgrade(url)
    with session_factory(url)() as session:
        assert session.get(Submission, 1) is not None  # rebuilding users did not cascade to their work
        token = session.scalars(sa.select(ApiToken)).one()
        assert (token.user_id, token.token_hash, token.name) == (1, "a" * 64, "default")
        assert session.get(User, 1).password_hash is None
