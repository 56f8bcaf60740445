"""Shared by the service benchmarks: a private PostgreSQL schema and Redis prefix, a migrated
database with a course, and percentiles."""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from tests.workers.stack import (GOOD, Process, environment, free_port, migrated, postgres_schema,  # noqa: E402
                                 redis_broker, reference_dir, seed_course, service_settings, wait_for)

__all__ = ["GOOD", "Process", "environment", "free_port", "migrated", "postgres_schema", "redis_broker",
           "reference_dir", "seed_course", "service_settings", "wait_for", "percentile"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]
