"""Readings of a submission's source (grader/compare/source.py): what they confirm, and the
attacks that make them refuse (points for outcomes only the job can see rest on them)."""

from __future__ import annotations

import re

import pytest

from grader.compare import source as S
from grader.i18n import render

HEAD = "import torch\nimport numpy as np\nfrom torchvision import transforms\n"

IN_PLACE = {
 "ok view": ("def normalize(t, mean, std):\n    mean = torch.tensor(mean, dtype=t.dtype).view(-1, 1, 1)\n    std = torch.as_tensor(std, dtype=t.dtype).view(-1,1,1)\n    return (t - mean) / std\n", True),
 "ok clone loop": ("def normalize(t, mean, std):\n    out = t.clone()\n    for c in range(out.shape[0]):\n        out[c].sub_(mean[c]).div_(std[c])\n    return out\n", True),
 "ok rebind": ("def normalize(t, mean, std):\n    t = t.clone()\n    t -= torch.tensor(mean)[:, None, None]\n    return t / torch.tensor(std)[:, None, None]\n", True),
 "ok helper": ("def _sub(x, m):\n    return x - m\ndef normalize(t, mean, std):\n    return _sub(t, torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]\n", True),
 "sub_": ("def normalize(t, mean, std):\n    return t.sub_(1)\n", False),
 "augassign": ("def normalize(t, mean, std):\n    t -= 1\n    return t\n", False),
 "setitem": ("def normalize(t, mean, std):\n    for c in range(3):\n        t[c] = (t[c] - mean[c]) / std[c]\n    return t\n", False),
 "row loop": ("def normalize(t, mean, std):\n    for row, m in zip(t, mean):\n        row -= m\n    return t\n", False),
 "data attr": ("def normalize(t, mean, std):\n    t.data = t - 1\n    return t\n", False),
 "numpy alias": ("def normalize(t, mean, std):\n    a = t.numpy()\n    a -= 1\n    return t\n", False),
 "out=": ("def normalize(t, mean, std):\n    return torch.sub(t, 1, out=t)\n", False),
 "unbound method": ("def normalize(t, mean, std):\n    return torch.Tensor.sub_(t, 1)\n", False),
 "method value": ("def normalize(t, mean, std):\n    f = t.sub_\n    return f(1)\n", False),
 "map": ("def normalize(t, mean, std):\n    list(map(torch.Tensor.sub_, [t], [1]))\n    return t\n", False),
 "map lambda": ("def normalize(t, mean, std):\n    list(map(lambda x: x.sub_(1), [t]))\n    return t\n", False),
 "helper inplace": ("def _h(x):\n    x.div_(2)\ndef normalize(t, mean, std):\n    _h(t)\n    return t\n", False),
 "getattr": ("def normalize(t, mean, std):\n    return getattr(t, 'sub_')(1)\n", False),
 "list alias": ("def normalize(t, mean, std):\n    x = [t]\n    x[0].sub_(1)\n    return t\n", False),
 "copy_ via view": ("def normalize(t, mean, std):\n    v = t.view(-1)\n    v.copy_(v * 2)\n    return t\n", False),
 "global": ("_saved = []\ndef normalize(t, mean, std):\n    _saved.append(t)\n    return t - 1\n", False),
 "operator": ("import operator\ndef normalize(t, mean, std):\n    return operator.isub(t, 1)\n", False),
 "numpy fill": ("def normalize(t, mean, std):\n    t.numpy().fill(0)\n    return t\n", False),
 "numpy sort": ("def normalize(t, mean, std):\n    a = t.numpy()\n    a.sort()\n    return t\n", False),
 "ufunc at": ("def normalize(t, mean, std):\n    np.negative.at(t.numpy(), [0])\n    return t\n", False),
 "loaded callable": ("def normalize(t, mean, std):\n    return torch.load('f.pt')(t, mean, std)\n", False),
 "partial of a helper": ("import functools\ndef _h(x):\n    x.zero_()\ndef normalize(t, mean, std):\n"
                         "    return functools.partial(_h)(t)\n", False),
 "methodcaller": ("import operator\ndef normalize(t, mean, std):\n    operator.methodcaller('fill', 0)(t.numpy())\n"
                  "    return t\n", False),
 "a transform object": ("def normalize(t, mean, std):\n    return transforms.Normalize(mean, std)(t)\n", True),
 "aten op": ("def normalize(t, mean, std):\n    return torch.ops.aten.sub_.Tensor(t, t)\n", False),
}

