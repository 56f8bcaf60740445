"""The trusted side of the sandbox: starts the zygote, opens jobs, talks to them, kills them.

Nothing here imports a reference solution or a check; it moves frames.  The zygote is
started by exec with a fixed environment; each job gets its own stream socket and stdout /
stderr pipes, passed to the zygote as file descriptors and never seen by other jobs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from grader.i18n import Message, _, render
from grader.sandbox import cgroups, confine, wire
from grader.sandbox.zygote import EXIT_SETUP_FAILED

ZYGOTE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",
}
# Read from the checker's environment only because some CPUs need them for OpenBLAS to work.
ZYGOTE_ENV_PASSTHROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES")
ZYGOTE_START_TIMEOUT_S = 180
CODE_ROOT = str(Path(__file__).resolve().parents[2])
READY_TIMEOUT_S = 30
EOF_GRACE_S = 2.0
CPU_POLL_S = 0.05  # how often a waiting request reads the job's CPU time and OOM kills
CPU_LIMIT_REACHED = _("the CPU time limit was reached")


class SandboxError(Exception):
    """The sandbox itself failed (infrastructure): retry or report, never a student verdict."""


class JobDied(Exception):
    """The job's process ended before answering: the student's code timed out, ran out of
    memory or crashed.  ``kind`` is one of ``timeout``, ``memory``, ``crashed``; ``detail``
    is a catalogue message for the student."""

    def __init__(self, kind: str, detail: Message):
        super().__init__(render(detail))
        self.kind = kind
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class JobLimits:
    wall_s: float = 60.0
    cpu_s: float = 60.0
    memory_mb: int = 2048
    processes: int = 64
    file_size_mb: int = 64
    open_files: int = 256
    tmp_mb: int = 256
    output_kb: int = 64
    message_mb: int = 64

    def for_zygote(self, gpu: bool) -> dict:
        # CUDA reserves far more address space than it uses: no RLIMIT_AS for GPU jobs.
        return {"cpu_s": self.cpu_s, "memory_mb": 0 if gpu else self.memory_mb, "processes": self.processes,
                "file_size_mb": self.file_size_mb, "open_files": self.open_files, "tmp_mb": self.tmp_mb}

    def caps(self) -> wire.Caps:
        return wire.Caps(header_bytes=min(self.message_mb << 20, 16 << 20), blob_bytes=self.message_mb << 20)


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    slot: int = 0
    uid_base: int = 61000
    required_layers: frozenset[str] = frozenset(confine.ALL_LAYERS)
    gpu: bool = False
    forbidden_paths: tuple[str, ...] = ()
    cgroups: bool = True
    cpu_weight: int = 100   # the slot's CPU weight (cgroup v2 units; v1 cpu.shares = weight * 10.24)
    cpu_cores: float = 0.0  # the slot's CPU quota in cores; 0: none

    @property
    def uid(self) -> int:
        return self.uid_base + self.slot

    @property
    def namespaces(self) -> list[str]:
        # CUDA fails in a new network namespace on some GPU hosts (error 304); there the
        # seccomp socket rule alone keeps the network closed.
        return [name for name in confine.NAMESPACES if not (self.gpu and name == "net_namespace")]


def readonly_paths() -> list[str]:
    """What a job may read: the system libraries and this interpreter's prefixes."""
    candidates = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", sys.base_prefix, sys.prefix]
    paths = []
    for path in candidates:
        if os.path.lexists(path) and not any(path == p or path.startswith(p + "/") for p in paths):
            paths.append(path)
    return paths


def gpu_devices() -> list[str]:
    return sorted(os.path.join("/dev", name) for name in os.listdir("/dev") if name.startswith("nvidia"))


