"""The real stack for the service's tests: a private PostgreSQL schema, a private Redis
database and key prefix, migrated databases, worker and API processes.

Each run uses its own schema / Redis keys, so parallel runs and other engineers' tests do not
collide.  Sandbox slots 10..19 are this suite's (others use 0..9).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from api.services import accounts
from core.db import session_factory
from core.migrate import upgrade
from core.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[2]
TEST_PACKS = Path(__file__).resolve().parent / "packs"
POSTGRES_URLS = [os.environ.get("TORCHGRADE_TEST_POSTGRES", "postgresql://root@127.0.0.1:5432/test"),
                 "postgresql://postgres@127.0.0.1:5432/test"]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
SLOTS = {"e2e": 10, "embedded": 12, "broker": 14, "packs": 16}
GOOD = (REPOSITORY / "reference/w1-normal-modes/selftest/good_torch_normal.py").read_bytes()
VARIANCE = (REPOSITORY / "reference/w1-normal-modes/selftest/bad_variance_as_std.py").read_bytes()
ANSWER = b'def answer():\n    return 42\n\n\nQ1 = """Because it is the answer."""\n'


def unavailable(what: str) -> None:
    """A missing service is a failure under CI, a skip on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not reachable (CI runs scripts/ensure-services first)")
    pytest.skip(f"{what} is not reachable; run scripts/ensure-services")


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reference_dir(tmp: Path) -> Path:
    """The real w1-normal-modes pack and the test pack, side by side."""
    tmp.mkdir(parents=True, exist_ok=True)
    for source in (REPOSITORY / "reference/w1-normal-modes", TEST_PACKS / "w0-service"):
        (tmp / source.name).symlink_to(source)
    return tmp


# ---------------------------------------------------------------------- services
@contextlib.contextmanager
def postgres_schema():
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    import psycopg

    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL on 127.0.0.1:5432")
    schema = f"tg_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    for base in POSTGRES_URLS:
        try:
            with psycopg.connect(base, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{schema}"')
            break
        except psycopg.OperationalError:
            continue
    else:
        unavailable("PostgreSQL database 'test' (user root or postgres)")
    try:
        yield f"{base}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextlib.contextmanager
def redis_broker():
    """A broker URL on a random database number with a private key prefix; keys removed afterwards."""
    import redis

    if not port_open(REDIS_HOST, REDIS_PORT):
        unavailable(f"Redis on {REDIS_HOST}:{REDIS_PORT}")
    database = random.randint(1, 15)
    prefix = f"tg-{os.getpid()}-{uuid.uuid4().hex[:8]}:"
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{database}", prefix
    finally:
        client = redis.Redis(REDIS_HOST, REDIS_PORT, db=database)
        keys = list(client.scan_iter(f"{prefix}*")) + list(client.scan_iter(f"_kombu.binding.*{prefix}*"))
        if keys:
            client.delete(*keys)


def service_settings(data_dir: Path, references: Path, slot: int, **overrides) -> Settings:
    values = dict(environment="test", data_dir=data_dir, reference_dir=references, sandbox_slot=slot,
                  sweep_interval_s=1.0, sweep_grace_s=1.0, lease_grace_s=5.0, retry_backoff_s=0.5,
                  retry_backoff_max_s=2.0, sse_poll_s=0.05, broker_poll_interval_s=0.05,
                  default_language="en")  # the suite reads English; tests/api/test_languages.py the Chinese
    values.update(overrides)
    return Settings(**values)


def environment(settings: Settings) -> dict[str, str]:
    """The TORCHGRADE_* variables that give a subprocess these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHGRADE_")}
    for name, value in settings.model_dump().items():
        if value is None:  # unset (e.g. TORCHGRADE_COOKIE_SECURE): the subprocess takes the same default
            continue
        if isinstance(value, (set, frozenset, list)):
            value = "[" + ",".join(f'"{v}"' for v in value) + "]"
        env[f"TORCHGRADE_{name.upper()}"] = str(value)
    return env


def migrated(settings: Settings) -> Settings:
    upgrade(settings.database_url)
    return settings


def seed_course(settings: Settings, catalog, slug: str | None = None, students: int = 2) -> dict:
    """A course with one instructor and students; returns their tokens and the course name."""
    slug = slug or f"c-{uuid.uuid4().hex[:10]}"
    with session_factory(settings.database_url)() as session:
        accounts.create_course(session, catalog, slug, "Test course")
        people = {"course": slug, "instructor": f"{slug}-teacher"}
        people["tokens"] = {"instructor": accounts.add_user(session, settings.secret_key, people["instructor"],
                                                            "instructor", slug).token}
        people["students"] = []
        for index in range(students):
            name = f"{slug}-s{index}"
            people["students"].append(name)
            people["tokens"][name] = accounts.add_user(session, settings.secret_key, name, "student", slug).token
        session.commit()
    return people


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


# ---------------------------------------------------------------------- processes
class Process:
    """A child process with its output in a log file, stopped (with its group) at exit."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.handle = open(log, "wb")
        self.process = subprocess.Popen(argv, env=env, cwd=REPOSITORY, stdout=self.handle, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.handle.close()


def start_worker(settings: Settings, log: Path, queues: str = "cpu") -> Process:
    worker = Process([sys.executable, "-m", "torchgrade.cli", "worker", "--queues", queues, "--loglevel", "info"],
                     environment(settings), log)
    wait_for(lambda: "ready." in worker.output() or not worker.alive(), 180, "the worker to be ready")
    assert worker.alive(), worker.output()[-3000:]
    return worker


def start_api(settings: Settings, log: Path) -> tuple[Process, str]:
    port = free_port()
    api = Process([sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port),
                   "--log-level", "warning"], environment(settings), log)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: not api.alive() or _answers(url), 60, "the API to answer")
    assert api.alive(), api.output()[-3000:]
    return api, url


@contextlib.contextmanager
def service_stack(data_dir: Path, references: Path, slot: int):
    """A private PostgreSQL schema and Redis prefix, migrated, with a worker and an API process
    running on them: yields (settings, API url, worker)."""
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix):
        settings = migrated(service_settings(data_dir, references, slot, database_url=database_url,
                                             broker_url=broker_url, broker_key_prefix=prefix))
        worker = start_worker(settings, data_dir / "worker.log")
        api, url = start_api(settings, data_dir / "api.log")
        try:
            yield settings, url, worker
        finally:
            api.stop()
            worker.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False
