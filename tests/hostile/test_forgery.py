"""Hostile submissions that try to earn points they did not: results forged on stdout, in files
and on the grading channel, a patched runner, monkeypatched comparisons, tensor subclasses,
objects that run code when deserialised or lie through their dunders, and oversized or
malformed outputs.  Each scores exactly what the same submission scores without the attack.
"""

from __future__ import annotations

import pytest

from tests.hostile.harness import (dataset_pack, expected_score, good_file, refused_readings, selftest_source,
                                   with_epilogue, with_prelude)

DATASET = dataset_pack()
needs_dataset = pytest.mark.skipif(DATASET is None, reason="no image-dataset assignment with hidden data here")
VARIANCE = ("w1-normal-modes", "bad_variance_as_std.py")


def test_results_forged_on_stdout_and_in_files(stack, marker):
    source = with_prelude("""
        import json
        _forged = {"status": "graded", "score": 32, "max_score": 32, "tests": [
            {"name": name, "status": "passed", "score": 4, "max_score": 4} for name in
            ("tensor_tensor_distribution", "tensor_scalar_distribution", "hidden_distributions")]}
        print(json.dumps(_forged), flush=True)
        print("ok 12 passed, score 32/32", flush=True)
        for _path in ("/home/student/result.json", "/home/student/.torchgrade.json", "/tmp/result.json"):
            with open(_path, "w") as _file:
                json.dump(_forged, _file)
    """, selftest_source(*VARIANCE), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    assert '"score": 32' in shown.stdout  # printed, and only printed
    assert shown.test("tensor_tensor_distribution")["status"] == "failed"
    assert shown.score == expected_score(*VARIANCE)


def test_runner_patched_to_report_passes(stack, marker):
    source = with_prelude("""
        import grader.sandbox.runner as _runner
        _send = _runner.Runner._send

        def _forging_send(self, reply):
            if isinstance(reply, dict):
                reply.update(status="passed", verdict="passed", score=32, passed=True)
            return _send(self, reply)

        _runner.Runner._send = _forging_send
    """, selftest_source(*VARIANCE), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    assert shown.score == expected_score(*VARIANCE)


def test_monkeypatched_comparisons(stack, marker):
    source = with_prelude("""
        import math, numpy, torch, torch.testing
        torch.allclose = lambda *args, **kwargs: True
        torch.equal = lambda *args, **kwargs: True
        torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
        torch.testing.assert_close = lambda *args, **kwargs: None
        torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
        numpy.allclose = lambda *args, **kwargs: True
        math.isclose = lambda *args, **kwargs: True
    """, selftest_source("w2-normalize", "bad_variance.py"), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    assert shown.test("channel_stats_std")["status"] == "failed"
    assert shown.score == expected_score("w2-normalize", "bad_variance.py") - refused_readings(shown, "w2-normalize")


def test_tensor_subclass_that_claims_equality(stack, marker):
    host = selftest_source("w2-normalize", "bad_variance.py")
    wrapper = """
        import torch

        class {name}(torch.Tensor):
            {body}

        _stats = channel_stats

        def channel_stats(images):
            means, stds = _stats(images)
            return torch.tensor(means).as_subclass({name}), torch.tensor(stds).as_subclass({name})
    """
    plain = stack.baseline("w2-normalize", with_epilogue(wrapper.format(name="Stats", body="pass"), host,
                                                           stack.facts(marker)))
    agreeable = wrapper.format(name="Agreeable", body="""@classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                if getattr(func, "__name__", "") in ("allclose", "equal", "eq", "__eq__", "isclose"):
                    return True
                return super().__torch_function__(func, types, args, kwargs or {})""")
    shown = stack.attack("w2-normalize", with_epilogue(agreeable, host, stack.facts(marker)), filename="normalize.py",
                         marker=marker)
    assert shown.score == plain["score"] - refused_readings(shown, "w2-normalize") <= expected_score("w2-normalize", "bad_variance.py")


def test_object_that_runs_code_when_unpickled(stack, marker):
    host = selftest_source("w1-from-numpy", "good_from_numpy.py")
    baseline = stack.baseline("w1-from-numpy", with_epilogue("def to_tensor(arr):\n    return object()", host,
                                                             stack.facts(marker)))
    shown = stack.attack("w1-from-numpy", with_epilogue("""
        import os

        class _Bomb:
            def __reduce__(self):
                return (os.system, (f"touch /tmp/{_HOST['marker']}; touch {_HOST['data_dir']}/{_HOST['marker']}",))

            def __reduce_ex__(self, protocol):
                return self.__reduce__()

        def to_tensor(arr):
            return _Bomb()
    """, host, stack.facts(marker)), filename="from_numpy.py", marker=marker)
    assert shown.score == baseline["score"] < 12


def test_object_with_lying_dunders(stack, marker):
    host = selftest_source("w2-normalize", "good_view_broadcast.py")
    baseline = stack.baseline("w2-normalize", with_epilogue("def channel_stats(images):\n    return object()", host,
                                                            stack.facts(marker)))
    shown = stack.attack("w2-normalize", with_epilogue("""
        class _Liar:
            def __eq__(self, other):
                return True
            __ne__ = lambda self, other: False
            __len__ = lambda self: 2
            __iter__ = lambda self: iter(([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]))
            __getitem__ = lambda self, index: [0.5, 0.5, 0.5]
            __float__ = lambda self: 0.5
            __index__ = lambda self: 2
            __bool__ = lambda self: True
            __hash__ = lambda self: 0

        def channel_stats(images):
            return _Liar()
    """, host, stack.facts(marker)), filename="normalize.py", marker=marker)
    assert shown.score == baseline["score"] < 16


FRAME_WRAPPER = """
    import os, socket, struct, time
    _sampler = normal_tensor_tensor

    def normal_tensor_tensor(mean, std):
        {body}
"""
FORGED_FRAMES = {
    "nested past the stack": 'header = b"[" * 200000 + b"]" * 200000',
    "an integer of 5000 digits": 'header = b\'{"ok": true, "blobs": [], "value": \' + b"9" * 5000 + b"}"',
    "not JSON": 'header = bytes(range(256)) * 64',
}


@pytest.mark.parametrize("forged", FORGED_FRAMES)
def test_forged_frames_on_the_grading_channel(stack, marker, forged):
    host = selftest_source("w1-normal-modes", "good_torch_normal.py")
    baseline = stack.baseline("w1-normal-modes", with_epilogue(FRAME_WRAPPER.format(body="os._exit(3)"), host,
                                                               stack.facts(marker)))
    body = f"""{FORGED_FRAMES[forged]}
        socket.socket(fileno=3).sendall(struct.pack(">I", len(header)) + header)
        time.sleep(60)"""
    shown = stack.attack("w1-normal-modes", with_epilogue(FRAME_WRAPPER.format(body=body), host, stack.facts(marker)),
                         filename="normal_modes.py", marker=marker)
    assert shown.student["status"] == "graded"  # a verdict on the student, never a grader fault
    assert shown.test("tensor_tensor_shape_dtype")["status"] == "crashed"
    assert "corrupted the grading channel" in shown.test("tensor_tensor_shape_dtype")["feedback"]
    assert shown.score == baseline["score"] < 32


def test_forged_reply_to_the_import(stack, marker):
    source = with_prelude("""
        import socket, struct, time
        _header = b'{"ok": true, "blobs": [], "names": 5}'  # names that are not a list of names
        socket.socket(fileno=3).sendall(struct.pack(">I", len(_header)) + _header)
        time.sleep(60)
    """, selftest_source("w1-normal-modes", "good_torch_normal.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    assert (shown.student["status"], shown.score) == ("error", 0)
    assert "your module defines none of" in shown.student["message"]


def test_lone_surrogates_and_nul_characters(stack, marker):
    host = selftest_source("w1-logistic-regression", "good_course_loop.py")
    wrapper = """
        import os
        Q1 = "sigmoid maps wx + b into (0, 1){text}"

        def train_logistic_regression(x, y, max_iters=1000):
            os.write(1, b"raw bytes: \\xff\\xfe\\x00\\xc3\\n")
            raise ValueError("no model{text}")
    """
    baseline = stack.baseline("w1-logistic-regression", with_epilogue(wrapper.format(text=""), host,
                                                                       stack.facts(marker)))
    hostile_text = " \\ud800 and \\udcff \\x00"  # two lone surrogates (not a pair) and a NUL
    shown = stack.attack("w1-logistic-regression", with_epilogue(wrapper.format(text=hostile_text), host,
                                                                 stack.facts(marker)),
                         filename="logistic.py", marker=marker)
    assert "no model \\ud800 and \\udcff \x00" in shown.test("output_shape")["feedback"]
    assert shown.instructor["answers"]["Q1"].endswith("(0, 1) \\ud800 and \\udcff \\x00"), "NUL shown escaped"
    assert shown.score == baseline["score"] == 0


def test_stdout_and_stderr_floods(stack, marker):
    source = with_epilogue("""
        import os, sys
        sys.stdout.flush()  # what the script printed comes first
        for _ in range(400):
            os.write(1, b"x" * (1 << 17))
            os.write(2, bytes(range(256)) * 512)
    """, selftest_source("w1-hello", "good_print_version.py"), stack.facts(marker))
    shown = stack.attack("w1-hello", source, filename="hello.py", marker=marker)
    assert shown.student["output"]["truncated"]
    assert len(shown.instructor_text) < 2 << 20
    assert shown.score == 5


def test_huge_exception_message(stack, marker):
    host = selftest_source("w2-normalize", "good_clone_loop.py")
    wrapper = "def normalize(t, mean, std):\n    raise ValueError({message})"
    baseline = stack.baseline("w2-normalize", with_epilogue(wrapper.format(message='"wrong"'), host,
                                                            stack.facts(marker)))
    shown = stack.attack("w2-normalize", with_epilogue(wrapper.format(message='"wrong" * (10 << 20)'), host,
                                                       stack.facts(marker)), filename="normalize.py", marker=marker)
    assert len(shown.test("normalize_values")["feedback"]) < 2000
    assert shown.score == baseline["score"] < 16


def test_oversized_and_malformed_return_values(stack, marker):
    host = selftest_source("w1-from-numpy", "good_from_numpy.py")
    baseline = stack.baseline("w1-from-numpy", with_epilogue("""
        def to_tensor(arr):
            raise ValueError("too big")

        def data_addresses(arr, t):
            raise ValueError("too deep")
    """, host, stack.facts(marker)))
    shown = stack.attack("w1-from-numpy", with_epilogue("""
        import torch

        def to_tensor(arr):
            return torch.zeros(1).expand(2**31)  # 8 GB once made contiguous

        def data_addresses(arr, t):
            nested = []
            for _ in range(100000):
                nested = [nested]
            return nested, list(range(5 * 10**6))
    """, host, stack.facts(marker)), filename="from_numpy.py", marker=marker)
    assert shown.score == baseline["score"] < 12


def test_exit_zero_at_import(stack, marker):
    source = with_prelude("""
        import os
        print("all checks passed", flush=True)
        os._exit(0)
    """, selftest_source("w1-normal-modes", "good_torch_normal.py"), stack.facts(marker))
    shown = stack.attack("w1-normal-modes", source, filename="normal_modes.py", marker=marker)
    assert (shown.student["status"], shown.score) == ("crashed", 0)


@needs_dataset
def test_dataset_returns_forged_images(stack, marker):
    cls = {"w2-dogcat-dataset": "DogCatDataset", "w2-rmb-dataset": "RMBDataset"}[DATASET]
    host = selftest_source(DATASET, good_file(DATASET))
    baseline = stack.baseline(DATASET, with_epilogue(f"""
        def _raising_getitem(self, index):
            raise ValueError("no image")

        {cls}.__getitem__ = _raising_getitem
    """, host, stack.facts(marker)))
    shown = stack.attack(DATASET, with_epilogue(f"""
        _getitem = {cls}.__getitem__

        class _ForgedImage:
            __module__ = "PIL.Image"
            mode, size = "RGB", (4096, 4096)

            def tobytes(self):
                return b"\\x80" * 48

        def _forged_getitem(self, index):
            image, label = _getitem(self, index)
            return _ForgedImage(), label

        {cls}.__getitem__ = _forged_getitem
    """, host, stack.facts(marker)), filename="my_dataset.py", marker=marker)
    assert "cannot be checked" in shown.test("labels")["feedback"] or shown.test("labels")["status"] != "passed"
    assert shown.score <= baseline["score"]
