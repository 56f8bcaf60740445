"""The sandbox host and zygote, driven directly: layers, limits, deaths, cleanup."""

from __future__ import annotations

import os
import resource
import time

import pytest

from grader.i18n import render
from grader.sandbox import confine, wire
from grader.sandbox.host import JobDied, JobLimits, Sandbox, SandboxConfig, SandboxError

SLOT = int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + 200


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(SandboxConfig(slot=SLOT)) as warm:
        yield warm


def run(job, source: str, call: str = "probe"):
    """Install ``source`` as probe.py, import it, call ``call`` and decode the answer."""
    job.request({"op": "install", "files": {"probe.py": 0}}, [source.encode()])
    job.request({"op": "import", "module": "probe"})
    header, blobs = job.request({"op": "call", "name": call, "args": [], "kwargs": {"__dict__": []}})
    assert "error" not in header, header.get("error")
    return wire.Decoder(blobs).decode(header["value"])


def test_every_layer_is_applied_on_this_host(sandbox):
    assert sandbox.missing_layers() == {}
    assert set(sandbox.layers) == set(confine.ALL_LAYERS)


def test_job_is_pid_one_as_the_slot_uid_in_its_own_world(sandbox):
    with sandbox.job(JobLimits(), seed=0) as job:
        facts = run(job, """
import os, socket
def probe():
    return {"pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(), "host": socket.gethostname(),
            "cwd": os.getcwd(), "root": sorted(os.listdir("/")), "groups": os.getgroups()}
""")
    assert facts["pid"] == 1
    assert facts["uid"] == facts["gid"] == SandboxConfig(slot=SLOT).uid
    assert facts["groups"] == []
    assert facts["host"] == "sandbox"
    assert facts["cwd"] == confine.WORKDIR
    assert "work" not in facts["root"] or os.path.realpath("/work") in os.path.realpath(os.sys.prefix)


def test_root_is_read_only_and_only_tmpfs_is_writable(sandbox):
    with sandbox.job(JobLimits(tmp_mb=8), seed=0) as job:
        facts = run(job, """
import os
def attempt(path):
    try:
        open(path, "w").write("x")
        return "written"
    except OSError as exc:
        return type(exc).__name__
def probe():
    big = "none"
    try:
        open("/tmp/big", "wb").write(b"x" * (16 << 20))
    except OSError as exc:
        big = type(exc).__name__
    return {p: attempt(p) for p in ("/usr/x", "/x", "/etc/passwd", "/home/student/x", "/tmp/x", "/dev/shm/x")} | {"big": big}
""")
    assert facts["/usr/x"] in ("OSError", "PermissionError")
    assert facts["/x"] in ("OSError", "PermissionError")
    assert facts["/etc/passwd"] in ("OSError", "PermissionError")
    assert facts["/home/student/x"] == facts["/tmp/x"] == facts["/dev/shm/x"] == "written"
    assert facts["big"] == "OSError"  # the 8 MB tmpfs is full


def test_resource_limits_are_set(sandbox):
    limits = JobLimits(cpu_s=7, processes=33, file_size_mb=5, open_files=77, memory_mb=512)
    with sandbox.job(limits, seed=0) as job:
        facts = run(job, """
import resource
def probe():
    return {name: resource.getrlimit(getattr(resource, name)) for name in
            ("RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_AS")}
""")
    assert facts["RLIMIT_CPU"] == (7, 8)
    assert facts["RLIMIT_NPROC"] == (33, 33)
    assert facts["RLIMIT_FSIZE"] == (5 << 20, 5 << 20)
    assert facts["RLIMIT_NOFILE"] == (77, 77)
    assert facts["RLIMIT_CORE"] == (0, 0)
    assert facts["RLIMIT_AS"][0] > 512 << 20


def test_seed_makes_draws_repeatable(sandbox):
    source = "import torch, numpy, random\ndef probe():\n    return [torch.rand(2), numpy.random.rand(), random.random()]\n"
    draws = []
    for _ in range(2):
        with sandbox.job(JobLimits(), seed=5) as job:
            draws.append(run(job, source))
    assert draws[0][0].equal(draws[1][0]) and draws[0][1:] == draws[1][1:]


