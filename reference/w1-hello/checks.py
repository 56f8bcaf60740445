"""Checks for w1-hello: the script is run once as ``__main__`` in a job without a GPU; one
check reads what it printed, the other how it ended."""

import re

import torch

from grader.checks import check, failed, passed
from grader.i18n import Text, catalogue_beside
from grader.student import MainRun, StudentError

VERSION_LIKE = re.compile(r"\d+\.\d+(?:\.\d+)?[^\s'\",)]*")
GPU_WORDS = ("cuda", "nvidia", "gpu")
SHOWN_OUTPUT_CHARS = 200

_ = catalogue_beside(__file__)


def _needs_gpu(error: StudentError) -> bool:
    text = f"{error.message}\n{error.traceback}".lower()
    return any(word in text for word in GPU_WORDS)


def _gpu_advice(error: StudentError) -> Text:
    line = _("line {line}", line=error.line) if error.line else _("the line that raised")
    culprit = _("torch.cuda.get_device_name(0) ({line}), as in the course's hello script,", line=line) \
        if "get_device_name" in error.traceback else line
    return _("The grading machine has no GPU, and {culprit} needs one. Run the GPU lines only when "
             "torch.cuda.is_available() is True, so the script also works without a GPU.", culprit=culprit)


def _what_was_printed(run: MainRun) -> Text:
    shown = run.stdout.strip()
    if not shown and run.error is not None:
        return _("it printed nothing before it stopped with {error}", error=run.error.type_name)
    if not shown:
        return _("it printed nothing (a bare expression such as torch.__version__ is shown in a notebook, but a "
                 "script must print() it; and a main() function runs only if the script calls it)")
    versions = sorted(set(VERSION_LIKE.findall(shown)))
    excerpt = shown[:SHOWN_OUTPUT_CHARS] + ("…" if len(shown) > SHOWN_OUTPUT_CHARS else "")
    if versions:
        return _("it printed {excerpt!r} (version-like text: {versions})", excerpt=excerpt,
                 versions=", ".join(versions))
    return _("it printed {excerpt!r}", excerpt=excerpt)


@check("prints_torch_version")
def prints_torch_version(student, ctx):
    run = student.run_main_captured()
    if torch.__version__ in run.stdout:
        return passed()
    return failed(_("stdout should contain the installed torch version, {version} (print(torch.__version__), not a "
                    "version typed in by hand), but {printed}", version=torch.__version__,
                    printed=_what_was_printed(run)))


@check("runs_without_gpu")
def runs_without_gpu(student, ctx):
    run = student.run_main_captured()
    if run.error is not None:
        feedback = run.error.feedback(show_message=True)
        return failed(Text.join("\n", [feedback, _gpu_advice(run.error)]) if _needs_gpu(run.error) else feedback)
    if run.exit_code != 0:
        return failed(_("the script exited with status {code}, expected 0 (a script that cannot use a GPU should "
                        "still finish normally)", code=run.exit_code))
    return passed()
