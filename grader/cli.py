"""The engine's subcommands of ``torchgrade`` (``torchgrade.cli`` puts them beside the
service's):

    torchgrade grade ASSIGNMENT FILE... [--json]   grade files with one warm sandbox
    torchgrade assignments                         list the catalogue
    torchgrade selftest [ASSIGNMENT...]            grade each pack's self-test submissions
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from grader.assignments import AssignmentError, Catalog, UnknownAssignment
from grader.config import get_settings
from grader.manifest import Said
from grader import i18n
from grader.i18n import LANGUAGES, Message, _
from grader.status import SubmissionStatus

EXIT_FAULT = 2


def say_error(message: Message, language: str) -> None:
    print(f"torchgrade: {i18n.render(message, language)}", file=sys.stderr)


def add_grade(subparsers) -> None:
    parser = subparsers.add_parser("grade", help="grade submission files against an assignment")
    parser.add_argument("assignment", help="assignment id, e.g. w1-normal-modes")
    parser.add_argument("files", nargs="+", type=Path, help=".py, .ipynb, .zip or .md files")
    parser.add_argument("--json", action="store_true", help="one JSON result per line, in argument order")
    parser.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS,
                        help="language of the feedback (as torchgrade --lang)")
    parser.set_defaults(handler=run_grade)


def run_grade(args) -> int:
    from grader.engine import Grader
    from grader.report import render

    settings = get_settings()
    catalog = Catalog(settings.reference_dir)
    try:
        catalog.get(args.assignment)
    except UnknownAssignment as exc:
        say_error(_("{problem}; known: {known}", problem=exc.message, known=", ".join(catalog.ids())), args.lang)
        return EXIT_FAULT
    except AssignmentError as exc:
        say_error(exc.message, args.lang)
        return EXIT_FAULT
    console = Console()
    exit_code = 0
    with Grader(settings, catalog) as grader:
        for path in args.files:
            try:
                content = path.read_bytes()
            except OSError as exc:
                say_error(_("cannot read {path}: {why}", path=str(path), why=exc.strerror), args.lang)
                exit_code = EXIT_FAULT
                continue
            result = grader.grade(args.assignment, path.name, content)
            if result.status == SubmissionStatus.internal_error:
                exit_code = EXIT_FAULT
            if args.json:
                print(result.localized(args.lang).model_dump_json(), flush=True)
            else:
                render(result, console, args.lang)
    return exit_code


def add_assignments(subparsers) -> None:
    parser = subparsers.add_parser("assignments", help="list the assignments")
    parser.set_defaults(handler=run_assignments)


def run_assignments(args) -> int:
    for assignment in Catalog(get_settings().reference_dir).all():
        manifest = assignment.manifest
        points = i18n.render(_("{points:5g} pts", points=manifest.max_score), args.lang)
        print(f"{manifest.id:28s} {manifest.queue:4s} {points}  {Said(manifest.title).render(args.lang)}")
    return 0


def add_selftest(subparsers) -> None:
    parser = subparsers.add_parser("selftest", help="grade each assignment's self-test submissions")
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    parser.set_defaults(handler=run_selftest)


def run_selftest(args) -> int:
    from grader.engine import Grader
    from grader.selftest import run_cases

    settings = get_settings()
    catalog = Catalog(settings.reference_dir)
    failures = 0
    with Grader(settings, catalog) as grader:
        for assignment_id in args.assignments or catalog.ids():
            try:
                assignment = catalog.get(assignment_id)
            except (UnknownAssignment, AssignmentError) as exc:
                say_error(exc.message, args.lang)
                failures += 1
                continue
            for outcome in run_cases(grader, assignment):
                print(outcome.line(args.lang))
                failures += not outcome.ok
    return 1 if failures else 0


SUBCOMMANDS = [add_grade, add_assignments, add_selftest]
