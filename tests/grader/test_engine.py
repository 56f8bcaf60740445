"""The engine on small packs made for each test, through the session's warm sandbox."""

from __future__ import annotations

import json
import logging
import textwrap

import pytest

from core import logs
from grader.assignments import Catalog
from grader.config import EngineSettings
from grader.engine import Grader, clamp_limits
from grader.manifest import Limits
from grader.sandbox.host import SandboxError
from grader.status import CheckStatus, SubmissionStatus

MANIFEST = """
id = "w9-demo"
week = 9
exports = ["answer"]
title = {{ zh = "演示", en = "Demo" }}
[limits]
wall_s = 20
check_s = 4
{checks}
"""

CHECKS_HEADER = "from grader.checks import check, failed, passed\n"


def check_entry(name: str, visibility: str = "visible", points: int = 1) -> str:
    return f'[[checks]]\nname = "{name}"\npoints = {points}\nvisibility = "{visibility}"\ndescription = "{name}"\n'


@pytest.fixture
def demo(grader, tmp_path, monkeypatch):
    """Install a throwaway pack: demo(checks_source, [(name, visibility)], extra_manifest)."""
    def install(checks_source: str, checks: list[tuple[str, str]], extra: str = ""):
        directory = tmp_path / "w9-demo"
        directory.mkdir(exist_ok=True)
        entries = "".join(check_entry(name, visibility) for name, visibility in checks)
        (directory / "manifest.toml").write_text(MANIFEST.format(checks=entries) + extra)
        (directory / "checks.py").write_text(CHECKS_HEADER + textwrap.dedent(checks_source))
        monkeypatch.setattr(grader, "catalog", Catalog(tmp_path))
        return lambda source, name="hw.py": grader.grade("w9-demo", name, source.encode() if isinstance(source, str)
                                                         else source)
    return install


def by_name(result) -> dict:
    return {t.name: t for t in result.tests}


def test_limits_are_clamped_to_operator_caps():
    settings = EngineSettings(max_wall_s=5, max_memory_mb=100)
    limits = clamp_limits(Limits(wall_s=60, check_s=30, memory_mb=4096, cpu_s=2), settings)
    assert (limits.wall_s, limits.check_s, limits.memory_mb, limits.cpu_s) == (5, 5, 100, 2)


def test_a_bug_in_a_check_is_an_internal_error_not_a_zero(demo):
    grade = demo("""
        @check("buggy")
        def buggy(student, ctx):
            return 1 / 0
    """, [("buggy", "visible")])
    result = grade("answer = 1\n")
    assert result.status == SubmissionStatus.internal_error
    assert "grader fault, not your code" in result.message and "ZeroDivisionError" in result.message


def test_checks_after_a_dead_job_run_in_a_fresh_one(demo):
    grade = demo("""
        @check("dies")
        def dies(student, ctx):
            return passed() if student.call("answer") else failed("no")

        @check("survives")
        def survives(student, ctx):
            return passed() if student.call("value") == 7 else failed("no")
    """, [("dies", "visible"), ("survives", "visible")])
    result = grade("import os\nvalue = lambda: 7\ndef answer():\n    os._exit(3)\n")
    tests = by_name(result)
    assert tests["dies"].status == CheckStatus.crashed and "status 3" in tests["dies"].feedback
    assert tests["survives"].status == CheckStatus.passed
    assert result.status == SubmissionStatus.graded and result.score == 1


def test_a_timeout_in_one_check_leaves_the_others(demo):
    grade = demo("""
        @check("slow")
        def slow(student, ctx):
            return passed() if student.call("answer") else failed("no")

        @check("quick")
        def quick(student, ctx):
            return passed() if student.call("quick") else failed("no")
    """, [("slow", "visible"), ("quick", "visible")])
    result = grade("def answer():\n    while True:\n        pass\ndef quick():\n    return True\n")
    tests = by_name(result)
    assert tests["slow"].status == CheckStatus.timeout and tests["quick"].status == CheckStatus.passed


def test_import_time_failure_is_an_error_with_the_traceback(demo):
    grade = demo("""
        @check("works")
        def works(student, ctx):
            return passed()
    """, [("works", "visible")])
    result = grade("answer = 1\nimport nonexistent_package\n")
    assert result.status == SubmissionStatus.error
    assert "ModuleNotFoundError" in result.message and "line 2" in result.message
    assert by_name(result)["works"].status == CheckStatus.skipped


def test_training_at_import_that_never_ends_is_a_timeout(demo):
    grade = demo("""
        @check("works")
        def works(student, ctx):
            return passed()
    """, [("works", "visible")])
    result = grade("answer = 1\nwhile True:\n    pass\n")
    assert result.status == SubmissionStatus.timeout and result.score == 0


