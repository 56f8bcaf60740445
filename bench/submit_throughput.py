"""Submissions accepted per second, with p50/p99 latency, under concurrent clients, against
PostgreSQL and Redis on this machine; then checks that nothing was lost: every 202 is a committed
row, marked queued, whose task message waits in Redis (no worker consumes them during the run).

The load comes from wrk (Debian: `apt-get install wrk`), written in C, so that the client does
not take the CPU it measures; its share is printed with the API's, PostgreSQL's and Redis's.

    .venv/bin/python bench/submit_throughput.py --clients 32 --seconds 20 --api-workers 2
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (GOOD, Process, busy_cpu_s, cpu_by_process, environment, free_port, migrated,  # noqa: E402
                    postgres_schema, redis_broker, reference_dir, seed_course, service_settings, wait_for)

SCRIPT = Path(__file__).resolve().parent / "submit.lua"
SLOT = 20
APPLICATION = f"torchgrade-bench-{os.getpid()}"  # names the API's PostgreSQL backends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--seconds", type=int, default=20, help="length of the measured run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load before it")
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--loop", default="auto", help="uvicorn's event loop: auto (uvloop if installed), asyncio")
    parser.add_argument("--http", default="auto", help="uvicorn's HTTP parser: auto (httptools if installed), h11")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    from core.catalog import ManifestCatalog

    work = Path(tempfile.mkdtemp(prefix="tg-bench-"))
    references = reference_dir(work / "references")
    with postgres_schema() as schema_url, redis_broker() as (broker_url, prefix):
        database_url = f"{schema_url}&application_name={APPLICATION}"
        settings = migrated(service_settings(work, references, SLOT, database_url=database_url, broker_url=broker_url,
                                             broker_key_prefix=prefix))
        people = seed_course(settings, ManifestCatalog(references), students=args.students)
        (work / "tokens").write_text("\n".join(people["tokens"][name] for name in people["students"]) + "\n")
        (work / "hw.py").write_bytes(GOOD)
        port = free_port()
        api = Process([sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port),
                       "--workers", str(args.api_workers), "--loop", args.loop, "--http", args.http,
                       "--log-level", "warning", "--no-access-log"],
                      environment(settings), work / "api.log")
        url = f"http://127.0.0.1:{port}/api/v1/assignments/w1-normal-modes/submissions"
        try:
            wait_for(lambda: _up(f"http://127.0.0.1:{port}"), 60, "the API")
            load(url, work, args.clients, args.warmup)
            meter = Meter(api.process.pid, database_url, broker_url)
            before = meter.snapshot()
            report = load(url, work, args.clients, args.seconds)
            spent = Meter.spent(before, meter.snapshot())
        finally:
            api.stop()
        loss = check_loss(database_url, broker_url, prefix, report["accepted"])
    print_report(args, report, spent, loss)
    return 0 if loss["lost"] == 0 and report["statuses"] == {202: len(report["accepted"])} else 1


def load(url: str, work: Path, clients: int, seconds: int) -> dict:
    """One wrk run (one thread: it needs little CPU); its report."""
    path = work / "wrk-report"
    subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", "-s", str(SCRIPT), url,
                    "--", str(work / "tokens"), str(work / "hw.py")],
                   env={**os.environ, "WRK_REPORT": str(path)}, check=True, stdout=subprocess.DEVNULL)
    report = {"statuses": {}, "accepted": [], "errors": {}}
    for line in path.read_text().splitlines():
        key, value = line.split()
        if key == "accepted":
            report["accepted"].append(int(value))
        elif key.startswith("status_"):
            status = int(key.removeprefix("status_"))
            report["statuses"][status] = report["statuses"].get(status, 0) + int(value)
        elif key.startswith("error_"):
            report["errors"][key.removeprefix("error_")] = int(value)
        else:
            report[key] = int(value)
    return report


def api_backends(database_url: str) -> set[int]:
    """The PostgreSQL backends the API's pools have open (a pool that grows adds some)."""
    from sqlalchemy import text

    from core.db import engine_for

    with engine_for(database_url).connect() as connection:
        return set(connection.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name "
                                           "AND pid <> pg_backend_pid()"), {"name": APPLICATION}).scalars())


