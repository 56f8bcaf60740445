"""The API fuzzed from its own OpenAPI document with schemathesis: valid and invalid requests to
every operation, as every kind of caller, against PostgreSQL (the production database, the
stricter one: no NUL in text, typed columns).  No answer may be a 5xx, and every error must be
the API's structured ``{"error": {"code", "message", "details"}}`` in JSON.

Half of the path parameters are real names (the course, an assignment, a submission, a
student), so that the fuzzing gets past the 404s into the routes' own validation.
"""

from __future__ import annotations

import collections
import dataclasses

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, \
    status_code_conformance

from api.app import create_app
from api.services import accounts
from core import workers
from core.catalog import ManifestCatalog
from core.db import session_factory
from core.settings import Settings
from tests.api.conftest import record_result
from tests.workers.stack import migrated, postgres_schema, reference_dir, seed_course, service_settings

SLOT = 45
EXAMPLES_PER_OPERATION = 150   # 26 operations, valid and invalid: about 3,600 requests
# The answer is the one the document promises (status, content type, body).  Left out: the checks
# that send more requests; positive_data_acceptance, since rules beyond the schema (a file's type,
# a score above the question's points) rightly refuse some schema-valid requests; and
# negative_data_rejection, which counts a repeated query parameter (FastAPI takes the last) and
# the Authorization header this test replaces as invalid input accepted.
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = ("instructor", "student", "admin", "other_instructor", "anonymous", "bad_token")


class GradedAtOnce:
    """A queue whose worker grades at once (the worker's own claim and record), so that every
    submission is final and its event stream ends."""

    def __init__(self, sessions):
        self.sessions = sessions

    def send(self, submission_id: int, queue: str) -> None:
        record_result(self.sessions, submission_id)

    def reachable(self) -> bool:
        return True


@dataclasses.dataclass
class World:
    app: object
    tokens: dict[str, str]
    known: dict[str, list]         # path parameter -> real values
    answers: collections.Counter   # status code -> requests


def seed(settings) -> tuple[dict[str, str], dict[str, list]]:
    catalog = ManifestCatalog(settings.reference_dir)
    course = seed_course(settings, catalog, students=2)
    other = seed_course(settings, catalog, students=1)
    with session_factory(settings.database_url)() as session:
        admin = accounts.add_user(session, settings.secret_key, f"{course['course']}-admin", "admin").token
        session.commit()
    tokens = {"instructor": course["tokens"]["instructor"], "student": course["tokens"][course["students"][0]],
              "admin": admin, "other_instructor": other["tokens"]["instructor"]}
    known = {"course": [course["course"]], "assignment_id": ["w0-service", "w1-normal-modes"],
             "student": course["students"], "name": ["Q1"]}
    return tokens, known


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("fuzz")
    with postgres_schema() as url:
        settings = migrated(service_settings(data_dir, reference_dir(data_dir / "references"), SLOT,
                                             database_url=url, worker_stale_s=24 * 3600.0))
        with session_factory(url)() as session:
            workers.beat(session, "fuzz-worker:1", ["cpu"])  # GradedAtOnce's worker, seen live by /readyz
        tokens, known = seed(settings)
        world = World(create_app(settings, enqueuer=GradedAtOnce(session_factory(url))), tokens, known,
                      collections.Counter())
        known["submission_id"] = [submit_one(world, "student"), submit_one(world, "instructor")]
        yield world
    print(f"\nfuzzing: {sum(world.answers.values())} requests, by status: {dict(sorted(world.answers.items()))}")


def submit_one(world: World, role: str) -> int:
    with TestClient(world.app) as client:
        response = client.post("/api/v1/assignments/w0-service/submissions", files={"file": ("hw.py", b"x = 1\n")},
                               headers={"Authorization": f"Bearer {world.tokens[role]}"})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def openapi_schema():
    """The document the app serves at /openapi.json (building it needs no database)."""
    document = create_app(Settings(environment="test", database_url="sqlite://"), enqueuer=GradedAtOnce(None)).openapi()
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=EXAMPLES_PER_OPERATION)
    loaded.config.phases.update(phases=["coverage", "fuzzing"])
    return loaded


