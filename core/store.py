"""The submit path's database work, apart from the rest because it is the service's busiest.

Three calls, each for a batch (api/services/submit_batcher.py gathers them): finding the callers,
storing submissions, and marking them queued.  Each is one statement on an autocommit connection
(no BEGIN and COMMIT round trips), except a batch with attempt limits, or one with a row the
database refuses (stored again row by row), which is one transaction.

On PostgreSQL the statements run on psycopg's async pool, in the event loop: no worker thread, no
ORM, no SQLAlchemy execution layer (a third of the CPU of SQLAlchemy Core); they are compiled
once from the Core statements and the table below, so the models stay their only source, and a
batch's values travel as arrays, so each statement's text never changes (prepared once).  Any
other database (SQLite in development) runs the Core statements through SQLAlchemy in a worker
thread, one row at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

import psycopg
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection, Engine, Select, String, and_, bindparam, func, insert, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.concurrency import run_in_threadpool

from core.db import engine_for, utcnow
from core.errors import ServiceError
from core.lifecycle import MARK_ENQUEUED_POSTGRES, mark_enqueued
from core.models import ApiToken, Course, CourseAssignment, Extension, Membership, Submission, User

SUBMISSIONS = Submission.__table__
MEMBERS = Membership.__table__
TOKENS = ApiToken.__table__
POOL_SIZE = 20
# Waiting longer for a connection than the 503's Retry-After helps no one: the database is down.
CONNECTION_WAIT_S = 5

# Raises if a student's earlier submissions (all of them; those since `since`; the oldest of
# those) leave no attempt.
AttemptCheck = Callable[[int, int, "dt.datetime | None"], None]


@dataclasses.dataclass(frozen=True)
class AttemptLimit:
    course_id: int
    since: dt.datetime          # the start of the 24 hours the daily limit counts
    check: AttemptCheck


@dataclasses.dataclass(frozen=True)
class NewSubmission:
    """A validated upload: its row (STORED_COLUMNS), and its limit (None: not limited)."""

    values: dict
    limit: AttemptLimit | None


# One per row of a batch, in order: the new id, or why that row was refused (it alone).
Outcome = int | Exception
# Who asks to submit what: (token hash, assignment id, course slug or None).
Asked = tuple[str, str, "str | None"]


def _caller_query(in_course: bool) -> Select:
    """The token's user, outer-joined with each of their courses that offers the assignment (and
    their extension for it): one row per offering, one row with no offering, or none.  Raw
    columns only: what they allow (exemption, deadline, limits) is core/rules.py's to decide."""
    users, offered, courses, extensions = (User.__table__, CourseAssignment.__table__, Course.__table__,
                                           Extension.__table__)
    course_matches = courses.c.id == offered.c.course_id
    if in_course:
        course_matches = and_(course_matches, courses.c.slug == bindparam("course_slug"))
    offering = (MEMBERS.join(offered, and_(offered.c.course_id == MEMBERS.c.course_id,
                                           offered.c.assignment_id == bindparam("assignment_id")))
                .join(courses, course_matches))
    joined = (TOKENS.join(users, users.c.id == TOKENS.c.user_id)
              .outerjoin(offering, MEMBERS.c.user_id == users.c.id)
              .outerjoin(extensions, and_(extensions.c.course_assignment_id == offered.c.id,
                                          extensions.c.user_id == users.c.id)))
    return (select(users.c.id.label("user_id"), TOKENS.c.expires_at.label("token_expires_at"), users.c.is_admin,
                   users.c.language.label("user_language"),
                   MEMBERS.c.role, MEMBERS.c.dropped_at, offered.c.id.label("offered_id"), offered.c.course_id,
                   offered.c.withdrawn_at, courses.c.slug,
                   courses.c.language.label("course_language"), courses.c.time_zone.label("course_time_zone"),
                   offered.c.due_at, offered.c.late_days,
                   offered.c.late_penalty_per_day, offered.c.attempts_per_day, offered.c.attempts_total,
                   extensions.c.due_at.label("extended_to"))
            .select_from(joined).where(TOKENS.c.token_hash == bindparam("token_hash")))


