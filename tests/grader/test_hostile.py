"""Hostile submissions, each disguised as a w1-normal-modes solution, each one attack.

Every test asserts that the attack had no effect outside its job, that the submission scored
nothing it did not earn, that nothing secret reached the result, and that the engine then
grades an honest submission correctly.
"""

from __future__ import annotations

import os
import secrets
import socket
import textwrap
import time
from pathlib import Path

import pytest
import redis

from grader.config import EngineSettings
from grader.engine import Grader
from grader.status import CheckStatus, SubmissionStatus

REPOSITORY = Path(__file__).resolve().parents[2]
ASSIGNMENT = "w1-normal-modes"
FULL_SCORE = 32.0
CANARY = "canary-" + secrets.token_hex(8)

HONEST = """
import torch

def normal_tensor_tensor(mean, std):
    return torch.normal(mean, std)

def normal_tensor_scalar(mean, std):
    return torch.normal(mean, std)

def normal_scalar_tensor(mean, std):
    return torch.normal(mean, std)

def normal_scalar_scalar(mean, std, size):
    return torch.normal(mean, std, size=size)
"""


def with_attack(attack: str, *, at_import: bool = False) -> bytes:
    """An honest solution whose normal_tensor_tensor (or module import) runs ``attack`` first."""
    body = textwrap.indent(textwrap.dedent(attack), "    ")
    source = HONEST.replace("def normal_tensor_tensor(mean, std):\n",
                            f"def normal_tensor_tensor(mean, std):\n{body}\n" if not at_import else
                            "def normal_tensor_tensor(mean, std):\n")
    if at_import:
        source = f"def _attack():\n{body}\n\n_attack()\n" + source
    return source.encode()


