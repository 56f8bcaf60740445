"""Backups: the whole service state in one archive, restored into an empty database of either
backend (``torchgrade backup FILE`` / ``torchgrade restore FILE``).

An archive is a gzipped tar holding ``manifest.json`` (format, schema revision, backend, when,
and per table its row count and the SHA-256 of its file) and ``tables/<table>.jsonl``: a logical
dump, through SQLAlchemy, of every table the models define, rows in primary-key order, one JSON
object a line (bytes in base64, times in ISO 8601 UTC).  The dump reads one snapshot (a
REPEATABLE READ transaction on PostgreSQL, one read transaction on SQLite), so a backup taken
while students submit is consistent.

What it holds: uploads are stored in the database (``submissions.content``, byte for byte), as
are results, events, written answers and their scores, so the database is everything that
matters.  The data directory holds nothing else worth keeping: hidden-data caches are rebuilt
on demand, and the SQLite broker's messages are transient (``forget_deliveries`` below: restored
submissions that were queued or running are sent again by the sweeper).

Why a logical dump rather than ``pg_dump`` or SQLite's backup API: one format and one code path
for both backends (a course can move from SQLite to PostgreSQL by a backup and a restore), no
client tools of the server's exact version needed, and the schema revision and the integrity of
every table are checked before a row is written.  A restore is one transaction: it lands whole
or not at all.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, DateTime, LargeBinary, Table, delete, func, insert, select, text

from core import lifecycle
from core.db import engine_for, utcnow
from core.errors import BadRequest, Conflict
from core.i18n import _
from core.migrate import alembic_config, upgrade
from core.models import Base

FORMAT = 1
MANIFEST = "manifest.json"
BATCH = 500


@dataclasses.dataclass(frozen=True)
class Summary:
    """What an archive holds: its manifest's fields."""

    format: int
    schema_revision: str
    backend: str
    created_at: str
    tables: dict[str, dict]

    @property
    def rows(self) -> int:
        return sum(table["rows"] for table in self.tables.values())


# ---------------------------------------------------------------------- values
def _codec(table: Table) -> dict[str, str]:
    """Columns whose values JSON cannot hold as they are: name -> "bytes" or "time"."""
    kinds = {}
    for column in table.columns:
        kind = getattr(column.type, "impl", column.type)
        if isinstance(kind, LargeBinary):
            kinds[column.name] = "bytes"
        elif isinstance(kind, DateTime):
            kinds[column.name] = "time"
    return kinds


def _encode(row: dict, codec: dict[str, str]) -> dict:
    for name, kind in codec.items():
        value = row[name]
        if value is not None:
            row[name] = base64.b64encode(value).decode() if kind == "bytes" else value.isoformat()
    return row


def _decode(row: dict, codec: dict[str, str]) -> dict:
    for name, kind in codec.items():
        value = row.get(name)
        if value is not None:
            row[name] = base64.b64decode(value) if kind == "bytes" else dt.datetime.fromisoformat(value)
    return row


# ---------------------------------------------------------------------- revisions
def head_revision(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


# ---------------------------------------------------------------------- backup
def backup(database_url: str, path: Path) -> Summary:
    """Write the database to a new archive at ``path`` (refused if something is there)."""
    path = Path(path)
    if path.exists():
        raise Conflict(_("{path} already exists; a backup never overwrites a file: choose a new name",
                         path=str(path)), code="backup_exists")
    engine = engine_for(database_url)
    with tempfile.TemporaryDirectory(prefix="torchgrade-backup-") as work, _snapshot(engine) as connection:
        revision = current_revision(connection)
        if revision is None:
            raise BadRequest(_("the database has no schema yet (run torchgrade migrate): nothing to back up"),
                             code="not_migrated")
        tables = {table.name: _dump(connection, table, Path(work) / f"{table.name}.jsonl")
                  for table in Base.metadata.sorted_tables}
        summary = Summary(FORMAT, revision, engine.dialect.name, utcnow().isoformat(), tables)
        try:
            _write_archive(path, summary, Path(work))
        except OSError as exc:
            raise BadRequest(_("cannot write the backup {path}: {problem}", path=str(path),
                               problem=exc.strerror or str(exc)), code="backup_unwritable") from exc
    return summary


class _snapshot:
    """One read-only snapshot of the database on one connection."""

    def __init__(self, engine):
        self.engine = engine

    def __enter__(self) -> Connection:
        if self.engine.dialect.name == "postgresql":
            self.connection = self.engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                                      postgresql_readonly=True)
            self.connection.begin()
        else:  # pysqlite starts no transaction for a SELECT: begin one by hand, reads share its snapshot
            self.connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.connection.exec_driver_sql("BEGIN")
        return self.connection

    def __exit__(self, *exc) -> None:
        try:
            if self.engine.dialect.name == "postgresql":
                self.connection.rollback()
            else:
                self.connection.exec_driver_sql("ROLLBACK")
        finally:
            self.connection.close()


