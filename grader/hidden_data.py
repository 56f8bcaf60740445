"""Hidden data: files a pack's ``data.py`` generates, in the trusted process, once.

``generate(mounted: Path, private: Path)`` writes what the student's code may read into
``mounted`` (laid into each job read-only at ``/data``) and what only the checks may read
(labels, test sets) into ``private``.  The result is cached under
``<data_dir>/hidden/<assignment>-<hash of data.py>`` and regenerated when data.py changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

from grader.assignments import Assignment, import_pack

JOB_DATA_DIR = "/data"
_lock = threading.Lock()


def prepare(assignment: Assignment, data_root: Path) -> Path:
    """The folder holding ``mounted/`` and ``private/`` for ``assignment``, generated if needed."""
    source = (assignment.directory / "data.py").read_bytes()
    target = data_root / "hidden" / f"{assignment.id}-{hashlib.sha256(source).hexdigest()[:16]}"
    with _lock:
        if not target.exists():
            _generate(assignment, target)
    return target


def _generate(assignment: Assignment, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o700)  # only the checker's user reaches the cache
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
    try:
        (staging / "mounted").mkdir()
        (staging / "private").mkdir(mode=0o700)
        import_pack(assignment.directory, "data").generate(staging / "mounted", staging / "private")
        _make_readable(staging / "mounted")
        os.chmod(staging, 0o755)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _make_readable(root: Path) -> None:
    """The job's uid must read the mounted files: directories 0755, files 0644."""
    os.chmod(root, 0o755)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
