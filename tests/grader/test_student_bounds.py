"""What the checker takes in from one submission (``Student``'s bounds) and how a check that
raises on a returned value is told apart from a grader fault (``@check``)."""

from __future__ import annotations

import pytest
import torch

from grader import checks
from grader.i18n import render
from grader.sandbox import wire
from grader.student import Bounds, Student, StudentError, UncheckableValue


class CountingJob:
    """Answers every request with ``value`` and counts the requests."""

    caps = wire.Caps()

    def __init__(self, value):
        self.value, self.requests = value, 0

    def request(self, header, blobs=(), timeout_s=None):
        self.requests += 1
        tree, reply_blobs = wire.encode(self.value)
        return {"ok": True, "value": tree}, [bytearray(b) for b in reply_blobs]


def student_for(value, **bounds) -> tuple[Student, CountingJob]:
    job = CountingJob(value)
    student = Student(job, "submission.py", Bounds(**bounds))
    student.names = ["f"]
    return student, job


MEGABYTE = torch.zeros(1 << 18)  # 1 MiB of float32


def test_repeated_calls_are_answered_from_the_cache_within_its_bound():
    student, job = student_for(MEGABYTE, cache_bytes=4 << 20)
    for _ in range(3):
        student.call("f", 1)
    assert job.requests == 1


def test_values_over_the_cache_bound_are_asked_for_again():
    student, job = student_for(MEGABYTE, cache_bytes=(1 << 20) - 1)
    for _ in range(3):
        student.call("f", 1)
    assert job.requests == 3 and student.cache_bytes == 0


def test_decoded_bytes_are_bounded_across_the_calls_of_a_submission():
    student, _ = student_for(MEGABYTE, decoded_bytes=(5 << 20) // 2)
    student.call("f", 1)
    student.call("f", 2)
    with pytest.raises(StudentError, match="once rebuilt"):
        student.call("f", 3)


def test_items_read_from_one_value_are_bounded():
    student, _ = student_for(list(range(1000)), items=500)
    with pytest.raises(StudentError, match="too many items"):
        student.get("f")


# ---------------------------------------------------------------------------- @check

def check_that(body):
    return checks.check("probe")(lambda student, ctx: body(student))


def test_a_check_raising_on_a_returned_value_is_the_students_failure():
    student, _ = student_for([float("nan")])

    def body(student):
        values = student.call("f")
        return next(v for v in values if v > 0)  # StopIteration: no value passes
    with pytest.raises(UncheckableValue) as raised:
        check_that(body)(student, None)
    assert raised.value.type_name == "StopIteration"
    told = render(raised.value.feedback())
    assert "could not judge what your code returned" in told
    assert "checks.py" not in told and "in body" in raised.value.traceback
    assert render(raised.value.feedback(), "zh").startswith("评分程序无法判断你的代码返回的结果：检查时出现了 StopIteration")


def test_a_check_raising_before_any_answer_is_a_grader_fault():
    student, _ = student_for(1)
    with pytest.raises(ValueError):
        check_that(lambda student: int("not a number"))(student, None)


@pytest.mark.parametrize("error", [NameError, AssertionError, NotImplementedError, ImportError])
def test_errors_that_never_come_from_a_value_stay_grader_faults(error):
    student, _ = student_for(1)

    def body(student):
        student.call("f")
        raise error("a bug in the check")
    with pytest.raises(error):
        check_that(body)(student, None)


# ---------------------------------------------------------------------------- what the student is told

def test_a_missing_name_and_an_exception_are_told_in_chinese_and_english():
    student, _ = student_for(1)
    with pytest.raises(StudentError) as missing:
        student.call("g")
    assert render(missing.value.feedback()) == str(missing.value) == "your module does not define g"
    assert render(missing.value.feedback(), "zh") == "你的模块没有定义 g"
    raised = StudentError("f(...)", "ValueError", "bad input\nsecond line", 3, "submission.py")
    assert render(raised.feedback()) == "f(...) raised ValueError (line 3 of submission.py): bad input\nsecond line"
    assert render(raised.feedback(), "zh") == "f(...) 抛出了 ValueError（submission.py 第 3 行）：bad input\nsecond line"
    hidden = StudentError("f(...)", "SecretError", "the hidden input was 42", 3, "submission.py")
    assert render(hidden.feedback(show_message=False), "zh") == "f(...) 抛出了异常（submission.py 第 3 行）"
    assert "42" not in render(hidden.feedback(show_message=False))