def _dump(connection: Connection, table: Table, file: Path) -> dict:
    codec, rows, digest = _codec(table), 0, hashlib.sha256()
    query = select(table).order_by(*table.primary_key.columns).execution_options(yield_per=BATCH)
    with open(file, "wb") as out:
        for row in connection.execute(query).mappings():
            line = json.dumps(_encode(dict(row), codec), ensure_ascii=False).encode() + b"\n"
            out.write(line)
            digest.update(line)
            rows += 1
    return {"rows": rows, "sha256": digest.hexdigest()}


def _write_archive(path: Path, summary: Summary, work: Path) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        with tarfile.open(partial, "w:gz") as archive:
            manifest = json.dumps(dataclasses.asdict(summary), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(manifest), int(utcnow().timestamp())
            archive.addfile(info, io.BytesIO(manifest))
            for name in summary.tables:
                archive.add(work / f"{name}.jsonl", arcname=f"tables/{name}.jsonl")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# ---------------------------------------------------------------------- restore
def read_summary(archive: tarfile.TarFile, path: Path) -> Summary:
    try:
        manifest = json.loads(archive.extractfile(MANIFEST).read())
        summary = Summary(**manifest)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadRequest(_("{path} is not a torchgrade backup (no readable manifest: {problem})", path=str(path),
                           problem=str(exc)), code="not_a_backup") from exc
    if summary.format != FORMAT:
        raise BadRequest(_("{path} is a backup of format {found}; this torchgrade reads format {wanted}",
                           path=str(path), found=summary.format, wanted=FORMAT), code="backup_format")
    return summary


def restore(database_url: str, path: Path, replace: bool = False) -> Summary:
    """Load an archive into the database: an empty one (created and migrated if need be), or
    any, its rows deleted first, with ``replace``.  Refused when the archive's schema revision
    is not this torchgrade's, or a table's file does not match the manifest."""
    path = Path(path)
    try:
        archive = tarfile.open(path, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise BadRequest(_("cannot read the backup {path}: {problem}", path=str(path), problem=str(exc)),
                         code="not_a_backup") from exc
    with archive:
        summary = read_summary(archive, path)
        head = head_revision(database_url)
        if summary.schema_revision != head:
            raise Conflict(_("the backup is of schema revision {found}, this torchgrade's is {wanted}: restore it "
                             "with the torchgrade version that made it, then upgrade (torchgrade migrate)",
                             found=summary.schema_revision, wanted=head), code="schema_revision")
        engine = engine_for(database_url)
        with engine.connect() as connection:
            revision = current_revision(connection)
        if revision not in (None, head):
            raise Conflict(_("the database is at schema revision {found}, not {wanted}: run torchgrade migrate "
                             "first", found=revision, wanted=head), code="schema_revision")
        upgrade(database_url)
        with engine.begin() as connection:
            _make_room(connection, replace)
            for table in Base.metadata.sorted_tables:
                _load(connection, table, archive, summary.tables.get(table.name), path)
            if connection.dialect.name == "postgresql":
                _advance_sequences(connection)
            lifecycle.forget_deliveries(connection)
    return summary


def _make_room(connection: Connection, replace: bool) -> None:
    occupied = [table.name for table in Base.metadata.sorted_tables
                if connection.scalar(select(func.count()).select_from(table))]
    if occupied and not replace:
        raise Conflict(_("the database is not empty (tables {tables} hold rows); restore into an empty database, "
                         "or add --replace to delete everything in it first", tables=", ".join(occupied)),
                       code="not_empty")
    for table in reversed(Base.metadata.sorted_tables):
        connection.execute(delete(table))


def _load(connection: Connection, table: Table, archive: tarfile.TarFile, expected: dict | None, path: Path) -> None:
    member = f"tables/{table.name}.jsonl"
    try:
        data = archive.extractfile(member).read()
    except (KeyError, AttributeError) as exc:
        raise BadRequest(_("the backup {path} lacks the table {table}", path=str(path), table=table.name),
                         code="backup_damaged") from exc
    if expected is None or hashlib.sha256(data).hexdigest() != expected["sha256"]:
        raise BadRequest(_("the backup {path} is damaged: the table {table} does not match its manifest",
                           path=str(path), table=table.name), code="backup_damaged")
    codec = _codec(table)
    rows = [_decode(json.loads(line), codec) for line in data.splitlines()]
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), rows[start:start + BATCH])


def _advance_sequences(connection: Connection) -> None:
    """Explicit ids leave PostgreSQL's sequences behind: the next new row must not reuse one."""
    for table in Base.metadata.sorted_tables:
        if "id" in table.columns and table.columns["id"].autoincrement in (True, "auto"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                                    f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"))
