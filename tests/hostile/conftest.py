"""One real stack (API, worker, PostgreSQL, Redis) per module of hostile submissions."""

from __future__ import annotations

import uuid

import pytest

from tests.hostile.harness import hostile_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with hostile_stack(tmp_path_factory.mktemp("hostile")) as started:
        yield started


@pytest.fixture
def marker() -> str:
    """A name unique to one attack: whatever it manages to create outside its job carries it."""
    return f"hostile-{uuid.uuid4().hex[:12]}"