def test_wall_clock_timeout_kills_the_job(sandbox):
    with sandbox.job(JobLimits(wall_s=1), seed=0) as job:
        job.request({"op": "install", "files": {"probe.py": 0}}, [b"import time\ndef probe():\n    time.sleep(60)\n"])
        job.request({"op": "import", "module": "probe"})
        started = time.monotonic()
        with pytest.raises(JobDied) as died:
            job.request({"op": "call", "name": "probe"})
    assert died.value.kind == "timeout"
    assert time.monotonic() - started < 3


def test_cpu_limit_is_a_timeout(sandbox):
    with sandbox.job(JobLimits(cpu_s=1, wall_s=20), seed=0) as job:
        job.request({"op": "install", "files": {"probe.py": 0}}, [b"def probe():\n    while True:\n        pass\n"])
        job.request({"op": "import", "module": "probe"})
        with pytest.raises(JobDied) as died:
            job.request({"op": "call", "name": "probe"})
    assert died.value.kind == "timeout" and "CPU" in str(died.value)
    assert render(died.value.detail, "zh") == "超出了 CPU 时间限制"


def test_segfault_is_a_crash(sandbox):
    with sandbox.job(JobLimits(), seed=0) as job:
        job.request({"op": "install", "files": {"probe.py": 0}}, [b"import ctypes\ndef probe():\n    ctypes.string_at(0)\n"])
        job.request({"op": "import", "module": "probe"})
        with pytest.raises(JobDied) as died:
            job.request({"op": "call", "name": "probe"})
    assert died.value.kind == "crashed" and "SIGSEGV" in str(died.value)


def test_output_is_captured_per_request_and_capped(sandbox):
    with sandbox.job(JobLimits(output_kb=1), seed=0) as job:
        job.request({"op": "install", "files": {"probe.py": 0}},
                    [b"import os\nprint('at import')\ndef probe():\n    os.write(2, b'e' * 5000)\n    print('x')\n"])
        job.request({"op": "import", "module": "probe"})
        assert job.take_output() == ("at import\n", "")
        job.request({"op": "call", "name": "probe"})
        stdout, stderr = job.take_output()
    assert stdout == "x\n" and len(stderr) == 1024 and job.stderr.dropped == 5000 - 1024


def test_paths_inside_what_jobs_read_are_refused():
    with pytest.raises(SandboxError, match="inside"):
        Sandbox(SandboxConfig(slot=SLOT, forbidden_paths=("/usr/share",))).start()


def test_gpu_jobs_skip_the_network_namespace_and_the_address_space_limit():
    config = SandboxConfig(slot=SLOT + 1, gpu=True, required_layers=frozenset({"net_namespace"}))
    with Sandbox(config) as gpu_style:
        assert "net_namespace" in gpu_style.missing_layers()
        with pytest.raises(SandboxError, match="net_namespace"):
            gpu_style.job(JobLimits(), seed=0)
        with gpu_style.job(JobLimits(memory_mb=512), seed=0, enforce_layers=False) as job:
            facts = run(job, """
import resource, socket
def probe():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        network = "open"
    except OSError as exc:
        network = type(exc).__name__
    return {"as": resource.getrlimit(resource.RLIMIT_AS)[0], "network": network}
""")
    assert facts == {"as": resource.RLIM_INFINITY, "network": "PermissionError"}


def test_interpreter_paths_under_tmp_stay_visible(monkeypatch, tmp_path_factory):
    """A checkout under /tmp (as in CI) binds its virtual environment inside the job's /tmp."""
    from grader.sandbox import host

    library = tmp_path_factory.mktemp("venv-under-tmp")
    (library / "marker.txt").write_text("visible")
    library.chmod(0o755)  # as a virtual environment's folder is; its parents need not be readable
    assert str(library).startswith("/tmp/")
    paths = host.readonly_paths()
    monkeypatch.setattr(host, "readonly_paths", lambda: [*paths, str(library)])
    with Sandbox(SandboxConfig(slot=SLOT + 2)) as sandbox, sandbox.job(JobLimits(), seed=0) as job:
        facts = run(job, f"""
import os
def probe():
    writable = "written"
    try:
        open("/tmp/mine.txt", "w").write("x")
    except OSError as exc:
        writable = type(exc).__name__
    return [open({str(library / "marker.txt")!r}).read(), writable]
""")
    assert facts == ["visible", "written"]
