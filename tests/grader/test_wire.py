"""The channel's framing and value encoding: round trips, and refusal of malformed input."""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
import torch
from PIL import Image

from grader.sandbox import wire
from grader import values


def roundtrip(value, caps=None):
    tree, blobs = wire.encode(value, caps=caps)
    left, right = socket.socketpair()
    with left, right:
        for part in wire.pack({"value": tree}, blobs):
            left.sendall(part)
        header, received = wire.recv(right, caps or wire.Caps())
    return values.decode(header["value"], received, caps or wire.Caps())


def test_plain_values_roundtrip():
    value = {"a": [1, 2.5, "x", None, True], ("t", 1): (3, 4), "s": {1, 2}, "big": 2**80}
    assert roundtrip(value) == value


def test_non_finite_floats_roundtrip():
    out = roundtrip([math.inf, -math.inf, math.nan])
    assert out[0] == math.inf and out[1] == -math.inf and math.isnan(out[2])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64, torch.uint8,
                                   torch.bool, torch.complex64])
def test_tensors_roundtrip_with_dtype_and_shape(dtype):
    tensor = (torch.arange(24) % 3).reshape(2, 3, 4).to(dtype)
    out = roundtrip(tensor)
    assert isinstance(out, values.StudentTensor)
    assert out.dtype == dtype and out.shape == (2, 3, 4) and torch.equal(out.tensor, tensor)


def test_tensor_metadata_is_reported():
    leaf = torch.ones(3, requires_grad=True)
    out = roundtrip(leaf * 2)
    assert out.grad_fn == "MulBackward0" and out.requires_grad and not out.is_leaf


def test_non_contiguous_and_empty_tensors():
    assert torch.equal(roundtrip(torch.arange(12.).reshape(3, 4).t()).tensor, torch.arange(12.).reshape(3, 4).t())
    assert roundtrip(torch.empty(0, 5)).shape == (0, 5)


def job_side(value, caps=None):
    """What the job rebuilds from the checker's arguments (the runner's decoder)."""
    tree, blobs = wire.encode(value, caps=caps)
    return wire.Decoder([bytearray(bytes(b)) for b in blobs], caps or wire.Caps()).decode(tree)


@pytest.mark.parametrize("make", [
    lambda: torch.arange(12.).reshape(3, 4).t(),                        # transposed
    lambda: torch.arange(100.).reshape(10, 10)[2:5, 1::3],              # sliced: gaps and an offset
    lambda: torch.rand(6, 5, 4).permute(2, 0, 1),                       # an HWC image as CHW
    lambda: torch.arange(10)[3:],                                       # contiguous from an offset
    lambda: values.noncontiguous(torch.arange(24.).reshape(2, 3, 4)),
])
def test_strides_and_storage_offset_cross_the_channel(make):
    sent = make()
    for out in (job_side(sent), roundtrip(sent).tensor):
        assert torch.equal(out, sent) and out.stride() == sent.stride()
        assert out.storage_offset() == sent.storage_offset() and out.is_contiguous() == sent.is_contiguous()


def test_view_on_a_non_contiguous_input_raises_in_the_job_as_it_would_in_the_course():
    image = torch.rand(3, 5, 6).transpose(1, 2)  # a [C, H, W] image with its height and width swapped
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        job_side(image).view(3, -1)
    assert torch.equal(job_side(image).reshape(3, -1), image.reshape(3, -1))
    assert not job_side(values.noncontiguous(torch.rand(3, 4, 5))).is_contiguous()


def test_gaps_of_a_sliced_tensor_are_not_sent():
    storage = torch.arange(100.)
    out = job_side(storage[::10])
    assert out.stride() == (10,) and torch.equal(out, storage[::10])
    whole = out.as_strided((91,), (1,), 0)  # the storage it was rebuilt in: the gaps hold zeros
    assert out.untyped_storage().nbytes() == 91 * 4 and torch.count_nonzero(whole) == 9


def test_expanded_and_oversized_layouts_arrive_row_major():
    expanded = torch.arange(3.).view(3, 1).expand(3, 4)
    out = job_side(expanded)
    assert out.is_contiguous() and torch.equal(out, expanded)
    far = torch.zeros(2000)[::1000]  # two elements 1000 apart: a storage over the cap
    out = job_side(far, caps=wire.Caps(blob_bytes=1000))
    assert out.is_contiguous() and torch.equal(out, far)


