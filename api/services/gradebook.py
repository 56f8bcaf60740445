"""The gradebook (best or latest per assignment, late penalty applied, extensions honoured,
results graded by an older pack version flagged), a student's own grades, and per-assignment
statistics."""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime as dt
import io
import statistics
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from api.services import courses
from api.services.submissions import result_with_written
from core import rules
from core.models import Course, CourseAssignment, Membership, Submission, User, WrittenScore
from grader.assignments import Catalog
from grader.status import CheckStatus, SubmissionStatus

Policy = Literal["best", "latest"]
SCORED = (SubmissionStatus.graded, SubmissionStatus.error, SubmissionStatus.timeout, SubmissionStatus.memory,
          SubmissionStatus.crashed)
HISTOGRAM_BINS = 10
COMMON_FAILURES = 3


@dataclasses.dataclass(frozen=True)
class Entry:
    submission_id: int
    status: SubmissionStatus
    score: float
    max_score: float
    days_late: int
    late_penalty: float
    submitted_at: dt.datetime
    pack_version: str | None

    @property
    def adjusted_score(self) -> float:
        return round(self.score * (1 - self.late_penalty), 4)


def scored_entries(session: Session, offered: list[CourseAssignment],
                   user_ids: list[int] | None = None) -> dict[tuple[int, int], list[Entry]]:
    """(user id, course assignment id) -> every scored submission, as the gradebook sees it."""
    by_id = {o.id: o for o in offered}
    written = (select(WrittenScore.submission_id, func.sum(WrittenScore.score).label("points"))
               .group_by(WrittenScore.submission_id).subquery())
    query = (select(Submission.id, Submission.user_id, Submission.course_assignment_id, Submission.status,
                    Submission.score, Submission.max_score, Submission.created_at,
                    func.coalesce(written.c.points, 0.0), Submission.pack_version)
             .outerjoin(written, written.c.submission_id == Submission.id)
             .where(Submission.course_assignment_id.in_(list(by_id)), Submission.status.in_(SCORED)))
    if user_ids is not None:
        query = query.where(Submission.user_id.in_(user_ids))
    extensions = courses.extensions_by_user(session, list(by_id))
    exempt = courses.exempt_members(session, list({o.course_id for o in offered}))
    entries: dict[tuple[int, int], list[Entry]] = collections.defaultdict(list)
    for sid, user_id, offered_id, status, score, max_score, created_at, written_points, version \
            in session.execute(query):
        offering = by_id[offered_id]
        deadline = courses.deadline(offering, extensions.get((offered_id, user_id)),
                                    exempt=(offering.course_id, user_id) in exempt)
        entries[(user_id, offered_id)].append(Entry(
            sid, status, round((score or 0.0) + written_points, 4), max_score, deadline.days_late(created_at),
            deadline.penalty(created_at), created_at, version))
    return entries


def pick(entries: list[Entry], policy: Policy) -> Entry | None:
    if not entries:
        return None
    if policy == "latest":
        return max(entries, key=lambda e: (e.submitted_at, e.submission_id))
    return max(entries, key=lambda e: (e.adjusted_score, e.submitted_at, e.submission_id))


def in_catalog(catalog: Catalog, offered) -> list[CourseAssignment]:
    """Offered assignments whose pack still exists (a removed pack drops out of the views)."""
    known = set(catalog.ids())
    return [o for o in offered if o.assignment_id in known]


def max_scores(catalog: Catalog, offered: list[CourseAssignment]) -> dict[str, float]:
    points = {}
    for o in offered:
        manifest = catalog.get(o.assignment_id).manifest
        points[o.assignment_id] = manifest.max_score + sum(w.points for w in manifest.written)
    return points


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


def gradebook(session: Session, catalog: Catalog, course: Course, policy: Policy) -> dict:
    offered = in_catalog(catalog, course.assignments)
    versions = pack_versions(catalog, offered)
    graded = Membership.role.in_(rules.roles_with(rules.Right.graded))
    students = session.scalars(select(User).join(Membership).where(Membership.course_id == course.id, graded)
                               .order_by(User.name)).all()
    entries = scored_entries(session, offered)
    rows = []
    for student in students:
        grades = {o.assignment_id: pick(entries.get((student.id, o.id), []), policy) for o in offered}
        rows.append({"student": student.name, "display_name": student.display_name,
                     "grades": {a: _entry_json(e, versions[a]) for a, e in grades.items()},
                     "total": round(sum(e.adjusted_score for e in grades.values() if e), 4)})
    points = max_scores(catalog, offered)
    return {"course": course.slug, "policy": policy, "assignments": [o.assignment_id for o in offered],
            "max_scores": points, "max_total": sum(points.values()), "pack_versions": versions, "students": rows}


