"""LTI 1.3 against an LMS platform simulated in the suite (tests/api/lti_platform.py): the OIDC
login and launch into the assignment's page with a browser session, the roster, each security
check of the spec refusing a forged launch, and grade passback through Assignment and Grade
Services after a result is recorded and after a release, end to end."""

from __future__ import annotations

import base64
import json
import time

import pytest
from sqlalchemy import func, select

from api.services import lti
from core.models import CourseAssignment, LtiAccount, LtiLink, LtiPlatform, User
from tests.api.conftest import bearer, record_result, submit
from tests.api.lti_platform import Platform, login_params, new_key
from workers import lti as worker_lti


@pytest.fixture
def platform(client, course, sessions):
    with Platform() as platform:
        with sessions() as session:
            lti.register(session, **platform.registration(course["course"]))
            session.commit()
        platform.tool_jwks = client.get("/lti/jwks").json()
        yield platform
    client.cookies.clear()   # a launch logs the shared client in


def login(client, platform: Platform) -> dict[str, str]:
    response = client.post("/lti/login", data={"iss": platform.issuer, "login_hint": "opaque-hint",
                                               "target_link_uri": "http://testserver/lti/launch",
                                               "client_id": platform.client_id,
                                               "lti_deployment_id": platform.deployment_id}, follow_redirects=False)
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(f"{platform.url}/auth?")
    params = login_params(response.headers["location"])
    assert params["redirect_uri"] == "http://testserver/lti/launch" and params["client_id"] == platform.client_id
    assert params["response_mode"] == "form_post" and params["scope"] == "openid" and params["prompt"] == "none"
    return params


def csrf_of(cookies) -> str:
    """The CSRF token of the browser session (the assignment's page embeds it; here it is read
    from the signed cookie's payload)."""
    from api import sessions
    payload = cookies[sessions.COOKIE].split(".")[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))["csrf"]


def launch(client, token: str, state: str):
    return client.post("/lti/launch", data={"id_token": token, "state": state}, follow_redirects=False)


def launched(client, platform: Platform, student: str, **claims):
    params = login(client, platform)
    return launch(client, platform.id_token(platform.claims(params["nonce"], student, **claims)), params["state"])


def assert_refused(response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    for fragment in fragments:
        assert fragment in response.text, response.text


def test_tool_settings_and_keys(client, platform):
    config = client.get("/lti/config").json()
    assert config["oidc_initiation_url"] == "http://testserver/lti/login"
    assert config["redirect_uris"] == ["http://testserver/lti/launch"]
    assert config["jwks_url"] == "http://testserver/lti/jwks"
    keys = platform.tool_jwks["keys"]
    assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["kid"] and "d" not in k for k in keys)


def test_launch_lands_on_the_assignment_page_and_records_the_link(client, course, sessions, platform):
    student = course["students"][0]
    response = launched(client, platform, student)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/assignments/w0-service?course={course['course']}"
    page = client.get(response.headers["location"])                  # the browser session opens the page
    assert page.status_code == 200 and "w0-service" in page.text, page.text[:500]
    with sessions() as session:
        user_id = session.scalar(select(User.id).where(User.name == student))
        account = session.scalar(select(LtiAccount).where(LtiAccount.user_id == user_id))
        link = session.scalar(select(LtiLink).where(LtiLink.resource_link_id == "link-1",
                                                    LtiLink.platform_id == account.platform_id))
        assert account.sub == f"lms-user-{student}"
        assert link.lineitem_url == platform.lineitem() and lti.SCORE_SCOPE in link.ags_scopes
        assert session.get(CourseAssignment, link.course_assignment_id).assignment_id == "w0-service"


def test_the_student_id_claim_is_configurable(client, course, sessions, platform):
    with sessions() as session:
        lti.register(session, **{**platform.registration(course["course"]), "student_id_claim": "custom.student_id"})
        session.commit()
    student = course["students"][1]
    custom = {"assignment": "w0-service", "student_id": student}
    response = launched(client, platform, "someone-else", **{lti.CLAIM + "custom": custom})
    assert response.status_code == 303, response.text


def test_a_user_not_on_the_roster_is_refused_in_both_languages(client, course, platform):
    response = launched(client, platform, "stranger-2026")
    assert_refused(response, 403, "stranger-2026 is not on the roster of", "不在")
    assert 'lang="zh"' in response.text and 'lang="en"' in response.text


def test_a_launch_for_an_unknown_assignment_is_refused(client, course, platform):
    response = launched(client, platform, course["students"][0], assignment="w9-nope")
    assert_refused(response, 404)


def test_a_student_of_another_course_is_refused(client, course, api_settings, catalog, platform):
    from tests.workers.stack import seed_course
    other = seed_course(api_settings, catalog)
    assert_refused(launched(client, platform, other["students"][0]), 403, "not on the roster")


