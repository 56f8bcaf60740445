"""The zygote: a warm interpreter that forks one confined process per job.

Started by exec (``python -m grader.sandbox.zygote``) with a fixed, minimal environment, so
it holds no credentials, references or hidden data.  It imports torch, torchvision and numpy
once, warms their lazy imports on one thread, never initialises CUDA, then serves the
checker's control socket:

    spawn  {spec} + fds [channel, stdout, stderr]  ->  {"pid": job pid}
    finish {"pid", "grace_s", "wait": true}        ->  {"status": wait status or null, "cpu_s": CPU seconds}
    finish {"pid", "wait": false}                  ->  (no reply: the job is killed and reaped later)

Each job is one process, forked as PID 1 of its own PID namespace; it enters its other
namespaces itself.  Forking a process that holds torch costs about 10 ms on a VM, so the
zygote keeps one *spare* forked ahead, which has already built the read-only part of its
root and waits for a job.  On ``spawn`` the spare
receives the job's spec and descriptors, mounts the job's data and writable tmpfs, pivots
into its root, applies its limits, drops to the slot's uid, installs its seccomp filter,
and only then runs student code.  The next spare is forked while the zygote waits for work.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

from grader.sandbox import confine, runner, seccomp, wire

CHANNEL_FD = 3
EXIT_SETUP_FAILED = 71  # the job could not be confined as asked: an infrastructure fault
CHILD_ENV_BASE = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": "/tmp", "MPLBACKEND": "Agg"}


def warm_up() -> None:
    """Import and exercise what homework uses, so that no job pays for it."""
    import numpy
    import PIL.Image
    import torch
    import torch.nn.functional
    import torch.utils.data
    import torchvision.transforms as transforms

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    layer = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.01, momentum=0.9)
    loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(layer(torch.ones(4, 2))).squeeze(), torch.ones(4))
    loss.backward()
    optimizer.step()
    x = torch.tensor(3.0, requires_grad=True)
    torch.autograd.grad(x ** 2, x, create_graph=True)
    torch.normal(torch.zeros(2), torch.ones(2))
    pipeline = transforms.Compose([transforms.Resize((32, 32)), transforms.RandomCrop(32, padding=4),
                                   transforms.ToTensor(), transforms.Normalize([0.5] * 3, [0.5] * 3)])
    pipeline(PIL.Image.new("RGB", (40, 30)))
    list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 1)), batch_size=2))
    numpy.random.default_rng(0).normal(size=3)
    torch.manual_seed(0)  # its first call costs milliseconds
    warm_plotting()


def warm_plotting() -> None:
    """``import matplotlib.pyplot as plt`` is in most course notebooks: imported here, with the
    non-GUI Agg backend (``plt.show()`` draws nothing, figures stay in memory until the job
    ends), its font cache built once in a folder removed afterwards."""
    cache = tempfile.mkdtemp(prefix="torchgrade-matplotlib-")
    os.environ["MPLCONFIGDIR"] = cache
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        plt.close(plt.figure())
    finally:
        del os.environ["MPLCONFIGDIR"]
        shutil.rmtree(cache, ignore_errors=True)


class Zygote:
    def __init__(self, control: socket.socket, config: dict):
        self.control = control
        self.config = config
        self.private_dir = tempfile.mkdtemp(prefix="torchgrade-zygote-")
        os.chmod(self.private_dir, 0o711)
        config["new_root"] = os.path.join(self.private_dir, "root")
        os.mkdir(config["new_root"], 0o700)
        self.pid_namespaces = PidNamespaces(config["namespaces"])
        config["namespaces"] = [name for name in config["namespaces"] if name != "pid_namespace"]
        self.jobs: dict[int, str | None] = {}  # job pid -> host work directory, if any
        self.exited: dict[int, tuple[int, float]] = {}  # pid -> (wait status, CPU seconds), reaped at once
        self.abandoned: set[int] = set()       # killed without waiting: forgotten once reaped
        self.spare: tuple[int, socket.socket, str | None] | None = None

    def serve(self) -> None:
        signal.signal(signal.SIGCHLD, self._reap)
        while True:
            if self.spare is None:
                self._fork_spare()
            message, fds, _, _ = socket.recv_fds(self.control, 1 << 20, 8)
            if not message:
                return
            request = json.loads(message)
            if request["op"] == "spawn":
                reply = {"pid": self.spawn(request["spec"], fds)}
            else:
                reply = self.finish(request["pid"], request["grace_s"], request["wait"])
            for fd in fds:
                os.close(fd)
            if request["op"] == "spawn" or request["wait"]:
                self.control.send(json.dumps(reply).encode())
            self._forget_abandoned()

    def _fork_spare(self) -> None:
        workdir = None
        if "mount_namespace" not in self.config["namespaces"]:
            workdir = tempfile.mkdtemp(dir=self.private_dir)
            os.chown(workdir, self.config["uid"], self.config["uid"])
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = self.pid_namespaces.fork()
        if pid == 0:
            self.control.close()
            ours.close()
            _run_confined(dict(self.config, host_workdir=workdir), theirs, self.pid_namespaces.outcome)
        theirs.close()
        self.spare = (pid, ours, workdir)

    def spawn(self, spec: dict, fds: list[int]) -> int:
        if self.spare is None:
            self._fork_spare()
        pid, activation, workdir = self.spare
        self.spare = None
        try:
            socket.send_fds(activation, [json.dumps(spec).encode()], fds)
        finally:
            activation.close()
        self.jobs[pid] = workdir
        return pid

    def finish(self, pid: int, grace_s: float, wait: bool) -> dict:
        """End a job.  With ``wait``, give it ``grace_s`` to exit by itself and return its
        wait status and CPU time; without, kill it and let it be reaped in the background."""
        if pid not in self.jobs:
            return {"status": None, "cpu_s": 0.0}
        if wait:
            self._await_exit(pid, time.monotonic() + grace_s)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # no reaping between check and kill
        try:
            if pid not in self.exited:
                os.kill(pid, signal.SIGKILL)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        if not self.pid_namespaces.enabled:
            confine.kill_all_of_uid(self.config["uid"])
        if not wait:
            self.abandoned.add(pid)
            return {}
        self._await_exit(pid, float("inf"))
        self._forget(pid)
        status, cpu_s = self.exited.pop(pid)
        return {"status": status, "cpu_s": cpu_s}

    def _reap(self, *_) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.exited[pid] = (status, usage.ru_utime + usage.ru_stime)

    def _await_exit(self, pid: int, deadline: float) -> None:
        while pid not in self.exited and time.monotonic() < deadline:
            time.sleep(0.002)  # SIGCHLD interrupts the sleep and reaps

    def _forget_abandoned(self) -> None:
        for pid in [pid for pid in self.abandoned if pid in self.exited]:
            self.abandoned.discard(pid)
            del self.exited[pid]
            self._forget(pid)

    def _forget(self, pid: int) -> None:
        workdir = self.jobs.pop(pid)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


class PidNamespaces:
    """Forks each job as PID 1 of a new PID namespace, so that killing it kills everything
    it started.  ``unshare(CLONE_NEWPID)`` only moves the zygote's future children, so the
    zygote enters a fresh one before each fork and returns to its own right after."""

    def __init__(self, wanted: list[str]):
        self.own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.outcome: dict[str, str | None] = {}
        if "pid_namespace" in wanted:
            self.outcome["pid_namespace"] = self._probe()
        self.enabled = self.outcome.get("pid_namespace", "not wanted") is None

    def _probe(self) -> str | None:
        try:
            pid = self.fork(force=True)
        except OSError as exc:
            return exc.strerror
        if pid == 0:
            os._exit(0 if os.getpid() == 1 else 1)
        _, status = os.waitpid(pid, 0)
        return None if os.waitstatus_to_exitcode(status) == 0 else "the job did not become PID 1"

    def fork(self, force: bool = False) -> int:
        if not (force or self.enabled):
            return os.fork()
        confine.unshare(confine.CLONE_NEWPID)
        try:
            return os.fork()
        finally:
            if os.getpid() != 1:
                confine.setns(self.own, confine.CLONE_NEWPID)


def _run_confined(config: dict, activation: socket.socket, pid_outcome: dict) -> None:
    """The job's process: prepare what does not depend on the job, wait for one, confine
    itself, serve the checker."""
    try:
        try:
            confine.set_parent_death_signal()
            outcome = dict(pid_outcome, **confine.unshare_namespaces(config["namespaces"]))
            applied = {name for name, error in outcome.items() if error is None}
            builder = _prepare_root(config) if "mount_namespace" in applied else None
            message, fds, _, _ = socket.recv_fds(activation, 1 << 20, 8)
            if not message:
                os._exit(0)
            activation.close()
            spec = dict(config, **json.loads(message))
            layers = _confine(spec, fds, outcome, applied, builder)
        except OSError:
            os._exit(EXIT_SETUP_FAILED)
        channel = socket.socket(fileno=CHANNEL_FD)
        wire.send(channel, {"ready": True, "layers": layers})
        runner.Runner(channel, spec["workdir"], wire.Caps(**spec["caps"])).serve()
        runner.Runner.flush_output()
    finally:
        os._exit(0)


def _prepare_root(config: dict) -> confine.RootBuilder:
    builder = confine.RootBuilder(config["new_root"], config["uid"])
    builder.prepare(config["readonly_paths"], config["devices"])
    return builder


def _confine(spec: dict, fds: list[int], outcome: dict, applied: set, builder) -> dict:
    layers: dict[str, str | None] = dict(outcome)
    for layer, placement in spec["cgroups"].items():  # first: what follows is charged to the job
        layers[layer] = placement["error"] if "error" in placement else _join(placement["procs"])
    address_space = confine.address_space_bytes()
    _move_fds(fds)
    if builder is not None:
        builder.finish(spec["data_mounts"], spec["limits"]["tmp_mb"], with_proc="pid_namespace" in applied)
        spec["workdir"] = confine.WORKDIR
        layers["readonly_root"] = None
    else:
        layers["readonly_root"] = "no mount namespace"
        spec["workdir"] = spec["host_workdir"]
    if "uts_namespace" in applied:
        socket.sethostname("sandbox")
    layers["rlimits"] = _try(lambda: confine.set_rlimits(spec["limits"], address_space))
    layers["unprivileged_uid"] = _try(lambda: confine.drop_privileges(spec["uid"]))
    layers["parent_death_signal"] = _try(confine.set_parent_death_signal)
    layers["seccomp"] = _try(seccomp.install)
    _reset_process_state(spec)
    return layers


def _move_fds(fds: list[int]) -> None:
    channel, stdout, stderr = fds
    null = os.open("/dev/null", os.O_RDONLY)
    for source, target in ((null, 0), (stdout, 1), (stderr, 2)):
        os.dup2(source, target)
    os.dup2(channel, CHANNEL_FD)
    os.closerange(CHANNEL_FD + 1, 1 << 16)


def _reset_process_state(spec: dict) -> None:
    os.environ.clear()
    os.environ.update(CHILD_ENV_BASE, HOME=spec["workdir"])
    if spec["workdir"] != confine.WORKDIR:
        os.environ["TMPDIR"] = spec["workdir"]
    tempfile.tempdir = None
    os.chdir(spec["workdir"])
    sys.argv = ["submission"]
    runner.seed_everything(spec["seed"])


def _join(procs_files: list[str]) -> str | None:
    return _try(lambda: confine.join_cgroups(procs_files))


def _try(step) -> str | None:
    try:
        step()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


class HangUpWatch:
    """The zygote lives as long as the checker's end of its control socket: once the checker
    exits, however it dies, the socket hangs up and the zygote exits (its jobs die by their
    parent-death signal).  While it serves, its own read sees the hang-up; while it warms up
    (seconds of imports), this thread does.  Not PR_SET_PDEATHSIG: that fires when the *thread*
    that started the zygote ends, not its process."""

    def __init__(self, control: socket.socket):
        self.control = control
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="hang-up", daemon=True)

    def start(self) -> "HangUpWatch":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.done.set()
        self.thread.join()  # no thread left once the zygote forks

    def _watch(self) -> None:
        poller = select.poll()
        poller.register(self.control.fileno(), select.POLLRDHUP)
        while not self.done.is_set():
            if poller.poll(100):
                os._exit(0)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    watch = HangUpWatch(control).start()
    config = json.loads(control.recv(1 << 20))
    with contextlib.suppress(OSError):  # the slot's cgroup, before the imports it is charged for
        confine.join_cgroups(config.get("cgroup_procs", []))
    warm_up()
    watch.stop()
    zygote = Zygote(control, config)
    import torch

    control.send(json.dumps({"ready": True, "torch": torch.__version__, "python": sys.version.split()[0]}).encode())
    zygote.serve()


if __name__ == "__main__":
    main()
