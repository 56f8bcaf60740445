"""Packs are versioned by content, and a changed pack is graded with at once: same Grader, same
warm sandbox, no restart."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from grader.assignments import AssignmentError, Catalog, load_assignment
from grader.status import CheckStatus

REFERENCE = Path(__file__).resolve().parents[2] / "reference"

MANIFEST = """
id = "w9-demo"
week = 9
title = { zh = "演示", en = "Demo" }
[limits]
wall_s = 20
check_s = 4
[[checks]]
name = "first"
points = 1
description = "first"
[[checks]]
name = "second"
points = 1
description = "second"
"""

CHECKS = """
from grader.checks import Verdict, check
from .reference import FEEDBACK

@check("first")
def first(student, ctx):
    return Verdict(1.0, FEEDBACK)

@check("second")
def second(student, ctx):
    return Verdict(1.0, FEEDBACK)
"""

SUBMISSION = b"def answer():\n    return 42\n"


@pytest.fixture
def pack(tmp_path):
    directory = tmp_path / "w9-demo"
    directory.mkdir()
    (directory / "manifest.toml").write_text(textwrap.dedent(MANIFEST))
    (directory / "checks.py").write_text(textwrap.dedent(CHECKS))
    (directory / "reference.py").write_text('FEEDBACK = "v1"\n')
    for name in ("starter.py", "statement.en.md", "statement.zh.md"):
        (directory / name).write_text("# demo\n")
    return directory


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def test_the_version_is_the_content_of_the_graded_files(pack, tmp_path):
    version = load_assignment(pack).version
    copy = tmp_path / "elsewhere" / "w9-demo"
    shutil.copytree(pack, copy)
    assert load_assignment(copy).version == version
    for name in ("starter.py", "statement.en.md"):
        (copy / name).write_text("# rewritten\n")
    (copy / "selftest").mkdir()
    (copy / "selftest" / "good.py").write_text("x = 1\n")
    assert load_assignment(copy).version == version, "statements, starter and self-tests are not graded"
    (copy / "helpers.py").write_text("TOLERANCE = 1e-3\n")
    with_helper = load_assignment(copy).version
    assert with_helper != version, "a helper module the checks may import is part of the pack"
    edit(copy / "reference.py", "v1", "v2")
    assert load_assignment(copy).version not in (version, with_helper)


def test_an_edited_check_grades_the_next_submission(grader, pack, monkeypatch):
    monkeypatch.setattr(grader, "catalog", Catalog(pack.parent))
    before = grader.grade("w9-demo", "hw.py", SUBMISSION)
    assert before.score == 2 and {t.feedback for t in before.tests} == {"v1"}
    assert before.pack_version == grader.catalog.get("w9-demo").version != ""
    edit(pack / "checks.py", 'def second(student, ctx):\n    return Verdict(1.0',
         'def second(student, ctx):\n    return Verdict(0.0')
    after = grader.grade("w9-demo", "hw.py", SUBMISSION)
    assert after.score == 1 and after.tests[1].status == CheckStatus.failed
    assert after.pack_version == grader.catalog.get("w9-demo").version != before.pack_version


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(grader, pack, monkeypatch):
    """A .pyc is trusted on (mtime, size): an edit within the same second and of the same size
    would pass for the old source if the module were imported the usual way."""
    monkeypatch.setattr(grader, "catalog", Catalog(pack.parent))
    assert grader.grade("w9-demo", "hw.py", SUBMISSION).score == 2
    checks = pack / "checks.py"
    stat = checks.stat()
    edit(checks, "return Verdict(1.0, FEEDBACK)\n\n@check", "return Verdict(0.5, FEEDBACK)\n\n@check")
    os.utime(checks, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert checks.stat().st_size == stat.st_size
    assert grader.grade("w9-demo", "hw.py", SUBMISSION).score == 1.5


def test_an_edited_reference_reaches_the_checks_that_import_it(grader, pack, monkeypatch):
    monkeypatch.setattr(grader, "catalog", Catalog(pack.parent))
    old = grader.catalog.get("w9-demo")
    assert grader.grade("w9-demo", "hw.py", SUBMISSION).tests[0].feedback == "v1"
    edit(pack / "reference.py", "v1", "v2")
    result = grader.grade("w9-demo", "hw.py", SUBMISSION)
    assert [t.feedback for t in result.tests] == ["v2", "v2"]
    assert not [name for name in sys.modules if name.startswith(old.package)], "the old version's modules are gone"


def test_a_grading_in_flight_finishes_on_the_version_it_started_with(grader, pack, monkeypatch):
    monkeypatch.setattr(grader, "catalog", Catalog(pack.parent))
    started_on = grader.catalog.get("w9-demo").version

    def edit_after_the_first_check(test):
        if test.name == "first":
            edit(pack / "reference.py", "v1", "v2")
            grader.catalog.get("w9-demo")  # another grading in this process loads the new version now

    result = grader.grade("w9-demo", "hw.py", SUBMISSION, on_progress=edit_after_the_first_check)
    assert [t.feedback for t in result.tests] == ["v1", "v1"] and result.pack_version == started_on
    again = grader.grade("w9-demo", "hw.py", SUBMISSION)
    assert [t.feedback for t in again.tests] == ["v2", "v2"] and again.pack_version != started_on


def test_a_broken_edit_is_refused_until_it_is_fixed(grader, pack, monkeypatch):
    monkeypatch.setattr(grader, "catalog", Catalog(pack.parent))
    good = grader.grade("w9-demo", "hw.py", SUBMISSION).pack_version
    edit(pack / "checks.py", "@check(\"second\")", "@check(\"second\"")
    with pytest.raises(AssignmentError):
        grader.grade("w9-demo", "hw.py", SUBMISSION)
    edit(pack / "checks.py", "@check(\"second\"", "@check(\"second\")")
    assert grader.grade("w9-demo", "hw.py", SUBMISSION).pack_version == good


def test_a_real_pack_edited_mid_term(grader, tmp_path, monkeypatch):
    """A copy of w1-hello: the instructor tightens a check; the next grading uses it."""
    shutil.copytree(REFERENCE / "w1-hello", tmp_path / "w1-hello")
    monkeypatch.setattr(grader, "catalog", Catalog(tmp_path))
    good = (REFERENCE / "w1-hello/selftest/good_print_version.py").read_bytes()
    before = grader.grade("w1-hello", "hw.py", good)
    assert before.score == 5
    edit(tmp_path / "w1-hello/checks.py", "if torch.__version__ in run.stdout:",
         "if f\"torch {torch.__version__}\" in run.stdout:")
    edit(tmp_path / "w1-hello/manifest.toml", "points = 2", "points = 4")
    after = grader.grade("w1-hello", "hw.py", good)
    assert (after.score, after.max_score) == (3, 7) and after.pack_version != before.pack_version
    assert after.tests[0].status == CheckStatus.failed


def test_a_pack_added_or_removed_is_seen(pack):
    catalog = Catalog(pack.parent)
    assert catalog.ids() == ["w9-demo"]
    shutil.copytree(pack, pack.parent / "w9-other")
    edit(pack.parent / "w9-other/manifest.toml", '"w9-demo"', '"w9-other"')
    assert catalog.get("w9-other").manifest.id == "w9-other" and catalog.ids() == ["w9-demo", "w9-other"]
    shutil.rmtree(pack)
    with pytest.raises(KeyError):
        catalog.get("w9-demo")
    assert catalog.ids() == ["w9-other"]
