"""``torchgrade similarity`` (the code similarity report of a course assignment) and
``torchgrade similarity-base`` (the files it subtracts): operators' commands on the service's
database, the same services as the API's (api/services/similarity.py)."""

from __future__ import annotations

import json
from pathlib import Path

from core.i18n import _
from core.settings import get_settings
from torchgrade.service_commands import EXIT_USAGE, report_error, say, service_session


def add_similarity(subparsers) -> None:
    parser = subparsers.add_parser("similarity", help="rank the pairs of students' submissions of an assignment by "
                                                      "code similarity (the course's own code subtracted)")
    parser.add_argument("course")
    parser.add_argument("assignment")
    parser.add_argument("--policy", choices=("latest", "best"), default="latest",
                        help="each student's latest or best scored code upload (default: latest)")
    parser.add_argument("--submission", type=int, action="append", metavar="ID",
                        help="compare these submissions instead (repeat the option)")
    parser.add_argument("--threshold", type=float, default=None, help="pairs at or above it make clusters (0-1)")
    parser.add_argument("--limit", type=int, default=20, help="pairs shown, best first (default 20)")
    parser.add_argument("--json", action="store_true", help="the report as the API gives it (docs/RESULTS.md)")
    parser.set_defaults(handler=run_similarity)


def add_similarity_base(subparsers) -> None:
    parser = subparsers.add_parser("similarity-base", help="list, add or remove the files the similarity report "
                                                           "subtracts as the course's own code")
    actions = parser.add_subparsers(required=True, metavar="action")
    listed = actions.add_parser("list", help="the starter, the course's scripts and the instructors' files")
    add = actions.add_parser("add", help="add a .py, .ipynb or .zip file (one of the same name is replaced)")
    remove = actions.add_parser("remove", help="remove a file an instructor added")
    for action in (listed, add, remove):
        action.add_argument("course")
        action.add_argument("assignment")
    add.add_argument("file", type=Path)
    remove.add_argument("name")
    listed.set_defaults(handler=run_base_list)
    add.set_defaults(handler=run_base_add)
    remove.set_defaults(handler=run_base_remove)


def _offering(session, course: str, assignment: str):
    from api.services import courses
    from api.services.accounts import course_by_slug

    return courses.course_assignment(session, course_by_slug(session, course), assignment)


def run_similarity(args) -> int:
    from api.services import similarity
    from core.catalog import ManifestCatalog
    from core.errors import ServiceError
    from grader.similarity import THRESHOLD

    settings = get_settings()
    threshold = THRESHOLD if args.threshold is None else args.threshold
    if not 0 <= threshold <= 1 or args.limit < 1:
        say(_("--threshold is between 0 and 1, and --limit at least 1"), args.lang, "similarity", error=True)
        return EXIT_USAGE
    with service_session(settings) as session:
        try:
            offered = _offering(session, args.course, args.assignment)
            found = similarity.report(session, settings, ManifestCatalog(settings.reference_dir), offered,
                                      policy=args.policy,
                                      ids=args.submission, threshold=threshold, limit=args.limit, language=args.lang)
        except ServiceError as exc:
            return report_error("similarity", exc, args.lang)
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=1))
    else:
        show(found, args.lang)
    return 0


def show(found: dict, language: str) -> None:
    """The report as text: the pairs with their regions, the clusters, what was left out."""
    say(_("{assignment} in {course}: {count} submissions, {pairs} pairs compared; subtracted: {bases}",
          assignment=found["assignment"], course=found["course"], count=found["submissions"],
          pairs=found["pairs_compared"], bases=", ".join(b["name"] for b in found["bases"]) or "-"), language)
    for rank, pair in enumerate(found["pairs"], 1):
        a, b = pair["a"], pair["b"]
        print(f"{rank:3d}. {pair['score']:.2f}  {a['student']} (#{a['submission']})  ~  "
              f"{b['student']} (#{b['submission']})")
        for region in pair["regions"][:5]:
            print(f"       {_lines(region['a'])}  ~  {_lines(region['b'])}")
    for cluster in found["clusters"]:
        say(_("cluster of {count} (best pair {score:.2f}): {students}", count=len(cluster["students"]),
              score=cluster["max_score"], students=", ".join(cluster["students"])), language)
    for skipped in found["skipped"]:
        say(_("left out {student} (#{submission}): {reason}", **skipped), language)
    if found["empty"]:
        say(_("no code of their own once the bases are subtracted: {students}",
              students=", ".join(w["student"] for w in found["empty"])), language)


def _lines(where: dict) -> str:
    return f"{where['file']}:{where['start']}-{where['end']}"


def run_base_list(args) -> int:
    from api.services import similarity
    from core.catalog import ManifestCatalog
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            bases = similarity.list_bases(session, ManifestCatalog(settings.reference_dir),
                                          _offering(session, args.course, args.assignment))
        except ServiceError as exc:
            return report_error("similarity-base list", exc, args.lang)
    for base in bases:
        print(f"{base['origin']:<10} {base['name']}  ({base['size']} B)")
    return 0


def run_base_add(args) -> int:
    from api.services import similarity
    from core.catalog import ManifestCatalog
    from core.errors import ServiceError

    settings = get_settings()
    try:
        content = args.file.read_bytes()
    except OSError as exc:
        say(_("cannot read {path}: {why}", path=str(args.file), why=str(exc)), args.lang, "similarity-base add",
            error=True)
        return EXIT_USAGE
    with service_session(settings) as session:
        try:
            offered = _offering(session, args.course, args.assignment)
            similarity.add_base(session, settings, ManifestCatalog(settings.reference_dir), offered, None,
                                args.file.name, content)
        except ServiceError as exc:
            return report_error("similarity-base add", exc, args.lang)
        session.commit()
    say(_("{name} is now subtracted from every submission of {assignment} in {course}", name=args.file.name,
          assignment=args.assignment, course=args.course), args.lang)
    return 0


def run_base_remove(args) -> int:
    from api.services import similarity
    from core.errors import ServiceError

    settings = get_settings()
    with service_session(settings) as session:
        try:
            similarity.remove_base(session, _offering(session, args.course, args.assignment), args.name)
        except ServiceError as exc:
            return report_error("similarity-base remove", exc, args.lang)
        session.commit()
    say(_("{name} is no longer subtracted", name=args.name), args.lang)
    return 0


SUBCOMMANDS = [add_similarity, add_similarity_base]
