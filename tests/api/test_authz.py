"""The authorisation matrix: every route of the app × every kind of caller × (for a submission's
routes) whose submission it is.  Each cell runs in a course of its own, seeded with two graded
submissions full of markers, and checks the status and that no marker reaches a caller who may
not see it: student A never reads B's code, results or hidden feedback, nor the hidden parts of
A's own result; a student never reaches an instructor's route; an instructor of another course
reaches nothing of this one.  A TA (``ta``) reads everything of their course and grades, but
changes no policy, extension or release, nor what TAs may do; a TA whom the course's instructor
granted the instructor's policy, extensions and release (``ta_granted``) does those too.

The routes come from the app itself: a new route without an entry in MATRIX fails here.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import accounts, courses
from core import lifecycle, rules, workers
from core.db import session_factory
from core.settings import Settings
from grader.results import GradeResult, Output
from grader.results import TestResult as CheckResult
from grader.status import CheckStatus, SubmissionStatus, Visibility
from tests.api.conftest import RecordingQueue
from tests.workers.stack import seed_course

ROLES = ("anonymous", "bad_token", "student", "other_student", "other_instructor", "ta", "ta_granted", "instructor",
         "admin")
OWNERS = ("student", "other_student")  # whose submission a submission route is called on
INSTRUCTORS = {"instructor", "admin"}
GRANTED = INSTRUCTORS | {"ta_granted"}       # hold the rights the instructor grants TAs (core/rules.py GRANTABLE)
STAFF = GRANTED | {"ta"}                     # read all of the course, grade
TAS = {"ta", "ta_granted"}


# ---------------------------------------------------------------------- who may call what
@dataclasses.dataclass(frozen=True)
class Rule:
    """``who``: anyone (every caller, credentials or not, gets ``outcome``), public (anyone), user
    (any valid token), member (of the course, named with
    ``?course=``), owner_or_staff (the submission's student, or its course's staff), staff (an
    instructor or TA of the course, or an admin), granted (an instructor, an admin, or a TA the
    instructor granted that right), instructor (of the course, or an admin).  The rest is a
    request the allowed callers succeed with."""

    who: str
    json: dict | None = None
    upload: bool = False
    roster: bool = False   # upload a class list instead of a submission
    outcome: tuple[int, ...] | None = None  # the statuses the allowed callers get (None: any 2xx)
    form: dict | None = None                # a page's form fields ("{student}": the cell's student)
    prepare: str | None = None   # a method of Authz that readies the cell for the call (e.g. adds what it deletes)


MATRIX = {
    ("GET", "/healthz"): Rule("public"),
    ("GET", "/readyz"): Rule("public"),
    ("GET", "/metrics"): Rule("public"),
    ("POST", "/api/v1/session"): Rule("anyone", json={"name": "nobody", "password": "not the password"},
                                      outcome=(401, 429)),
    ("DELETE", "/api/v1/session"): Rule("anyone", outcome=(204,)),
    ("GET", "/api/v1/invitations/{code}"): Rule("anyone", outcome=(404,)),
    ("POST", "/api/v1/invitations/{code}"): Rule("anyone", json={"password": "a long enough password"},
                                                 outcome=(404,)),
    ("GET", "/api/v1/me/tokens"): Rule("user"),
    ("POST", "/api/v1/me/tokens"): Rule("user", json={"name": "laptop"}),
    ("DELETE", "/api/v1/me/tokens/{token_id}"): Rule("user", outcome=(404,)),  # not a token of theirs
    ("POST", "/api/v1/courses/{course}/members/{member}/password-reset"): Rule("instructor"),
    ("GET", "/api/v1/me"): Rule("user"),
    ("PATCH", "/api/v1/me"): Rule("user", json={"language": None}),
    ("GET", "/api/v1/courses"): Rule("user"),
    ("GET", "/api/v1/grades"): Rule("user"),
    ("GET", "/api/v1/assignments"): Rule("user"),
    ("GET", "/api/v1/assignments/{assignment_id}"): Rule("member"),
    ("GET", "/api/v1/assignments/{assignment_id}/statement"): Rule("member"),
    ("GET", "/api/v1/assignments/{assignment_id}/starter"): Rule("member"),
    ("GET", "/api/v1/assignments/{assignment_id}/submissions"): Rule("member"),
    ("POST", "/api/v1/assignments/{assignment_id}/submissions"): Rule("member", upload=True),
    ("GET", "/api/v1/submissions/{submission_id}"): Rule("owner_or_staff"),
    ("GET", "/api/v1/submissions/{submission_id}/events"): Rule("owner_or_staff"),
    ("GET", "/api/v1/submissions/{submission_id}/code"): Rule("owner_or_staff"),
    ("POST", "/api/v1/submissions/{submission_id}/regrade"): Rule("staff"),
    ("PUT", "/api/v1/submissions/{submission_id}/written/{name}"): Rule("staff", json={"score": 4, "comment": "ok"}),
    ("GET", "/api/v1/courses/{course}/gradebook"): Rule("staff"),
    ("GET", "/api/v1/courses/{course}/gradebook.csv"): Rule("staff"),
    ("GET", "/api/v1/courses/{course}/submissions"): Rule("staff"),
    ("POST", "/api/v1/courses/{course}/regrade"): Rule("staff", json={"assignment": "w0-service"}),
    ("GET", "/api/v1/courses/{course}/assignments/{assignment_id}/stats"): Rule("staff"),
    ("GET", "/api/v1/courses/{course}/assignments/{assignment_id}/timeline"): Rule("staff"),
    ("GET", "/api/v1/courses/{course}/overview"): Rule("staff"),
    ("GET", "/api/v1/courses/{course}/written"): Rule("staff"),
    ("GET", "/api/v1/courses/{course}/assignments/{assignment_id}/policy"): Rule("staff"),
    ("PATCH", "/api/v1/courses/{course}/assignments/{assignment_id}/policy"): Rule("granted", json={"late_days": 1}),
    ("POST", "/api/v1/courses/{course}/assignments/{assignment_id}/release"): Rule("granted"),
    ("PUT", "/api/v1/courses/{course}/assignments/{assignment_id}/extensions/{student}"):
        Rule("granted", json={"due_at": "2031-01-01T00:00:00Z"}),
    ("DELETE", "/api/v1/courses/{course}/assignments/{assignment_id}/extensions/{student}"): Rule("granted"),
    ("GET", "/api/v1/courses/{course}/permissions"): Rule("staff"),
    ("PUT", "/api/v1/courses/{course}/permissions"): Rule("instructor", json={"ta_may": ["extensions"]}),
    ("GET", "/api/v1/courses/{course}/offerings"): Rule("instructor"),
    ("POST", "/api/v1/courses/{course}/assignments/{assignment_id}/offer"): Rule("instructor"),
    ("POST", "/api/v1/courses/{course}/assignments/{assignment_id}/withdraw"): Rule("instructor"),
    ("GET", "/api/v1/courses/{course}/members"): Rule("instructor"),
    ("POST", "/api/v1/courses/{course}/members/{student}/drop"): Rule("instructor"),
    ("POST", "/api/v1/courses/{course}/members/{student}/enrol"): Rule("instructor"),
    ("POST", "/api/v1/courses/{course}/roster"): Rule("instructor", roster=True),
    ("POST", "/api/v1/courses/{course}/invitations"): Rule("instructor"),
    ("GET", "/api/v1/courses/{course}/audit"): Rule("instructor"),
    ("GET", "/api/v1/courses/{course}/assignments/{assignment_id}/similarity"): Rule("staff"),
    ("GET", "/api/v1/courses/{course}/assignments/{assignment_id}/similarity/bases"): Rule("staff"),
    ("POST", "/api/v1/courses/{course}/assignments/{assignment_id}/similarity/bases"): Rule("instructor", upload=True),
    ("DELETE", "/api/v1/courses/{course}/assignments/{assignment_id}/similarity/bases/{name}"):
        Rule("instructor", prepare="add_base"),
    # LTI 1.3 (tests/api/test_lti.py): authenticated by the platform's signed JWT, never by a token.
    ("GET", "/lti/login"): Rule("anyone", outcome=(400,)),   # the refusal page: no registered platform
    ("POST", "/lti/login"): Rule("anyone", outcome=(400,)),
    ("POST", "/lti/launch"): Rule("anyone", outcome=(400,)),  # no id_token from a platform
    ("GET", "/lti/jwks"): Rule("public"),
    ("GET", "/lti/config"): Rule("public"),
}
ROSTER = "学号,姓名,班级\n{student},李雷,计科2301\n"

# The web pages (web/routers): a page without a login redirects to /login; a refusal is an error
# page (403 or 404) in HTML; the markers must not leak into a page either.
PAGES = {
    ("GET", "/"): Rule("user"),
    ("GET", "/docs"): Rule("public"),
    ("GET", "/login"): Rule("anyone", outcome=(200, 303)),  # logged in: on to next=
    ("POST", "/login"): Rule("anyone", outcome=(403,)),  # without its form's CSRF token
    ("POST", "/logout"): Rule("anyone", outcome=(403,)),
    ("GET", "/invite/{code}"): Rule("anyone", outcome=(404,)),
    ("POST", "/invite/{code}"): Rule("anyone", outcome=(403,)),
    ("GET", "/assignments/{assignment_id}"): Rule("member"),
    ("POST", "/assignments/{assignment_id}/submissions"): Rule("member", upload=True, outcome=(303,)),
    ("GET", "/assignments/{assignment_id}/diff"): Rule("user", outcome=(422,)),  # without ?a=&b=
    ("GET", "/submissions/{submission_id}"): Rule("owner_or_staff"),
    ("GET", "/submissions/{submission_id}/result"): Rule("owner_or_staff"),
    # the staff's pages (web/routers/staff.py): each asks core/rules.py for the API's right
    ("GET", "/staff/{course}"): Rule("staff"),
    ("GET", "/staff/{course}/gradebook"): Rule("staff"),
    ("GET", "/staff/{course}/assignments/{assignment_id}"): Rule("staff"),
    ("GET", "/staff/{course}/assignments/{assignment_id}/progress"): Rule("staff"),
    ("POST", "/staff/{course}/assignments/{assignment_id}/policy"): Rule("granted", form={"late_days": "1"},
                                                                        outcome=(303,)),
    ("POST", "/staff/{course}/assignments/{assignment_id}/release"): Rule("granted", outcome=(303,)),
    ("POST", "/staff/{course}/assignments/{assignment_id}/extensions"):
        Rule("granted", form={"student": "{student}", "due_at": "2031-01-01T00:00"}, outcome=(303,)),
    ("POST", "/staff/{course}/assignments/{assignment_id}/extensions/{student}/revoke"): Rule("granted",
                                                                                           outcome=(303,)),
    ("POST", "/staff/{course}/assignments/{assignment_id}/regrade"): Rule("staff", outcome=(303,)),
    ("GET", "/staff/{course}/students/{student}"): Rule("staff"),
    ("GET", "/staff/{course}/written"): Rule("staff"),
    ("POST", "/staff/{course}/written/{submission_id}/{name}"): Rule("staff", form={"score": "4"}, outcome=(303,)),
    ("GET", "/staff/{course}/roster"): Rule("instructor"),
    ("POST", "/staff/{course}/roster"): Rule("instructor", outcome=(400,)),  # no file: refused on the page
    ("POST", "/staff/{course}/invitations"): Rule("instructor", form={"student": "{student}"}),
    ("POST", "/staff/{course}/members/{student}/{action}"): Rule("instructor", outcome=(303,)),
    ("GET", "/staff/{course}/audit"): Rule("instructor"),
    ("GET", "/courses/{course}/similarity"): Rule("staff"),
    ("GET", "/courses/{course}/assignments/{assignment_id}/similarity"): Rule("staff"),
    ("GET", "/courses/{course}/assignments/{assignment_id}/similarity/pair"): Rule("user", outcome=(422,)),  # no a, b
    ("POST", "/courses/{course}/assignments/{assignment_id}/similarity/bases"):
        Rule("instructor", upload=True, outcome=(303,)),
    ("POST", "/courses/{course}/assignments/{assignment_id}/similarity/bases/{name}/remove"):
        Rule("instructor", prepare="add_base", outcome=(303,)),
}
MATRIX.update(PAGES)


def app_routes() -> list[tuple[str, str]]:
    """Every (method, path) the app serves, but its own documentation pages."""
    app = create_app(Settings(environment="test", database_url="sqlite://"), enqueuer=RecordingQueue())
    return sorted((method, route.path) for route in iter_route_contexts(app.routes)
                  if isinstance(route.original_route, APIRoute) for method in route.methods - {"HEAD", "OPTIONS"})


ROUTES = app_routes()


def allowed(rule: Rule, role: str, owner: str | None) -> bool:
    return {"public": True,
            "user": role not in ("anonymous", "bad_token"),
            "member": role in ("student", "other_student", "instructor") or role in TAS,
            "owner_or_staff": role in STAFF or role == owner,
            "staff": role in STAFF,
            "granted": role in GRANTED,
            "instructor": role in INSTRUCTORS}[rule.who]


# ---------------------------------------------------------------------- a course full of markers
@dataclasses.dataclass
class Cell:
    """One course: the two students' graded submissions and everyone's tokens."""

    course: str
    students: dict[str, str]         # role -> user name
    submissions: dict[str, int]      # owner role -> submission id
    tokens: dict[str, str]           # role -> token


def markers(owner: str) -> dict[str, str]:
    """The strings planted in ``owner``'s submission (its code, its name, its result), by kind."""
    tag = owner.upper()
    return {"code": f"CODE_OF_{tag}", "file": f"FILE_OF_{tag}", "feedback": f"FEEDBACK_OF_{tag}",
            "hidden": f"HIDDEN_FEEDBACK_OF_{tag}", "after_due": f"AFTER_DUE_FEEDBACK_OF_{tag}",
            "detail": f"TRACEBACK_OF_{tag}", "hidden_output": f"HIDDEN_OUTPUT_OF_{tag}", "answer": f"ANSWER_OF_{tag}"}


