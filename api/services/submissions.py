"""Submissions: validate and store an upload, queue it, show it to whom may see it, regrade it,
and score its written answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import posixpath
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from api.services import courses
from api.services.submit_batcher import SubmitBatcher
from core import answers, audit, clock, lifecycle, points, rules, workers
from core.db import utcnow
from core.errors import BadRequest, InvalidSubmission, NotFound, PayloadTooLarge, UnsupportedFileType
from core.i18n import _
from core.lifecycle import Enqueuer
from core.models import Course, CourseAssignment, Submission, User, WrittenScore
from core.points import Points
from core.settings import Settings
from core.store import AttemptLimit, NewSubmission
from grader.assignments import Assignment, Catalog, UnknownAssignment
from grader.manifest import Manifest
from grader.i18n import SOURCE_LANGUAGE, render
from grader.results import GradeResult
from grader.status import SubmissionStatus
from grader.submission import SubmissionError, load_submission, upload_cap

log = logging.getLogger(__name__)

ACCEPTED_SUFFIXES = (".py", ".ipynb", ".zip", ".md")
MAX_FILENAME = 255
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # no NUL in a PostgreSQL text, no line breaks


# ---------------------------------------------------------------------- submitting
def check_upload(filename: str, content: bytes, assignment: Assignment, settings: Settings) -> str:
    """The clean file name, or the 4xx that says what is wrong with the upload."""
    name = CONTROL_CHARACTERS.sub("", posixpath.basename(filename.replace("\\", "/"))).strip()[-MAX_FILENAME:]
    if not name:
        raise InvalidSubmission(_("the uploaded file has no name"), code="missing_filename")
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        raise UnsupportedFileType(_("{name}: upload a .py file, a .ipynb notebook, a .zip of your project or a "
                                    ".md file of written answers", name=name))
    cap = upload_cap(name, settings.max_upload_kb << 10, settings.max_notebook_kb << 10)
    if len(content) > cap:
        raise PayloadTooLarge(_("{name} is {size} KB; the limit is {limit} KB", name=name, size=len(content) // 1024,
                                  limit=cap >> 10))
    try:
        load_submission(name, content, assignment.manifest.entry, settings.max_upload_kb << 10,
                        settings.max_notebook_kb << 10)
    except SubmissionError as exc:
        raise InvalidSubmission(exc.message) from None
    return name


@dataclasses.dataclass(frozen=True)
class Target:
    """A course assignment as one caller submits to it."""

    offered_id: int
    course_id: int
    course: str
    course_language: str | None
    zone: ZoneInfo                        # the course's, else the service's (courses.zone_of)
    assignment_id: str
    withdrawn_at: dt.datetime | None      # None: offered (rules.check_offered)
    exempt: bool                          # no deadline, no limits (rules.exempt)
    deadline: rules.Deadline              # the caller's (rules.Deadline.of: extension, exemption)
    attempts: rules.Attempts

    @property
    def limited(self) -> bool:
        return not self.exempt and self.attempts.limited


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who submits, and the course assignments of that name their courses offer."""

    user_id: int
    language: str | None                  # the user's preference
    assignment_id: str
    course_slug: str | None
    targets: list[Target]

    @property
    def course_language(self) -> str | None:
        """The default of the course they submit to (of their courses offering it, if they agree)."""
        languages = {target.course_language for target in self.targets}
        return languages.pop() if len(languages) == 1 else None

    def target(self) -> Target:
        return rules.one_offering(self.targets, lambda target: target.course, self.assignment_id, self.course_slug)


@dataclasses.dataclass(frozen=True)
class Accepted:
    id: int
    filename: str
    submitted_at: dt.datetime


