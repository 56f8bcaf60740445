"""Turning an upload into the files a job installs: ``.py``, ``.ipynb``, ``.zip`` or ``.md``.

Everything here runs in the trusted process on untrusted bytes, so it only parses: JSON for
notebooks, the zip directory with strict limits for archives; nothing is executed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import posixpath
import re
import stat
import zipfile

from grader.i18n import Message, _

ZIP_MAX_FILES = 200
ZIP_MAX_TOTAL_BYTES = 20 << 20
ZIP_MAX_RATIO = 200
ZIP_IGNORED = re.compile(r"(^|/)(__MACOSX|__pycache__|\.git|\.ipynb_checkpoints)(/|$)|(^|/)(\.DS_Store|Thumbs\.db)$")
MAGIC_LINE = re.compile(r"^\s*(%|!)")
CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")  # PEP 263
HEADING = re.compile(r"^##\s+(\S+)\s*$", re.MULTILINE)
NOTEBOOK_CELLS = "notebook_cells"
# The entry module of a notebook: torchgrade's code, run in the student's sandboxed process.
NOTEBOOK_DRIVER = '''"""The notebook's code cells, run in order in this module's namespace (written by torchgrade)."""


def _torchgrade_run_cells(namespace, cells={cells!r}):
    import linecache
    import os
    import sys
    import traceback

    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), {folder!r})
    for number in cells:
        name = f"cell {{number}}"
        with open(os.path.join(folder, f"cell_{{number}}.py"), encoding="utf-8") as handle:
            source = handle.read()
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        try:
            exec(compile(source, name, "exec"), namespace)
        except Exception as error:
            if namespace.get("__name__") == "__main__":
                raise
            print(f"torchgrade: the notebook stopped at {{name}}; the cells after it were not run, and the "
                  f"checks use what the cells before it defined:", file=sys.stderr)
            traceback.print_exception(type(error), error, error.__traceback__.tb_next)
            return


_torchgrade_run_cells(globals())
del _torchgrade_run_cells
'''


class SubmissionError(Exception):
    """The upload cannot be graded as it is; the message tells the student why."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


@dataclasses.dataclass
class Bundle:
    files: dict[str, bytes]
    entry: str | None
    notes: list[Message]
    sha256: str
    answers: dict[str, str] = dataclasses.field(default_factory=dict)  # from a Markdown upload


def upload_cap(filename: str, max_bytes: int, max_notebook_bytes: int) -> int:
    """The largest upload of this name: a notebook may carry outputs (stripped before its code
    is held to ``max_bytes``)."""
    return max(max_notebook_bytes, max_bytes) if filename.lower().endswith(".ipynb") else max_bytes


