"""Structured logs: one JSON object a line on stderr, from the API and the workers.

Every record carries ``time``, ``level``, ``logger``, ``message`` and ``process``; a record of
a submission adds what ``extra=`` gave it: ``submission_id``, ``assignment``, ``worker``,
``queue`` and durations in seconds (``grading_s``, ``queue_wait_s``).  A traceback is the
``exc_info`` field of the record that logged it: the grader's own tracebacks go here and never
to a student (a result carries one line: grader/engine.py ``_internal_error``).

The library is python-json-logger: it is a formatter for the standard ``logging`` module, which
this code, Celery, uvicorn, SQLAlchemy and Alembic already log through, so every one of their
records comes out as JSON without touching a call (structlog would need its own logger in our
code and a bridge for theirs).  ``TORCHGRADE_LOG_FORMAT=text`` gives the plain lines back for
a developer's terminal."""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

FIELDS = "{levelname}{name}{message}{process}"
RENAMED = {"levelname": "level", "name": "logger"}
NOT_FIELDS = (*RESERVED_ATTRS, "color_message")  # uvicorn's copy of the message with terminal colours
QUIET = ("alembic",)  # /readyz reads the migration state: alembic says so at INFO each time
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
# An invitation code is the account until it is used, and it travels in the URL (the page
# /invite/CODE, the API's /invitations/CODE): no log line keeps it (uvicorn's access log would).
INVITATION_IN_URL = re.compile(r"(/invite/|/invitations/)[^/?#\s\"']+")


class NoSecrets(logging.Filter):
    """Replaces invitation codes in a record's message (and its arguments) with ``…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = INVITATION_IN_URL.sub(r"\1…", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def formatter(log_format: str) -> logging.Formatter:
    """``time`` is ISO 8601 in UTC (``2026-12-07T04:40:17.068000+00:00``)."""
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    return JsonFormatter(FIELDS, style="{", rename_fields=RENAMED, reserved_attrs=NOT_FIELDS, timestamp="time",
                         json_ensure_ascii=False)


def configure(log_format: str = "json", level: int | str = logging.INFO) -> None:
    """The root logger writes every record to stderr in ``log_format``; what else handled
    them is removed (one line per event, not two)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(NoSecrets())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def uvicorn_config(log_format: str = "json") -> dict:
    """uvicorn's ``log_config``: its server and access records through the root logger's
    handler, so that they are JSON lines too."""
    return {"version": 1, "disable_existing_loggers": False,
            "loggers": {name: {"handlers": [], "propagate": True, "level": "INFO"}
                        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}}
