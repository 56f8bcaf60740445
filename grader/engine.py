"""The grading engine: one warm sandbox, many submissions, a ``GradeResult`` for each.

    with Grader() as grader:
        result = grader.grade("w1-normal-modes", "hw1.py", source_bytes)

Student failures become verdicts; a fault of the grader or the sandbox becomes a result
with status ``internal_error`` (the worker retries it), never a silent zero.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Callable

import torch

from grader import checks, hidden_data
from grader.assignments import Assignment, Catalog
from grader.config import EngineSettings, get_settings
from grader.i18n import Message
from grader.manifest import CheckSpec, Limits
from grader.results import Environment, GradeResult, Output, TestResult, Timings
from grader.sandbox import confine
from grader.sandbox.host import JobDied, JobLimits, Sandbox, SandboxConfig, SandboxError
from grader.status import CheckStatus, SubmissionStatus, Visibility
from grader.student import Student, StudentError
from grader.submission import Bundle, SubmissionError, load_submission

log = logging.getLogger(__name__)

VISIBILITY_ORDER = {Visibility.visible: 0, Visibility.after_due_date: 1, Visibility.hidden: 2}
MAX_RESTARTS = 8
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
        self.timings = Timings()

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
            return self._result(SubmissionStatus(died.kind), message=f"while importing your code: {died.detail}")
        if self.manifest.kind == "module" and self.manifest.exports \
                and not any(self.student.has(name) for name in self.manifest.exports):
            return self._result(SubmissionStatus.error, message=(
                f"your module defines none of {', '.join(self.manifest.exports)}; is this the file for "
                f"{self.manifest.id}?"))
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
        student = Student(job, self.manifest.entry)
        job.set_budget(limits.check_s, self.grader.settings.sandbox_wall_backstop, self.deadline)
        student.install(self.bundle.files)
        self.timings.start_s += round(time.monotonic() - started, 4)
        return student

    def _restart(self, visibility: Visibility) -> None:
        """After the job died in a check, start a fresh one for the checks that remain."""
        self._collect_output(visibility)
        self.student.job.close()
        self.student = None
        if self.restarts >= MAX_RESTARTS or time.monotonic() >= self.deadline:
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
            test = self._test(spec, CheckStatus.skipped, "not run: a Markdown upload holds written answers only; "
                                                         "submit your code (.py, .ipynb or .zip) for this check")
        elif self.student is None:
            test = self._test(spec, CheckStatus.skipped, "not run: the submission used up its time or restarts")
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
                                 cache_dir=self.grader.settings.data_dir / "cache")
        try:
            verdict = self.assignment.checks[spec.name](self.student, context)
        except StudentError as exc:
            status = CheckStatus.memory if exc.kind == "memory" else CheckStatus.error
            return self._test(spec, status, exc.feedback(show_message=visible),
                              detail=f"{exc.type_name}: {exc.message}\n{exc.traceback}")
        except JobDied as died:
            self._restart(spec.visibility)
            return self._test(spec, CheckStatus(died.kind), died.detail)
        if not isinstance(verdict, checks.Verdict):
            raise TypeError(f"check {spec.name} returned {type(verdict).__name__}, not a Verdict")
        return self._test(spec, verdict.status, verdict.feedback, score=round(spec.points * verdict.fraction, 4))

    def _test(self, spec: CheckSpec, status: CheckStatus, feedback: Message, score: float = 0.0,
              detail: str = "") -> TestResult:
        return TestResult.said(name=spec.name, score=score, max_score=spec.points, status=status, feedback=feedback,
                               visibility=spec.visibility, description=spec.described(), detail=detail)

    def _written_answers(self) -> list[TestResult]:
        tests = []
        for written in self.manifest.written:
            answer = self._answer(written.name)
            if answer:
                self.answers[written.name] = answer
                tests.append(TestResult(name=written.name, score=0.0, max_score=written.points,
                                        status=CheckStatus.pending, description=written.prompt.en,
                                        feedback="written answer received; an instructor will score it"))
            else:
                tests.append(TestResult(name=written.name, score=0.0, max_score=written.points,
                                        status=CheckStatus.failed, description=written.prompt.en,
                                        feedback=f"no answer found: define {written.name} = \"\"\"...\"\"\" in "
                                                 f"your module, or upload a Markdown file with a '## "
                                                 f"{written.name}' heading"))
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

    def _result(self, status: SubmissionStatus, tests: list[TestResult] = (), message: Message = "") -> GradeResult:
        tests = list(tests)
        if status != SubmissionStatus.graded:
            tests = [self._test(spec, CheckStatus.skipped, f"not run: the submission ended with status {status.value}")
                     for spec in self._ordered_checks()]
        self.timings.total_s = round(time.monotonic() - self.started, 4)
        return GradeResult(
            assignment=self.manifest.id, submission=self.filename, status=status,
            score=round(sum(t.score for t in tests), 4), max_score=self.manifest.max_score,
            pending_max_score=sum(t.max_score for t in tests if t.status == CheckStatus.pending), tests=tests,
            **GradeResult.texts(message, self.bundle.notes if self.bundle else []), answers=self.answers,
            output=self.output["visible"], hidden_output=self.output["hidden"], timings=self.timings,
            environment=self.grader.environment(), sha256=self.bundle.sha256 if self.bundle else "",
            pack_version=self.assignment.version)

    def _internal_error(self, exc: BaseException) -> GradeResult:
        log.exception("internal error grading %s for %s", self.filename, self.manifest.id)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return self._result(SubmissionStatus.internal_error,
                            message=f"grading failed because of a grader fault, not your code: {detail}")


def _import_failure(exc: StudentError, entry: str) -> str:
    """Import-time failures are shown in full: no hidden input has been sent yet."""
    message = exc.feedback(show_message=True)
    if exc.traceback.strip():
        message += "\n" + exc.traceback.rstrip()
    if exc.type_name == "ModuleNotFoundError":
        message += ("\nOnly torch, torchvision, numpy, PIL and the standard library are available, plus the "
                    f"files of your upload (a .zip can hold helper modules next to {entry}).")
    return message
