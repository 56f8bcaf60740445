"""Submissions accepted per second, with p50/p99 latency, under concurrent clients, against
PostgreSQL and Redis on this machine; then checks that nothing was lost: every 202 is a stored
row and a message waiting in Redis (no worker consumes them during the run).

    .venv/bin/python bench/submit_throughput.py --clients 32 --requests 5000 --api-workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (GOOD, Process, environment, free_port, migrated, percentile, postgres_schema,  # noqa: E402
                    redis_broker, reference_dir, seed_course, service_settings, wait_for)


async def client_loop(client: httpx.AsyncClient, url: str, tokens: list[str], todo: list[int],
                      latencies: list[float], statuses: dict) -> None:
    while todo:
        index = todo.pop()
        started = time.perf_counter()
        response = await client.post(url, headers={"Authorization": f"Bearer {tokens[index % len(tokens)]}"},
                                     files={"file": ("hw.py", GOOD)})
        latencies.append(time.perf_counter() - started)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1


async def load(base: str, tokens: list[str], clients: int, requests: int) -> tuple[float, list[float], dict]:
    url = f"{base}/api/v1/assignments/w1-normal-modes/submissions"
    todo, latencies, statuses = list(range(requests)), [], {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client, url, tokens, todo, latencies, statuses) for _ in range(clients)))
        return time.perf_counter() - started, latencies, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--students", type=int, default=50)
    args = parser.parse_args()
    import redis
    from sqlalchemy import func, select

    from api.catalog import ManifestCatalog
    from api.db import session_factory
    from api.models import Submission

    work = Path(tempfile.mkdtemp(prefix="tg-bench-"))
    references = reference_dir(work / "references")
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix):
        settings = migrated(service_settings(work, references, 19, database_url=database_url, broker_url=broker_url,
                                             broker_key_prefix=prefix))
        people = seed_course(settings, ManifestCatalog(references), students=args.students)
        tokens = [people["tokens"][name] for name in people["students"]]
        port = free_port()
        api = Process([sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port),
                       "--workers", str(args.api_workers), "--log-level", "warning", "--no-access-log"],
                      environment(settings), work / "api.log")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _up(base), 60, "the API")
            asyncio.run(load(base, tokens, args.clients, args.warmup))
            cpu_before = group_cpu_s(api.process.pid)
            elapsed, latencies, statuses = asyncio.run(load(base, tokens, args.clients, args.requests))
            api_cpu_ms = (group_cpu_s(api.process.pid) - cpu_before) / args.requests * 1000
        finally:
            api.stop()
        accepted = statuses.get(202, 0)
        with session_factory(database_url)() as session:
            stored = session.scalar(select(func.count(Submission.id)))
            unqueued = session.scalar(select(func.count(Submission.id)).where(Submission.enqueued_at.is_(None)))
        broker = redis.Redis.from_url(broker_url)
        waiting = broker.llen(f"{prefix}cpu")
    total = args.warmup + args.requests
    print(f"{args.requests} submissions, {args.clients} concurrent clients, {args.api_workers} API processes")
    print(f"  accepted/s : {accepted / elapsed:8.1f}   (statuses {statuses})")
    print(f"  latency ms : p50 {percentile(latencies, 0.5) * 1000:6.1f}   p99 {percentile(latencies, 0.99) * 1000:6.1f}"
          f"   max {max(latencies) * 1000:6.1f}")
    print(f"  API CPU    : {api_cpu_ms:.1f} ms per submission (all API processes; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  loss       : {total} sent, {stored} stored, {stored - unqueued} queued, {waiting} messages in Redis")
    lost = stored != total or unqueued or waiting != total or accepted != args.requests
    print("  ZERO LOSS" if not lost else "  LOSS DETECTED")
    return 1 if lost else 0


def group_cpu_s(group: int) -> float:
    """User + system CPU seconds of every process in a process group (the API's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
