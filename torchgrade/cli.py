"""``torchgrade``: the command line, composed from the engine's subcommands (grade,
assignments, selftest), the service's (migrate, serve, course, user, roster, demo, submit,
similarity, similarity-base) and the worker's."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from grader.cli import SUBCOMMANDS as ENGINE
from grader.i18n import LANGUAGES, negotiate
from torchgrade.service_commands import SUBCOMMANDS as SERVICE
from torchgrade.similarity_commands import SUBCOMMANDS as SIMILARITY
from workers.cli import add_worker

SUBCOMMANDS = [*ENGINE, *SERVICE, *SIMILARITY, add_worker]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="torchgrade", description="Sandboxed grading of PyTorch homework")
    parser.add_argument("--lang", choices=LANGUAGES, default=default_language(),
                        help="language of messages and feedback (default: $TORCHGRADE_LANG, else $LANG if it is "
                             "zh or en, else the service's $TORCHGRADE_DEFAULT_LANGUAGE, else zh)")
    subparsers = parser.add_subparsers(required=True, metavar="command")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def default_language() -> str:
    return negotiate(os.environ.get("TORCHGRADE_LANG"), os.environ.get("LANG"),
                     os.environ.get("TORCHGRADE_DEFAULT_LANGUAGE"))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
