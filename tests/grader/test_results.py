"""What students see of a result: visibility applied."""

from __future__ import annotations

from grader import results
from grader.results import GradeResult, Output
from grader.status import CheckStatus, SubmissionStatus, Visibility


def sample() -> GradeResult:
    return GradeResult(
        assignment="w1-demo", submission="hw.py", status=SubmissionStatus.graded, score=5, max_score=9,
        tests=[results.TestResult(name="seen", score=2, max_score=2, status=CheckStatus.passed, detail="trace"),
               results.TestResult(name="secret", score=3, max_score=4, status=CheckStatus.partial,
                          visibility=Visibility.hidden, feedback="hidden input 42"),
               results.TestResult(name="later", score=0, max_score=3, status=CheckStatus.failed,
                          visibility=Visibility.after_due_date, feedback="after due")],
        answers={"Q1": "text"}, hidden_output=Output(stdout="hidden 42"))


def test_student_view_aggregates_hidden_and_drops_instructor_details():
    view = sample().for_student()
    names = [t.name for t in view.tests]
    assert names == ["seen", "hidden checks"]
    aggregate = view.tests[-1]
    assert (aggregate.score, aggregate.max_score, aggregate.status) == (3, 7, CheckStatus.partial)
    text = view.model_dump_json()
    assert "42" not in text and "after due" not in text and "trace" not in text and "Q1" not in text
    assert view.score == 5


def test_released_results_show_each_check():
    view = sample().for_student(show_hidden=True, show_after_due=True)
    assert [t.name for t in view.tests] == ["seen", "secret", "later"]
    assert view.hidden_output.stdout == ""