def test_output_of_hidden_checks_is_kept_apart(demo):
    grade = demo("""
        @check("open")
        def open_(student, ctx):
            student.call("answer", "visible-input")
            return passed()

        @check("secret")
        def secret(student, ctx):
            student.call("answer", "hidden-input")
            return passed()
    """, [("open", "visible"), ("secret", "hidden")])
    result = grade("print('at import')\ndef answer(x):\n    print('got', x)\n")
    assert result.output.stdout == "at import\ngot visible-input\n"
    assert result.hidden_output.stdout == "got hidden-input\n"
    assert "hidden-input" not in result.for_student().model_dump_json()


def test_exception_messages_of_hidden_checks_are_not_shown(demo):
    grade = demo("""
        @check("secret")
        def secret(student, ctx):
            return passed() if student.call("answer", 123456) else failed("no")
    """, [("secret", "hidden")])
    result = grade("def answer(x):\n    raise ValueError(f'input was {x}')\n")
    test = by_name(result)["secret"]
    assert test.status == CheckStatus.error
    assert "123456" not in test.feedback and "ValueError" in test.feedback and "123456" in test.detail


def test_missing_names_are_named(demo):
    grade = demo("""
        @check("other")
        def other(student, ctx):
            return passed() if student.call("other") else failed("no")
    """, [("other", "visible")])
    result = grade("answer = 1\n")
    assert by_name(result)["other"].feedback == "your module does not define other"


def test_written_answers_are_pending_from_code_or_markdown(demo):
    grade = demo("""
        @check("works")
        def works(student, ctx):
            return passed()
    """, [("works", "visible")], extra='[[written]]\nname = "Q1"\npoints = 5\nprompt = { zh = "为什么", en = "Why" }\n')
    from_code = grade('answer = 1\nQ1 = """Because."""\n')
    assert by_name(from_code)["Q1"].status == CheckStatus.pending and from_code.answers == {"Q1": "Because."}
    assert (from_code.score, from_code.max_score, from_code.pending_max_score) == (1, 1, 5)
    from_markdown = grade(b"## Q1\nBecause, in Markdown.\n", name="answers.md")
    assert from_markdown.answers == {"Q1": "Because, in Markdown."}
    assert by_name(from_markdown)["works"].status == CheckStatus.skipped
    missing = grade("answer = 1\n")
    assert by_name(missing)["Q1"].status == CheckStatus.failed and "## Q1" in by_name(missing)["Q1"].feedback
    assert missing.pending_max_score == 0  # an unanswered question earns nothing and awaits nobody


def test_the_same_submission_gets_the_same_result_five_times(grader):
    source = (grader.catalog.reference_dir / "w1-normal-modes" / "selftest" / "bad_no_size.py").read_bytes()
    results = [grader.grade("w1-normal-modes", "hw.py", source) for _ in range(5)]
    summaries = {tuple((t.name, t.score, t.status, t.feedback) for t in r.tests) for r in results}
    assert len(summaries) == 1 and results[0].score == 25


def test_production_refuses_to_run_without_every_layer(tmp_path):
    settings = EngineSettings(environment="production", data_dir=tmp_path, sandbox_gpu=True, sandbox_slot=300)
    with pytest.raises(SandboxError, match="net_namespace"):
        Grader(settings).start()


STUB_CHECKS = """
    from grader.checks import mean_of

    @check("caught")
    def caught(student, ctx):  # the student's exception caught part by part (Context.attempt)
        return mean_of([ctx.attempt(lambda x=x: passed() if student.call("answer", x) == 2 * x else failed("no"))
                        for x in (1, 2)])

    @check("raised")
    def raised(student, ctx):  # ... or let through to the engine
        return passed() if student.call("answer", 3) == 6 else failed("no")

    @check("later")
    def later(student, ctx):
        return passed() if student.call("answer", 4) == 8 else failed("no")
"""


def test_a_stub_is_one_error_with_one_explanation_in_every_check_it_affects(demo):
    grade = demo(STUB_CHECKS, [("caught", "visible"), ("raised", "visible"), ("later", "hidden")])
    result = grade("def answer(x):\n    '''Twice x.'''\n    raise NotImplementedError\n")
    tests = by_name(result)
    assert {test.status for test in tests.values()} == {CheckStatus.error}
    assert tests["caught"].feedback == ("answer is not implemented yet: it still raises NotImplementedError "
                                        "(line 3 of submission.py)")
    assert tests["raised"].feedback == tests["later"].feedback == "answer is not implemented yet (see check caught)"
    assert tests["caught"].translations["zh"].feedback.startswith("answer 还没有实现")
    assert "line 3, in answer" in tests["caught"].detail
    assert [test.detail for test in (tests["raised"], tests["later"])] == [
        "NotImplementedError: the same exception as in check caught"] * 2


