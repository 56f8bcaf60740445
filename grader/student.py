"""The checker's view of a running submission: call what it defines, get raw values back.

``Student`` wraps one sandbox job.  Every reply is validated and decoded here; a student
exception becomes ``StudentError`` (a verdict for the check to report), the job dying
becomes ``JobDied`` (the engine records it and starts a fresh job for the next check).
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import hashlib
import json
import time

from grader.i18n import Message, _, render
from grader.sandbox import wire
from grader.sandbox.host import Job, JobDied
from grader import values

__all__ = ["Student", "StudentError", "UncheckableValue", "CheckerOverrun", "JobDied", "MainRun", "Bounds"]

BUILTIN_EXCEPTIONS = {name for name, obj in vars(builtins).items()
                      if isinstance(obj, type) and issubclass(obj, BaseException)}


@dataclasses.dataclass
class StudentError(Exception):
    """The student's code raised, or answered with something that cannot be checked."""

    what: Message             # what the checker asked for, in the student's terms
    type_name: str            # exception type as the job reported it
    message: str              # the exception's message (the student's words; English when the grader's)
    line: int | None = None
    file: str | None = None
    traceback: str = ""
    kind: str = "error"       # "error"; "memory" for an allocation failure; "missing" for an undefined name
    said: Message | None = None  # the grader's own words for ``message``, in every language

    def __post_init__(self):
        if self.said is not None and not self.message:
            self.message = render(self.said)

    def __str__(self) -> str:
        return render(self.feedback())

    def feedback(self, show_message: bool = True) -> Message:
        """What the student is told, a catalogue message: what raised what, where, and (when
        ``show_message``: exception messages may quote hidden inputs) its first lines."""
        if self.kind == "missing":
            return self.said if self.said is not None else self.message
        named = self.type_name in BUILTIN_EXCEPTIONS or show_message
        where = dict(line=self.line, file=self.file) if self.line and self.file else {}
        message = (self.said if self.said is not None else _first_lines(self.message)) if show_message else ""
        if not named:
            if where:
                return _("{what} raised an exception (line {line} of {file})", what=self.what, **where)
            return _("{what} raised an exception", what=self.what)
        if where and message:
            return _("{what} raised {error} (line {line} of {file}): {message}", what=self.what,
                     error=self.type_name, message=message, **where)
        if where:
            return _("{what} raised {error} (line {line} of {file})", what=self.what, error=self.type_name, **where)
        if message:
            return _("{what} raised {error}: {message}", what=self.what, error=self.type_name, message=message)
        return _("{what} raised {error}", what=self.what, error=self.type_name)


class CheckerOverrun(BaseException):
    """The checker spent the CPU time it may spend on one submission.  A ``BaseException`` so
    that no ``except Exception`` in a check swallows it."""


@dataclasses.dataclass
class UncheckableValue(StudentError):
    """A check raised on a value the student's code returned (a NaN where it needed a number,
    a shape it did not expect): a verdict for the student, not a grader fault."""

    def feedback(self, show_message: bool = True) -> Message:
        if show_message and self.message:
            return _("the grader could not judge what your code returned: checking it raised {error} ({message})",
                     error=self.type_name, message=_first_lines(self.message, 1, 200))
        return _("the grader could not judge what your code returned: checking it raised {error}",
                 error=self.type_name)


@dataclasses.dataclass(frozen=True)
class Bounds:
    """What the checker takes in from one submission (settings ``max_value_items``,
    ``max_decoded_mb``, ``max_cache_mb``)."""

    items: int = 100_000
    decoded_bytes: int = 1 << 30
    cache_bytes: int = 256 << 20

    @classmethod
    def from_settings(cls, settings) -> "Bounds":
        return cls(settings.max_value_items, settings.max_decoded_mb << 20, settings.max_cache_mb << 20)


@dataclasses.dataclass(frozen=True)
class MainRun:
    """One run of the entry file as ``__main__``: how it ended and what it printed."""

    exit_code: int | None            # None when it raised
    stdout: str
    stderr: str
    error: StudentError | None = None


