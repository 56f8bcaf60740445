"""The migrations create exactly the models' schema, on SQLite and on PostgreSQL, and go down
and up again."""

from __future__ import annotations

from alembic import command

from core.migrate import alembic_config


def test_models_match_the_migrations(api_settings):
    command.check(alembic_config(api_settings.database_url))


def test_downgrade_and_upgrade(tmp_path):
    config = alembic_config(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
