"""Other users' GET latency while many progress streams are open (issue 10, class 5), against
one API process on PostgreSQL (Redis as the broker, no worker: every submission stays queued,
so every stream waits).

Three phases, each a bounded number of GETs of a submission (``--requests``, ``--concurrency`` at
a time) by users who hold no stream: before any stream, with ``--streams`` streams open (spread
over ``--stream-users`` students, within the default caps), and right after every stream's client
vanished, meanwhile asking every 0.1 s how many streams the API still counts (its /metrics gauge)
until none.

    .venv/bin/python bench/sse_streams.py --streams 300
    .venv/bin/python bench/sse_streams.py --streams 300 --tree /path/to/another/checkout   # e.g. before

``--tree`` serves the API from another checkout (the same database, settings and load).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (REPOSITORY, environment, free_port, migrated, percentile, postgres_schema,  # noqa: E402
                    redis_broker, reference_dir, seed_course, service_settings, wait_for)

SLOT = 21
REQUEST_TIMEOUT_S = 10.0
OPEN_TIMEOUT_S = 120.0
GAUGE_EVERY_S = 0.1
ANSWER = b"def answer():\n    return 42\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=300, help="progress streams held open")
    parser.add_argument("--stream-users", type=int, default=60, help="students who hold them (5 each by default)")
    parser.add_argument("--others", type=int, default=10, help="users who only send GETs")
    parser.add_argument("--requests", type=int, default=400, help="GETs per phase")
    parser.add_argument("--concurrency", type=int, default=4, help="GETs in flight at once")
    parser.add_argument("--tree", type=Path, default=REPOSITORY, help="the checkout whose API is served")
    args = parser.parse_args()
    from core.catalog import ManifestCatalog

    work = Path(tempfile.mkdtemp(prefix="tg-bench-sse-"))
    references = reference_dir(work / "references")
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix):
        settings = migrated(service_settings(work, references, SLOT, database_url=database_url, broker_url=broker_url,
                                             broker_key_prefix=prefix, sse_poll_s=0.25))
        people = seed_course(settings, ManifestCatalog(references), students=args.stream_users + args.others)
        tokens = [people["tokens"][name] for name in people["students"]]
        api, url = start_api(settings, args.tree, work / "api.log")
        try:
            report = asyncio.run(measure(url, tokens[:args.stream_users], tokens[args.stream_users:], args))
        finally:
            stop(api)
    print_report(args, report)
    return 0


def start_api(settings, tree: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**environment(settings), "PYTHONPATH": str(tree)}
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port",
                            str(port), "--log-level", "warning"], cwd=tree, env=env, stdout=log.open("wb"),
                           stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: api.poll() is not None or _up(url), 60, "the API to answer")
    if api.poll() is not None:
        sys.exit(log.read_text()[-3000:])
    return api, url


def stop(api: subprocess.Popen) -> None:
    api.terminate()
    try:
        api.wait(30)
    except subprocess.TimeoutExpired:  # still waiting for its open streams
        api.kill()
        api.wait()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def measure(url: str, streamers: list[str], others: list[str], args) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S,
                                 limits=httpx.Limits(max_connections=args.concurrency * 2)) as client:
        targets = [(token, await submit(client, token)) for token in others]
        watched = [(token, await submit(client, token)) for token in streamers]
        report = {"before": await gets(client, targets, args)}
        started = time.monotonic()
        streams = await asyncio.gather(*(open_stream(url, *watched[i % len(watched)]) for i in range(args.streams)))
        report["opened_s"] = time.monotonic() - started
        report["refused"] = [status for _, status in streams if status != "200"]
        report["open_before"] = await gauge(client)
        report["during"] = await gets(client, targets, args)
        report["open_during"] = await gauge(client)
        for writer, _ in streams:
            writer.transport.abort()  # the client vanishes: a reset, no goodbye
        draining = asyncio.create_task(drained(client, time.monotonic()))
        report["after"] = await gets(client, targets, args)
        report["drained_s"] = await draining
    return report


async def submit(client: httpx.AsyncClient, token: str) -> int:
    response = await client.post("/api/v1/assignments/w0-service/submissions", files={"file": ("hw.py", ANSWER)},
                                 headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json()["id"]


async def open_stream(url: str, token: str, submission_id: int) -> tuple[asyncio.StreamWriter, str]:
    """A stream that has read its ``queued`` event, or why not (a status, or "timeout")."""
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(f"GET /api/v1/submissions/{submission_id}/events HTTP/1.1\r\nHost: {where.netloc}\r\n"
                 f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode())
    try:
        async with asyncio.timeout(OPEN_TIMEOUT_S):
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ")[1].decode()
            if status == "200":
                await reader.readuntil(b"event: queued")
    except (TimeoutError, asyncio.IncompleteReadError):
        status = "timeout"
    return writer, status


async def gets(client: httpx.AsyncClient, targets: list[tuple[str, int]], args) -> dict:
    latencies, failures = [], 0
    queue = list(range(args.requests))

    async def one_client() -> None:
        nonlocal failures
        while queue:
            token, submission_id = targets[queue.pop() % len(targets)]
            started = time.perf_counter()
            try:
                response = await client.get(f"/api/v1/submissions/{submission_id}",
                                            headers={"Authorization": f"Bearer {token}"})
                failures += response.status_code != 200
            except httpx.HTTPError:
                failures += 1
            latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    await asyncio.gather(*(one_client() for _ in range(args.concurrency)))
    return {"n": len(latencies), "failures": failures, "p50": percentile(latencies, 0.5),
            "p90": percentile(latencies, 0.9), "p99": percentile(latencies, 0.99), "max": max(latencies),
            "seconds": time.monotonic() - started}


async def gauge(client: httpx.AsyncClient) -> float | None:
    """The API's open-stream gauge (None: this API has none, or did not answer)."""
    try:
        text = (await client.get("/metrics")).text
    except httpx.HTTPError:
        return None
    line = next((line for line in text.splitlines() if line.startswith("torchgrade_open_streams ")), None)
    return None if line is None else float(line.split()[1])