def _noted(method):
    """Remember each exception of the student's code a request meets (also one replayed from
    the cache), so the engine can tell which checks one cause affects."""
    @functools.wraps(method)
    def noting(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except StudentError as exc:
            self.raised.append(exc)
            raise
    return noting


class Student:
    """Requests to one job.  Calls without side effects are memoised per submission."""

    def __init__(self, job: Job, entry_module: str, bounds: Bounds = Bounds(), decoded: int = 0):
        self.job = job
        self.entry_module = entry_module
        self.bounds = bounds
        self.names: list[str] = []
        self.cache: dict[str, object] = {}
        self.cache_bytes = 0
        self.decoded = decoded   # bytes rebuilt from this submission's replies, across its jobs
        self.replies = 0         # answers given to checks; a check that raises after one may have met a bad value
        self.last_size = 0
        self.cpu_deadline: float | None = None  # process CPU time past which the checker stops (engine)
        self.raised: list[StudentError] = []  # the student's exceptions met by checks, in order (engine)

    # ------------------------------------------------------------------ setup
    def install(self, files: dict[str, bytes]) -> None:
        names = sorted(files)
        self._request({"op": "install", "files": {name: i for i, name in enumerate(names)}},
                      [files[name] for name in names], what=_("installing your files"))

    def import_module(self, timeout_s: float | None = None) -> list[str]:
        module = self.entry_module.removesuffix(".py").replace("/", ".")
        reply = self._request({"op": "import", "module": module, "seed": 0},
                              what=_("importing {module}", module=self.entry_module), timeout_s=timeout_s)
        names = reply[0].get("names")  # the job's word: a list of strings, or nothing
        self.names = [name for name in names if isinstance(name, str)] if isinstance(names, list) else []
        return self.names

    @_noted
    def run_main(self, timeout_s: float | None = None) -> int:
        reply, _blobs = self._request({"op": "run_main", "path": self.entry_module},
                                      what=_("running {module}", module=self.entry_module), timeout_s=timeout_s)
        code = reply.get("exit_code")
        return code if type(code) is int else 1

    def run_main_captured(self, timeout_s: float | None = None) -> MainRun:
        """Run the entry file as ``__main__`` once per job and keep what that run printed, also
        when it raised.  The output is read without being taken, so it still reaches the result."""
        if "__main__" not in self.cache:
            start = self.job.output_position()
            try:
                code, error = self.run_main(timeout_s), None
            except StudentError as exc:
                code, error = None, exc
            self.cache["__main__"] = MainRun(code, *self.job.output_since(start), error)
        elif self.cache["__main__"].error is not None:  # met again by this check
            self.raised.append(self.cache["__main__"].error)
        return self.cache["__main__"]

    # ------------------------------------------------------------------ values
    def has(self, name: str) -> bool:
        return name.split(".")[0] in self.names

    def require(self, name: str) -> None:
        if not self.has(name):
            raise StudentError(name, "NameError", "", kind="missing",
                               said=_("your module does not define {name}", name=name))

    @_noted
    def get(self, name: str):
        self.require(name)
        return self._value({"op": "get", "name": name}, what=name)

    @_noted
    def call(self, name: str, *args, seed: int | dict = 0, no_grad: bool = False, timeout_s: float | None = None,
             cache: bool = True, **kwargs):
        """Call ``name`` from the student's module with ``args``; torch, numpy and random are
        seeded with ``seed`` first (one int, or ``{"torch": a, "numpy": b, "random": c}``)."""
        self.require(name)
        return self._invoke({"op": "call", "name": name}, name, args, kwargs, seed, no_grad, timeout_s, cache)

    @_noted
    def call_method(self, handle: values.Handle, method: str | None, *args, seed: int = 0, no_grad: bool = False,
                    timeout_s: float | None = None, what: str | None = None, **kwargs):
        """Call ``handle.method(*args)`` (or ``handle(*args)`` when ``method`` is None)."""
        what = what or (f"{handle.type_name.rsplit('.', 1)[-1]}.{method}" if method else handle.describe())
        return self._invoke({"op": "call", "handle": handle.id, "method": method}, what, args, kwargs, seed,
                            no_grad, timeout_s, cache=False)

    @_noted
    def builtin(self, name: str, *args, seed: int = 0, timeout_s: float | None = None, what: str | None = None):
        """Run one of the sandbox's helper routines (``sandbox.recipes``) on the student's objects."""
        tree, blobs = values.encode(list(args))
        return self._value({"op": "builtin", "name": name, "args": tree, "seed": seed}, blobs,
                           what=what or name, timeout_s=timeout_s)

    def _invoke(self, header, what, args, kwargs, seed, no_grad, timeout_s, cache):
        tree, blobs = values.encode([list(args), kwargs])
        header = dict(header, args=tree[0], kwargs=tree[1], seed=seed, no_grad=no_grad)
        key = _cache_key(header, blobs) if cache else None
        if key is not None and key in self.cache:
            self.replies += 1
            return _replay(self.cache[key])
        try:
            result = self._value(header, blobs, what=f"{what}(...)", timeout_s=timeout_s)
        except StudentError as exc:  # the same call would raise again: remember that too
            result = exc
        size = 0 if isinstance(result, StudentError) else self.last_size
        if key is not None and self.cache_bytes + size <= self.bounds.cache_bytes:
            self.cache[key] = result
            self.cache_bytes += size
        return _replay(result)

    def _value(self, header, blobs=(), *, what: Message, timeout_s: float | None = None):
        reply, reply_blobs = self._request(header, blobs, what=what, timeout_s=timeout_s)
        caps = self.job.caps
        caps = wire.Caps(caps.header_bytes, caps.blob_bytes, caps.depth, min(caps.items, self.bounds.items),
                         caps.text_chars)
        decoder = values.decoder(reply_blobs, caps, budget=self.bounds.decoded_bytes - self.decoded)
        try:
            value = decoder.decode(reply.get("value"))
        except wire.ProtocolError as exc:
            raise StudentError(what, "ValueError", "", said=_("returned a value that cannot be checked ({problem})",
                                                              problem=str(exc))) from None
        finally:
            self.decoded += decoder.decoded
        self.last_size = decoder.decoded
        return value

    def _request(self, header, blobs=(), *, what: Message, timeout_s: float | None = None):
        if self.cpu_deadline is not None and time.process_time() > self.cpu_deadline:
            raise CheckerOverrun()
        reply, reply_blobs = self.job.request(header, list(blobs), timeout_s)
        self.replies += 1
        error = reply.get("error")
        if error is not None:
            raise _student_error(what, error)
        if not reply.get("ok"):
            raise StudentError(what, "ValueError", "", said=_("the job sent a malformed reply"))
        return reply, reply_blobs


def _first_lines(message: str, lines: int = 3, chars: int = 400) -> str:
    kept = "\n".join(message.strip().splitlines()[:lines])
    return kept[:chars] + ("…" if len(kept) > chars or len(message.strip().splitlines()) > lines else "")


def _student_error(what: Message, error) -> StudentError:
    if not isinstance(error, dict):
        return StudentError(what, "Exception", "")
    text = {key: str(error.get(key) or "")[:4000] for key in ("type", "message", "file", "traceback")}
    line = error.get("line") if type(error.get("line")) is int else None
    memory = text["type"] == "MemoryError" or "can't allocate memory" in text["message"] \
        or "DefaultCPUAllocator" in text["message"]
    said = None
    if error.get("unsendable"):
        def unsendable(message: str) -> Message:
            return _("returned a value that cannot be sent back for checking: {message}", message=message)
        said = unsendable(_first_lines(text["message"]))
        text["message"] = render(unsendable(text["message"]))
    return StudentError(what, text["type"] or "Exception", text["message"], line, text["file"] or None,
                        text["traceback"], "memory" if memory else "error", said)


def _replay(result):
    if isinstance(result, StudentError):
        raise result
    return result


def _cache_key(header: dict, blobs: list) -> str:
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for blob in blobs:
        digest.update(len(blob).to_bytes(8, "big"))
        digest.update(blob)
    return digest.hexdigest()
