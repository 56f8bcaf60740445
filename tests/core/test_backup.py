"""torchgrade backup / restore: a seeded course with submissions, results, written answers and
their scores, backed up and restored into a fresh database (SQLite, PostgreSQL, and from one to
the other), compared table by table; the refusals (not empty, another schema revision, a damaged
archive, an existing file); the CLI in Chinese."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile

import pytest
from sqlalchemy import func, insert, select

from api.services import submissions as submission_service
from core import backup, lifecycle
from core.catalog import ManifestCatalog
from core.db import engine_for, session_factory, utcnow
from core.errors import BadRequest, Conflict
from core.migrate import upgrade
from core.models import Base, Course, CourseAssignment, Submission, User
from grader.results import GradeResult, TestResult
from grader.status import CheckStatus, SubmissionStatus
from tests.workers.stack import REPOSITORY, environment, postgres_schema, reference_dir, seed_course, service_settings

CODE = b"def answer():\n    return 42\n\x00\n# \xe5\xa7\x93\xe5\x90\x8d\n"  # a NUL and UTF-8 (姓名)


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    return reference_dir(tmp_path_factory.mktemp("references"))


def database(kind: str, tmp_path, name: str):
    """A fresh, empty database of ``kind``: a context manager giving its URL."""
    if kind == "sqlite":
        return contextlib.nullcontext(f"sqlite:///{tmp_path / f'{name}.sqlite3'}")
    return postgres_schema()


def seeded(url: str, tmp_path, references) -> dict:
    """A course: two students, a graded submission with a scored written answer, a queued one."""
    upgrade(url)
    settings = service_settings(tmp_path / "data", references, slot=10, database_url=url)
    people = seed_course(settings, ManifestCatalog(references), students=2)
    sessions = session_factory(url)
    with sessions() as session:
        offered = session.scalar(select(CourseAssignment).where(CourseAssignment.assignment_id == "w0-service"))
        student, other = (session.scalar(select(User).where(User.name == name)) for name in people["students"])
        ids = [session.scalar(insert(Submission).values(**lifecycle.new_row(
            course_assignment_id=offered.id, user_id=user.id, filename="hw.py", content=CODE,
            sha256=hashlib.sha256(CODE).hexdigest(), queue="cpu", max_score=6, created_at=utcnow())).returning(
            Submission.id)) for user in (student, other)]
        session.commit()
    claimed = lifecycle.claim(sessions, ids[0], lambda assignment: 60.0, "host:1")
    tests = [TestResult(name="answer_visible", score=2, max_score=2, status=CheckStatus.passed),
             TestResult(name="Q1", score=0, max_score=5, status=CheckStatus.pending, feedback="答案已收到")]
    lifecycle.ProgressWriter(sessions, ids[0], total=2)(tests[0])
    result = GradeResult(assignment="w0-service", submission="hw.py", status=SubmissionStatus.graded, score=2,
                         max_score=6, pending_max_score=5, tests=tests, answers={"Q1": "因为 42。"})
    assert lifecycle.record(sessions, claimed, result, 0.2, 2.0)
    with sessions() as session:
        teacher = session.scalar(select(User).where(User.name == people["instructor"]))
        submission_service.score_written(session, ManifestCatalog(references), teacher,
                                         session.get(Submission, ids[0]), "Q1", 4.0, "很好")
        session.commit()
    return {"graded": ids[0], "queued": ids[1]}


def everything(url: str) -> dict[str, list[dict]]:
    with engine_for(url).connect() as connection:
        return {table.name: [dict(row) for row in connection.execute(
            select(table).order_by(*table.primary_key.columns)).mappings()] for table in Base.metadata.sorted_tables}


@pytest.mark.parametrize("source, target", [("sqlite", "sqlite"), ("postgres", "postgres"), ("sqlite", "postgres")])
def test_a_course_restored_into_a_fresh_database_is_the_same(tmp_path, references, source, target):
    with database(source, tmp_path, "source") as source_url, database(target, tmp_path, "target") as target_url:
        ids = seeded(source_url, tmp_path, references)
        archive = tmp_path / "course.tar.gz"
        made = backup.backup(source_url, archive)
        assert made.backend == {"sqlite": "sqlite", "postgres": "postgresql"}[source]
        assert made.schema_revision == backup.head_revision(source_url)
        assert made.tables["submissions"]["rows"] == 2 and made.tables["written_scores"]["rows"] == 1
        restored = backup.restore(target_url, archive)
        assert restored == made
        before, after = everything(source_url), everything(target_url)
        assert after.keys() == before.keys() and all(after[name] for name in ("answers", "submission_events"))
        for name in before:
            if name != "submissions":
                assert after[name] == before[name], name
        old, new = ({row["id"]: row for row in rows["submissions"]} for rows in (before, after))
        assert new[ids["graded"]] == old[ids["graded"]], "a graded submission comes back as it was, upload included"
        assert new[ids["graded"]]["content"] == CODE and new[ids["graded"]]["result"]["answers"] == {"Q1": "因为 42。"}
        assert {k: v for k, v in new[ids["queued"]].items() if k != "enqueued_at"} == \
            {k: v for k, v in old[ids["queued"]].items() if k != "enqueued_at"}
        assert new[ids["queued"]]["enqueued_at"] is None, "queued again by the sweeper: the old broker is gone"
        with session_factory(target_url)() as session:  # new ids go on where the backup's ended
            fresh = session.scalar(insert(Course).values(slug="after-restore").returning(Course.id))
            assert fresh > max(row["id"] for row in before["courses"])


def test_restore_refuses_a_database_that_is_not_empty_unless_told(tmp_path, references, database_url):
    seeded(database_url, tmp_path, references)
    archive = tmp_path / "course.tar.gz"
    backup.backup(database_url, archive)
    before = everything(database_url)
    with pytest.raises(Conflict) as refused:
        backup.restore(database_url, archive)
    assert refused.value.code == "not_empty" and "--replace" in str(refused.value)
    assert "不是空的" in refused.value.message.render("zh")
    backup.restore(database_url, archive, replace=True)
    after = everything(database_url)
    assert after["written_scores"] == before["written_scores"] and len(after["submissions"]) == 2


def rewritten(archive, tmp_path, change) -> object:
    """A copy of the archive whose manifest and table files ``change(name, bytes)`` rewrote."""
    copy = tmp_path / "changed.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(copy, "w:gz") as target:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    return copy


def test_restore_refuses_another_schema_revision_and_a_damaged_archive(tmp_path, references):
    with database("sqlite", tmp_path, "source") as url, database("sqlite", tmp_path, "target") as target:
        seeded(url, tmp_path, references)
        archive = tmp_path / "course.tar.gz"
        backup.backup(url, archive)

        def older(name, data):
            if name != backup.MANIFEST:
                return data
            return json.dumps({**json.loads(data), "schema_revision": "0001"}).encode()

        with pytest.raises(Conflict) as refused:
            backup.restore(target, rewritten(archive, tmp_path, older))
        assert refused.value.code == "schema_revision" and "0001" in refused.value.message.render("zh")
        damaged = rewritten(archive, tmp_path, lambda name, data: data.replace(b"Q1", b"Q2")
                            if name == "tables/answers.jsonl" else data)
        with pytest.raises(BadRequest) as refused:
            backup.restore(target, damaged)
        assert refused.value.code == "backup_damaged"
        with session_factory(target)() as session:
            assert session.scalar(select(func.count()).select_from(User)) == 0, "nothing half-restored"
        with pytest.raises(BadRequest) as refused:
            backup.restore(target, tmp_path / "course.tar.gz.missing")
        assert refused.value.code == "not_a_backup"
        with pytest.raises(Conflict) as refused:
            backup.backup(url, archive)
        assert refused.value.code == "backup_exists"
        with pytest.raises(BadRequest) as refused:
            backup.backup(url, tmp_path / "no-such-folder" / "course.tar.gz")
        assert refused.value.code == "backup_unwritable" and "无法写入" in refused.value.message.render("zh")


def test_the_cli_backs_up_and_restores_in_chinese(tmp_path, references):
    seeded(f"sqlite:///{tmp_path / 'data' / 'torchgrade.sqlite3'}", tmp_path, references)
    archive = tmp_path / "备份.tar.gz"

    def torchgrade(data_dir, *args):
        env = environment(service_settings(data_dir, references, slot=10))
        return subprocess.run([sys.executable, "-m", "torchgrade.cli", "--lang", "zh", *args], env=env,
                              cwd=REPOSITORY, capture_output=True, text=True, timeout=300)

    made = torchgrade(tmp_path / "data", "backup", str(archive))
    assert made.returncode == 0 and "备份" in made.stdout, made.stderr
    again = torchgrade(tmp_path / "data", "restore", str(archive))
    assert again.returncode == 2 and "--replace" in again.stderr and "不是空的" in again.stderr
    fresh = torchgrade(tmp_path / "fresh", "restore", str(archive))
    assert fresh.returncode == 0, fresh.stderr
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC 在 sqlite 上备份", fresh.stdout), fresh.stdout  # not ISO microseconds
    assert everything(f"sqlite:///{tmp_path / 'fresh' / 'torchgrade.sqlite3'}")["written_scores"] == \
        everything(f"sqlite:///{tmp_path / 'data' / 'torchgrade.sqlite3'}")["written_scores"]