class Sandbox:
    """One warm zygote and the jobs it runs, for one worker slot."""

    def __init__(self, config: SandboxConfig = SandboxConfig()):
        self.config = config
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.info: dict = {}
        self.layers: dict[str, str | None] = {}
        self.cgroups: cgroups.SlotCgroups | None = None
        self.zygote_anon_bytes = 0

    def _slot_cgroups(self) -> cgroups.SlotCgroups:
        host = None if self.config.cgroups else \
            cgroups.Host(0, {}, dict.fromkeys(cgroups.LAYERS, "not enabled in this configuration"))
        return cgroups.SlotCgroups(self.config.slot, self.config.cpu_weight, self.config.cpu_cores, host).setup()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Sandbox":
        self._check_paths()
        self.cgroups = self._slot_cgroups()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(ZYGOTE_ENV, **{k: os.environ[k] for k in ZYGOTE_ENV_PASSTHROUGH if k in os.environ})
        env["PYTHONPATH"] = CODE_ROOT  # the zygote runs the very grader package this process imported
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.zygote", str(theirs.fileno())],
            env=env, cwd="/", pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.control = ours
        ours.send(json.dumps({
            "uid": self.config.uid,
            "namespaces": self.config.namespaces,
            "readonly_paths": readonly_paths(),
            "devices": gpu_devices() if self.config.gpu else [],
            "cgroup_procs": self.cgroups.zygote_procs(),
        }).encode())
        ours.settimeout(ZYGOTE_START_TIMEOUT_S)
        try:
            self.info = json.loads(ours.recv(1 << 16) or b"{}")
        except (socket.timeout, json.JSONDecodeError):
            self.info = {}
        ours.settimeout(None)
        if not self.info.get("ready"):
            self.close()
            raise SandboxError("the sandbox zygote did not start")
        self.zygote_anon_bytes = anonymous_memory(self.process.pid)
        self.layers = self._probe_layers()
        return self

    def _check_paths(self) -> None:
        for forbidden in self.config.forbidden_paths:
            forbidden = os.path.realpath(forbidden)
            for path in readonly_paths():
                real = os.path.realpath(path)
                if forbidden == real or forbidden.startswith(real + "/"):
                    raise SandboxError(f"{forbidden} lies inside {path}, which jobs can read")

    def _probe_layers(self) -> dict[str, str | None]:
        with self.job(JobLimits(wall_s=READY_TIMEOUT_S), seed=0, enforce_layers=False) as job:
            return dict(job.layers)

    def missing_layers(self) -> dict[str, str]:
        return missing_layers(self.layers)

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        if self.cgroups is not None:
            self.cgroups.close()
            self.cgroups = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ------------------------------------------------------------------ jobs
    def job(self, limits: JobLimits, seed: int, data_mounts: dict[str, str] | None = None,
            enforce_layers: bool = True) -> "Job":
        channel, child_channel = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        # The job's memory cgroup counts what it allocates and the zygote's pages it copies on
        # write, at most the zygote's anonymous memory: that much comes on top of memory_mb.
        group, error = None, None
        try:
            group = self.cgroups.job((limits.memory_mb << 20) + self.zygote_anon_bytes)
        except OSError as exc:
            error = f"cannot create the job's cgroup: {exc.strerror or exc}"
        spec = {"limits": limits.for_zygote(self.config.gpu), "caps": vars(limits.caps()), "seed": seed,
                "data_mounts": data_mounts or {}, "cgroups": self.cgroups.placement(group, error)}
        try:
            pid = self._control({"op": "spawn", "spec": spec}, [child_channel.fileno(), out_w, err_w])["pid"]
        except BaseException:
            self.cgroups.release(group)
            raise
        finally:
            for fd in (out_w, err_w):
                os.close(fd)
            child_channel.close()
        job = Job(self, pid, channel, out_r, err_r, limits, group)
        job.wait_ready()
        missing = {k: v for k, v in job.missing_layers().items() if k in self.config.required_layers}
        if enforce_layers and missing:
            job.close()
            raise SandboxError(f"required sandbox layers are unavailable: {missing}")
        return job

    def finish(self, pid: int, grace_s: float = 0.0, wait: bool = False) -> tuple[int | None, float]:
        """Kill a job; with ``wait``, first give it ``grace_s`` to end and return its wait
        status and CPU seconds.  Without, the zygote kills it and reaps it in the background."""
        request = {"op": "finish", "pid": pid, "grace_s": grace_s, "wait": wait}
        reply = self._control(request, expect_reply=wait) or {}
        return reply.get("status"), reply.get("cpu_s", 0.0)

    def _control(self, request: dict, fds: list[int] = (), expect_reply: bool = True) -> dict | None:
        with self.lock:
            if not self.alive or self.control is None:
                raise SandboxError("the sandbox zygote is not running")
            try:
                socket.send_fds(self.control, [json.dumps(request).encode()], list(fds))
                if not expect_reply:
                    return None
                reply = self.control.recv(1 << 16)
            except OSError as exc:
                raise SandboxError(f"the sandbox zygote stopped answering: {exc}") from exc
            if not reply:
                raise SandboxError("the sandbox zygote exited")
            return json.loads(reply)


