"""Uploads become files: .py, .ipynb, .zip and .md, with clear refusals."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import zipfile

import pytest

from grader.submission import SubmissionError, load_submission, parse_answers

ENTRY = "my_dataset.py"
CAP = 1 << 20


def load(name: str, content: bytes):
    return load_submission(name, content, ENTRY, CAP)


def zipped(files: dict[str, bytes], symlinks: dict[str, str] = {}) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in symlinks.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def notebook(*cells) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": kind, "metadata": {}, "source": source} for kind, source in cells]}).encode()


def test_python_file_is_installed_under_the_entry_name():
    bundle = load("homework1.py", b"x = 1\n")
    assert bundle.files == {ENTRY: b"x = 1\n"} and bundle.entry == ENTRY and len(bundle.sha256) == 64


def test_gbk_source_is_converted_with_a_note():
    bundle = load("hw.py", "# 数据集\nx = 1\n".encode("gbk"))
    assert bundle.files[ENTRY].decode() == "# 数据集\nx = 1\n"
    assert "GBK" in str(bundle.notes[0])


@pytest.mark.parametrize("declaration", ["# -*- coding: gbk -*-", "# vim: set fileencoding=gb2312 :",
                                         "#!/usr/bin/env python\n# coding=gbk"])
def test_a_declared_encoding_is_honoured_and_rewritten_to_utf8(declaration):
    source = f"{declaration}\nname = '数据集'\n"
    bundle = load("hw.py", source.encode("gbk"))
    lines = bundle.files[ENTRY].decode().splitlines()
    assert "name = '数据集'" in lines and len(lines) == source.count("\n"), "same text, same line numbers"
    assert [line for line in lines if "coding" in line][0].endswith(("utf-8 -*-", "utf-8 :", "utf-8"))
    namespace: dict = {}
    exec(compile(bundle.files[ENTRY], "hw.py", "exec"), namespace)  # Python reads the bytes as the file says
    assert namespace["name"] == "数据集"


def test_a_declaration_after_code_is_not_one():
    bundle = load("hw.py", "x = 1\n# coding: latin-1\ny = '数据'\n".encode())
    assert bundle.files[ENTRY].decode() == "x = 1\n# coding: latin-1\ny = '数据'\n"


def test_binary_garbage_is_refused():
    with pytest.raises(SubmissionError, match="UTF-8"):
        load("hw.py", bytes([0x80, 0x81, 0xFF]) * 10)


def test_notebook_cells_become_files_run_in_order_and_magics_dropped():
    bundle = load("hw.ipynb", notebook(("markdown", "# title"), ("code", ["%matplotlib inline\n", "x = 1\n"]),
                                       ("code", "!pip install torch\ny = x + 1")))
    assert bundle.files["notebook_cells/cell_2.py"].decode() == "\nx = 1\n", "a dropped line stays blank"
    assert bundle.files["notebook_cells/cell_3.py"].decode() == "\ny = x + 1\n"
    assert "dropped 2 IPython magic" in str(bundle.notes[0])
    names, _ = run_notebook(bundle, "x", "y")
    assert names == {"x": 1, "y": 2}


def run_notebook(bundle, *names: str, as_script: bool = False):
    """Import the bundle's entry in a fresh interpreter (as the sandbox's runner does): the
    values of ``names`` it defines, and what it printed to stderr (or the exit status)."""
    with tempfile.TemporaryDirectory() as folder:
        for relative, data in bundle.files.items():
            path = os.path.join(folder, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
        if as_script:
            done = subprocess.run([sys.executable, ENTRY], cwd=folder, capture_output=True, text=True)
            return done.returncode, done.stderr
        program = (f"import json, my_dataset as m; print(json.dumps({{n: getattr(m, n) for n in {list(names)!r} "
                   f"if hasattr(m, n)}}))")
        done = subprocess.run([sys.executable, "-c", program], cwd=folder, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout), done.stderr


def test_a_failing_leftover_cell_stops_the_notebook_but_keeps_what_came_before():
    bundle = load("hw.ipynb", notebook(("code", "def answer():\n    return 42"), ("markdown", "## plots"),
                                       ("code", "import math\nplot(history)  # a leftover cell"),
                                       ("code", "after = 1")))
    names, stderr = run_notebook(bundle, "after")
    assert names == {}, "the cells after the failing one did not run"
    assert "stopped at cell 3" in stderr and 'File "cell 3", line 2' in stderr and "NameError" in stderr
    assert "_torchgrade" not in stderr, "the traceback starts at the student's cell"


def test_a_notebook_run_as_a_script_fails_as_a_script_would():
    status, stderr = run_notebook(load("hw.ipynb", notebook(("code", "x = 1"), ("code", "1 / 0"))), as_script=True)
    assert status == 1 and 'File "cell 2", line 1' in stderr and "ZeroDivisionError" in stderr


def test_a_function_from_a_cell_has_its_source():
    bundle = load("hw.ipynb", notebook(("code", "def double(x):\n    return 2 * x\n"),
                                       ("code", "import inspect\nsource = inspect.getsource(double)")))
    names, _ = run_notebook(bundle, "source")
    assert names == {"source": "def double(x):\n    return 2 * x\n"}


def test_outputs_are_stripped_before_the_code_is_held_to_the_cap():
    output = {"output_type": "stream", "name": "stdout", "text": "x" * 4096}
    content = json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "y = 2", "outputs": [output]}]})
    bundle = load_submission("hw.ipynb", content.encode(), ENTRY, 1024, 1 << 20)
    assert "y = 2" in bundle.files["notebook_cells/cell_1.py"].decode()
    with pytest.raises(SubmissionError, match="without its outputs"):
        load_submission("hw.ipynb", json.dumps({"nbformat": 4, "cells": [
            {"cell_type": "code", "source": "#" * 2048}]}).encode(), ENTRY, 1024, 1 << 20)
    with pytest.raises(SubmissionError, match="the limit is 1 KB"):
        load_submission("hw.py", b"#" * 2048, ENTRY, 1024, 1 << 20)


def test_broken_notebook_is_refused():
    with pytest.raises(SubmissionError, match="not a valid .ipynb"):
        load("hw.ipynb", b"{\"cells\": 3}")


def test_zip_project_root_is_the_folder_of_the_entry_module():
    bundle = load("project.zip", zipped({"project/my_dataset.py": b"import helpers\n", "project/helpers.py": b"",
                                         "__MACOSX/._x": b"", "project/.DS_Store": b""}))
    assert set(bundle.files) == {ENTRY, "helpers.py"}


@pytest.mark.parametrize(("files", "message"), [
    ({"other.py": b""}, "has no my_dataset.py"),
    ({"../my_dataset.py": b""}, "outside the project"),
    ({"/abs/my_dataset.py": b""}, "outside the project"),
    ({f"f{i}.py": b"" for i in range(300)} | {ENTRY: b""}, "at most 200"),
    ({ENTRY: b"", "a/" + ENTRY: b"", "b/" + ENTRY: b"", }, None),
])
def test_zip_refusals(files, message):
    if message is None:
        assert load("p.zip", zipped(files)).files[ENTRY] == b""
        return
    with pytest.raises(SubmissionError, match=message):
        load("p.zip", zipped(files))


def test_zip_with_a_symlink_is_refused():
    with pytest.raises(SubmissionError, match="symbolic link"):
        load("p.zip", zipped({ENTRY: b""}, symlinks={"data": "/etc"}))


def test_zip_bomb_is_refused():
    with pytest.raises(SubmissionError, match="unpacks to"):
        load("p.zip", zipped({ENTRY: b"", "bomb.txt": b"0" * (30 << 20)}))


def test_damaged_zip_is_refused():
    with pytest.raises(SubmissionError, match="damaged"):
        load("p.zip", b"PK\x03\x04 not really")


def test_markdown_gives_answers_and_no_code():
    bundle = load("answers.md", "intro\n## Q2\n张量是多维数组。\n\n## Q3\nVariable wraps data.\n".encode())
    assert bundle.files == {} and bundle.entry is None
    assert bundle.answers == {"Q2": "张量是多维数组。", "Q3": "Variable wraps data."}


@pytest.mark.parametrize(("name", "content", "message"), [
    ("hw.txt", b"x", "upload a .py file"),
    ("hw.py", b"", "is empty"),
    ("hw.py", b"x" * (CAP + 1), "the limit is"),
])
def test_other_refusals(name, content, message):
    with pytest.raises(SubmissionError, match=message):
        load(name, content)


def test_answers_without_headings_are_empty():
    assert parse_answers("just text") == {}