def _callers_query() -> Select:
    """CALLER for many callers in one query (PostgreSQL): each asked (token hash, assignment,
    course slug or NULL), numbered by its position, gets the rows CALLER would give it."""
    users, offered, courses, extensions = (User.__table__, CourseAssignment.__table__, Course.__table__,
                                           Extension.__table__)
    columns = ("token_hash", "assignment_id", "course_slug")
    asked = (func.unnest(*(bindparam(name, type_=ARRAY(String)) for name in columns))
             .table_valued(*columns, with_ordinality="position")
             .render_derived(name="asked"))
    offering = (select(MEMBERS.c.role, MEMBERS.c.dropped_at, offered.c.id.label("offered_id"), offered.c.course_id,
                       offered.c.withdrawn_at, courses.c.slug,
                       courses.c.language.label("course_language"), courses.c.time_zone.label("course_time_zone"),
                   offered.c.due_at, offered.c.late_days, offered.c.late_penalty_per_day,
                       offered.c.attempts_per_day, offered.c.attempts_total)
                .join_from(MEMBERS, offered, and_(offered.c.course_id == MEMBERS.c.course_id,
                                                  offered.c.assignment_id == asked.c.assignment_id))
                .join(courses, and_(courses.c.id == offered.c.course_id,
                                    or_(asked.c.course_slug.is_(None), courses.c.slug == asked.c.course_slug)))
                .where(MEMBERS.c.user_id == users.c.id).lateral("offering"))
    joined = (asked.join(TOKENS, TOKENS.c.token_hash == asked.c.token_hash)
              .join(users, users.c.id == TOKENS.c.user_id).outerjoin(offering, true())
              .outerjoin(extensions, and_(extensions.c.course_assignment_id == offering.c.offered_id,
                                          extensions.c.user_id == users.c.id)))
    return (select(asked.c.position, users.c.id.label("user_id"), TOKENS.c.expires_at.label("token_expires_at"),
                   users.c.is_admin,
                   users.c.language.label("user_language"), offering.c.role, offering.c.dropped_at,
                   offering.c.offered_id, offering.c.course_id, offering.c.withdrawn_at, offering.c.slug,
                   offering.c.course_language, offering.c.course_time_zone,
                   offering.c.due_at,
                   offering.c.late_days, offering.c.late_penalty_per_day, offering.c.attempts_per_day,
                   offering.c.attempts_total, extensions.c.due_at.label("extended_to"))
            .select_from(joined))


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
def limited_members(batch: Sequence[NewSubmission]) -> list[dict]:
    """The memberships to lock, in one order for every transaction (so two cannot deadlock)."""
    members = {(new.values["user_id"], new.limit.course_id) for new in batch if new.limit is not None}
    return [{"user_id": user_id, "course_id": course_id} for user_id, course_id in sorted(members)]


def attempts_query(new: NewSubmission) -> dict:
    return {"user_id": new.values["user_id"], "course_assignment_id": new.values["course_assignment_id"],
            "since": new.limit.since}


def refusals(batch: Sequence[NewSubmission], counts: Sequence[Sequence]) -> list[Exception | None]:
    """Each row's attempt check, in arrival order, given COUNT_ATTEMPTS of each limited row (taken
    under the membership locks) and the rows admitted before it in this batch."""
    admitted: dict[tuple[int, int], list[dt.datetime]] = defaultdict(list)
    counted = iter(counts)
    refused: list[Exception | None] = []
    for new in batch:
        if new.limit is None:
            refused.append(None)
            continue
        total, today, oldest = next(counted)
        earlier = admitted[new.values["user_id"], new.values["course_assignment_id"]]
        earlier_today = [at for at in earlier if at > new.limit.since]
        oldest_today = min((at for at in (oldest, *earlier_today) if at is not None), default=None)
        try:
            new.limit.check(total + len(earlier), today + len(earlier_today), oldest_today)
        except ServiceError as refusal:
            refused.append(refusal)
            continue
        earlier.append(new.values["created_at"])
        refused.append(None)
    return refused


