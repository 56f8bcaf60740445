"""Engine benchmarks (issue: the grading engine).

1. Per-submission overhead on the same trivial submission (``def answer(): return 1``, one
   check that calls it): the warm sandbox (a job forked from the zygote, every layer on),
   measured through the engine and through the bare sandbox, against a fresh interpreter
   per submission that imports torch and torchvision and then runs the submission.
2. Graded submissions per second for w1-normal-modes (12 checks) with one and with two
   engines (one per core), each with its own warm sandbox.

Prints a Markdown report.  Usage: .venv/bin/python bench/sandbox_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from grader.assignments import Catalog  # noqa: E402
from grader.config import EngineSettings  # noqa: E402
from grader.engine import Grader  # noqa: E402
from grader.sandbox.host import JobLimits, Sandbox, SandboxConfig  # noqa: E402

TRIVIAL = b"def answer():\n    return 1\n"
TRIVIAL_PACK = {
    "manifest.toml": """
        id = "w0-trivial"
        week = 1
        title = { zh = "基准", en = "Benchmark" }
        [[checks]]
        name = "answer"
        points = 1
        description = "answer() returns 1"
    """,
    "checks.py": """
        from grader.checks import check, failed, passed

        @check("answer")
        def answer(student, ctx):
            return passed() if student.call("answer") == 1 else failed("answer() should return 1")
    """,
}
FRESH_INTERPRETER = """
import sys, importlib
import torch, torchvision
sys.path.insert(0, sys.argv[1])
assert importlib.import_module("submission").answer() == 1
"""
BENCH_SLOT = 500


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples: list[float]) -> str:
    return (f"median {1000 * statistics.median(samples):.1f} ms, p90 {1000 * percentile(samples, 0.9):.1f} ms, "
            f"min {1000 * min(samples):.1f} ms (n={len(samples)})")


def trivial_catalog(root: Path) -> Catalog:
    pack = root / "w0-trivial"
    pack.mkdir(parents=True)
    for name, text in TRIVIAL_PACK.items():
        (pack / name).write_text(textwrap.dedent(text))
    return Catalog(root)


def engine_overhead(count: int, root: Path) -> list[float]:
    settings = EngineSettings(data_dir=root / "data", sandbox_slot=BENCH_SLOT)
    with Grader(settings, trivial_catalog(root / "packs")) as grader:
        grader.grade("w0-trivial", "warmup.py", TRIVIAL)
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            result = grader.grade("w0-trivial", "trivial.py", TRIVIAL)
            samples.append(time.perf_counter() - started)
            assert result.score == 1, result
        layers = grader.sandbox.layers
    assert all(error is None for error in layers.values()), layers
    return samples


def sandbox_overhead(count: int) -> list[float]:
    with Sandbox(SandboxConfig(slot=BENCH_SLOT + 1)) as sandbox:
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            with sandbox.job(JobLimits(), seed=0) as job:
                job.request({"op": "install", "files": {"submission.py": 0}}, [TRIVIAL])
                job.request({"op": "import", "module": "submission"})
                header, _ = job.request({"op": "call", "name": "answer", "args": [], "kwargs": {"__dict__": []}})
            samples.append(time.perf_counter() - started)
            assert header["value"] == 1
    return samples


def fresh_interpreter_overhead(count: int, root: Path) -> list[float]:
    workdir = root / "fresh"
    workdir.mkdir()
    (workdir / "submission.py").write_bytes(TRIVIAL)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", FRESH_INTERPRETER, str(workdir)], check=True,
                       env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
        samples.append(time.perf_counter() - started)
    return samples


def _throughput_worker(slot: int, duration_s: float, data_dir: str, barrier, queue) -> None:
    source = (REPOSITORY / "reference" / "w1-normal-modes" / "selftest" / "good_torch_normal.py").read_bytes()
    settings = EngineSettings(data_dir=Path(data_dir), sandbox_slot=slot)
    with Grader(settings) as grader:
        grader.grade("w1-normal-modes", "warmup.py", source)
        barrier.wait()  # all engines warm before the clock starts
        graded, started = 0, time.perf_counter()
        while time.perf_counter() - started < duration_s:
            assert grader.grade("w1-normal-modes", "hw.py", source).score == 32
            graded += 1
        queue.put((graded, time.perf_counter() - started))


def throughput(workers: int, duration_s: float, root: Path) -> float:
    context = multiprocessing.get_context("spawn")
    queue, barrier = context.Queue(), context.Barrier(workers)
    processes = [context.Process(target=_throughput_worker, args=(BENCH_SLOT + 10 + i, duration_s,
                                                                     str(root / f"tp{i}"), barrier, queue))
                 for i in range(workers)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    return sum(graded / elapsed for graded, elapsed in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    args = parser.parse_args()
    warm_count, fresh_count, duration = (30, 3, 5.0) if args.quick else (300, 10, 20.0)
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        engine = engine_overhead(warm_count, root)
        bare = sandbox_overhead(warm_count)
        fresh = fresh_interpreter_overhead(fresh_count, root)
        one = throughput(1, duration, root)
        two = throughput(2, duration, root)
    ratio = statistics.median(fresh) / statistics.median(engine)
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| per-submission overhead (trivial submission) | time |\n|---|---|")
    print(f"| warm sandbox, through the engine (grade() call, every layer on) | {summary(engine)} |")
    print(f"| warm sandbox, bare job (spawn, install, import, call, close) | {summary(bare)} |")
    print(f"| fresh interpreter per submission (import torch, torchvision) | {summary(fresh)} |")
    print(f"\nThe engine's median is {ratio:.0f}x below the fresh-interpreter design.\n")
    print("| w1-normal-modes, 12 checks, correct submission | graded per second |\n|---|---|")
    print(f"| one engine | {one:.1f} |\n| two engines in parallel (one per core) | {two:.1f} |")


if __name__ == "__main__":
    main()
