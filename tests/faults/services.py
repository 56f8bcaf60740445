"""Private Redis and PostgreSQL servers for the fault tests, on free loopback ports in a
temporary directory, so that restarting them never touches the shared ones (127.0.0.1:6379
and :5432) that other test runs use.  Each is started, restarted and removed by the test."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import redis

from tests.workers.stack import Process, free_port, port_open, unavailable, wait_for

START_TIMEOUT_S = 60
POSTGRES_USER = "postgres"  # initdb and the server refuse to run as root


def _binary(name: str, candidates: list[str]) -> str:
    found = shutil.which(name) or max(candidates, default=None)
    if not found:
        unavailable(f"the {name} program (install the server package)")
    return found


def _scratch_dir(prefix: str, owner: str | None) -> Path:
    """A temporary directory the server's user owns (pytest's tmp_path is private to root)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    if owner is not None:
        entry = pwd.getpwnam(owner)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    return directory


class PrivateRedis:
    """redis-server without persistence: a restart loses every message it held."""

    def __init__(self):
        self.binary = _binary("redis-server", [])
        self.port = free_port()
        self.directory = _scratch_dir("tg-faults-redis-", None)
        self.process: Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        self.process = Process([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(self.directory)], dict(os.environ),
                               self.directory / f"redis-{self.starts}.log")
        wait_for(lambda: port_open("127.0.0.1", self.port) or not self.process.alive(), START_TIMEOUT_S,
                 "the private Redis to listen")
        assert self.process.alive(), self.process.output()[-2000:]

    def stop(self) -> int:
        """SHUTDOWN NOSAVE: the queued and the unacknowledged messages are gone; returns how many."""
        client = redis.Redis(port=self.port, socket_timeout=5)
        held = self.messages(client)
        with contextlib.suppress(redis.exceptions.ConnectionError):
            client.shutdown(nosave=True)
        self.process.stop()
        return held

    @staticmethod
    def messages(client) -> int:
        queued = sum(client.llen(key) for key in client.scan_iter(_type="list"))
        return queued + client.hlen("unacked")

    def remove(self) -> None:
        if self.process is not None:
            self.process.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivatePostgres:
    """A throw-away cluster (initdb) run by pg_ctl as the postgres user when we are root."""

    def __init__(self):
        self.bin_dir = Path(_binary("pg_ctl", glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))).parent
        self.owner = POSTGRES_USER if os.geteuid() == 0 else None
        if self.owner is not None:
            try:
                pwd.getpwnam(self.owner)
            except KeyError:
                unavailable(f"a {self.owner!r} user to run a private PostgreSQL as")
        self.port = free_port()
        self.directory = _scratch_dir("tg-faults-postgres-", self.owner)
        self.data = self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        argv = [str(self.bin_dir / program), *args]
        if self.owner is not None:
            argv = ["runuser", "-u", self.owner, "--", *argv]
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=START_TIMEOUT_S, cwd=self.directory)
        assert completed.returncode == 0, f"{program} failed:\n{completed.stdout}\n{completed.stderr}"

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # fsync off: the test kills the server process, not the machine, so the OS keeps the WAL.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off "
                   f"-c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "postgres.log"), "-o", options,
                  "-w", "-t", str(START_TIMEOUT_S), "start")

    def crash(self) -> None:
        """An immediate stop: no checkpoint, crash recovery on the next start (commits made
        with synchronous_commit off may be lost, as after a real crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def private_redis():
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@contextlib.contextmanager
def private_postgres():
    server = PrivatePostgres()
    try:
        server.create()
        server.start()
        yield server
    finally:
        server.remove()
