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

from grader.assignments import Catalog, UnknownAssignment
from grader.config import get_settings
from grader.i18n import LANGUAGES
from grader.status import SubmissionStatus

EXIT_FAULT = 2


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
        print(f"torchgrade: {exc}; known: {', '.join(catalog.ids())}", file=sys.stderr)
        return EXIT_FAULT
    console = Console()
    exit_code = 0
    with Grader(settings, catalog) as grader:
        for path in args.files:
            try:
                content = path.read_bytes()
            except OSError as exc:
                print(f"torchgrade: cannot read {path}: {exc.strerror}", file=sys.stderr)
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
        print(f"{manifest.id:28s} {manifest.queue:4s} {manifest.max_score:5g} pts  {manifest.title.en}")
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
            for outcome in run_cases(grader, catalog.get(assignment_id)):
                print(outcome.line())
                failures += not outcome.ok
    return 1 if failures else 0


SUBCOMMANDS = [add_grade, add_assignments, add_selftest]
