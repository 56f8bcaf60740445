"""The hostile suite's real stack and the checks every attack is held to.

One stack per test module: uvicorn (the API) and a Celery worker with its warm sandbox, on a
private PostgreSQL schema and a private Redis database and key prefix (``tests/workers/stack``).
The stack is seeded with secrets an attack would want: a settings file and a decoy database
file with canaries in the data directory, a canary in the worker's environment, a canary in
each hidden-data folder's private answer keys, and another student's graded submission whose
code holds a canary and left copies of itself wherever a job can write.

``HostileStack.attack`` sends one disguised submission, then an honest one from another
student, and asserts what every attack must leave intact: no secret in any response (student
and instructor views, progress streams, assignment statistics), no file, Redis key, database
row or process outside the job, and the honest submission graded exactly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import secrets
import textwrap
import tomllib
import uuid
from pathlib import Path

import httpx
import psycopg
import redis

from core.catalog import ManifestCatalog
from grader import hidden_data
from grader.assignments import Catalog
from tests.workers.stack import (REDIS_HOST, REDIS_PORT, REPOSITORY, migrated, postgres_schema, redis_broker,
                                 seed_course, service_settings, start_api, start_worker, wait_for)

SLOT = 30  # this suite's sandbox slot (30..39 are the hostile suite's)
REFERENCE = REPOSITORY / "reference"
PACKS = ("w1-normal-modes", "w1-logistic-regression", "w1-hello", "w1-from-numpy", "w2-normalize",
         "w2-dogcat-dataset", "w2-rmb-dataset")
# An attack that runs into a time limit costs its full length: the operator's caps are short,
# yet long enough for the honest submissions on a loaded machine.
CAPS = {"max_wall_s": 20.0, "max_cpu_s": 20.0}
GRADING_TIMEOUT_S = 90
WORKER_ENV_CANARY = "HOSTILE_WORKER_CANARY"
REFERENCE_LINE_MIN_CHARS = 40
FINAL = {"graded", "error", "timeout", "memory", "crashed", "internal_error"}


def present_packs() -> list[str]:
    return [pack for pack in PACKS if (REFERENCE / pack / "manifest.toml").exists()]


def dataset_pack() -> str | None:
    """The image-dataset assignment with hidden data that this checkout has, if any."""
    return next((p for p in ("w2-dogcat-dataset", "w2-rmb-dataset") if p in present_packs()), None)


# ---------------------------------------------------------------------- real submissions
def selftest_source(assignment: str, file: str) -> str:
    return (REFERENCE / assignment / "selftest" / file).read_text(encoding="utf-8")


def expected_score(assignment: str, file: str) -> float:
    """The score the pack's self-test says ``file`` earns as it is."""
    cases = tomllib.loads((REFERENCE / assignment / "selftest" / "expected.toml").read_text())["case"]
    return float(next(case["score"] for case in cases if case["file"] == file))


def good_file(assignment: str) -> str:
    """The pack's first correct single-file submission."""
    cases = tomllib.loads((REFERENCE / assignment / "selftest" / "expected.toml").read_text())["case"]
    return next(c["file"] for c in cases if c["file"].startswith("good") and c["file"].endswith(".py"))


# Checks whose points rest on a reading of the source (docs/SANDBOX.md, "Outcomes only the job
# can see"): an attack that imports ctypes or threading, patches a module or imports dynamically
# makes the reading refuse, and loses these points without gaining any.
READING_CHECKS = {"w1-from-numpy": ("shares_memory", "other_shapes", "data_addresses"),
                  "w2-normalize": ("does_not_modify_input", "without_torchvision")}


def refused_readings(shown, assignment: str) -> float:
    """The points of ``assignment``'s reading checks that ``shown`` lost, each refused with the
    line of the upload named."""
    lost = 0.0
    for name in READING_CHECKS.get(assignment, ()):
        test = shown.test(name)
        assert test["score"] == 0.0 and "by reading your source" in test["feedback"], test
        assert "line " in test["feedback"]
        lost += test["max_score"]
    return lost


