"""Every pack's self-test submissions get exactly the status, score, failing checks and
feedback their expected.toml states."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.assignments import Catalog
from grader.selftest import case_submission, load_cases, problems_with

REFERENCE = Path(__file__).resolve().parents[2] / "reference"
CATALOG = Catalog(REFERENCE)
CASES = [(assignment_id, case) for assignment_id in CATALOG.ids() for case in load_cases(CATALOG.get(assignment_id))]


@pytest.mark.parametrize(("assignment_id", "case"), CASES, ids=[f"{a}/{c.file}" for a, c in CASES])
def test_selftest_case(grader, assignment_id, case):
    assignment = grader.catalog.get(assignment_id)
    name, content = case_submission(assignment.directory / "selftest", case)
    result = grader.grade(assignment_id, name, content)
    assert problems_with(result, case) == []


@pytest.mark.parametrize("assignment_id", CATALOG.ids())
def test_pack_has_enough_selftests(assignment_id):
    cases = load_cases(CATALOG.get(assignment_id))
    full = [c for c in cases if c.score == CATALOG.get(assignment_id).manifest.max_score]
    assert len(full) >= 3, "at least three correct submissions in different styles"
    assert len(cases) - len(full) >= 4, "at least four realistic wrong submissions"


@pytest.mark.parametrize("assignment_id", CATALOG.ids())
def test_pack_files_present(assignment_id):
    directory = REFERENCE / assignment_id
    for name in ("manifest.toml", "reference.py", "checks.py", "starter.py", "statement.zh.md", "statement.en.md"):
        assert (directory / name).is_file(), name
