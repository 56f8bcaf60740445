"""The code similarity report of one course assignment, for its staff (core/rules.py says who),
and the base files it subtracts.  API, CLI and the instructor dashboard call these; the
comparing is grader/similarity.py's.

Which submissions: each student's latest or best scored code upload, as the gradebook picks it
(``policy``), or the submissions named by id.  Which bases: the pack's ``starter*``, every file
of ``reference/_course/`` (the course's published scripts) and the files the course's
instructors added for this assignment (``similarity_bases``).  Computed on demand, never stored.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import posixpath
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, undefer

from api.services import courses, gradebook
from api.services.accounts import course_by_slug
from api.services.submissions import CONTROL_CHARACTERS, MAX_FILENAME
from core import rules
from core.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, UnsupportedFileType
from core.i18n import _
from core.models import Course, CourseAssignment, Membership, SimilarityBase, Submission, User
from core.settings import Settings
from grader import similarity
from grader.assignments import Catalog
from grader.i18n import render
from grader.similarity import Source
from grader.submission import SubmissionError

BASE_SUFFIXES = (".py", ".ipynb", ".zip")
MAX_PAIRS = 1000


# ---------------------------------------------------------------------- who
def course_for_staff(session: Session, user: User, slug: str, *, change: bool = False) -> Course:
    """The course whose reports (or, ``change``, whose bases) this user may reach."""
    course = course_by_slug(session, slug)
    role = None if user.is_admin else courses.role_in(session, user, course.id)
    if not rules.may_see_similarity(user.is_admin, role):
        raise Forbidden(_("only the staff of {slug} may see the code similarity report", slug=slug),
                        code="not_staff")
    if change and not rules.may_set_similarity_bases(user.is_admin, role):
        raise Forbidden(_("only the instructors of {slug} may change the code the similarity report subtracts",
                          slug=slug), code="not_instructor")
    return course


def offering(session: Session, user: User, slug: str, assignment_id: str, *, change: bool = False) -> CourseAssignment:
    """The course assignment whose report (or, ``change``, whose bases) this user may reach."""
    return courses.course_assignment(session, course_for_staff(session, user, slug, change=change), assignment_id)


# ---------------------------------------------------------------------- which submissions
def chosen(session: Session, settings: Settings, catalog: Catalog, offered: CourseAssignment,
           policy: gradebook.Policy, ids: Sequence[int] | None = None) -> list[Submission]:
    """The named submissions of this course assignment, else each student's latest or best code upload."""
    if ids:
        return named(session, offered, ids)
    graded = Membership.role.in_(rules.roles_with(rules.Right.graded))
    students = list(session.scalars(select(Membership.user_id).where(Membership.course_id == offered.course_id,
                                                                     graded)))
    picked = gradebook.grades(session, settings, catalog, [offered], policy, user_ids=students)
    return _submissions(session, offered, [g.attempt.submission_id for g in picked.values() if g.attempt.code])


def named(session: Session, offered: CourseAssignment, ids: Sequence[int]) -> list[Submission]:
    """These submissions of this course assignment (404 naming those it has not)."""
    wanted = list(dict.fromkeys(ids))
    found = _submissions(session, offered, wanted)
    missing = [i for i in wanted if i not in {s.id for s in found}]
    if missing:
        raise NotFound(_("{assignment} in {course} has no submission {ids}", assignment=offered.assignment_id,
                         course=offered.course.slug, ids=", ".join(map(str, missing))),
                       code="submission_not_found")
    return found


def _submissions(session: Session, offered: CourseAssignment, ids: list[int]) -> list[Submission]:
    return list(session.scalars(select(Submission).options(undefer(Submission.content), joinedload(Submission.user))
                                .where(Submission.course_assignment_id == offered.id, Submission.id.in_(ids))
                                .order_by(Submission.id)))


