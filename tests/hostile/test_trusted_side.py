"""Attacks on the trusted side itself (issue 10, classes 2 and 3): values that used to make a
check or the decoder raise in the checker (``internal_error``, retried, left unscored), and
values that made the checker spend unbounded CPU time, memory and feedback.

Each is a verdict for the student now, within the operator's bounds (``max_checker_cpu_s``,
``max_value_items``, ``max_decoded_mb``, ``max_cache_mb``, ``max_feedback_chars``,
``max_result_feedback_chars``), through the engine and through the HTTP API.
"""

from __future__ import annotations

import os
import resource

import pytest

from grader.config import EngineSettings
from grader.engine import Grader
from grader.status import CheckStatus, SubmissionStatus
from tests.hostile.harness import REFERENCE, expected_score, selftest_source, with_epilogue

NORMALIZE_GOOD = "good_view_broadcast.py"

NAN_CHANNEL_STATS = """
def channel_stats(images):
    c = images.shape[1]
    return [float("nan")] * c, [float("inf")] * c
"""

# An object that poses as a PIL image of size (2**31, 0): the runner encodes whatever its
# module, mode, size and tobytes say.
POSING_IMAGE = """
class Image:
    mode = "L"
    size = (2**31, 0)

    def tobytes(self):
        return b""


Image.__module__ = "PIL.Image"


def channel_stats(images):
    return Image(), Image()
"""

# A tensor whose shape the runner reports as [2**39, 2**39, 0] (no elements, so no bytes).
HUGE_EMPTY_SHAPE = """
import sys as _sys

_wire = _sys.modules["grader.sandbox.wire"]
_tensor = _wire.Encoder._tensor


def _lying_tensor(self, tensor):
    tree = _tensor(self, tensor)
    if tensor.numel() == 0:
        tree["__tensor__"]["shape"] = [2**39, 2**39, 0]
    return tree


_wire.Encoder._tensor = _lying_tensor


def normalize(t, mean, std):
    return t.new_zeros(0)
"""

LONG_CALL_CHAIN = 'CALL_CHAIN = ["DataLoader.__iter__"] * 60_000\n'

# grad_fn names of a megabyte each: feedback quotes what it got.
MEGABYTE_NAMES = """
def graph_facts(w, x):
    big = "Backward" * (1 << 17)
    names = ("w", "x", "a", "b", "y")
    return {"dy_dw": big, "dy_dx": big, "is_leaf": {n: big for n in names}, "grad_fn": {n: big for n in names}}
"""

# Every call answers with a mode "1" image of 2048 × 2048 pixels: 512 KB on the wire, 4 MB in PIL.
ONE_BIT_IMAGES = """
from PIL import Image as _Image


def normal_tensor_tensor(mean, std):
    return _Image.new("1", (2048, 2048))


normal_tensor_scalar = normal_scalar_tensor = normal_tensor_tensor


def normal_scalar_scalar(mean, std, size):
    return _Image.new("1", (2048, 2048))
"""


def normalize_with(epilogue: str) -> bytes:
    return with_epilogue(epilogue, selftest_source("w2-normalize", NORMALIZE_GOOD), {}).encode()


def grader_with(tmp_path_factory, offset: int, **caps) -> Grader:
    settings = EngineSettings(environment="test", data_dir=tmp_path_factory.mktemp("trusted-side"),
                        reference_dir=REFERENCE, max_wall_s=20, max_cpu_s=20,
                        sandbox_slot=int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + offset, **caps)
    return Grader(settings)


@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    with grader_with(tmp_path_factory, 220) as started:
        yield started


def by_name(result) -> dict:
    return {t.name: t for t in result.tests}


# ---------------------------------------------------------------------------- class 2: no grader faults

@pytest.mark.parametrize("epilogue, checks", [
    (NAN_CHANNEL_STATS, ["channel_stats_mean", "channel_stats_std", "channel_stats_hidden"]),
    (POSING_IMAGE, ["channel_stats_mean", "channel_stats_std", "channel_stats_hidden"]),
    (HUGE_EMPTY_SHAPE, ["normalize_values", "normalize_hidden"]),
])
def test_values_that_made_the_checker_raise_are_failed_checks(grader, epilogue, checks):
    result = grader.grade("w2-normalize", "normalize.py", normalize_with(epilogue))
    assert result.status == SubmissionStatus.graded, result.message
    for name in checks:
        test = by_name(result)[name]
        assert test.status in (CheckStatus.failed, CheckStatus.error) and test.score == 0.0, test
        assert test.feedback


