"""``torchgrade-submit ASSIGNMENT FILE [--server URL] [--token T] [--course C] [--json] [--lang zh|en]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

from torchgrade_client.messages import LANGUAGES, default_language, say
from torchgrade_client.submit import EXIT_FAILED, submit_and_follow


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The submit command's arguments (the main ``torchgrade submit`` has the same)."""
    parser.add_argument("assignment", help="assignment id, e.g. w1-normal-modes")
    parser.add_argument("file", type=Path)
    parser.add_argument("--server", default=os.environ.get("TORCHGRADE_SERVER", "http://127.0.0.1:8000"),
                        help="default $TORCHGRADE_SERVER or http://127.0.0.1:8000")
    parser.add_argument("--token", default=os.environ.get("TORCHGRADE_TOKEN"), help="default $TORCHGRADE_TOKEN")
    parser.add_argument("--course", help="when several of your courses offer the assignment")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="torchgrade-submit", description="submit homework to a "
                                                   "torchgrade server and show the result"))
    parser.add_argument("--lang", choices=LANGUAGES, default=default_language(),
                        help="language of messages and feedback (default: from $LANG)")
    args = parser.parse_args(argv)
    if not args.token:
        print(f"torchgrade-submit: {say('give your token with --token or TORCHGRADE_TOKEN', args.lang)}",
              file=sys.stderr)
        return EXIT_FAILED
    return submit_and_follow(args.server, args.token, args.assignment, args.file, args.course, args.json, args.lang)


if __name__ == "__main__":
    sys.exit(main())
