"""Engine and sessions: one engine per database URL and process, SQLite tuned for a worker
and an API writing at once (WAL, a busy timeout), PostgreSQL through psycopg 3."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from sqlalchemy import DateTime, Engine, Select, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 30_000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect):
        if value is None or value.tzinfo is dt.timezone.utc:  # psycopg's in a UTC session (engine_for)
            return value
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 (the driver installed), not psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True, pool_recycle=1800)
    event.listen(engine, "connect", _utc_session)
    return engine


def _utc_session(connection, _record) -> None:
    """Sessions in UTC: psycopg then reads a timestamptz as a ``datetime.timezone.utc`` moment,
    twice as fast as in a named zone such as the server's ``Etc/UTC`` (a gradebook reads tens of
    thousands), and ``UTCDateTime`` keeps it as it is."""
    cursor = connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    connection.commit()


def _tune_sqlite(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def without_flush_wait(session: Session) -> None:
    """For a transaction whose loss in a crash is harmless (progress events, hints, claims that
    a crash would void anyway): on PostgreSQL, commit without waiting for the WAL flush."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def plain_rows(session: Session, query: Select, batch: int = 2000) -> Iterator[tuple]:
    """The rows of a query that reads tens of thousands (a course's gradebook), a batch at a
    time. On PostgreSQL they are psycopg's own tuples: building SQLAlchemy's Row objects costs
    more than psycopg's fetch, and converts nothing in plain columns (numbers, text, moments in
    a UTC session: ``_utc_session``); tests/core/test_db.py holds them equal. Elsewhere they are
    SQLAlchemy's rows (SQLite keeps a moment as text).  docs/BENCHMARKS.md, "Instructor pages"."""
    result = session.execute(query)
    if session.get_bind().dialect.name != "postgresql":
        for part in result.partitions(batch):
            yield from part
        return
    try:
        while part := result.cursor.fetchmany(batch):
            yield from part
    finally:
        result.close()


@lru_cache(maxsize=8)
def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)
