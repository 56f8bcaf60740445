"""The catalogue as the API needs it: manifests, statements and starters, read once at start.
Checks are never imported here (the API process does not load torch or pack code)."""

from __future__ import annotations

from pathlib import Path

from grader.assignments import Assignment, AssignmentError, Catalog, UnknownAssignment
from grader.manifest import load_manifest


class ManifestCatalog(Catalog):
    def __init__(self, reference_dir: Path):
        super().__init__(reference_dir)
        for assignment_id in super().ids():
            self.loaded[assignment_id] = _manifest_only(self.reference_dir / assignment_id)

    def ids(self) -> list[str]:
        return sorted(self.loaded)

    def get(self, assignment_id: str) -> Assignment:
        if assignment_id not in self.loaded:
            raise UnknownAssignment(assignment_id)
        return self.loaded[assignment_id]


def _manifest_only(directory: Path) -> Assignment:
    try:
        return Assignment(load_manifest(directory / "manifest.toml"), directory, {})
    except (OSError, ValueError) as exc:
        raise AssignmentError(f"{directory.name}: bad manifest: {exc}") from exc
