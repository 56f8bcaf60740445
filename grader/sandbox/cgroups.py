"""Control groups: a CPU share per slot, a memory limit and a CPU clock per job.

cgroup v2 where its hierarchy offers the ``cpu`` and ``memory`` controllers to this process's
cgroup, else the v1 hierarchies (``cpu``, ``cpuacct``, ``memory``), chosen by what is mounted
(``/proc/self/mountinfo``).  Everything is created under the cgroup this process started in
(its *parent*; our own ``torchgrade-*`` groups are skipped when finding it):

    torchgrade-slot-<N>/             a worker slot: CPU weight (and an optional quota), so that
                                     slots share the CPU fairly whatever their jobs fork
    torchgrade-slot-<N>/zygote       the slot's warm interpreter
    torchgrade-slot-<N>/job-<id>     one job: memory limit with swap off, its CPU time, its OOM kills
    torchgrade-worker-<N>/           the grading process itself (``limit_worker_memory``)

The trusted side creates, reads and removes them (as root); a job moves itself into its group
before any student code runs (``confine.join_cgroups``).  No library: the two layouts are a
handful of file writes, and the maintained package (cgroupspy) knows v1 only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import itertools
import os
import signal
import time

PREFIX = "torchgrade-"
LAYERS = ("cpu_cgroup", "memory_cgroup")
# What each layer needs: v1 hierarchies by controller name; v2 needs the controller enabled.
NEEDS_V1 = {"cpu_cgroup": ("cpu", "cpuacct"), "memory_cgroup": ("memory",)}
NEEDS_V2 = {"cpu_cgroup": "cpu", "memory_cgroup": "memory"}
CFS_PERIOD_US = 100_000
REMOVE_WAIT_S = 0.5
_job_numbers = itertools.count(1)


@dataclasses.dataclass(frozen=True)
class Host:
    """Where this host keeps cgroups: the version, and per controller the directory of the
    parent cgroup (in v2 one directory for all); ``missing`` says why a layer cannot be had."""

    version: int
    parents: dict[str, str]
    missing: dict[str, str]

    @classmethod
    def detect(cls, mountinfo: str | None = None, own: str | None = None) -> "Host":
        mountinfo = _read("/proc/self/mountinfo") if mountinfo is None else mountinfo
        own = _read("/proc/self/cgroup") if own is None else own
        mounts = _cgroup_mounts(mountinfo)
        paths = _own_paths(own)
        if os.geteuid() != 0:
            return cls(0, {}, dict.fromkeys(LAYERS, "cgroups need root"))
        v2 = _v2_parent(mounts, paths)
        offered = _controllers(v2) if v2 is not None else set()
        if {"cpu", "memory"} <= offered:
            return cls(2, dict.fromkeys(("cpu", "cpuacct", "memory"), v2), {})
        parents = {}
        for controller in ("cpu", "cpuacct", "memory"):
            parent = _v1_parent(mounts, paths, controller)
            if parent is not None and os.access(parent, os.W_OK):
                parents[controller] = parent
        v2_note = f" (cgroup v2 at {v2} offers {' '.join(sorted(offered)) or 'no controllers'})" if v2 else ""
        missing = {layer: f"no writable cgroup hierarchy for {', '.join(c for c in needs if c not in parents)}{v2_note}"
                   for layer, needs in NEEDS_V1.items() if not all(c in parents for c in needs)}
        return cls(1, parents, missing)

    def available(self, layer: str) -> bool:
        return layer not in self.missing

    def group(self, relative: str, controllers: tuple[str, ...] = ("cpu", "cpuacct", "memory")) -> "Cgroup":
        return Cgroup(self.version, {c: os.path.join(self.parents[c], relative) for c in controllers
                                     if c in self.parents})

    def enable(self, directory: str) -> None:
        """v2: let the children of ``directory`` use the cpu and memory controllers.  A cgroup
        that holds processes cannot (the no-internal-process rule): those of the parent move
        to a leaf of their own first, as a container's init does with its delegated cgroup."""
        if self.version != 2:
            return
        try:
            _write(os.path.join(directory, "cgroup.subtree_control"), "+cpu +memory")
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            leaf = os.path.join(directory, PREFIX + "supervisor")
            os.makedirs(leaf, exist_ok=True)
            for pid in _read(os.path.join(directory, "cgroup.procs")).split():
                with contextlib.suppress(OSError):  # exited meanwhile
                    _write(os.path.join(leaf, "cgroup.procs"), pid)
            _write(os.path.join(directory, "cgroup.subtree_control"), "+cpu +memory")


