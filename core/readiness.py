"""Whether this process can do its work: the data directory, the database (reachable and
migrated to the latest revision) and the broker.  ``torchgrade serve`` and ``torchgrade worker``
refuse to start while any of them is unusable; ``/readyz`` reports them.

Each check returns ``None`` when the dependency is usable, else one sentence for the operator
(a catalogue message, ``core/locale``: the CLI says it in ``--lang``, ``/readyz`` in the
request's language).
``refuse_to_start`` gives a dependency that is restarting a short while before a command
refuses to start: an unreachable server may come back, a database that is not migrated or a
data directory that cannot be written does not.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
import sys
import time
from collections.abc import Callable

from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from alembic.script import ScriptDirectory
from kombu.exceptions import KombuError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from core.i18n import _
from core.migrate import alembic_config
from core.settings import Settings
from grader.i18n import SOURCE_LANGUAGE, Message, Text, render

STARTUP_WAIT_S = 30.0        # how long a command waits for an unreachable database or broker
BROKER_TIMEOUT_S = 2


@dataclasses.dataclass(frozen=True)
class Problem:
    """A problem's sentence; ``transient`` when the dependency may come back by itself."""

    text: Message
    transient: bool = False

    def render(self, language: str = SOURCE_LANGUAGE) -> str:
        return render(self.text, language)

    def __str__(self) -> str:
        return self.render()


def data_dir_problem(settings: Settings) -> Problem | None:
    """The data directory exists (created if need be) and a file can be written in it."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=settings.data_dir, prefix=".torchgrade-probe-"):
            pass
    except OSError as exc:
        return Problem(_("the data directory {path} cannot be used: {why}", path=str(settings.data_dir),
                         why=exc.strerror or str(exc)))
    return None


@functools.cache
def _migrations() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


def database_problem(settings: Settings) -> Problem | None:
    """The database answers and is at the latest migration."""
    from core.db import engine_for

    shown = shown_url(settings.database_url)
    try:
        with engine_for(settings.database_url).connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        return Problem(_("the database {url} cannot be reached: {why}", url=shown, why=_first_line(exc)),
                       transient=True)
    except OSError as exc:  # the folder of an SQLite file cannot be made
        return Problem(_("the database {url} cannot be opened: {why}", url=shown, why=exc.strerror or str(exc)))
    heads = frozenset(_migrations().get_heads())
    if current == heads:
        return None
    if not current:
        return Problem(_("the database {url} is not migrated: run `torchgrade migrate`", url=shown))
    if not all(_known(revision) for revision in current):
        return Problem(_("the database {url} is at revision {current}, which this version of torchgrade does not "
                         "know (a newer version migrated it)", url=shown, current=", ".join(sorted(current))))
    return Problem(_("the database {url} is at revision {current}, not {heads}: run `torchgrade migrate`", url=shown,
                     current=", ".join(sorted(current)), heads=", ".join(sorted(heads))))


def _known(revision: str) -> bool:
    try:
        return _migrations().get_revision(revision) is not None
    except CommandError:
        return False


def broker_problem(settings: Settings) -> Problem | None:
    """The broker answers and its queues can be declared (for the embedded transport: its
    SQLite file can be opened and written)."""
    from core.broker import create_celery

    app = create_celery(settings)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
            channel = connection.default_channel
            for queue in app.conf.task_queues:
                queue(channel).declare()
    except (KombuError, RedisError, SQLAlchemyError, OSError) as exc:
        return Problem(_("the broker {url} cannot be used: {why}", url=shown_url(settings.broker_url),
                         why=_first_line(exc)), transient=True)
    return None


CHECKS: dict[str, Callable[[Settings], Problem | None]] = {
    "data_dir": data_dir_problem, "database": database_problem, "broker": broker_problem}


def problems(settings: Settings) -> dict[str, Problem]:
    """Every unusable dependency, by name.  The data directory comes first: the embedded
    database and broker are files in it."""
    found = {}
    for name, check in CHECKS.items():
        problem = check(settings)
        if problem is not None:
            found[name] = problem
    return found


def workers_problem(session, catalog, settings: Settings) -> Problem | None:
    """A live worker consumes every queue that an offered assignment uses (core/workers.py).
    Not a start-up check: a worker does not wait for another."""
    from core import workers

    missing = workers.unserved(session, catalog, settings.worker_stale_s)
    if not missing:
        return None
    return Problem(Text.join("; ", [queue.message for queue in missing]), transient=True)


def wait_until_usable(settings: Settings, patience_s: float = STARTUP_WAIT_S,
                      on_wait: Callable[[dict[str, Problem]], None] = lambda found: None) -> dict[str, Problem]:
    """The problems left once nothing transient is, or after ``patience_s``; ``{}`` when all is usable."""
    found = problems(settings)
    deadline = time.monotonic() + patience_s
    while found and all(problem.transient for problem in found.values()) and time.monotonic() < deadline:
        on_wait(found)
        time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
        found = problems(settings)
    return found


def shown_url(url: str) -> str:
    """A database or broker URL without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.rpartition("@")[2]


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def refuse_to_start(command: str, settings: Settings, patience_s: float = STARTUP_WAIT_S,
                    language: str = SOURCE_LANGUAGE) -> bool:
    """For ``serve`` and ``worker``: wait up to ``patience_s`` for an unreachable database or
    broker, then print every problem left, in ``language`` (True: the command must not start)."""
    def say(message: Message) -> None:
        print(f"torchgrade {command}: {render(message, language)}", file=sys.stderr, flush=True)

    def waiting(found: dict[str, Problem]) -> None:
        if not waited:
            waited.append(True)
            say(_("waiting up to {seconds:g} s: {problems}", seconds=patience_s,
                  problems=Text.join("; ", [problem.text for problem in found.values()])))

    waited: list[bool] = []
    found = wait_until_usable(settings, patience_s, waiting)
    for problem in found.values():
        say(_("cannot start: {problem}", problem=problem.text))
    return bool(found)
