"""Settings come from the environment and refuse unsafe production defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from grader.config import Settings


def test_environment_variables_configure_settings(monkeypatch):
    monkeypatch.setenv("TORCHGRADE_MAX_WALL_S", "12.5")
    monkeypatch.setenv("TORCHGRADE_SANDBOX_ALLOW_MISSING_LAYERS", '["net_namespace"]')
    settings = Settings()
    assert settings.max_wall_s == 12.5 and settings.sandbox_allow_missing_layers == {"net_namespace"}


def test_production_refuses_the_development_secret():
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", database_url="postgresql://h/db", broker_url="redis://h")


def test_caps_must_be_positive():
    with pytest.raises(ValidationError):
        Settings(max_wall_s=0)
