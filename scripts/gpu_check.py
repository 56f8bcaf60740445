"""The GPU report behind scripts/gpu_check.sh (run on a machine with an NVIDIA GPU)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.config import EngineSettings
from grader.engine import Grader
from grader.sandbox import confine, wire
from grader.sandbox.host import JobLimits, Sandbox, SandboxConfig
from grader.selftest import case_submission, load_cases

SLOT = 900
CUDA_PROBE = b"""
import time, torch
def probe():
    started = time.perf_counter()
    available = torch.cuda.is_available()
    if not available:
        return {"available": False}
    a = torch.randn(2048, 2048, device="cuda")
    product = (a @ a).sum().item()
    return {"available": True, "device": torch.cuda.get_device_name(0), "init_and_matmul_s":
            time.perf_counter() - started, "finite": product == product}
"""
NORMAL_ON_GPU = b"""
import torch
def _on_gpu(mean, std):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    as_tensor = lambda v: v.to(device) if isinstance(v, torch.Tensor) else v
    return torch.normal(as_tensor(mean), as_tensor(std))
normal_tensor_tensor = normal_tensor_scalar = normal_scalar_tensor = _on_gpu
def normal_scalar_scalar(mean, std, size):
    return torch.normal(mean, std, size=size, device="cuda" if torch.cuda.is_available() else "cpu")
"""


def cuda_in_a_fresh_interpreter() -> str:
    """Asked in a child: this process must not initialise CUDA before the sandbox forks."""
    code = "import torch; print(torch.__version__, torch.cuda.is_available(), torch.version.cuda)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()


def sandbox_job() -> None:
    required = frozenset(confine.ALL_LAYERS) - {"net_namespace"}
    with Sandbox(SandboxConfig(slot=SLOT, gpu=True, required_layers=required)) as sandbox:
        print(f"- sandbox layers missing with gpu=True: {sandbox.missing_layers() or 'none'}")
        with sandbox.job(JobLimits(wall_s=120, cpu_s=120), seed=0) as job:
            job.request({"op": "install", "files": {"probe.py": 0}}, [CUDA_PROBE])
            job.request({"op": "import", "module": "probe"})
            header, blobs = job.request({"op": "call", "name": "probe"})
            answer = header.get("error") or wire.Decoder(blobs).decode(header["value"])
    print(f"- a sandbox job on the GPU: {answer}")


def selftest_case(grader: Grader, assignment: str, file: str) -> tuple[str, bytes]:
    pack = grader.catalog.get(assignment)
    case = next(case for case in load_cases(pack) if case.file == file)
    return case_submission(pack.directory / "selftest", case)


def grade(grader: Grader, assignment: str, name: str, content: bytes) -> None:
    started = time.perf_counter()
    result = grader.grade(assignment, name, content)
    failing = [f"{t.name}: {t.feedback[:120]}" for t in result.tests if t.status not in ("passed", "pending")]
    print(f"| {assignment} | {name} | {result.status.value} | {result.score:g}/{result.max_score:g} | "
          f"{time.perf_counter() - started:.1f} s | {result.environment.device} | {'; '.join(failing) or '-'} |")


def main() -> None:
    print(f"- torch in a fresh interpreter: {cuda_in_a_fresh_interpreter()}")
    sandbox_job()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = EngineSettings(data_dir=Path(data_dir), sandbox_gpu=True, sandbox_slot=SLOT + 1)
        with Grader(settings) as grader:
            print("\n| assignment | submission | status | score | time | device | not passed |\n|---|---|---|---|---|---|---|")
            for name in ("good_cuda_if_available.py", "good_course.py", "bad_labels_swapped.py"):
                grade(grader, "w2-rmb-lenet", *selftest_case(grader, "w2-rmb-lenet", name))
            grade(grader, "w1-normal-modes", "normal_on_gpu.py", NORMAL_ON_GPU)


if __name__ == "__main__":
    main()
