"""The faults: a fleet of real Celery workers whose processes are killed with SIGKILL at seeded
random moments, and one restart each of Redis and PostgreSQL while submissions pour in."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import threading
import time
import traceback
from pathlib import Path

from core.settings import Settings
from tests.workers.stack import Process, start_worker, wait_for

REDIS_DOWN_S = 2.0
POSTGRES_DOWN_S = 3.0
PROGRESS_TIMEOUT_S = 120.0
POOL_START_TIMEOUT_S = 180.0
POOL_READY = "pool process ready on sandbox slot"  # workers/process.py logs it
# A pool process killed restarts its sandbox (seconds of torch import) before it grades again:
# kills much more frequent than that would leave no process grading, and nothing to kill mid-grade.
POOL_KILL_EVERY_S = (2.5, 5.0)
MID_GRADE_SHARE = 0.7       # of pool kills aimed at a process holding a claim...
MID_GRADE_PATIENCE_S = 3.0  # ...waiting this long for one to hold a claim


def children_of(pid: int) -> list[int]:
    """Direct children (for a Celery worker: its pool processes), read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name, in parentheses, may hold spaces: the parent pid follows its ')'
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry))
    return found


class Fleet:
    """Worker processes, each on its own sandbox slots; a killed worker is replaced on the same slots."""

    def __init__(self, settings: Settings, log_dir: Path, workers: int):
        self.settings = settings
        self.log_dir = log_dir
        self.slots = [settings.sandbox_slot + index * settings.worker_concurrency for index in range(workers)]
        self.workers: list[Process | None] = [None] * workers
        self.started = 0

    def start(self) -> None:
        for index in range(len(self.workers)):
            self.restart(index)

    def restart(self, index: int) -> None:
        """Start the worker and wait until every pool process has its sandbox (Celery reports
        "ready" before that): faults injected earlier would only ever hit processes starting up."""
        self.started += 1
        settings = self.settings.model_copy(update={"sandbox_slot": self.slots[index]})
        worker = self.workers[index] = start_worker(settings, self.log_dir / f"worker-{index}-{self.started}.log")
        wait_for(lambda: worker.output().count(POOL_READY) >= settings.worker_concurrency or not worker.alive(),
                 POOL_START_TIMEOUT_S, "the worker's pool processes to start their sandboxes")
        assert worker.alive(), worker.output()[-3000:]

    def kill_worker(self, index: int) -> None:
        """SIGKILL the worker's main process and its pool (one process group): no cleanup at all."""
        worker = self.workers[index]
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        worker.stop()

    def pool_processes(self) -> list[int]:
        return [pid for worker in self.workers if worker is not None and worker.alive()
                for pid in children_of(worker.process.pid)]

    def all_alive(self) -> bool:
        return all(worker is not None and worker.alive() for worker in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            if worker is not None:
                worker.stop()

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("worker-*.log")))


@dataclasses.dataclass
class Tally:
    pool_kills: int = 0
    pool_kills_mid_grade: int = 0
    worker_kills: int = 0
    redis_restarts: int = 0
    messages_lost_with_redis: int = 0
    postgres_restarts: int = 0
    last_fault_at: float = 0.0


class FaultThread(threading.Thread):
    """A thread whose failure the test reports (instead of waiting for a drain that never comes)."""

    def __init__(self, name: str, tally: Tally):
        super().__init__(name=name, daemon=True)
        self.tally = tally
        self.failure: str | None = None  # the traceback

    def run(self) -> None:
        try:
            self.inject()
        except BaseException:
            self.failure = traceback.format_exc()

    def inject(self) -> None:
        raise NotImplementedError

    def done(self) -> None:
        self.tally.last_fault_at = max(self.tally.last_fault_at, time.monotonic())


class ProcessFaults(FaultThread):
    """For ``duration_s``: a pool process killed every few seconds (most of them while they hold
    a claim, so that kills land mid-grade), and each worker killed once, whole, then replaced."""

    def __init__(self, tally: Tally, fleet: Fleet, rng: random.Random, duration_s: float, claim_holders):
        super().__init__("process-faults", tally)
        self.fleet = fleet
        self.rng = rng
        self.claim_holders = claim_holders  # () -> pids of processes holding a claim now
        self.moments = self._schedule(duration_s)

    def _schedule(self, duration_s: float) -> list[tuple[float, str]]:
        workers = len(self.fleet.workers)
        moments = [(self.rng.uniform(duration_s * (i + 1) / (workers + 2), duration_s * (i + 2) / (workers + 2)),
                    "worker") for i in range(workers)]
        moment = self.rng.uniform(1, 3)
        while moment < duration_s:
            moments.append((moment, "pool"))
            moment += self.rng.uniform(*POOL_KILL_EVERY_S)
        return sorted(moments)

    def inject(self) -> None:
        begin = time.monotonic()
        for at_s, kind in self.moments:
            time.sleep(max(0.0, begin + at_s - time.monotonic()))
            if kind == "worker":
                self.kill_worker()
            else:
                self.kill_pool_process()
            self.done()

    def kill_pool_process(self) -> None:
        want_mid_grade = self.rng.random() < MID_GRADE_SHARE
        give_up_at = time.monotonic() + (MID_GRADE_PATIENCE_S if want_mid_grade else 0.0)
        while True:
            pool = set(self.fleet.pool_processes())
            grading = sorted(pool & set(self.claim_holders()))
            if grading or time.monotonic() >= give_up_at:
                break
            time.sleep(0.05)
        candidates = grading if want_mid_grade and grading else sorted(pool)
        if not candidates:
            return
        victim = self.rng.choice(candidates)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.tally.pool_kills += 1
        self.tally.pool_kills_mid_grade += victim in grading

    def kill_worker(self) -> None:
        index = self.tally.worker_kills % len(self.fleet.workers)
        self.fleet.kill_worker(index)
        self.tally.worker_kills += 1
        self.fleet.restart(index)


class ServiceFaults(FaultThread):
    """PostgreSQL crashes once a random fifth to two fifths of the uploads are accepted, Redis
    restarts (empty) at three to four fifths: both while clients are still submitting."""

    def __init__(self, tally: Tally, redis, postgres, rng: random.Random, accepted, total: int):
        super().__init__("service-faults", tally)
        self.redis = redis
        self.postgres = postgres
        self.accepted = accepted  # () -> uploads accepted so far
        self.postgres_after = int(total * rng.uniform(0.2, 0.4))
        self.redis_after = int(total * rng.uniform(0.6, 0.8))

    def inject(self) -> None:
        self._wait_for_accepted(self.postgres_after)
        self.postgres.crash()
        time.sleep(POSTGRES_DOWN_S)
        self.postgres.start()
        self.tally.postgres_restarts += 1
        self.done()
        self._wait_for_accepted(self.redis_after)
        self.tally.messages_lost_with_redis = self.redis.stop()
        time.sleep(REDIS_DOWN_S)
        self.redis.start()
        self.tally.redis_restarts += 1
        self.done()

    def _wait_for_accepted(self, count: int) -> None:
        give_up_at = time.monotonic() + PROGRESS_TIMEOUT_S
        while self.accepted() < count:
            assert time.monotonic() < give_up_at, f"only {self.accepted()} uploads accepted, waiting for {count}"
            time.sleep(0.05)