class SubmitStore(Protocol):
    async def callers(self, asked: Sequence[Asked]) -> list[list[Any]]:
        """The CALLER rows of each asked, in order."""

    async def store(self, batch: Sequence[NewSubmission]) -> list[Outcome]:
        """Commits the rows that pass their limits; raises (storing none) if the database fails."""

    async def mark_enqueued(self, submission_ids: Sequence[int]) -> None: ...

    async def close(self) -> None: ...


def store_for(database_url: str) -> SubmitStore:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresStore(url.set(drivername="postgresql").render_as_string(hide_password=False))
    return CoreStore(engine_for(database_url))


# ---------------------------------------------------------------------- PostgreSQL
def _compiled(statement, column_keys: Sequence[str] | None = None) -> str:
    return str(statement.compile(dialect=PGDialect_psycopg(), column_keys=column_keys))


def _insert_many() -> str:
    """Many rows in one INSERT whose text never changes (prepared once): each column an array,
    unnested in step.  The sequence numbers the rows in ORDER BY order, so the ids, sorted, are
    the rows' in order."""
    dialect = PGDialect_psycopg()
    columns = ", ".join(STORED_COLUMNS)
    arrays = ", ".join(f"%({name})s::{SUBMISSIONS.c[name].type.compile(dialect)}[]" for name in STORED_COLUMNS)
    return (f"INSERT INTO {SUBMISSIONS.name} ({columns}) SELECT {columns} FROM unnest({arrays}) WITH ORDINALITY "
            f"AS batch ({columns}, position) ORDER BY position RETURNING id")