OWNER_MAY_READ = ("code", "file", "feedback", "answer")  # the answer is in the code the student wrote


def forbidden_markers(role: str) -> list[str]:
    """Staff read everything; a student reads the visible part of their own submission; others nothing."""
    if role in STAFF:
        return []
    found = []
    for owner in OWNERS:
        kinds = [k for k in markers(owner) if not (role == owner and k in OWNER_MAY_READ)]
        found += [markers(owner)[k] for k in kinds]
    return found


@dataclasses.dataclass
class Authz:
    """The app, and the callers that belong to no cell's course: an admin and another course's instructor."""

    client: TestClient
    settings: Settings
    catalog: object
    tokens: dict[str, str]

    def new_cell(self, granted: bool = False) -> Cell:
        """A course of its own; ``granted``: its TAs hold every grantable right."""
        people = seed_course(self.settings, self.catalog, students=2)
        students = dict(zip(OWNERS, people["students"]))
        tokens = {**self.tokens, "instructor": people["tokens"]["instructor"],
                  **{role: people["tokens"][name] for role, name in students.items()},
                  **self.tas(people["course"], granted)}
        cell = Cell(people["course"], students, {}, tokens)
        cell.submissions = {owner: self.graded_submission(cell, owner) for owner in OWNERS}
        extension = self.client.put(f"/api/v1/courses/{cell.course}/assignments/w0-service/extensions/"
                                    f"{students['student']}", headers=auth(cell, "instructor"),
                                    json={"due_at": "2030-01-01T00:00:00Z"})
        assert extension.status_code == 200, extension.text
        return cell

    def add_base(self, cell: Cell) -> None:
        """A base file named as the matrix names things (``Q1``), for the route that removes it."""
        response = self.client.post(f"/api/v1/courses/{cell.course}/assignments/w0-service/similarity/bases",
                                    headers=auth(cell, "instructor"), files={"file": ("Q1.py", b"GIVEN = 1\n")})
        assert response.status_code == 201, response.text

    def tas(self, course: str, granted: bool) -> dict[str, str]:
        """The course's TA, who is ``ta``, or ``ta_granted`` once the course's instructor granted
        TAs everything grantable (the grants are the course's: a cell has one or the other)."""
        with session_factory(self.settings.database_url)() as session:
            ta = accounts.add_user(session, self.settings.secret_key, f"{course}-ta", "ta", course).token
            if granted:
                courses.set_ta_grants(session, None, accounts.course_by_slug(session, course), sorted(rules.GRANTABLE))
            session.commit()
        return {"ta_granted" if granted else "ta": ta}

    def graded_submission(self, cell: Cell, owner: str) -> int:
        mark = markers(owner)
        content = f'# {mark["code"]}\ndef answer():\n    return 41\n\n\nQ1 = """{mark["answer"]}"""\n'.encode()
        response = self.client.post("/api/v1/assignments/w0-service/submissions", headers=auth(cell, owner),
                                    files={"file": (f"{mark['file']}.py", content)})
        assert response.status_code == 202, response.text
        record(session_factory(self.settings.database_url), response.json()["id"], mark)
        return response.json()["id"]


