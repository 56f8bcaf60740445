"""Uploads become files: .py, .ipynb, .zip and .md, with clear refusals."""

from __future__ import annotations

import io
import json
import stat
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
    assert "GBK" in bundle.notes[0]


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


def test_notebook_code_cells_are_joined_and_magics_dropped():
    bundle = load("hw.ipynb", notebook(("markdown", "# title"), ("code", ["%matplotlib inline\n", "x = 1\n"]),
                                       ("code", "!pip install torch\ny = x + 1")))
    source = bundle.files[ENTRY].decode()
    assert "x = 1" in source and "y = x + 1" in source and "%" not in source and "!pip" not in source
    assert "dropped 2 IPython magic" in bundle.notes[0]


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
