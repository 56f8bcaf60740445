"""The seccomp filter, installed in a forked child: what it denies and what still works."""

from __future__ import annotations

import os

import pytest

from grader.sandbox import seccomp

pytestmark = pytest.mark.skipif(seccomp.supported_arch() is None, reason="no filter for this architecture")


def in_filtered_child(probe) -> int:
    """Run ``probe`` after installing the filter in a child; its return value is the exit code."""
    pid = os.fork()
    if pid == 0:
        try:
            seccomp.install()
            os._exit(probe())
        except BaseException:
            os._exit(99)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def errno_of(call) -> int:
    try:
        call()
    except OSError as exc:
        return exc.errno
    return 0


@pytest.mark.parametrize("family", ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"])
def test_ip_and_netlink_sockets_are_denied(family):
    import errno
    import socket

    assert in_filtered_child(lambda: errno_of(lambda: socket.socket(getattr(socket, family), socket.SOCK_RAW
                                                                        if family in ("AF_NETLINK", "AF_PACKET")
                                                                        else socket.SOCK_STREAM))) == errno.EPERM


@pytest.mark.parametrize("family", [40, 38, 30, 44, 21])  # AF_VSOCK, AF_ALG, AF_TIPC, AF_XDP, AF_RDS
def test_every_family_but_unix_is_denied(family):
    """vsock reaches the hypervisor and no network namespace isolates it; the others are kernel
    attack surface no homework needs.  EPERM, not the EAFNOSUPPORT of a kernel without them."""
    import errno
    import socket

    assert in_filtered_child(lambda: errno_of(lambda: socket.socket(family, socket.SOCK_STREAM))) == errno.EPERM


def test_unix_sockets_threads_and_fork_still_work():
    def probe():
        import socket
        import threading

        left, right = socket.socketpair()
        left.sendall(b"x")
        assert right.recv(1) == b"x"
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        child = os.fork()
        if child == 0:
            os._exit(7)
        return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])

    assert in_filtered_child(probe) == 7


def test_new_namespaces_and_ptrace_are_denied():
    import ctypes
    import errno

    def probe():
        libc = ctypes.CDLL(None, use_errno=True)
        denied = [libc.unshare(0x40000000) == -1 and ctypes.get_errno() == errno.EPERM,
                  libc.ptrace(16, 1, 0, 0) == -1 and ctypes.get_errno() == errno.EPERM]
        return 0 if all(denied) else 1

    assert in_filtered_child(probe) == 0


def test_program_checks_the_architecture_first():
    program = seccomp.build_program("x86_64")
    assert program[0] == (seccomp.LD_ABS_W, 0, 0, seccomp.OFFSET_ARCH)
    assert program[2] == (seccomp.RET, 0, 0, seccomp.RET_KILL)
    assert program[-1] == (seccomp.RET, 0, 0, seccomp.RET_ALLOW)
