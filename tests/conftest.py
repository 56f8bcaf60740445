"""Shared fixtures: one warm grader (one zygote) for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
# The commands the tests start import torchgrade_client (client/) as an installed torchgrade
# does (pyproject's packages.find); pytest's own imports get it from `pythonpath`.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY / "client"), os.environ.get("PYTHONPATH")]))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("torchgrade-data")


@pytest.fixture(scope="session")
def settings(data_dir):
    from grader.config import EngineSettings

    return EngineSettings(environment="test", data_dir=data_dir, reference_dir=REPOSITORY / "reference",
                    sandbox_slot=int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")))


@pytest.fixture(scope="session")
def grader(settings):
    from grader.engine import Grader

    with Grader(settings) as warm:
        yield warm


@pytest.fixture(scope="session")
def catalog(grader):
    return grader.catalog
