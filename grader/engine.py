"""The grading engine: one warm sandbox, many submissions, a ``GradeResult`` for each.

    with Grader() as grader:
        result = grader.grade("w1-normal-modes", "hw1.py", source_bytes)

Student failures become verdicts; a fault of the grader or the sandbox becomes a result
with status ``internal_error`` (the worker retries it), never a silent zero.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import signal
import threading
import time
import traceback
from typing import Callable

import torch

from grader import checks, hidden_data
from grader.assignments import Assignment, Catalog
from grader.compare import source as source_reading
from grader.config import EngineSettings, get_settings
from grader.i18n import SOURCE_LANGUAGE, Message, Text, _, render
from grader.manifest import CheckSpec, Limits, Said
from grader.results import WRITTEN_PENDING, Environment, GradeResult, Output, TestResult, Timings
from grader.sandbox import confine
from grader.sandbox.host import JobDied, JobLimits, Sandbox, SandboxConfig, SandboxError
from grader.status import CheckStatus, SubmissionStatus, Visibility
from grader.student import Bounds, CheckerOverrun, Student, StudentError, UncheckableValue
from grader.submission import NOTEBOOK_CELLS, Bundle, SubmissionError, load_submission

NOTEBOOK_STOPPED = re.compile(r"^torchgrade: the notebook stopped at cell (\d+);", re.MULTILINE)
log = logging.getLogger(__name__)

VISIBILITY_ORDER = {Visibility.visible: 0, Visibility.after_due_date: 1, Visibility.hidden: 2}
MAX_RESTARTS = 8
VIEW_ERROR = "view size is not compatible with input tensor's size and stride"  # torch's, on .view of a strided tensor
CAPPED_LIMITS = {"wall_s": "max_wall_s", "check_s": "max_wall_s", "cpu_s": "max_cpu_s", "memory_mb": "max_memory_mb",
                 "processes": "max_processes", "file_size_mb": "max_file_size_mb", "tmp_mb": "max_tmp_mb",
                 "output_kb": "max_output_kb", "message_mb": "max_message_mb"}

ProgressCallback = Callable[[TestResult], None]


def clamp_limits(limits: Limits, settings: EngineSettings) -> Limits:
    """Per-assignment limits never exceed the operator's caps."""
    return limits.model_copy(update={field: min(getattr(limits, field), getattr(settings, cap))
                                     for field, cap in CAPPED_LIMITS.items()})


def sandbox_config(settings: EngineSettings) -> SandboxConfig:
    required = frozenset(confine.ALL_LAYERS) - settings.sandbox_allow_missing_layers if settings.production \
        else frozenset()
    return SandboxConfig(slot=settings.sandbox_slot, uid_base=settings.sandbox_uid_base, required_layers=required,
                         gpu=settings.sandbox_gpu, forbidden_paths=(str(settings.reference_dir), str(settings.data_dir)),
                         cpu_weight=settings.sandbox_cpu_weight, cpu_cores=settings.sandbox_cpu_cores)


class Grader:
    def __init__(self, settings: EngineSettings | None = None, catalog: Catalog | None = None):
        self.settings = settings or get_settings()
        self.catalog = catalog or Catalog(self.settings.reference_dir)
        self.sandbox: Sandbox | None = None

    def start(self) -> "Grader":
        # Checks (reference fits, statistics) run on one thread: workers run one per core, and
        # torch's own pool stalled for up to a second on a loaded machine.
        torch.set_num_threads(1)
        self.sandbox = Sandbox(sandbox_config(self.settings)).start()
        missing = self.sandbox.missing_layers()
        if missing:
            if self.settings.production and set(missing) - self.settings.sandbox_allow_missing_layers:
                self.close()
                raise SandboxError(f"refusing to grade in production without sandbox layers: {missing}")
            log.warning("sandbox layers unavailable on this host: %s", missing)
        return self

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None

    def __enter__(self) -> "Grader":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def environment(self) -> Environment:
        layers = self.sandbox.layers if self.sandbox else {}
        return Environment(torch=self.sandbox.info.get("torch", "") if self.sandbox else "",
                           python=self.sandbox.info.get("python", "") if self.sandbox else "",
                           device="cuda" if self.settings.sandbox_gpu else "cpu",
                           sandbox_layers=sorted(k for k, v in layers.items() if v is None),
                           missing_layers=self.sandbox.missing_layers() if self.sandbox else {})

    def grade(self, assignment_id: str, filename: str, content: bytes,
              on_progress: ProgressCallback | None = None) -> GradeResult:
        assignment = self.catalog.get(assignment_id)
        if self.sandbox is None or not self.sandbox.alive:
            self.close()
            self.start()
        return GradingRun(self, assignment, filename, content, on_progress).execute()