class PostgresStore:
    CALLERS = _compiled(_callers_query())
    STORE = _compiled(STORE, STORED_COLUMNS)
    STORE_MANY = _insert_many()
    LOCK_MEMBER = _compiled(LOCK_MEMBER)
    COUNT_ATTEMPTS = _compiled(COUNT_ATTEMPTS)

    def __init__(self, libpq_url: str):
        self.url = libpq_url
        self.pool: AsyncConnectionPool | None = None
        self.opening = asyncio.Lock()

    async def callers(self, asked: Sequence[Asked]) -> list[list]:
        parameters = dict(zip(("token_hash", "assignment_id", "course_slug"), map(list, zip(*asked))))
        try:
            rows = await self._fetch(self.CALLERS, parameters)
        except DBAPIError as exc:
            if not exc.connection_invalidated or self.pool is None:
                raise
            # The server dropped the connection (a restart?): drop the pool's other dead ones, read again.
            await self.pool.check()
            rows = await self._fetch(self.CALLERS, parameters)
        found: list[list] = [[] for _ in asked]
        for row in rows:
            found[row.position - 1].append(row)
        return found

    async def _fetch(self, query: str, parameters: dict) -> list:
        async with self._connection() as connection:
            cursor = connection.cursor(row_factory=namedtuple_row)
            return await (await cursor.execute(query, parameters)).fetchall()

    async def store(self, batch: Sequence[NewSubmission]) -> list[Outcome]:
        try:
            return await self._store(batch, row_by_row=False)
        except (IntegrityError, DataError):  # a row the database refuses, which fails the statement: find it
            return await self._store(batch, row_by_row=True)

    async def _store(self, batch: Sequence[NewSubmission], row_by_row: bool) -> list[Outcome]:
        """All or nothing: one statement, or one transaction where limits are counted (under the
        members' locks, until the commit) or rows inserted one at a time."""
        limited = [new for new in batch if new.limit is not None]
        async with self._connection() as connection, \
                (connection.transaction() if limited or row_by_row else contextlib.nullcontext()):
            refused = refusals(batch, await self._count_attempts(connection, batch, limited))
            admitted = [new.values for new, refusal in zip(batch, refused) if refusal is None]
            inserted = iter(await (self._insert_each if row_by_row else self._insert_all)(connection, admitted))
            return [refusal or next(inserted) for refusal in refused]

    async def _count_attempts(self, connection: psycopg.AsyncConnection, batch: Sequence[NewSubmission],
                              limited: list[NewSubmission]) -> list[tuple]:
        if not limited:
            return []
        async with connection.pipeline():  # every lock and count in one round trip
            for member in limited_members(batch):
                await connection.execute(self.LOCK_MEMBER, member)
            counts = [await connection.execute(self.COUNT_ATTEMPTS, attempts_query(new)) for new in limited]
        return [await count.fetchone() for count in counts]

    async def _insert_all(self, connection: psycopg.AsyncConnection, rows: list[dict]) -> list[int]:
        if not rows:
            return []
        columns = {name: [row[name] for row in rows] for name in STORED_COLUMNS}
        return sorted(new_id for new_id, in await (await connection.execute(self.STORE_MANY, columns)).fetchall())

    async def _insert_each(self, connection: psycopg.AsyncConnection, rows: list[dict]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for row in rows:
            try:
                async with connection.transaction():  # a savepoint: a refused row leaves the others
                    outcomes.append((await (await connection.execute(self.STORE, row)).fetchone())[0])
            except (psycopg.IntegrityError, psycopg.DataError) as exc:
                outcomes.append(_as_sqlalchemy_error(exc, False))
        return outcomes

    async def mark_enqueued(self, submission_ids: Sequence[int]) -> None:
        async with self._connection() as connection, psycopg.AsyncClientCursor(connection) as cursor:
            await cursor.execute(MARK_ENQUEUED_POSTGRES, (utcnow(), list(submission_ids)))

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
    """One transaction per batch, one statement per row: SQLite undoes a refused statement alone
    and keeps the transaction (PostgreSQL would abort it: PostgresStore)."""

    def __init__(self, engine: Engine):
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def callers(self, asked: Sequence[Asked]) -> list[list]:
        def read(connection: Connection) -> list[list]:
            return [connection.execute(CALLER[bool(slug)], {"token_hash": token_hash, "assignment_id": assignment_id,
                                                            "course_slug": slug}).all()
                    for token_hash, assignment_id, slug in asked]
        return await run_in_threadpool(self._execute, read)

    async def store(self, batch: Sequence[NewSubmission]) -> list[Outcome]:
        return await run_in_threadpool(self._execute, lambda connection: self._store(connection, batch))

    def _store(self, connection: Connection, batch: Sequence[NewSubmission]) -> list[Outcome]:
        connection.execution_options(isolation_level=connection.default_isolation_level)
        with connection.begin():
            for member in limited_members(batch):
                connection.execute(LOCK_MEMBER, member)
            counts = [connection.execute(COUNT_ATTEMPTS, attempts_query(new)).one()
                      for new in batch if new.limit is not None]
            return [refusal or self._insert(connection, new.values)
                    for new, refusal in zip(batch, refusals(batch, counts))]

    @staticmethod
    def _insert(connection: Connection, row: dict) -> Outcome:
        try:
            return connection.execute(STORE, row).scalar_one()
        except (IntegrityError, DataError) as refusal:
            return refusal

    async def mark_enqueued(self, submission_ids: Sequence[int]) -> None:
        await run_in_threadpool(self._execute, lambda c: mark_enqueued(c, submission_ids))

    async def close(self) -> None:
        """Nothing to close: the engine is the process's."""

    def _execute(self, work: Callable[[Connection], Any]) -> Any:
        with self.engine.connect() as connection:
            return work(connection)