@pytest.mark.parametrize(("stride", "offset"), [
    ([1, 1], 0),                 # two dimensions on the same memory
    ([0, 1], 0),                 # an expanded dimension
    ([1], 0),                    # one stride for two dimensions
    ([3, -1], 0),                # negative
    ([3, 1], -1),                # negative offset
    ([3, 1], 2**41),             # an offset past any storage
    ([2**30, 1], 0),             # a storage over the cap
    (["3", 1], 0),               # not an int
])
def test_inconsistent_strides_are_rejected(stride, offset):
    tree = {"__tensor__": {"dtype": "uint8", "shape": [2, 3], "blob": 0, "stride": stride, "offset": offset}}
    with pytest.raises(wire.ProtocolError):
        values.decode(tree, [bytearray(6)], wire.Caps(blob_bytes=1 << 20))


def test_a_stride_without_an_offset_is_rejected():
    tree = {"__tensor__": {"dtype": "uint8", "shape": [2, 3], "blob": 0, "stride": [1, 2]}}
    with pytest.raises(wire.ProtocolError, match="together"):
        values.decode(tree, [bytearray(6)], wire.Caps())


def test_a_layout_is_paid_from_the_decoding_budget():
    tree = {"__tensor__": {"dtype": "uint8", "shape": [2], "blob": 0, "stride": [500], "offset": 0}}
    with pytest.raises(wire.ProtocolError, match="once rebuilt"):
        values.decoder([bytearray(2)], wire.Caps(), budget=400).decode(tree)
    assert values.decoder([bytearray(2)], wire.Caps(), budget=600).decode(tree).tensor.stride() == (500,)


def test_numpy_arrays_and_images_roundtrip():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(roundtrip(array).array, array)
    image = Image.new("RGB", (7, 5), (1, 2, 3))
    out = roundtrip(image)
    assert out.size == (7, 5) and out.getpixel((0, 0)) == (1, 2, 3)


def test_objects_cannot_be_encoded_without_a_store():
    with pytest.raises(TypeError):
        wire.encode(object())


def test_tensor_over_the_cap_is_refused_before_copying():
    with pytest.raises(ValueError, match="exceeds the output cap"):
        wire.encode(torch.zeros(1).expand(10**6), caps=wire.Caps(blob_bytes=1000))


@pytest.mark.parametrize("tree", [
    {"__tensor__": {"dtype": "float32", "shape": [4], "blob": 0}},               # blob too small
    {"__tensor__": {"dtype": "object", "shape": [1], "blob": 0}},                # dtype not allowed
    {"__tensor__": {"dtype": "float32", "shape": [-1], "blob": 0}},              # bad shape
    {"__tensor__": {"dtype": "float32", "shape": [1], "blob": 7}},               # no such blob
    {"__tensor__": {"dtype": "float32", "shape": [1], "blob": 0, "evil": 1}},    # unknown field
    {"__pickle__": "gASV"},                                                      # unknown tag
    {"a": 1, "b": 2},                                                            # untagged dict
])
def test_malformed_values_are_rejected(tree):
    with pytest.raises(wire.ProtocolError):
        values.decode(tree, [bytearray(b"\0" * 3)], wire.Caps())


def test_a_blob_cannot_be_used_twice():
    tree = [{"__tensor__": {"dtype": "uint8", "shape": [2], "blob": 0}}] * 2
    with pytest.raises(wire.ProtocolError, match="blob"):
        values.decode(tree, [bytearray(b"ab")], wire.Caps())


def test_reader_refuses_oversized_messages_before_reading_them():
    reader = wire.FrameReader(wire.Caps(header_bytes=100, blob_bytes=10))
    with pytest.raises(wire.ProtocolError, match="header"):
        reader.feed(wire.HEADER.pack(10_000))
    reader = wire.FrameReader(wire.Caps(header_bytes=100, blob_bytes=10))
    with pytest.raises(wire.ProtocolError, match="exceeds the cap"):
        reader.feed(wire.pack({}, [b"x" * 11])[0])


def test_reader_assembles_a_message_fed_byte_by_byte():
    reader = wire.FrameReader(wire.Caps())
    data = b"".join(bytes(part) for part in wire.pack({"ok": True}, [b"abc", b""]))
    results = [reader.feed(data[i:i + 1]) for i in range(len(data))]
    assert results[:-1] == [None] * (len(data) - 1)
    header, blobs = results[-1]
    assert header["ok"] and blobs == [bytearray(b"abc"), bytearray()]


def test_reader_rejects_non_json_headers():
    with pytest.raises(wire.ProtocolError, match="not JSON"):
        wire.FrameReader(wire.Caps()).feed(wire.HEADER.pack(3) + b"{{{")