def anonymous_memory(pid: int) -> int:
    """A process's anonymous resident memory (what a forked child may copy on write)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next((int(line.split()[1]) << 10 for line in handle if line.startswith("RssAnon:")), 0)
    except OSError:
        return 0


def missing_layers(layers: dict[str, str | None]) -> dict[str, str]:
    """Every layer a job lacks, with the reason (its error, or that it was not enabled)."""
    return {name: layers.get(name) or "not enabled in this configuration"
            for name in confine.ALL_LAYERS if name not in layers or layers[name] is not None}


class CappedBuffer:
    """Keeps the first ``cap`` bytes written and counts the rest."""

    def __init__(self, cap: int):
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0
        self.taken = 0

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        self.data += chunk[:max(room, 0)]
        self.dropped += max(len(chunk) - max(room, 0), 0)

    def take(self) -> bytes:
        fresh = bytes(self.data[self.taken:])
        self.taken = len(self.data)
        return fresh

    def text_since(self, position: int) -> str:
        return bytes(self.data[position:]).decode("utf-8", "replace")


class Job:
    """One confined process running one submission; requests go one at a time."""

    def __init__(self, sandbox: Sandbox, pid: int, channel: socket.socket, stdout_fd: int, stderr_fd: int,
                 limits: JobLimits, cgroup: cgroups.Cgroup | None = None):
        self.sandbox = sandbox
        self.pid = pid
        self.cgroup = cgroup
        self.cpu_clock = False   # the job's CPU time is read from its cgroup (all its processes)
        self.oom_watch = False   # an OOM kill in its memory cgroup ends it with the memory verdict
        self.cpu_deadline: float | None = None  # CPU seconds (the cgroup's clock) past which requests time out
        self.channel = channel
        self.limits = limits
        self.caps = limits.caps()
        self.started = time.monotonic()
        self.deadline = self.started + limits.wall_s
        self.streams = {stdout_fd: CappedBuffer(limits.output_kb << 10), stderr_fd: CappedBuffer(limits.output_kb << 10)}
        self.stdout, self.stderr = self.streams[stdout_fd], self.streams[stderr_fd]
        self.selector = selectors.DefaultSelector()
        self.selector.register(channel, selectors.EVENT_READ)
        for fd in self.streams:
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ)
        self.reader = wire.FrameReader(self.caps)
        self.layers: dict[str, str | None] = {}
        self.closed = False
        self.exit_status: int | None = None
        self.cpu_s = 0.0         # the job's process, as the zygote measured it when reaping it
        self.group_cpu_s = 0.0   # every process of the job, from its cgroup (when it has one)
        self.oom_kills = 0

    def __enter__(self) -> "Job":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_budget(self, cpu_s: float, backstop: float = 1.0, not_after: float = float("inf")) -> None:
        """Budget the next requests: they time out once the job has used ``cpu_s`` more CPU
        seconds (all its processes, read from its cgroup), or ``cpu_s * backstop`` seconds of
        wall clock have passed (a sleeping, waiting or starved job), and never past
        ``not_after`` or the job's own wall-clock budget.  Without a cgroup to read the CPU
        time from, the wall clock judges at ``cpu_s``."""
        now = time.monotonic()
        if self.cpu_clock:
            self.cpu_deadline = self._group_cpu() + cpu_s
            wall = now + cpu_s * backstop
        else:
            self.cpu_deadline, wall = None, now + cpu_s
        self.deadline = min(wall, not_after, self.started + self.limits.wall_s)

    # ------------------------------------------------------------------ protocol
    def wait_ready(self) -> None:
        try:
            header, _blobs = self._await(time.monotonic() + READY_TIMEOUT_S)
        except JobDied as died:
            if self.exit_status is not None and os.WIFEXITED(self.exit_status) \
                    and os.WEXITSTATUS(self.exit_status) == EXIT_SETUP_FAILED:
                raise SandboxError("the job could not be confined (building its root failed)") from None
            raise SandboxError(f"the job did not start: {render(died.detail)}") from None
        self.layers = header.get("layers", {})
        self.cpu_clock = self.cgroup is not None and "cpu_cgroup" in self.layers and self.layers["cpu_cgroup"] is None
        self.oom_watch = self.cgroup is not None and "memory_cgroup" in self.layers \
            and self.layers["memory_cgroup"] is None

    def missing_layers(self) -> dict[str, str]:
        return missing_layers(self.layers)

    def request(self, header: dict, blobs: list = (), timeout_s: float | None = None) -> tuple[dict, list]:
        """Send one request and wait for its answer, at most ``timeout_s`` and never past the
        job's wall-clock budget.  Raises ``JobDied`` when the job ends first."""
        deadline = self.deadline if timeout_s is None else min(self.deadline, time.monotonic() + timeout_s)
        try:
            self.channel.settimeout(max(deadline - time.monotonic(), 0.001))
            wire.send(self.channel, header, blobs)
        except (socket.timeout, OSError):
            self._died_while_sending(deadline)
        return self._await(deadline)

    def _died_while_sending(self, deadline: float):
        self._check_limits(deadline)
        return self._ended()

    def _await(self, deadline: float) -> tuple[dict, list]:
        self.channel.setblocking(False)
        while True:
            remaining = self._check_limits(deadline)
            waited = min(remaining, CPU_POLL_S) if self.cpu_clock or self.oom_watch else remaining
            for key, _events in self.selector.select(waited):
                if key.fileobj is self.channel:
                    message = self._read_channel()
                    if message is not None:
                        self._drain_streams()
                        self._check_memory()  # a process killed for memory while it answered
                        return message
                else:
                    self._read_stream(key.fd)

    def _check_limits(self, deadline: float) -> float:
        """Kill the job and raise ``JobDied`` when it ran out of time (its CPU time, or the wall
        clock) or had a process killed for memory; else return the wall-clock time left."""
        self._check_memory()
        if self.cpu_clock:
            used = self._group_cpu()
            if used >= self.limits.cpu_s or (self.cpu_deadline is not None and used >= self.cpu_deadline):
                self.kill()
                raise JobDied("timeout", CPU_LIMIT_REACHED)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.kill()
            if self.cpu_clock:
                raise JobDied("timeout", _("the time limit was reached: the wall clock ran out while the submission "
                                           "used {cpu_s:.1f} s of CPU (was it waiting or sleeping?)",
                                           cpu_s=self.group_cpu_s))
            raise JobDied("timeout", _("the time limit was reached"))
        return remaining

    def _check_memory(self) -> None:
        if self.oom_watch and self.cgroup.oom_kills():
            self.kill()
            raise JobDied(*describe_exit(self.exit_status, oom_killed=True))

    def _group_cpu(self) -> float:
        if not self.closed:
            self.group_cpu_s = self.cgroup.cpu_s()
        return self.group_cpu_s

    def _read_channel(self):
        try:
            chunk = self.channel.recv(1 << 20)
        except BlockingIOError:
            return None
        except OSError:
            chunk = b""
        if not chunk:
            self._ended()
        try:
            return self.reader.feed(chunk)
        except wire.ProtocolError as exc:
            self.kill()
            raise JobDied("crashed", _("the submission corrupted the grading channel ({problem})",
                                       problem=str(exc))) from None

    def _read_stream(self, fd: int) -> bool:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        if not chunk:
            self.selector.unregister(fd)
            return False
        self.streams[fd].add(chunk)
        return True

    def _drain_streams(self) -> None:
        for fd in list(self.streams):
            while fd in self.selector.get_map() and self._read_stream(fd):
                pass

    def _ended(self):
        """The channel closed: the job's process is gone.  Find out how it ended."""
        self._drain_streams()
        status, cpu_s = self._finish(wait=True)
        raise JobDied(*describe_exit(status, max(cpu_s, self.group_cpu_s) >= self.limits.cpu_s, self.oom_kills > 0))

    # ------------------------------------------------------------------ output and end
    def output_position(self) -> tuple[int, int]:
        return len(self.stdout.data), len(self.stderr.data)

    def output_since(self, position: tuple[int, int]) -> tuple[str, str]:
        """What was printed after ``position``, without taking it from the result."""
        return self.stdout.text_since(position[0]), self.stderr.text_since(position[1])

    def take_output(self) -> tuple[str, str]:
        return (self.stdout.take().decode("utf-8", "replace"), self.stderr.take().decode("utf-8", "replace"))

    def kill(self) -> None:
        self._finish(wait=False)

    def _finish(self, wait: bool) -> tuple[int | None, float]:
        if not self.closed:
            self.closed = True
            try:
                self.exit_status, self.cpu_s = self.sandbox.finish(self.pid, EOF_GRACE_S, wait)
            finally:
                self._release_cgroup()
                self._release()
        return self.exit_status, self.cpu_s

    def close(self) -> None:
        self._finish(wait=False)

    def _release_cgroup(self) -> None:
        """Read the job's last CPU time and OOM kills from its cgroup, then remove it."""
        if self.cgroup is None:
            return
        try:
            if self.cpu_clock:
                self.group_cpu_s = self.cgroup.cpu_s()
            if self.oom_watch:
                self.oom_kills = self.cgroup.oom_kills()
        except OSError:
            pass
        finally:
            if self.sandbox.cgroups is not None:
                self.sandbox.cgroups.release(self.cgroup)

    def _release(self) -> None:
        self.selector.close()
        self.channel.close()
        for fd in self.streams:
            os.close(fd)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


