"""Hostile submissions that try to leave their job: the network (Redis, PostgreSQL, the API
itself, outside addresses, UNIX sockets of the host, vsock), new namespaces, privileges,
ptrace and signals to the worker.  Outside addresses are TEST-NET ones, never routed.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import uuid

import pytest

from tests.hostile.harness import refused_readings, selftest_source, with_prelude


def test_no_tcp_to_redis(stack, marker):
    source = with_prelude("""
        import socket
        for _family, _address in ((socket.AF_INET, ("127.0.0.1", 6379)), (socket.AF_INET6, ("::1", 6379))):
            def _set_a_key():
                with socket.socket(_family, socket.SOCK_STREAM) as connection:
                    connection.settimeout(2)
                    connection.connect(_address)
                    connection.sendall(f"SET {_HOST['marker']} 1\\r\\n".encode())
                    return connection.recv(100)
            _probe(f"redis at {_address[0]}", _set_a_key)
    """, selftest_source("w1-normal-modes", "good_randn_affine.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    assert "redis at 127.0.0.1: PermissionError" in shown.stdout and "redis at ::1: PermissionError" in shown.stdout
    assert shown.score == 32


def test_no_connection_to_postgresql(stack, marker):
    source = with_prelude("""
        import socket, struct
        _startup = struct.pack("!ii", 0, 196608) + b"user\\0postgres\\0database\\0test\\0\\0"
        _startup = struct.pack("!i", len(_startup) - 4) + _startup[4:]
        def _talk(family, address):
            with socket.socket(family, socket.SOCK_STREAM) as connection:
                connection.settimeout(2)
                connection.connect(address)
                connection.sendall(_startup)
                return connection.recv(100)
        _probe("postgresql over TCP", lambda: _talk(socket.AF_INET, ("127.0.0.1", 5432)))
        _probe("postgresql over IPv6", lambda: _talk(socket.AF_INET6, ("::1", 5432)))
        _probe("postgresql's UNIX socket", lambda: _talk(socket.AF_UNIX, "/var/run/postgresql/.s.PGSQL.5432"))
    """, selftest_source("w1-logistic-regression", "good_sequential_logits.py"), stack.facts(marker))
    shown = stack.attack("w1-logistic-regression", source, filename="logistic.py", marker=marker)
    assert "postgresql over TCP: PermissionError" in shown.stdout
    assert "postgresql over IPv6: PermissionError" in shown.stdout
    assert "postgresql's UNIX socket: FileNotFoundError" in shown.stdout
    assert shown.score == 22


def test_no_request_to_the_api_itself(stack, marker):
    source = with_prelude("""
        import urllib.request
        _base = f"http://127.0.0.1:{_HOST['api_port']}"
        _probe("the API's health", lambda: urllib.request.urlopen(_base + "/healthz", timeout=2).read())
        _probe("the API's submissions", lambda: urllib.request.urlopen(_base + "/api/v1/submissions/1", timeout=2))
        _probe("the API by name", lambda: urllib.request.urlopen(f"http://localhost:{_HOST['api_port']}/", timeout=2))
    """, selftest_source("w2-normalize", "good_view_broadcast.py"), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    for what in ("the API's health", "the API's submissions", "the API by name"):
        assert f"{what}: URLError" in shown.stdout
    assert shown.score == 16


def test_no_route_to_outside_addresses(stack, marker):
    source = with_prelude("""
        import socket
        def _tcp(family, address):
            with socket.socket(family, socket.SOCK_STREAM) as connection:
                connection.settimeout(2)
                connection.connect(address)
        def _udp(address):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
                return datagram.sendto(b"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00", address)
        _probe("TCP to 192.0.2.1:80", lambda: _tcp(socket.AF_INET, ("192.0.2.1", 80)))
        _probe("TCP to 198.51.100.7:443", lambda: _tcp(socket.AF_INET, ("198.51.100.7", 443)))
        _probe("UDP to 192.0.2.1:53", lambda: _udp(("192.0.2.1", 53)))
        _probe("TCP to 2001:db8::1", lambda: _tcp(socket.AF_INET6, ("2001:db8::1", 80)))
        _probe("name resolution", lambda: socket.getaddrinfo("example.invalid", 80))
    """, selftest_source("w1-from-numpy", "good_from_numpy.py"), stack.facts(marker))
    shown = stack.attack("w1-from-numpy", source, filename="from_numpy.py", marker=marker)
    for what in ("TCP to 192.0.2.1:80", "TCP to 198.51.100.7:443", "UDP to 192.0.2.1:53", "TCP to 2001:db8::1"):
        assert f"{what}: PermissionError" in shown.stdout
    assert "name resolution: gaierror" in shown.stdout
    assert shown.score == 12


@contextlib.contextmanager
def listening_unix_sockets():
    """An abstract and a file-system UNIX socket on the host, listening; yields their addresses
    and, at exit, asserts that nobody connected."""
    abstract, path = f"\0hostile-listener-{uuid.uuid4().hex}", f"/tmp/hostile-listener-{uuid.uuid4().hex}.sock"
    listeners = []
    for address in (abstract, path):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(address)
        listener.listen()
        listener.setblocking(False)
        listeners.append(listener)
    try:
        yield abstract, path
        for listener in listeners:
            with pytest.raises(BlockingIOError):
                listener.accept()
    finally:
        for listener in listeners:
            listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def test_no_unix_socket_of_the_host(stack, marker):
    with listening_unix_sockets() as (abstract, path):
        source = with_prelude(f"""
            import socket
            def _connect(address):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                    connection.connect(address)
                    connection.sendall(b"hello from the job")
            _probe("abstract socket", lambda: _connect({abstract!r}))
            _probe("file-system socket", lambda: _connect({path!r}))
        """, selftest_source("w1-hello", "good_guarded_course.py"), stack.facts(marker))
        shown = stack.attack("w1-hello", source, filename="hello.py", marker=marker)
    assert "abstract socket: ConnectionRefusedError" in shown.stdout
    assert "file-system socket: FileNotFoundError" in shown.stdout
    assert shown.score == 5


def test_vsock_netlink_packet_sockets_and_io_uring_are_denied(stack, marker):
    source = with_prelude("""
        import ctypes, socket
        _families = {"vsock (the hypervisor)": 40, "netlink": 16, "packet": 17, "kernel crypto": 38, "tipc": 30}
        for _name, _family in _families.items():
            for _kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW):
                _probe(f"{_name} socket {int(_kind)}", lambda: socket.socket(_family, _kind).close())
        _libc = ctypes.CDLL(None, use_errno=True)
        _params = ctypes.create_string_buffer(120)
        def _io_uring():
            if _libc.syscall(425, 8, _params) < 0:
                raise OSError(ctypes.get_errno(), "io_uring_setup")
        _probe("io_uring", _io_uring)
    """, selftest_source("w1-normal-modes", "good_torch_normal.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    sockets = [line for line in shown.stdout.splitlines() if " socket " in line]
    assert len(sockets) == 15 and all(line.endswith(": PermissionError") for line in sockets), sockets
    assert "io_uring: PermissionError" in shown.stdout
    assert shown.score == 32


def test_no_new_namespaces(stack, marker):
    source = with_prelude("""
        import ctypes, os
        _libc = ctypes.CDLL(None, use_errno=True)
        def _call(name, *args):
            def call():
                if getattr(_libc, name)(*args) != 0:
                    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            return call
        for _name, _flag in {"user": 0x10000000, "net": 0x40000000, "mount": 0x00020000, "pid": 0x20000000}.items():
            _probe(f"unshare {_name}", _call("unshare", _flag))
        _probe("setns net", _call("setns", os.open("/proc/self/ns/net", os.O_RDONLY), 0))
        _probe("mount proc", _call("mount", b"proc", b"/tmp", b"proc", 0, None))
        _probe("chroot", _call("chroot", b"/tmp"))
    """, selftest_source("w2-normalize", "good_clone_loop.py"), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    for what in ("unshare user", "unshare net", "unshare mount", "unshare pid", "setns net", "mount proc", "chroot"):
        assert f"{what}: PermissionError" in shown.stdout
    assert shown.score == 16 - refused_readings(shown, "w2-normalize")


def test_no_privilege_gain(stack, marker):
    source = with_prelude("""
        import ctypes, os, socket, subprocess, time
        _libc = ctypes.CDLL(None, use_errno=True)
        _probe("setuid root", lambda: os.setuid(0))
        _probe("join group root", lambda: os.setgroups([0]))
        _probe("su", lambda: subprocess.run(["su", "-c", "id"], capture_output=True, timeout=5).stdout)
        _probe("capabilities", lambda: [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split())
        _probe("host name", lambda: socket.sethostname("owned"))
        def _clock():
            if _libc.clock_settime(0, ctypes.byref((ctypes.c_long * 2)(0, 0))) != 0:
                raise OSError(ctypes.get_errno(), "clock_settime")
        _probe("set the clock", _clock)
        _probe("raise the CPU limit", lambda: __import__("resource").setrlimit(0, (10**6, 10**6)))
    """, selftest_source("w1-from-numpy", "good_as_tensor.py"), stack.facts(marker))
    shown = stack.attack("w1-from-numpy", source, filename="from_numpy.py", marker=marker)
    for what in ("setuid root", "join group root", "host name", "set the clock"):
        assert f"{what}: PermissionError" in shown.stdout
    assert re.search(r"su: (b''|FileNotFoundError)", shown.stdout) and "uid=0" not in shown.stdout
    assert "capabilities: ['CapEff:', '0000000000000000']" in shown.stdout
    assert "raise the CPU limit: ValueError" in shown.stdout
    assert shown.score == 12 - refused_readings(shown, "w1-from-numpy")


def test_no_ptrace_or_cross_process_memory(stack, marker):
    source = with_prelude("""
        import ctypes, os, signal, time
        _libc = ctypes.CDLL(None, use_errno=True)
        def _checked(result):
            if result == -1:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            return result
        _child = os.fork()
        if _child == 0:
            time.sleep(30)
            os._exit(0)
        class _Iov(ctypes.Structure):
            _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]
        _buffer = ctypes.create_string_buffer(64)
        _local, _remote = _Iov(ctypes.addressof(_buffer), 64), _Iov(0x400000, 64)
        for _target in [_child] + _HOST["worker_pids"]:
            _probe(f"ptrace attach {'child' if _target == _child else 'worker'}",
                   lambda: _checked(_libc.ptrace(16, _target, 0, 0)))
            _probe(f"process_vm_readv {'child' if _target == _child else 'worker'}",
                   lambda: _checked(_libc.process_vm_readv(_target, ctypes.byref(_local), 1,
                                                           ctypes.byref(_remote), 1, 0)))
        _probe("ptrace traceme", lambda: _checked(_libc.ptrace(0, 0, 0, 0)))
        os.kill(_child, signal.SIGKILL)
        os.waitpid(_child, 0)
    """, selftest_source("w1-logistic-regression", "good_course_loop.py"), stack.facts(marker))
    shown = stack.attack("w1-logistic-regression", source, filename="logistic.py", marker=marker)
    probes = [line for line in shown.stdout.splitlines() if line.startswith(("ptrace", "process_vm"))]
    assert len(probes) == 1 + 2 * (1 + len(stack.facts(marker)["worker_pids"]))
    assert all(line.endswith(": PermissionError") for line in probes), probes
    assert shown.score == 22


def test_signals_cannot_reach_the_worker(stack, marker):
    source = with_prelude("""
        import os, signal
        _probe("kill every process it can see", lambda: os.kill(-1, signal.SIGKILL))
        for _pid in _HOST["worker_pids"] + [_HOST["checker_pid"]]:
            for _signal in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
                _probe(f"signal {_signal.name} to the worker", lambda: os.kill(_pid, _signal))
            _probe("pidfd of the worker", lambda: os.pidfd_open(_pid))
        _probe("SIGKILL to PID 1 (itself)", lambda: os.kill(1, signal.SIGKILL))
        _probe("SIGSTOP to its own group", lambda: os.killpg(0, signal.SIGSTOP))
        print("STILL HERE", flush=True)
    """, selftest_source("w1-hello", "good_print_version.py"), stack.facts(marker))
    shown = stack.attack("w1-hello", source, filename="hello.py", marker=marker)
    worker_probes = [line for line in shown.stdout.splitlines() if "the worker" in line]
    assert worker_probes and all(line.endswith(": ProcessLookupError") for line in worker_probes), worker_probes
    assert "STILL HERE" in shown.stdout
    assert shown.score == 5