def test_nan_statistics_are_named_in_the_feedback(grader):
    result = grader.grade("w2-normalize", "normalize.py", normalize_with(NAN_CHANNEL_STATS))
    assert "is nan, expected" in by_name(result)["channel_stats_mean"].feedback


# ---------------------------------------------------------------------------- class 3: bounded

def test_a_sixty_thousand_entry_call_chain_is_refused_unread(grader):
    result = grader.grade("w2-dataloader-chain", "chain.py", LONG_CALL_CHAIN.encode())
    assert result.status == SubmissionStatus.graded
    assert all(t.score == 0.0 for t in result.tests if t.max_score)
    assert any("60000 entries" in t.feedback for t in result.tests)
    assert len(result.model_dump_json()) < 64 << 10


def test_megabyte_strings_make_a_bounded_feedback(grader):
    result = grader.grade("w1-computational-graph", "graph.py", MEGABYTE_NAMES.encode())
    settings = grader.settings
    assert result.status == SubmissionStatus.graded
    assert all(len(t.feedback) <= settings.max_feedback_chars and len(t.detail) <= settings.max_feedback_chars
               for t in result.tests)
    assert len(result.message) + sum(len(t.feedback) for t in result.tests) <= settings.max_result_feedback_chars
    assert "more characters cut" in "".join(t.feedback for t in result.tests)


def test_the_checker_cpu_budget_ends_the_checks(tmp_path_factory):
    with grader_with(tmp_path_factory, 221, max_checker_cpu_s=1e-6) as grader:
        result = grader.grade("w2-normalize", "normalize.py",
                              selftest_source("w2-normalize", NORMALIZE_GOOD).encode())
    assert result.status == SubmissionStatus.graded
    statuses = [t.status for t in result.tests]
    assert statuses[0] == CheckStatus.timeout and "CPU time it gives one submission" in result.tests[0].feedback
    assert set(statuses[1:]) == {CheckStatus.skipped}, statuses


def test_decoded_bytes_are_bounded_per_submission_after_expansion(tmp_path_factory):
    """Without the bound, each call's image stays in the checker's cache, 8 times its wire size."""
    with grader_with(tmp_path_factory, 222, max_decoded_mb=10) as grader:
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = grader.grade("w1-normal-modes", "modes.py", ONE_BIT_IMAGES.encode())
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - grown
    assert result.status == SubmissionStatus.graded
    feedback = "\n".join(t.feedback for t in result.tests)
    assert "more than" in feedback and "once rebuilt" in feedback, feedback
    assert grown < 200 << 10  # kilobytes: the checker took in about 10 MB, not every call's 4 MB


# ---------------------------------------------------------------------------- through HTTP

def test_nan_statistics_through_http(stack, marker):
    source = with_epilogue(NAN_CHANNEL_STATS, selftest_source("w2-normalize", NORMALIZE_GOOD), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    assert shown.student["status"] == "graded"
    assert shown.score == expected_score("w2-normalize", NORMALIZE_GOOD) - 6  # the three channel_stats checks


def test_posing_image_through_http(stack, marker):
    source = with_epilogue(POSING_IMAGE, selftest_source("w2-normalize", NORMALIZE_GOOD), stack.facts(marker))
    shown = stack.attack("w2-normalize", source, filename="normalize.py", marker=marker)
    assert shown.student["status"] == "graded"
    assert shown.test("channel_stats_mean")["score"] == 0.0


def test_megabyte_feedback_through_http(stack, marker):
    shown = stack.attack("w1-normal-modes", MEGABYTE_NAMES + selftest_source("w1-normal-modes", "good_torch_normal.py"),
                         filename="modes.py", marker=marker)
    assert shown.student["status"] == "graded"
    assert len(shown.instructor_text) < 1 << 20
