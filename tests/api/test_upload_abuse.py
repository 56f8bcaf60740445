"""Abusive uploads: over the size cap (with and without a Content-Length), zip bombs, path
traversal and links in archives, archives that lie about their sizes or use unsupported
compression, thousands of files, non-UTF-8 source, notebooks with huge outputs or nested past
the parser's stack, and file names with control characters or non-Latin letters.  Each refused
upload gets a clear 4xx with the structured error, and nothing is stored or queued for it.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile

import pytest
from sqlalchemy import func, select

from core.models import Submission
from tests.api.conftest import bearer, submit

ANSWER = b"def answer():\n    return 42\n"
CENTRAL_DIRECTORY = b"PK\x01\x02"
LOCAL_HEADER = b"PK\x03\x04"


def archive(*members: tuple[str | zipfile.ZipInfo, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, content in members:
            z.writestr(name, content)
    return buffer.getvalue()


def patched(data: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    """``data`` with a field of every ``signature`` record (local header or central directory
    entry) overwritten: how a hand-made archive lies about itself."""
    patched_data = bytearray(data)
    at = patched_data.find(signature)
    while at >= 0:
        struct.pack_into(fmt, patched_data, at + offset, value)
        at = patched_data.find(signature, at + 4)
    return bytes(patched_data)


def stored_count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count(Submission.id)))


def assert_refused(response, status: int, code: str, phrase: str, sessions, before: int, queue) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and phrase in error["message"], error
    assert stored_count(sessions) == before and queue.sent == [], "nothing is stored or queued for a refused upload"


@pytest.fixture
def refused(client, course, sessions, queue):
    """``refused(filename, content, status, code, phrase)`` submits and checks the refusal."""
    def check(filename: str, content: bytes, status: int, code: str, phrase: str) -> None:
        before = stored_count(sessions)
        response = submit(client, course, course["students"][0], content=content, filename=filename)
        assert_refused(response, status, code, phrase, sessions, before, queue)
    return check


# ---------------------------------------------------------------------- size
def test_over_the_cap_with_a_content_length(refused, api_settings):
    refused("hw.py", b"#" * ((api_settings.max_upload_kb + 1) << 10), 413, "file_too_large", "the limit is")


def test_over_the_cap_streamed_without_a_content_length(client, course, sessions, queue, api_settings):
    boundary = b"hostile-boundary"
    head = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="hw.py"\r\n'
            b"Content-Type: text/x-python\r\n\r\n")

    def chunked_body():
        yield head
        for _ in range(max(api_settings.max_upload_kb, api_settings.max_notebook_kb) // 64 + 4):
            yield b"#" * (64 << 10)
        yield b"\r\n--" + boundary + b"--\r\n"

    before = stored_count(sessions)
    response = client.post("/api/v1/assignments/w0-service/submissions", content=chunked_body(),
                           headers={**bearer(course, course["students"][0]),
                                    "Content-Type": f"multipart/form-data; boundary={boundary.decode()}"})
    assert_refused(response, 413, "file_too_large", "larger than", sessions, before, queue)


def _notebook_with_outputs(kilobytes: int) -> bytes:
    output = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo" * (kilobytes * 1024 // 11)}}
    return json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "def answer():\n    return 42",
                                                 "outputs": [output]}]}).encode()


def test_a_notebook_is_held_to_the_cap_without_its_outputs(client, course, api_settings, queue):
    """Plots and printed tensors are stripped before the code's size is judged."""
    notebook = _notebook_with_outputs(api_settings.max_upload_kb * 2)
    assert len(notebook) > api_settings.max_upload_kb << 10
    response = submit(client, course, course["students"][0], content=notebook, filename="hw.ipynb")
    assert response.status_code == 202, response.text


def test_notebook_whose_outputs_exceed_the_notebook_cap(refused, api_settings):
    refused("hw.ipynb", _notebook_with_outputs(api_settings.max_notebook_kb + 64), 413, "file_too_large",
            "larger than")


# ---------------------------------------------------------------------- zip bombs and lies
def test_zip_bomb_by_ratio(refused):
    bomb = archive(("submission.py", ANSWER), ("weights.txt", b"0" * (25 << 20)))
    assert len(bomb) < 100 << 10
    refused("hw.zip", bomb, 422, "invalid_submission", "unpacks to")


def test_zip_that_understates_its_sizes(refused):
    honest = archive(("submission.py", ANSWER), ("data.txt", b"0" * (8 << 20)))
    lying = patched(patched(honest, CENTRAL_DIRECTORY, 24, "<I", 100), LOCAL_HEADER, 22, "<I", 100)
    refused("hw.zip", lying, 422, "invalid_submission", "could not be read")


