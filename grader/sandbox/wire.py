"""Framing and value encoding for the checker <-> sandbox channel.

A message is a JSON header followed by the raw byte blobs it declares:

    u32 header length | header (UTF-8 JSON) | blob 0 | blob 1 | ...

The header carries ``"blobs": [len0, len1, ...]``.  Values are plain JSON plus a few
tagged objects (tensors, arrays, images, tuples, dicts, sets, non-finite floats, handles).
Nothing is ever pickled.  The reader enforces size caps before it allocates anything, and
the trusted side validates every tagged object (see ``grader.sandbox.values``).

This module is imported by the zygote, so it must not import anything from the checker,
the reference solutions or the settings.
"""

from __future__ import annotations

import json
import math
import struct

HEADER = struct.Struct(">I")

# Only plain numeric dtypes cross the boundary; names are torch's own ``str(dtype)`` suffixes.
TENSOR_DTYPES = (
    "float16", "bfloat16", "float32", "float64",
    "uint8", "int8", "int16", "int32", "int64", "bool",
    "complex64", "complex128",
)
# Image modes that may cross, with their bytes per pixel (mode "1" packs 8 pixels a byte).
IMAGE_MODES = {"1": 0, "L": 1, "P": 1, "RGB": 3, "RGBA": 4, "CMYK": 4, "YCbCr": 3, "LA": 2, "I": 4, "F": 4,
               "I;16": 2}
# What PIL holds in memory per pixel of each mode: mode "1" takes a byte per pixel (8 times its
# wire size), three-band modes are padded to four.
IMAGE_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "RGB": 4, "RGBA": 4, "CMYK": 4, "YCbCr": 4, "LA": 4, "I": 4, "F": 4,
                     "I;16": 2}
MAX_DIMENSION = 2**31 - 1       # one dimension of a tensor, an array or an image
MAX_ELEMENTS = 2**40            # the product of a shape's non-zero dimensions
MAX_IMAGE_SIDE = 2**24          # PIL keeps sizes in C ints: (2**31, 0) overflows there
MAX_IMAGE_PIXELS = 2**28
# What a library may raise while rebuilding a validated value (a shape it still refuses).
REBUILD_ERRORS = (ValueError, TypeError, RuntimeError, OverflowError, MemoryError, BufferError)


class ProtocolError(Exception):
    """The peer sent something that is not a well-formed message within the caps."""


class Caps:
    """Size limits for one direction of the channel."""

    def __init__(self, header_bytes: int = 4 << 20, blob_bytes: int = 256 << 20, depth: int = 32,
                 items: int = 1_000_000, text_chars: int = 1 << 20):
        self.header_bytes = header_bytes
        self.blob_bytes = blob_bytes
        self.depth = depth
        self.items = items
        self.text_chars = text_chars


# ---------------------------------------------------------------------------- framing

def pack(header: dict, blobs: list[bytes | memoryview] = ()) -> list[bytes | memoryview]:
    header = dict(header, blobs=[len(b) for b in blobs])
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return [HEADER.pack(len(raw)) + raw, *blobs]


def send(sock, header: dict, blobs: list[bytes | memoryview] = ()) -> None:
    for part in pack(header, blobs):
        sock.sendall(part)


def recv_exact(sock, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise EOFError("channel closed")
        got += n
    return buffer


def recv(sock, caps: Caps) -> tuple[dict, list[bytearray]]:
    (length,) = HEADER.unpack(recv_exact(sock, HEADER.size))
    if length > caps.header_bytes:
        raise ProtocolError(f"message header of {length} bytes exceeds the cap of {caps.header_bytes}")
    header = _parse_header_json(recv_exact(sock, length), caps)
    return header, [recv_exact(sock, s) for s in header["blobs"]]


class FrameReader:
    """Incremental parser for a non-blocking reader: ``feed`` returns a whole message or None."""

    def __init__(self, caps: Caps):
        self.caps = caps
        self.buffer = bytearray()
        self.header: dict | None = None
        self.header_end = 0

    def feed(self, chunk: bytes) -> tuple[dict, list[bytearray]] | None:
        self.buffer += chunk
        if self.header is None and not self._parse_header():
            return None
        sizes = self.header["blobs"]
        end = self.header_end + sum(sizes)
        if len(self.buffer) < end:
            return None
        blobs, offset = [], self.header_end
        for size in sizes:
            blobs.append(self.buffer[offset:offset + size])
            offset += size
        header, self.header = self.header, None
        del self.buffer[:end]
        return header, blobs

    def _parse_header(self) -> bool:
        if len(self.buffer) < HEADER.size:
            return False
        (length,) = HEADER.unpack_from(self.buffer)
        if length > self.caps.header_bytes:
            raise ProtocolError(f"message header of {length} bytes exceeds the cap of {self.caps.header_bytes}")
        if len(self.buffer) < HEADER.size + length:
            return False
        self.header = _parse_header_json(self.buffer[HEADER.size:HEADER.size + length], self.caps)
        self.header_end = HEADER.size + length
        return True


def _parse_header_json(raw, caps: Caps) -> dict:
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # also arrays nested past the stack, integers over 4300 digits
        raise ProtocolError(f"message header is not JSON within the caps: {type(exc).__name__}") from None
    sizes = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes):
        raise ProtocolError("message header lacks a valid blob list")
    if sum(sizes) > caps.blob_bytes:
        raise ProtocolError(f"message of {sum(sizes)} bytes exceeds the cap of {caps.blob_bytes}")
    return header


