"""The engine's settings come from the environment; caps must be positive."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from grader.config import EngineSettings


def test_environment_variables_configure_settings(monkeypatch):
    monkeypatch.setenv("TORCHGRADE_MAX_WALL_S", "12.5")
    monkeypatch.setenv("TORCHGRADE_SANDBOX_ALLOW_MISSING_LAYERS", '["net_namespace"]')
    settings = EngineSettings()
    assert settings.max_wall_s == 12.5 and settings.sandbox_allow_missing_layers == {"net_namespace"}


def test_caps_must_be_positive():
    with pytest.raises(ValidationError):
        EngineSettings(max_wall_s=0)