def auth(cell: Cell, role: str) -> dict[str, str]:
    return {} if role == "anonymous" else {"Authorization": f"Bearer {cell.tokens[role]}"}


def record(sessions, submission_id: int, mark: dict[str, str]) -> None:
    """Grade it the way a worker does: claim, one progress event per check, record."""
    claimed = lifecycle.claim(sessions, submission_id, lambda assignment: 60.0, "authz-host:1")
    tests = [CheckResult(name="answer_visible", score=0, max_score=2, status=CheckStatus.failed,
                        feedback=mark["feedback"], detail=mark["detail"]),
             CheckResult(name="answer_hidden", score=0, max_score=3, status=CheckStatus.failed,
                        visibility=Visibility.hidden, feedback=mark["hidden"], detail=mark["detail"]),
             CheckResult(name="grader_health", score=0, max_score=1, status=CheckStatus.failed,
                        visibility=Visibility.after_due_date, feedback=mark["after_due"]),
             CheckResult(name="Q1", score=0, max_score=5, status=CheckStatus.pending, feedback="awaiting a score")]
    progress = lifecycle.ProgressWriter(sessions, submission_id, total=len(tests))
    for test in tests:
        progress(test)
    result = GradeResult(assignment="w0-service", submission=f"{mark['file']}.py", status=SubmissionStatus.graded,
                         score=0, max_score=6, pending_max_score=5, tests=tests, answers={"Q1": mark["answer"]},
                         hidden_output=Output(stdout=mark["hidden_output"]))
    assert lifecycle.record(sessions, claimed, result, 0.1, 0.0)