TORCHVISION = {
 "clean": ("def normalize(t, mean, std):\n    return (t - torch.tensor(mean)[:,None,None]) / torch.tensor(std)[:,None,None]\nif __name__ == '__main__':\n    print(transforms.Normalize([0.5],[0.5]))\n", True),
 "direct": ("def normalize(t, mean, std):\n    return transforms.Normalize(mean, std)(t)\n", False),
 "via global": ("_N = transforms.Normalize\ndef normalize(t, mean, std):\n    return _N(mean, std)(t)\n", False),
 "via helper": ("def _h(t, m, s):\n    return transforms.functional.normalize(t, m, s)\ndef normalize(t, mean, std):\n    return _h(t, mean, std)\n", False),
 "default": ("def normalize(t, mean, std, _f=transforms.Normalize):\n    return _f(mean, std)(t)\n", False),
 "thread": ("import threading\ndef normalize(t, mean, std):\n    return t\n", False),
 "sysmodules": ("import sys\ndef normalize(t, mean, std):\n    return sys.modules['torchvision'].transforms.Normalize(mean, std)(t)\n", False),
 "unpickled": ("def normalize(t, mean, std):\n    return torch.load('n.pt')(t, mean, std)\n", False),
 "torch function": ("class M(torch.overrides.TorchFunctionMode):\n    def __torch_function__(self, f, types, args=(), kwargs=None):\n        return f(*args, **(kwargs or {}))\ndef normalize(t, mean, std):\n    return t\n", False),
}


def read(code: str, reading, files: dict | None = None) -> S.Finding:
    uploaded = {"submission.py": (HEAD + code).encode(), **(files or {})}
    return S.reading(S.Source(uploaded, "submission.py"), reading)


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_changes_are_found_and_honest_code_is_confirmed(name):
    code, unchanged = IN_PLACE[name]
    finding = read(code, lambda s: S.modifies_argument(s, "normalize", 0))
    assert finding.ok == unchanged, finding
    assert finding.ok or "line " in render(finding.reason)


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_reached_from_normalize_is_found(name):
    code, clean = TORCHVISION[name]
    finding = read(code, lambda s: S.uses_module(s, "normalize", "torchvision"))
    assert finding.ok == clean, finding


@pytest.mark.parametrize("code, expected", [
    ("def to_tensor(arr):\n    return torch.from_numpy(arr)\n", "torch.from_numpy"),
    ("import torch as th\ndef to_tensor(a):\n    t = th.as_tensor(a)\n    return t\n", "torch.as_tensor"),
    ("def to_tensor(arr):\n    return torch.from_numpy(arr).float()\n", "torch.from_numpy().float()"),
    ("from torch import from_numpy as f\ndef to_tensor(arr):\n    return f(arr)\n", "torch.from_numpy"),
])
def test_the_call_to_tensor_returns_is_named(code, expected):
    assert read(code, lambda s: S.Finding(True, S.returned_call(s, "to_tensor"))).reason == expected


@pytest.mark.parametrize("code", [
    "def to_tensor(arr):\n    return torch.from_numpy(arr.copy())\n",
    "def to_tensor(arr):\n    arr = arr.copy()\n    return torch.from_numpy(arr)\n",
    "def to_tensor(arr):\n    if arr.ndim:\n        return torch.from_numpy(arr)\n    return torch.tensor(arr)\n",
    "def to_tensor(arr):\n    return torch.from_numpy(arr)\nto_tensor = torch.tensor\n",
    "def _copy(f):\n    return lambda a: torch.tensor(a)\n@_copy\ndef to_tensor(arr):\n    return torch.from_numpy(arr)\n",
    "def to_tensor(arr):\n    return torch.from_numpy(arr)\nglobals()['to_tensor'] = torch.tensor\n",
    "def to_tensor(arr):\n    return torch.from_numpy(arr)\ntorch.from_numpy = torch.tensor\n",
    "def to_tensor(arr):\n    return torch.from_numpy(arr)\nimport sys\nsys.modules['grader.sandbox.recipes']\n",
    "import grader.sandbox.recipes\ndef to_tensor(arr):\n    return torch.from_numpy(arr)\n",
    "import helper\ndef to_tensor(arr):\n    return torch.from_numpy(arr)\n",
    "def to_tensor(arr, torch=__import__('numpy')):\n    return torch.from_numpy(arr)\n",
    "def to_tensor(arr):\n    torch = np\n    return torch.from_numpy(arr)\n",
    "class _T:\n    from_numpy = staticmethod(lambda a: a.copy())\ntorch = _T()\n"
    "def to_tensor(arr):\n    return torch.from_numpy(arr)\n",
])
def test_a_sharing_call_is_not_confirmed_when_the_source_does_something_else(code):
    finding = read(code, lambda s: S.Finding(S.returned_call(s, "to_tensor") == "torch.from_numpy"))
    assert not finding.ok


