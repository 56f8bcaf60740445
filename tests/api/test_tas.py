"""Teaching assistants end to end, on SQLite and PostgreSQL: enrolled with `torchgrade user add
--role ta` or a roster's role column, they read the course and grade; what else they may do is
the course instructor's to grant (`torchgrade course permissions`, PUT .../permissions), and
they are told so when refused.  The full route-by-route outcome is tests/api/test_authz.py's."""

from __future__ import annotations

import subprocess
import sys
import uuid

from api.services import accounts
from tests.api.conftest import bearer, record_result, submit
from tests.workers.stack import REPOSITORY, environment


def torchgrade(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchgrade.cli", "--lang", "en", *args], env=environment(settings),
                          cwd=REPOSITORY, capture_output=True, text=True, timeout=300)


def token_of(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_cli_enrols_a_ta_and_sets_what_tas_may_do(client, api_settings):
    slug = f"ta-{uuid.uuid4().hex[:8]}"
    assert torchgrade(api_settings, "course", "create", slug).returncode == 0
    people = {"course": slug, "tokens": {
        "ta": token_of(torchgrade(api_settings, "user", "add", f"{slug}-ta", "--role", "ta", "--course", slug)),
        "student": token_of(torchgrade(api_settings, "user", "add", f"{slug}-s", "--role", "student", "--course",
                                       slug))}}
    me = client.get("/api/v1/courses", headers=bearer(people, "ta")).json()
    assert me == [{"course": slug, "role": "ta"}]
    extension = f"/api/v1/courses/{slug}/assignments/w0-service/extensions/{slug}-s"
    refused = client.put(extension, headers=bearer(people, "ta"), json={"due_at": "2031-01-01 12:00"})
    assert refused.status_code == 403 and "ask them to allow TAs to" in refused.json()["error"]["message"]

    granted = torchgrade(api_settings, "course", "permissions", slug, "--ta-may", "extensions")
    assert granted.returncode == 0 and "TAs may also grant extensions (extensions)" in granted.stdout
    assert client.put(extension, headers=bearer(people, "ta"), json={"due_at": "2031-01-01 12:00"}).status_code == 200
    policy = client.patch(f"/api/v1/courses/{slug}/assignments/w0-service/policy", headers=bearer(people, "ta"),
                          json={"late_days": 2})
    assert policy.status_code == 403 and policy.json()["error"]["code"] == "ta_not_allowed"

    revoked = torchgrade(api_settings, "course", "permissions", slug, "--ta-may", "")
    assert revoked.returncode == 0 and "nothing more" in revoked.stdout
    assert client.put(extension, headers=bearer(people, "ta"), json={"due_at": "2031-01-01 12:00"}).status_code == 403
    wrong = torchgrade(api_settings, "course", "permissions", slug, "--ta-may", "administer")
    assert wrong.returncode == 2 and "grantable: extensions, policy, release" in wrong.stderr
    zone = client.get(f"/api/v1/courses/{slug}/assignments/w0-service/policy", headers=bearer(people, "ta")).json()
    assert zone["time_zone"] == api_settings.default_time_zone       # recorded with the course at its creation


def test_a_roster_enrols_tas_who_are_staff_not_students(client, api_settings, course, sessions, tmp_path):
    roster = tmp_path / "roster.csv"
    name = f"{course['course']}-ta"
    roster.write_text(f"学号,姓名,角色\n{name},王助教,助教\n", encoding="utf-8")
    imported = torchgrade(api_settings, "roster", "import", str(roster), "--course", course["course"])
    assert imported.returncode == 0, imported.stderr
    assert name in imported.stdout  # the new user's invitation
    with sessions() as session:
        token = accounts.reissue_token(session, api_settings.secret_key, name)
        session.commit()
    people = {**course, "tokens": {**course["tokens"], "ta": token}}

    accepted = submit(client, course, course["students"][0])
    record_result(sessions, accepted.json()["id"])
    seen = client.get(accepted.json()["url"], headers=bearer(people, "ta")).json()
    assert "instructor-only traceback" in str(seen)                  # a TA sees what the staff see
    book = client.get(f"/api/v1/courses/{course['course']}/gradebook", headers=bearer(people, "ta")).json()
    assert name not in {row["student"] for row in book["students"]}     # and has no grade of their own
    scored = client.put(f"/api/v1/submissions/{accepted.json()['id']}/written/Q1", headers=bearer(people, "ta"),
                        json={"score": 4, "comment": "good"})
    assert scored.status_code == 200 and scored.json()["scored_by"] == name
    assert submit(client, people, "ta").status_code == 202            # staff may try the assignment
    assert client.post(f"/api/v1/courses/{course['course']}/assignments/w0-service/release",
                       headers=bearer(people, "ta")).status_code == 403