@pytest.fixture(scope="module")
def authz(api_settings, catalog):
    other = seed_course(api_settings, catalog, students=0)
    with session_factory(api_settings.database_url)() as session:
        admin = accounts.add_user(session, api_settings.secret_key, f"admin-{uuid.uuid4().hex[:8]}", "admin").token
        session.commit()
    tokens = {"admin": admin, "other_instructor": other["tokens"]["instructor"], "bad_token": "tg_" + "x" * 43}
    # /readyz is 2xx for its callers only with a live worker for the offered queues: one that
    # stays live for the module (tests/api/test_operations.py tests readiness itself)
    settings = api_settings.model_copy(update={"worker_stale_s": 24 * 3600.0})
    with session_factory(api_settings.database_url)() as session:
        workers.beat(session, "authz-worker:1", ["cpu"])
    with TestClient(create_app(settings, enqueuer=RecordingQueue())) as client:
        yield Authz(client, settings, catalog, tokens)
    with session_factory(api_settings.database_url)() as session:
        workers.forget(session, "authz-worker:1")


# ---------------------------------------------------------------------- the matrix
def call(authz: Authz, cell: Cell, method: str, path: str, rule: Rule, role: str, owner: str | None):
    if rule.prepare:
        getattr(authz, rule.prepare)(cell)
    name = "Q1.py" if "/bases/{name}" in path else "Q1"
    url = path.format(assignment_id="w0-service", course=cell.course, student=cell.students["student"], name=name,
                      action="drop",
                      member=cell.students["student"], code="no-such-code", token_id=0,
                      submission_id=cell.submissions.get(owner))
    files = {"file": ("hw.py", b"def answer():\n    return 42\n")} if rule.upload else None
    if rule.roster:
        files = {"file": ("roster.csv", ROSTER.format(student=cell.students["student"]).encode("gbk"))}
    params = {"course": cell.course} if path.startswith(("/api/v1/assignments", "/assignments")) else None
    data = {key: value.format(student=cell.students["student"]) for key, value in (rule.form or {}).items()} or None
    return authz.client.request(method, url, headers=auth(cell, role), json=rule.json, files=files, params=params,
                                data=data, follow_redirects=False)


