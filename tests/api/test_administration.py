"""Running a course: offering and withdrawing assignments, dropping and re-enrolling students, and
the audit log that records each change; through the API and the CLI (the same service functions)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from api.services import accounts, administration
from core import audit
from core.catalog import ManifestCatalog
from core.db import session_factory
from core.models import AuditEntry
from tests.api.conftest import bearer, record_result, submit
from tests.workers.stack import REPOSITORY, TEST_PACKS
from torchgrade import cli

ADMIN_URL = "/api/v1/courses/{course}"


def url(course: dict, tail: str) -> str:
    return ADMIN_URL.format(course=course["course"]) + tail


def visible_assignments(client, course, who: str) -> list[str]:
    response = client.get("/api/v1/assignments", headers=bearer(course, who), params={"course": course["course"]})
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()]


def graded(client, sessions, course, who: str) -> int:
    response = submit(client, course, who)
    assert response.status_code == 202, response.text
    record_result(sessions, response.json()["id"])
    return response.json()["id"]


def gradebook(client, course, **params) -> dict:
    response = client.get(url(course, "/gradebook"), headers=bearer(course, "instructor"), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def audit_log(client, course, **params) -> list[dict]:
    response = client.get(url(course, "/audit"), headers=bearer(course, "instructor"), params=params)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------- offer and withdraw
def test_withdrawing_hides_and_closes_but_keeps_the_work(client, queue, course, sessions):
    alice = course["students"][0]
    first = graded(client, sessions, course, alice)
    withdrawn = client.post(url(course, "/assignments/w0-service/withdraw"), headers=bearer(course, "instructor"))
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn"] is True
    assert "w0-service" not in visible_assignments(client, course, alice)
    assert "w0-service" in visible_assignments(client, course, "instructor")  # the staff still see it
    hidden = client.get("/api/v1/assignments/w0-service", headers=bearer(course, alice),
                        params={"course": course["course"]})
    assert hidden.status_code == 404
    refused = submit(client, course, alice, course=course["course"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "assignment_withdrawn"
    in_chinese = client.post("/api/v1/assignments/w0-service/submissions", files={"file": ("hw.py", b"x = 1\n")},
                             headers={**bearer(course, alice), "Accept-Language": "zh-CN"})
    assert in_chinese.status_code == 403 and "撤回" in in_chinese.json()["error"]["message"]
    assert client.get(f"/api/v1/submissions/{first}", headers=bearer(course, alice)).status_code == 200
    assert "w0-service" not in gradebook(client, course)["assignments"]
    kept = gradebook(client, course, withdrawn="true")
    row = next(r for r in kept["students"] if r["student"] == alice)
    assert row["grades"]["w0-service"]["submission_id"] == first
    assert "w0-service" not in [g["assignment"] for g in client.get("/api/v1/grades", headers=bearer(course, alice))
                                .json()]

    again = client.post(url(course, "/assignments/w0-service/offer"), headers=bearer(course, "instructor"))
    assert again.status_code == 200 and again.json()["withdrawn"] is False
    assert "w0-service" in visible_assignments(client, course, alice)
    assert submit(client, course, alice).status_code == 202
    offerings = client.get(url(course, "/offerings"), headers=bearer(course, "instructor")).json()
    assert {o["assignment"]: o["withdrawn"] for o in offerings} == {"w0-service": False, "w1-normal-modes": False}
    actions = [(e["action"], e["target"], e["actor"]) for e in audit_log(client, course, target="w0-service")]
    teacher = course["instructor"]
    assert actions[:2] == [("offer", "w0-service", teacher), ("withdraw", "w0-service", teacher)]


def test_a_pack_added_later_can_be_offered(api_settings, tmp_path):
    references = tmp_path / "references"
    references.mkdir()
    (references / "w0-service").symlink_to(TEST_PACKS / "w0-service")
    catalog = ManifestCatalog(references, check_interval_s=0)
    with session_factory(api_settings.database_url)() as session:
        course = accounts.create_course(session, catalog, f"later-{tmp_path.name[-8:]}".lower().replace("_", "-"))
        assert [a.assignment_id for a in course.assignments] == ["w0-service"]
        with pytest.raises(Exception) as unknown:
            administration.offer(session, catalog, None, course, "w1-normal-modes")
        assert getattr(unknown.value, "code", None) == "assignment_not_found"
        (references / "w1-normal-modes").symlink_to(REPOSITORY / "reference/w1-normal-modes")
        offered = administration.offer(session, catalog, None, course, "w1-normal-modes")
        session.commit()
        assert offered.withdrawn_at is None
        assert [o.assignment_id for o in administration.offerings(session, course)] == ["w0-service",
                                                                                       "w1-normal-modes"]
        entry = session.scalar(select(AuditEntry).where(AuditEntry.course_id == course.id,
                                                        AuditEntry.action == "offer"))
        assert entry.target == "w1-normal-modes" and entry.actor.startswith("cli")


# ---------------------------------------------------------------------- drop and re-enrol
def test_a_dropped_student_keeps_their_work_but_loses_the_course(client, queue, course, sessions):
    alice, bob = course["students"]
    kept = graded(client, sessions, course, alice)
    dropped = client.post(url(course, f"/members/{alice}/drop"), headers=bearer(course, "instructor"))
    assert dropped.status_code == 200 and dropped.json()["dropped"] is True
    assert visible_assignments(client, course, alice) == []
    assert submit(client, course, alice).status_code == 404
    assert client.get("/api/v1/courses", headers=bearer(course, alice)).json() == []
    assert [s["student"] for s in gradebook(client, course)["students"]] == [bob]
    with_dropped = gradebook(client, course, dropped="true")
    assert next(r for r in with_dropped["students"] if r["student"] == alice)["grades"]["w0-service"][
        "submission_id"] == kept
    members = client.get(url(course, "/members"), headers=bearer(course, "instructor")).json()
    assert alice not in [m["student_id"] for m in members]
    everyone = client.get(url(course, "/members"), headers=bearer(course, "instructor"),
                          params={"dropped": "true"}).json()
    assert next(m for m in everyone if m["student_id"] == alice)["dropped"] is True

    back = client.post(url(course, f"/members/{alice}/enrol"), headers=bearer(course, "instructor"))
    assert back.status_code == 200 and back.json()["dropped"] is False
    assert "w0-service" in visible_assignments(client, course, alice)
    assert submit(client, course, alice).status_code == 202
    entries = audit_log(client, course, action="enrolment", target=alice)
    assert [(e["old"], e["new"]) for e in entries[:2]] == [
        ({"enrolled": False}, {"enrolled": True, "role": "student"}),
        ({"enrolled": True, "role": "student"}, {"enrolled": False})]


def test_dropping_a_stranger_or_yourself_is_refused(client, course):
    stranger = client.post(url(course, "/members/nobody-here/drop"), headers=bearer(course, "instructor"))
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "student_not_found"
    myself = client.post(url(course, f"/members/{course['instructor']}/drop"), headers=bearer(course, "instructor"))
    assert myself.status_code == 400 and myself.json()["error"]["code"] == "drop_self"


# ---------------------------------------------------------------------- the audit log
def test_every_change_is_in_the_audit_log_newest_first(client, queue, course, sessions):
    alice = course["students"][0]
    teacher = bearer(course, "instructor")
    response = submit(client, course, alice, content=b'def answer():\n    return 42\n\n\nQ1 = """Because."""\n')
    record_result(sessions, response.json()["id"])
    submission = response.json()["id"]
    policy = url(course, "/assignments/w0-service/policy")
    # a naive date is course time (Asia/Shanghai): the log holds UTC
    assert client.patch(policy, headers=teacher, json={"due_at": "2031-03-15T23:59", "late_days": 2,
                                                       "attempts_total": 5}).status_code == 200
    assert client.patch(policy, headers=teacher, json={"late_days": 2}).status_code == 200  # no change: no entry
    assert client.post(url(course, "/assignments/w0-service/release"), headers=teacher).status_code == 200
    extension = url(course, f"/assignments/w0-service/extensions/{alice}")
    assert client.put(extension, headers=teacher, json={"due_at": "2031-04-01T00:00Z"}).status_code == 200
    assert client.delete(extension, headers=teacher).status_code == 204
    written = f"/api/v1/submissions/{submission}/written/Q1"
    assert client.put(written, headers=teacher, json={"score": 3, "comment": "ok"}).status_code == 200
    assert client.put(written, headers=teacher, json={"score": 4, "comment": "better"}).status_code == 200
    assert client.post(url(course, "/regrade"), headers=teacher, json={"student": alice}).status_code == 202

    entries = audit_log(client, course)
    assert [e["action"] for e in entries][:8] == ["regrade", "written_score", "written_score", "extension",
                                                  "extension", "release", "policy", "enrolment"]
    assert all(e["actor"] == course["instructor"] for e in entries[:7])
    regrade, second, first, removed, granted, release, change = entries[:7]
    assert regrade["target"] == alice and regrade["new"] == {"submissions": 1}
    assert (second["old"], second["new"]) == ({"score": 3, "comment": "ok"}, {"score": 4, "comment": "better"})
    assert first["old"] is None and first["target"] == f"w0-service {alice} Q1"
    assert (removed["old"], removed["new"]) == ({"due_at": "2031-04-01T00:00:00Z"}, None)
    assert granted["old"] is None and granted["new"] == {"due_at": "2031-04-01T00:00:00Z"}
    assert (release["old"], release["new"]) == ({"results_released": False}, {"results_released": True})
    assert change["old"] == {"due_at": None, "late_days": 0, "attempts_total": None}
    assert change["new"] == {"due_at": "2031-03-15T15:59:00Z", "late_days": 2, "attempts_total": 5}
    assert [e["action"] for e in audit_log(client, course, action="extension")] == ["extension", "extension"]
    assert audit_log(client, course, actor="someone-else") == []
    assert len(audit_log(client, course, limit=2)) == 2
    assert audit_log(client, course, offset=1)[0] == entries[1]


def test_ta_grants_and_the_time_zone_are_in_the_audit_log(client, course, run_cli):
    teacher = bearer(course, "instructor")
    assert client.put(url(course, "/permissions"), headers=teacher, json={"ta_may": ["extensions"]}).status_code == 200
    assert client.put(url(course, "/permissions"), headers=teacher, json={"ta_may": ["extensions"]}).status_code == 200
    assert run_cli("course", "time-zone", course["course"], "Europe/Paris")[0] == 0
    zone, grants = audit_log(client, course)[:2]
    assert (grants["action"], grants["actor"], grants["old"], grants["new"]) == (
        "permissions", course["instructor"], {"ta_may": []}, {"ta_may": ["extensions"]})
    assert zone["action"] == "policy" and zone["target"] == "time_zone" and zone["new"] == {"time_zone": "Europe/Paris"}
    assert zone["actor"].startswith("cli")
    assert len(audit_log(client, course, action="permissions")) == 1     # the same grants again: no change


def test_the_audit_entry_is_stored_with_its_change_or_not_at_all(api_settings, catalog):
    """Same transaction: a rolled-back change leaves no entry."""
    sessions = session_factory(api_settings.database_url)
    with sessions() as session:
        course = accounts.create_course(session, catalog, f"rollback-{uuid.uuid4().hex[:8]}")
        session.commit()
        administration.withdraw(session, "someone", course, "w0-service")
        session.rollback()
        assert audit.entries(session, course.id, action="withdraw") == []
        assert administration.offerings(session, course)[0].withdrawn_at is None


# ---------------------------------------------------------------------- the command line
@pytest.fixture
def run_cli(api_settings, monkeypatch, capsysbinary):
    monkeypatch.setattr("torchgrade.service_commands.get_settings", lambda: api_settings)

    def run(*argv: str) -> tuple[int, str, str]:
        status = cli.main(["--lang", "en", *argv])
        out, err = capsysbinary.readouterr()
        return status, out.decode(), err.decode()
    return run


def test_the_cli_offers_withdraws_drops_and_reads_the_audit_log(run_cli, client, course):
    slug, alice = course["course"], course["students"][0]
    status, out, _ = run_cli("course", "withdraw", slug, "w1-normal-modes")
    assert status == 0 and "w1-normal-modes\twithdrawn" in out
    status, out, _ = run_cli("course", "offer", slug, "w1-normal-modes")
    assert status == 0 and "w1-normal-modes\toffered" in out
    status, _, err = run_cli("course", "offer", slug, "w9-nothing")
    assert status == 2 and "no assignment called w9-nothing" in err
    status, out, _ = run_cli("roster", "drop", slug, alice)
    assert status == 0 and alice in out
    status, out, _ = run_cli("roster", "list", slug)
    assert alice not in out and out.splitlines()[0] == "student_id,name,class,email,role,dropped_at"
    status, out, _ = run_cli("roster", "list", slug, "--dropped")
    assert alice in out
    assert run_cli("roster", "enrol", slug, alice)[0] == 0
    status, out, _ = run_cli("audit", slug, "--json", "--action", "enrolment", "--target", alice)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["new"] for line in lines[:2]] == [{"enrolled": True, "role": "student"}, {"enrolled": False}]
    assert all(line["actor"].startswith("cli") for line in lines[:2])
    status, out, _ = run_cli("audit", slug, "--action", "withdraw")
    assert status == 0 and "withdraw  w1-normal-modes" in out
