"""Checks of the service test pack.  ``grader_health`` raises (a grader fault, status
internal_error) once per marker file that the submission names in FAULT_MARKER."""

import os

from grader.checks import check, failed, passed


def _answer_is_42(student):
    value = student.call("answer")
    return passed() if value == 42 else failed(f"answer() returned {value!r}, expected 42")


@check("answer_visible")
def answer_visible(student, ctx):
    return _answer_is_42(student)


@check("answer_hidden")
def answer_hidden(student, ctx):
    return _answer_is_42(student)


@check("grader_health")
def grader_health(student, ctx):
    if student.has("FAULT_MARKER"):
        marker = student.get("FAULT_MARKER")
        if os.path.exists(marker):
            os.remove(marker)
            raise OSError("injected grader fault: the checker could not read its files")
    return passed()
