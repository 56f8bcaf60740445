"""A deadline rush: every student of a course submits every assignment within one minute, and
two grading processes on the CPU drain the queue (PostgreSQL + Redis on this machine).

The course offers the reference packs (`w2-rmb-lenet` always among them); each submission is
one of the pack's self-test files (`reference/<id>/selftest/expected.toml`), a `good_*` one with
probability --good-share and otherwise one of the others (wrong answers, syntax errors, a
written-answers file), at a random moment of the window (seeded). One Celery worker with
--processes pool processes consumes both queues with the sandbox's GPU access off: on a machine
without CUDA the gpu queue's LeNet training runs on the CPU, as its self-test expects.

Printed: time to drain (first upload -> last score), submit -> score p50/p95/max, per-assignment
grading time, the statuses, lost (accepted, never scored) and duplicates (a result recorded
twice), and every submission graded otherwise than its self-test expects.

    .venv/bin/python bench/deadline_rush.py                                   # 80 x 13 in 60 s
    .venv/bin/python bench/deadline_rush.py --students 2 --assignments 3 --seconds 10   # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (REPOSITORY, Process, environment, migrated, percentile, postgres_schema,  # noqa: E402
                    redis_broker, seed_course, service_settings, wait_for)

SLOT = 30                 # the pool processes take slots 30, 31, ...
LENET = "w2-rmb-lenet"    # on the gpu queue
SETTLE_S = 5.0            # after the drain: a late duplicate delivery would record again
PROGRESS_EVERY_S = 15.0
# The production values, not the test suite's quick ones (a 1 s sweep grace re-sends a
# submission whose publish is merely slow under load).
SERVICE_DEFAULTS = ("sweep_interval_s", "sweep_grace_s", "lease_grace_s", "retry_backoff_s", "retry_backoff_max_s")


@dataclasses.dataclass
class Planned:
    at_s: float           # seconds after the rush starts
    student: str
    assignment: str
    case: object          # grader.selftest.Case
    filename: str
    content: bytes
    # filled in by the rush
    posted_at: float | None = None   # wall clock (time.time())
    answer: str = ""                 # HTTP status, or the client's error
    submission_id: int | None = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=80)
    parser.add_argument("--assignments", type=int, default=13, help=f"how many packs ({LENET} and the first "
                        "others by name)")
    parser.add_argument("--seconds", type=float, default=60.0, help="the window every submission arrives in")
    parser.add_argument("--processes", type=int, default=2, help="grading pool processes of the worker "
                        "(sandbox slots 30, 31, ...)")
    parser.add_argument("--good-share", type=float, default=0.7, help="share of submissions that are a good_* file")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--drain-timeout", type=float, default=1800.0, help="seconds to wait after the last upload")
    args = parser.parse_args()
    from core.catalog import ManifestCatalog
    from tests.workers.stack import start_api

    work = Path(tempfile.mkdtemp(prefix="tg-rush-"))
    references = pack_links(work / "references", args.assignments)
    catalog = ManifestCatalog(references)
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix):
        defaults = {name: service_default(name) for name in SERVICE_DEFAULTS}
        settings = migrated(service_settings(work, references, SLOT, database_url=database_url, broker_url=broker_url,
                                             broker_key_prefix=prefix, worker_concurrency=args.processes, **defaults))
        people = seed_course(settings, catalog, students=args.students)
        plan = make_plan(catalog, people["students"], args)
        prepare_hidden_data(references, settings.data_dir)
        load_before = os.getloadavg()[0]
        with contextlib.ExitStack() as processes:
            processes.callback(start_worker(settings, work / "worker.log").stop)
            api, base = start_api(settings, work / "api.log")
            processes.callback(api.stop)
            asyncio.run(rush(base, people["tokens"], plan, args.seconds))
            drained = wait_drained(database_url, accepted_ids(plan), args.drain_timeout)
            if drained:
                time.sleep(SETTLE_S)
        stored = rows(database_url, accepted_ids(plan))
    figures = report(args, plan, stored, drained, load_before)
    print(f"  logs: {work}")
    bad = figures["lost"] or figures["duplicates"] or figures["refused"] or figures["internal_error"]
    return 1 if bad or not drained else 0


# ---------------------------------------------------------------------- the course and the mix
def pack_links(folder: Path, count: int) -> Path:
    """Links to `count` reference packs: LeNet and the first others by name."""
    packs = sorted(p.name for p in (REPOSITORY / "reference").iterdir() if (p / "manifest.toml").is_file())
    chosen = [LENET] + [p for p in packs if p != LENET][:max(0, count - 1)]
    folder.mkdir(parents=True)
    for name in chosen:
        (folder / name).symlink_to(REPOSITORY / "reference" / name)
    return folder


def service_default(name: str):
    from core.settings import Settings

    return Settings.model_fields[name].default


def make_plan(catalog, students: list[str], args) -> list[Planned]:
    """One submission per student and assignment, at a seeded random moment of the window."""
    from grader.selftest import case_submission, load_cases

    rng = random.Random(args.seed)
    plan = []
    for assignment_id in catalog.ids():
        assignment = catalog.get(assignment_id)
        cases = load_cases(assignment)
        good = [c for c in cases if c.file.startswith("good")]
        other = [c for c in cases if not c.file.startswith("good")] or good
        for student in students:
            case = rng.choice(good if rng.random() < args.good_share else other)
            filename, content = case_submission(assignment.directory / "selftest", case)
            plan.append(Planned(rng.uniform(0, args.seconds), student, assignment_id, case, filename, content))
    return sorted(plan, key=lambda p: p.at_s)


def prepare_hidden_data(references: Path, data_dir: Path) -> None:
    """The packs' generated data, made before the rush as the week's earlier submissions would have
    (with the engine's catalogue: the API's reads manifests only)."""
    from grader import hidden_data
    from grader.assignments import Catalog

    catalog = Catalog(references)
    for assignment_id in catalog.ids():
        assignment = catalog.get(assignment_id)
        if assignment.manifest.hidden_data:
            hidden_data.prepare(assignment, data_dir)


# ---------------------------------------------------------------------- the stack
def start_worker(settings, log: Path) -> Process:
    """`celery -A workers.worker` rather than `torchgrade worker`: that one refuses the gpu queue
    where torch sees no CUDA, and this worker grades LeNet on the CPU (TORCHGRADE_SANDBOX_GPU off)."""
    worker = Process([sys.executable, "-m", "celery", "-A", "workers.worker", "worker", "--queues", "cpu,gpu",
                      "--concurrency", str(settings.worker_concurrency), "--pool", "prefork", "--loglevel", "info",
                      "--hostname", "rush@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                     environment(settings), log)
    try:
        wait_for(lambda: warm(worker) == settings.worker_concurrency or not worker.alive(), 600,
                 "every pool process's sandbox")
        assert worker.alive(), worker.output()[-3000:]
    except BaseException:
        worker.stop()
        raise
    return worker


def warm(worker: Process) -> int:
    """Pool processes with a warm sandbox: the worker says "ready." before they have one."""
    return worker.output().count("pool process ready on sandbox slot")


# ---------------------------------------------------------------------- the rush
async def rush(base: str, tokens: dict[str, str], plan: list[Planned], seconds: float) -> None:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(submit(client, tokens[p.student], p, started) for p in plan))
    print(f"submitted {len(plan)} in {time.monotonic() - started:.1f} s (window {seconds:g} s)", file=sys.stderr)


async def submit(client: httpx.AsyncClient, token: str, planned: Planned, started: float) -> None:
    await asyncio.sleep(max(0.0, started + planned.at_s - time.monotonic()))
    planned.posted_at = time.time()
    try:
        response = await client.post(f"/api/v1/assignments/{planned.assignment}/submissions",
                                     headers={"Authorization": f"Bearer {token}"},
                                     files={"file": (planned.filename, planned.content)})
    except httpx.HTTPError as exc:
        planned.answer = type(exc).__name__
        return
    planned.answer = str(response.status_code)
    if response.status_code == 202:
        planned.submission_id = response.json()["id"]


def accepted_ids(plan: list[Planned]) -> list[int]:
    return [p.submission_id for p in plan if p.submission_id is not None]


# ---------------------------------------------------------------------- the database's view
def wait_drained(database_url: str, ids: list[int], timeout: float) -> bool:
    """Until every accepted submission has a final status; False after `timeout` seconds."""
    from sqlalchemy import func, select

    from core.db import session_factory
    from core.models import Submission
    from grader.status import SubmissionStatus

    sessions = session_factory(database_url)
    waiting = [SubmissionStatus.queued, SubmissionStatus.running]
    give_up_at, said_at = time.monotonic() + timeout, time.monotonic()
    while True:
        with sessions() as session:
            final = session.scalar(select(func.count()).where(Submission.id.in_(ids), Submission.status.not_in(waiting)))
        if final == len(ids):
            return True
        if time.monotonic() > give_up_at:
            return False
        if time.monotonic() - said_at > PROGRESS_EVERY_S:
            said_at = time.monotonic()
            print(f"  {len(ids) - final} of {len(ids)} not graded yet, load average {os.getloadavg()[0]:.1f}",
                  file=sys.stderr)
        time.sleep(0.5)


def rows(database_url: str, ids: list[int]) -> dict[int, dict]:
    """Each accepted submission as stored: status, score, times, attempts, `done` events."""
    from sqlalchemy import func, select

    from core.db import session_factory
    from core.models import Submission, SubmissionEvent

    with session_factory(database_url)() as session:
        done = dict(session.execute(select(SubmissionEvent.submission_id, func.count()).where(
            SubmissionEvent.submission_id.in_(ids), SubmissionEvent.kind == "done")
            .group_by(SubmissionEvent.submission_id)).all())
        found = session.execute(select(Submission.id, Submission.status, Submission.score, Submission.grading_s,
                                       Submission.attempts, Submission.created_at, Submission.finished_at)
                                .where(Submission.id.in_(ids)))
        return {r.id: {"status": r.status, "score": r.score, "grading_s": r.grading_s, "attempts": r.attempts,
                       "created_at": r.created_at, "finished_at": r.finished_at, "recorded": done.get(r.id, 0)}
                for r in found}


# ---------------------------------------------------------------------- the report
def report(args, plan: list[Planned], stored: dict[int, dict], drained: bool, load_before: float) -> dict:
    from grader.status import SubmissionStatus

    accepted = [p for p in plan if p.submission_id is not None]
    scored = [p for p in accepted if p.submission_id in stored and stored[p.submission_id]["status"].final]
    lost = len(accepted) - len(scored)
    duplicates = sum(r["recorded"] > 1 for r in stored.values())
    statuses = Counter(stored[p.submission_id]["status"].value for p in scored)
    unexpected = [p for p in scored if not as_expected(stored[p.submission_id], p.case)]
    latency = [seconds(stored[p.submission_id]["finished_at"] - stored[p.submission_id]["created_at"])
               for p in scored]
    posts = [p.posted_at for p in plan if p.posted_at is not None]
    last_score = max((stored[p.submission_id]["finished_at"].timestamp() for p in scored), default=min(posts))

    print(f"deadline rush: {args.students} students x {len({p.assignment for p in plan})} assignments = "
          f"{len(plan)} submissions in {args.seconds:g} s (seed {args.seed}, good share {args.good_share:g}); "
          f"one worker, {args.processes} pool processes (slots {SLOT}..{SLOT + args.processes - 1}), "
          f"queues cpu,gpu ({LENET} is on the gpu queue: graded on the CPU here)")
    print(f"  machine      : {os.cpu_count()} cores, load average {load_before:.2f} before -> "
          f"{os.getloadavg()[0]:.2f} after")
    print(f"  uploads      : {len(accepted)} accepted of {len(plan)} ({dict(Counter(p.answer for p in plan))}), "
          f"over {max(posts) - min(posts):.1f} s")
    print(f"  drain        : {last_score - min(posts):.1f} s from the first upload to the last score"
          + ("" if drained else f"  (NOT DRAINED within {args.drain_timeout:g} s)"))
    if latency:
        print(f"  submit->score: p50 {percentile(latency, .5):.1f} s   p95 {percentile(latency, .95):.1f} s   "
              f"max {max(latency):.1f} s   (created_at -> finished_at, server clock)")
    print(f"  statuses     : {dict(statuses)}; non-graded: "
          f"{ {s: n for s, n in statuses.items() if s != SubmissionStatus.graded.value} or 'none'}")
    print(f"  lost         : {lost} (accepted, never scored)   duplicates: {duplicates} (a result recorded twice)   "
          f"extra grading attempts: {sum(r['attempts'] for r in stored.values()) - len(stored)}")
    print(f"  as expected  : {len(scored) - len(unexpected)} of {len(scored)} graded as their self-test expects")
    for p in unexpected[:10]:
        row = stored[p.submission_id]
        print(f"      {p.assignment}/{p.case.file}: {row['status'].value} {row['score']}, expected "
              f"{p.case.status.value} {p.case.score:g} (grading {row['grading_s'] or 0:.1f} s)")
    print_per_assignment(scored, stored)
    print("  ZERO LOST" if lost == 0 and drained else "  LOSS DETECTED")
    return {"lost": lost, "duplicates": duplicates, "refused": len(plan) - len(accepted),
            "internal_error": statuses.get(SubmissionStatus.internal_error.value, 0)}


def print_per_assignment(scored: list[Planned], stored: dict[int, dict]) -> None:
    by_assignment = defaultdict(list)
    for p in scored:
        by_assignment[p.assignment].append(stored[p.submission_id])
    print(f"  {'assignment':24s} {'n':>4s} {'good':>5s} {'grading mean':>13s} {'max':>7s} {'submit->score p50':>18s}")
    for assignment, found in sorted(by_assignment.items()):
        grading = [r["grading_s"] for r in found if r["grading_s"] is not None]
        good = sum(p.case.file.startswith("good") for p in scored if p.assignment == assignment)
        print(f"  {assignment:24s} {len(found):4d} {good:5d} {statistics.fmean(grading) if grading else 0:11.2f} s "
              f"{max(grading, default=0):5.1f} s "
              f"{percentile([seconds(r['finished_at'] - r['created_at']) for r in found], .5):16.1f} s")


def as_expected(row: dict, case) -> bool:
    return row["status"] == case.status and row["score"] is not None and abs(row["score"] - case.score) < 1e-6


def seconds(delta: dt.timedelta) -> float:
    return delta.total_seconds()


if __name__ == "__main__":
    sys.exit(main())
