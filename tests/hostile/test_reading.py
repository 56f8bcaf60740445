"""Hostile submissions that try to read what lies outside their job: the pack's reference code
and checks, the hidden data's private answer keys, the settings and database files, other
students' code, the host's accounts, other processes, and secrets in the job's own environment,
memory and descriptors.  Each is a real submission to a real assignment with one attack in it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from grader.sandbox.host import readonly_paths
from tests.hostile.harness import (REPOSITORY, dataset_pack, expected_score, good_file, refused_readings,
                                   selftest_source, with_epilogue, with_prelude)

DATASET = dataset_pack()
needs_dataset = pytest.mark.skipif(DATASET is None, reason="no image-dataset assignment with hidden data here")


def test_reference_solution_and_checks_are_out_of_reach(stack, marker):
    source = with_prelude("""
        for _root in (_HOST["reference_dir"], _HOST["real_reference_dir"], _HOST["repository"] + "/reference",
                      "../reference", "/reference"):
            for _name in ("reference.py", "checks.py", "manifest.toml"):
                _probe(f"{_name} under {_root}", lambda: open(f"{_root}/w1-normal-modes/{_name}").read())
        _probe("the checker's modules", lambda: __import__("grader.checks"))
    """, selftest_source("w1-normal-modes", "good_torch_normal.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    assert shown.stdout.count("FileNotFoundError") == 15
    assert "the checker's modules: ModuleNotFoundError" in shown.stdout
    assert shown.score == 32


@needs_dataset
def test_private_answer_keys_are_out_of_reach(stack, marker):
    private_files = sorted(p.name for p in stack.settings.data_dir.glob(f"hidden/{DATASET}-*/private/*"))
    source = with_prelude(f"""
        import os
        _mounts = [line.split() for line in open("/proc/self/mountinfo")]
        _source = next(fields[3] for fields in _mounts if fields[4] == "/data")
        _private = os.path.dirname(_source) + "/private"
        _probe("files under /data", lambda: sorted(os.path.join(d, f) for d, _, fs in os.walk("/data") for f in fs))
        _probe("private folder listing", lambda: os.listdir(_private))
        for _name in {private_files!r}:
            _probe(f"{{_name}} at its host path", lambda: open(f"{{_private}}/{{_name}}", "rb").read())
            _probe(f"{{_name}} beside /data", lambda: open(f"/data/../private/{{_name}}", "rb").read())
            _probe(f"{{_name}} through /proc/self/root",
                   lambda: open(f"/proc/self/root{{_private}}/{{_name}}", "rb").read())
    """, selftest_source(DATASET, good_file(DATASET)), stack.facts(marker))
    shown = stack.attack(DATASET, source, filename="my_dataset.py", marker=marker)
    assert "answer-key-canary.json at its host path: FileNotFoundError" in shown.stdout
    listed = next(line for line in shown.stdout.splitlines() if line.startswith("files under /data"))
    assert not any(name in listed for name in private_files) and "private" not in listed
    assert "private folder listing: FileNotFoundError" in shown.stdout
    assert shown.score == expected_score(DATASET, good_file(DATASET))


def test_host_paths_in_mountinfo_lead_nowhere(stack, marker):
    source = with_prelude("""
        import os
        _roots = sorted({line.split()[3] for line in open("/proc/self/mountinfo")} - {"/"})
        for _root in _roots:
            _parent = os.path.dirname(_root.rstrip("/"))
            _probe(f"beside {_root}", lambda: sorted(os.listdir(_parent)))
        _probe("the repository", lambda: sorted(os.listdir(_HOST["repository"])))
        _probe("the repository's .git", lambda: os.listdir(_HOST["repository"] + "/.git"))
        _probe("the data directory", lambda: os.listdir(_HOST["data_dir"]))
        _probe("the host root through PID 1", lambda: sorted(os.listdir("/proc/1/root")))
    """, selftest_source("w2-normalize", "good_view_broadcast.py"), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    bound = sorted({Path(p).relative_to(REPOSITORY).parts[0] for p in readonly_paths()
                    if p.startswith(f"{REPOSITORY}/")})
    repository = repr(bound) if bound else "FileNotFoundError"
    assert f"the repository: {repository}" in shown.stdout  # only the way to the virtual environment, if it lies there
    assert "the repository's .git: FileNotFoundError" in shown.stdout
    assert "the data directory: FileNotFoundError" in shown.stdout
    assert "'var'" not in shown.stdout and "'reference'" not in shown.stdout
    assert shown.score == 16


def test_settings_database_and_logs_are_out_of_reach(stack, marker):
    targets = ["{data_dir}/.env", "{data_dir}/torchgrade.sqlite3", "{repository}/.env", "{log_dir}/worker.log",
               "{log_dir}/api.log", "/etc/postgresql", "/var/lib/postgresql", "/var/run/postgresql/.s.PGSQL.5432",
               "/var/lib/redis", "/var/log/redis/ci.log", "/root/.bash_history", "/root/.pgpass"]
    source = with_prelude(f"""
        import os
        for _target in {targets!r}:
            _path = _target.format(**_HOST)
            _probe(_target, lambda: os.listdir(_path) if os.path.isdir(_path) else open(_path, "rb").read())
    """, selftest_source("w1-logistic-regression", "good_course_loop.py"), stack.facts(marker))
    shown = stack.attack("w1-logistic-regression", source, filename="logistic.py", marker=marker)
    for target in targets:
        assert f"{target}: FileNotFoundError" in shown.stdout
    assert shown.score == 22


def test_other_students_code_is_not_left_behind(stack, marker):
    source = with_prelude("""
        import os, re
        _found = []
        for _top in ("/tmp", "/dev/shm", "/home", "/var", "/run"):
            for _folder, _, _files in os.walk(_top):
                for _name in _files:
                    _path = os.path.join(_folder, _name)
                    try:
                        _text = open(_path, errors="replace").read(1 << 20)
                    except OSError:
                        _text = ""
                    if re.search("vict" + "im-[0-9a-f]{8}", _name + _text):
                        _found.append(_path)
        print("LEFTOVERS", _found, flush=True)
    """, selftest_source("w1-from-numpy", "good_from_numpy.py"), stack.facts(marker))
    shown = stack.attack("w1-from-numpy", source, filename="from_numpy.py", marker=marker)
    assert "LEFTOVERS []" in shown.stdout
    assert shown.score == 12


def test_host_accounts_and_shadow_are_out_of_reach(stack, marker):
    source = with_prelude("""
        import os
        _probe("etc listing", lambda: sorted(os.listdir("/etc")))
        _probe("shadow", lambda: open("/etc/shadow").read())
        _probe("gshadow", lambda: open("/etc/gshadow").read())
        _probe("sudoers", lambda: open("/etc/sudoers").read())
        _probe("passwd", lambda: open("/etc/passwd").read())
        _probe("root's home", lambda: sorted(os.listdir("/root")))
        _probe("root's ssh keys", lambda: os.listdir("/root/.ssh"))
    """, selftest_source("w1-hello", "good_print_version.py"), stack.facts(marker))
    shown = stack.attack("w1-hello", source, filename="hello.py", marker=marker)
    synthetic_etc = sorted(["group", "passwd"] + [name for name in ("ld.so.cache", "localtime")
                                                   if Path("/etc", name).exists()])
    assert f"etc listing: {synthetic_etc!r}" in shown.stdout
    for what in ("shadow", "gshadow", "sudoers", "root's ssh keys"):
        assert f"{what}: FileNotFoundError" in shown.stdout
    interpreter_under_root = sorted({Path(p).parts[2] for p in readonly_paths() if p.startswith("/root/")})
    root_home = repr(interpreter_under_root) if interpreter_under_root else "FileNotFoundError"
    assert f"root's home: {root_home}" in shown.stdout  # only the way to the interpreter, if it lies there
    assert shown.score == 5


def test_other_processes_are_invisible(stack, marker):
    source = with_prelude("""
        import os
        _probe("pids", lambda: sorted(p for p in os.listdir("/proc") if p.isdigit()))
        for _pid in _HOST["worker_pids"] + [_HOST["checker_pid"]]:
            for _part in ("environ", "cmdline", "maps", "mem", "root", "cwd"):
                _path = f"/proc/{_pid}/{_part}"
                _probe(f"{_part} of a host process", lambda: os.listdir(_path) if _part in ("root", "cwd")
                       else open(_path, "rb").read(4096))
    """, selftest_source("w2-normalize", "good_clone_loop.py"), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    assert "pids: ['1']" in shown.stdout
    probes = [line for line in shown.stdout.splitlines() if "of a host process" in line]
    assert probes and all(line.endswith("FileNotFoundError") for line in probes)
    assert shown.score == 16


def test_environment_holds_no_settings(stack, marker):
    source = with_prelude("""
        import os
        _probe("environment", lambda: dict(os.environ))
        _probe("initial environment", lambda: open("/proc/self/environ", "rb").read())
        _probe("PID 1 environment", lambda: open("/proc/1/environ", "rb").read())
        _probe("auxiliary vector", lambda: open("/proc/self/auxv", "rb").read())
    """, selftest_source("w1-normal-modes", "bad_variance_as_std.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    assert "environment: {'PATH'" in shown.stdout
    assert "TORCHGRADE" not in shown.stdout and "HOSTILE" not in shown.stdout
    assert shown.score == expected_score("w1-normal-modes", "bad_variance_as_std.py")


def test_memory_holds_no_secrets(stack, marker):
    source = with_prelude("""
        import re
        # a secret is one of these prefixes followed by what the pattern says (never the attack's own text)
        _needles = {b"secret-key-": b"[0-9a-f]{16}", b"worker-env-": b"[0-9a-f]{16}", b"vict" b"im-": b"[0-9a-f]{16}",
                    b"answer-key-": b"[0-9a-f]{16}", b"database-file-": b"[0-9a-f]{16}", b"postgresql://": b"[a-z]",
                    b"redis://": b"[0-9a-z]", b"TORCHGRADE_": b"[A-Z_]+="}
        _matches, _scanned = [], 0
        with open("/proc/self/mem", "rb", buffering=0) as _memory:
            for _line in open("/proc/self/maps"):
                _fields = _line.split()
                if not _fields[1].startswith("rw") or (len(_fields) > 5 and _fields[5].startswith("/")):
                    continue
                _start, _end = (int(x, 16) for x in _fields[0].split("-"))
                try:
                    _memory.seek(_start)
                    _chunk = _memory.read(_end - _start)
                except (OSError, OverflowError, ValueError):
                    continue
                _scanned += len(_chunk)
                for _needle, _rest in _needles.items():
                    _at = _chunk.find(_needle)
                    while _at >= 0:
                        if re.match(_rest, _chunk[_at + len(_needle):_at + len(_needle) + 40]):
                            _matches.append(_chunk[_at:_at + 60])
                        _at = _chunk.find(_needle, _at + 1)
        print("SCANNED", _scanned >> 20, "MB; MATCHES", _matches, flush=True)
    """, selftest_source("w1-from-numpy", "good_as_tensor.py"), stack.facts(marker))
    shown = stack.attack("w1-from-numpy", source, filename="from_numpy.py", marker=marker)
    scanned = re.search(r"SCANNED (\d+) MB; MATCHES \[\]", shown.stdout)
    assert scanned and int(scanned.group(1)) > 10, shown.stdout[-500:]
    assert shown.score == 12


def test_no_descriptor_reaches_the_worker(stack, marker):
    source = with_prelude("""
        import os, socket
        _fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
        _kinds = {}
        for _fd in _fds:
            try:
                _kinds[_fd] = os.readlink(f"/proc/self/fd/{_fd}").split(":")[0]
            except OSError:
                pass
        print("DESCRIPTORS", _kinds, flush=True)
        for _fd, _kind in _kinds.items():
            if _kind == "socket" and _fd != 3:
                _probe(f"peer of {_fd}", lambda: socket.socket(fileno=os.dup(_fd)).getpeername())
        def _is_open(fd):
            try:
                return bool(os.fstat(fd))
            except OSError:
                return False
        print("UNLISTED OPEN", [fd for fd in range(4, 4096) if fd not in _kinds and _is_open(fd)], flush=True)
    """, selftest_source("w1-logistic-regression", "good_normalised.py"), stack.facts(marker))
    shown = stack.attack("w1-logistic-regression", source, filename="logistic.py", marker=marker)
    kinds = re.search(r"DESCRIPTORS (\{.*\})", shown.stdout).group(1)
    assert kinds.count("socket") == 1 and "3: 'socket'" in kinds, kinds
    assert "UNLISTED OPEN []" in shown.stdout
    assert shown.score == 22


def test_hidden_inputs_printed_reach_only_the_instructor(stack, marker):
    source = with_epilogue("""
        _sampler = normal_tensor_tensor

        def normal_tensor_tensor(mean, std):
            print("SPY", ",".join(f"{v:.5f}" for v in mean.flatten().tolist()[:8]), flush=True)
            return _sampler(mean, std)
    """, selftest_source("w1-normal-modes", "good_torch_normal.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    visible = {line for line in shown.stdout.splitlines() if line.startswith("SPY ")}
    hidden = {line for line in shown.instructor["hidden_output"]["stdout"].splitlines() if line.startswith("SPY ")}
    assert visible and hidden - visible
    for line in hidden - visible:
        assert line.removeprefix("SPY ") not in shown.student_text
    assert shown.score == 32


@needs_dataset
def test_hidden_data_is_mounted_read_only(stack, marker):
    source = with_prelude("""
        import os
        _images = sorted(os.path.join(d, f) for d, _, fs in os.walk("/data") for f in fs if f.endswith(".jpg"))
        _probe("write a file", lambda: open(f"/data/{_HOST['marker']}", "w").write("x"))
        _probe("overwrite an image", lambda: open(_images[0], "r+b").write(b"\\xff" * 64))
        _probe("delete an image", lambda: os.remove(_images[1]))
        _probe("rename an image", lambda: os.rename(_images[2], _images[2] + ".bak"))
        _probe("chmod an image", lambda: os.chmod(_images[3], 0o777))
        _probe("hard-link an image", lambda: os.link(_images[4], "/home/student/linked.jpg"))
    """, selftest_source(DATASET, good_file(DATASET)), stack.facts(marker))
    shown = stack.attack(DATASET, source, filename="my_dataset.py", marker=marker)
    for what in ("write a file", "overwrite an image", "delete an image", "rename an image", "chmod an image"):
        assert re.search(f"{what}: (OSError|PermissionError)", shown.stdout), what
    assert "hard-link an image: " in shown.stdout
    assert shown.score == expected_score(DATASET, good_file(DATASET))


def test_the_interpreter_cannot_be_changed_for_later_jobs(stack, marker):
    source = with_prelude("""
        import os, site, sys
        for _folder in [p for p in sys.path if p.startswith("/") and p != "/home/student"] + [site.USER_SITE]:
            _probe(f"sitecustomize in {_folder}", lambda: open(f"{_folder}/sitecustomize.py", "w").write("x = 1"))
            _probe(f"a .pth file in {_folder}", lambda: open(f"{_folder}/{_HOST['marker']}.pth", "w").write("x"))
        _probe("torch itself", lambda: open(os.path.dirname(__import__("torch").__file__) + "/__init__.py", "a"))
    """, selftest_source("w2-normalize", "good_view_broadcast.py"), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    probes = [line for line in shown.stdout.splitlines() if line.startswith(("sitecustomize", "a .pth", "torch"))]
    assert len(probes) > 6 and all(re.search(r": (OSError|PermissionError|FileNotFoundError)$", p) for p in probes)
    assert not any(Path(folder, "sitecustomize.py").exists() for folder in sys.path if folder)
    assert shown.score == 16 - refused_readings(shown, "w2-normalize")
