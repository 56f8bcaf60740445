"""Checks for w2-dataloader-chain: CALL_CHAIN against the chain traced from the installed torch
(reference.py), scored by the anchors found in order; course-era names resolve to today's steps,
steps that do not run are named."""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys

from grader.checks import Verdict, check, failed, partial, passed
from grader.values import describe

from . import reference

STARTING_LINE = re.compile(r"enumerate\s*\(|^\s*for\s", re.IGNORECASE)
STEP_NUMBER = re.compile(r"^\s*(第\s*\S{1,3}\s*步|step\s*\d+)\s*[:：.、)\-]?\s*", re.IGNORECASE)
CLASS_AND_FUNCTION_ZH = re.compile(
    r"^(?P<owner>[A-Za-z0-9_.]+)\s*类\s*[，,、的:：]?\s*(?P<function>[A-Za-z0-9_]+)\s*(函数|方法)?$")
NEXT_CALL = re.compile(r"^next\s*\((?P<inner>.+)\)$")
TRAILING_CALL = re.compile(r"\s*\(.*\)$")
EXAMPLE = '["DataLoader.__iter__", ..., "RMBDataset.__getitem__"]'
# The traced chain has about fifteen steps: a longer list or entry is not read (each entry costs
# regular expressions and a comparison against every traced step).
MAX_ENTRIES = 200
MAX_ENTRY_CHARS = 300


@dataclasses.dataclass(frozen=True)
class Entry:
    written: str       # as the student wrote it
    name: str          # read as "Class.function"
    step: str | None   # the traced step it stands for, None if no such step runs


@dataclasses.dataclass(frozen=True)
class Chain:
    entries: list[Entry]
    notes: list[str]

    @property
    def steps(self) -> list[str | None]:
        return [entry.step for entry in self.entries]


# ---------------------------------------------------------------------------- reading the chain

def read_chain(student, ctx) -> Chain | Verdict:
    """The student's chain resolved against the trace, or a failed verdict for a broken contract."""
    value = student.get("CALL_CHAIN")
    if isinstance(value, str):
        return failed(f"CALL_CHAIN must be a list of strings, one step per entry, e.g. {EXAMPLE}; it is one "
                      f"string of {len(value)} characters. Split it into the steps, in call order.")
    if not isinstance(value, (list, tuple)):
        return failed(f"CALL_CHAIN must be a list of strings such as {EXAMPLE}, but it is {describe(value)}")
    if len(value) > MAX_ENTRIES:
        return failed(f"CALL_CHAIN has {len(value)} entries; the chain from the loop to __getitem__ has about "
                      f"fifteen steps: list each step once, in call order (at most {MAX_ENTRIES} entries are read)")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            return failed(f"CALL_CHAIN[{index}] is {describe(item)}; every entry must be a string "
                          f"'Class.function'")
        if len(item) > MAX_ENTRY_CHARS:
            return failed(f"CALL_CHAIN[{index}] is {len(item)} characters long; an entry names one step, "
                          f"'Class.function'")
    written = [item.strip() for item in value if item.strip() and not STARTING_LINE.search(item)]
    if not written:
        return failed(f"CALL_CHAIN holds no steps; list them in call order, e.g. {EXAMPLE}")
    trace = reference.traced_chain(ctx.cache_dir)
    names = [_read_name(item) for item in written]
    entries = [Entry(item, name, resolve(name, trace)) for item, name in zip(written, names)]
    return Chain(entries, _format_notes(value, written, names))


def _read_name(text: str) -> str:
    """'DataLoader类，__iter__函数', 'torch.utils.data.DataLoader.__iter__()', 'self.dataset_fetcher.fetch'
    and 'next(self.sampler_iter)' are all read as 'Class.function' (or 'attribute.function')."""
    text = STEP_NUMBER.sub("", text).strip()
    zh = CLASS_AND_FUNCTION_ZH.match(text)
    if zh:
        text = f"{zh['owner']}.{zh['function']}"
    call = NEXT_CALL.match(text)
    if call:
        text = call["inner"]
    text = TRAILING_CALL.sub("", text).removeprefix("self.")
    return ".".join(text.split(".")[-2:])