# Revoking a token by id would, sooner or later, revoke the tokens the fuzzing itself uses: that
# route is tested in tests/api/test_accounts.py and the authorisation matrix instead.
schema = openapi_schema().exclude(method="DELETE", path="/api/v1/me/tokens/{token_id}")


def authorise(case, role: str, tokens: dict[str, str]) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if role == "bad_token":
        headers["Authorization"] = "Bearer tg_not-a-real-token"
    elif role != "anonymous":
        headers["Authorization"] = f"Bearer {tokens[role]}"
    case.headers = headers


def use_known_names(case, known: dict[str, list], data) -> None:
    for name in list(case.path_parameters or {}):
        if name in known and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(known[name]), label=name)


def structured(response) -> bool:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    content_type = response.headers.get("content-type", [""])[0]  # schemathesis: each header a list
    return (content_type.startswith("application/json")
            and isinstance(error.get("code"), str) and isinstance(error.get("message"), str) and error["message"] != "")


@schema.parametrize()
@schema.given(role=st.sampled_from(ROLES), data=st.data())
@hypothesis.settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_error_structured(case, role, data, world):
    authorise(case, role, world.tokens)
    use_known_names(case, world.known, data)
    response = case.call(app=world.app)
    world.answers[response.status_code] += 1
    assert response.status_code < 500, f"{case.method} {case.formatted_path} as {role}: {response.text[:500]}"
    if response.status_code >= 400:
        assert structured(response), f"{case.method} {case.formatted_path} as {role}: unstructured " \
                                     f"{response.status_code} {response.text[:500]!r}"
    case.validate_response(response, checks=CONFORMANCE)


# ---------------------------------------------------------------------- what the fuzzing found, pinned
@pytest.fixture(scope="module")
def client(world):
    with TestClient(world.app) as client:
        yield client


@pytest.mark.parametrize("role, path", [
    ("student", "/api/v1/assignments/w0-service?course=a%00b"),
    ("instructor", "/api/v1/submissions/2147483648"),
    ("instructor", "/api/v1/courses/{course}/submissions?student=%00"),
])
def test_values_the_database_refuses_are_a_structured_422(client, world, role, path):
    response = client.get(path.format(course=world.known["course"][0]),
                          headers={"Authorization": f"Bearer {world.tokens[role]}"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_value", response.text


def test_an_event_id_beyond_the_column_is_refused_before_the_stream_starts(client, world):
    submission_id = world.known["submission_id"][0]
    response = client.get(f"/api/v1/submissions/{submission_id}/events",
                          headers={"Authorization": f"Bearer {world.tokens['student']}", "Last-Event-ID": str(2**31)})
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("method, path, payload", [
    ("patch", "/assignments/w0-service/policy", {"json": {"due_at": "9999-12-31T00:00:00Z", "late_days": 2}}),
    ("put", "/assignments/w0-service/extensions/{student}", {"json": {"due_at": "9999-12-31T23:59:59Z"}}),
    ("get", "/submissions", {"params": {"since": "9999-12-31T23:59:59-12:00"}}),
    ("get", "/submissions", {"params": {"until": "0001-01-01T00:00:00+14:00"}}),
])
def test_dates_at_the_calendars_edge_are_refused(client, world, method, path, payload):
    """Stored, 9999-12-31 plus the late days overflowed on every student page; in a query, the
    time zone's shift overflowed."""
    url = f"/api/v1/courses/{world.known['course'][0]}" + path.format(student=world.known["student"][0])
    response = client.request(method.upper(), url, headers={"Authorization": f"Bearer {world.tokens['instructor']}"},
                              **payload)
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error", response.text
    assert client.get("/api/v1/assignments", headers={"Authorization": f"Bearer {world.tokens['student']}"}).is_success