# ---------------------------------------------------------------------------- encoding

class Encoder:
    """Turns Python values into JSON-able trees plus blobs.

    ``store`` maps an object that cannot cross (a model, a dataset, a function) to a handle
    description; without it such objects are an error.
    """

    def __init__(self, store=None, caps: Caps | None = None):
        self.blobs: list[bytes | memoryview] = []
        self.store = store
        self.caps = caps or Caps()
        self.items = 0
        self.blob_total = 0

    def encode(self, value, depth: int = 0):
        self.items += 1
        if depth > self.caps.depth or self.items > self.caps.items:
            raise ValueError("value is nested too deeply or has too many items")
        if value is None or isinstance(value, (bool, str)):
            return self._text(value) if isinstance(value, str) else value
        if isinstance(value, int):
            return self._int(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, (list, tuple, set, frozenset, dict)):
            return self._container(value, depth)
        return self._special(value, depth)

    def _text(self, text: str) -> str:
        if len(text) > self.caps.text_chars:
            raise ValueError(f"string of {len(text)} characters exceeds the cap")
        return text

    @staticmethod
    def _int(number: int):
        if not -(2**63) <= number < 2**64:
            return {"__bigint__": str(number)[:4300]}
        return int(number)

    def _container(self, value, depth):
        if isinstance(value, dict):
            return {"__dict__": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        items = [self.encode(v, depth + 1) for v in value]
        if isinstance(value, list):
            return items
        return {"__tuple__": items} if isinstance(value, tuple) else {"__set__": items}

    def _special(self, value, depth):
        if _is_tensor(value):
            return self._tensor(value)
        module = type(value).__module__ or ""
        if module.startswith("numpy"):
            return self._numpy(value, depth)
        if module.startswith("PIL") and hasattr(value, "tobytes") and hasattr(value, "mode"):
            return self._image(value)
        if hasattr(type(value), "__wire__"):
            return value.__wire__(self)
        if self.store is None:
            raise TypeError(f"a {type(value).__name__} cannot be sent")
        return {"__handle__": self.store(value)}

    def _blob(self, data) -> int:
        self.blob_total += len(data)
        if self.blob_total > self.caps.blob_bytes:
            raise ValueError(f"value data exceeds the cap of {self.caps.blob_bytes} bytes")
        self.blobs.append(data)
        return len(self.blobs) - 1

    def _tensor(self, tensor):
        import torch

        base = tensor.detach()
        if type(base) is not torch.Tensor:
            base = base.as_subclass(torch.Tensor)
        meta = {
            "type": f"{type(tensor).__module__}.{type(tensor).__qualname__}",
            "dtype": str(base.dtype).removeprefix("torch."),
            "shape": list(base.shape),
            "device": str(base.device),
            "requires_grad": bool(tensor.requires_grad),
            "grad_fn": type(tensor.grad_fn).__name__ if tensor.grad_fn is not None else None,
            "is_leaf": bool(tensor.is_leaf),
        }
        if base.is_sparse or base.layout != torch.strided or base.is_quantized:
            raise TypeError("only dense tensors can be returned")
        if meta["dtype"] not in TENSOR_DTYPES:
            raise TypeError(f"tensors of dtype {meta['dtype']} cannot be returned")
        if base.numel() * base.element_size() + self.blob_total > self.caps.blob_bytes:
            raise ValueError(f"a tensor of shape {meta['shape']} exceeds the output cap")
        flat = base.to("cpu").contiguous().reshape(-1)
        meta["blob"] = self._blob(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
        return {"__tensor__": meta}

    def _numpy(self, value, depth):
        import numpy as np

        if isinstance(value, np.generic):
            return self.encode(value.item(), depth)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"a {type(value).__name__} cannot be sent")
        dtype = value.dtype.name
        if dtype not in TENSOR_DTYPES or value.dtype.byteorder == ">":
            raise TypeError(f"arrays of dtype {dtype} cannot be returned")
        data = np.ascontiguousarray(value).tobytes()
        return {"__ndarray__": {"dtype": dtype, "shape": list(value.shape), "blob": self._blob(data)}}

    def _image(self, image):
        if image.mode not in IMAGE_MODES:
            raise TypeError(f"images of mode {image.mode} cannot be returned")
        return {"__image__": {"mode": image.mode, "size": list(image.size), "blob": self._blob(image.tobytes())}}


def _is_tensor(value) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is always present where values are encoded
        return False
    return isinstance(value, torch.Tensor)


def encode(value, store=None, caps: Caps | None = None) -> tuple[object, list]:
    encoder = Encoder(store, caps)
    tree = encoder.encode(value)
    return tree, encoder.blobs


# ---------------------------------------------------------------------------- decoding

_SCALAR_TAGS = {"__float__", "__bigint__"}


class Decoder:
    """Rebuilds a value tree, validating every tagged object against the schema.

    ``on_tensor(meta, tensor)``, ``on_array(meta, array)``, ``on_image(meta, image)`` and
    ``on_handle(meta)`` let each side choose what a decoded object becomes.
    """

    def __init__(self, blobs, caps: Caps | None = None, on_tensor=None, on_array=None, on_image=None,
                 on_handle=None, on_recipe=None, budget: int | None = None):
        self.blobs = blobs
        self.used: set[int] = set()
        self.caps = caps or Caps()
        self.items = 0
        self.budget = budget  # bytes the rebuilt value may take in memory (after expansion), None: no limit
        self.decoded = 0
        self.on_tensor = on_tensor or (lambda meta, tensor: tensor)
        self.on_array = on_array or (lambda meta, array: array)
        self.on_image = on_image or (lambda meta, image: image)
        self.on_handle = on_handle
        self.on_recipe = on_recipe

    def decode(self, node, depth: int = 0):
        self.items += 1
        if depth > self.caps.depth or self.items > self.caps.items:
            raise ProtocolError("value is nested too deeply or has too many items")
        if node is None or isinstance(node, (bool, float)):
            return node
        if isinstance(node, int):
            return node
        if isinstance(node, str):
            if len(node) > self.caps.text_chars:
                raise ProtocolError("string exceeds the cap")
            self._spend(len(node))
            return node
        if isinstance(node, list):
            return [self.decode(item, depth + 1) for item in node]
        if isinstance(node, dict) and len(node) == 1:
            (tag, body), = node.items()
            return self._tagged(tag, body, depth)
        raise ProtocolError("malformed value")

    def _tagged(self, tag, body, depth):
        if tag in _SCALAR_TAGS:
            return self._scalar(tag, body)
        if tag in ("__tuple__", "__set__"):
            items = self._items(body, depth)
            return tuple(items) if tag == "__tuple__" else frozenset(_hashable(i) for i in items)
        if tag == "__dict__":
            return self._dict(body, depth)
        if tag == "__tensor__":
            return self._tensor(body)
        if tag == "__ndarray__":
            return self._ndarray(body)
        if tag == "__image__":
            return self._image(body)
        if tag == "__handle__" and self.on_handle is not None:
            return self.on_handle(_fields(body, {"id": int}, optional={"type": str, "callable": bool}))
        if tag == "__recipe__" and self.on_recipe is not None:
            recipe = _fields(body, {"name": str, "args": list})
            return self.on_recipe(recipe["name"], self._items(recipe["args"], depth))
        raise ProtocolError(f"unknown value tag {tag!r}")

    @staticmethod
    def _scalar(tag, body):
        if not isinstance(body, str) or len(body) > 4400:
            raise ProtocolError("malformed scalar")
        if tag == "__float__":
            if body not in ("nan", "inf", "-inf"):
                raise ProtocolError("malformed float")
            return float(body)
        try:
            return int(body)
        except ValueError:
            raise ProtocolError("malformed integer") from None

    def _items(self, body, depth):
        if not isinstance(body, list):
            raise ProtocolError("malformed container")
        return [self.decode(item, depth + 1) for item in body]

    def _dict(self, body, depth):
        pairs = self._items(body, depth)
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise ProtocolError("malformed dict")
        return {_hashable(k): v for k, v in pairs}

    def _spend(self, size: int) -> None:
        self.decoded += size
        if self.budget is not None and self.decoded > self.budget:
            raise ProtocolError(f"the value takes more than {self.budget} bytes once rebuilt")

    def _rebuild(self, build):
        try:
            return build()
        except REBUILD_ERRORS as exc:
            raise ProtocolError(f"the value could not be rebuilt ({type(exc).__name__})") from None

    def _blob(self, index, expected_size: int) -> bytearray:
        if type(index) is not int or not 0 <= index < len(self.blobs) or index in self.used:
            raise ProtocolError("bad blob reference")
        self.used.add(index)
        blob = self.blobs[index]
        if len(blob) != expected_size:
            raise ProtocolError(f"blob holds {len(blob)} bytes, its shape and dtype need {expected_size}")
        return blob

    def _tensor(self, body):
        import torch

        meta = _fields(body, {"dtype": str, "shape": list, "blob": int},
                       optional={"type": str, "device": str, "requires_grad": bool, "grad_fn": (str, type(None)),
                                 "is_leaf": bool})
        dtype = _dtype(meta["dtype"])
        shape = _shape(meta["shape"])
        numel = math.prod(shape)
        size = numel * torch.empty((), dtype=dtype).element_size()
        blob = self._blob(meta["blob"], size)
        self._spend(size)
        return self._rebuild(lambda: self.on_tensor(meta, (torch.frombuffer(blob, dtype=dtype) if numel else
                                                            torch.empty(0, dtype=dtype)).reshape(shape)))

    def _ndarray(self, body):
        import numpy as np

        meta = _fields(body, {"dtype": str, "shape": list, "blob": int})
        if meta["dtype"] not in TENSOR_DTYPES or meta["dtype"] == "bfloat16":
            raise ProtocolError(f"array dtype {meta['dtype']!r} is not allowed")
        shape = _shape(meta["shape"])
        dtype = np.dtype(meta["dtype"])
        blob = self._blob(meta["blob"], math.prod(shape) * dtype.itemsize)
        self._spend(len(blob))
        return self._rebuild(lambda: self.on_array(meta, np.frombuffer(blob, dtype=dtype).reshape(shape).copy()))

    def _image(self, body):
        from PIL import Image

        meta = _fields(body, {"mode": str, "size": list, "blob": int})
        if meta["mode"] not in IMAGE_MODES:
            raise ProtocolError(f"image mode {meta['mode']!r} is not allowed")
        if len(meta["size"]) != 2:
            raise ProtocolError("image size is not allowed")
        width, height = _shape(meta["size"])
        if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
            raise ProtocolError(f"an image of {width}×{height} pixels is not allowed")
        row_bytes = (width + 7) // 8 if meta["mode"] == "1" else width * IMAGE_MODES[meta["mode"]]
        data = self._blob(meta["blob"], row_bytes * height)
        self._spend(width * height * IMAGE_PIXEL_BYTES[meta["mode"]])
        return self._rebuild(lambda: self.on_image(meta, Image.frombytes(meta["mode"], (width, height), bytes(data))))


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    try:
        hash(value)
    except TypeError:
        raise ProtocolError("unhashable dict key or set item") from None
    return value


def _fields(body, required: dict, optional: dict | None = None) -> dict:
    optional = optional or {}
    if not isinstance(body, dict):
        raise ProtocolError("malformed tagged value")
    unknown = set(body) - set(required) - set(optional)
    missing = set(required) - set(body)
    if unknown or missing:
        raise ProtocolError(f"tagged value has unknown fields {sorted(unknown)} or lacks {sorted(missing)}")
    for name, kind in {**required, **optional}.items():
        if name in body and not (isinstance(body[name], kind) and not (kind is int and isinstance(body[name], bool))):
            raise ProtocolError(f"field {name!r} has the wrong type")
    return body


def _dtype(name: str):
    import torch

    if name not in TENSOR_DTYPES:
        raise ProtocolError(f"tensor dtype {name!r} is not allowed")
    return getattr(torch, name)


def _shape(shape: list) -> tuple[int, ...]:
    if len(shape) > 16 or not all(type(d) is int and 0 <= d <= MAX_DIMENSION for d in shape):
        raise ProtocolError("malformed shape")
    if math.prod(d for d in shape if d) > MAX_ELEMENTS:
        raise ProtocolError("a shape of more elements than any value may hold, even an empty one")
    return tuple(shape)