async def drained(client: httpx.AsyncClient, since: float, limit_s: float = 300) -> float | None:
    while time.monotonic() - since < limit_s:
        count = await gauge(client)
        if count is None:
            return None
        if count == 0:
            return time.monotonic() - since
        await asyncio.sleep(GAUGE_EVERY_S)
    return float("inf")


def print_report(args, report: dict) -> None:
    load = os.getloadavg()
    print(f"API: {args.tree}; {args.streams} streams over {args.stream_users} students; {args.requests} GETs per "
          f"phase by {args.others} other users, {args.concurrency} at a time; load average {load[0]:.1f}")
    refused = report["refused"]
    print(f"{args.streams - len(refused)} streams opened (each read its 'queued' event) in {report['opened_s']:.2f} s"
          f"; not opened: {len(refused)} {sorted(set(refused))}; gauge {report['open_before']} then "
          f"{report['open_during']}")
    print("| phase | GETs | failed | p50 ms | p90 ms | p99 ms | max ms | phase s |")
    print("|---|---|---|---|---|---|---|---|")
    for phase in ("before", "during", "after"):
        r = report[phase]
        print(f"| {phase} | {r['n']} | {r['failures']} | {r['p50'] * 1e3:.1f} | {r['p90'] * 1e3:.1f} | "
              f"{r['p99'] * 1e3:.1f} | {r['max'] * 1e3:.1f} | {r['seconds']:.1f} |")
    drained_s = report["drained_s"]
    print("streams counted down to 0 after their clients vanished: " +
          ("no gauge in this API" if drained_s is None else f"{drained_s:.2f} s"))


if __name__ == "__main__":
    sys.exit(main())
