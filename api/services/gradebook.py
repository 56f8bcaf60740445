"""The gradebook (best or latest code attempt per assignment plus the current written answers,
late penalties applied, extensions honoured, results graded by an older pack version flagged),
a student's own grades, and per-assignment statistics."""

from __future__ import annotations

import collections
import functools
import datetime as dt
import io
import statistics
import threading
from collections.abc import Callable
from typing import Literal, NamedTuple

from sqlalchemy import String, func, literal_column, select, type_coerce
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from api.services import courses
from core import answers, points, rules, spreadsheet, workers
from core.db import plain_rows
from core.models import Course, CourseAssignment, Membership, Submission, User
from core.points import Points
from core.settings import Settings
from grader.assignments import Catalog
from grader.i18n import SOURCE_LANGUAGE, render
from grader.results import TestResult
from grader.status import CheckStatus, SubmissionStatus

Policy = Literal["best", "latest"]
SCORED = (SubmissionStatus.graded, SubmissionStatus.error, SubmissionStatus.timeout, SubmissionStatus.memory,
          SubmissionStatus.crashed)
HISTOGRAM_BINS = 10
COMMON_FAILURES = 3


class Attempt(NamedTuple):
    """One scored upload as the gradebook sees it (a tuple: a gradebook builds tens of thousands)."""

    submission_id: int
    status: SubmissionStatus
    auto: float               # auto-graded points earned (0 for a .md of answers: no check runs on it)
    auto_max: float
    days_late: int
    late_penalty: float
    submitted_at: dt.datetime
    code: bool                # False: a .md of written answers only
    pack_version: str | None

    def outdated(self, current_version: str) -> bool:
        """Graded by an older version of its pack (the gradebook flags it: regrade to apply the edit)."""
        return self.pack_version != current_version


class Grade(NamedTuple):
    """A student's grade for one assignment: the chosen code attempt's auto points plus the scores
    of their current written answers (core/points.py)."""

    attempt: Attempt
    points: Points


def counting(session: Session, by_id: dict[int, CourseAssignment], deadlines, policy: Policy,
             user_ids: list[int] | None = None) -> dict[tuple[int, int], Attempt]:
    """(user id, course assignment id) -> the code attempt that counts: the latest, or the best
    after its late penalty (the written answers add the same to each; ties go to the later one).
    A .md of answers counts only while there is no code at all.

    One pass over the scored uploads that keeps the leader of each student and assignment: a
    course's gradebook reads tens of thousands of rows (docs/BENCHMARKS.md, "Instructor pages")."""
    table = Submission.__table__.c  # a Core query: tens of thousands of rows skip the ORM's row loading
    query = (select(table.id, table.user_id, table.course_assignment_id, table.score, table.created_at,
                    table.filename, type_coerce(table.status, String),  # as text: no enum conversion per row
                    table.max_score, table.pack_version)
             .where(table.course_assignment_id.in_(list(by_id)), table.status.in_(SCORED)))
    if user_ids is not None:
        query = query.where(table.user_id.in_(user_ids))
    punctual = {o.id: rules.late_for_nobody_until(o.due_at) for o in by_id.values()}
    kinds: dict[str, bool] = {}                         # file name -> code? (most uploads share a few names)
    leaders: dict[tuple[int, int, bool], tuple] = {}    # (user, offering, code?) -> (rank, row)
    for row in plain_rows(session, query):  # tens of thousands: not SQLAlchemy's Row objects
        sid, user_id, offered_id, score, created_at, filename = row[:6]
        if policy == "latest":
            rank = (created_at, sid)
        elif created_at <= punctual[offered_id]:
            rank = (score or 0.0, created_at, sid)
        else:
            rank = ((score or 0.0) * (1 - deadlines(offered_id, user_id).late(created_at)[1]), created_at, sid)
        code = kinds.get(filename)
        if code is None:
            code = kinds[filename] = not answers.answers_only(filename)
        key = (user_id, offered_id, code)
        held = leaders.get(key)
        if held is None or rank > held[0]:
            leaders[key] = (rank, row)
    found = {}
    for (user_id, offered_id, code), (_, row) in leaders.items():
        if code or (user_id, offered_id, True) not in leaders:
            sid, _, _, score, created_at, _, status, max_score, version = row
            found[(user_id, offered_id)] = Attempt(sid, status, score or 0.0, max_score,
                                                   *deadlines(offered_id, user_id).late(created_at),
                                                   created_at, code, version)
    return found