async def find_caller(batcher: SubmitBatcher, settings: Settings, token_hash: str, assignment_id: str,
                      course_slug: str | None) -> Caller | None:
    """The token's user and their offerings of the assignment, in one query (with the other
    requests waiting for theirs); None: no such token, or an expired one."""
    rows = await batcher.caller_rows((token_hash, assignment_id, course_slug))
    if not rows or (rows[0].token_expires_at is not None and rows[0].token_expires_at <= utcnow()):
        return None
    return Caller(rows[0].user_id, rows[0].user_language, assignment_id, course_slug,
                  [_target(row, assignment_id, settings.default_time_zone) for row in rows
                   if row.offered_id is not None and rules.enrolled_role(row.role, row.dropped_at) is not None])


def _target(row, assignment_id: str, default_zone: str) -> Target:
    """A row of store's caller query (raw columns), decided by core/rules as the ORM path is (its
    zone as courses.zone_of's: the course's, else the service's)."""
    exempt = rules.exempt(row.is_admin, row.role)
    zone = clock.zone(row.course_time_zone, default_zone)
    return Target(row.offered_id, row.course_id, row.slug, row.course_language, zone, assignment_id,
                  row.withdrawn_at, exempt,
                  rules.Deadline.of(row.due_at, row.late_days, row.late_penalty_per_day, row.extended_to,
                                    exempt=exempt, zone=zone),
                  rules.Attempts(row.attempts_per_day, row.attempts_total))


async def submit(batcher: SubmitBatcher, settings: Settings, catalog: Catalog, user_id: int, target: Target,
                 filename: str, content: bytes) -> Accepted:
    """Validate, then hand the row to the process's batcher, which answers once it is stored
    (committed) and queued.  A broker that is down leaves it stored and unqueued: the sweeper
    queues it later."""
    assignment = catalog.get(target.assignment_id)
    name = check_upload(filename, content, assignment, settings)
    now = utcnow()
    rules.check_offered(target.assignment_id, target.course, target.withdrawn_at)
    target.deadline.check(target.assignment_id, now, target.zone)
    values = lifecycle.new_row(
        course_assignment_id=target.offered_id, user_id=user_id, filename=name, content=content,
        sha256=hashlib.sha256(content).hexdigest(), queue=assignment.manifest.queue, created_at=now,
        max_score=assignment.manifest.max_score)
    limit = AttemptLimit(target.course_id, now - rules.DAY,
                         functools.partial(target.attempts.check, target.assignment_id, now)) if target.limited else None
    submission_id = await batcher.submit(NewSubmission(values, limit))
    log.info("submission accepted", extra={"submission_id": submission_id, "assignment": target.assignment_id,
                                           "user_id": user_id, "queue": assignment.manifest.queue,
                                           "size": len(content)})
    return Accepted(submission_id, name, now)


# ---------------------------------------------------------------------- finding
def get_for(session: Session, user: User, submission_id: int) -> Submission:
    """A submission its owner or an instructor of its course may see; anyone else gets 404."""
    submission = session.get(Submission, submission_id, options=[undefer(Submission.result)])
    if submission is None or not courses.may_see_submission(session, user, submission):
        raise NotFound(_("no submission {id}", id=submission_id), code="submission_not_found")
    return submission


def for_staff(session: Session, user: User, submission_id: int, right: rules.Right) -> Submission:
    """A submission whose course's staff may do ``right`` to it (core/rules.py), e.g. grade it."""
    submission = get_for(session, user, submission_id)
    course = submission.course_assignment.course
    rules.require(courses.rights_in(session, user, course.id), right, course.slug)
    return submission


def list_own(session: Session, user: User, offered: CourseAssignment | None = None) -> list[Submission]:
    query = select(Submission).where(Submission.user_id == user.id).order_by(Submission.id.desc())
    if offered is not None:
        query = query.where(Submission.course_assignment_id == offered.id)
    return list(session.scalars(query))