class GradingRun:
    """One submission through one assignment's checks."""

    def __init__(self, grader: Grader, assignment: Assignment, filename: str, content: bytes,
                 on_progress: ProgressCallback | None):
        self.grader = grader
        self.assignment = assignment
        self.manifest = assignment.manifest
        self.filename = filename
        self.content = content
        self.on_progress = on_progress or (lambda test: None)
        self.limits = clamp_limits(self.manifest.limits, grader.settings)
        self.started = time.monotonic()
        self.deadline = self.started + self.limits.wall_s
        self.student: Student | None = None
        self.bundle: Bundle | None = None
        self.restarts = 0
        self.output = {"visible": Output(), "hidden": Output()}
        self.answers: dict[str, str] = {}
        self.data = None
        self.source: source_reading.Source | None = None
        self.bounds = Bounds.from_settings(grader.settings)
        self.decoded = 0            # bytes rebuilt from this submission's values, over all its jobs
        self.checker_cpu_s = 0.0    # CPU time the checker spent on this submission's checks
        self.overrun = False
        self.timings = Timings()
        self.causes: dict[tuple, Cause] = {}  # the student's exceptions met so far, by where they were raised

    # ------------------------------------------------------------------ the run
    def execute(self) -> GradeResult:
        try:
            return self._execute()
        except Exception as exc:  # a fault of the grader or the sandbox, not of the student
            return self._internal_error(exc)
        finally:
            if self.student is not None:
                self.student.job.close()

    def _execute(self) -> GradeResult:
        try:
            self.bundle = load_submission(self.filename, self.content, self.manifest.entry,
                                          self.grader.settings.max_upload_kb << 10,
                                          self.grader.settings.max_notebook_kb << 10)
        except SubmissionError as exc:
            return self._result(SubmissionStatus.error, message=str(exc))
        if self.manifest.hidden_data:
            self.data = hidden_data.prepare(self.assignment, self.grader.settings.data_dir)
        failure = self._open() if self.bundle.files else None
        if failure is not None:
            return failure
        tests = [self._run_check(spec) for spec in self._ordered_checks()]
        tests += self._written_answers()
        return self._result(SubmissionStatus.graded, tests=tests)

    def _ordered_checks(self) -> list[CheckSpec]:
        return sorted(self.manifest.checks, key=lambda c: VISIBILITY_ORDER[c.visibility])

    # ------------------------------------------------------------------ the job
    def _open(self) -> GradeResult | None:
        """Start a job, install the files and import the module.  Returns a result when the
        submission fails before any check can run."""
        try:
            self.student = self._start_job()
            if self.manifest.kind == "module":
                started = time.monotonic()
                self.student.import_module()
                self.timings.import_s = round(time.monotonic() - started, 4)
                self._collect_output(Visibility.visible)
        except StudentError as exc:
            self._collect_output(Visibility.visible)
            return self._result(SubmissionStatus.error, message=_import_failure(exc, self.manifest.entry))
        except JobDied as died:
            if self.student is not None:  # what it printed before it died tells the student why
                self._collect_output(Visibility.visible)
            return self._result(SubmissionStatus(died.kind),
                                message=_("while importing your code: {detail}", detail=died.detail))
        if self.manifest.kind == "module" and self.manifest.exports \
                and not any(self.student.has(name) for name in self.manifest.exports):
            return self._result(SubmissionStatus.error, message=_(
                "your module defines none of {names}; is this the file for {assignment}?",
                names=", ".join(self.manifest.exports), assignment=self.manifest.id))
        return None

    def _start_job(self) -> Student:
        if self.data and self.grader.sandbox.layers.get("mount_namespace") is not None:
            raise SandboxError(f"{self.manifest.id} lays hidden data into the job, which needs a mount namespace")
        started = time.monotonic()
        limits = self.limits
        job = self.grader.sandbox.job(
            JobLimits(wall_s=max(self.deadline - time.monotonic(), 0.001), cpu_s=limits.cpu_s,
                      memory_mb=limits.memory_mb, processes=limits.processes, file_size_mb=limits.file_size_mb,
                      open_files=limits.open_files, tmp_mb=limits.tmp_mb, output_kb=limits.output_kb,
                      message_mb=limits.message_mb),
            seed=0,
            data_mounts={hidden_data.JOB_DATA_DIR: str(self.data / "mounted")} if self.data else None)
        student = Student(job, self.manifest.entry, self.bounds, decoded=self.decoded)
        job.set_budget(limits.check_s, self.grader.settings.sandbox_wall_backstop, self.deadline)
        student.install(self.bundle.files)
        self.timings.start_s += round(time.monotonic() - started, 4)
        return student

    def _restart(self, visibility: Visibility) -> None:
        """After the job died in a check, start a fresh one for the checks that remain."""
        self._collect_output(visibility)
        self.student.job.close()
        self.decoded = self.student.decoded
        self.student = None
        if self.restarts >= MAX_RESTARTS or time.monotonic() >= self.deadline or self.overrun:
            return
        self.restarts += 1
        try:
            student = self._start_job()
            if self.manifest.kind == "module":
                student.import_module()
                student.job.take_output()
            self.student = student
        except (StudentError, JobDied):
            pass

    # ------------------------------------------------------------------ checks
    def _run_check(self, spec: CheckSpec) -> TestResult:
        started = time.monotonic()
        if not self.bundle.files:
            test = self._test(spec, CheckStatus.skipped, _("not run: a Markdown upload holds written answers only; "
                                                           "submit your code (.py, .ipynb or .zip) for this check"))
        elif self.overrun:
            test = self._test(spec, CheckStatus.skipped, _("not run: the grader's own time for this submission was "
                                                           "used up checking what it returned"))
        elif self.student is None:
            test = self._test(spec, CheckStatus.skipped, _("not run: the submission used up its time or restarts"))
        else:
            self.student.job.set_budget(self.limits.check_s, self.grader.settings.sandbox_wall_backstop, self.deadline)
            test = self._judge(spec)
            if self.student is not None:
                self._collect_output(spec.visibility)
        self.timings.checks_s = round(self.timings.checks_s + time.monotonic() - started, 4)
        self.on_progress(test)
        return test

    def _judge(self, spec: CheckSpec) -> TestResult:
        visible = spec.visibility == Visibility.visible
        context = checks.Context(self.manifest.id, spec.name, visible=visible, directory=self.assignment.directory,
                                 data_dir=hidden_data.JOB_DATA_DIR if self.data else None,
                                 private_dir=self.data / "private" if self.data else None,
                                 cache_dir=self.grader.settings.data_dir / "cache", source=self._source())
        budget = self.grader.settings.max_checker_cpu_s - self.checker_cpu_s
        started = time.process_time()
        self.student.cpu_deadline = started + budget
        first_raised = len(self.student.raised)
        try:
            with cpu_budget(budget):
                verdict = self.assignment.checks[spec.name](self.student, context)
        except CheckerOverrun:
            self.overrun = True
            self._restart(spec.visibility)  # the channel may be mid-message: this job is done
            return self._test(spec, CheckStatus.timeout, _(
                "the grader spent the {seconds:g} s of CPU time it gives one submission checking what your code "
                "returned; return values of the size the exercise asks for",
                seconds=self.grader.settings.max_checker_cpu_s))
        except StudentError as exc:
            status = CheckStatus.memory if exc.kind == "memory" else CheckStatus.error
            met = [error for error in self.student.raised[first_raised:] if error is not exc] + [exc]
            cause = self.causes.get(_cause_key(exc))
            said_before = cause is not None and cause.shown is not None  # its message too: say where it happened
            feedback, detail = self._explain(spec, exc.feedback(show_message=visible and not said_before), met,
                                             scored=False)
            return self._test(spec, status, feedback, detail=detail)
        except JobDied as died:
            self._restart(spec.visibility)
            return self._test(spec, CheckStatus(died.kind), died.detail)
        finally:
            self.checker_cpu_s += time.process_time() - started
            if self.student is not None:
                self.student.cpu_deadline = None
        if not isinstance(verdict, checks.Verdict):
            raise TypeError(f"check {spec.name} returned {type(verdict).__name__}, not a Verdict")
        met = self.student.raised[first_raised:] if self.student is not None else []
        status, feedback, detail = verdict.status, verdict.feedback, ""
        if met and not verdict.ok:
            if verdict.fraction <= 0.0:  # nothing earned, and the student's code raised: its error is the cause
                status = CheckStatus.memory if all(error.kind == "memory" for error in met) else CheckStatus.error
            feedback, detail = self._explain(spec, feedback, met, scored=verdict.fraction > 0.0)
        return self._test(spec, status, feedback, score=round(spec.points * verdict.fraction, 4), detail=detail)

    def _explain(self, spec: CheckSpec, feedback: Message, met: list[StudentError],
                 scored: bool) -> tuple[Message, str]:
        """A check's feedback and instructor detail when the student's code raised in it.  One
        cause (an exception raised at one place) is explained once: its traceback in the first
        visible check it affects, a pointer to that check in the others.  A stub (every error
        a ``NotImplementedError``, nothing earned) is said to be one, in place of the check's
        own lines about it."""
        causes: dict[tuple, StudentError] = {}
        for error in met:
            causes.setdefault(_cause_key(error), error)
        visible = spec.visibility == Visibility.visible
        stub = not scored and all(error.type_name == "NotImplementedError" for error in causes.values())
        parts: list[Message] = [] if stub else [feedback]
        details = []
        for key, error in causes.items():
            traced = bool(error.traceback.strip()) and not isinstance(error, UncheckableValue)
            cause = self.causes.get(key) if traced else None
            if cause is None:
                details.append(f"{error.type_name}: {error.message}\n{error.traceback}".rstrip())
            else:
                details.append(f"{error.type_name}: the same exception as in check {cause.first}")
            if stub:
                parts.append(_stub_feedback(error, cause))
            elif cause is not None and cause.shown:
                parts.append(_("the same error as in check {check}: its message and traceback are shown there",
                               check=cause.shown))
            elif traced and visible:
                parts.append(_("where your code raised it:\n{traceback}", traceback=error.traceback.rstrip()))
            if traced:
                cause = self.causes.setdefault(key, Cause(first=spec.name))
                if cause.shown is None and (visible or stub):
                    cause.shown = spec.name
        if any(VIEW_ERROR in error.message for error in causes.values()):
            parts.append(_("your code called .view() on a tensor that is not contiguous in memory (a transposed, "
                           "permuted or sliced tensor, e.g. an HWC image permuted to CHW), which .view() cannot "
                           "reshape; use .reshape() (or .contiguous().view())"))
        return Text.join("\n", [part for part in parts if part]), "\n".join(details)

    def _source(self) -> source_reading.Source:
        """The upload's Python files, parsed once per submission, for checks that read them."""
        if self.source is None:
            self.source = source_reading.Source(self.bundle.files, self.manifest.entry)
        return self.source

    def _test(self, spec: CheckSpec, status: CheckStatus, feedback: Message, score: float = 0.0,
              detail: str = "") -> TestResult:
        cap = self.grader.settings.max_feedback_chars
        test = TestResult.said(name=spec.name, score=score, max_score=spec.points, status=status, feedback=feedback,
                               visibility=spec.visibility, description=spec.described(), detail=cut(detail, cap))
        return cut_feedback(test, cap)

    def _written_answers(self) -> list[TestResult]:
        tests = []
        for written in self.manifest.written:
            answer = self._answer(written.name)
            if answer:
                self.answers[written.name] = answer
                tests.append(TestResult.said(name=written.name, score=0.0, max_score=written.points,
                                             status=CheckStatus.pending, description=Said(written.prompt),
                                             feedback=WRITTEN_PENDING))
            else:
                tests.append(TestResult.said(
                    name=written.name, score=0.0, max_score=written.points, status=CheckStatus.failed,
                    description=Said(written.prompt),
                    feedback=_("no answer found: define {name} = \"\"\"...\"\"\" in your module, or upload a "
                               "Markdown file with a '## {name}' heading", name=written.name)))
        return tests

    def _answer(self, name: str) -> str:
        if name in self.bundle.answers:
            return self.bundle.answers[name]
        if self.student is None or not self.student.has(name):
            return ""
        try:
            answer = self.student.get(name)
        except (StudentError, JobDied):
            return ""
        return answer.strip()[:20000] if isinstance(answer, str) else ""

    # ------------------------------------------------------------------ results
    def _collect_output(self, visibility: Visibility) -> None:
        stdout, stderr = self.student.job.take_output()
        key = "visible" if visibility == Visibility.visible else "hidden"
        current = self.output[key]
        self.output[key] = Output(stdout=current.stdout + stdout, stderr=current.stderr + stderr,
                                  truncated=self.student.job.stdout.dropped + self.student.job.stderr.dropped > 0)

    def _notes(self) -> list[Message]:
        """The upload's notes, and where a notebook stopped (its driver says so in the output):
        a note worth no points, so what the job prints about itself may be taken at its word."""
        notes = list(self.bundle.notes) if self.bundle else []
        if self.bundle and any(name.startswith(NOTEBOOK_CELLS + "/") for name in self.bundle.files):
            stopped = NOTEBOOK_STOPPED.search(self.output["visible"].stderr)
            if stopped:
                notes.append(_("the notebook stopped at cell {cell} (its error is in the output below): the cells "
                               "after it were not run, and the checks used what the cells before it defined",
                               cell=int(stopped.group(1))))
        return notes

    def _result(self, status: SubmissionStatus, tests: list[TestResult] = (), message: Message = "") -> GradeResult:
        tests = list(tests)
        if status != SubmissionStatus.graded:
            tests = [self._test(spec, CheckStatus.skipped,
                                _("not run: the submission ended with status {status}", status=status.value))
                     for spec in self._ordered_checks()]
        self.timings.total_s = round(time.monotonic() - self.started, 4)
        result = GradeResult(
            assignment=self.manifest.id, submission=self.filename, status=status,
            score=round(sum(t.score for t in tests), 4), max_score=self.manifest.max_score,
            pending_max_score=sum(t.max_score for t in tests if t.status == CheckStatus.pending), tests=tests,
            **GradeResult.texts(message, self._notes()), answers=self.answers,
            output=self.output["visible"], hidden_output=self.output["hidden"], timings=self.timings,
            environment=self.grader.environment(), sha256=self.bundle.sha256 if self.bundle else "",
            pack_version=self.assignment.version)
        return bound_feedback(result, self.grader.settings.max_result_feedback_chars)

    def _internal_error(self, exc: BaseException) -> GradeResult:
        log.exception("internal error grading %s for %s", self.filename, self.manifest.id)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return self._result(SubmissionStatus.internal_error,
                            message=_("grading failed because of a grader fault, not your code: {detail}",
                                      detail=detail))


