"""Manifests are validated strictly and must match their checks module."""

from __future__ import annotations

import textwrap

import pytest
from pydantic import ValidationError

from grader.assignments import AssignmentError, Catalog, UnknownAssignment, load_assignment
from grader.manifest import Manifest

MINIMAL = {"id": "w9-demo", "week": 9, "title": {"zh": "演示", "en": "Demo"},
           "checks": [{"name": "works", "points": 1, "description": "it works"}]}


def test_minimal_manifest_has_defaults():
    manifest = Manifest.model_validate(MINIMAL)
    assert manifest.entry == "submission.py" and manifest.queue == "cpu" and manifest.max_score == 1


@pytest.mark.parametrize("change", [
    {"surprise": True},
    {"limits": {"wall_s": 10, "gpu_hours": 1}},
    {"queue": "tpu"},
    {"id": "Week 9"},
    {"checks": [{"name": "a b", "points": 1, "description": "x"}]},
    {"checks": [{"name": "a", "points": 0, "description": "x"}]},
    {"checks": [{"name": "a", "points": 1, "description": "x", "visibility": "secret"}]},
    {"checks": [{"name": "a", "points": 1, "description": "x"}, {"name": "a", "points": 1, "description": "y"}]},
])
def test_bad_manifests_are_rejected(change):
    with pytest.raises(ValidationError):
        Manifest.model_validate(MINIMAL | change)


def write_pack(root, checks_source: str, manifest: str | None = None):
    directory = root / "w9-demo"
    directory.mkdir()
    (directory / "manifest.toml").write_text(manifest or textwrap.dedent("""
        id = "w9-demo"
        week = 9
        title = { zh = "演示", en = "Demo" }
        [[checks]]
        name = "works"
        points = 1
        description = "it works"
    """))
    (directory / "checks.py").write_text(textwrap.dedent(checks_source))
    return directory


def test_checks_must_match_the_manifest(tmp_path):
    directory = write_pack(tmp_path, """
        from grader.checks import check, passed
        @check("other")
        def other(student, ctx):
            return passed()
    """)
    with pytest.raises(AssignmentError, match="manifest checks"):
        load_assignment(directory)


def test_manifest_id_must_match_its_folder(tmp_path):
    directory = write_pack(tmp_path, "", manifest='id = "w9-other"\nweek = 9\ntitle = {zh = "x", en = "x"}\n'
                                                  '[[checks]]\nname = "a"\npoints = 1\ndescription = "x"\n')
    with pytest.raises(AssignmentError, match="manifest id"):
        load_assignment(directory)


def test_catalog_lists_and_refuses_unknown_ids(tmp_path):
    write_pack(tmp_path, """
        from grader.checks import check, passed
        @check("works")
        def works(student, ctx):
            return passed()
    """)
    catalog = Catalog(tmp_path)
    assert catalog.ids() == ["w9-demo"]
    assert list(catalog.get("w9-demo").checks) == ["works"]
    with pytest.raises(UnknownAssignment, match="no assignment called 'w9-nope'"):
        catalog.get("w9-nope")


def test_every_shipped_manifest_is_valid(catalog):
    for assignment in catalog.all():
        assert assignment.manifest.id == assignment.directory.name