def load_submission(filename: str, content: bytes, entry: str, max_bytes: int,
                    max_notebook_bytes: int | None = None) -> Bundle:
    cap = upload_cap(filename, max_bytes, max_notebook_bytes or max_bytes)
    if len(content) > cap:
        raise SubmissionError(_("{name} is {size} KB; the limit is {limit} KB", name=filename, size=len(content) // 1024,
                                limit=cap // 1024))
    if not content:
        raise SubmissionError(_("{name} is empty", name=filename))
    suffix = posixpath.splitext(filename.lower())[1]
    loaders = {".py": _from_python, ".ipynb": _from_notebook, ".zip": _from_zip, ".md": _from_markdown}
    if suffix not in loaders:
        raise SubmissionError(_("{name}: upload a .py file, a .ipynb notebook, a .zip of your project or a .md file "
                                "of written answers", name=filename))
    files, notes, answers = loaders[suffix](content, entry)
    code = sum(len(data) for name, data in files.items() if name != entry)  # the cells, not the driver
    if suffix == ".ipynb" and code > max_bytes:
        raise SubmissionError(_("the notebook's code is {size} KB without its outputs; the limit is {limit} KB",
                                size=code // 1024, limit=max_bytes // 1024))
    return Bundle(files, entry if files else None, notes, hashlib.sha256(content).hexdigest(), answers)


def decode_source(content: bytes, name: str, notes: list[str]) -> str:
    """UTF-8 text; files saved as GBK/GB18030 (common on Chinese Windows) are converted."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("gb18030")
    except UnicodeDecodeError:
        raise SubmissionError(_("{name} is not text in UTF-8 or GBK; save it as UTF-8 and upload it again",
                                name=name)) from None
    notes.append(_("{name} was saved as GBK/GB18030; it was converted to UTF-8 for grading", name=name))
    return text


def python_source(content: bytes, name: str, notes: list[str]) -> bytes:
    """Python source as UTF-8 bytes, read as Python reads it: in the encoding its first two
    lines declare (PEP 263, e.g. ``# -*- coding: gbk -*-``), else as ``decode_source`` guesses.
    A declaration left in converted text would make Python read the UTF-8 bytes in the old
    encoding, so it is rewritten to say utf-8 (on its own line: line numbers stay)."""
    declared = _coding_line(content.decode("latin-1").split("\n", 2))
    text = None
    if declared is not None:
        with contextlib.suppress(UnicodeDecodeError, LookupError):
            text = content.decode(declared[1]).removeprefix("\ufeff")
    if text is None:
        text = decode_source(content, name, notes)
    lines = text.split("\n", 2)
    found = _coding_line(lines)
    if found is not None:
        index, _ = found
        lines[index] = CODING.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + "utf-8", lines[index], count=1)
    return "\n".join(lines).encode()


def _coding_line(lines: list[str]) -> tuple[int, str] | None:
    """Which of the first two lines declares the encoding, and which (PEP 263: on line 2 only
    after a comment or a blank line)."""
    for index, line in enumerate(lines[:2]):
        match = CODING.match(line)
        if match:
            return index, match.group(1)
        if line.strip() and not line.lstrip().startswith("#"):
            return None
    return None


def _from_python(content: bytes, entry: str):
    notes: list[str] = []
    return {entry: python_source(content, entry, notes)}, notes, {}


def _from_notebook(content: bytes, entry: str):
    """Each code cell becomes a file of its own, run in order by a small driver (the entry
    module) as Jupyter would run them: tracebacks say "cell 7, line 3", and a cell that raises
    after the definitions stops the run there without losing them (imported as a module; run
    as a script, the error ends the script as it would)."""
    notes: list[str] = []
    try:
        notebook = json.loads(decode_source(content, "the notebook", notes))
        cells = [(number, _cell_source(cell)) for number, cell in enumerate(notebook["cells"], 1)
                 if cell.get("cell_type") == "code"]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise SubmissionError(_("the notebook is not a valid .ipynb file (nbformat 4 JSON with a list of cells)")) \
            from None
    files, dropped = {}, []
    for number, source in cells:
        lines = source.splitlines()
        dropped += [line.strip() for line in lines if MAGIC_LINE.match(line)]
        # A dropped line stays as a blank one: line numbers are the notebook's.
        files[f"{NOTEBOOK_CELLS}/cell_{number}.py"] = "\n".join("" if MAGIC_LINE.match(line) else line
                                                              for line in lines).encode() + b"\n"
    if dropped:
        shown = ", ".join(dropped[:3]) + (", ..." if len(dropped) > 3 else "")
        notes.append(_("dropped {count} IPython magic or shell line(s) from the notebook: {lines}",
                       count=len(dropped), lines=shown))
    files[entry] = NOTEBOOK_DRIVER.format(cells=[number for number, _ in cells], folder=NOTEBOOK_CELLS).encode()
    return files, notes, {}


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    if not isinstance(source, str):
        raise TypeError("cell source is not text")
    return source


def _from_zip(content: bytes, entry: str):
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = [m for m in archive.infolist() if not m.is_dir() and not ZIP_IGNORED.search(m.filename)]
    except (zipfile.BadZipFile, ValueError, OSError):
        raise SubmissionError(_("the .zip file is damaged or not a zip archive")) from None
    _check_members(members, len(content))
    prefix = _project_root(members, entry)
    files = {}
    try:
        for member in members:
            if member.filename.startswith(prefix):
                files[member.filename[len(prefix):]] = archive.read(member)
    except (zipfile.BadZipFile, RuntimeError, ValueError, OSError) as exc:
        raise SubmissionError(_("the .zip file could not be read ({problem})", problem=str(exc))) from None
    notes: list[str] = []
    files[entry] = python_source(files[entry], entry, notes)
    return files, notes, {}


def _check_members(members: list[zipfile.ZipInfo], archive_size: int) -> None:
    if len(members) > ZIP_MAX_FILES:
        raise SubmissionError(_("the .zip holds {count} files; at most {limit} are accepted", count=len(members),
                                limit=ZIP_MAX_FILES))
    total = sum(m.file_size for m in members)
    if total > ZIP_MAX_TOTAL_BYTES or total > ZIP_MAX_RATIO * max(archive_size, 1):
        raise SubmissionError(_("the .zip unpacks to {size} KB; at most {limit} MB are accepted", size=total // 1024,
                                limit=ZIP_MAX_TOTAL_BYTES >> 20))
    for member in members:
        name = member.filename
        parts = name.split("/")
        if name.startswith("/") or "\\" in name or ".." in parts or ":" in parts[0]:
            raise SubmissionError(_("the .zip entry {name!r} points outside the project", name=name))
        if stat.S_ISLNK(member.external_attr >> 16):
            raise SubmissionError(_("the .zip entry {name!r} is a symbolic link; links are not accepted", name=name))
        if member.flag_bits & 0x1:
            raise SubmissionError(_("the .zip is encrypted; upload it without a password"))


def _project_root(members: list[zipfile.ZipInfo], entry: str) -> str:
    """The folder inside the archive that holds the entry module ('' or 'project/')."""
    candidates = [m.filename for m in members if posixpath.basename(m.filename) == entry]
    shallowest = sorted(candidates, key=lambda n: n.count("/"))
    if not shallowest:
        raise SubmissionError(_("the .zip has no {entry}; this assignment imports your code from {entry}", entry=entry))
    if len(shallowest) > 1 and shallowest[0].count("/") == shallowest[1].count("/"):
        raise SubmissionError(_("the .zip has several {entry} files at the same depth; keep one", entry=entry))
    return shallowest[0][: -len(entry)]


def _from_markdown(content: bytes, entry: str):
    notes: list[str] = []
    text = decode_source(content, "the Markdown file", notes)
    return {}, notes, parse_answers(text)


def parse_answers(text: str) -> dict[str, str]:
    """``## Q2`` headings split a Markdown upload into answers."""
    matches = list(HEADING.finditer(text))
    answers = {}
    for match, following in zip(matches, matches[1:] + [None]):
        end = following.start() if following else len(text)
        answers[match.group(1)] = text[match.end():end].strip()
    return answers
