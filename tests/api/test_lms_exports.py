"""Gradebook exports in the grade import formats of Canvas and Moodle, read with Python's csv
module as each LMS reads them: UTF-8 with a byte order mark, a header row, Canvas's "Points
Possible" row, then one row per student matched by student ID (docs/SERVICE.md, "LMS")."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

from sqlalchemy import update

from core.models import User
from tests.api.conftest import bearer
from tests.api.test_courses import graded
from tests.workers.stack import REPOSITORY, environment

BOM = b"\xef\xbb\xbf"


def export(client, course, export_format: str) -> list[list[str]]:
    response = client.get(f"/api/v1/courses/{course['course']}/gradebook.csv", params={"format": export_format},
                          headers=bearer(course, "instructor"))
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert f"-{export_format}.csv" in response.headers["content-disposition"]
    return read(response.content)


def read(raw: bytes) -> list[list[str]]:
    """As an LMS does: the BOM is there and is not part of the first header."""
    assert raw.startswith(BOM)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def named(sessions, name: str, display_name: str, email: str) -> None:
    with sessions() as session:
        session.execute(update(User).where(User.name == name).values(display_name=display_name, email=email))
        session.commit()


def test_canvas_export_has_the_points_possible_row_and_matches_by_sis_id(client, queue, course, sessions):
    alice, bob = course["students"]
    named(sessions, alice, "张三, Zhang", "zs@example.edu")
    graded(client, course, sessions, alice)
    graded(client, course, sessions, bob, visible="failed")
    rows = export(client, course, "canvas")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "w0-service", "w1-normal-modes"]
    assert rows[1] == ["Points Possible", "", "", "", "", "11", "32"]
    by_sis = {row[2]: row for row in rows[2:]}
    assert by_sis[alice] == ["张三, Zhang", "", alice, alice, course["course"], "6", ""]
    assert by_sis[bob][5] == "4" and by_sis[bob][0] == bob
    assert len(rows) == 4


def test_moodle_export_identifies_users_by_id_number(client, queue, course, sessions):
    alice, bob = course["students"]
    named(sessions, alice, "张三", "zs@example.edu")
    graded(client, course, sessions, alice)
    rows = export(client, course, "moodle")
    assert rows[0] == ["ID number", "Email address", "Full name", "w0-service", "w1-normal-modes"]
    records = list(csv.DictReader(io.StringIO("\n".join(",".join(r) for r in rows))))
    by_id = {r["ID number"]: r for r in records}
    assert set(by_id) == {alice, bob}   # no points row: Moodle would read it as a student
    assert by_id[alice] == {"ID number": alice, "Email address": "zs@example.edu", "Full name": "张三",
                            "w0-service": "6", "w1-normal-modes": ""}
    assert by_id[bob]["w0-service"] == ""


def test_plain_export_keeps_its_columns_and_has_a_bom(client, queue, course, sessions):
    graded(client, course, sessions, course["students"][0])
    rows = export(client, course, "plain")
    assert rows[0] == ["student", "display_name", "w0-service", "w1-normal-modes", "total"]
    assert rows[1] == ["(max)", "", "11", "32", "43"]


def test_unknown_format_is_refused(client, course):
    response = client.get(f"/api/v1/courses/{course['course']}/gradebook.csv", params={"format": "blackboard"},
                          headers=bearer(course, "instructor"))
    assert response.status_code == 422


def test_cli_export_writes_the_same_file(client, queue, course, sessions, api_settings, tmp_path):
    graded(client, course, sessions, course["students"][0])
    out = tmp_path / "canvas.csv"
    done = subprocess.run([sys.executable, "-m", "torchgrade.cli", "gradebook", "export", "--course", course["course"],
                           "--format", "canvas", "-o", str(out)], env=environment(api_settings), cwd=REPOSITORY,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert read(out.read_bytes()) == export(client, course, "canvas")
    missing = subprocess.run([sys.executable, "-m", "torchgrade.cli", "gradebook", "export", "--course", "nope"],
                             env=environment(api_settings), cwd=REPOSITORY, capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode == 2 and "no course called 'nope'" in missing.stderr