# ---------------------------------------------------------------------- kept choices
# Choosing a course's counting attempts is the costly part of its gradebook (every scored upload
# is read).  A process keeps its last few choices, one per assignment, each under what it
# depends on: the deadlines it ranked by and a version of the assignment's scored uploads that
# changes whenever one is added, changed or removed; so a kept choice is never used once either
# changed (and never after a minute), and a new result makes its own assignment's choice again,
# not the course's.  One student's grades are cheap and never kept.
# docs/BENCHMARKS.md, "Instructor pages".
KEPT = 256                           # choices kept per process (an assignment of 300 students: ~100 KB)
KEPT_FOR = dt.timedelta(minutes=1)
_kept: collections.OrderedDict[tuple, tuple[dt.datetime, dict]] = collections.OrderedDict()
_kept_lock = threading.Lock()


def forget() -> None:
    """Drop every kept choice: the next gradebook reads every scored upload again, as a process
    that has just started does (bench/web_pages.py measures it)."""
    with _kept_lock:
        _kept.clear()


def scored_versions(session: Session, offered_ids: list[int]) -> dict[int, tuple] | None:
    """A version of each assignment's scored uploads: on PostgreSQL their count and the sum of
    their row versions' transaction ids (an insert or update writes a row version under a new
    transaction id, a delete lowers the count). None elsewhere: SQLite has no such marker, so
    nothing is kept there."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    table = Submission.__table__.c
    return {offered_id: (count, total) for offered_id, count, total in session.execute(
        select(table.course_assignment_id, func.count(), func.sum(literal_column("xmin::text::bigint")))
        .where(table.course_assignment_id.in_(offered_ids), table.status.in_(SCORED))
        .group_by(table.course_assignment_id))}


def kept(session: Session, policy: Policy, by_id: dict[int, CourseAssignment], ranked_by: Callable[[int], tuple],
         choose: Callable[[dict[int, CourseAssignment]], dict]) -> dict:
    """The choices kept for these assignments under their deadlines (``ranked_by``) and the
    present versions of their uploads; ``choose`` makes the others, in one pass.  The versions are
    read first: a choice made from later rows is kept under an older version, and only made again."""
    versions = scored_versions(session, list(by_id))
    if versions is None:
        return choose(by_id)
    now, found, missing = dt.datetime.now(dt.timezone.utc), {}, {}
    database = str(session.get_bind().url)   # a process may serve several (tests do)
    with _kept_lock:
        for offered_id in by_id:
            key = (database, policy, offered_id, ranked_by(offered_id), versions.get(offered_id, (0, 0)))
            held = _kept.get(key)
            if held is not None and now - held[0] < KEPT_FOR:
                _kept.move_to_end(key)
                found.update(held[1])
            else:
                missing[offered_id] = key
    if not missing:
        return found
    chosen = choose({offered_id: by_id[offered_id] for offered_id in missing})
    per_assignment: dict[int, dict] = {offered_id: {} for offered_id in missing}
    for (user_id, offered_id), attempt in chosen.items():
        per_assignment[offered_id][(user_id, offered_id)] = attempt
    with _kept_lock:
        for offered_id, key in missing.items():
            _kept[key] = (now, per_assignment[offered_id])
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    found.update(chosen)
    return found


def grades(session: Session, settings: Settings, catalog: Catalog, offered: list[CourseAssignment], policy: Policy,
           user_ids: list[int] | None = None) -> dict[tuple[int, int], Grade]:
    """(user id, course assignment id) -> the grade, for every student with a scored upload."""
    by_id = {o.id: o for o in offered}
    extensions = courses.extensions_by_user(session, list(by_id))
    exempted = courses.exempt_members(session, list({o.course_id for o in offered}))

    @functools.cache  # one per assignment and due date: its late days' ends are worked out once
    def shared(offered_id: int, extended_to: dt.datetime | None, exempt: bool) -> rules.Deadline:
        return courses.deadline(settings, by_id[offered_id], extended_to, exempt=exempt)

    @functools.cache  # one per student and assignment, not one per attempt
    def deadline(offered_id: int, user_id: int) -> rules.Deadline:
        extension = extensions.get((offered_id, user_id))
        return shared(offered_id, None if extension is None else extension.due_at,
                      (by_id[offered_id].course_id, user_id) in exempted)

    if user_ids is None:
        special = collections.defaultdict(list)     # offering -> the students with a deadline of their own
        for offered_id, user_id in {*extensions, *((o.id, user_id) for o in offered
                                                   for course_id, user_id in exempted if course_id == o.course_id)}:
            special[offered_id].append(user_id)

        def ranked_by(offered_id: int) -> tuple:
            return shared(offered_id, None, False), frozenset(
                (user_id, deadline(offered_id, user_id)) for user_id in special[offered_id])

        counted = kept(session, policy, by_id, ranked_by,
                       lambda missing: counting(session, missing, deadline, policy))
    else:
        counted = counting(session, by_id, deadline, policy, user_ids)
    current = answers.current(session, list(by_id), user_ids)
    manifests = {o.id: catalog.get(o.assignment_id).manifest for o in offered}
    written_max = {offered_id: points.written_max(manifest) for offered_id, manifest in manifests.items()}
    found = {}
    for (user_id, offered_id), chosen in counted.items():
        mine = current.get((user_id, offered_id))
        written = answers.written(manifests[offered_id], mine, deadline(offered_id, user_id).penalty) if mine else ()
        found[(user_id, offered_id)] = Grade(chosen, points.combine(
            chosen.auto, chosen.auto_max, written_max[offered_id], written, chosen.late_penalty))
    return found


def in_catalog(catalog: Catalog, offered) -> list[CourseAssignment]:
    """Offered assignments whose pack still exists (a removed pack drops out of the views)."""
    known = set(catalog.ids())
    return [o for o in offered if o.assignment_id in known]


def max_scores(catalog: Catalog, offered: list[CourseAssignment]) -> dict[str, float]:
    return {o.assignment_id: points.max_total(catalog.get(o.assignment_id).manifest) for o in offered}


def pack_versions(catalog: Catalog, offered: list[CourseAssignment]) -> dict[str, str]:
    """The current version of each offered assignment's pack."""
    return {o.assignment_id: catalog.get(o.assignment_id).version for o in offered}