def _format_notes(value, written: list[str], names: list[str]) -> list[str]:
    notes = []
    if isinstance(value, tuple):
        notes.append("CALL_CHAIN is a tuple; a list was asked for (it was graded the same)")
    rewritten = [f"'{item}' as '{name}'" for item, name in zip(written, names) if item != name]
    if rewritten:
        shown = ", ".join(rewritten[:3]) + (", …" if len(rewritten) > 3 else "")
        notes.append(f"entries were read as 'Class.function': {shown}")
    return notes


def resolve(name: str, trace: dict) -> str | None:
    """The traced step ``name`` stands for: its defining class (``_BaseDataLoaderIter.__next__``),
    the class of the object it ran on (``_SingleProcessDataLoaderIter.__next__``), or the
    attribute holding that object (``dataset_fetcher.fetch``)."""
    owner, _, function = name.rpartition(".")
    stands_for = trace["attributes"].get((owner or function).lstrip("_"))
    if stands_for and "." in stands_for:  # a generator attribute: its generator function's step
        return stands_for
    if stands_for and owner:
        owner = stands_for
    for step in trace["steps"]:
        if step["name"] in (name, f"{owner}.{function}") \
                or (owner and step["function"] == function and step["runtime_class"] == owner):
            return step["name"]
    return None


# ---------------------------------------------------------------------------- comparing

