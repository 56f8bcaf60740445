"""Faults under load: 400 submissions (300 or more in flight at once) through the real API to
real Celery workers while pool processes and whole workers are killed with SIGKILL, Redis is
restarted (losing every queued message) and PostgreSQL crashes and restarts.  Every accepted
submission must end graded exactly once: none lost, none stuck, none recorded twice.

Redis keeps nothing on disk here, so its restart loses the queue: the sweeper sends those
submissions again once they have waited ``stale_queued_s`` (20 s here, an hour by default).

The services are private (tests/faults/services.py), so restarting them never disturbs other
test runs.  The fault schedule is seeded: TORCHGRADE_FAULTS_SEED=<n> replays one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core.catalog import ManifestCatalog
from core.db import session_factory
from core.models import Submission, SubmissionEvent
from grader.status import SubmissionStatus
from tests.faults.chaos import FaultThread, Fleet, ProcessFaults, ServiceFaults, Tally
from tests.faults.services import private_postgres, private_redis
from tests.workers.stack import ANSWER, migrated, reference_dir, seed_course, service_settings, start_api

SUBMISSIONS = 400  # so that 300 or more are in flight at once, even on a fast machine
IN_FLIGHT = 300
STUDENTS = 10
WORKERS, CONCURRENCY, FIRST_SLOT = 2, 2, 40  # slots 40..43
CHAOS_S = 45.0
SUBMIT_THREADS = 6
SUBMIT_PATIENCE_S = 90.0   # a client retries a refused upload (503) this long
RETRY_S = 0.5
DRAIN_TIMEOUT_S = 240.0
SETTLE_S = 5.0             # after the drain: late duplicate deliveries must change nothing
FULL_SCORE = 6.0           # w0-service: answer() == 42 earns every automatic point
# A fifth of a second in the job, so that grading takes long enough to be killed in the middle.
CONTENT = b"import time\ntime.sleep(0.2)\n" + ANSWER
SETTINGS = dict(worker_concurrency=CONCURRENCY, sweep_interval_s=1.0, sweep_grace_s=2.0, stale_queued_s=20.0,
                lease_grace_s=5.0, retry_backoff_s=0.5, retry_backoff_max_s=2.0)


@dataclasses.dataclass
class Outcome:
    submission_id: int | None      # None: never accepted within SUBMIT_PATIENCE_S
    refusals: list[str]            # each answer that was not a 202, e.g. "503 database_unavailable"


@dataclasses.dataclass
class Stack:
    settings: object
    url: str
    people: dict
    fleet: Fleet
    redis: object
    postgres: object


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("faults")
    references = reference_dir(data_dir / "references")
    with private_postgres() as postgres, private_redis() as redis:
        settings = migrated(service_settings(data_dir, references, FIRST_SLOT, database_url=postgres.url,
                                             broker_url=redis.url, **SETTINGS))
        people = seed_course(settings, ManifestCatalog(references), students=STUDENTS)
        fleet = Fleet(settings, data_dir, WORKERS)
        api = None
        try:
            fleet.start()
            api, url = start_api(settings, data_dir / "api.log")
            yield Stack(settings, url, people, fleet, redis, postgres)
        finally:
            if api is not None:
                api.stop()
            fleet.stop()


# ---------------------------------------------------------------------- the clients
def submit_one(client: httpx.Client, token: str, give_up_at: float, accepted: list[int]) -> Outcome:
    refusals = []
    while time.monotonic() < give_up_at:
        try:
            response = client.post("/api/v1/assignments/w0-service/submissions",
                                   headers={"Authorization": f"Bearer {token}"}, files={"file": ("hw.py", CONTENT)})
        except httpx.TransportError as exc:
            refusals.append(type(exc).__name__)
        else:
            if response.status_code == 202:
                accepted.append(response.json()["id"])
                return Outcome(accepted[-1], refusals)
            refusals.append(describe(response))
            if response.status_code != 503:
                break  # the client's fault, not the infrastructure's: retrying would not help
        time.sleep(RETRY_S)
    return Outcome(None, refusals)


def describe(response: httpx.Response) -> str:
    try:
        return f"{response.status_code} {response.json()['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} unstructured: {response.text[:200]!r}"


def submit_all(stack: Stack, accepted: list[int]) -> list[Outcome]:
    tokens = [stack.people["tokens"][name] for name in stack.people["students"]]
    give_up_at = time.monotonic() + SUBMIT_PATIENCE_S
    with httpx.Client(base_url=stack.url, timeout=30) as client, ThreadPoolExecutor(SUBMIT_THREADS) as pool:
        return list(pool.map(lambda index: submit_one(client, tokens[index % len(tokens)], give_up_at, accepted),
                             range(SUBMISSIONS)))


# ---------------------------------------------------------------------- the database's view
def claim_holders(sessions) -> list[int]:
    """Pids of the processes grading a submission now (none while PostgreSQL is down)."""
    try:
        with sessions() as session:
            workers = session.scalars(select(Submission.worker).where(Submission.status == SubmissionStatus.running))
            return [int(worker.rpartition(":")[2]) for worker in workers if worker]
    except SQLAlchemyError:
        return []


def unfinished(sessions) -> int | None:
    try:
        with sessions() as session:
            return session.scalar(select(func.count()).where(
                Submission.status.in_([SubmissionStatus.queued, SubmissionStatus.running])))
    except SQLAlchemyError:
        return None


def rows(sessions) -> dict[int, dict]:
    """Each stored submission: status, score, grading attempts, `done` events (recordings), and
    when it was stored and graded."""
    with sessions() as session:
        done = dict(session.execute(select(SubmissionEvent.submission_id, func.count()).where(
            SubmissionEvent.kind == "done").group_by(SubmissionEvent.submission_id)).all())
        return {row.id: {"status": row.status, "score": row.score, "attempts": row.attempts,
                         "recorded": done.get(row.id, 0), "created_at": row.created_at,
                         "finished_at": row.finished_at}
                for row in session.execute(select(Submission.id, Submission.status, Submission.score,
                                                  Submission.attempts, Submission.created_at, Submission.finished_at))}


def peak_in_flight(stored: dict[int, dict]) -> int:
    """The most submissions stored and not yet graded at any one moment."""
    changes = sorted([(r["created_at"], 1) for r in stored.values()]
                     + [(r["finished_at"], -1) for r in stored.values() if r["finished_at"] is not None])
    in_flight = peak = 0
    for _, change in changes:
        in_flight += change
        peak = max(peak, in_flight)
    return peak


def drain(sessions, faults: list[FaultThread]) -> bool:
    """Wait until the faults are over and nothing is queued or running; False on timeout."""
    give_up_at = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < give_up_at:
        for thread in faults:
            assert thread.failure is None, f"the {thread.name} thread failed:\n{thread.failure}"
        if unfinished(sessions) == 0 and not any(thread.is_alive() for thread in faults):
            return True
        time.sleep(0.5)
    return False


# ---------------------------------------------------------------------- the test
@dataclasses.dataclass
class Run:
    seed: int
    outcomes: list[Outcome]
    stored: dict[int, dict]
    drained: bool
    tally: Tally
    submitting_s: float
    drain_s: float          # from the first upload until nothing was queued or running
    after_last_fault_s: float

    @property
    def accepted(self) -> set[int]:
        return {o.submission_id for o in self.outcomes if o.submission_id is not None}

    def figures(self) -> dict:
        stored, accepted = self.stored, self.accepted
        faults = {k: v for k, v in dataclasses.asdict(self.tally).items() if k != "last_fault_at"}
        return {
            "seed": self.seed, "submitted": SUBMISSIONS, "accepted": len(accepted),
            "refused_answers_retried": sum(len(o.refusals) for o in self.outcomes),
            "stored": len(stored), "stored_although_refused": len(set(stored) - accepted),
            "graded": sum(r["status"] == SubmissionStatus.graded for r in stored.values()),
            "duplicates": sum(r["recorded"] > 1 for r in stored.values()),
            "lost": len(accepted - set(stored)),
            "stuck": sum(r["status"] in (SubmissionStatus.queued, SubmissionStatus.running) for r in stored.values()),
            "extra_grading_attempts": sum(r["attempts"] for r in stored.values()) - len(stored),
            "peak_in_flight": peak_in_flight(stored), **faults, "submitting_s": round(self.submitting_s, 1),
            "time_to_drain_s": round(self.drain_s, 1), "drained_after_last_fault_s": round(self.after_last_fault_s, 1),
        }


def run_with_faults(stack: Stack, seed: int) -> Run:
    rng = random.Random(seed)
    sessions = session_factory(stack.settings.database_url)
    tally, accepted_so_far = Tally(), []
    faults = [ProcessFaults(tally, stack.fleet, rng, CHAOS_S, lambda: claim_holders(sessions)),
              ServiceFaults(tally, stack.redis, stack.postgres, rng, lambda: len(accepted_so_far), SUBMISSIONS)]
    started = time.monotonic()
    for thread in faults:
        thread.start()
    outcomes = submit_all(stack, accepted_so_far)
    submitting_s = time.monotonic() - started
    try:
        drained = drain(sessions, faults)
    finally:
        for thread in faults:
            thread.join(timeout=60)
    drained_at = time.monotonic()
    if drained:
        time.sleep(SETTLE_S)
    return Run(seed, outcomes, rows(sessions), drained, tally, submitting_s, drained_at - started,
               drained_at - tally.last_fault_at)


def test_every_accepted_submission_is_graded_exactly_once_through_faults(stack):
    run = run_with_faults(stack, int(os.environ.get("TORCHGRADE_FAULTS_SEED", random.randrange(1 << 32))))
    figures = run.figures()
    print("\nfault test figures:", json.dumps(figures, indent=2))
    assert run.drained, f"not drained within {DRAIN_TIMEOUT_S:g}s: {figures}\n{stack.fleet.logs()}"
    refusals = {r for o in run.outcomes for r in o.refusals}
    assert len(run.accepted) == SUBMISSIONS, f"uploads never accepted: {figures}"
    assert refusals <= {"503 database_unavailable"}, f"unexpected refusals: {sorted(refusals)}"
    assert figures["lost"] == 0, f"accepted but not stored: {sorted(run.accepted - set(run.stored))}"
    assert figures["stuck"] == 0 and figures["duplicates"] == 0, figures
    wrong = {i: r for i, r in run.stored.items()
             if (r["status"], r["score"], r["recorded"]) != (SubmissionStatus.graded, FULL_SCORE, 1)}
    assert not wrong, f"not graded exactly once with full marks: {wrong}"
    assert figures["peak_in_flight"] >= IN_FLIGHT, figures
    assert stack.fleet.all_alive(), stack.fleet.logs()
    assert (run.tally.redis_restarts, run.tally.postgres_restarts, run.tally.worker_kills) == (1, 1, WORKERS), figures
    assert run.tally.pool_kills >= 5 and run.tally.pool_kills_mid_grade >= 1, figures
