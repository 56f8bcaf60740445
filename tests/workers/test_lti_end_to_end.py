"""LTI 1.3 on the real stack (the API under uvicorn, a Celery worker with its sandbox, Redis,
PostgreSQL) and an LMS simulated in the suite (tests/api/lti_platform.py): a launch from the
LMS logs the student in (a browser session) and lands on the assignment's page, the student submits, the worker
grades, and the worker's passback task delivers the score to the platform's line item."""

from __future__ import annotations

import os

import httpx
import pytest

from api.services import lti
from core.db import session_factory
from tests.api.lti_platform import CLAIM, Platform, login_params
from tests.api.test_lti import csrf_of
from tests.workers.stack import GOOD, seed_course, service_stack, wait_for

SLOT = int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + 600
SCORE_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def stack(tmp_path_factory, references, catalog):
    with service_stack(tmp_path_factory.mktemp("lti-e2e"), references, SLOT) as (settings, url, worker):
        yield settings, url, seed_course(settings, catalog)


def test_launch_submit_grade_and_the_score_reaches_the_lms(stack):
    settings, url, people = stack
    student = people["students"][0]
    with Platform() as platform, httpx.Client(base_url=url, timeout=30) as browser:
        with session_factory(settings.database_url)() as session:
            lti.register(session, **platform.registration(people["course"]))
            session.commit()
        platform.tool_jwks = browser.get("/lti/jwks").json()
        login = browser.post("/lti/login", data={"iss": platform.issuer, "login_hint": "hint",
                                                 "target_link_uri": f"{url}/lti/launch",
                                                 "client_id": platform.client_id})
        assert login.status_code == 302, login.text
        params = login_params(login.headers["location"])
        claims = platform.claims(params["nonce"], student, assignment="w1-normal-modes",
                                 **{CLAIM + "target_link_uri": f"{url}/lti/launch"})
        launched = browser.post("/lti/launch", data={"id_token": platform.id_token(claims), "state": params["state"]})
        assert launched.status_code == 303, launched.text
        assert launched.headers["location"] == f"/assignments/w1-normal-modes?course={people['course']}"
        assert browser.get(launched.headers["location"]).status_code == 200

        assert browser.get("/api/v1/me").json()["name"] == student       # the browser session, no token
        accepted = browser.post("/api/v1/assignments/w1-normal-modes/submissions", files={"file": ("hw1.py", GOOD)},
                                headers={"X-CSRF-Token": csrf_of(browser.cookies)})
        assert accepted.status_code == 202, accepted.text
        [score] = wait_for(lambda: platform.scores, SCORE_TIMEOUT_S, "the score at the LMS", 0.5)
    assert platform.refused == []
    assert score["userId"] == f"lms-user-{student}" and score["lineitem"] == "1"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (32, 32)
    assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "FullyGraded"
