"""Attacks on checks whose outcome only the job can see (issue 10, class 1): the student's
process replaces the helpers that observe it, switches off the profiling hook, or does the
forbidden work in another thread.  Points for those outcomes rest on a reading of the source in
the trusted process, so each attack scores exactly what the same submission scores without it.

Each attack runs through the engine, through the CLI (``torchgrade grade --json``) and through
the HTTP API with the hostile harness's real stack.
"""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from grader.config import EngineSettings
from grader.engine import Grader
from grader.status import SubmissionStatus
from tests.grader.test_cli import torchgrade
from tests.hostile.harness import REFERENCE, expected_score, selftest_source

# Replace the builtins that observe to_tensor in the job with ones that report sharing.
PATCHED_MEMORY_OBSERVER = """
import sys as _sys
import torch as _torch

_recipes = _sys.modules["grader.sandbox.recipes"]


def _claims_sharing(to_tensor, array):
    return {"tensor": to_tensor(array).detach().clone(), "tensor_write_seen": True, "array_write_seen": True}


def _claims_addresses(data_addresses, array):
    return [(1, 1), (1, 2), (1, 1 + array.strides[0])]


_recipes.BUILTINS["to_tensor_facts"] = _claims_sharing
_recipes.BUILTINS["data_addresses_answers"] = _claims_addresses
"""

# normalize runs transforms.Normalize in another thread (a profiling hook sees only its own
# thread), writes the result into t, and call_observed is replaced so that t looks unchanged.
THREADED_TORCHVISION_IN_PLACE = """
import queue as _queue
import sys as _sys
import threading as _threading

import torch
from torchvision import transforms as _transforms

_jobs, _done = _queue.Queue(), _queue.Queue()


def _worker():
    while True:
        t, mean, std = _jobs.get()
        _done.put(_transforms.Normalize(mean, std)(t))


_threading.Thread(target=_worker, daemon=True).start()


def normalize(t, mean, std):
    _jobs.put((t, mean, std))
    t.copy_(_done.get())
    return t


def _looks_clean(function, *args):
    before = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
    return {"result": function(*args), "arguments": before, "packages": {}}


_sys.modules["grader.sandbox.recipes"].BUILTINS["call_observed"] = _looks_clean
"""

# The profiling hook is switched off inside normalize, and the in-place change is undone for
# the observer by a module that takes the place of the recipes in sys.modules.
PROFILER_OFF_AND_MODULE_REPLACED = """
import sys as _sys
import types as _types

import torch
from torchvision.transforms import functional as _F


def normalize(t, mean, std):
    _sys.setprofile(None)
    return _F.normalize(t, mean, std, inplace=True)


_fake = _types.ModuleType("grader.sandbox.recipes")
_fake.__dict__.update(_sys.modules["grader.sandbox.recipes"].__dict__)
_fake.BUILTINS = dict(_fake.BUILTINS, call_observed=lambda f, *a: {"result": f(*[x.clone() for x in a[:1]], *a[1:]),
                                                                   "arguments": list(a), "packages": {}})
_sys.modules["grader.sandbox.recipes"] = _fake
_sys.modules["grader.sandbox.runner"].recipes = _fake
"""

ATTACKS = {
    "copying_to_tensor_patches_the_observer": ("w1-from-numpy", "bad_torch_tensor_copy.py", PATCHED_MEMORY_OBSERVER),
    "object_ids_patch_the_address_answers": ("w1-from-numpy", "bad_object_ids.py", PATCHED_MEMORY_OBSERVER),
    "threaded_torchvision_in_place": ("w2-normalize", "bad_variance.py", THREADED_TORCHVISION_IN_PLACE),
    "profiler_off_and_module_replaced": ("w2-normalize", "bad_variance.py", PROFILER_OFF_AND_MODULE_REPLACED),
}
# What each attack is after, and what it must not get: these checks fail.
TARGETS = {
    "copying_to_tensor_patches_the_observer": ["shares_memory", "other_shapes"],
    "object_ids_patch_the_address_answers": ["data_addresses"],
    "threaded_torchvision_in_place": ["does_not_modify_input", "without_torchvision"],
    "profiler_off_and_module_replaced": ["does_not_modify_input", "without_torchvision"],
}


def attack_source(name: str) -> str:
    assignment, host, attack = ATTACKS[name]
    return f"{selftest_source(assignment, host)}\n\n{textwrap.dedent(attack).strip()}\n"


def unearned_ceiling(name: str) -> float:
    """The most the attack may score: the host's own score, less the targets it may not keep."""
    assignment, host, _ = ATTACKS[name]
    return expected_score(assignment, host)


@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    settings = EngineSettings(environment="test", data_dir=tmp_path_factory.mktemp("self-reports"),
                        reference_dir=REFERENCE, max_wall_s=20, max_cpu_s=20,
                        sandbox_slot=int(os.environ.get("TORCHGRADE_SANDBOX_SLOT", "0")) + 200)
    with Grader(settings) as started:
        yield started


@pytest.mark.parametrize("name", ATTACKS)
def test_through_the_engine(grader, name):
    assignment = ATTACKS[name][0]
    result = grader.grade(assignment, "homework.py", attack_source(name).encode())
    assert result.status == SubmissionStatus.graded
    failed = {t.name: t for t in result.tests if t.score < t.max_score}
    assert set(TARGETS[name]) <= set(failed), result.model_dump_json(indent=1)
    assert all("reading your source" in failed[check].feedback or "changed its input" in failed[check].feedback
               or "ran torchvision" in failed[check].feedback or "holds a copy" in failed[check].feedback
               for check in TARGETS[name])
    assert result.score <= unearned_ceiling(name)


def test_through_the_cli(tmp_path):
    files = []
    for name in ATTACKS:
        if ATTACKS[name][0] == "w2-normalize":
            files.append(tmp_path / f"{name}.py")
            files[-1].write_text(attack_source(name))
    run = torchgrade("grade", "w2-normalize", *map(str, files), "--json", data_dir=tmp_path)
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(results) == len(files), run.stderr
    for result in results:
        scores = {t["name"]: t["score"] for t in result["tests"]}
        assert scores["does_not_modify_input"] == scores["without_torchvision"] == 0.0
        assert result["score"] <= expected_score("w2-normalize", "bad_variance.py")


@pytest.mark.parametrize("name", ["copying_to_tensor_patches_the_observer", "threaded_torchvision_in_place"])
def test_through_http(stack, marker, name):
    assignment = ATTACKS[name][0]
    shown = stack.attack(assignment, attack_source(name), filename="homework.py", marker=marker)
    for check in TARGETS[name]:
        assert shown.test(check)["score"] == 0.0
    assert shown.score <= unearned_ceiling(name)
