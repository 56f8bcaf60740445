"""Fixtures for the workers: databases (SQLite and PostgreSQL), a private Redis broker."""

from __future__ import annotations

import pytest

from core.catalog import ManifestCatalog
from core.db import session_factory
from tests.workers.stack import migrated, postgres_schema, reference_dir, service_settings


@pytest.fixture(scope="session")
def references(tmp_path_factory):
    return reference_dir(tmp_path_factory.mktemp("references"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db_settings(request, tmp_path_factory, references):
    data_dir = tmp_path_factory.mktemp(f"workers-{request.param}")
    if request.param == "sqlite":
        yield migrated(service_settings(data_dir, references, slot=10))
        return
    with postgres_schema() as url:
        yield migrated(service_settings(data_dir, references, slot=10, database_url=url))


@pytest.fixture
def sessions(db_settings):
    return session_factory(db_settings.database_url)


@pytest.fixture(scope="session")
def catalog(references):
    return ManifestCatalog(references)
