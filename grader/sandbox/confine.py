"""The confinement layers a job's process puts on itself before any student code runs.

Every function here runs in the forked job process (as root, before it drops to the slot's
uid).  Each layer is applied independently; a layer the host refuses is recorded, not fatal,
and the trusted side decides whether the job may run without it (``Layers``).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP = 0x20000000, 0x40000000, 0x02000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 0x2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4

NAMESPACES = {
    "mount_namespace": CLONE_NEWNS,
    "pid_namespace": CLONE_NEWPID,
    "net_namespace": CLONE_NEWNET,
    "ipc_namespace": CLONE_NEWIPC,
    "uts_namespace": CLONE_NEWUTS,
}
# Every layer a job can have; docs/SANDBOX.md describes each.
ALL_LAYERS = (*NAMESPACES, "readonly_root", "unprivileged_uid", "seccomp", "rlimits", "parent_death_signal",
              "cpu_cgroup", "memory_cgroup")

WORKDIR = "/home/student"
DATADIR = "/data"
DEVICES = ("null", "zero", "full", "random", "urandom")
WRITABLE = ((WORKDIR, 0o700), ("/tmp", 0o1777), ("/dev/shm", 0o1777))  # each a size-capped tmpfs
# Files per writable tmpfs.  Its size cap counts data only: each empty file still costs kernel
# memory (inode, dentry), which neither that cap nor RLIMIT_AS bounds.
TMPFS_MAX_FILES = 16384
SANDBOX_ETC_PASSWD = "root:x:0:0::/root:/bin/sh\nstudent:x:{uid}:{uid}::" + WORKDIR + ":/bin/sh\n"
SANDBOX_ETC_GROUP = "root:x:0:\nstudent:x:{uid}:\n"

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, flags: int) -> None:
    _check(_libc.setns(fd, flags), "setns")


def unshare_namespaces(wanted: list[str]) -> dict[str, str | None]:
    """Enter new namespaces one by one; returns layer -> None (applied) or the error."""
    outcome: dict[str, str | None] = {}
    for name in wanted:
        outcome[name] = None if _libc.unshare(NAMESPACES[name]) == 0 else os.strerror(ctypes.get_errno())
    return outcome


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = (lambda s: s.encode() if s is not None else None)
    _check(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {source or fstype} on {target}")


class RootBuilder:
    """Builds a fresh root in a tmpfs: read-only binds of the interpreter and libraries,
    size-capped writable tmpfs for the work directory, /tmp and /dev/shm, and nothing else.

    ``prepare`` does the part that is the same for every job (done ahead, in a spare);
    ``finish`` adds the job's data and writable space and pivots into the new root.
    """

    def __init__(self, new_root: str, uid: int):
        self.new_root = new_root
        self.uid = uid

    def inside(self, path: str) -> str:
        return os.path.join(self.new_root, path.lstrip("/"))

    def prepare(self, readonly_paths: list[str], devices: list[str]) -> None:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _mount("tmpfs", self.new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
        self.make_dev(devices)
        # The writable tmpfs come before the binds: an interpreter installed under /tmp (a CI
        # checkout, say) is then bound on top of /tmp instead of hidden beneath it.
        for path, mode in WRITABLE:
            self.writable_tmpfs(path, mode)
        for path in readonly_paths:
            self.bind_readonly(path, path)
        self.make_etc()

    def finish(self, data_mounts: dict[str, str], tmp_mb: int, with_proc: bool) -> None:
        for target, source in data_mounts.items():
            self.bind_readonly(source, target)
        for path, _ in WRITABLE:
            self.resize_tmpfs(path, tmp_mb)
        if with_proc:
            os.makedirs(self.inside("/proc"), mode=0o555)
            _mount("proc", self.inside("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        self.pivot()

    def bind_readonly(self, source: str, target: str) -> None:
        if os.path.islink(source) and os.path.dirname(source) == "/":
            os.symlink(os.readlink(source), self.inside(target))
            return
        destination = self.inside(target)
        if os.path.isdir(source):
            os.makedirs(destination, mode=0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(destination), mode=0o755, exist_ok=True)
            open(destination, "a").close()
        _mount(source, destination, None, MS_BIND | MS_REC)
        _mount(None, destination, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)

    def make_etc(self) -> None:
        os.makedirs(self.inside("/etc"), mode=0o755, exist_ok=True)
        for name, text in (("passwd", SANDBOX_ETC_PASSWD), ("group", SANDBOX_ETC_GROUP)):
            with open(self.inside(f"/etc/{name}"), "w") as handle:
                handle.write(text.format(uid=self.uid))
        for name in ("ld.so.cache", "localtime"):
            if os.path.exists(f"/etc/{name}"):
                self.bind_readonly(os.path.realpath(f"/etc/{name}"), f"/etc/{name}")

    def make_dev(self, extra_devices: list[str]) -> None:
        os.makedirs(self.inside("/dev"), mode=0o755, exist_ok=True)
        for device in (*(f"/dev/{name}" for name in DEVICES), *extra_devices):
            destination = self.inside(device)
            open(destination, "a").close()
            _mount(device, destination, None, MS_BIND)

    def writable_tmpfs(self, path: str, mode: int) -> None:
        """Mounted ahead of the job with a token size; ``resize_tmpfs`` gives it the job's."""
        destination = self.inside(path)
        os.makedirs(destination, mode=0o755, exist_ok=True)
        _mount("tmpfs", destination, "tmpfs", MS_NOSUID | MS_NODEV,
               f"size=1m,nr_inodes={TMPFS_MAX_FILES},mode={mode:o},uid={self.uid},gid={self.uid}")

    def resize_tmpfs(self, path: str, size_mb: int) -> None:
        _mount(None, self.inside(path), None, MS_REMOUNT | MS_NOSUID | MS_NODEV,
               f"size={size_mb}m,nr_inodes={TMPFS_MAX_FILES}")

    def pivot(self) -> None:
        old_root = self.inside("/.old_root")
        os.mkdir(old_root)
        _check(_libc.syscall(155 if os.uname().machine == "x86_64" else 41,
                             self.new_root.encode(), old_root.encode()), "pivot_root")
        os.chdir("/")
        _check(_libc.umount2(b"/.old_root", MNT_DETACH), "umount old root")
        os.rmdir("/.old_root")
        _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def address_space_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def set_rlimits(limits: dict, address_space_base: int) -> None:
    """Apply the job's resource limits.  ``memory_mb`` is on top of what the process
    already maps (torch's libraries alone map several GB of address space)."""
    cpu = int(limits["cpu_s"])
    values = {
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        resource.RLIMIT_NPROC: (limits["processes"],) * 2,
        resource.RLIMIT_FSIZE: (limits["file_size_mb"] << 20,) * 2,
        resource.RLIMIT_NOFILE: (limits["open_files"],) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    if limits.get("memory_mb"):
        values[resource.RLIMIT_AS] = ((limits["memory_mb"] << 20) + address_space_base,) * 2
    for which, value in values.items():
        resource.setrlimit(which, value)


def join_cgroups(procs_files: list[str]) -> None:
    """Move this process into the cgroups whose ``cgroup.procs`` files are given ("0" names the
    writer).  Done before the root is pivoted away from /sys, and before any student code."""
    for path in procs_files:
        with open(path, "w") as handle:
            handle.write("0")
    # A cgroup namespace rooted at the job's groups: /proc/self/cgroup no longer shows the
    # host's layout (the worker's cgroup and pid).  Best effort: the groups apply either way.
    _libc.unshare(CLONE_NEWCGROUP)


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    # Changing uid made the process non-dumpable, which hides its own /proc/self from it;
    # the job holds nothing secret, and ptrace and core dumps are denied elsewhere.
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def kill_all_of_uid(uid: int) -> None:
    """Kill every process owned by ``uid`` (for hosts without PID namespaces): a helper takes
    the uid and signals -1, which reaches exactly the processes of that uid."""
    helper = os.fork()
    if helper == 0:
        try:
            os.setresuid(uid, uid, uid)
            for _ in range(100):
                os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            os._exit(0)
        except BaseException:
            os._exit(1)
        os._exit(0)
    try:
        os.waitpid(helper, 0)
    except ChildProcessError:  # already reaped by the zygote's SIGCHLD handler
        pass

