"""``torchgrade worker --queues cpu|gpu|cpu,gpu``: a Celery worker whose pool processes each
hold a warm sandbox.  A worker for the gpu queue starts only where CUDA is available, which
is probed in a separate interpreter so that this process never initialises CUDA.  A worker
starts only once its data directory, database and broker are usable (core/readiness.py)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from core import readiness
from core.broker import QUEUES
from core.i18n import _
from core.settings import get_settings
from grader.i18n import Message, render
from grader.sandbox import confine

EXIT_REFUSED = 2

CUDA_PROBE = "import torch; print(torch.cuda.is_available())"
CUDA_PROBE_TIMEOUT_S = 180


def add_worker(subparsers) -> None:
    parser = subparsers.add_parser("worker", help="run a grading worker (Celery)")
    parser.add_argument("--queues", default="cpu", help="comma-separated: cpu, gpu (default cpu)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="grading processes (default TORCHGRADE_WORKER_CONCURRENCY); each takes a sandbox slot")
    parser.add_argument("--loglevel", default="info")
    parser.add_argument("--no-sweep", action="store_true", help="do not run the sweeper in this worker")
    parser.add_argument("--wait-for-services", type=float, default=readiness.STARTUP_WAIT_S, metavar="SECONDS",
                        help="how long to wait for an unreachable database or broker before refusing to start "
                             f"(default {readiness.STARTUP_WAIT_S:g})")
    # `torchgrade serve` starts its embedded worker with its own pid: the worker dies with it.
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run_worker)


def parse_queues(text: str) -> list[str]:
    """The queue names of ``--queues``; a ``ValueError`` whose argument is a catalogue message
    for names it does not know."""
    queues = [q.strip() for q in text.split(",") if q.strip()]
    unknown = [q for q in queues if q not in QUEUES]
    if not queues or unknown:
        raise ValueError(_("unknown queue(s) {queues}; use cpu, gpu or cpu,gpu", queues=", ".join(unknown) or "(none)"))
    return queues


def say(message: Message, language: str) -> None:
    print(f"torchgrade worker: {render(message, language)}", file=sys.stderr)


def cuda_available() -> bool:
    try:
        probe = subprocess.run([sys.executable, "-c", CUDA_PROBE], capture_output=True, text=True,
                               timeout=CUDA_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0 and probe.stdout.strip() == "True"


def die_with_parent(parent_pid: int) -> bool:
    """SIGKILL this process when the thread that started it ends (``serve`` starts its worker
    from its main thread); False when that parent is already gone."""
    confine.set_parent_death_signal()
    return os.getppid() == parent_pid


def run_worker(args) -> int:
    from workers.worker import build

    if args.parent_pid is not None and not die_with_parent(args.parent_pid):
        say(_("the server that started this worker (pid {pid}) is gone", pid=args.parent_pid), args.lang)
        return EXIT_REFUSED
    try:
        queues = parse_queues(args.queues)
    except ValueError as exc:
        say(exc.args[0], args.lang)
        return EXIT_REFUSED
    settings = get_settings()
    if "gpu" in queues:
        if not cuda_available():
            say(_("the gpu queue needs CUDA, and torch sees no GPU here; run a cpu worker (--queues cpu) on this "
                  "machine"), args.lang)
            return EXIT_REFUSED
        settings = settings.model_copy(update={"sandbox_gpu": True})
    updates = {"worker_sweep": settings.worker_sweep and not args.no_sweep}
    if args.concurrency:
        updates["worker_concurrency"] = args.concurrency
    settings = settings.model_copy(update=updates)
    if readiness.refuse_to_start("worker", settings, args.wait_for_services, args.lang):
        return EXIT_REFUSED
    app = build(settings)
    app.worker_main(["worker", "--queues", ",".join(queues), "--concurrency", str(settings.worker_concurrency),
                     "--loglevel", args.loglevel, "--pool", "prefork", "--hostname", f"{'-'.join(queues)}@%h",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])
    return 0
