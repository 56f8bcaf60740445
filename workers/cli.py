"""``torchgrade worker --queues cpu|gpu|cpu,gpu``: a Celery worker whose pool processes each
hold a warm sandbox.  A worker for the gpu queue starts only where CUDA is available, which
is probed in a separate interpreter so that this process never initialises CUDA."""

from __future__ import annotations

import subprocess
import sys

from core.broker import QUEUES
from core.settings import get_settings

CUDA_PROBE = "import torch; print(torch.cuda.is_available())"
CUDA_PROBE_TIMEOUT_S = 180


def add_worker(subparsers) -> None:
    parser = subparsers.add_parser("worker", help="run a grading worker (Celery)")
    parser.add_argument("--queues", default="cpu", help="comma-separated: cpu, gpu (default cpu)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="grading processes (default TORCHGRADE_WORKER_CONCURRENCY); each takes a sandbox slot")
    parser.add_argument("--loglevel", default="info")
    parser.add_argument("--no-sweep", action="store_true", help="do not run the sweeper in this worker")
    parser.set_defaults(handler=run_worker)


def parse_queues(text: str) -> list[str]:
    queues = [q.strip() for q in text.split(",") if q.strip()]
    unknown = [q for q in queues if q not in QUEUES]
    if not queues or unknown:
        raise ValueError(f"unknown queue(s) {', '.join(unknown) or '(none)'}; use cpu, gpu or cpu,gpu")
    return queues


def cuda_available() -> bool:
    try:
        probe = subprocess.run([sys.executable, "-c", CUDA_PROBE], capture_output=True, text=True,
                               timeout=CUDA_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0 and probe.stdout.strip() == "True"


def run_worker(args) -> int:
    from workers.worker import build

    try:
        queues = parse_queues(args.queues)
    except ValueError as exc:
        print(f"torchgrade worker: {exc}", file=sys.stderr)
        return 2
    settings = get_settings()
    if "gpu" in queues:
        if not cuda_available():
            print("torchgrade worker: the gpu queue needs CUDA, and torch sees no GPU here; run a cpu worker "
                  "(--queues cpu) on this machine", file=sys.stderr)
            return 2
        settings = settings.model_copy(update={"sandbox_gpu": True})
    updates = {"worker_sweep": settings.worker_sweep and not args.no_sweep}
    if args.concurrency:
        updates["worker_concurrency"] = args.concurrency
    settings = settings.model_copy(update=updates)
    app = build(settings)
    app.worker_main(["worker", "--queues", ",".join(queues), "--concurrency", str(settings.worker_concurrency),
                     "--loglevel", args.loglevel, "--pool", "prefork", "--hostname", f"{'-'.join(queues)}@%h",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])
    return 0