# ---------------------------------------------------------------------- forged launches
def test_a_replayed_launch_is_refused_by_its_nonce(client, course, platform):
    params = login(client, platform)
    token = platform.id_token(platform.claims(params["nonce"], course["students"][0]))
    assert launch(client, token, params["state"]).status_code == 303
    assert_refused(launch(client, token, params["state"]), 400, "Invalid Nonce")


def test_a_nonce_the_tool_never_issued_is_refused(client, course, platform):
    params = login(client, platform)
    token = platform.id_token(platform.claims("made-up-nonce", course["students"][0]))
    assert_refused(launch(client, token, params["state"]), 400, "Invalid Nonce")


def test_a_state_that_does_not_match_the_browsers_cookie_is_refused(client, course, platform):
    params = login(client, platform)
    token = platform.id_token(platform.claims(params["nonce"], course["students"][0]))
    assert_refused(launch(client, token, "state-" + "0" * 36), 400, "State not found")


def test_a_launch_without_the_login_cookie_is_refused(client, course, platform):
    params = login(client, platform)
    token = platform.id_token(platform.claims(params["nonce"], course["students"][0]))
    client.cookies.clear()
    assert_refused(launch(client, token, params["state"]), 400, "State not found")


@pytest.mark.parametrize("forgery, why", [
    ({"aud": "another-tool"}, "Registration not found"),
    ({"iss": "https://evil.example.com"}, "Registration not found"),
    ({lti.CLAIM + "deployment_id": "deploy-unknown"}, "Unable to find deployment"),
    ({"exp": int(time.time()) - 60, "iat": int(time.time()) - 400}, "expired"),
], ids=["audience", "issuer", "deployment", "expiry"])
def test_a_forged_claim_is_refused(client, course, sessions, platform, forgery, why):
    params = login(client, platform)
    claims = {**platform.claims(params["nonce"], course["students"][0]), **forgery}
    assert_refused(launch(client, platform.id_token(claims), params["state"]), 400, why)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(LtiAccount).where(
            LtiAccount.sub == claims["sub"])) == 0


def test_a_token_signed_with_another_key_is_refused(client, course, platform):
    params = login(client, platform)
    token = platform.id_token(platform.claims(params["nonce"], course["students"][0]), key=new_key())
    assert_refused(launch(client, token, params["state"]), 400, "Signature verification failed")


def test_a_login_from_an_unregistered_platform_is_refused(client, platform):
    response = client.get("/lti/login", params={"iss": "https://unknown.example.com", "login_hint": "x"},
                          follow_redirects=False)
    assert_refused(response, 400, "Could not find registration details")


# ---------------------------------------------------------------------- grade passback
def test_end_to_end_launch_submit_grade_and_the_score_reaches_the_platform(client, queue, course, sessions, catalog,
                                                                             api_settings, platform):
    student = course["students"][0]
    assert launched(client, platform, student).status_code == 303
    assert client.get("/api/v1/me").json()["name"] == student        # the browser session, no token
    response = client.post("/api/v1/assignments/w0-service/submissions", files={"file": ("hw.py", b"def answer():\n"
                           b"    return 42\n")}, headers={"X-CSRF-Token": csrf_of(client.cookies)})
    assert response.status_code == 202, response.text
    submission_id = response.json()["id"]
    record_result(sessions, submission_id)                       # the worker's claim and record
    assert worker_lti.after_recorded(sessions, queue, submission_id) == 1
    with sessions() as session:
        user_id = session.scalar(select(User.id).where(User.name == student))
        offered_id = session.scalar(select(CourseAssignment.id).join(CourseAssignment.course)
                                    .where(CourseAssignment.assignment_id == "w0-service",
                                           CourseAssignment.course.has(slug=course["course"])))
    assert queue.passbacks == [(user_id, offered_id)]
    assert worker_lti.run_passback(sessions, api_settings, catalog, *queue.passbacks[0]) == 1   # the task's body
    assert platform.refused == []
    [score] = platform.scores
    assert score["lineitem"] == "1" and score["userId"] == f"lms-user-{student}"
    assert score["scoreGiven"] == 6 and score["scoreMaximum"] == 11      # Q1 (5 points) awaits a score
    assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "Pending"

    teacher = bearer(course, "instructor")
    queue.passbacks.clear()
    client.put(f"/api/v1/submissions/{submission_id}/written/Q1", headers=teacher, json={"score": 4})
    assert queue.passbacks == [(user_id, offered_id)]                   # a written score changes the grade
    queue.passbacks.clear()
    released = client.post(f"/api/v1/courses/{course['course']}/assignments/w0-service/release", headers=teacher)
    assert released.status_code == 200 and queue.passbacks == [(user_id, offered_id)]
    for _ in range(2):                                            # a redelivered task sends the same score
        assert worker_lti.run_passback(sessions, api_settings, catalog, user_id, offered_id) == 1
    assert [(s["scoreGiven"], s["gradingProgress"]) for s in platform.scores[1:]] == [(10, "FullyGraded")] * 2


