"""The catalogue as the API needs it: manifests, statements and starters.  Checks are never
imported here (the API process does not load torch or pack code), but a pack's version is the
same content hash the workers compute, and a changed pack is picked up the same way: its stat
fingerprint is checked at most every ``check_interval_s``, its files read only when it moved."""

from __future__ import annotations

import logging
from pathlib import Path

from grader.assignments import Assignment, AssignmentError, Catalog, PackFiles, load_manifest_of

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 1.0


class ManifestCatalog(Catalog):
    def __init__(self, reference_dir: Path, check_interval_s: float = CHECK_INTERVAL_S):
        super().__init__(reference_dir, check_interval_s)
        self.all()  # a broken pack stops the API at start, not at a student's first request

    def load(self, files: PackFiles) -> Assignment:
        return Assignment(load_manifest_of(files), files.directory, {}, files)

    def get(self, assignment_id: str) -> Assignment:
        """A pack broken by an edit keeps its last good manifest here (the workers refuse to
        grade with it, and retry until it is fixed)."""
        try:
            return super().get(assignment_id)
        except AssignmentError as exc:
            last = self.loaded.get(assignment_id)
            if last is None:
                raise
            log.error("%s; the API shows its last good version %s", exc, last.version)
            return last