@dataclasses.dataclass
class Cause:
    """An exception of the student's code, raised at one place, as the checks met it."""

    first: str                # the first check it affected (its traceback is in that check's detail)
    shown: str | None = None  # the check whose feedback explains it to the student


def _cause_key(error: StudentError) -> tuple:
    """What makes two exceptions one cause: the same type raised through the same frames (the
    message may differ with the input)."""
    if error.traceback.strip():
        return error.type_name, error.traceback.strip()
    return error.type_name, error.kind, render(error.what), error.message


def _stub_feedback(error: StudentError, cause: Cause | None) -> Text:
    """A ``NotImplementedError``: the part of the starter not written yet."""
    frames = re.findall(r", line \d+, in ([\w.<>]+)\n", error.traceback)
    function = frames[-1] if frames and not frames[-1].startswith("<") else error.what
    if cause is not None and cause.shown:
        return _("{function} is not implemented yet (see check {check})", function=function, check=cause.shown)
    if error.line and error.file:
        return _("{function} is not implemented yet: it still raises NotImplementedError (line {line} of {file})",
                 function=function, line=error.line, file=error.file)
    return _("{function} is not implemented yet: it still raises NotImplementedError", function=function)


def cut(text: str, limit: int, language: str = SOURCE_LANGUAGE) -> str:
    """``text`` within ``limit`` characters, saying (in ``language``) how much was cut."""
    if len(text) <= limit:
        return text
    note = render(_("… ({count} more characters cut)", count=len(text) - limit), language)
    return text[:max(limit - len(note), 0)] + note


