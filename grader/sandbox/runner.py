"""The request loop inside a job: import the submission, call what the checker names.

Runs as the slot's unprivileged uid after every confinement layer is in place.  Everything
here is as untrusted as the student's code that shares the process: it only moves raw values
(see ``wire``) and never computes or reports a verdict.
"""

from __future__ import annotations

import importlib
import os
import random
import runpy
import sys
import traceback

from grader.sandbox import recipes, wire

MESSAGE_CHARS = 2000
TRACEBACK_CHARS = 6000


class Runner:
    def __init__(self, channel, workdir: str, caps: wire.Caps):
        self.channel = channel
        self.workdir = workdir
        self.caps = caps
        self.module = None
        self.handles: dict[int, object] = {}

    # ----------------------------------------------------------------- the loop
    def serve(self) -> None:
        while True:
            try:
                header, blobs = wire.recv(self.channel, self.caps)
            except EOFError:
                return
            op = header.get("op")
            if op == "exit":
                return
            self._answer(op, header, blobs)

    def _answer(self, op, header, blobs) -> None:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            self._send({"error": _error_info(ValueError(f"unknown op {op!r}"), self.workdir)})
            return
        try:
            reply = handler(header, blobs)
        except BaseException as exc:  # the student's failure, reported as data
            reply = {"error": _error_info(exc, self.workdir)}
        self.flush_output()
        self._send(reply)

    def _send(self, reply) -> None:
        value = reply.pop("value", _NOTHING) if isinstance(reply, dict) else _NOTHING
        blobs = []
        if value is not _NOTHING:
            try:
                reply["value"], blobs = wire.encode(value, store=self._store, caps=self.caps)
            except (TypeError, ValueError) as exc:
                reply = {"error": _error_info(exc, self.workdir, unsendable=True)}
        wire.send(self.channel, reply, blobs)

    @staticmethod
    def flush_output() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass

    # ----------------------------------------------------------------- values
    def _store(self, value) -> dict:
        handle_id = len(self.handles) + 1
        self.handles[handle_id] = value
        kind = type(value)
        return {"id": handle_id, "type": f"{kind.__module__}.{kind.__qualname__}", "callable": callable(value)}

    def _decode(self, node, blobs):
        return wire.Decoder(blobs, self.caps, on_handle=lambda h: self.handles[h["id"]],
                            on_recipe=recipes.build).decode(node)

    # ----------------------------------------------------------------- operations
    def op_install(self, header, blobs):
        for relative, index in header["files"].items():
            path = os.path.normpath(os.path.join(self.workdir, relative))
            if not path.startswith(self.workdir + os.sep):
                raise ValueError(f"file {relative!r} would land outside the work directory")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(blobs[index])
        return {"ok": True}

    def op_import(self, header, blobs):
        if self.workdir not in sys.path:
            sys.path.insert(0, self.workdir)
        self.module = importlib.import_module(header["module"])
        names = sorted(name for name in vars(self.module) if not name.startswith("_"))
        return {"ok": True, "names": names[:1000]}

    def op_run_main(self, header, blobs):
        path = os.path.join(self.workdir, header["path"])
        if self.workdir not in sys.path:
            sys.path.insert(0, self.workdir)
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as exc:
            return {"ok": True, "exit_code": _exit_code(exc.code)}
        return {"ok": True, "exit_code": 0}

    def op_get(self, header, blobs):
        return {"ok": True, "value": self._resolve(header)}

    def op_call(self, header, blobs):
        target = self._resolve(header)
        args = self._decode(header.get("args", []), blobs)
        kwargs = self._decode(header.get("kwargs", {"__dict__": []}), blobs)
        seed_everything(header.get("seed", 0))
        if header.get("no_grad"):
            import torch

            with torch.no_grad():
                value = target(*args, **kwargs)
        else:
            value = target(*args, **kwargs)
        return {"ok": True, "value": value}

    def op_builtin(self, header, blobs):
        args = self._decode(header.get("args", []), blobs)
        seed_everything(header.get("seed", 0))
        return {"ok": True, "value": recipes.run_builtin(header["name"], args)}

    def _resolve(self, header):
        if header.get("handle") is not None:
            target = self.handles[header["handle"]]
        else:
            if self.module is None:
                raise RuntimeError("no submission module is imported")
            target = self.module
            for part in header["name"].split("."):
                if not hasattr(target, part):
                    raise LookupError(f"{header['name']} is not defined in your module")
                target = getattr(target, part)
        method = header.get("method")
        return getattr(target, method) if method else target


_NOTHING = object()


def seed_everything(seed) -> None:
    """Seed torch, numpy and random with one int, or each with its own
    (``{"torch": a, "numpy": b, "random": c}``) so a check can tell which one is used."""
    import numpy
    import torch

    seeds = seed if isinstance(seed, dict) else {"torch": seed, "numpy": seed, "random": seed}
    random.seed(int(seeds["random"]))
    numpy.random.seed(int(seeds["numpy"]) % 2**32)
    torch.manual_seed(int(seeds["torch"]))


def _exit_code(code) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _error_info(exc: BaseException, workdir: str, unsendable: bool = False) -> dict:
    frames = traceback.extract_tb(exc.__traceback__)
    student_frames = [f for f in frames if f.filename.startswith(workdir + os.sep)]
    last = student_frames[-1] if student_frames else None
    kind = type(exc)
    return {
        "type": f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__,
        "message": _safe_str(exc)[:MESSAGE_CHARS],
        "file": os.path.basename(last.filename) if last else None,
        "line": last.lineno if last else None,
        "traceback": "".join(traceback.format_list(student_frames))[-TRACEBACK_CHARS:],
        "unsendable": unsendable,
    }


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<unprintable exception>"