def _entry_json(entry: Entry | None, current_version: str) -> dict | None:
    if entry is None:
        return None
    return {"submission_id": entry.submission_id, "status": entry.status, "score": entry.score,
            "max_score": entry.max_score, "days_late": entry.days_late, "late_penalty": entry.late_penalty,
            "adjusted_score": entry.adjusted_score, "submitted_at": entry.submitted_at.isoformat(),
            "pack_version": entry.pack_version, "pack_outdated": entry.pack_version != current_version}


def gradebook_csv(book: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "display_name", *book["assignments"], "total"])
    writer.writerow(["(max)", "", *(f"{book['max_scores'][a]:g}" for a in book["assignments"]),
                     f"{book['max_total']:g}"])
    for row in book["students"]:
        cells = [("" if row["grades"][a] is None else f"{row['grades'][a]['adjusted_score']:g}")
                 for a in book["assignments"]]
        writer.writerow([row["student"], row["display_name"], *cells, f"{row['total']:g}"])
    return out.getvalue()


def my_grades(session: Session, catalog: Catalog, user: User, policy: Policy = "best") -> list[dict]:
    offered = session.scalars(select(CourseAssignment).join(Membership, Membership.course_id ==
                                                            CourseAssignment.course_id)
                              .where(Membership.user_id == user.id)
                              .order_by(CourseAssignment.course_id, CourseAssignment.assignment_id)).all()
    offered = in_catalog(catalog, offered)
    entries = scored_entries(session, offered, [user.id])
    points = max_scores(catalog, offered)
    versions = pack_versions(catalog, offered)
    return [{"course": o.course.slug, "assignment": o.assignment_id, "max_score": points[o.assignment_id],
             "grade": _entry_json(pick(entries.get((user.id, o.id), []), policy), versions[o.assignment_id])}
            for o in offered]


# ---------------------------------------------------------------------- statistics
def stats(session: Session, catalog: Catalog, offered: CourseAssignment) -> dict:
    manifest = catalog.get(offered.assignment_id).manifest
    by_status = dict(session.execute(select(Submission.status, func.count()).where(
        Submission.course_assignment_id == offered.id).group_by(Submission.status)).all())
    students = session.scalar(select(func.count(func.distinct(Submission.user_id))).where(
        Submission.course_assignment_id == offered.id))
    best = [pick(found, "best") for found in scored_entries(session, [offered]).values()]
    best_ids = [e.submission_id for e in best if e]
    results = [result_with_written(s) for s in session.scalars(
        select(Submission).where(Submission.id.in_(best_ids)).options(undefer(Submission.result)))]
    scores = [e.score for e in best if e]
    maximum = manifest.max_score + sum(w.points for w in manifest.written)
    check_names = [c.name for c in manifest.checks] + [w.name for w in manifest.written]
    return {
        "course": offered.course.slug, "assignment": offered.assignment_id, "max_score": maximum,
        "counts": {"submissions": sum(by_status.values()), "students": students,
                   "by_status": {str(k): v for k, v in by_status.items()}},
        "students_scored": len(scores),
        "mean": round(statistics.fmean(scores), 4) if scores else None,
        "median": round(statistics.median(scores), 4) if scores else None,
        "histogram": histogram(scores, maximum),
        "checks": [check_stats(name, [r for r in results if r]) for name in check_names],
    }


def histogram(scores: list[float], maximum: float) -> list[dict]:
    width = maximum / HISTOGRAM_BINS if maximum else 1.0
    counts = [0] * HISTOGRAM_BINS
    for score in scores:
        counts[min(int(score / width), HISTOGRAM_BINS - 1) if width else 0] += 1
    return [{"from": round(i * width, 4), "to": round((i + 1) * width, 4), "count": c} for i, c in enumerate(counts)]


def check_stats(name: str, results: list) -> dict:
    tests = [t for r in results for t in r.tests if t.name == name]
    failures = collections.Counter(t.feedback for t in tests if t.status != CheckStatus.passed and t.feedback)
    return {"name": name, "graded": len(tests),
            "pass_rate": round(sum(t.status == CheckStatus.passed for t in tests) / len(tests), 4) if tests else None,
            "common_failures": [{"feedback": f, "count": c} for f, c in failures.most_common(COMMON_FAILURES)]}
