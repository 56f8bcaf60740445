"""The difference between two uploads (the student's history page, the staff's student page):
the files each one grades, as text, compared line by line with difflib.  Returned as data (kind,
text); the templates escape it (``_diff.html``)."""

from __future__ import annotations

import dataclasses
import difflib
import io
import json
import posixpath
import zipfile

MAX_FILE_BYTES = 1 << 20
MAX_FILES = 50


@dataclasses.dataclass(frozen=True)
class Line:
    kind: str    # "add", "del", "hunk", "same", "file"
    text: str


def sources(filename: str, content: bytes) -> dict[str, str]:
    """The text files of an upload, by name: a .py (or .md) as it is, a notebook's code cells
    (``# In[n]`` before each), a .zip's .py, .md and .txt files.  Undecodable bytes are replaced."""
    suffix = posixpath.splitext(filename.lower())[1]
    if suffix == ".ipynb":
        return {filename: _notebook_code(content)}
    if suffix == ".zip":
        return _zip_texts(content)
    return {filename: _text(content)}


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("gb18030", errors="replace")


def _notebook_code(content: bytes) -> str:
    try:
        cells = json.loads(content).get("cells", [])
    except (ValueError, AttributeError):
        return _text(content)
    parts = []
    for number, cell in enumerate(c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"):
        source = cell.get("source", "")
        parts.append(f"# In[{number + 1}]\n" + ("".join(source) if isinstance(source, list) else str(source)))
    return "\n\n".join(parts)


def _zip_texts(content: bytes) -> dict[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir() and m.file_size <= MAX_FILE_BYTES
                       and m.filename.lower().endswith((".py", ".md", ".txt"))][:MAX_FILES]
            return {m.filename: _text(archive.read(m)) for m in members}
    except (zipfile.BadZipFile, RuntimeError, ValueError, OSError, NotImplementedError):
        return {}


def between(old: dict[str, str], new: dict[str, str], context: int = 3) -> list[Line]:
    """A unified diff of two uploads' files (``sources``); a file only one of them has is all
    added or all removed (but two single-file uploads are compared whatever their names);
    empty: no difference."""
    if len(old) == len(new) == 1 and old.keys() != new.keys():
        (old_name, before), (new_name, after) = *old.items(), *new.items()
        old, new = {f"{old_name} → {new_name}": before}, {f"{old_name} → {new_name}": after}
    lines: list[Line] = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name, "").splitlines(), new.get(name, "").splitlines()
        changes = list(difflib.unified_diff(before, after, lineterm="", n=context))[2:]
        if not changes:
            continue
        lines.append(Line("file", name))
        lines.extend(_line(change) for change in changes)
    return lines


def _line(change: str) -> Line:
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    return Line(kinds.get(change[:1], "same"), change)


def of_submissions(older, newer) -> list[Line]:
    """Two stored submissions (``core.models.Submission``) compared: ``between`` their ``sources``."""
    return between(sources(older.filename, older.content), sources(newer.filename, newer.content))
