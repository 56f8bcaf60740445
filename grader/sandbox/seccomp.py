"""A seccomp-BPF filter, assembled here and installed with prctl (no libseccomp needed).

It denies, with EPERM, what a homework never needs and an attack would: sockets of every
family but UNIX (IP, netlink, packet; vsock, which reaches the hypervisor and which no network
namespace isolates), so the network stays closed even where network namespaces cannot be used,
as on GPU hosts; io_uring (which would bypass the socket rule), ptrace and cross-process memory
access, new namespaces, mounts, kernel keyrings, BPF, perf and module loading.  ``clone3``
answers ENOSYS so that the C library falls back to ``clone``, whose flags can be inspected.
Everything else is allowed.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

AF_UNIX = 1  # the one socket family allowed: multiprocessing and DataLoader workers use it
NAMESPACE_CLONE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at", "syslog", "reboot",
    "sethostname", "setdomainname", "acct", "swapon", "swapoff", "quotactl", "settimeofday",
    "clock_settime", "adjtimex", "fanotify_init", "kcmp",
)

ARCHES = {
    "x86_64": (0xC000003E, {
        "socket": 41, "clone": 56, "clone3": 435, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "unshare": 272, "setns": 308, "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248,
        "request_key": 249, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "userfaultfd": 323, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_by_handle_at": 304,
        "name_to_handle_at": 303, "syslog": 103, "reboot": 169, "sethostname": 170, "setdomainname": 171,
        "acct": 163, "swapon": 167, "swapoff": 168, "quotactl": 179, "settimeofday": 164,
        "clock_settime": 227, "adjtimex": 159, "fanotify_init": 300, "kcmp": 312,
    }),
    "aarch64": (0xC00000B7, {
        "socket": 198, "clone": 220, "clone3": 435, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "unshare": 97, "setns": 268, "bpf": 280, "perf_event_open": 241, "keyctl": 219, "add_key": 217,
        "request_key": 218, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "userfaultfd": 282, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "syslog": 116, "reboot": 142, "sethostname": 161, "setdomainname": 162,
        "acct": 89, "swapon": 224, "swapoff": 225, "quotactl": 60, "settimeofday": 170,
        "clock_settime": 112, "adjtimex": 171, "fanotify_init": 262, "kcmp": 272,
    }),
}

# BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
LD_ABS_W, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_KILL = 0x7FFF0000, 0x80000000
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
X32_SYSCALL_BIT = 0x40000000


def _errno(code: int) -> int:
    return 0x00050000 | code


def _op(code, k=0, jt=0, jf=0):
    return (code, jt, jf, k)


def build_program(arch: str) -> list[tuple[int, int, int, int]]:
    audit_arch, numbers = ARCHES[arch]
    prog = [_op(LD_ABS_W, OFFSET_ARCH), _op(JEQ, audit_arch, 1, 0), _op(RET, RET_KILL),
            _op(LD_ABS_W, OFFSET_NR)]
    if arch == "x86_64":
        prog += [_op(JGE, X32_SYSCALL_BIT, 0, 1), _op(RET, _errno(errno.EPERM))]
    for name in DENIED:
        prog += [_op(JEQ, numbers[name], 0, 1), _op(RET, _errno(errno.EPERM))]
    prog += [_op(JEQ, numbers["clone3"], 0, 1), _op(RET, _errno(errno.ENOSYS))]
    prog += _argument_rule(numbers["clone"], [_op(JSET, NAMESPACE_CLONE_FLAGS, 0, 1), _op(RET, _errno(errno.EPERM))])
    prog += _argument_rule(numbers["socket"], [_op(JEQ, AF_UNIX, 1, 0), _op(RET, _errno(errno.EPERM))])
    return prog + [_op(RET, RET_ALLOW)]


def _argument_rule(syscall: int, tests: list) -> list:
    """Run ``tests`` on the low word of argument 0 when the syscall is ``syscall``.

    The tests fall through when nothing matches; the syscall number is reloaded after.
    """
    body = [_op(LD_ABS_W, OFFSET_ARG0), *tests, _op(LD_ABS_W, OFFSET_NR)]
    return [_op(JEQ, syscall, 0, len(body)), *body]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def supported_arch() -> str | None:
    machine = platform.machine()
    return machine if machine in ARCHES else None


def install() -> None:
    """Install the filter on the calling thread (and whatever it later forks)."""
    arch = supported_arch()
    if arch is None:
        raise OSError(errno.ENOSYS, f"no seccomp filter for {platform.machine()}")
    prog = build_program(arch)
    raw = b"".join(struct.pack("=HBBI", *op) for op in prog)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = _SockFprog(len(prog), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "installing the seccomp filter failed")