def verdict(response, path: str, rule: Rule, role: str, owner: str | None) -> list[str]:
    """What is wrong with the answer this caller got; empty when nothing is."""
    who = f"{role}" + (f" on the {owner}'s submission" if owner else "")
    problems = [f"{who}: {marker} leaked" for marker in forbidden_markers(role) if marker in response.text]
    status = response.status_code
    if rule.who == "anyone":
        expected, ok = f"one of {rule.outcome}", status in rule.outcome
    elif role in ("anonymous", "bad_token") and not path.startswith("/api/") and rule.who != "public":
        expected = "a redirect to the login page"
        ok = status == 303 and response.headers["location"].startswith("/login?next=")
    elif role in ("anonymous", "bad_token") and path.startswith("/api/"):
        expected = "401 unauthorized"
        ok = status == 401 and error_code(response) == "unauthorized"
    elif allowed(rule, role, owner):
        expected, ok = (f"one of {rule.outcome}", status in rule.outcome) if rule.outcome else \
            ("2xx", response.is_success)
    elif role == "ta" and rule.who == "granted":
        expected = "403 ta_not_allowed (ask the instructor to allow TAs to)"
        ok = status == 403 and "allow TAs" in response.text and \
            (error_code(response) == "ta_not_allowed" or not path.startswith("/api/"))  # a page's refusal is a page
    else:
        structured = error_code(response) is not None if path.startswith("/api/") else \
            "text/html" in response.headers.get("content-type", "")  # a page's refusal is a page
        expected, ok = "a structured 403 or 404", status in (403, 404) and structured
    if not ok:
        problems.append(f"{who}: expected {expected}, got {status} {response.text[:200]}")
    return problems