def pack_flags(catalog: Catalog, submission: Submission) -> dict:
    """The pack version that graded a submission, and whether its pack has changed since
    (None while it has no scored result, or when its pack left the catalogue)."""
    assignment_id = submission.course_assignment.assignment_id
    outdated = None
    if submission.status in SCORED and assignment_id in catalog.ids():
        outdated = submission.pack_version != catalog.get(assignment_id).version
    return {"pack_version": submission.pack_version, "pack_outdated": outdated}


class Row(NamedTuple):
    """A student's line of the gradebook: assignment id -> their grade (None: nothing scored)."""

    student: str
    display_name: str
    email: str | None
    class_name: str | None
    grades: dict[str, Grade | None]
    total: float                      # after late penalties


class Book(NamedTuple):
    offered: list[CourseAssignment]
    versions: dict[str, str]          # assignment id -> its pack's current version
    max_scores: dict[str, float]
    rows: list[Row]                   # by student ID

    @property
    def assignments(self) -> list[str]:
        return [o.assignment_id for o in self.offered]

    @property
    def max_total(self) -> float:
        return round(sum(self.max_scores.values()), 4)


def book(session: Session, settings: Settings, catalog: Catalog, course: Course, policy: Policy, *,
         include_dropped: bool = False, include_withdrawn: bool = False) -> Book:
    """The gradebook as values (the web page's; ``gradebook`` is the API's JSON of it). Dropped
    students and withdrawn assignments are left out unless asked for (their work is kept)."""
    offered = [o for o in in_catalog(catalog, course.assignments) if include_withdrawn or o.withdrawn_at is None]
    graded = Membership.role.in_(rules.roles_with(rules.Right.graded))
    query = (select(User.id, User.name, User.display_name, User.email, Membership.class_name).join(Membership)
             .where(Membership.course_id == course.id, graded).order_by(User.name))
    if not include_dropped:
        query = query.where(Membership.dropped_at.is_(None))
    found = grades(session, settings, catalog, offered, policy)
    rows = []
    for user_id, name, display_name, email, class_name in session.execute(query).all():
        mine = {o.assignment_id: found.get((user_id, o.id)) for o in offered}
        rows.append(Row(name, display_name, email, class_name, mine,
                        round(sum(g.points.adjusted for g in mine.values() if g), 4)))
    return Book(offered, pack_versions(catalog, offered), max_scores(catalog, offered), rows)


def gradebook(session: Session, settings: Settings, catalog: Catalog, course: Course, policy: Policy, *,
              include_dropped: bool = False, include_withdrawn: bool = False) -> dict:
    """The gradebook as the API shows it (docs/SERVICE.md, "Deadlines, attempts, grades")."""
    found = book(session, settings, catalog, course, policy, include_dropped=include_dropped,
                 include_withdrawn=include_withdrawn)
    return {"course": course.slug, "policy": policy, "assignments": found.assignments,
            "max_scores": found.max_scores, "max_total": found.max_total, "pack_versions": found.versions,
            "students": [{"student": row.student, "display_name": row.display_name, "email": row.email,
                          "class": row.class_name,
                          "grades": {a: _grade_json(g, found.versions[a]) for a, g in row.grades.items()},
                          "total": row.total} for row in found.rows]}