def longest_common_subsequence(found: list, wanted: list) -> list:
    """The longest run of ``wanted`` that ``found`` contains in order."""
    lengths = [[0] * (len(wanted) + 1) for _ in range(len(found) + 1)]
    for i, item in enumerate(found):
        for j, target in enumerate(wanted):
            lengths[i + 1][j + 1] = lengths[i][j] + 1 if item == target else max(lengths[i][j + 1],
                                                                                  lengths[i + 1][j])
    matched, i, j = [], len(found), len(wanted)
    while i and j:
        if found[i - 1] == wanted[j - 1]:
            matched.append(wanted[j - 1])
            i, j = i - 1, j - 1
        elif lengths[i - 1][j] >= lengths[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return matched[::-1]


def course_era_anchors(trace: dict) -> list[str]:
    resolved = (resolve(name, trace) for name in reference.COURSE_ERA_CHAIN)
    return list(dict.fromkeys(step for step in resolved if step))


def missing_steps(anchors: list[str], matched: list[str]) -> list[str]:
    """'2 steps missing between A and B' for each gap, without naming the missing steps."""
    gaps, count, previous = [], 0, None
    for anchor in anchors:
        if anchor not in matched:
            count += 1
            continue
        if count:
            gaps.append(_gap(count, previous, anchor))
        count, previous = 0, anchor
    if count:
        gaps.append(_gap(count, previous, None))
    return gaps


def _gap(count: int, before: str | None, after: str | None) -> str:
    steps = f"{count} step{'s' if count > 1 else ''} missing"
    if before and after:
        return f"{steps} between {before} and {after}"
    return f"{steps} after {before}" if before else f"{steps} before {after}"


def out_of_order(chain: Chain, anchors: list[str], matched: list[str]) -> list[str]:
    notes = []
    for entry in chain.entries:
        if entry.step in anchors and entry.step not in matched:
            position = anchors.index(entry.step)
            where = f"after {anchors[position - 1]}" if position else "first"
            notes.append(f"{entry.written} is out of order: torch calls it {where}")
    return list(dict.fromkeys(notes))


def why_not_a_step(entry: Entry, trace: dict) -> str:
    owner, _, function = entry.name.rpartition(".")
    if entry.name in trace["later"]:
        return f"{entry.written} runs only after RMBDataset.__getitem__ has returned"
    known = _data_classes()
    if not owner:
        reason = "no function of that name runs on the way"
    elif owner not in known:
        reason = f"no class {owner} takes part in loading a batch"
    elif not hasattr(known[owner], function):
        reason = f"{owner} has no method {function}"
        if function == "__next__" and hasattr(known[owner], "__iter__"):
            return (f"{entry.written}: {reason}; {owner} is iterable, not an iterator: its __iter__ returns the "
                    f"iterator whose __next__ the for loop calls")
    else:
        reason = "defined in torch but not called on the way (num_workers=0)"
    return f"{entry.written}: {reason}{_did_you_mean(entry.name, trace)}"


def _did_you_mean(name: str, trace: dict) -> str:
    close = difflib.get_close_matches(name, [step["name"] for step in trace["steps"]], n=1, cutoff=0.8)
    return f" (did you mean {close[0]}?)" if close else ""


def _data_classes() -> dict[str, type]:
    classes = {"RMBDataset": reference.RMBDataset}
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith(reference.TRACED_PACKAGE) and module is not None:
            classes.update({name: value for name, value in vars(module).items() if isinstance(value, type)})
    return classes


def _with_notes(verdict: Verdict, notes: list[str]) -> Verdict:
    text = "\n".join(part for part in [verdict.feedback, *notes] if part)
    return Verdict(verdict.fraction, text)


def _not_graded() -> Verdict:
    return failed("not graded until CALL_CHAIN is a list of steps (see chain_is_list)")


# ---------------------------------------------------------------------------- checks

@check("chain_is_list")
def chain_is_list(student, ctx):
    chain = read_chain(student, ctx)
    if isinstance(chain, Verdict):
        return chain
    return _with_notes(passed(), chain.notes)


@check("ends_at_getitem")
def ends_at_getitem(student, ctx):
    chain = read_chain(student, ctx)
    if isinstance(chain, Verdict):
        return _not_graded()
    target = reference.traced_chain(ctx.cache_dir)["anchors"][-1]
    last = chain.entries[-1]
    if last.step == target:
        return passed()
    if target in chain.steps:
        return failed(f"the chain should end at {target}, but it goes on to {last.written}")
    return failed(f"the chain should end at {target}, but it ends at {last.written}")


@check("anchors_in_order")
def anchors_in_order(student, ctx):
    chain = read_chain(student, ctx)
    if isinstance(chain, Verdict):
        return _not_graded()
    trace = reference.traced_chain(ctx.cache_dir)
    today, course_era = trace["anchors"], course_era_anchors(trace)
    found_today = longest_common_subsequence(chain.steps, today)
    found_era = longest_common_subsequence(chain.steps, course_era)
    if len(found_era) == len(course_era) and len(found_today) < len(today):
        skipped = [anchor for anchor in today if anchor not in found_today]
        return passed(f"this is the chain of the course's torch 1.3/1.4; on torch {trace['torch']} it also "
                      f"passes through {', '.join(skipped)}")
    fraction = len(found_today) / len(today)
    if fraction == 1:
        return passed()
    problems = missing_steps(today, found_today) + out_of_order(chain, today, found_today)
    return partial(fraction, f"{len(found_today)} of the {len(today)} steps the for loop must pass through "
                             f"were found in call order; " + "; ".join(problems))


@check("steps_exist")
def steps_exist(student, ctx):
    chain = read_chain(student, ctx)
    if isinstance(chain, Verdict):
        return _not_graded()
    trace = reference.traced_chain(ctx.cache_dir)
    invented = [entry for entry in chain.entries if entry.step is None]
    if not invented:
        return passed()
    reasons = [why_not_a_step(entry, trace) for entry in invented]
    real = len(chain.entries) - len(invented)
    return partial(real / len(chain.entries), f"{len(invented)} of {len(chain.entries)} entries are not steps "
                                              f"the for loop runs through: " + "; ".join(reasons))