def error_code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@pytest.mark.parametrize("method, path", ROUTES, ids=[f"{method} {path}" for method, path in ROUTES])
def test_every_caller_gets_what_the_matrix_allows(authz, method, path):
    rule = MATRIX.get((method, path))
    assert rule is not None, f"{method} {path} has no entry in MATRIX: say who may call it"
    owners = OWNERS if "{submission_id}" in path else (None,)
    problems = []
    for role, owner in itertools.product(ROLES, owners):
        response = call(authz, authz.new_cell(granted=role == "ta_granted"), method, path, rule, role, owner)
        problems += verdict(response, path, rule, role, owner)
    assert not problems, f"{method} {path}:\n" + "\n".join(problems)


def test_the_matrix_names_only_routes_that_exist():
    assert set(MATRIX) <= set(ROUTES), f"entries for routes that are gone: {sorted(set(MATRIX) - set(ROUTES))}"


def test_a_students_own_result_hides_what_is_not_released(authz):
    """The owner's view is checked by the matrix for leaks; here, that it shows what it should."""
    cell = authz.new_cell()
    shown = authz.client.get(f"/api/v1/submissions/{cell.submissions['student']}", headers=auth(cell, "student"))
    assert markers("student")["feedback"] in shown.text and [t["name"] for t in shown.json()["tests"]] == \
        ["answer_visible", "Q1", "hidden checks"]


def test_a_ta_refused_is_told_in_their_language_to_ask_the_instructor(authz):
    cell = authz.new_cell()
    url = f"/api/v1/courses/{cell.course}/assignments/w0-service/policy"
    refused = authz.client.patch(url, headers={**auth(cell, "ta"), "Accept-Language": "zh"}, json={"late_days": 3})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ta_not_allowed"
    assert "截止时间" in refused.json()["error"]["message"] and "授权助教" in refused.json()["error"]["message"]
    only_release = {"results_released": True}
    grant = authz.client.put(f"/api/v1/courses/{cell.course}/permissions", headers=auth(cell, "instructor"),
                             json={"ta_may": ["release"]})
    assert grant.status_code == 200 and grant.json()["ta_may"] == ["release"]
    assert authz.client.patch(url, headers=auth(cell, "ta"), json=only_release).status_code == 200
    refused = authz.client.patch(url, headers=auth(cell, "ta"), json={**only_release, "late_days": 3})
    assert refused.status_code == 403 and "deadlines" in refused.json()["error"]["message"]


def test_an_unknown_grant_is_refused_with_the_grantable_ones(authz):
    cell = authz.new_cell()
    refused = authz.client.put(f"/api/v1/courses/{cell.course}/permissions", headers=auth(cell, "instructor"),
                               json={"ta_may": ["administer"]})
    assert refused.status_code == 400 and "extensions, policy, release" in refused.json()["error"]["message"]
    shown = authz.client.get(f"/api/v1/courses/{cell.course}/permissions", headers=auth(cell, "ta")).json()
    assert shown["ta_may"] == [] and "policy" not in shown["roles"]["ta"] and "policy" in shown["roles"]["instructor"]