# ---------------------------------------------------------------------- bases
def bases(session: Session, catalog: Catalog, offered: CourseAssignment) -> list[tuple[Source, str]]:
    """Every base of this course assignment with where it comes from: starter, course, instructor."""
    pack = catalog.get(offered.assignment_id).directory
    found = [(_file_source(path, f"starter:{path.name}"), "starter") for path in sorted(pack.glob("starter*"))]
    course = Path(catalog.reference_dir) / similarity.COURSE_CODE
    found += [(_file_source(path, f"course:{path.name}"), "course") for path in sorted(course.glob("*"))
              if path.suffix in BASE_SUFFIXES]
    added = session.scalars(select(SimilarityBase).options(undefer(SimilarityBase.content))
                            .where(SimilarityBase.course_assignment_id == offered.id).order_by(SimilarityBase.name))
    found += [(Source(f"instructor:{base.name}", base.name, base.content), "instructor") for base in added]
    return found


def _file_source(path: Path, key: str) -> Source:
    return Source(key, path.name, path.read_bytes())


def list_bases(session: Session, catalog: Catalog, offered: CourseAssignment) -> list[dict]:
    rows = {b.name: b for b in session.scalars(select(SimilarityBase)
                                               .where(SimilarityBase.course_assignment_id == offered.id))}
    shown = []
    for source, origin in bases(session, catalog, offered):
        row = rows.get(source.filename) if origin == "instructor" else None
        shown.append({"name": source.filename, "origin": origin, "size": len(source.content),
                      "sha256": hashlib.sha256(source.content).hexdigest(),
                      "added_at": row.added_at if row else None})
    return shown


def add_base(session: Session, settings: Settings, catalog: Catalog, offered: CourseAssignment, user: User | None,
             filename: str, content: bytes) -> SimilarityBase:
    """A file the report subtracts for this course assignment; one of the same name is replaced."""
    name = CONTROL_CHARACTERS.sub("", posixpath.basename(filename.replace("\\", "/"))).strip()[-MAX_FILENAME:]
    if not name.lower().endswith(BASE_SUFFIXES):
        raise UnsupportedFileType(_("{name}: a base file is a .py file, a .ipynb notebook or a .zip", name=name))
    if len(content) > settings.max_upload_kb << 10:
        raise PayloadTooLarge(_("{name} is {size} KB; the limit is {limit} KB", name=name, size=len(content) // 1024,
                                limit=settings.max_upload_kb))
    try:
        similarity.python_files(Source(name, name, content), catalog.get(offered.assignment_id).manifest.entry)
    except SubmissionError as exc:
        raise BadRequest(exc.message, code="invalid_base") from None
    base = session.scalar(select(SimilarityBase).where(SimilarityBase.course_assignment_id == offered.id,
                                                       SimilarityBase.name == name))
    if base is None:
        base = SimilarityBase(course_assignment_id=offered.id, name=name)
        session.add(base)
    base.content, base.sha256, base.size = content, hashlib.sha256(content).hexdigest(), len(content)
    base.added_by = user.id if user else None
    session.flush()
    return base


def remove_base(session: Session, offered: CourseAssignment, name: str) -> None:
    base = session.scalar(select(SimilarityBase).where(SimilarityBase.course_assignment_id == offered.id,
                                                       SimilarityBase.name == name))
    if base is None:
        raise NotFound(_("{assignment} has no base file {name!r} added by an instructor; the starter and the "
                         "course's scripts stay bases", assignment=offered.assignment_id, name=name),
                       code="base_not_found")
    session.delete(base)


