"""The catalogue: one folder per assignment under the reference directory.

A folder holds ``manifest.toml``, ``reference.py`` (the reference solution), ``checks.py``,
``starter.py``, ``statement.zh.md`` / ``statement.en.md`` and ``selftest/`` (submissions
with their expected scores).  Packs are imported as ``torchgrade_packs.<id>`` so checks
can ``from .reference import ...``; they run in the trusted process only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import sys
import types
from pathlib import Path
from typing import Callable

from grader.manifest import CheckSpec, Manifest, load_manifest

PACKAGE = "torchgrade_packs"


class AssignmentError(Exception):
    """An assignment pack is broken (a grader fault, never the student's)."""


class UnknownAssignment(KeyError):
    def __str__(self) -> str:
        return f"no assignment called {self.args[0]!r}"


@dataclasses.dataclass
class Assignment:
    manifest: Manifest
    directory: Path
    checks: dict[str, Callable]

    @property
    def id(self) -> str:
        return self.manifest.id

    def spec(self, name: str) -> CheckSpec:
        return next(c for c in self.manifest.checks if c.name == name)

    def statement(self, language: str = "en") -> str:
        path = self.directory / f"statement.{'zh' if language.startswith('zh') else 'en'}.md"
        return path.read_text(encoding="utf-8")

    @property
    def starter(self) -> Path:
        return self.directory / "starter.py"


class Catalog:
    def __init__(self, reference_dir: Path):
        self.reference_dir = Path(reference_dir)
        self.loaded: dict[str, Assignment] = {}

    def ids(self) -> list[str]:
        return sorted(p.parent.name for p in self.reference_dir.glob("*/manifest.toml"))

    def get(self, assignment_id: str) -> Assignment:
        if assignment_id not in self.loaded:
            if assignment_id not in self.ids():
                raise UnknownAssignment(assignment_id)
            self.loaded[assignment_id] = load_assignment(self.reference_dir / assignment_id)
        return self.loaded[assignment_id]

    def all(self) -> list[Assignment]:
        return [self.get(i) for i in self.ids()]


def load_assignment(directory: Path) -> Assignment:
    try:
        manifest = load_manifest(directory / "manifest.toml")
    except (OSError, ValueError) as exc:
        raise AssignmentError(f"{directory.name}: bad manifest: {exc}") from exc
    if manifest.id != directory.name:
        raise AssignmentError(f"{directory.name}: manifest id is {manifest.id!r}")
    module = import_pack(directory, "checks")
    found = {fn.__check_name__: fn for fn in vars(module).values() if hasattr(fn, "__check_name__")}
    wanted = [c.name for c in manifest.checks]
    if set(found) != set(wanted):
        raise AssignmentError(f"{manifest.id}: manifest checks {sorted(wanted)} but checks.py defines {sorted(found)}")
    return Assignment(manifest, directory, {name: found[name] for name in wanted})


def import_pack(directory: Path, module: str) -> types.ModuleType:
    if PACKAGE not in sys.modules:
        root = types.ModuleType(PACKAGE)
        root.__path__ = []
        sys.modules[PACKAGE] = root
    # One package per folder, so two packs with the same id (a test's copy) never share modules.
    suffix = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:8]
    package = f"{PACKAGE}.{directory.name.replace('-', '_')}_{suffix}"
    if package not in sys.modules:
        pack = types.ModuleType(package)
        pack.__path__ = [str(directory)]
        sys.modules[package] = pack
    return importlib.import_module(f"{package}.{module}")
