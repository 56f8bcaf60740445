"""Time from submission to recorded score for w1-normal-modes with one warm worker
(PostgreSQL + Redis on this machine): submissions one at a time over HTTP; per submission the
server-side time (created_at -> finished_at) and the client's (POST -> `done` event).

    .venv/bin/python bench/grading_latency.py --submissions 40
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (GOOD, migrated, percentile, postgres_schema, redis_broker, reference_dir,  # noqa: E402
                    seed_course, service_settings)

WARMUP = 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=40)
    args = parser.parse_args()
    from core.catalog import ManifestCatalog
    from core.db import session_factory
    from core.models import Submission
    from tests.workers.stack import start_api, start_worker

    work = Path(tempfile.mkdtemp(prefix="tg-bench-"))
    references = reference_dir(work / "references")
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix):
        settings = migrated(service_settings(work, references, 18, database_url=database_url, broker_url=broker_url,
                                             broker_key_prefix=prefix, worker_concurrency=1))
        people = seed_course(settings, ManifestCatalog(references), students=1)
        headers = {"Authorization": f"Bearer {people['tokens'][people['students'][0]]}"}
        worker = start_worker(settings, work / "worker.log")
        api, base = start_api(settings, work / "api.log")
        try:
            client_s, ids = [], []
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                for index in range(WARMUP + args.submissions):
                    started = time.perf_counter()
                    accepted = client.post("/api/v1/assignments/w1-normal-modes/submissions",
                                           files={"file": ("hw.py", GOOD)}).json()
                    wait_done(client, accepted["events_url"])
                    if index >= WARMUP:
                        client_s.append(time.perf_counter() - started)
                        ids.append(accepted["id"])
        finally:
            api.stop()
            worker.stop()
        with session_factory(database_url)() as session:
            rows = session.query(Submission).filter(Submission.id.in_(ids)).all()
            server_s = [(r.finished_at - r.created_at).total_seconds() for r in rows]
            grading_s = [r.grading_s for r in rows]
            scores = {r.score for r in rows}
    print(f"w1-normal-modes, one warm worker, {args.submissions} submissions one at a time (scores {scores})")
    for label, values in (("submitted -> recorded (server)", server_s), ("POST -> done event (client)", client_s),
                          ("claim -> recorded (worker)", grading_s)):
        print(f"  {label:32s} p50 {percentile(values, .5) * 1000:6.0f} ms   p90 {percentile(values, .9) * 1000:6.0f} ms"
              f"   max {max(values) * 1000:6.0f} ms")
    return 0


def wait_done(client: httpx.Client, events_url: str) -> None:
    with client.stream("GET", events_url) as stream:
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind == "done":
                json.loads(line[5:])
                return


if __name__ == "__main__":
    sys.exit(main())