# ---------------------------------------------------------------------- the report
def report(session: Session, settings: Settings, catalog: Catalog, offered: CourseAssignment, *,
           policy: gradebook.Policy = "latest",
           ids: Sequence[int] | None = None, threshold: float = similarity.THRESHOLD, limit: int = 50,
           language: str = "en") -> dict:
    """Ranked pairs (the ``limit`` best, with their matched regions), clusters, and what was left out."""
    submissions = chosen(session, settings, catalog, offered, policy, ids)
    used = bases(session, catalog, offered)
    entry = catalog.get(offered.assignment_id).manifest.entry
    found = similarity.compare([Source(str(s.id), s.filename, s.content) for s in submissions],
                               [source for source, _ in used], entry, threshold)
    shown = found.pairs[:limit]
    found.add_regions(shown)
    by_key = {str(s.id): s for s in submissions}

    def who(key: str) -> dict:
        submission = by_key[key]
        return {"submission": submission.id, "student": submission.user.name, "filename": submission.filename}

    return {"course": offered.course.slug, "assignment": offered.assignment_id,
            "policy": "chosen" if ids else policy, "threshold": threshold,
            "method": {"library": f"copydetect {importlib.metadata.version('copydetect')}",
                       "noise": similarity.NOISE, "guarantee": similarity.GUARANTEE},
            "bases": [{"name": source.filename, "origin": origin} for source, origin in used],
            "submissions": len(submissions), "pairs_compared": len(found.pairs),
            "skipped": [who(key) | {"reason": render(why, language)} for key, why in found.skipped.items()],
            "empty": [who(key) for key in found.empty],
            "pairs": [_pair_json(pair, who) for pair in shown],
            "clusters": [_cluster_json(group, found.pairs, threshold, who) for group in found.clusters]}


def side_by_side(session: Session, catalog: Catalog, offered: CourseAssignment, first: int, second: int,
                 language: str = "en") -> dict:
    """Two submissions compared, every matched region with its lines of code on both sides (the
    instructors' page of a pair)."""
    submissions = named(session, offered, [first, second])
    if len(submissions) != 2:
        raise BadRequest(_("choose two different submissions"), code="same_submission")
    entry = catalog.get(offered.assignment_id).manifest.entry
    found = similarity.compare([Source(str(s.id), s.filename, s.content) for s in submissions],
                               [source for source, _ in bases(session, catalog, offered)], entry)
    by_key = {str(s.id): s for s in submissions}
    if not found.pairs:
        reasons = {**{k: render(why, language) for k, why in found.skipped.items()}, **{k: "" for k in found.empty}}
        return {"pair": None, "left_out": [{"submission": int(k), "student": by_key[k].user.name, "reason": reason}
                                           for k, reason in reasons.items()]}
    pair = found.pairs[0]
    pair.regions = similarity.regions(found.documents[pair.a], found.documents[pair.b], limit=similarity.REGIONS)

    def who(key: str) -> dict:
        return {"submission": int(key), "student": by_key[key].user.name, "filename": by_key[key].filename}

    def code(key: str, where: similarity.Region) -> list[tuple[int, str]]:
        lines = found.documents[key].files.get(where.file, [])
        return list(enumerate(lines[where.start - 1:where.end], where.start))

    shown = _pair_json(pair, who)
    for region, (in_a, in_b, _matched) in zip(shown["regions"], pair.regions):
        region["a"]["lines"], region["b"]["lines"] = code(pair.a, in_a), code(pair.b, in_b)
    return {"pair": shown, "left_out": []}


def _pair_json(pair: similarity.Pair, who) -> dict:
    return {"score": pair.score, "similarity": list(pair.similarity), "matched": pair.tokens,
            "a": who(pair.a), "b": who(pair.b),
            "regions": [{"a": a.json(), "b": b.json(), "matched": matched} for a, b, matched in pair.regions]}


def _cluster_json(group: list[str], pairs: list[similarity.Pair], threshold: float, who) -> dict:
    members = set(group)
    inside = [p.score for p in pairs if p.a in members and p.b in members and p.score >= threshold]
    people = sorted((who(key) for key in group), key=lambda w: w["student"])
    return {"students": [w["student"] for w in people], "submissions": [w["submission"] for w in people],
            "max_score": max(inside), "links": len(inside)}
