"""The catalogue: one folder per assignment under the reference directory.

A folder holds ``manifest.toml``, ``reference.py`` (the reference solution), ``checks.py``,
``starter.py``, ``statement.zh.md`` / ``statement.en.md`` and ``selftest/`` (submissions
with their expected scores).  They run in the trusted process only.

A pack's *version* is a content hash of the files grading reads: every file of the folder
but the statements, the starter and the self-tests (docs/PACKS.md).  The catalogue notices a
changed pack by a stat fingerprint of those files (checked on each ``get``, at most every
``check_interval_s``), reads and hashes them only when the fingerprint moved, and loads a
new version afresh: its modules are compiled from the very bytes that were hashed (never from
a stale ``.pyc``) under a package of their own, ``torchgrade_packs.<id>_<folder>_<version>``,
so checks can ``from .reference import ...`` and a grading that started on the old version
finishes on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
import threading
import time
import types
from pathlib import Path
from typing import Callable, Iterable

from grader.i18n import Message, _, render
from grader.manifest import CheckSpec, Manifest, parse_manifest

log = logging.getLogger(__name__)

PACKAGE = "torchgrade_packs"
NOT_GRADED = {"starter.py", "selftest", "__pycache__"}  # and statement.*.md, and dot files
READ_TRIES = 5


class AssignmentError(Exception):
    """An assignment pack is broken (a grader fault, never the student's).  ``message`` says
    how, for the pack's authors (a catalogue message; ``str()`` is the English)."""

    def __init__(self, message: Message):
        super().__init__(render(message))
        self.message = message


class UnknownAssignment(KeyError):
    @property
    def message(self) -> Message:
        return _("no assignment called {name!r}", name=self.args[0])

    def __str__(self) -> str:
        return render(self.message)


# ---------------------------------------------------------------------- versions
def content_digest(parts: Iterable[bytes]) -> str:
    """The hash that names pack versions and hidden-data caches: each part framed by its own
    hash, so no two different lists of parts collide by concatenation."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class PackFiles:
    """The files of one pack version: their bytes, their hash and the stat fingerprint they
    were read under."""

    directory: Path
    stamp: tuple
    contents: dict[str, bytes]
    version: str = dataclasses.field(init=False)

    def __post_init__(self):
        contents = self.contents
        object.__setattr__(self, "version", content_digest(
            part for name in sorted(contents) for part in (name.encode(), contents[name])))


def stamp(directory: Path) -> tuple:
    """(name, inode, size, mtime, ctime) of each graded file: what moves when one is edited,
    replaced, added or removed."""
    return tuple(_stamps(str(directory), ""))


def _stamps(root: str, relative: str) -> list[tuple]:
    found = []
    for entry in sorted(os.scandir(os.path.join(root, relative)), key=lambda e: e.name):
        name = os.path.join(relative, entry.name)
        if not _graded(entry.name):
            continue
        if entry.is_dir():
            found += _stamps(root, name)
        else:
            info = entry.stat()
            found.append((name, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return found


def _graded(name: str) -> bool:
    return not (name in NOT_GRADED or name.startswith(".") or (name.startswith("statement.") and name.endswith(".md")))


def read_pack(directory: Path) -> PackFiles:
    """The pack's graded files, read while none of them moved."""
    for _attempt in range(READ_TRIES):
        try:
            before = stamp(directory)
            contents = {name: (directory / name).read_bytes() for name, *_ in before}
            if stamp(directory) == before:
                return PackFiles(directory, before, contents)
        except OSError:
            continue
    raise AssignmentError(_("{pack}: its files kept changing while they were read", pack=directory.name))


# ---------------------------------------------------------------------- assignments
@dataclasses.dataclass
class Assignment:
    manifest: Manifest
    directory: Path
    checks: dict[str, Callable]
    files: PackFiles | None = None
    package: str = ""

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def version(self) -> str:
        return self.files.version if self.files else ""

    def spec(self, name: str) -> CheckSpec:
        return next(c for c in self.manifest.checks if c.name == name)

    def statement(self, language: str = "en") -> str:
        path = self.directory / f"statement.{'zh' if language.startswith('zh') else 'en'}.md"
        return path.read_text(encoding="utf-8")

    @property
    def starter(self) -> Path:
        return self.directory / "starter.py"

    def module(self, name: str) -> types.ModuleType:
        """The pack's module ``name`` (checks, reference, data, ...) as this version has it."""
        return importlib.import_module(f"{self.package}.{name}")


class Catalog:
    """Assignments by id, each reloaded when its pack changes (see the module's docstring)."""

    def __init__(self, reference_dir: Path, check_interval_s: float = 0.0):
        self.reference_dir = Path(reference_dir)
        self.check_interval_s = check_interval_s
        self.loaded: dict[str, Assignment] = {}
        self._checked: dict[str, float] = {}
        self._ids: tuple[float, list[str]] | None = None
        self._lock = threading.RLock()

    def ids(self) -> list[str]:
        now = time.monotonic()
        if self._ids is None or now - self._ids[0] >= self.check_interval_s:
            self._ids = (now, sorted(p.parent.name for p in self.reference_dir.glob("*/manifest.toml")))
        return self._ids[1]

    def get(self, assignment_id: str) -> Assignment:
        with self._lock:
            current = self.loaded.get(assignment_id)
            now = time.monotonic()
            if current is not None and now - self._checked[assignment_id] < self.check_interval_s:
                return current
            if current is None and assignment_id not in self.ids():
                raise UnknownAssignment(assignment_id)
            self._checked[assignment_id] = now
            directory = self.reference_dir / assignment_id
            try:
                unchanged = current is not None and stamp(directory) == current.files.stamp
            except OSError:
                unchanged = False
            if not unchanged:
                self._refresh(assignment_id, directory, current)
            return self.loaded[assignment_id]

    def _refresh(self, assignment_id: str, directory: Path, current: Assignment | None) -> None:
        if not (directory / "manifest.toml").is_file():
            self.loaded.pop(assignment_id, None)
            raise UnknownAssignment(assignment_id)
        files = read_pack(directory)
        if current is not None and files.version == current.version:
            current.files = files  # touched, not changed
            return
        self.loaded[assignment_id] = self.load(files)
        if current is not None:
            log.info("%s: pack version %s replaces %s", assignment_id, files.version, current.version)
            _forget(current.package)

    def load(self, files: PackFiles) -> Assignment:
        return load_assignment(files.directory, files)

    def all(self) -> list[Assignment]:
        return [self.get(i) for i in self.ids()]


def load_manifest_of(files: PackFiles) -> Manifest:
    directory = files.directory
    try:
        manifest = parse_manifest(files.contents["manifest.toml"])
    except (KeyError, ValueError) as exc:
        raise AssignmentError(_("{pack}: bad manifest: {problem}", pack=directory.name, problem=str(exc))) from exc
    if manifest.id != directory.name:
        raise AssignmentError(_("{pack}: manifest id is {id!r}", pack=directory.name, id=manifest.id))
    return manifest


def load_assignment(directory: Path, files: PackFiles | None = None) -> Assignment:
    files = files or read_pack(directory)
    manifest = load_manifest_of(files)
    package = _register(files)
    try:
        module = importlib.import_module(f"{package}.checks")
    except Exception as exc:  # a syntax error or a failing import in the pack: the pack's fault
        _forget(package)
        raise AssignmentError(_("{pack}: checks.py does not import: {error}: {problem}", pack=manifest.id,
                                error=type(exc).__name__, problem=str(exc))) from exc
    found = {fn.__check_name__: fn for fn in vars(module).values() if hasattr(fn, "__check_name__")}
    wanted = [c.name for c in manifest.checks]
    if set(found) != set(wanted):
        _forget(package)
        raise AssignmentError(_("{pack}: manifest checks {wanted} but checks.py defines {found}", pack=manifest.id,
                                wanted=sorted(wanted), found=sorted(found)))
    return Assignment(manifest, directory, {name: found[name] for name in wanted}, files, package)


# ---------------------------------------------------------------------- importing a version
class _VersionImporter(importlib.abc.MetaPathFinder):
    """Finds ``torchgrade_packs.<package>.<module>`` in the bytes of a registered version."""

    def __init__(self):
        self.versions: dict[str, PackFiles] = {}

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname == PACKAGE or fullname in self.versions:
            return importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        package, _, name = fullname.rpartition(".")
        files = self.versions.get(package)
        if files is None or f"{name}.py" not in files.contents:
            return None
        loader = _SourceLoader(str(files.directory / f"{name}.py"), files.contents[f"{name}.py"])
        return importlib.util.spec_from_file_location(fullname, loader.path, loader=loader)


class _SourceLoader(importlib.abc.SourceLoader):
    """Compiles the version's bytes; no bytecode cache is read or written (a ``.pyc`` of an edit
    made within the same second, with the same size, would pass for the new source)."""

    def __init__(self, path: str, source: bytes):
        self.path = path
        self.source = source

    def get_filename(self, fullname: str) -> str:
        return self.path

    def get_data(self, path: str) -> bytes:
        return self.source


_importer = _VersionImporter()
_import_lock = threading.Lock()


def _register(files: PackFiles) -> str:
    """The package this version's modules are imported under (one per folder and version,
    so two copies of a pack, or two versions of one, never share modules)."""
    folder = hashlib.sha256(str(files.directory.resolve()).encode()).hexdigest()[:8]
    package = f"{PACKAGE}.{files.directory.name.replace('-', '_')}_{folder}_{files.version}"
    with _import_lock:
        if _importer not in sys.meta_path:
            sys.meta_path.append(_importer)
        _importer.versions.setdefault(package, files)
    return package


def _forget(package: str) -> None:
    """Drop a replaced version's modules from ``sys.modules``.  Its bytes stay registered: a
    grading still running on it can import the rest of that version lazily."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