def search(session: Session, course: Course, *, student: str | None = None, assignment: str | None = None,
           status: SubmissionStatus | None = None, since: dt.datetime | None = None,
           until: dt.datetime | None = None, limit: int = 100, offset: int = 0) -> list[Submission]:
    query = (select(Submission).join(CourseAssignment).where(CourseAssignment.course_id == course.id)
             .order_by(Submission.id.desc()).limit(limit).offset(offset))
    if student:
        query = query.join(User, User.id == Submission.user_id).where(User.name == student)
    if assignment:
        query = query.where(CourseAssignment.assignment_id == assignment)
    if status:
        query = query.where(Submission.status == status)
    if since:
        query = query.where(Submission.created_at >= since)
    if until:
        query = query.where(Submission.created_at < until)
    return list(session.scalars(query))


# ---------------------------------------------------------------------- what is shown
def summaries(session: Session, catalog: Catalog, found: list[Submission]) -> list[dict]:
    """Submissions in a list, with their points as ``view`` shows them."""
    keys = {(s.user_id, s.course_assignment_id) for s in found}
    current = answers.current(session, list({ca for _, ca in keys}), list({user for user, _ in keys}))
    return [{"id": s.id, "course": s.course_assignment.course.slug, "assignment": s.course_assignment.assignment_id,
             "student": s.user.name, "filename": s.filename, "status": s.status, "submitted_at": s.created_at,
             "finished_at": s.finished_at,
             **_shown_points(s, _points(s, _manifest(catalog, s), current.get((s.user_id, s.course_assignment_id),
                                                                               {})))} for s in found]


def _manifest(catalog: Catalog, submission: Submission) -> Manifest | None:
    """None once the pack is gone from the catalogue: its written questions are unknown then."""
    try:
        return catalog.get(submission.course_assignment.assignment_id).manifest
    except UnknownAssignment:
        return None


def _points(submission: Submission, manifest: Manifest | None, current: dict[str, answers.Current],
            deadline: courses.Deadline | None = None) -> Points:
    """What this upload counts as, were it the chosen one: its auto points (none for a .md of
    answers) plus the scores of the student's current answers."""
    penalty = deadline.penalty if deadline is not None else (lambda when: 0.0)
    written = [] if manifest is None else answers.written(manifest, current, penalty)
    return points.combine(submission.score or 0.0, submission.max_score,
                          0.0 if manifest is None else points.written_max(manifest), written,
                          penalty(submission.created_at))


def _shown_points(submission: Submission, counted: Points) -> dict:
    shown = counted.fields()
    if submission.score is None:  # not graded (yet): nothing is earned
        shown.update(score=None, adjusted_score=None, auto_score=None)
    return shown


def with_answers(result: GradeResult, manifest: Manifest | None, current: dict[str, answers.Current],
                 submission_id: int) -> GradeResult:
    """The stored result with the student's current written answers (whichever upload carried
    them) in place of the ones this upload carried."""
    specs = {} if manifest is None else {w.name: w for w in manifest.written}
    tests = [answers.as_test(specs[t.name], current[t.name], submission_id)
             if t.name in specs and t.name in current else t for t in result.tests]
    return result.model_copy(update={"tests": tests})


def waiting(session: Session, submission: Submission, stale_s: float, language: str = SOURCE_LANGUAGE) -> str | None:
    """Why a queued submission is not being graded, when no live worker consumes its queue
    (core/workers.py): a view of its state, not a state of its own."""
    if submission.status != SubmissionStatus.queued or submission.queue in workers.live_queues(session, stale_s):
        return None
    return render(workers.waiting_message(submission.queue), language)


