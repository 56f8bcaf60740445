"""Hostile submissions that try to exhaust the worker or outlive their job: a fork bomb,
memory, a loop that ignores SIGTERM, disk and inodes, descriptors and threads, daemons and
background processes, CPU-burning children, and DataLoader workers that misbehave.
"""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.hostile.harness import (REFERENCE, dataset_pack, expected_score, good_file, refused_readings,
                                   selftest_source, with_epilogue, with_prelude)

DATASET = dataset_pack()
needs_dataset = pytest.mark.skipif(DATASET is None, reason="no image-dataset assignment with hidden data here")


def points(assignment: str, check: str) -> float:
    manifest = tomllib.loads((REFERENCE / assignment / "manifest.toml").read_text())
    return float(next(c["points"] for c in manifest["checks"] if c["name"] == check))


def test_fork_bomb_at_import(stack, marker):
    source = with_prelude("""
        import os
        print("forking", flush=True)
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, selftest_source("w1-from-numpy", "good_from_numpy.py"), stack.facts(marker))
    shown = stack.attack("w1-from-numpy", source, filename="from_numpy.py", marker=marker)
    assert (shown.student["status"], shown.score) == ("timeout", 0)
    assert "forking" in shown.stdout  # what it printed before it was stopped is kept


def test_twenty_gigabytes_in_one_call(stack, marker):
    host = selftest_source("w2-normalize", "good_view_broadcast.py")
    wrapper = """
        _normalize = normalize

        def normalize(t, mean, std):
            {body}
            return _normalize(t, mean, std)
    """
    baseline = stack.baseline("w2-normalize", with_epilogue(wrapper.format(body="raise MemoryError"), host,
                                                              stack.facts(marker)))
    hoard = "_hoard = torch.ones(5 * 2**30)  # 20 GB of float32"
    shown = stack.attack("w2-normalize", with_epilogue(wrapper.format(body=hoard), host, stack.facts(marker)),
                         filename="normalize.py", marker=marker)
    assert re.search("MemoryError|can't allocate memory", shown.test("normalize_values")["feedback"])
    assert shown.score == baseline["score"] < 16


def test_loop_ignoring_sigterm(stack, marker):
    host = selftest_source("w1-logistic-regression", "good_course_loop.py")
    shown = stack.attack("w1-logistic-regression", with_epilogue("""
        import signal

        def train_logistic_regression(x, y, max_iters=1000):
            for caught in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU, signal.SIGALRM):
                signal.signal(caught, signal.SIG_IGN)
            while True:
                pass
    """, host, stack.facts(marker)), filename="logistic.py", marker=marker)
    assert shown.test("output_shape")["status"] == "timeout"
    assert shown.student["status"] == "graded" and shown.score == 0


def test_disk_filled_through_every_writable_folder(stack, marker):
    source = with_prelude("""
        import os, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        _chunk = b"x" * (1 << 20)
        for _folder in ("/home/student", "/tmp", "/dev/shm"):
            _written = 0
            try:
                with open(f"{_folder}/{_HOST['marker']}.bin", "wb") as _file:
                    while _written < 5 << 30:
                        _file.write(_chunk)
                        _file.flush()
                        _written += len(_chunk)
            except OSError as _error:
                print(f"{_folder}: stopped at {_written >> 20} MB by errno {_error.errno}", flush=True)
            os.remove(f"{_folder}/{_HOST['marker']}.bin")
    """, selftest_source("w1-hello", "good_print_version.py"), stack.facts(marker))
    shown = stack.attack("w1-hello", source, filename="hello.py", marker=marker)
    stops = re.findall(r"(\S+): stopped at (\d+) MB by errno (\d+)", shown.stdout)
    assert len(stops) == 3, shown.stdout
    assert all(int(mb) <= 256 for _, mb, _ in stops)
    assert shown.score == 5


def test_inode_flood(stack, marker):
    source = with_prelude("""
        import os
        _created = 0
        try:
            while _created < 10**7:
                os.close(os.open(f"/tmp/{_created}", os.O_CREAT | os.O_WRONLY))
                _created += 1
        except OSError as _error:
            print(f"stopped after {_created} files by errno {_error.errno}", flush=True)
    """, selftest_source("w1-normal-modes", "good_torch_normal.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    stopped = re.search(r"stopped after (\d+) files by errno 28", shown.stdout)
    assert stopped and int(stopped.group(1)) <= 16384, shown.stdout
    assert shown.score == 32


def test_descriptors_and_threads_exhausted(stack, marker):
    source = with_prelude("""
        import os, threading, time
        _files = []
        try:
            while True:
                _files.append(open("/dev/null"))
        except OSError as _error:
            print(f"descriptors: {len(_files)} then errno {_error.errno}", flush=True)
        for _file in _files:
            _file.close()
        _stop = threading.Event()
        _threads = []
        try:
            while len(_threads) < 10000:
                _thread = threading.Thread(target=_stop.wait, daemon=True)
                _thread.start()
                _threads.append(_thread)
        except RuntimeError:
            print(f"threads: {len(_threads)} then refused", flush=True)
        _stop.set()
        for _thread in _threads:
            _thread.join()
    """, selftest_source("w2-normalize", "good_clone_loop.py"), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    descriptors = re.search(r"descriptors: (\d+) then errno 24", shown.stdout)
    threads = re.search(r"threads: (\d+) then refused", shown.stdout)
    assert descriptors and int(descriptors.group(1)) < 256
    assert threads and int(threads.group(1)) < 64
    assert shown.score == 16 - refused_readings(shown, "w2-normalize")


def test_double_forked_daemon(stack, marker):
    source = with_prelude("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                for _descriptor in (0, 1, 2):
                    os.close(_descriptor)
                while True:
                    time.sleep(0.05)
            os._exit(0)
        os.wait()
    """, selftest_source("w1-hello", "good_guarded_course.py"), stack.facts(marker))
    shown = stack.attack("w1-hello", source, filename="hello.py", marker=marker)
    assert shown.score == 5


