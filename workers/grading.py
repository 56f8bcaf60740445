"""Grading one submission by id, as a plain function the Celery task calls.

Exactly once: a delivery first *claims* the submission (``core.lifecycle``: a compare-and-set
on its claim token), and records the result only if it still holds that claim.  A second
delivery of the same id finds the submission graded, or claimed by a live process, and does
nothing.  A claim whose process is gone (same host, dead pid) or whose lease ran out is taken
over.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from sqlalchemy.orm import Session, sessionmaker

from core.i18n import _
from core.lifecycle import Claim, WriteBehindProgress, claim, identity, record, release
from core.settings import Settings
from grader.engine import Grader
from grader.i18n import SOURCE_LANGUAGE, Message, render
from grader.results import GradeResult
from grader.status import SubmissionStatus

log = logging.getLogger(__name__)


class InfrastructureError(Exception):
    """A fault of the grader or its infrastructure: retried with backoff, never a student's score."""


class GraderFault(InfrastructureError):
    """The engine graded with status internal_error."""


def lease_seconds(grader: Grader, settings: Settings):
    def lease_s(assignment_id: str) -> float:
        wall_s = grader.catalog.get(assignment_id).manifest.limits.wall_s
        return min(wall_s, settings.max_wall_s) + settings.lease_grace_s
    return lease_s


def grade(sessions: sessionmaker[Session], grader: Grader, settings: Settings, submission_id: int) -> str:
    """Grade one submission; returns what happened.  Raises GraderFault (to be retried) when
    the engine reports a fault of its own and attempts remain."""
    me = identity()
    claimed = claim(sessions, submission_id, lease_seconds(grader, settings), me)
    if claimed is None:
        log.info("already graded or held by another delivery", extra={"submission_id": submission_id, "worker": me})
        return "skipped"
    about = {"submission_id": submission_id, "assignment": claimed.assignment_id, "worker": me,
             "attempt": claimed.attempts}
    log.info("grading", extra=about)
    if claimed.attempts > settings.max_deliveries:
        return _give_up(sessions, grader, claimed, _("gave up after {count} grading attempts",
                                                     count=claimed.attempts - 1))
    started = time.monotonic()
    total = len(grader.catalog.get(claimed.assignment_id).manifest.checks)
    with WriteBehindProgress(sessions, submission_id, total, settings.progress_interval_s) as progress:
        result = grader.grade(claimed.assignment_id, claimed.filename, claimed.content, on_progress=progress)
        grading_s = time.monotonic() - started
        if result.status != SubmissionStatus.internal_error:
            recorded = record(sessions, claimed, result, grading_s, result.score, progress.close())
            outcome = "recorded" if recorded else "discarded"
            log.info("graded", extra={**about, "outcome": outcome, "status": result.status.value,
                                      "score": result.score, "grading_s": grading_s,
                                      "start_s": result.timings.start_s, "import_s": result.timings.import_s,
                                      "checks_s": result.timings.checks_s})
            return outcome
    log.warning("grader fault", extra={**about, "grading_s": grading_s, "fault": result.message})
    if claimed.attempts >= settings.max_deliveries:
        return _give_up(sessions, grader, claimed, ResultMessage(result))
    release(sessions, claimed)
    raise GraderFault(f"submission {submission_id}: {result.message}")


@dataclasses.dataclass(frozen=True)
class ResultMessage:
    """A result's message as a message: in each language, the result's own translation."""

    result: GradeResult

    def render(self, language: str = SOURCE_LANGUAGE) -> str:
        return self.result.localized(language).message


def _give_up(sessions, grader: Grader, claimed: Claim, why: Message) -> str:
    """Final internal_error, without a score: an instructor regrades once the fault is fixed."""
    manifest = grader.catalog.get(claimed.assignment_id).manifest
    log.error("submission %s: giving up: %s", claimed.submission_id, render(why),
              extra={"submission_id": claimed.submission_id, "assignment": claimed.assignment_id,
                     "worker": identity(), "attempt": claimed.attempts})
    result = GradeResult(assignment=claimed.assignment_id, submission=claimed.filename,
                         status=SubmissionStatus.internal_error, max_score=manifest.max_score,
                         **GradeResult.texts(_("grading failed because of a grader fault, not your code ({why}); your "
                                               "instructor will regrade it", why=why)))
    return "gave_up" if record(sessions, claimed, result, 0.0, None) else "discarded"