# Every attack may call _probe(label, action): it prints "label: <what action returned>" (the
# exfiltration attempt itself) or "label: <exception type>", the evidence that it was stopped.
PROBE = '''
def _probe(label, action):
    try:
        result = action()
    except BaseException as error:
        print(f"{label}: {type(error).__name__}", flush=True)
        return None
    print(f"{label}: {result!r}", flush=True)
    return result
'''


def with_prelude(attack: str, host: str, facts: dict) -> str:
    """``host`` (a real submission) with ``attack`` run first, at import; ``_HOST`` holds the
    facts about the host machine an attacker would most like to know."""
    return f"_HOST = {facts!r}\n{PROBE}\n{textwrap.dedent(attack).strip()}\n\n{host}"


def with_epilogue(attack: str, host: str, facts: dict) -> str:
    """``host`` followed by ``attack`` (typically a wrapper replacing one of its functions)."""
    return f"_HOST = {facts!r}\n{PROBE}\n{host}\n\n{textwrap.dedent(attack).strip()}\n"


# ---------------------------------------------------------------------- what must not leak
def reference_lines(assignment: str, submitted: str) -> list[str]:
    """Distinctive lines of the pack's trusted files (reference, checks, hidden-data generator):
    none may reach a response unless the student's own upload or the public files hold it."""
    folder = REFERENCE / assignment
    public = submitted + "".join(p.read_text(encoding="utf-8") for p in
                                 (folder / "starter.py", folder / "statement.en.md", folder / "statement.zh.md"))
    lines = set()
    for name in ("reference.py", "checks.py", "data.py"):
        if (folder / name).exists():
            lines |= {line.strip() for line in (folder / name).read_text(encoding="utf-8").splitlines()}
    return sorted(line for line in lines if len(line) >= REFERENCE_LINE_MIN_CHARS and line not in public)


@dataclasses.dataclass
class Secrets:
    """What no response may ever contain."""

    secret_key: str
    database_url: str
    schema: str
    broker_prefix: str
    worker_env: str
    private_key: str
    database_file: str
    victim_code: str
    shadow: list[str]

    def settings(self) -> list[str]:
        return [self.secret_key, self.database_url, self.schema, self.broker_prefix, self.worker_env]

    def everything(self) -> list[str]:
        return [*self.settings(), self.private_key, self.database_file, self.victim_code, *self.shadow]


def shadow_secrets() -> list[str]:
    """The password fields of /etc/shadow that hold something (a hash or a lock)."""
    with contextlib.suppress(OSError):
        fields = [line.split(":")[1] for line in Path("/etc/shadow").read_text().splitlines() if line.count(":") > 2]
        return sorted({f for f in fields if len(f) > 8})
    return []


# ---------------------------------------------------------------------- effects outside the job
def processes_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            status = (entry / "status").read_text()
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
            if str(uid) in uids:
                pids.append(int(entry.name))
    return pids


def _stat(pid: str) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session, ..."""
    return Path("/proc", pid, "stat").read_text().rpartition(")")[2].split()


def worker_processes(session_id: int) -> set[int]:
    """Host pids of the worker's own processes (main, pool, zygote), not the zygote's children
    (jobs, and the spare job it forks ahead)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stats[int(entry.name)] = _stat(entry.name)
    in_session = {pid for pid, fields in stats.items() if int(fields[3]) == session_id}
    zygotes = {pid for pid in in_session if b"grader.sandbox.zygote" in _cmdline(pid)}
    return {pid for pid in in_session if int(stats[pid][1]) not in zygotes}