def test_a_file_that_takes_the_place_of_a_library_confirms_nothing():
    fake = {"torch.py": b"import numpy\nfrom_numpy = numpy.array\n"}
    finding = read("def to_tensor(arr):\n    return torch.from_numpy(arr)\n",
                   lambda s: S.Finding(True, S.returned_call(s, "to_tensor")), fake)
    assert not finding.ok and "takes the place of the library torch" in render(finding.reason)


def test_a_definition_in_another_file_of_the_upload_is_followed():
    helper = {"helper.py": b"import torch\ndef to_tensor(arr):\n    return torch.from_numpy(arr)\n"}
    finding = read("from helper import to_tensor\n", lambda s: S.Finding(True, S.returned_call(s, "to_tensor")),
                   helper)
    assert finding == S.Finding(True, "torch.from_numpy")


@pytest.mark.parametrize("code, ids", [
    ("def data_addresses(arr, t):\n    return id(arr), id(t)\n", True),
    ("def data_addresses(a, b):\n    x = id(a)\n    return (x, id(b))\n", True),
    ("def data_addresses(arr, t):\n    return id(arr.data), id(t.data)\n", False),
    ("def data_addresses(arr, t):\n    return id(t), id(arr)\n", False),
])
def test_object_ids_are_recognised_in_the_source(code, ids):
    assert read(code, lambda s: S.returns_pair(s, "data_addresses", {"id(a)"}, {"id(b)"})).ok == ids


OBJECT_IDS = (re.compile(r"id\(a(\.\w+(\(\))?)*\)"), re.compile(r"id\(b(\.\w+(\(\))?)*\)"))


@pytest.mark.parametrize("code, spelled", [
    ("def data_addresses(arr, t):\n    return id(arr), id(t)\n", "(id(a), id(b))"),
    ("def data_addresses(arr, t):\n    return id(arr.data), id(t.data)\n", "(id(a.data), id(b.data))"),
    ("def data_addresses(arr, t):\n    i = id(t.numpy())\n    return [id(arr), i]\n", "(id(a), id(b.numpy()))"),
    ("def data_addresses(arr, t):\n    return id(t), id(arr)\n", None),
    ("def data_addresses(arr, t):\n    return id(arr), t.data_ptr()\n", None),
    ("def data_addresses(arr, t):\n    return id(arr), id(t.view(2, 3))\n", None),
])
def test_a_pattern_recognises_every_spelling_and_the_finding_names_it(code, spelled):
    finding = read(code, lambda s: S.returns_pair(s, "data_addresses", *OBJECT_IDS))
    assert finding.ok == (spelled is not None)
    assert finding.reason == spelled if spelled else "returns" in str(finding.reason)


def test_an_unparsable_upload_confirms_nothing():
    source = S.Source({"submission.py": b"def (:\n"}, "submission.py")
    assert not S.reading(source, lambda s: S.FOUND).ok
    assert not S.reading(None, lambda s: S.FOUND).ok


def test_what_a_reading_found_is_said_in_chinese_and_english():
    finding = read("def normalize(t, mean, std):\n    t -= 1\n    return t\n",
                   lambda s: S.modifies_argument(s, "normalize", 0))
    told = S.verdict(finding, "that normalize leaves t unchanged").feedback
    assert render(told) == ("the grader confirms that normalize leaves t unchanged by reading your source, and it "
                            "could not: line 5: t -= … changes the argument in place")
    assert render(told, "zh") == "评分程序要通过阅读你的源代码来确认that normalize leaves t unchanged，但没能确认：第 5 行：t -= … 原地修改了参数"
    tampered = read("import threading\ndef normalize(t, mean, std):\n    return t\n", lambda s: S.FOUND)
    assert render(tampered.reason, "zh") == "submission.py 第 4 行导入了 threading"