def test_background_processes_that_ignore_hangups(stack, marker):
    source = with_prelude("""
        import subprocess
        _sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)
        _burner = subprocess.Popen(["sh", "-c", "trap '' HUP TERM INT; while :; do :; done"], start_new_session=True)
        print("started", _sleeper.pid > 1, _burner.pid > 1, flush=True)
    """, selftest_source("w1-from-numpy", "good_as_tensor.py"), stack.facts(marker))
    shown = stack.attack("w1-from-numpy", source, filename="from_numpy.py", marker=marker)
    assert "started True True" in shown.stdout
    assert shown.score == 12


def test_cpu_burning_children(stack, marker):
    source = with_prelude("""
        import os
        for _ in range(8):
            if os.fork() == 0:
                while True:
                    pass
    """, selftest_source("w1-normal-modes", "good_randn_affine.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    assert shown.score == 32


@needs_dataset
def test_dataloader_workers_start_daemons_and_signal_the_job(stack, marker):
    cls = {"w2-dogcat-dataset": "DogCatDataset", "w2-rmb-dataset": "RMBDataset"}[DATASET]
    source = with_epilogue(f"""
        import os, signal, time
        import torch.utils.data

        _getitem = {cls}.__getitem__

        def _spawn_and_signal():
            if os.fork() == 0:
                os.setsid()
                os.closerange(0, 1 << 16)  # a daemon lets go of the DataLoader's pipes
                while True:
                    time.sleep(0.05)
            for _signal in (signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV, signal.SIGSTOP):
                _probe(f"signal {{_signal.name}} to PID 1", lambda: os.kill(1, _signal))

        def _hostile_getitem(self, index):
            if torch.utils.data.get_worker_info() is not None and not getattr(self, "_spawned", False):
                self._spawned = True
                _spawn_and_signal()
            return _getitem(self, index)

        {cls}.__getitem__ = _hostile_getitem
    """, selftest_source(DATASET, good_file(DATASET)), stack.facts(marker))
    shown = stack.attack(DATASET, source, filename="my_dataset.py", marker=marker)
    assert shown.test("dataloader")["status"] == "passed"
    assert shown.score == expected_score(DATASET, good_file(DATASET))


@needs_dataset
def test_dataloader_workers_hoard_memory(stack, marker):
    cls = {"w2-dogcat-dataset": "DogCatDataset", "w2-rmb-dataset": "RMBDataset"}[DATASET]
    source = with_epilogue(f"""
        import torch.utils.data

        _getitem = {cls}.__getitem__

        def _hoarding_getitem(self, index):
            if torch.utils.data.get_worker_info() is not None:
                self._hoard = torch.ones(5 * 2**30)  # 20 GB in each worker
            return _getitem(self, index)

        {cls}.__getitem__ = _hoarding_getitem
    """, selftest_source(DATASET, good_file(DATASET)), stack.facts(marker))
    shown = stack.attack(DATASET, source, filename="my_dataset.py", marker=marker)
    assert shown.test("dataloader")["status"] in ("failed", "error", "memory")
    assert shown.score == expected_score(DATASET, good_file(DATASET)) - points(DATASET, "dataloader")