@dataclasses.dataclass(frozen=True)
class Cgroup:
    """One cgroup: its directory in each hierarchy it lives in (keyed by controller)."""

    version: int
    dirs: dict[str, str]

    def create(self) -> None:
        for directory in set(self.dirs.values()):
            os.makedirs(directory, exist_ok=True)

    def set(self, controller: str, name: str, value: str) -> None:
        _write(os.path.join(self.dirs[controller], name), value)

    def limit_memory(self, memory_bytes: int, oom_group: bool = False) -> None:
        """At most ``memory_bytes`` of memory and no swap; with ``oom_group`` (v2) an OOM kill
        takes every process of the group."""
        limit = str(memory_bytes)
        if self.version == 2:
            self.set("memory", "memory.max", limit)
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1" if oom_group else "0")):
                if os.path.exists(os.path.join(self.dirs["memory"], name)):
                    self.set("memory", name, value)
        else:
            self.set("memory", "memory.limit_in_bytes", limit)
            if os.path.exists(os.path.join(self.dirs["memory"], "memory.memsw.limit_in_bytes")):
                self.set("memory", "memory.memsw.limit_in_bytes", limit)

    def procs(self, layer: str) -> list[str]:
        """The ``cgroup.procs`` files a process writes itself into to get ``layer``."""
        controllers = NEEDS_V1[layer] if self.version == 1 else (NEEDS_V2[layer],)
        return sorted({os.path.join(self.dirs[c], "cgroup.procs") for c in controllers})

    def cpu_s(self) -> float:
        """CPU seconds used by every process that was ever in it."""
        if self.version == 2:
            return _field(os.path.join(self.dirs["cpu"], "cpu.stat"), "usage_usec") / 1e6
        return int(_read(os.path.join(self.dirs["cpuacct"], "cpuacct.usage"))) / 1e9

    def oom_kills(self) -> int:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        return _field(os.path.join(self.dirs["memory"], name), "oom_kill")

    def pids(self) -> set[int]:
        found = set()
        for directory in set(self.dirs.values()):
            with contextlib.suppress(FileNotFoundError):
                found |= {int(pid) for pid in _read(os.path.join(directory, "cgroup.procs")).split()}
        return found

    def kill(self) -> None:
        """SIGKILL every process in it.  Each pid is pinned by a pidfd and checked to be still
        in the group before it is signalled, so a recycled pid is never hit."""
        for pid in self.pids():
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                continue
            try:
                if pid in self.pids():
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except OSError:
                pass
            finally:
                os.close(pidfd)

    def remove(self, wait_s: float = REMOVE_WAIT_S) -> bool:
        """Kill what is left in it and remove it; False when it is still busy after ``wait_s``."""
        deadline = time.monotonic() + wait_s
        for directory in set(self.dirs.values()):
            while True:
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        return False
                self.kill()
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.005)
        return True

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self.dirs.values())