def test_one_cause_shows_its_traceback_once_and_the_other_checks_point_to_it(demo):
    grade = demo(STUB_CHECKS, [("caught", "visible"), ("raised", "visible"), ("later", "hidden")])
    result = grade("def helper(x):\n    return {}[x]\n\ndef answer(x):\n    return helper(x)\n")
    tests = by_name(result)
    assert {test.status for test in tests.values()} == {CheckStatus.error}  # the same cause, caught or not
    first = tests["caught"].feedback
    assert first.count("line 2, in helper") == 1 and "line 5, in answer" in first and "KeyError" in first
    for name in ("raised", "later"):
        feedback = tests[name].feedback
        assert "in helper" not in feedback and "KeyError" in feedback and "line 2 of submission.py" in feedback
        assert feedback.endswith("the same error as in check caught: its message and traceback are shown there")
        assert tests[name].detail == "KeyError: the same exception as in check caught"
    assert "line 2, in helper" in tests["caught"].detail
    assert "与检查项 caught 中的错误相同" in tests["later"].translations["zh"].feedback


def test_a_check_not_yet_shown_shows_no_traceback_and_a_partial_keeps_its_status(demo):
    grade = demo(STUB_CHECKS, [("raised", "visible"), ("caught", "after_due_date"), ("later", "hidden")])
    result = grade("def answer(x):\n    if x in (1, 4):\n        raise ValueError(f'no {x}')\n    return 2 * x\n")
    tests = by_name(result)
    assert tests["raised"].status == CheckStatus.passed and tests["raised"].detail == ""
    assert tests["caught"].status == CheckStatus.partial and tests["caught"].score == 0.5
    assert "in answer" not in tests["caught"].feedback and "line 3, in answer" in tests["caught"].detail
    assert tests["later"].status == CheckStatus.error and "in answer" not in tests["later"].feedback
    assert "see check" not in tests["later"].feedback and "ValueError" in tests["later"].feedback
    assert tests["later"].detail == "ValueError: the same exception as in check caught"


def test_an_exception_a_passing_check_expects_is_not_explained(demo):
    grade = demo("""
        from grader.student import StudentError

        @check("refuses")
        def refuses(student, ctx):
            try:
                student.call("answer", -1)
            except StudentError as exc:
                return passed() if exc.type_name == "ValueError" else failed("another exception")
            return failed("answer(-1) should raise ValueError")
    """, [("refuses", "visible")])
    test = by_name(grade("def answer(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n"))["refuses"]
    assert (test.status, test.feedback, test.detail) == (CheckStatus.passed, "", "")


def test_a_notebook_that_stops_at_a_leftover_cell_says_so_in_a_note(grader):
    import json as json_module

    path = grader.catalog.reference_dir / "w1-normal-modes" / "selftest" / "good_notebook.ipynb"
    notebook = json_module.loads(path.read_text(encoding="utf-8"))
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [],
                              "source": "import matplotlib.pyplot as plt\nplt.plot(history)  # a leftover"})
    result = grader.grade("w1-normal-modes", "hw.ipynb", json_module.dumps(notebook).encode())
    last = len(notebook["cells"])
    assert result.score == 32, "the definitions before the leftover cell are graded in full"
    assert any(f"stopped at cell {last}" in note for note in result.notes), result.notes
    assert any(f"第 {last} 个单元格" in note for note in result.localized("zh").notes)
    assert f'File "cell {last}", line 2' in result.output.stderr and "NameError" in result.output.stderr


def test_a_grader_traceback_goes_to_the_log_never_to_the_student(demo, caplog):
    grade = demo("""
        @check("buggy")
        def buggy(student, ctx):
            return 1 / 0
    """, [("buggy", "visible")])
    with caplog.at_level(logging.ERROR, logger="grader.engine"):
        result = grade("answer = 1\n")
    shown = result.for_student(show_hidden=True, show_after_due=True).model_dump_json()
    assert "ZeroDivisionError" in result.message and "Traceback" not in shown and "1 / 0" not in shown
    logged = [r for r in caplog.records if r.exc_info]
    assert logged, "the traceback is logged"
    line = json.loads(logs.formatter("json").format(logged[0]))
    assert line["level"] == "ERROR" and "Traceback" in line["exc_info"] and "return 1 / 0" in line["exc_info"]
