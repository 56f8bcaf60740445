"""Property-based: whatever a job sends back, the trusted side gives a verdict, never a fault.

Generated garbage (NaN, inf, empty and huge shapes, wrong types, deep nesting, handles that
pose as anything, images that lie about their size, malformed tagged values) goes through the
real decoder to every check of every pack.  A grader fault is any exception other than a
``ProtocolError`` from the decoder, or other than ``StudentError``/``JobDied`` from a check:
those are what the engine turns into ``internal_error``.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from grader import checks, hidden_data, values
from grader.assignments import Catalog
from grader.compare import source as source_reading
from grader.config import REPOSITORY
from grader.i18n import LANGUAGES, render
from grader.sandbox import wire
from grader.student import JobDied, Student, StudentError

REFERENCE = REPOSITORY / "reference"
CATALOG = Catalog(REFERENCE)
GARBAGE = settings(max_examples=12, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.function_scoped_fixture])

# ---------------------------------------------------------------------------- garbage

FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0])
INTS = st.integers() | st.sampled_from([0, -1, 2**31, 2**63, -(2**63), 2**64, 10**5000 // 10**4700])
DTYPES = ["float32", "float64", "int64", "uint8", "bool", "float16", "complex64"]


@st.composite
def tensors(draw):
    shape = draw(st.lists(st.integers(0, 4), max_size=4))
    dtype = getattr(torch, draw(st.sampled_from(DTYPES)))
    fill = draw(st.sampled_from([math.nan, math.inf, -1.0, 0.0, 1e30, 3.0]))
    numeric = dtype.is_floating_point or dtype.is_complex
    tensor = torch.full(shape, fill if numeric else 1, dtype=torch.float64 if numeric else dtype).to(dtype)
    return tensor.requires_grad_(True) if dtype.is_floating_point and draw(st.booleans()) else tensor


@st.composite
def arrays(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    with np.errstate(over="ignore"):
        return np.full(shape, draw(FLOATS), dtype=draw(st.sampled_from(["float32", "float64"])))


@st.composite
def images(draw):
    mode = draw(st.sampled_from(sorted(wire.IMAGE_MODES)))
    return Image.new(mode, (draw(st.integers(0, 9)), draw(st.integers(0, 9))))


class Opaque:
    """Stays in the job: crosses as a handle, of whatever type and callability it claims."""


PLAIN = st.none() | st.booleans() | INTS | FLOATS | st.text(max_size=40) | st.just("x" * 100_000)
LEAVES = PLAIN | tensors() | arrays() | images() | st.just(Opaque())
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
                      | st.frozensets(PLAIN.filter(lambda v: not isinstance(v, float) or not math.isnan(v)),
                                      max_size=3),
                      max_leaves=12)

TAGS = ["__tensor__", "__ndarray__", "__image__", "__handle__", "__tuple__", "__set__", "__dict__", "__float__",
        "__bigint__", "__recipe__", "__other__"]
JSON = st.recursive(st.none() | st.booleans() | INTS | FLOATS | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=3), max_leaves=10)


@st.composite
def forged_trees(draw):
    """Tagged values as a lying job would write them: fields of any type, shapes and sizes
    that overflow, blob references out of range."""
    tag = draw(st.sampled_from(TAGS))
    shape = draw(st.lists(st.sampled_from([0, 1, 3, 2**31, 2**39, 2**40, 2**62, -1]), max_size=4))
    body = draw(st.sampled_from([
        {"dtype": draw(st.sampled_from(DTYPES + ["object", "<f8"])), "shape": shape, "blob": draw(st.integers(-1, 2))},
        {"mode": draw(st.sampled_from(sorted(wire.IMAGE_MODES) + ["X"])), "size": shape[:2] + [0] * (2 - len(shape[:2])),
         "blob": 0},
        {"id": draw(INTS), "type": draw(st.text(max_size=30)), "callable": draw(st.booleans())},
        draw(JSON),
    ]))
    if tag == "__tensor__" and isinstance(body, dict):
        body.update(draw(st.fixed_dictionaries({}, optional={
            "type": st.text(max_size=20), "device": st.sampled_from(["cpu", "cuda:0", "meta", ""]),
            "requires_grad": st.booleans(), "grad_fn": st.none() | st.text(max_size=20), "is_leaf": st.booleans()})))
    tree = {tag: body}
    return draw(st.sampled_from([tree, [tree], {"__tuple__": [tree, draw(JSON)]}, {"__dict__": [["k", tree]]}]))


def store(value) -> dict:
    return {"id": 1, "type": "student.Opaque", "callable": True}


@st.composite
def replies(draw):
    """One reply of the job: a value (encoded as the runner encodes it, or forged), an error, or
    something malformed."""
    kind = draw(st.sampled_from(["value", "value", "value", "forged", "error", "malformed"]))
    if kind == "value":
        tree, blobs = wire.encode(draw(VALUES), store=store)
        return {"ok": True, "value": tree, "exit_code": draw(INTS | st.none())}, blobs
    if kind == "forged":
        sizes = draw(st.lists(st.sampled_from([0, 1, 3, 12, 48]), max_size=3))
        return {"ok": True, "value": draw(forged_trees())}, [bytes(size) for size in sizes]
    if kind == "error":
        return {"error": draw(st.dictionaries(st.sampled_from(["type", "message", "line", "file", "traceback",
                                                               "unsendable"]), JSON, max_size=6)
                              | JSON)}, []
    return draw(st.dictionaries(st.text(max_size=8), JSON, max_size=3)), []


class GarbageJob:
    """A job whose every answer is drawn from ``replies``, through JSON as on the wire."""

    caps = wire.Caps(items=100_000)

    def __init__(self, draw):
        self.draw = draw

    def request(self, header, blobs=(), timeout_s=None):
        reply, reply_blobs = self.draw(replies())
        raw = json.loads(json.dumps(reply, allow_nan=True)) if isinstance(reply, dict) else reply
        return raw, [bytearray(blob) for blob in reply_blobs]

    def output_position(self):
        return 0, 0

    def output_since(self, position):
        return "", ""


class EveryName(list):
    def __contains__(self, name) -> bool:
        return True


# ---------------------------------------------------------------------------- the packs

def pack_checks() -> list[tuple[str, str]]:
    return [(pack, name) for pack in CATALOG.ids() for name in CATALOG.get(pack).checks]


@functools.lru_cache
def good_source(pack: str) -> source_reading.Source:
    """The pack's first good single-file self-test, so that readings of the source pass and the
    checks go on to the values."""
    assignment = CATALOG.get(pack)
    good = sorted(assignment.directory.glob("selftest/good*.py"))
    files = {assignment.manifest.entry: good[0].read_bytes()} if good else {}
    return source_reading.Source(files, assignment.manifest.entry)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("garbage-data")


def context(pack: str, name: str, data_root, visible: bool) -> checks.Context:
    assignment = CATALOG.get(pack)
    data = hidden_data.prepare(assignment, data_root) if assignment.manifest.hidden_data else None
    return checks.Context(pack, name, visible=visible, directory=assignment.directory,
                          data_dir=hidden_data.JOB_DATA_DIR if data else None,
                          private_dir=data / "private" if data else None, cache_dir=data_root / "cache",
                          source=good_source(pack))


@pytest.mark.parametrize("pack, name", pack_checks())
@GARBAGE
@given(data=st.data(), visible=st.booleans())
def test_every_check_gives_a_verdict_for_any_answer(pack, name, data_root, data, visible):
    student = Student(GarbageJob(data.draw), CATALOG.get(pack).manifest.entry)
    student.names = EveryName()
    try:
        verdict = CATALOG.get(pack).checks[name](student, context(pack, name, data_root, visible))
    except (StudentError, JobDied):
        return
    assert isinstance(verdict, checks.Verdict)
    assert all(isinstance(render(verdict.feedback, language), str) for language in LANGUAGES), "a message in each"


# ---------------------------------------------------------------------------- the decoder

@settings(max_examples=400, deadline=None, derandomize=True)
@given(tree=forged_trees() | JSON, sizes=st.lists(st.sampled_from([0, 1, 3, 12, 48, 4096]), max_size=3))
def test_the_decoder_rebuilds_or_refuses_any_tree(tree, sizes):
    tree = json.loads(json.dumps(tree, allow_nan=True))
    try:
        values.decode(tree, [bytearray(size) for size in sizes], wire.Caps(items=10_000))
    except wire.ProtocolError:
        pass


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=VALUES)
def test_what_the_runner_encodes_the_checker_decodes(value):
    tree, blobs = wire.encode(value, store=store)
    decoder = values.decoder([bytearray(b) for b in blobs], wire.Caps(), budget=1 << 30)
    decoder.decode(json.loads(json.dumps(tree, allow_nan=True)))
    assert decoder.decoded >= sum(len(b) for b in blobs)


@pytest.mark.parametrize("tree, blobs", [
    ({"__tensor__": {"dtype": "float32", "shape": [2**39, 2**39, 0], "blob": 0}}, [b""]),
    ({"__ndarray__": {"dtype": "float32", "shape": [2**30, 2**30, 2**30, 0], "blob": 0}}, [b""]),
    ({"__image__": {"mode": "L", "size": [2**31, 0], "blob": 0}}, [b""]),
    ({"__image__": {"mode": "1", "size": [0, 2**31 - 1], "blob": 0}}, [b""]),
    ({"__image__": {"mode": "RGB", "size": [2**20, 2**20], "blob": 0}}, [b""]),
])
def test_shapes_and_sizes_that_overflow_libraries_are_refused(tree, blobs):
    with pytest.raises(wire.ProtocolError):
        values.decode(tree, [bytearray(b) for b in blobs], wire.Caps())


def test_decoded_bytes_are_counted_after_expansion():
    """A mode "1" image takes one byte a pixel in PIL: eight times what crossed."""
    tree, blobs = wire.encode(Image.new("1", (64, 64)))
    decoder = values.decoder([bytearray(b) for b in blobs], wire.Caps(), budget=64 * 64)
    decoder.decode(tree)
    assert (len(blobs[0]), decoder.decoded) == (64 * 64 // 8, 64 * 64)
    with pytest.raises(wire.ProtocolError, match="once rebuilt"):
        values.decoder([bytearray(b) for b in blobs], wire.Caps(), budget=64 * 64 - 1).decode(tree)
