"""The cgroup layers, driven through the sandbox: a CPU weight per slot, a memory limit and a
CPU clock per job (also with RLIMIT_AS off, as on GPU jobs), timeouts judged by CPU time with a
wall-clock backstop, no cgroup left behind, the layers reported."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from grader.sandbox import cgroups, confine
from grader.sandbox.host import CODE_ROOT, JobDied, JobLimits, Sandbox, SandboxConfig, SandboxError
from tests.grader.test_sandbox import run

SLOT = int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + 300
HOST = cgroups.Host.detect()
pytestmark = pytest.mark.skipif(HOST.missing != {}, reason=f"no cgroups here: {HOST.missing}")


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(SandboxConfig(slot=SLOT, cpu_weight=50, cpu_cores=1.5)) as warm:
        yield warm


def load(job, source: str) -> None:
    job.request({"op": "install", "files": {"probe.py": 0}}, [source.encode()])
    job.request({"op": "import", "module": "probe"})


def call(job):
    return job.request({"op": "call", "name": "probe", "args": [], "kwargs": {"__dict__": []}})


def read(group: cgroups.Cgroup, controller: str, name: str) -> str:
    return open(os.path.join(group.dirs[controller], name)).read().strip()


def test_both_layers_are_applied_and_reported(sandbox):
    assert sandbox.layers["cpu_cgroup"] is None and sandbox.layers["memory_cgroup"] is None
    assert {"cpu_cgroup", "memory_cgroup"} <= set(confine.ALL_LAYERS)


def test_results_report_the_cgroup_layers(grader):
    environment = grader.environment()
    assert {"cpu_cgroup", "memory_cgroup"} <= set(environment.sandbox_layers)
    assert environment.missing_layers == {}


def test_the_slot_has_its_cpu_weight_and_quota(sandbox):
    slot = sandbox.cgroups.slot
    if HOST.version == 2:
        assert read(slot, "cpu", "cpu.weight") == "50"
        assert read(slot, "cpu", "cpu.max") == f"150000 {cgroups.CFS_PERIOD_US}"
    else:
        assert read(slot, "cpu", "cpu.shares") == str(50 * 1024 // 100)
        assert read(slot, "cpu", "cpu.cfs_quota_us") == "150000"
    zygote = sandbox.cgroups.zygote
    assert sandbox.process.pid in zygote.pids()  # the warm interpreter runs inside the slot too


def test_the_job_runs_in_its_own_cgroup_with_a_memory_limit_and_no_swap(sandbox):
    with sandbox.job(JobLimits(memory_mb=300), seed=0) as job:
        inside = run(job, "def probe():\n    return open('/proc/self/cgroup').read()\n")
        group = job.cgroup
        assert job.pid in group.pids()
        limit = (300 << 20) + sandbox.zygote_anon_bytes
        if HOST.version == 2:
            assert read(group, "memory", "memory.max") == str(limit)
            assert read(group, "memory", "memory.swap.max") == "0"
        else:
            assert read(group, "memory", "memory.limit_in_bytes") == str(limit)
            assert read(group, "memory", "memory.memsw.limit_in_bytes") == str(limit)
    assert cgroups.PREFIX not in inside  # its own cgroup namespace hides the host's layout
    assert not group.exists()  # removed when the job ended


def test_processes_together_past_the_memory_limit_are_the_memory_verdict(sandbox):
    """Each child stays under RLIMIT_AS; together they pass the job's memory cgroup."""
    with sandbox.job(JobLimits(memory_mb=256), seed=0) as job:
        load(job, """
import os, time
def probe():
    children = []
    for _ in range(6):
        pid = os.fork()
        if pid == 0:
            block = b"x" * (200 << 20)
            time.sleep(30)
            os._exit(len(block) & 0)
        children.append(pid)
    return [os.waitpid(pid, 0)[1] for pid in children]
""")
        with pytest.raises(JobDied) as died:
            call(job)
    assert died.value.kind == "memory" and "memory limit" in str(died.value)


def test_gpu_jobs_without_an_address_space_limit_still_have_the_memory_limit():
    config = SandboxConfig(slot=SLOT + 1, gpu=True, required_layers=frozenset())
    with Sandbox(config) as gpu_style, gpu_style.job(JobLimits(memory_mb=256), seed=0) as job:
        load(job, """
import resource, torch
def probe():
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY
    return float(torch.ones(2 ** 28).sum())  # 1 GiB, written
""")
        with pytest.raises(JobDied) as died:
            call(job)
    assert died.value.kind == "memory"
    assert gpu_style.layers["memory_cgroup"] is None and gpu_style.layers["rlimits"] is None


def test_a_busy_job_is_judged_by_the_cpu_time_of_all_its_processes(sandbox):
    """The job's own process sleeps; the children it forked burn the CPU the check allows."""
    with sandbox.job(JobLimits(wall_s=120), seed=0) as job:
        load(job, """
import os, time
def probe():
    for _ in range(3):
        if os.fork() == 0:
            while True:
                pass
    time.sleep(100)
""")
        job.set_budget(1.0, backstop=100)
        with pytest.raises(JobDied) as died:
            call(job)
    assert died.value.kind == "timeout" and "CPU time" in str(died.value)
    assert job.group_cpu_s >= 1.0