class SlotCgroups:
    """The cgroups of one sandbox slot: the slot (CPU weight), its zygote and its jobs."""

    def __init__(self, slot: int, cpu_weight: int = 100, cpu_cores: float = 0.0, host: Host | None = None):
        self.host = host or Host.detect()
        self.name = f"{PREFIX}slot-{slot}"
        self.cpu_weight = cpu_weight
        self.cpu_cores = cpu_cores
        self.missing = dict(self.host.missing)
        self.slot: Cgroup | None = None
        self.zygote: Cgroup | None = None
        self.pending: list[Cgroup] = []  # removal failed (still busy): tried again later

    def setup(self) -> "SlotCgroups":
        """Create the slot's cgroup with its CPU weight and quota, and the zygote's."""
        if len(self.missing) == len(LAYERS):
            return self
        try:
            for parent in set(self.host.parents.values()):
                self.host.enable(parent)
            self.slot = self.host.group(self.name)
            self.slot.create()
            for directory in set(self.slot.dirs.values()):
                self.host.enable(directory)
            if self.host.available("cpu_cgroup"):
                self._set_cpu(self.slot)
            self.zygote = self.host.group(f"{self.name}/zygote")
            self.zygote.create()
        except OSError as exc:
            self.missing = dict.fromkeys(LAYERS, f"cannot set up the slot's cgroup: {exc.strerror or exc}")
            self.slot = self.zygote = None
        for stale in self._jobs(lambda pid: not os.path.exists(f"/proc/{pid}")):
            stale.remove(wait_s=0)  # a dead worker's (its jobs died with its zygote)
        return self

    def _set_cpu(self, group: Cgroup) -> None:
        if self.host.version == 2:
            group.set("cpu", "cpu.weight", str(self.cpu_weight))
            quota = f"{int(self.cpu_cores * CFS_PERIOD_US)} {CFS_PERIOD_US}" if self.cpu_cores else "max"
            group.set("cpu", "cpu.max", quota)
        else:
            group.set("cpu", "cpu.shares", str(max(2, self.cpu_weight * 1024 // 100)))
            group.set("cpu", "cpu.cfs_period_us", str(CFS_PERIOD_US))
            group.set("cpu", "cpu.cfs_quota_us", str(int(self.cpu_cores * CFS_PERIOD_US) if self.cpu_cores else -1))

    def _jobs(self, made_by) -> list[Cgroup]:
        """The job groups in this slot made by a process whose pid passes ``made_by``."""
        if self.slot is None:
            return []
        names = set()
        for directory in set(self.slot.dirs.values()):
            with contextlib.suppress(OSError):
                names |= {name for name in os.listdir(directory) if name.startswith("job-")}
        return [self.host.group(f"{self.name}/{name}") for name in sorted(names)
                if name.split("-")[1].isdigit() and made_by(int(name.split("-")[1]))]

    def placement(self, group: Cgroup | None, error: str | None = None) -> dict[str, dict]:
        """Per layer, where a job goes to get it, or why it cannot."""
        return {layer: {"error": self.missing.get(layer) or error or "no cgroup for this job"}
                if layer in self.missing or group is None else {"procs": group.procs(layer)} for layer in LAYERS}

    def zygote_procs(self) -> list[str]:
        if self.zygote is None:
            return []
        return sorted({path for layer in LAYERS if layer not in self.missing for path in self.zygote.procs(layer)})

    def job(self, memory_bytes: int) -> Cgroup | None:
        """A fresh cgroup for one job: ``memory_bytes`` of memory, no swap."""
        self.sweep()
        if self.slot is None:
            return None
        group = self.host.group(f"{self.name}/job-{os.getpid()}-{next(_job_numbers)}")
        group.create()
        try:
            if self.host.available("memory_cgroup"):
                group.limit_memory(memory_bytes, oom_group=True)
        except OSError:
            group.remove(wait_s=0)
            raise
        return group

    def release(self, group: Cgroup | None) -> None:
        """Remove a finished job's group; one still busy (its processes are slow to exit) is
        kept and removed by a later ``sweep``."""
        if group is not None and not group.remove():
            self.pending.append(group)

    def sweep(self) -> list[Cgroup]:
        """Remove the groups whose removal failed before; returns those still busy."""
        self.pending = [group for group in self.pending if not group.remove(wait_s=0)]
        return self.pending

    def close(self) -> None:
        """Remove every group this slot made (call once the zygote is gone)."""
        for group in [*self.pending, *self._jobs(lambda pid: pid == os.getpid()), self.zygote]:
            if group is not None:
                group.remove()
        if self.slot is not None:
            self.slot.remove(wait_s=0)  # busy while another process uses the same slot
        self.pending = []
        self.slot = self.zygote = None


def limit_worker_memory(slot: int, memory_mb: int, host: Host | None = None) -> str | None:
    """Put the calling process (a grading worker) into a cgroup of its own limited to
    ``memory_mb``, swap off.  Its children inherit it until they move (the zygote does, to its
    slot's group).  Returns None, or why it could not.  Memory it already holds stays counted
    where it was: call it early.  No rlimit is used where there is no cgroup: RLIMIT_AS counts
    the address space torch and CUDA reserve, and an exec'd zygote would inherit it."""
    host = host or Host.detect()
    if not host.available("memory_cgroup"):
        return host.missing["memory_cgroup"]
    try:
        host.enable(host.parents["memory"])
        group = host.group(f"{PREFIX}worker-{slot}", ("memory",))
        group.create()
        group.limit_memory(memory_mb << 20)
        for path in group.procs("memory_cgroup"):
            _write(path, "0")
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


# ---------------------------------------------------------------------- reading the host
def _cgroup_mounts(mountinfo: str) -> list[tuple[str, str, str, set[str]]]:
    """(filesystem type, root inside the hierarchy, mount point, v1 controllers) of each cgroup mount."""
    mounts = []
    for line in mountinfo.splitlines():
        fields, _, tail = line.partition(" - ")
        fields, tail = fields.split(), tail.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        options = set(tail[2].split(","))
        mounts.append((tail[0], _unescape(fields[3]), _unescape(fields[4]), options))
    return mounts


def _own_paths(own: str) -> dict[str, str]:
    """Controller (or "" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths = {}
    for line in own.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _directory(mount_root: str, mount_point: str, path: str) -> str | None:
    """The directory of cgroup ``path``'s parent (our own groups skipped) under a mount."""
    parts = [p for p in path.split("/") if p]
    while parts and parts[-1].startswith(PREFIX):
        parts.pop()
    root = [p for p in mount_root.split("/") if p]
    if parts[:len(root)] != root:
        return None  # our cgroup is outside what this mount shows
    return os.path.join(mount_point, *parts[len(root):])


def _v2_parent(mounts, paths: dict[str, str]) -> str | None:
    for fstype, root, point, _ in mounts:
        if fstype == "cgroup2" and "" in paths:
            return _directory(root, point, paths[""])
    return None


def _v1_parent(mounts, paths: dict[str, str], controller: str) -> str | None:
    for fstype, root, point, options in mounts:
        if fstype == "cgroup" and controller in options and controller in paths:
            return _directory(root, point, paths[controller])
    return None


def _controllers(directory: str) -> set[str]:
    try:
        return set(_read(os.path.join(directory, "cgroup.controllers")).split())
    except OSError:
        return set()


def _unescape(text: str) -> str:
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def _field(path: str, key: str) -> int:
    for line in _read(path).splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)