def test_no_passback_for_a_student_who_never_came_from_the_lms(client, queue, course, sessions, catalog, api_settings,
                                                                  platform):
    assert launched(client, platform, course["students"][0]).status_code == 303
    submission_id = submit(client, course, course["students"][1]).json()["id"]
    record_result(sessions, submission_id)
    assert worker_lti.after_recorded(sessions, queue, submission_id) == 1   # the assignment is linked
    assert worker_lti.run_passback(sessions, api_settings, catalog, *queue.passbacks[0]) == 0
    assert platform.scores == []


def test_no_passback_is_queued_for_an_assignment_no_lms_links(client, queue, course, sessions):
    submission_id = submit(client, course, course["students"][0]).json()["id"]
    record_result(sessions, submission_id)
    assert worker_lti.after_recorded(sessions, queue, submission_id) == 0 and queue.passbacks == []


def test_cli_registers_a_platform_and_prints_the_tools_settings_and_keys(course, api_settings, sessions):
    import json
    import subprocess
    import sys

    from tests.workers.stack import REPOSITORY, environment

    def torchgrade(*args):
        return subprocess.run([sys.executable, "-m", "torchgrade.cli", "--lang", "en", "lti", *args],
                              env=environment(api_settings), cwd=REPOSITORY, capture_output=True, text=True,
                              timeout=120)

    issuer = f"https://moodle.example.edu/{course['course']}"
    registered = torchgrade("register", "--course", course["course"], "--issuer", issuer, "--client-id", "abc",
                            "--deployment-id", "1", "--deployment-id", "2",
                            "--auth-login-url", "https://moodle.example.edu/mod/lti/auth.php",
                            "--auth-token-url", "https://moodle.example.edu/mod/lti/token.php",
                            "--key-set-url", "https://moodle.example.edu/mod/lti/certs.php",
                            "--base-url", "https://grader.example.edu")
    assert registered.returncode == 0, registered.stderr
    assert f"{issuer} (abc) is registered for {course['course']}" in registered.stderr
    assert json.loads(registered.stdout)["oidc_initiation_url"] == "https://grader.example.edu/lti/login"
    config = json.loads(torchgrade("config", "--base-url", "https://grader.example.edu/").stdout)
    assert config["jwks_url"] == "https://grader.example.edu/lti/jwks"
    keys = json.loads(torchgrade("jwks").stdout)["keys"]
    with sessions() as session:
        platform = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == issuer))
        assert platform.deployment_ids == ["1", "2"] and platform.course.slug == course["course"]
        assert platform.tool_key_id in {k["kid"] for k in keys}
    unknown = torchgrade("register", "--course", "nope", "--issuer", issuer, "--client-id", "abc",
                         "--deployment-id", "1", "--auth-login-url", "x", "--auth-token-url", "y", "--key-set-url", "z")
    assert unknown.returncode == 2 and "no course called 'nope'" in unknown.stderr


def test_cli_resends_an_assignments_grades(client, course, sessions, api_settings, platform):
    import subprocess
    import sys

    from tests.workers.stack import REPOSITORY, environment

    student = course["students"][0]
    assert launched(client, platform, student).status_code == 303
    record_result(sessions, submit(client, course, student).json()["id"])
    done = subprocess.run([sys.executable, "-m", "torchgrade.cli", "--lang", "en", "lti", "passback", "--course",
                           course["course"], "--assignment", "w0-service"], env=environment(api_settings),
                          cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 score(s) sent to the LMS" in done.stdout
    assert [(s["userId"], s["scoreGiven"]) for s in platform.scores] == [(f"lms-user-{student}", 6)]


def test_a_dropped_student_and_a_withdrawn_assignment_are_refused(client, course, sessions, platform):
    import datetime as dt

    from sqlalchemy import update

    from core.models import Course, Membership
    dropped, other = course["students"]
    now = dt.datetime.now(dt.timezone.utc)
    with sessions() as session:
        course_id = session.scalar(select(Course.id).where(Course.slug == course["course"]))
        user_id = session.scalar(select(User.id).where(User.name == dropped))
        session.execute(update(Membership).where(Membership.course_id == course_id, Membership.user_id == user_id)
                        .values(dropped_at=now))
        session.execute(update(CourseAssignment).where(CourseAssignment.course_id == course_id,
                                                       CourseAssignment.assignment_id == "w1-normal-modes")
                        .values(withdrawn_at=now))
        session.commit()
    assert_refused(launched(client, platform, dropped), 403, f"{dropped} is not on the roster")
    assert_refused(launched(client, platform, other, assignment="w1-normal-modes"), 404)
    assert launched(client, platform, other).status_code == 303
