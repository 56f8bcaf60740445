"""Alembic environment: the URL comes from Settings (or ``config.attributes["url"]``)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from core.db import engine_for
from core.models import Base
from core.settings import get_settings

config = context.config
if config.config_file_name is not None and not config.attributes.get("quiet"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    return config.attributes.get("url") or get_settings().database_url


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    with engine_for(database_url()).connect() as connection:
        # SQLite alters a table by copying it to a new one and dropping the old: with foreign keys
        # on, dropping ``users`` would cascade to every submission.  The pragma is a no-op inside
        # a transaction, so it is set before Alembic's begins, and set back after.
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