@pytest.fixture(scope="module")
def secret_files(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("hostile-data")
    database = data_dir / "torchgrade.db"
    database.write_text(f"SQLite format 3 {CANARY}-database")
    return data_dir, database


@pytest.fixture(scope="module")
def hostile(secret_files):
    """A grader started with a canary in its environment and short operator caps."""
    data_dir, _ = secret_files
    os.environ["TORCHGRADE_TEST_CANARY"] = CANARY
    settings = EngineSettings(environment="test", data_dir=data_dir, reference_dir=REPOSITORY / "reference",
                        sandbox_slot=int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + 100,
                        max_wall_s=8, max_cpu_s=8)
    try:
        with Grader(settings) as grader:
            yield grader
    finally:
        del os.environ["TORCHGRADE_TEST_CANARY"]


@pytest.fixture(scope="module")
def earned_without_tensor_tensor(hostile) -> float:
    """What a submission earns when normal_tensor_tensor is simply broken."""
    result = hostile.grade(ASSIGNMENT, "broken.py", with_attack("raise RuntimeError('broken')"))
    assert result.status == SubmissionStatus.graded
    return result.score


def slot_uid(grader: Grader) -> int:
    return grader.settings.sandbox_uid_base + grader.settings.sandbox_slot


def processes_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
            if str(uid) in uids:
                pids.append(int(entry.name))
    return pids


def assert_no_processes_left(grader: Grader) -> None:
    deadline = time.monotonic() + 3
    while processes_of(slot_uid(grader)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_of(slot_uid(grader)) == []


def assert_still_grades(grader: Grader) -> None:
    result = grader.grade(ASSIGNMENT, "honest.py", HONEST.encode())
    assert result.status == SubmissionStatus.graded
    assert result.score == FULL_SCORE
    assert_no_processes_left(grader)


def assert_nothing_leaked(result, *secrets_: str) -> None:
    text = result.model_dump_json()
    for secret in (CANARY, *secrets_):
        assert secret not in text


def feedback(result, check: str) -> str:
    return next(t.feedback for t in result.tests if t.name == check)


def status_of(result, check: str) -> CheckStatus:
    return next(t.status for t in result.tests if t.name == check)


# ----------------------------------------------------------------------------- reading

def test_cannot_read_the_reference_solution(hostile, earned_without_tensor_tensor):
    path = REPOSITORY / "reference" / ASSIGNMENT / "checks.py"
    marker = "def _generator_source"
    assert marker in path.read_text()
    result = hostile.grade(ASSIGNMENT, "peek.py", with_attack(f"""
        for path in [{str(path)!r}, {str(REPOSITORY / "reference")!r} + "/{ASSIGNMENT}/reference.py"]:
            try:
                raise RuntimeError("leaked " + open(path).read())
            except OSError as exc:
                print("blocked", type(exc).__name__)
        raise RuntimeError("could not read the checks")
    """))
    assert_nothing_leaked(result, marker)
    assert "could not read the checks" in feedback(result, "tensor_tensor_shape_dtype")
    assert "blocked FileNotFoundError" in result.output.stdout
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_cannot_read_the_database(hostile, secret_files, earned_without_tensor_tensor):
    _, database = secret_files
    result = hostile.grade(ASSIGNMENT, "db.py", with_attack(f"""
        try:
            print(open({str(database)!r}, "rb").read())
        except OSError as exc:
            raise RuntimeError("database: " + type(exc).__name__)
    """))
    assert_nothing_leaked(result)
    assert "database: FileNotFoundError" in feedback(result, "tensor_tensor_shape_dtype")
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_cannot_read_etc_shadow(hostile, earned_without_tensor_tensor):
    shadow_lines = [line for line in Path("/etc/shadow").read_text().splitlines() if line.strip()]
    result = hostile.grade(ASSIGNMENT, "shadow.py", with_attack("""
        import os
        print(sorted(os.listdir("/etc")))
        raise RuntimeError("shadow: " + open("/etc/shadow").read())
    """))
    assert_nothing_leaked(result, *shadow_lines)
    assert "FileNotFoundError" in feedback(result, "tensor_tensor_shape_dtype")
    assert "'shadow'" not in result.output.stdout
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_cannot_read_other_processes_environments(hostile, earned_without_tensor_tensor):
    result = hostile.grade(ASSIGNMENT, "environ.py", with_attack("""
        import os
        seen = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    seen[pid] = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
                except OSError as exc:
                    seen[pid] = type(exc).__name__
        print("pids", sorted(seen))
        raise RuntimeError(repr(seen))
    """))
    assert_nothing_leaked(result)
    assert "pids ['1']" in result.output.stdout  # a PID namespace of its own: only itself
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_the_zygote_environment_holds_nothing(hostile):
    result = hostile.grade(ASSIGNMENT, "env.py", with_attack("""
        import os
        print("ENV", sorted(os.environ.items()))
        print("SELF", open("/proc/self/environ", "rb").read())
    """, at_import=True))
    assert_nothing_leaked(result)
    assert "ENV" in result.output.stdout and "TORCHGRADE" not in result.output.stdout
    assert result.score == FULL_SCORE  # the honest part earns its points
    assert_still_grades(hostile)


# ----------------------------------------------------------------------------- network

@pytest.mark.parametrize("port", [6379, 5432])
def test_no_tcp_to_local_services(hostile, port, earned_without_tensor_tensor):
    key = f"torchgrade:hostile:{secrets.token_hex(4)}"
    result = hostile.grade(ASSIGNMENT, "net.py", with_attack(f"""
        import socket
        errors = []
        for family, address in ((socket.AF_INET, ("127.0.0.1", {port})), (socket.AF_INET6, ("::1", {port}))):
            try:
                connection = socket.socket(family, socket.SOCK_STREAM)
                connection.connect(address)
                connection.sendall(b"SET {key} 1\\r\\n")
            except OSError as exc:
                errors.append(type(exc).__name__)
        raise RuntimeError("network: " + ",".join(errors))
    """))
    assert "network: PermissionError,PermissionError" in feedback(result, "tensor_tensor_shape_dtype")
    if port == 6379:
        assert redis.Redis(host="127.0.0.1", port=6379).get(key) is None
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


# ----------------------------------------------------------------------------- resources

def test_fork_bomb_is_contained(hostile, earned_without_tensor_tensor):
    started = time.monotonic()
    result = hostile.grade(ASSIGNMENT, "forkbomb.py", with_attack("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """))
    assert status_of(result, "tensor_tensor_shape_dtype") == CheckStatus.timeout
    assert result.score <= earned_without_tensor_tensor
    assert time.monotonic() - started < 60
    assert_still_grades(hostile)


def test_twenty_gigabyte_allocation_is_a_memory_verdict(hostile, earned_without_tensor_tensor):
    result = hostile.grade(ASSIGNMENT, "alloc.py", with_attack("""
        hoard = torch.empty(5 * 2**30)  # 20 GB of float32
        return hoard
    """))
    assert status_of(result, "tensor_tensor_distribution") == CheckStatus.memory
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_infinite_loop_ignoring_sigterm_is_killed(hostile, earned_without_tensor_tensor):
    result = hostile.grade(ASSIGNMENT, "loop.py", with_attack("""
        import signal
        for sig in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            pass
    """))
    assert status_of(result, "tensor_tensor_shape_dtype") == CheckStatus.timeout
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_five_gigabyte_file_is_capped(hostile, earned_without_tensor_tensor):
    before = os.statvfs("/").f_bfree
    result = hostile.grade(ASSIGNMENT, "disk.py", with_attack("""
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        written = 0
        chunk = b"x" * (1 << 20)
        try:
            with open("/home/student/huge.bin", "wb") as handle:
                for _ in range(5 * 1024):
                    handle.write(chunk)
                    handle.flush()
                    written += len(chunk)
        except OSError as exc:
            raise RuntimeError(f"stopped after {written >> 20} MB: {type(exc).__name__}")
    """))
    message = feedback(result, "tensor_tensor_shape_dtype")
    assert "stopped after" in message and "OSError" in message
    assert int(message.split("stopped after ")[1].split(" MB")[0]) <= 256
    assert os.statvfs("/").f_bfree > before - (512 << 20) // os.statvfs("/").f_frsize
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_daemon_does_not_outlive_the_job(hostile):
    result = hostile.grade(ASSIGNMENT, "daemon.py", with_attack("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    time.sleep(0.1)
            os._exit(0)
    """, at_import=True))
    assert result.score == FULL_SCORE
    assert_no_processes_left(hostile)
    assert_still_grades(hostile)


# ----------------------------------------------------------------------------- processes

def test_cannot_kill_its_parent_or_the_engine(hostile, earned_without_tensor_tensor):
    zygote = hostile.sandbox.process.pid
    result = hostile.grade(ASSIGNMENT, "killer.py", with_attack(f"""
        import os, signal
        for pid in [os.getppid(), {os.getpid()}, {zygote}, *range(2, 4096)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        raise RuntimeError("still here")
    """))
    assert "still here" in feedback(result, "tensor_tensor_shape_dtype")
    assert hostile.sandbox.alive and hostile.sandbox.process.pid == zygote
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_exiting_zero_early_is_a_crash_not_a_pass(hostile, earned_without_tensor_tensor):
    result = hostile.grade(ASSIGNMENT, "exit.py", with_attack("""
        import os
        os._exit(0)
    """))
    assert status_of(result, "tensor_tensor_shape_dtype") == CheckStatus.crashed
    assert "exited (status 0)" in feedback(result, "tensor_tensor_shape_dtype")
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


# ----------------------------------------------------------------------------- forged results

def test_fake_results_printed_or_written_change_nothing(hostile):
    zeros = hostile.grade(ASSIGNMENT, "zeros.py", with_attack("return torch.zeros_like(mean)"))
    result = hostile.grade(ASSIGNMENT, "forger.py", with_attack("""
        import json, os
        fake = {"status": "graded", "score": 32, "max_score": 32, "tests": [{"name": "tensor_tensor_shape_dtype",
                "score": 2, "max_score": 2, "status": "passed"}]}
        print(json.dumps(fake))
        os.write(1, json.dumps({"ok": True, "value": 1}).encode())
        for path in ("/home/student/result.json", "/tmp/result.json"):
            open(path, "w").write(json.dumps(fake))
        return torch.zeros_like(mean)
    """))
    assert '"score": 32' in result.output.stdout  # it was printed, and only printed
    assert status_of(result, "tensor_tensor_distribution") == CheckStatus.failed
    assert result.score == zeros.score  # exactly what returning zeros earns, forging added nothing
    assert_still_grades(hostile)


def test_monkeypatched_comparisons_fool_nobody(hostile):
    copied_mean = with_attack("""
        import torch.testing
        torch.allclose = lambda *args, **kwargs: True
        torch.equal = lambda *args, **kwargs: True
        torch.testing.assert_close = lambda *args, **kwargs: None
        torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
    """, at_import=True).replace(b"return torch.normal(mean, std)\n\ndef normal_tensor_scalar",
                                 b"return mean.clone()\n\ndef normal_tensor_scalar", 1)
    result = hostile.grade(ASSIGNMENT, "patcher.py", copied_mean)
    assert status_of(result, "tensor_tensor_distribution") == CheckStatus.failed
    assert "copied from the mean" in feedback(result, "tensor_tensor_distribution")
    assert result.score < FULL_SCORE
    assert_still_grades(hostile)


def test_tensor_subclass_is_not_trusted(hostile, earned_without_tensor_tensor):
    result = hostile.grade(ASSIGNMENT, "subclass.py", with_attack("""
        class Agreeable(torch.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                if func.__name__ in ("allclose", "equal", "eq", "__eq__", "isclose"):
                    return True
                return super().__torch_function__(func, types, args, kwargs or {})
        return torch.zeros_like(mean).as_subclass(Agreeable)
    """))
    assert "plain torch.Tensor" in feedback(result, "tensor_tensor_shape_dtype")
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_pickle_bomb_is_never_unpickled(hostile, tmp_path, earned_without_tensor_tensor):
    marker = tmp_path / "pwned"
    result = hostile.grade(ASSIGNMENT, "pickle.py", with_attack(f"""
        import os
        class Bomb:
            def __reduce__(self):
                return (os.system, ("touch {marker}",))
        return Bomb()
    """))
    assert not marker.exists()
    assert "should be a torch.Tensor, but it is a Bomb" in feedback(result, "tensor_tensor_shape_dtype")
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_forged_wire_values_are_validated(hostile, earned_without_tensor_tensor):
    result = hostile.grade(ASSIGNMENT, "forged.py", with_attack("""
        class Forged:
            def __wire__(self, encoder):
                encoder.blobs.append(b"\\x00" * 3)
                return {"__tensor__": {"dtype": "float32", "shape": [1 << 30], "blob": len(encoder.blobs) - 1}}
        return Forged()
    """))
    assert "cannot be checked" in feedback(result, "tensor_tensor_shape_dtype")
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_four_gigabyte_tensor_is_refused_before_it_is_sent(hostile, earned_without_tensor_tensor):
    result = hostile.grade(ASSIGNMENT, "big.py", with_attack("""
        return torch.zeros(1).expand(2**30)  # 4 GB once made contiguous
    """))
    assert "exceeds the output cap" in feedback(result, "tensor_tensor_shape_dtype")
    assert result.score <= earned_without_tensor_tensor
    assert_still_grades(hostile)


def test_stdout_flood_is_capped(hostile):
    result = hostile.grade(ASSIGNMENT, "flood.py", with_attack("""
        import sys
        for _ in range(20000):
            sys.stdout.write("x" * 1000 + "\\n")
    """, at_import=True))
    assert result.score == FULL_SCORE
    assert result.output.truncated
    assert len(result.output.stdout) <= 1100 * 1024
    assert_still_grades(hostile)


def test_hidden_inputs_printed_or_raised_stay_hidden_from_students(hostile):
    result = hostile.grade(ASSIGNMENT, "spy.py", with_attack("""
        if mean.dim() == 2 and mean.shape[1] == 1:  # the hidden broadcasting check's inputs
            values = ",".join(f"{v:.6f}" for v in mean.flatten().tolist())
            print("HIDDEN", values)
            raise RuntimeError("HIDDEN " + values)
    """))
    hidden_values = result.hidden_output.stdout.split("HIDDEN ")[1].split()[0]
    student_view = result.for_student().model_dump_json()
    assert hidden_values not in student_view
    assert "HIDDEN" not in student_view
    assert status_of(result, "broadcasting") == CheckStatus.error  # one cause, one status: the student's exception
    assert "raised RuntimeError" in feedback(result, "broadcasting")
    assert_still_grades(hostile)