def _grade_json(grade: Grade | None, current_version: str) -> dict | None:
    if grade is None:
        return None
    chosen = grade.attempt
    return {"submission_id": chosen.submission_id, "status": chosen.status, "days_late": chosen.days_late,
            "late_penalty": chosen.late_penalty, "submitted_at": chosen.submitted_at.isoformat(),
            "pack_version": chosen.pack_version, "pack_outdated": chosen.outdated(current_version),
            **grade.points.fields()}


def warnings(session: Session, catalog: Catalog, course: Course, stale_s: float,
             language: str = SOURCE_LANGUAGE) -> list[str]:
    """What the instructor must know: the queues this course's assignments use that no live
    worker consumes (their submissions wait)."""
    offered = [o.assignment_id for o in course.assignments]
    return [render(queue.message, language) for queue in workers.unserved(session, catalog, stale_s, only=offered)]


# ---------------------------------------------------------------------- exports
# Each export is UTF-8 with a byte order mark (spreadsheet programs and both LMSs then read
# 姓名 correctly) and matches students by their student ID (User.name).  docs/SERVICE.md, "LMS".
ExportFormat = Literal["plain", "canvas", "moodle"]
BOM = "\ufeff"
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDENTITY = ["ID number", "Email address", "Full name"]


def gradebook_csv(book: dict, export_format: ExportFormat = "plain") -> str:
    """The gradebook (``gradebook()``) as a CSV file in the import format of an LMS."""
    out = io.StringIO()
    out.write(BOM)
    writer = spreadsheet.writer(out, lineterminator="\r\n")
    writer.writerows(EXPORTS[export_format](book))
    return out.getvalue()


def _cells(book: dict, row: dict) -> list[str]:
    """A student's adjusted points per assignment ("" where nothing was scored)."""
    grades = row["grades"]
    return ["" if grades[a] is None else f"{grades[a]['adjusted_score']:g}" for a in book["assignments"]]


def _maxima(book: dict) -> list[str]:
    return [f"{book['max_scores'][a]:g}" for a in book["assignments"]]


def _plain(book: dict):
    yield ["student", "display_name", "class", *book["assignments"], "total"]
    yield ["(max)", "", "", *_maxima(book), f"{book['max_total']:g}"]
    for row in book["students"]:
        yield [row["student"], row["display_name"], row["class"], *_cells(book, row), f"{row['total']:g}"]


def _canvas(book: dict):
    """Canvas's Gradebook import: identity columns, one column per assignment, then a
    "Points Possible" row; a student is matched by SIS User ID / SIS Login ID (the student ID),
    Canvas's own numeric ID is left empty.  The total is Canvas's to compute."""
    yield [*CANVAS_IDENTITY, *book["assignments"]]
    yield ["Points Possible", "", "", "", "", *_maxima(book)]
    for row in book["students"]:
        yield [row["display_name"] or row["student"], "", row["student"], row["student"], book["course"],
               *_cells(book, row)]


def _moodle(book: dict):
    """Moodle's "Import grades from CSV file": a header row then one row per student; the user is
    identified by "ID number" (or "Email address"), each grade column is mapped to a grade item on
    the import page.  Moodle has no points-possible row (a second row would be read as a student):
    each grade item's maximum is set on the item in Moodle."""
    yield [*MOODLE_IDENTITY, *book["assignments"]]
    for row in book["students"]:
        yield [row["student"], row["email"], row["display_name"], *_cells(book, row)]


EXPORTS = {"plain": _plain, "canvas": _canvas, "moodle": _moodle}


def my_grades(session: Session, settings: Settings, catalog: Catalog, user: User,
              policy: Policy = "best") -> list[dict]:
    offered = session.execute(select(CourseAssignment, Membership.role, Membership.dropped_at)
                              .select_from(CourseAssignment)
                              .join(Membership, Membership.course_id == CourseAssignment.course_id)
                              .where(Membership.user_id == user.id)
                              .order_by(CourseAssignment.course_id, CourseAssignment.assignment_id))
    offered = in_catalog(catalog, courses.visible(user, offered))
    found = grades(session, settings, catalog, offered, policy, [user.id])
    maximum = max_scores(catalog, offered)
    versions = pack_versions(catalog, offered)
    return [{"course": o.course.slug, "assignment": o.assignment_id, "max_score": maximum[o.assignment_id],
             "grade": _grade_json(found.get((user.id, o.id)), versions[o.assignment_id])} for o in offered]


