"""Shared by the service benchmarks: a private PostgreSQL schema and Redis prefix, a migrated
database with a course, percentiles, and CPU time read from /proc."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from tests.workers.stack import (GOOD, Process, environment, free_port, migrated, postgres_schema,  # noqa: E402
                                 redis_broker, reference_dir, seed_course, service_settings, wait_for)

__all__ = ["GOOD", "Process", "environment", "free_port", "migrated", "postgres_schema", "redis_broker",
           "reference_dir", "seed_course", "service_settings", "wait_for", "percentile", "cpu_by_process",
           "busy_cpu_s"]

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def cpu_by_process() -> dict[int, tuple[int, str, float]]:
    """Every live process: pid -> (process group, name, user + system CPU seconds)."""
    processes = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, _, tail = stat.read_text().rpartition(")")
        except OSError:
            continue
        fields = tail.split()
        processes[int(stat.parent.name)] = (int(fields[2]), head.partition("(")[2],
                                            (int(fields[11]) + int(fields[12])) / TICKS_PER_S)
    return processes


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent on anything but idling, since boot."""
    user, nice, system, idle, iowait, *rest = (int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:])
    return (user + nice + system + sum(rest[:2])) / TICKS_PER_S  # irq, softirq; not steal
