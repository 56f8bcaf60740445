"""Self-test cases: files, zipped folders, and one-mistake edits of a correct file."""

from __future__ import annotations

import io
import zipfile

import pytest
from pydantic import ValidationError

from grader.selftest import Case, case_submission


def test_a_case_made_by_edits_replaces_every_occurrence(tmp_path):
    (tmp_path / "good.py").write_text("a = 1\nb = 1\n")
    case = Case(file="bad.py", base="good.py", edits=[("= 1", "= 2")], score=0)
    assert case_submission(tmp_path, case) == ("bad.py", b"a = 2\nb = 2\n")


def test_an_edit_that_does_not_apply_is_an_error(tmp_path):
    (tmp_path / "good.py").write_text("a = 1\n")
    with pytest.raises(ValueError, match="does not occur"):
        case_submission(tmp_path, Case(file="bad.py", base="good.py", edits=[("b = 1", "b = 2")], score=0))


def test_edits_and_base_go_together():
    with pytest.raises(ValidationError, match="go together"):
        Case(file="bad.py", base="good.py", score=0)


def test_a_folder_is_zipped_under_its_own_name(tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "my_dataset.py").write_text("x = 1\n")
    name, content = case_submission(tmp_path, Case(file="project", score=0))
    assert name == "project.zip"
    assert zipfile.ZipFile(io.BytesIO(content)).namelist() == ["project/my_dataset.py"]
