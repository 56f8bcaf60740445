"""The one status vocabulary shared by the engine, the API and the workers."""

from __future__ import annotations

from enum import StrEnum


class SubmissionStatus(StrEnum):
    queued = "queued"            # stored, waiting for a worker
    running = "running"          # a worker is grading it
    graded = "graded"            # the checks ran; score is final for the auto-graded part
    error = "error"              # syntax, import or contract error in the submission
    timeout = "timeout"          # the submission used up its time before it could be checked
    memory = "memory"            # ... its memory
    crashed = "crashed"          # its process died (signal, early exit, corrupted channel)
    internal_error = "internal_error"  # a grader or infrastructure fault, never the student's

    @property
    def final(self) -> bool:
        return self not in (SubmissionStatus.queued, SubmissionStatus.running)


class CheckStatus(StrEnum):
    passed = "passed"
    partial = "partial"
    failed = "failed"
    error = "error"        # the student's code raised
    timeout = "timeout"
    memory = "memory"
    crashed = "crashed"
    skipped = "skipped"    # not run: the submission's time budget was used up
    pending = "pending"    # a written answer waiting for an instructor


class Visibility(StrEnum):
    visible = "visible"                # name, score and feedback shown at once
    hidden = "hidden"                  # an aggregate only, until results are released
    after_due_date = "after_due_date"  # shown once the due date has passed