def _cmdline(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return Path("/proc", str(pid), "cmdline").read_bytes()
    return b""


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (links followed) with a hash of its content and mode."""
    digest = {}
    for folder, _, files in os.walk(root, followlinks=True):
        for name in files:
            path = Path(folder, name)
            with contextlib.suppress(OSError):
                digest[str(path.relative_to(root))] = hashlib.sha256(
                    path.read_bytes() + oct(path.stat().st_mode).encode()).hexdigest()
    return digest


def changed_files(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    """The paths, under each snapshot root, that were added, removed or rewritten."""
    return sorted(f"{root}/{path}" for root in before.keys() | after.keys()
                  for path in before.get(root, {}).keys() | after.get(root, {}).keys()
                  if before.get(root, {}).get(path) != after.get(root, {}).get(path))


@dataclasses.dataclass
class Snapshot:
    files: dict[str, dict[str, str]]
    rows: dict[str, int]
    worker: set[int]


@dataclasses.dataclass
class Outcome:
    """What the attacker and the instructor were shown about the attacking submission."""

    id: int
    student: dict
    instructor: dict
    student_text: str
    instructor_text: str

    @property
    def score(self) -> float:
        return self.student["score"]

    @property
    def stdout(self) -> str:
        return self.student["output"]["stdout"]

    def test(self, name: str) -> dict:
        return next(t for t in self.instructor["tests"] if t["name"] == name)


# ---------------------------------------------------------------------- the stack
@dataclasses.dataclass
class HostileStack:
    settings: object
    url: str
    worker: object
    people: dict
    secrets: Secrets
    references: Path
    log_dir: Path

    @property
    def attacker(self) -> str:
        return self.people["students"][0]

    @property
    def victim(self) -> str:
        return self.people["students"][1]

    @property
    def uid(self) -> int:
        return self.settings.sandbox_uid_base + self.settings.sandbox_slot

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.people['tokens'][who]}"}

    def facts(self, marker: str) -> dict:
        """What an attacker might know of the host; the attack uses ``marker`` in every name it
        tries to create outside the job."""
        return {"marker": marker, "repository": str(REPOSITORY), "data_dir": str(self.settings.data_dir),
                "reference_dir": str(self.references), "real_reference_dir": str(REFERENCE),
                "api_port": int(self.url.rpartition(":")[2]), "worker_pids": sorted(self.worker_pids()),
                "checker_pid": os.getpid(), "uid": self.uid, "log_dir": str(self.log_dir)}

    def worker_pids(self) -> set[int]:
        return worker_processes(self.worker.process.pid)

    # ------------------------------------------------------------------ HTTP
    def submit(self, who: str, assignment: str, filename: str, content: bytes) -> int:
        response = httpx.post(f"{self.url}/api/v1/assignments/{assignment}/submissions", headers=self.headers(who),
                              files={"file": (filename, content)}, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def get(self, path: str, who: str) -> httpx.Response:
        response = httpx.get(f"{self.url}/api/v1{path}", headers=self.headers(who), timeout=30)
        assert response.status_code == 200, (path, who, response.status_code, response.text[:2000])
        return response

    def final(self, submission_id: int, who: str) -> dict:
        def finished():
            shown = self.get(f"/submissions/{submission_id}", who).json()
            return shown if shown["status"] in FINAL else None
        return wait_for(finished, GRADING_TIMEOUT_S, f"submission {submission_id} to be graded", 0.1)

    def baseline(self, assignment: str, source: str) -> dict:
        """What the same submission earns without the attack: the yardstick for unearned points."""
        return self.final(self.submit(self.attacker, assignment, "baseline.py", source.encode()), self.attacker)

    def outcome(self, submission_id: int, assignment: str) -> Outcome:
        student = self.get(f"/submissions/{submission_id}", self.attacker)
        teacher = self.get(f"/submissions/{submission_id}", "instructor")
        student_texts = [student.text, self.get(f"/submissions/{submission_id}/events", self.attacker).text,
                         self.get(f"/assignments/{assignment}/submissions", self.attacker).text,
                         self.get("/grades", self.attacker).text]
        course = self.people["course"]
        teacher_texts = [teacher.text, self.get(f"/submissions/{submission_id}/events", "instructor").text,
                         self.get(f"/courses/{course}/assignments/{assignment}/stats", "instructor").text,
                         self.get(f"/courses/{course}/gradebook", "instructor").text]
        return Outcome(submission_id, student.json(), teacher.json(), "\n".join(student_texts),
                       "\n".join(teacher_texts))

    # ------------------------------------------------------------------ effects
    def snapshot(self) -> Snapshot:
        return Snapshot(files={"data": tree_digest(self.settings.data_dir), "references": tree_digest(self.references)},
                        rows=self.row_counts(), worker=self.worker_pids())

    def row_counts(self) -> dict[str, int]:
        with psycopg.connect(self.settings.database_url) as connection:
            return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("users", "courses", "memberships", "submissions", "written_scores")}

    def redis_keys_named(self, marker: str) -> list[bytes]:
        found = []
        for database in range(16):
            found += list(redis.Redis(REDIS_HOST, REDIS_PORT, db=database).scan_iter(f"*{marker}*"))
        return found

    def host_paths_named(self, marker: str) -> list[str]:
        candidates = [Path("/tmp"), Path("/dev/shm"), Path("/var/tmp"), REPOSITORY, self.settings.data_dir,
                      Path("/root"), *Path(REPOSITORY, ".venv/lib").glob("python3*/site-packages")]
        return [str(p) for folder in candidates if folder.is_dir() for p in folder.glob(f"*{marker}*")]

    # ------------------------------------------------------------------ the protocol
    def attack(self, assignment: str, source: str, *, filename: str = "homework.py", marker: str,
               honest: str | None = None) -> Outcome:
        """Submit ``source`` as the attacker, then an honest submission as another student;
        return what was shown once both are graded, after the checks every attack is held to."""
        before = self.snapshot()
        attack_id = self.submit(self.attacker, assignment, filename, source.encode())
        honest = honest or good_file(assignment)
        honest_id = self.submit(self.victim, assignment, honest, selftest_source(assignment, honest).encode())
        self.final(attack_id, self.attacker)
        graded = self.final(honest_id, self.victim)
        outcome = self.outcome(attack_id, assignment)
        self.assert_nothing_leaked(outcome, assignment, source)
        self.assert_no_effect(before, marker)
        assert (graded["status"], graded["score"]) == ("graded", expected_score(assignment, honest)), \
            f"the next honest submission was graded {graded['status']} {graded['score']}"
        return outcome

    def assert_nothing_leaked(self, outcome: Outcome, assignment: str, source: str) -> None:
        for secret in self.secrets.everything():
            assert secret not in outcome.student_text, f"the attacker was shown a secret: {secret[:80]!r}"
            assert secret not in outcome.instructor_text, f"the instructor was shown a secret: {secret[:80]!r}"
        for line in reference_lines(assignment, source):
            assert line not in outcome.student_text, f"the attacker was shown a line of the pack: {line!r}"
            assert line not in outcome.instructor_text, f"a line of the pack reached the result: {line!r}"

    def assert_no_effect(self, before: Snapshot, marker: str) -> None:
        wait_for(lambda: not processes_of(self.uid), 5, f"the processes of uid {self.uid} to end")
        after = self.snapshot()
        assert after.files == before.files, f"files outside the job changed: {changed_files(before.files, after.files)}"
        assert after.rows == dict(before.rows, submissions=before.rows["submissions"] + 2), "database rows changed"
        assert after.worker == before.worker, "the worker's processes changed"
        assert self.worker.alive()
        assert self.host_paths_named(marker) == []
        assert self.redis_keys_named(marker) == []


# ---------------------------------------------------------------------- starting one
VICTIM_SOURCE = '''
# {canary}
import os

for _folder in ("/tmp", "/dev/shm", "/home/student", "/home/student/.cache"):
    try:
        os.makedirs(_folder, exist_ok=True)
        with open(os.path.join(_folder, "{canary}.py"), "w") as _copy:
            _copy.write(open(__file__).read())
    except OSError:
        pass

'''


def references_for_stack(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for pack in present_packs():
        (folder / pack).symlink_to(REFERENCE / pack)
    return folder


def plant_private_canaries(data_dir: Path, references: Path, canary: str) -> None:
    """Generate each hidden-data folder now (as the worker would) and add a canary to its
    private part, the answer keys only checks may read."""
    catalog = Catalog(references)
    for pack in present_packs():
        assignment = catalog.get(pack)
        if assignment.manifest.hidden_data:
            private = hidden_data.prepare(assignment, data_dir) / "private"
            (private / "answer-key-canary.json").write_text(f'{{"canary": "{canary}"}}')


def plant_settings_files(data_dir: Path, planted: Secrets) -> None:
    """What an operator keeps next to the data: a settings file and a database file."""
    (data_dir / ".env").write_text(f"TORCHGRADE_SECRET_KEY={planted.secret_key}\n"
                                   f"TORCHGRADE_DATABASE_URL={planted.database_url}\n")
    (data_dir / "torchgrade.sqlite3").write_text(f"SQLite format 3\x00{planted.database_file}")
    for path in (data_dir / ".env", data_dir / "torchgrade.sqlite3"):
        path.chmod(0o600)


def new_secrets(database_url: str, broker_prefix: str) -> Secrets:
    return Secrets(secret_key=f"secret-key-{secrets.token_hex(16)}", database_url=database_url,
                   schema=database_url.rpartition("search_path%3D")[2], broker_prefix=broker_prefix,
                   worker_env=f"worker-env-{secrets.token_hex(8)}", private_key=f"answer-key-{uuid.uuid4().hex}",
                   database_file=f"database-file-{uuid.uuid4().hex}", victim_code=f"victim-{uuid.uuid4().hex}",
                   shadow=shadow_secrets())


@contextlib.contextmanager
def environment_variable(name: str, value: str):
    """Set for the processes started meanwhile (they copy the environment)."""
    os.environ[name] = value
    try:
        yield
    finally:
        del os.environ[name]


@contextlib.contextmanager
def hostile_stack(tmp: Path):
    """Start the stack under ``tmp``, seed it, grade the victim's submission; yield it."""
    data_dir, log_dir = tmp / "data", tmp / "logs"
    data_dir.mkdir()
    log_dir.mkdir()
    references = references_for_stack(tmp / "references")
    with postgres_schema() as database_url, redis_broker() as (broker_url, prefix), contextlib.ExitStack() as running:
        planted = new_secrets(database_url, prefix)
        settings = migrated(service_settings(data_dir, references, SLOT, database_url=database_url,
                                             broker_url=broker_url, broker_key_prefix=prefix,
                                             secret_key=planted.secret_key, **CAPS))
        plant_private_canaries(data_dir, references, planted.private_key)
        plant_settings_files(data_dir, planted)
        running.enter_context(environment_variable(WORKER_ENV_CANARY, planted.worker_env))
        worker = start_worker(settings, log_dir / "worker.log")
        running.callback(worker.stop)
        api, url = start_api(settings, log_dir / "api.log")
        running.callback(api.stop)
        people = seed_course(settings, ManifestCatalog(references), students=2)
        stack = HostileStack(settings, url, worker, people, planted, references, log_dir)
        grade_victim(stack)
        yield stack


def grade_victim(stack: HostileStack) -> None:
    """Another student's submission, graded before any attack: its code must never be seen."""
    source = VICTIM_SOURCE.format(canary=stack.secrets.victim_code) + selftest_source("w1-normal-modes",
                                                                                       "good_torch_normal.py")
    submission_id = stack.submit(stack.victim, "w1-normal-modes", "normal_modes.py", source.encode())
    shown = stack.final(submission_id, stack.victim)
    assert (shown["status"], shown["score"]) == ("graded", 32.0), shown