def cut_feedback(test: TestResult, limit: int) -> TestResult:
    """A check's feedback, in every language, within ``limit`` characters."""
    return _with_feedback(test, lambda feedback, language: cut(feedback, limit, language))


def bound_feedback(result: GradeResult, limit: int) -> GradeResult:
    """The message and every check's feedback within ``limit`` characters in all, in each
    language, in order: the message first, then the checks as listed (visible ones come first)."""
    budgets = {language: limit - len(cut(message, limit // 2, language)) for language, message in
               [(SOURCE_LANGUAGE, result.message), *((k, v.message) for k, v in result.translations.items())]}
    tests = []
    for test in result.tests:
        def bounded(feedback: str, language: str) -> str:
            left = max(budgets.get(language, limit), 0)
            kept = cut(feedback, left, language) if len(feedback) > left else feedback
            budgets[language] = left - len(kept)
            return kept
        tests.append(_with_feedback(test, bounded))
    translations = {language: text.model_copy(update={"message": cut(text.message, limit // 2, language)})
                    for language, text in result.translations.items()}
    return result.model_copy(update={"message": cut(result.message, limit // 2), "tests": tests,
                                     "translations": translations})


def _with_feedback(test: TestResult, change) -> TestResult:
    """``test`` with ``change(feedback, language)`` applied to its feedback in each language."""
    translations = {language: text.model_copy(update={"feedback": change(text.feedback, language)})
                    for language, text in test.translations.items()}
    return test.model_copy(update={"feedback": change(test.feedback, SOURCE_LANGUAGE), "translations": translations})


@contextlib.contextmanager
def cpu_budget(seconds: float):
    """Raise ``CheckerOverrun`` in the checker once it has used ``seconds`` more of CPU time.
    The timer needs the main thread (signals); elsewhere ``Student`` checks the budget before
    each request, and the bounds on what a value may hold keep the work between requests small."""
    if seconds <= 0:
        raise CheckerOverrun()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def overrun(signum, frame):
        raise CheckerOverrun()

    previous = signal.signal(signal.SIGPROF, overrun)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _import_failure(exc: StudentError, entry: str) -> Message:
    """Import-time failures are shown in full: no hidden input has been sent yet."""
    parts: list[Message] = [exc.feedback(show_message=True)]
    if exc.traceback.strip():
        parts.append(exc.traceback.rstrip())
    if exc.type_name == "ModuleNotFoundError":
        parts.append(_("Only torch, torchvision, numpy, PIL and the standard library are available, plus the files "
                       "of your upload (a .zip can hold helper modules next to {entry}).", entry=entry))
    return Text.join("\n", parts)
