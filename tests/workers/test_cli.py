"""`torchgrade worker`: queue names are checked, and a GPU worker refuses to start without CUDA."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.workers.stack import REPOSITORY
from workers.cli import cuda_available, parse_queues


def test_parse_queues():
    assert parse_queues("cpu") == ["cpu"] and parse_queues("cpu, gpu") == ["cpu", "gpu"]
    for bad in ("", "tpu", "cpu,fast"):
        with pytest.raises(ValueError, match="unknown queue"):
            parse_queues(bad)


def worker(*args: str, lang: str = "en") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchgrade.cli", "--lang", lang, "worker", *args], cwd=REPOSITORY,
                          capture_output=True, text=True, timeout=300)


def test_unknown_queue_is_refused():
    refused = worker("--queues", "tpu")
    assert refused.returncode == 2 and "unknown queue" in refused.stderr
    refused = worker("--queues", "tpu", lang="zh")
    assert refused.returncode == 2 and "torchgrade worker: 未知的队列 tpu；请使用 cpu、gpu 或 cpu,gpu" in refused.stderr


def test_gpu_worker_refuses_to_start_without_cuda():
    if cuda_available():
        pytest.skip("this machine has CUDA")
    refused = worker("--queues", "gpu")
    assert refused.returncode == 2 and "needs CUDA" in refused.stderr
