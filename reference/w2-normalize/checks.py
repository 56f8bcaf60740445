"""Checks for w2-normalize: normalize(t, mean, std) against torchvision.transforms.Normalize
itself; channel_stats against per-channel statistics of the whole data set.  Whether normalize
changes t in place and whether torchvision code runs while it works can only be seen inside the
job, which is the student's process: the points rest on a reading of the source
(``compare.source``), and what the builtin ``call_observed`` sees in the job may only take
them away."""

from __future__ import annotations

import random

import torch
from torchvision import transforms

from grader.checks import Verdict, check, failed, first_failure, mean_of, passed
from grader.compare import numbers, source, tensors
from grader.i18n import Message, Text, catalogue_beside
from grader.student import StudentError
from grader.values import StudentArray, StudentTensor, describe

_ = catalogue_beside(__file__)
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
RTOL, ATOL = 1e-5, 1e-6
STATS_RTOL, STATS_ATOL = 1e-4, 1e-6
CHANNEL_HINT = _("each channel needs its own mean and std: channels are the first dimension of [C, H, W], and a "
                 "mean of shape [C] broadcasts against the last one (the width); reshape it to [C, 1, 1]")
MEAN_OF_IMAGE_STDS_HINT = _("this is the average of each image's own std; the data set's std is taken over all "
                            "images' pixels at once (the spread between images counts too)")
VARIANCE_HINT = _("this is the variance; the std is its square root")
# Batch sizes a student may walk the data set in; every data set checked is larger than each and
# a multiple of none, so statistics made per batch and averaged differ from the data set's own.
BATCH_SIZES = (8, 10, 16, 20, 25, 32, 50, 64, 100, 128)


def _random(shape, seed: int, dtype=torch.float32) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def expected_normalize(t: torch.Tensor, mean, std) -> torch.Tensor:
    return transforms.Normalize(mean, std)(t.clone())


# ---------------------------------------------------------------------------- normalize values

def _along_width(t: torch.Tensor, mean, std) -> torch.Tensor | None:
    """What (t - tensor(mean)) / tensor(std) gives when the shapes happen to broadcast."""
    try:
        return (t - torch.tensor(mean, dtype=t.dtype)) / torch.tensor(std, dtype=t.dtype)
    except RuntimeError:
        return None


def _normalize_case(student, ctx, t: torch.Tensor, mean, std) -> tuple[Verdict, bool]:
    """The verdict on one call, and whether the channel hint explains it."""
    what = _("normalize(t, mean, std) for t of shape {shape} and dtype {dtype}", shape=list(t.shape),
             dtype=tensors.dtype_name(t.dtype))
    try:
        out = student.call("normalize", t, mean, std, seed=ctx.seed)
    except StudentError as exc:
        return failed(exc.feedback(show_message=ctx.visible)), "must match the size of tensor" in exc.message
    expected = expected_normalize(t, mean, std)
    form = first_failure(
        lambda: tensors.is_tensor(out, what=what),
        lambda: tensors.shape_matches(out, expected.shape, what=what),
        lambda: tensors.dtype_matches(out, expected.dtype, what=what, why="transforms.Normalize keeps t's dtype"),
    )
    if not form.ok:
        return form, False
    values = tensors.values_close(out, expected, what=what, rtol=RTOL, atol=ATOL)
    if values.ok:
        return values, False
    text = values.feedback if ctx.visible else _("{what}: the values differ from transforms.Normalize(mean, std)(t)",
                                                 what=what)
    along_width = _along_width(t, mean, std)
    return failed(text), along_width is not None and torch.allclose(out.tensor.to(t.dtype), along_width, rtol=RTOL,
                                                                    atol=ATOL)


def _with_hint(verdict: Verdict, hinted: bool) -> Verdict:
    return Verdict(verdict.fraction, Text.join("\n", [verdict.feedback, CHANNEL_HINT])) if hinted else verdict


@check("normalize_values")
def normalize_values(student, ctx):
    return _with_hint(*_normalize_case(student, ctx, _random((3, 8, 10), seed=1), IMAGENET_MEAN, IMAGENET_STD))


def _hidden_normalize_cases(seed: int) -> list[tuple]:
    rng = random.Random(seed)

    def numbers_for(channels: int, low: float, high: float) -> list[float]:
        return [round(rng.uniform(low, high), 3) for _ in range(channels)]

    return [
        (_random((1, 6, 7), seed), (0.5,), (0.25,)),
        (_random((4, 5, 4), seed + 1, torch.float64), numbers_for(4, 0.2, 0.8), numbers_for(4, 0.1, 0.4)),
        (_random((3, 6, 3), seed + 2), tuple(numbers_for(3, 0.2, 0.8)), tuple(numbers_for(3, 0.1, 0.4))),
    ]


@check("normalize_hidden")
def normalize_hidden(student, ctx):
    cases = [_normalize_case(student, ctx, *case) for case in _hidden_normalize_cases(ctx.seed)]
    return _with_hint(mean_of([verdict for verdict, _hinted in cases]), any(hinted for _verdict, hinted in cases))


