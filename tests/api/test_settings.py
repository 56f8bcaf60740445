"""The service's settings: defaults that need no server, and production refusing them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_defaults_live_under_the_data_dir(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path}/torchgrade.sqlite3"
    assert settings.broker_url == f"sqla+sqlite:///{tmp_path}/broker.sqlite3"


@pytest.mark.parametrize(("overrides", "message"), [
    ({}, "TORCHGRADE_SECRET_KEY"),
    ({"secret_key": "s" * 32}, "TORCHGRADE_DATABASE_URL"),
    ({"secret_key": "s" * 32, "database_url": "postgresql://db/tg"}, "TORCHGRADE_BROKER_URL"),
])
def test_production_refuses_unsafe_defaults(overrides, message):
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, environment="production", **overrides)


def test_production_with_servers_is_accepted():
    settings = Settings(_env_file=None, environment="production", secret_key="s" * 32,
                        database_url="postgresql://db/tg", broker_url="redis://redis:6379/0")
    assert settings.production
