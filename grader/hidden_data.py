"""Hidden data: files a pack's ``data.py`` generates, in the trusted process, once.

``generate(mounted: Path, private: Path)`` writes what the student's code may read into
``mounted`` (laid into each job read-only at ``/data``) and what only the checks may read
(labels, test sets) into ``private``.  The result is cached under
``<data_dir>/hidden/<assignment>-<hash>`` and regenerated when data.py, or a grader module it
uses, changes (a new pack version whose data.py is the same keeps its data).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
import threading
import types
from pathlib import Path

from grader.assignments import Assignment, content_digest

JOB_DATA_DIR = "/data"
_lock = threading.Lock()


def prepare(assignment: Assignment, data_root: Path) -> Path:
    """The folder holding ``mounted/`` and ``private/`` for ``assignment``, generated if needed."""
    generator = assignment.module("data")
    target = data_root / "hidden" / f"{assignment.id}-{_fingerprint(assignment, generator)}"
    if target.exists():
        return target
    with _lock, _across_processes(target.parent / f".{assignment.id}.lock"):
        if not target.exists():  # another process may have made it while this one waited
            _generate(generator, target)
    return target


@contextlib.contextmanager
def _across_processes(lock_file: Path):
    """One generator at a time across the worker's pool processes (and other workers on the
    same data directory); the lock goes with the process that holds it, whatever kills it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(lock_file.parent, 0o700)
    descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _fingerprint(assignment: Assignment, generator: types.ModuleType) -> str:
    """A hash of data.py (as this pack version has it) and of the grader modules it uses (their
    formats shape the data)."""
    grader_sources = (Path(sys.modules[name].__file__).read_bytes() for name in _grader_modules(generator))
    return content_digest([assignment.files.contents["data.py"], *grader_sources])


def _grader_modules(generator: types.ModuleType) -> list[str]:
    """The grader modules data.py uses, by module name: the same order whatever path the pack
    is reached by (a worker and an API may reach it through different links)."""
    used = set()
    for value in vars(generator).values():
        name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        if isinstance(name, str) and name.split(".")[0] == "grader" and name in sys.modules:
            used.add(name)
    return sorted(used)


def _generate(generator: types.ModuleType, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o700)  # only the checker's user reaches the cache
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
    try:
        (staging / "mounted").mkdir()
        (staging / "private").mkdir(mode=0o700)
        generator.generate(staging / "mounted", staging / "private")
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