def test_zip_that_claims_huge_sizes(refused):
    claiming = patched(archive(("submission.py", ANSWER)), CENTRAL_DIRECTORY, 24, "<I", 0xFFFFFFF0)
    refused("hw.zip", claiming, 422, "invalid_submission", "unpacks to")


def test_zip_with_an_unsupported_compression_method(refused):
    stored = archive(("submission.py", ANSWER), method=zipfile.ZIP_STORED)
    aes = patched(patched(stored, CENTRAL_DIRECTORY, 10, "<H", 99), LOCAL_HEADER, 8, "<H", 99)
    refused("hw.zip", aes, 422, "invalid_submission", "could not be read")


def test_encrypted_zip(refused):
    refused("hw.zip", patched(archive(("submission.py", ANSWER)), CENTRAL_DIRECTORY, 8, "<H", 0x1), 422,
            "invalid_submission", "encrypted")


def test_thousands_of_files_in_a_zip(refused):
    many = archive(("submission.py", ANSWER), *((f"data/{i}.txt", b"x") for i in range(3000)))
    refused("hw.zip", many, 422, "invalid_submission", "at most 200")


# ---------------------------------------------------------------------- traversal and links
@pytest.mark.parametrize("name", ["../submission.py", "/etc/cron.d/submission.py", "project/../../submission.py",
                                  "C:/submission.py", "..\\..\\submission.py", "project\\..\\..\\evil.py"])
def test_path_traversal_in_a_zip(refused, name):
    refused("hw.zip", archive(("submission.py", ANSWER), (name, b"x = 1\n")), 422, "invalid_submission",
            "points outside the project")


def test_symbolic_link_in_a_zip(refused):
    link = zipfile.ZipInfo("data/passwd")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    refused("hw.zip", archive(("submission.py", ANSWER), (link, b"/etc/passwd")), 422, "invalid_submission",
            "symbolic link")


def test_symbolic_link_as_the_entry_module(refused):
    link = zipfile.ZipInfo("submission.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    refused("hw.zip", archive((link, b"/work/main/reference/w0-service/reference.py")), 422, "invalid_submission",
            "symbolic link")


# ---------------------------------------------------------------------- text
@pytest.mark.parametrize("filename", ["hw.py", "hw.ipynb", "answers.md"])
def test_source_that_is_neither_utf8_nor_gbk(refused, filename):
    refused(filename, b"def answer():\n    return '\xff\xfe\xfd'\n", 422, "invalid_submission",
            "not text in UTF-8 or GBK")


def test_zip_entry_that_is_neither_utf8_nor_gbk(refused):
    refused("hw.zip", archive(("submission.py", b"x = '\xff\x80\xfe'\n")), 422, "invalid_submission",
            "not text in UTF-8 or GBK")


def test_notebook_nested_past_the_parser_stack(refused):
    refused("hw.ipynb", b"[" * 100_000 + b"]" * 100_000, 422, "invalid_submission", "not a valid .ipynb")


# ---------------------------------------------------------------------- file names
RAW_NAMES = [b"hw\x00.py", b"hw\t\x7f.py", b"\x1b[31mred\x1b[0m.py"]


@pytest.mark.parametrize("raw_name", RAW_NAMES)
def test_control_characters_in_the_file_name(client, course, raw_name):
    """Accepted, with the control characters dropped: PostgreSQL text cannot hold NUL, and the
    name goes back out in a Content-Disposition header."""
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + raw_name + b'"\r\n\r\n' + ANSWER
            + b"\r\n--b--\r\n")
    response = client.post("/api/v1/assignments/w0-service/submissions", content=body,
                           headers={**bearer(course, course["students"][0]),
                                    "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 202, response.text
    filename = response.json()["filename"]
    assert filename.endswith(".py") and not any(ord(ch) < 32 or ord(ch) == 127 for ch in filename)
    code = client.get(f"/api/v1/submissions/{response.json()['id']}/code", headers=bearer(course, "instructor"))
    assert code.status_code == 200 and code.content == ANSWER


def test_a_chinese_file_name_downloads(client, course):
    response = submit(client, course, course["students"][0], filename="作业1.py")
    assert response.status_code == 202 and response.json()["filename"] == "作业1.py"
    code = client.get(f"/api/v1/submissions/{response.json()['id']}/code", headers=bearer(course, "instructor"))
    assert code.status_code == 200 and code.content == ANSWER
    assert code.headers["content-disposition"] == "attachment; filename*=utf-8''%E4%BD%9C%E4%B8%9A1.py"


def test_a_file_name_of_thousands_of_characters(refused):
    refused("x" * 5000 + ".py", ANSWER, 400, "http_error", "Invalid multipart data")