def view(session: Session, settings: Settings, catalog: Catalog, submission: Submission, *, instructor: bool,
         language: str = SOURCE_LANGUAGE, stale_s: float | None = None) -> dict:
    """Everything the API shows about one submission, with visibility applied for students, its
    texts in ``language``; with ``stale_s`` (the settings' worker_stale_s), whether it waits
    for a worker nobody runs."""
    offered = submission.course_assignment
    deadline = courses.deadline_for(session, settings, offered, submission.user_id)
    manifest = _manifest(catalog, submission)
    current = answers.current(session, [offered.id], [submission.user_id]).get((submission.user_id, offered.id), {})
    counted = _points(submission, manifest, current, deadline)
    result = None if submission.result is None else \
        with_answers(GradeResult.model_validate(submission.result), manifest, current, submission.id)
    if result is not None and not instructor:
        result = result.for_student(show_hidden=offered.results_released, show_after_due=deadline.passed(utcnow()))
    if result is not None:
        result = result.localized(language)
    shown = {
        "id": submission.id, "course": offered.course.slug, "assignment": offered.assignment_id,
        "student": submission.user.name, "filename": submission.filename, "status": submission.status,
        "submitted_at": submission.created_at, "started_at": submission.started_at,
        "finished_at": submission.finished_at, "days_late": deadline.days_late(submission.created_at),
        "late_penalty": deadline.penalty(submission.created_at), **_shown_points(submission, counted),
        "waiting": None if stale_s is None else waiting(session, submission, stale_s, language),
    }
    if result is not None:
        shown.update(result.model_dump(include={"message", "notes", "tests", "output", "timings", "environment"}))
    if instructor:
        shown.update({"sha256": submission.sha256, "size": submission.size, "attempts": submission.attempts,
                      "worker": submission.worker,
                      "answers": answers.texts(session, offered.id, submission.user_id)})
        if result is not None:
            shown.update(result.model_dump(include={"hidden_output"}))
    return shown


# ---------------------------------------------------------------------- instructors
def regrade(session: Session, enqueuer: Enqueuer, submissions: list[Submission], actor: audit.Actor = None,
            scope: str = "") -> list[int]:
    """Queue submissions again from scratch; a grading in flight loses its claim and is discarded.
    Each course's regrade goes to its audit log (``scope``: what was asked, e.g. a student's name)."""
    by_course: dict[int, list[int]] = {}
    for each in submissions:
        by_course.setdefault(each.course_assignment.course_id, []).append(each.id)
    for course_id, ids in by_course.items():
        audit.record(session, course_id, actor, "regrade", scope or " ".join(f"#{i}" for i in ids[:20]), None,
                     {"submissions": len(ids)})
    return lifecycle.regrade(session, enqueuer, [(s.id, s.queue) for s in submissions])


def select_for_regrade(session: Session, course: Course, student: str | None,
                       assignment: str | None) -> list[Submission]:
    if not student and not assignment:
        raise BadRequest(_("name a student, an assignment or both; to regrade one submission use "
                           "POST /submissions/ID/regrade"), code="regrade_scope")
    if student:
        courses.student_in(session, course, student)
    if assignment:
        courses.course_assignment(session, course, assignment)
    return search(session, course, student=student, assignment=assignment, limit=100_000)


def score_written(session: Session, catalog: Catalog, grader_user: User, submission: Submission, name: str,
                  score: float, comment: str) -> WrittenScore:
    """Score the student's current answer to ``name`` (whichever of their uploads carried it)."""
    if submission.result is None:
        raise BadRequest(_("submission {id} is not graded yet ({status})", id=submission.id, status=submission.status),
                         code="not_graded")
    manifest = _manifest(catalog, submission)
    specs = {} if manifest is None else {w.name: w for w in manifest.written}
    current = answers.current(session, [submission.course_assignment_id], [submission.user_id]).get(
        (submission.user_id, submission.course_assignment_id), {})
    if name not in specs or name not in current:
        answered = [n for n in specs if n in current]
        raise NotFound(_("{student} has no written answer {name!r} to score; answered: {answered}",
                         student=submission.user.name, name=name, answered=", ".join(answered) or "-"),
                       code="answer_not_found")
    if score > specs[name].points:
        raise BadRequest(_("{name} is worth at most {points:g} points", name=name, points=specs[name].points),
                         code="score_too_high")
    offered = submission.course_assignment
    audit.record(session, offered.course_id, grader_user, "written_score",
                 f"{offered.assignment_id} {submission.user.name} {name}",
                 None if current[name].score is None else {"score": current[name].score,
                                                           "comment": current[name].comment},
                 {"score": score, "comment": comment})
    return answers.score(session, grader_user, current[name], score, comment)