class Meter:
    """CPU seconds spent so far by the API's processes, the PostgreSQL backends serving them (not
    the server's background writers), the Redis server, the finished wrk runs, and the machine."""

    def __init__(self, api_group: int, database_url: str, broker_url: str):
        import redis

        self.api_group = api_group
        self.database_url = database_url
        self.redis_pid = redis.Redis.from_url(broker_url).info("server")["process_id"]

    def snapshot(self) -> dict:
        processes = cpu_by_process()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"API": {pid: cpu for pid, (group, _, cpu) in processes.items() if group == self.api_group},
                "PostgreSQL": {pid: processes[pid][2] for pid in api_backends(self.database_url) if pid in processes},
                "Redis": {self.redis_pid: processes[self.redis_pid][2]},
                "wrk": children.ru_utime + children.ru_stime, "machine": busy_cpu_s(), "wall": time.monotonic()}

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """Between two snapshots; a process that started in between counts from zero."""
        return {name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in now.items()) if isinstance(now, dict)
                else now - before[name] for name, now in after.items()}


def check_loss(database_url: str, broker_url: str, prefix: str, accepted: list[int]) -> dict:
    """Every accepted id must be a committed row marked queued with a task message in Redis."""
    import redis
    from sqlalchemy import func, select

    from core.db import session_factory
    from core.models import Submission

    with session_factory(database_url)() as session:
        stored = session.scalar(select(func.count(Submission.id)))
        marked = set(session.scalars(select(Submission.id).where(Submission.enqueued_at.is_not(None))))
    messages = [_submission_id(m) for m in redis.Redis.from_url(broker_url).lrange(f"{prefix}cpu", 0, -1)]
    queued = set(messages)
    lost = [i for i in accepted if i not in marked or i not in queued]
    return {"stored": stored, "marked": len(marked), "messages": len(messages), "lost": len(lost),
            "duplicates": len(messages) - len(queued)}


def _submission_id(message: bytes) -> int:
    body = json.loads(base64.b64decode(json.loads(message)["body"]))
    return body[0][0]


def print_report(args, report: dict, spent: dict[str, float], loss: dict) -> None:
    accepted = len(report["accepted"])
    seconds = report["duration_us"] / 1e6
    answered = sum(report["statuses"].values())
    print(f"{answered} submissions in {seconds:.1f} s, {args.clients} connections (wrk), "
          f"{args.api_workers} API processes, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"  accepted/s : {accepted / seconds:8.1f}   (statuses {report['statuses']}, wrk errors {report['errors']})")
    print(f"  latency ms : p50 {report['latency_p50_us'] / 1000:6.1f}   p90 {report['latency_p90_us'] / 1000:6.1f}"
          f"   p99 {report['latency_p99_us'] / 1000:6.1f}   max {report['latency_max_us'] / 1000:6.1f}")
    wall = spent.pop("wall")
    machine = spent.pop("machine")
    others = machine - sum(spent.values())
    shares = ", ".join(f"{name} {spent_s * 1000 / answered:.2f}" for name, spent_s in spent.items())
    print(f"  CPU ms per submission: {shares}; everything else on the machine (other jobs, PostgreSQL's "
          f"background writers) {others * 1000 / answered:.2f}  (machine busy {machine / wall:.2f} of "
          f"{os.cpu_count()} cores)")
    print(f"  ceiling    : {os.cpu_count() * answered / sum(spent.values()):8.0f}/s if these four had every core")
    print(f"  loss       : {accepted} accepted; {loss['stored']} stored (warm-up included), {loss['marked']} marked "
          f"queued, {loss['messages']} messages in Redis ({loss['duplicates']} duplicates); "
          f"{loss['lost']} accepted but not stored and queued")
    print("  ZERO LOSS" if loss["lost"] == 0 else "  LOSS DETECTED")


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