def test_the_whole_jobs_cpu_time_is_bounded_by_cpu_s(sandbox):
    """Three children reach the job's 2 CPU seconds together, long before one reaches its RLIMIT_CPU."""
    with sandbox.job(JobLimits(cpu_s=2, wall_s=120), seed=0) as job:
        load(job, "import os, time\ndef probe():\n    for _ in range(3):\n        if os.fork() == 0:\n"
                  "            while True:\n                pass\n    time.sleep(100)\n")
        with pytest.raises(JobDied) as died:
            call(job)
    assert died.value.kind == "timeout" and "CPU time" in str(died.value)


def test_a_sleeping_job_is_judged_by_the_wall_clock_backstop(sandbox):
    with sandbox.job(JobLimits(wall_s=120), seed=0) as job:
        load(job, "import time\ndef probe():\n    time.sleep(100)\n")
        job.set_budget(0.5, backstop=2)
        with pytest.raises(JobDied) as died:
            call(job)
    assert died.value.kind == "timeout" and "wall clock" in str(died.value)
    assert job.group_cpu_s < 0.5


def test_no_cgroup_is_left_after_jobs_that_were_killed_or_crashed(sandbox):
    before = set(os.listdir(sandbox.cgroups.slot.dirs["memory"]))
    for body in ("os.kill(os.getpid(), 9)", "time.sleep(100)", "return 1"):
        with sandbox.job(JobLimits(wall_s=2), seed=0) as job:
            load(job, f"import os, time\ndef probe():\n    for _ in range(10):\n        if os.fork() == 0:\n"
                      f"            time.sleep(100)\n    {body}\n")
            try:
                call(job)
            except JobDied:
                pass
    # A group whose processes were still exiting waits for a later sweep (the next job's start).
    deadline = time.monotonic() + 30
    while sandbox.cgroups.sweep() and time.monotonic() < deadline:
        time.sleep(0.1)
    for directory in set(sandbox.cgroups.slot.dirs.values()):
        assert not [name for name in os.listdir(directory) if name.startswith("job-")], directory
    assert set(os.listdir(sandbox.cgroups.slot.dirs["memory"])) == before


def test_closing_the_sandbox_removes_the_slot_and_stale_groups_of_dead_workers():
    slot = HOST.group(f"{cgroups.PREFIX}slot-{SLOT + 2}")
    stale = HOST.group(f"{cgroups.PREFIX}slot-{SLOT + 2}/job-{2 ** 22 + 1}-1")  # above pid_max: never alive
    stale.create()
    with Sandbox(SandboxConfig(slot=SLOT + 2)) as sandbox, sandbox.job(JobLimits(), seed=0):
        assert not stale.exists()
    assert not slot.exists()


def test_without_cgroups_the_layers_are_missing_and_a_requiring_sandbox_refuses():
    config = SandboxConfig(slot=SLOT + 3, cgroups=False, required_layers=frozenset({"memory_cgroup"}))
    with Sandbox(config) as plain:
        assert set(plain.missing_layers()) == {"cpu_cgroup", "memory_cgroup"}
        with pytest.raises(SandboxError, match="memory_cgroup"):
            plain.job(JobLimits(), seed=0)
        with plain.job(JobLimits(wall_s=30), seed=0, enforce_layers=False) as job:
            assert job.cgroup is None and not job.cpu_clock
            load(job, "import time\ndef probe():\n    time.sleep(100)\n")
            job.set_budget(0.5, backstop=100)  # no CPU clock: the wall clock judges at the budget
            with pytest.raises(JobDied) as died:
                call(job)
    assert died.value.kind == "timeout" and str(died.value) == "the time limit was reached"


def test_the_worker_process_can_be_put_under_a_memory_limit():
    slot = SLOT + 4
    script = (f"from grader.sandbox import cgroups\n"
              f"print(cgroups.limit_worker_memory({slot}, 200), flush=True)\n"
              f"print(open('/proc/self/cgroup').read(), flush=True)\n"
              f"block = bytearray(600 << 20)\n"
              f"print('survived', flush=True)\n")
    done = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=CODE_ROOT),
                          capture_output=True, text=True, timeout=120, check=False)
    group = HOST.group(f"{cgroups.PREFIX}worker-{slot}", ("memory",))
    try:
        assert done.stdout.startswith("None\n")
        assert f"{cgroups.PREFIX}worker-{slot}" in done.stdout
        assert done.returncode == -9 and "survived" not in done.stdout  # the kernel's OOM killer
        assert group.oom_kills() >= 1
    finally:
        group.remove()


def test_our_own_groups_are_skipped_when_finding_the_parent():
    mountinfo = ("35 31 0:32 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                 "36 31 0:33 /outer /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                 "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
    mounts = cgroups._cgroup_mounts(mountinfo)
    paths = cgroups._own_paths("4:memory:/outer/session/torchgrade-worker-3\n1:cpu,cpuacct:/\n0::/x\n")
    assert cgroups._v1_parent(mounts, paths, "memory") == "/sys/fs/cgroup/memory/session"
    assert cgroups._v1_parent(mounts, paths, "cpuacct") == "/sys/fs/cgroup/cpu,cpuacct"
    assert cgroups._v2_parent(mounts, paths) == "/sys/fs/cgroup/unified/x"
    assert cgroups._v1_parent(mounts, {"memory": "/elsewhere"}, "memory") is None
