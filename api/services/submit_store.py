"""The submit path's database work, apart from the rest because it is the service's busiest.

Every call is one statement on an autocommit connection (no BEGIN and COMMIT round trips), except
the attempt limit's transaction.  On PostgreSQL the statements run on psycopg's async pool, in
the event loop: no worker thread, no ORM, no SQLAlchemy execution layer (the caller query and
the INSERT take 0.23 ms of CPU this way, 0.6 ms through SQLAlchemy Core); they are compiled once
from the Core statements below, so the models stay their only source.  Any other database
(SQLite in development) runs the same Core statements through SQLAlchemy in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

import psycopg
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection, Engine, Select, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from api.db import engine_for, utcnow
from api.models import Course, CourseAssignment, Extension, Membership, Submission, User

SUBMISSIONS = Submission.__table__
MEMBERS = Membership.__table__
POOL_SIZE = 20
# Waiting longer for a connection than the 503's Retry-After helps no one: the database is down.
CONNECTION_WAIT_S = 5

# Raises if a student's earlier submissions (all of them; those since `since`; the oldest of
# those) leave no attempt.
AttemptCheck = Callable[[int, int, "dt.datetime | None"], None]


def _caller_query(in_course: bool) -> Select:
    """The token's user, outer-joined with each of their courses that offers the assignment (and
    their extension for it): one row per offering, one row with no offering, or none."""
    users, offered, courses, extensions = (User.__table__, CourseAssignment.__table__, Course.__table__,
                                           Extension.__table__)
    course_matches = courses.c.id == offered.c.course_id
    if in_course:
        course_matches = and_(course_matches, courses.c.slug == bindparam("course_slug"))
    offering = (MEMBERS.join(offered, and_(offered.c.course_id == MEMBERS.c.course_id,
                                           offered.c.assignment_id == bindparam("assignment_id")))
                .join(courses, course_matches))
    joined = (users.outerjoin(offering, MEMBERS.c.user_id == users.c.id)
              .outerjoin(extensions, and_(extensions.c.course_assignment_id == offered.c.id,
                                          extensions.c.user_id == users.c.id)))
    return (select(users.c.id.label("user_id"), users.c.is_admin, MEMBERS.c.role, offered.c.id.label("offered_id"),
                   offered.c.course_id, courses.c.slug, offered.c.due_at, offered.c.late_days,
                   offered.c.late_penalty_per_day, offered.c.attempts_per_day, offered.c.attempts_total,
                   extensions.c.due_at.label("extended_to"))
            .select_from(joined).where(users.c.token_hash == bindparam("token_hash")))


CALLER = {False: _caller_query(in_course=False), True: _caller_query(in_course=True)}
STORED_COLUMNS = ("course_assignment_id", "user_id", "filename", "content", "sha256", "size", "queue", "status",
                  "created_at", "max_score", "attempts")
STORE = insert(SUBMISSIONS).returning(SUBMISSIONS.c.id)
# Serialises one student's submissions in a course, so that two at once cannot both pass a limit.
LOCK_MEMBER = (select(MEMBERS.c.id).where(MEMBERS.c.user_id == bindparam("user_id"),
                                          MEMBERS.c.course_id == bindparam("course_id")).with_for_update())
_recent = SUBMISSIONS.c.created_at > bindparam("since")
COUNT_ATTEMPTS = (select(func.count(), func.count().filter(_recent), func.min(SUBMISSIONS.c.created_at).filter(_recent))
                  .where(SUBMISSIONS.c.course_assignment_id == bindparam("course_assignment_id"),
                         SUBMISSIONS.c.user_id == bindparam("user_id")))
# A hint for the sweeper: if lost, the submission is queued twice (harmless), so on PostgreSQL it
# does not wait for the WAL flush, in one round trip: sent as one query, SET LOCAL and the UPDATE
# run as one implicit transaction.
MARK_ENQUEUED_POSTGRES = (f"SET LOCAL synchronous_commit TO OFF; UPDATE {SUBMISSIONS.name} SET enqueued_at = %s "
                          f"WHERE id = %s AND enqueued_at IS NULL")


def mark_enqueued(connection: Connection, submission_id: int) -> None:
    """The sweeper's hint, on an autocommit connection of any database."""
    if connection.dialect.name == "postgresql":
        with psycopg.ClientCursor(connection.connection.driver_connection) as cursor:
            cursor.execute(MARK_ENQUEUED_POSTGRES, (utcnow(), submission_id))
        return
    connection.execute(update(SUBMISSIONS).where(SUBMISSIONS.c.id == submission_id, SUBMISSIONS.c.enqueued_at.is_(None))
                       .values(enqueued_at=utcnow()))


class SubmitStore(Protocol):
    async def caller_rows(self, token_hash: str, assignment_id: str, course_slug: str | None) -> Sequence[Any]: ...

    async def insert(self, values: dict) -> int: ...

    async def insert_within_limits(self, values: dict, course_id: int, since: dt.datetime,
                                   check: AttemptCheck) -> int: ...

    async def mark_enqueued(self, submission_id: int) -> None: ...

    async def close(self) -> None: ...


def store_for(database_url: str) -> SubmitStore:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresStore(url.set(drivername="postgresql").render_as_string(hide_password=False))
    return CoreStore(engine_for(database_url))


# ---------------------------------------------------------------------- PostgreSQL
def _compiled(statement, column_keys: Sequence[str] | None = None) -> str:
    return str(statement.compile(dialect=PGDialect_psycopg(), column_keys=column_keys))


