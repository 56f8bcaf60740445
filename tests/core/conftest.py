"""core/ against SQLite and against PostgreSQL, each test on a fresh database."""

from __future__ import annotations

import pytest

from tests.workers.stack import postgres_schema


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    with postgres_schema() as url:
        yield url