# ---------------------------------------------------------------------------- observed in the job

# W equals C so that a mean broadcast along the width still runs: these checks do not depend
# on the values being right.
OBSERVED_INPUT = _random((3, 4, 3), seed=2)


def _observe(student) -> dict | Verdict:
    """normalize(t, mean, std) run inside the job by the builtin ``call_observed``."""
    observed = student.builtin("call_observed", student.get("normalize"), OBSERVED_INPUT, IMAGENET_MEAN,
                               IMAGENET_STD, what="normalize(t, mean, std)")
    arguments = observed.get("arguments") if isinstance(observed, dict) else None
    packages = observed.get("packages") if isinstance(observed, dict) else None
    if not (isinstance(arguments, list) and arguments and isinstance(packages, dict)):
        return failed(_("normalize(t, mean, std) could not be observed while it ran"))
    return observed


@check("does_not_modify_input")
def does_not_modify_input(student, ctx):
    observed = _observe(student)
    if isinstance(observed, Verdict):
        return observed
    after = observed["arguments"][0]
    unchanged = isinstance(after, StudentTensor) and after.dtype == OBSERVED_INPUT.dtype \
        and after.shape == tuple(OBSERVED_INPUT.shape) and torch.equal(after.tensor, OBSERVED_INPUT)
    if unchanged:
        finding = source.reading(ctx.source, lambda s: source.modifies_argument(s, "normalize", 0))
        return source.verdict(finding, "that normalize leaves t unchanged") or passed()
    return failed(_("normalize(t, mean, std) changed its input t (in-place operations such as t.sub_(...), "
                    "t.div_(...) or t[c] = ... on t itself); work on a copy (t.clone()) or use operations that "
                    "return a new tensor"))


@check("without_torchvision")
def without_torchvision(student, ctx):
    observed = _observe(student)
    if isinstance(observed, Verdict):
        return observed
    used = observed["packages"].get("torchvision")
    if used is None:
        finding = source.reading(ctx.source, lambda s: source.uses_module(s, "normalize", "torchvision"))
        return source.verdict(finding, "that normalize runs no torchvision code") or passed()
    return failed(_("normalize(t, mean, std) ran torchvision code ({used}); the exercise is to write what "
                    "transforms.Normalize does with tensor operations: (t - mean) / std per channel", used=used))


# ---------------------------------------------------------------------------- channel_stats

def _images(seed: int, n: int, c: int, h: int, w: int) -> torch.Tensor:
    """Pixels in [0, 1] with a brightness per image and a level per channel, so that the
    average of per-image stds and the statistics of the wrong dimensions are far off."""
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.rand(n, c, h, w, generator=generator) * 0.4
    brightness = torch.rand(n, 1, 1, 1, generator=generator) * 0.3
    level = torch.linspace(0.0, 0.3, c).view(1, c, 1, 1)
    return pixels + brightness + level


def _float_list(value, what: Message) -> tuple[list[float] | None, Message | None, Verdict | None]:
    """(numbers, note, failure): a list of floats; a 1-D tensor or array is accepted with a note."""
    note = None
    if isinstance(value, (StudentTensor, StudentArray)):
        array = value.tensor if isinstance(value, StudentTensor) else torch.from_numpy(value.array)
        if array.dim() == 1 and array.is_floating_point():
            note = _("{what} came back as a tensor; return a list (.tolist())", what=what) \
                if isinstance(value, StudentTensor) else _("{what} came back as a numpy array; return a list "
                                                            "(.tolist())", what=what)
            value = array.tolist()
    if not isinstance(value, (list, tuple)):
        return None, None, failed(_("{what} should be a list of floats, but it is {value}", what=what,
                                    value=describe(value)))
    floats = []
    for item in value:
        number, item_note = numbers.as_float(item)
        if number is None:
            return None, None, failed(_("{what} should hold floats, but it holds {value}", what=what,
                                        value=describe(item)))
        floats.append(number)
        note = note or (_("{what} holds 1-element tensors; return floats (.tolist() or .item())", what=what)
                        if item_note else None)
    return floats, note, None


def _stats(student, ctx, images: torch.Tensor) -> tuple[list[float], list[float], list[Message]] | Verdict:
    value = student.call("channel_stats", images, seed=ctx.seed)
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        if isinstance(value, (tuple, list)):
            return failed(_("channel_stats(images) should return a tuple (means, stds), but it returned {value} of "
                            "length {length}", value=describe(value), length=len(value)))
        return failed(_("channel_stats(images) should return a tuple (means, stds), but it returned {value}",
                        value=describe(value)))
    means, mean_note, broken = _float_list(value[0], _("the means"))
    if broken:
        return broken
    stds, std_note, broken = _float_list(value[1], _("the stds"))
    if broken:
        return broken
    return means, stds, [note for note in (mean_note, std_note) if note]