class PostgresStore:
    CALLER = {in_course: _compiled(query) for in_course, query in CALLER.items()}
    STORE = _compiled(STORE, STORED_COLUMNS)
    LOCK_MEMBER = _compiled(LOCK_MEMBER)
    COUNT_ATTEMPTS = _compiled(COUNT_ATTEMPTS)

    def __init__(self, libpq_url: str):
        self.url = libpq_url
        self.pool: AsyncConnectionPool | None = None
        self.opening = asyncio.Lock()

    async def caller_rows(self, token_hash: str, assignment_id: str, course_slug: str | None) -> list:
        query = self.CALLER[bool(course_slug)]
        parameters = {"token_hash": token_hash, "assignment_id": assignment_id, "course_slug": course_slug}
        try:
            return await self._fetch(query, parameters)
        except DBAPIError as exc:
            if not exc.connection_invalidated or self.pool is None:
                raise
        # The server dropped the connection (a restart?): drop the pool's other dead ones, read again.
        await self.pool.check()
        return await self._fetch(query, parameters)

    async def _fetch(self, query: str, parameters: dict) -> list:
        async with self._connection() as connection:
            cursor = connection.cursor(row_factory=namedtuple_row)
            return await (await cursor.execute(query, parameters)).fetchall()

    async def insert(self, values: dict) -> int:
        async with self._connection() as connection:
            return await self._insert(connection, values)

    async def insert_within_limits(self, values: dict, course_id: int, since: dt.datetime,
                                   check: AttemptCheck) -> int:
        student = {"user_id": values["user_id"], "course_id": course_id}
        async with self._connection() as connection, connection.transaction():
            await connection.execute(self.LOCK_MEMBER, student)
            counts = await connection.execute(self.COUNT_ATTEMPTS, {**student, "since": since,
                                                                    "course_assignment_id": values["course_assignment_id"]})
            check(*await counts.fetchone())
            return await self._insert(connection, values)

    async def _insert(self, connection: psycopg.AsyncConnection, values: dict) -> int:
        return (await (await connection.execute(self.STORE, values)).fetchone())[0]

    async def mark_enqueued(self, submission_id: int) -> None:
        async with self._connection() as connection, psycopg.AsyncClientCursor(connection) as cursor:
            await cursor.execute(MARK_ENQUEUED_POSTGRES, (utcnow(), submission_id))

    async def close(self) -> None:
        """At the end of the event loop; a later loop opens a new pool."""
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
        self.opening = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A pooled connection; psycopg's errors become SQLAlchemy's, which the API answers
        (a database that cannot be reached is a 503, as on every other route)."""
        pool = self.pool or await self._open()
        try:
            async with pool.connection() as connection:
                try:
                    yield connection
                except psycopg.Error as exc:
                    raise _as_sqlalchemy_error(exc, connection.broken) from exc
        except psycopg.Error as exc:  # no connection to be had
            raise _as_sqlalchemy_error(exc, False) from exc

    async def _open(self) -> AsyncConnectionPool:
        # Opened in the event loop that uses it (the pool's connections belong to that loop).
        async with self.opening:
            if self.pool is None:
                pool = AsyncConnectionPool(self.url, min_size=1, max_size=POOL_SIZE, timeout=CONNECTION_WAIT_S,
                                           open=False, kwargs={"autocommit": True}, configure=_in_utc)
                await pool.open()
                self.pool = pool
        return self.pool


def _as_sqlalchemy_error(error: psycopg.Error, connection_lost: bool) -> DBAPIError:
    return DBAPIError.instance(None, None, error, psycopg.Error, connection_invalidated=connection_lost)


async def _in_utc(connection: psycopg.AsyncConnection) -> None:
    """Timestamps come back in UTC, as SQLAlchemy's UTCDateTime gives them elsewhere."""
    await connection.execute("SET TIME ZONE 'UTC'")


# ---------------------------------------------------------------------- any SQLAlchemy database
class CoreStore:
    def __init__(self, engine: Engine):
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def caller_rows(self, token_hash: str, assignment_id: str, course_slug: str | None) -> list:
        parameters = {"token_hash": token_hash, "assignment_id": assignment_id, "course_slug": course_slug}
        return await run_in_threadpool(self._execute, lambda c: c.execute(CALLER[bool(course_slug)], parameters).all())

    async def insert(self, values: dict) -> int:
        return await run_in_threadpool(self._execute, lambda c: c.execute(STORE, values).scalar_one())

    async def insert_within_limits(self, values: dict, course_id: int, since: dt.datetime,
                                   check: AttemptCheck) -> int:
        student = {"user_id": values["user_id"], "course_id": course_id}

        def limited(connection: Connection) -> int:
            connection.execution_options(isolation_level=connection.default_isolation_level)
            with connection.begin():
                connection.execute(LOCK_MEMBER, student)
                check(*connection.execute(COUNT_ATTEMPTS, {**student, "since": since,
                                                           "course_assignment_id": values["course_assignment_id"]}).one())
                return connection.execute(STORE, values).scalar_one()
        return await run_in_threadpool(self._execute, limited)

    async def mark_enqueued(self, submission_id: int) -> None:
        await run_in_threadpool(self._execute, lambda c: mark_enqueued(c, submission_id))

    async def close(self) -> None:
        """Nothing to close: the engine is the process's."""

    def _execute(self, work: Callable[[Connection], Any]) -> Any:
        with self.engine.connect() as connection:
            return work(connection)