# ---------------------------------------------------------------------- statistics
def stats(session: Session, settings: Settings, catalog: Catalog, offered: CourseAssignment) -> dict:
    """Scores are each student's best grade, counted once no written answer awaits a score;
    a check's pass rate is over those best code attempts; a written question's over the scored
    current answers (pending ones are neither passes nor failures)."""
    manifest = catalog.get(offered.assignment_id).manifest
    by_status = dict(session.execute(select(Submission.status, func.count()).where(
        Submission.course_assignment_id == offered.id).group_by(Submission.status)).all())
    students = session.scalar(select(func.count(func.distinct(Submission.user_id))).where(
        Submission.course_assignment_id == offered.id))
    best = grades(session, settings, catalog, [offered], "best")
    results = best_results(session, [g.attempt.submission_id for g in best.values() if g.attempt.code])
    current = answers.current(session, [offered.id], [user_id for user_id, _ in best])
    written = {spec.name: [answers.as_test(spec, mine[spec.name]) if spec.name in mine else answers.unanswered(spec)
                           for mine in (current.get(key, {}) for key in best)] for spec in manifest.written}
    name_of = dict(session.execute(select(User.id, User.name).where(User.id.in_([u for u, _ in best]))).all())
    names = [name_of[user_id] for user_id, _ in best]
    complete = [g.points.total for g in best.values() if not g.points.pending_max]
    maximum = points.max_total(manifest)
    return {
        "course": offered.course.slug, "assignment": offered.assignment_id, "max_score": maximum,
        "counts": {"submissions": sum(by_status.values()), "students": students,
                   "by_status": {str(k): v for k, v in by_status.items()}},
        "students_scored": len(complete), "students_pending": len(best) - len(complete),
        "mean": round(statistics.fmean(complete), 4) if complete else None,
        "median": round(statistics.median(complete), 4) if complete else None,
        "histogram": histogram(complete, maximum),
        "checks": [check_stats(c.name, [(t, student) for student, tests in results for t in tests
                                        if t.name == c.name]) for c in manifest.checks]
                  + [check_stats(name, list(zip(tests, names))) for name, tests in written.items()],
    }


def best_results(session: Session, submission_ids: list[int]) -> list[tuple[str, list[TestResult]]]:
    """(student name, the checks' results) of these submissions: only the results' ``tests`` are
    read from the database, not their outputs (docs/BENCHMARKS.md, "Instructor pages").  A result
    that holds a NUL (``\\u0000``: a student's feedback may) cannot be taken apart by PostgreSQL's
    JSON operators; then the whole results are read and taken apart here."""
    query = (select(User.name, Submission.result["tests"]).join(User, User.id == Submission.user_id)
             .where(Submission.id.in_(submission_ids)))
    try:
        with session.begin_nested():
            rows = session.execute(query).all()
    except DataError:
        whole = query.with_only_columns(User.name, Submission.result)
        rows = [(name, (result or {}).get("tests")) for name, result in session.execute(whole).all()]
    return [(name, [TestResult.model_validate(t) for t in tests]) for name, tests in rows if tests is not None]


def histogram(scores: list[float], maximum: float) -> list[dict]:
    width = maximum / HISTOGRAM_BINS if maximum else 1.0
    counts = [0] * HISTOGRAM_BINS
    for score in scores:
        counts[min(int(score / width), HISTOGRAM_BINS - 1) if width else 0] += 1
    return [{"from": round(i * width, 4), "to": round((i + 1) * width, 4), "count": c} for i, c in enumerate(counts)]


def check_stats(name: str, tests: list[tuple[TestResult, str]]) -> dict:
    """A check's pass rate over (result, student name) pairs, and its most common failing
    feedback with the students behind each (the dashboard's drill-down)."""
    tests = [(t, student) for t, student in tests if t.status != CheckStatus.pending]
    failures = collections.defaultdict(list)
    for t, student in tests:
        if t.status != CheckStatus.passed and t.feedback:
            failures[t.feedback].append(student)
    common = sorted(failures.items(), key=lambda item: -len(item[1]))[:COMMON_FAILURES]
    passed = sum(t.status == CheckStatus.passed for t, _ in tests)
    return {"name": name, "graded": len(tests), "pass_rate": round(passed / len(tests), 4) if tests else None,
            "common_failures": [{"feedback": f, "count": len(students), "students": sorted(students)}
                                for f, students in common]}