def _close(got: list[float], want: torch.Tensor) -> bool:
    return len(got) == len(want) and torch.allclose(torch.tensor(got, dtype=torch.float64), want,
                                                    rtol=STATS_RTOL, atol=STATS_ATOL)


def _count_problem(got: list[float], images: torch.Tensor, what: Message) -> Message | None:
    channels = images.shape[1]
    if len(got) == channels:
        return None
    return _("channel_stats(images) returned {count} {what} for images of shape {shape}, expected {channels}: one per "
             "channel, and channels are dimension 1 of [N, C, H, W]", count=len(got), what=what,
             shape=list(images.shape), channels=channels)


def _first_difference(got: list[float], want: torch.Tensor, what: str, visible: bool) -> Message:
    index = next((i for i, (g, w) in enumerate(zip(got, want.tolist()))
                  if not abs(g - w) <= STATS_ATOL + STATS_RTOL * abs(w)), 0)  # NaN is never close
    if visible:
        return _("channel_stats(images): {what}[{index}] is {got:.6g}, expected {want:.6g}", what=what, index=index,
                 got=got[index], want=want[index].item())
    return _("channel_stats(images): {what}[{index}] is wrong", what=what, index=index)


def _mean_verdict(means: list[float], images: torch.Tensor, visible: bool) -> Verdict:
    expected = images.double().mean(dim=(0, 2, 3))
    problem = _count_problem(means, images, _("means"))
    if problem:
        return failed(problem)
    return passed() if _close(means, expected) else failed(_first_difference(means, expected, "mean", visible))


def _std_verdict(stds: list[float], images: torch.Tensor, visible: bool) -> Verdict:
    pixels = images.double()
    population, sample = (pixels.std(dim=(0, 2, 3), correction=k) for k in (0, 1))
    problem = _count_problem(stds, images, _("stds"))
    if problem:
        return failed(problem)
    if _close(stds, population) or _close(stds, sample):
        return passed()
    difference = _first_difference(stds, population, "std", visible)
    if visible:
        difference = _("{difference} (the population std; the sample std is accepted too)", difference=difference)
    hint = _std_hint(stds, pixels, population, sample)
    return failed(Text.join("\n", [difference, hint]) if hint else difference)


def _std_hint(stds: list[float], pixels: torch.Tensor, population: torch.Tensor, sample: torch.Tensor) -> Message:
    """What a wrong std is, when it is one of the usual slips."""
    per_image = [pixels.std(dim=(2, 3), correction=k).mean(dim=0) for k in (0, 1)]
    if any(_close(stds, candidate) for candidate in per_image):
        return MEAN_OF_IMAGE_STDS_HINT
    batch = next((size for size in BATCH_SIZES if size < len(pixels) and any(
        _close(stds, torch.stack([part.std(dim=(0, 2, 3), correction=k) for part in pixels.split(size)]).mean(dim=0))
        for k in (0, 1))), None)
    if batch:
        return _("this is the average of the stds of batches of {size}; the data set's std is taken over all its "
                 "pixels at once: over batches, add up each channel's sum and sum of squares (and the pixel count), "
                 "and take the std at the end", size=batch)
    if _close(stds, population ** 2) or _close(stds, sample ** 2):
        return VARIANCE_HINT
    return ""


def _with_notes(verdict: Verdict, notes: list[Message]) -> Verdict:
    return Verdict(verdict.fraction, Text.join("\n", [part for part in [verdict.feedback, *notes] if part]))


# Every data set is larger than common batch sizes and a multiple of none of them (8, 16, 20,
# 32, 50, 64): statistics a student accumulates over batches meet a partial last batch.
VISIBLE_IMAGES = _images(seed=3, n=67, c=3, h=8, w=9)


@check("channel_stats_mean")
def channel_stats_mean(student, ctx):
    stats = _stats(student, ctx, VISIBLE_IMAGES)
    if isinstance(stats, Verdict):
        return stats
    means, _, notes = stats
    return _with_notes(_mean_verdict(means, VISIBLE_IMAGES, ctx.visible), notes)


@check("channel_stats_std")
def channel_stats_std(student, ctx):
    stats = _stats(student, ctx, VISIBLE_IMAGES)
    if isinstance(stats, Verdict):
        return stats
    _, stds, notes = stats
    return _with_notes(_std_verdict(stds, VISIBLE_IMAGES, ctx.visible), notes)


@check("channel_stats_hidden")
def channel_stats_hidden(student, ctx):
    verdicts = []
    for images in (_images(ctx.seed, n=75, c=1, h=5, w=7), _images(ctx.seed + 1, n=131, c=4, h=6, w=5)):
        stats = _stats(student, ctx, images)
        if isinstance(stats, Verdict):
            verdicts.append(stats)
            continue
        means, stds, _ = stats
        verdicts.append(first_failure(lambda: _mean_verdict(means, images, ctx.visible),
                                      lambda: _std_verdict(stds, images, ctx.visible)))
    return mean_of(verdicts)
