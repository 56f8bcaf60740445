"""Reference for w2-dataloader-chain: the call chain from ``for i, data in
enumerate(train_loader)`` to ``RMBDataset.__getitem__``, traced from the installed torch with a
profiler hook (trusted process only).  The trace is cached per torch version, in memory and in
a file under the settings' data directory.

Anchors are the steps a debugger's "step into" must pass through: the functions on the stack
when the loader's iterator is built, when its sampler starts drawing indices, and when the
dataset's ``__getitem__`` starts.  Every other function that runs on the way is a real step
too, but an optional one.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import types
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset


TRACE_FORMAT = 1
TRACED_PACKAGE = "torch.utils.data"

# The chain as students stepped through it on the course's torch 1.3/1.4, where the iterator
# had no _next_data and DataLoader no _get_iterator.  That torch cannot be traced here, so this
# is the one hard-coded chain; checks resolve its names against the trace.
COURSE_ERA_CHAIN = (
    "DataLoader.__iter__",
    "_SingleProcessDataLoaderIter.__init__",
    "_SingleProcessDataLoaderIter.__next__",
    "_BaseDataLoaderIter._next_index",
    "BatchSampler.__iter__",
    "RandomSampler.__iter__",
    "dataset_fetcher.fetch",
    "RMBDataset.__getitem__",
)


class RMBDataset(Dataset):
    """Stands in for the course's RMBDataset: the chain does not depend on what it loads."""

    def __init__(self):
        self.labels = [0, 1, 0, 1]

    def __getitem__(self, index):
        return torch.zeros(3, 4, 4), self.labels[index]

    def __len__(self):
        return len(self.labels)


def call_chain(cache_dir: Path) -> list[str]:
    """The reference answer: the anchors in call order."""
    return list(traced_chain(cache_dir)["anchors"])


@functools.lru_cache(maxsize=None)
def traced_chain(cache_dir: Path) -> dict:
    """``{"torch", "anchors", "steps", "later", "attributes"}`` for the installed torch."""
    path = _cache_path(cache_dir)
    cached = _read_cache(path)
    if cached is not None:
        return cached
    trace = trace_chain()
    _write_cache(path, trace)
    return trace


def trace_chain() -> dict:
    dataset = RMBDataset()
    loader = DataLoader(dataset, batch_size=2, shuffle=True, num_workers=0)
    recorder = _Recorder(dataset)
    previous = sys.getprofile()
    sys.setprofile(recorder)
    try:
        for i, data in enumerate(loader):
            break
    finally:
        sys.setprofile(previous)
    return recorder.summary(loader)


class _Call:
    def __init__(self, frame: types.FrameType, owner, stack: list[str]):
        self.name = frame.f_code.co_qualname
        self.function = frame.f_code.co_name
        self.owner = owner
        self.stack = stack

    @property
    def runtime_class(self) -> str | None:
        return type(self.owner).__name__ if self.owner is not None else None


class _Recorder:
    """A ``sys.setprofile`` hook that records the calls into torch.utils.data and the dataset."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.calls: list[_Call] = []

    def __call__(self, frame, event, arg) -> None:
        if event == "call" and self._recorded(frame):
            self.calls.append(_Call(frame, frame.f_locals.get("self"), self._stack(frame)))

    def _recorded(self, frame) -> bool:
        module = frame.f_globals.get("__name__", "")
        return module.startswith(TRACED_PACKAGE) or frame.f_locals.get("self") is self.dataset

    def _stack(self, frame) -> list[str]:
        names = []
        while frame is not None:
            if self._recorded(frame) and _is_named(frame.f_code.co_qualname):
                names.append(frame.f_code.co_qualname)
            frame = frame.f_back
        return names[::-1]

    def summary(self, loader: DataLoader) -> dict:
        iterator = self._first(lambda call: call.function == "__next__").owner
        moments = [
            self._first(lambda call: call.owner is iterator and call.function == "__init__"),
            self._first(lambda call: call.owner is loader.sampler and call.function == "__iter__"),
            self._first(lambda call: call.owner is self.dataset and call.function == "__getitem__"),
        ]
        target = self.calls.index(moments[-1])
        return {
            "format": TRACE_FORMAT,
            "torch": torch.__version__,
            "anchors": list(dict.fromkeys(name for moment in moments for name in moment.stack)),
            "steps": _unique_steps(self.calls[:target + 1]),
            "later": _later_names(self.calls[:target + 1], self.calls[target + 1:]),
            "attributes": _attribute_types(iterator, loader),
        }

    def _first(self, wanted) -> _Call:
        return next(call for call in self.calls if wanted(call))


def _is_named(qualname: str) -> bool:
    """Comprehensions, lambdas and generator expressions are not steps a student names."""
    return "<" not in qualname


def _unique_steps(calls: list[_Call]) -> list[dict]:
    steps = {}
    for call in calls:
        if _is_named(call.name):
            steps.setdefault((call.name, call.runtime_class),
                             {"name": call.name, "function": call.function, "runtime_class": call.runtime_class})
    return list(steps.values())


def _later_names(steps: list[_Call], later: list[_Call]) -> list[str]:
    """Functions that first run after the first ``__getitem__`` (collating the batch)."""
    seen = {call.name for call in steps}
    return list(dict.fromkeys(c.name for c in later if _is_named(c.name) and c.name not in seen))


def _attribute_types(*owners) -> dict[str, str]:
    """What a student may write instead of a class: ``dataset_fetcher.fetch`` (the attribute
    the debugger shows) stands for ``_MapDatasetFetcher.fetch``; a generator attribute such as
    ``sampler_iter`` stands for the generator function's own step."""
    names = {}
    for owner in owners:
        for attribute, value in vars(owner).items():
            if isinstance(value, types.GeneratorType):
                names[attribute.lstrip("_")] = value.gi_code.co_qualname
            elif type(value).__module__.startswith(TRACED_PACKAGE) or isinstance(value, RMBDataset):
                names[attribute.lstrip("_")] = type(value).__name__
    return names


def _cache_path(cache_dir: Path) -> Path:
    return cache_dir / f"dataloader-chain-torch-{torch.__version__}.json"


def _read_cache(path: Path) -> dict | None:
    try:
        trace = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    valid = isinstance(trace, dict) and trace.get("format") == TRACE_FORMAT \
        and trace.get("torch") == torch.__version__ and trace.get("anchors")
    return trace if valid else None


def _write_cache(path: Path, trace: dict) -> None:
    """Atomically, so that concurrent graders never read half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(dir=path.parent, prefix=".chain-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(trace, file, indent=1)
        os.replace(staging, path)
    except OSError:
        pass  # the in-memory cache still holds it; the next process traces again
