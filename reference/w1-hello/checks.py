"""Checks for w1-hello: the script is run once as ``__main__`` in a job without a GPU; one
check reads what it printed, the other how it ended."""

import re

import torch

from grader.checks import check, failed, passed
from grader.student import MainRun, StudentError

VERSION_LIKE = re.compile(r"\d+\.\d+(?:\.\d+)?[^\s'\",)]*")
GPU_WORDS = ("cuda", "nvidia", "gpu")
SHOWN_OUTPUT_CHARS = 200


def _needs_gpu(error: StudentError) -> bool:
    text = f"{error.message}\n{error.traceback}".lower()
    return any(word in text for word in GPU_WORDS)


def _gpu_advice(error: StudentError) -> str:
    line = f"line {error.line}" if error.line else "the line that raised"
    culprit = f"torch.cuda.get_device_name(0) ({line}), as in the course's hello script," \
        if "get_device_name" in error.traceback else line
    return (f"The grading machine has no GPU, and {culprit} needs one. Run the GPU lines only "
            f"when torch.cuda.is_available() is True, so the script also works without a GPU.")


def _what_was_printed(run: MainRun) -> str:
    shown = run.stdout.strip()
    if not shown and run.error is not None:
        return f"it printed nothing before it stopped with {run.error.type_name}"
    if not shown:
        return "it printed nothing (a bare expression such as torch.__version__ is shown in a notebook, " \
               "but a script must print() it; and a main() function runs only if the script calls it)"
    versions = sorted(set(VERSION_LIKE.findall(shown)))
    excerpt = shown[:SHOWN_OUTPUT_CHARS] + ("…" if len(shown) > SHOWN_OUTPUT_CHARS else "")
    found = f" (version-like text: {', '.join(versions)})" if versions else ""
    return f"it printed {excerpt!r}{found}"


@check("prints_torch_version")
def prints_torch_version(student, ctx):
    run = student.run_main_captured()
    if torch.__version__ in run.stdout:
        return passed()
    return failed(f"stdout should contain the installed torch version, {torch.__version__} "
                  f"(print(torch.__version__), not a version typed in by hand), but {_what_was_printed(run)}")


@check("runs_without_gpu")
def runs_without_gpu(student, ctx):
    run = student.run_main_captured()
    if run.error is not None:
        feedback = run.error.feedback(show_message=True)
        return failed(f"{feedback}\n{_gpu_advice(run.error)}" if _needs_gpu(run.error) else feedback)
    if run.exit_code != 0:
        return failed(f"the script exited with status {run.exit_code}, expected 0 (a script that cannot use "
                      f"a GPU should still finish normally)")
    return passed()
