"""The grading process itself runs under a memory limit (issue 10): its own cgroup, swap off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import cgroups

PROGRAM = """
import json, sys
from core.settings import Settings
from workers import process
process.limit_memory(Settings(sandbox_slot=int(sys.argv[1]), sandbox_worker_memory_mb=int(sys.argv[2])))
print(json.dumps(open("/proc/self/cgroup").read().splitlines()))
"""


def test_a_grading_process_runs_in_a_memory_limited_group_of_its_own(tmp_path):
    host = cgroups.Host.detect()
    if not host.available("memory_cgroup"):
        pytest.skip(f"no memory cgroup here: {host.missing['memory_cgroup']}")
    slot, megabytes = 27, 3072
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(slot), str(megabytes)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = json.loads(done.stdout)
    memory = next(line.split(":", 2)[2] for line in lines if ":memory:" in line or line.startswith("0::"))
    assert memory.endswith(f"worker-{slot}"), lines
    folder = Path(host.group(f"{cgroups.PREFIX}worker-{slot}", ("memory",)).dirs["memory"])
    limit = folder / ("memory.max" if host.version == 2 else "memory.limit_in_bytes")
    assert int(limit.read_text()) == megabytes << 20
    folder.rmdir()  # empty: its one process has exited