def describe_exit(status: int | None, cpu_limit_reached: bool = False,
                  oom_killed: bool = False) -> tuple[str, Message]:
    """Map the job's wait status to a verdict kind and a sentence for the student (a catalogue
    message).

    The job is PID 1 of its namespace, where the kernel drops SIGXCPU: the CPU limit shows
    as SIGKILL at the hard limit, recognised by the CPU time the job used.  A process of the
    job killed by the kernel's OOM killer (its memory cgroup counts them) is the memory limit."""
    if cpu_limit_reached:
        return "timeout", CPU_LIMIT_REACHED
    if oom_killed:
        return "memory", _("the memory limit was reached: the kernel killed the submission's process for using too "
                           "much")
    if status is None:
        return "crashed", _("the submission's process ended unexpectedly")
    if os.WIFEXITED(status):
        return "crashed", _("the submission exited (status {status}) before answering the checker",
                            status=os.WEXITSTATUS(status))
    sig = os.WTERMSIG(status)
    if sig == signal.SIGXCPU:
        return "timeout", CPU_LIMIT_REACHED
    if sig == signal.SIGXFSZ:
        return "crashed", _("the file size limit was exceeded")
    if sig in (signal.SIGSEGV, signal.SIGBUS):
        return "crashed", _("the submission's process crashed ({signal}); out of memory in native code?",
                            signal=signal.Signals(sig).name)
    if sig == signal.SIGKILL:
        return "crashed", _("the submission's process was killed (SIGKILL: a resource limit)")
    name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
    return "crashed", _("the submission's process was killed by {signal}", signal=name)
