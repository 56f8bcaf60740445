"""Checks for w2-dataloader-chain: CALL_CHAIN against the chain traced from the installed torch
(reference.py), scored by the anchors found in order; course-era names resolve to today's steps,
steps that do not run are named."""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys

from grader.checks import Verdict, check, failed, partial, passed
from grader.i18n import Message, Text, catalogue_beside
from grader.values import describe

from . import reference

_ = catalogue_beside(__file__)

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
    notes: list[Message]

    @property
    def steps(self) -> list[str | None]:
        return [entry.step for entry in self.entries]


# ---------------------------------------------------------------------------- reading the chain

def read_chain(student, ctx) -> Chain | Verdict:
    """The student's chain resolved against the trace, or a failed verdict for a broken contract."""
    value = student.get("CALL_CHAIN")
    if isinstance(value, str):
        return failed(_("CALL_CHAIN must be a list of strings, one step per entry, e.g. {example}; it is one string "
                        "of {length} characters. Split it into the steps, in call order.", example=EXAMPLE,
                        length=len(value)))
    if not isinstance(value, (list, tuple)):
        return failed(_("CALL_CHAIN must be a list of strings such as {example}, but it is {value}", example=EXAMPLE,
                        value=describe(value)))
    if len(value) > MAX_ENTRIES:
        return failed(_("CALL_CHAIN has {count} entries; the chain from the loop to __getitem__ has about fifteen "
                        "steps: list each step once, in call order (at most {limit} entries are read)",
                        count=len(value), limit=MAX_ENTRIES))
    for index, item in enumerate(value):
        if not isinstance(item, str):
            return failed(_("CALL_CHAIN[{index}] is {value}; every entry must be a string 'Class.function'",
                            index=index, value=describe(item)))
        if len(item) > MAX_ENTRY_CHARS:
            return failed(_("CALL_CHAIN[{index}] is {length} characters long; an entry names one step, "
                            "'Class.function'", index=index, length=len(item)))
    written = [item.strip() for item in value if item.strip() and not STARTING_LINE.search(item)]
    if not written:
        return failed(_("CALL_CHAIN holds no steps; list them in call order, e.g. {example}", example=EXAMPLE))
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


def _format_notes(value, written: list[str], names: list[str]) -> list[Message]:
    notes = []
    if isinstance(value, tuple):
        notes.append(_("CALL_CHAIN is a tuple; a list was asked for (it was graded the same)"))
    rewritten = [_("'{item}' as '{name}'", item=item, name=name) for item, name in zip(written, names) if item != name]
    if rewritten:
        shown = Text.join(", ", rewritten[:3] + (["…"] if len(rewritten) > 3 else []))
        notes.append(_("entries were read as 'Class.function': {shown}", shown=shown))
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


def missing_steps(anchors: list[str], matched: list[str]) -> list[Message]:
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


def _gap(count: int, before: str | None, after: str | None) -> Message:
    steps = _("{count} steps missing", count=count) if count > 1 else _("1 step missing")
    if before and after:
        return _("{steps} between {before} and {after}", steps=steps, before=before, after=after)
    return _("{steps} after {before}", steps=steps, before=before) if before else \
        _("{steps} before {after}", steps=steps, after=after)


def out_of_order(chain: Chain, anchors: list[str], matched: list[str]) -> list[Message]:
    notes = []
    for entry in chain.entries:
        if entry.step in anchors and entry.step not in matched:
            position = anchors.index(entry.step)
            where = _("after {step}", step=anchors[position - 1]) if position else _("first")
            notes.append(_("{written} is out of order: torch calls it {where}", written=entry.written, where=where))
    return list(dict.fromkeys(notes))


def why_not_a_step(entry: Entry, trace: dict) -> Message:
    owner, _dot, function = entry.name.rpartition(".")
    if entry.name in trace["later"]:
        return _("{written} runs only after RMBDataset.__getitem__ has returned", written=entry.written)
    known = _data_classes()
    if not owner:
        reason = _("no function of that name runs on the way")
    elif owner not in known:
        reason = _("no class {owner} takes part in loading a batch", owner=owner)
    elif not hasattr(known[owner], function):
        reason = _("{owner} has no method {function}", owner=owner, function=function)
        if function == "__next__" and hasattr(known[owner], "__iter__"):
            return _("{written}: {reason}; {owner} is iterable, not an iterator: its __iter__ returns the iterator "
                     "whose __next__ the for loop calls", written=entry.written, reason=reason, owner=owner)
    else:
        reason = _("defined in torch but not called on the way (num_workers=0)")
    close = _did_you_mean(entry.name, trace)
    if close:
        return _("{written}: {reason} (did you mean {step}?)", written=entry.written, reason=reason, step=close)
    return _("{written}: {reason}", written=entry.written, reason=reason)


def _did_you_mean(name: str, trace: dict) -> str | None:
    close = difflib.get_close_matches(name, [step["name"] for step in trace["steps"]], n=1, cutoff=0.8)
    return close[0] if close else None


def _data_classes() -> dict[str, type]:
    classes = {"RMBDataset": reference.RMBDataset}
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith(reference.TRACED_PACKAGE) and module is not None:
            classes.update({name: value for name, value in vars(module).items() if isinstance(value, type)})
    return classes


def _with_notes(verdict: Verdict, notes: list[Message]) -> Verdict:
    return Verdict(verdict.fraction, Text.join("\n", [part for part in [verdict.feedback, *notes] if part]))


def _not_graded() -> Verdict:
    return failed(_("not graded until CALL_CHAIN is a list of steps (see chain_is_list)"))


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
        return failed(_("the chain should end at {target}, but it goes on to {last}", target=target, last=last.written))
    return failed(_("the chain should end at {target}, but it ends at {last}", target=target, last=last.written))


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
        return passed(_("this is the chain of the course's torch 1.3/1.4; on torch {version} it also passes through "
                        "{skipped}", version=trace["torch"], skipped=", ".join(skipped)))
    fraction = len(found_today) / len(today)
    if fraction == 1:
        return passed()
    problems = missing_steps(today, found_today) + out_of_order(chain, today, found_today)
    return partial(fraction, _("{found} of the {total} steps the for loop must pass through were found in call "
                               "order; {problems}", found=len(found_today), total=len(today),
                               problems=Text.join("; ", problems)))


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
    return partial(real / len(chain.entries), _("{invented} of {total} entries are not steps the for loop runs "
                                                "through: {reasons}", invented=len(invented),
                                                total=len(chain.entries), reasons=Text.join("; ", reasons)))
