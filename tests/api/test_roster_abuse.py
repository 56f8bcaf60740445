"""Attacks on the roster import (api/services/roster.py): a file far larger than a class."""

from __future__ import annotations

from api.services import roster
from tests.api.conftest import bearer


def test_a_huge_roster_is_refused_before_anything_is_stored(client, course):
    """Attack: roster import abuse.  A 16 MB class list (the body limit) is over a million rows;
    at about 5 ms a row the import held the database's write lock for hours (SQLite: the whole
    service).  A roster has at most ``roster.MAX_ROWS`` students."""
    rows = "".join(f"huge{i},n{i}\n" for i in range(roster.MAX_ROWS + 1))
    response = client.post(f"/api/v1/courses/{course['course']}/roster", headers=bearer(course, "instructor"),
                           files={"file": ("roster.csv", f"学号,姓名\n{rows}".encode())})
    assert response.status_code == 400 and response.json()["error"]["code"] == "roster_too_large"
    members = client.get(f"/api/v1/courses/{course['course']}/members", headers=bearer(course, "instructor")).json()
    assert not any(m["student_id"].startswith("huge") for m in members)


def test_reissuing_a_million_invitations_is_refused(client, course):
    """The same abuse through ``POST /invitations``: a list of names as long as the body limit."""
    names = [f"nobody{i}" for i in range(roster.MAX_ROWS + 1)]
    response = client.post(f"/api/v1/courses/{course['course']}/invitations", headers=bearer(course, "instructor"),
                           json={"students": names})
    assert response.status_code == 422, response.text[:300]
