"""Checks for w1-logistic-regression: train the student's model on the course's data in several
settings, then judge it by its accuracy on many held-out points against the reference's
maximum-likelihood fit on the same training data (``grader.compare.training``).

Data are drawn here, in the trusted process, from generators seeded with the check's seed (the
visible checks train on the course's own points, seed 10); the student's training call is seeded
with the check's seed.  The three checks on the course's setting share one seed, so one trained
model serves them all (calls are memoised).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from grader.checks import Context, Verdict, check, failed, first_failure, mean_of
from grader.compare import training
from grader.values import Handle, StudentTensor, describe

from . import reference

TRAIN_PER_CLASS = 100      # the course's sample_nums
HELD_OUT_PER_CLASS = 5000
FULL_WITHIN = 0.03         # the course's own SGD loop stays within it in every setting, on 20 other draws too
ZERO_WITHIN = 0.25
COURSE_SEED = 10           # lesson 5 calls torch.manual_seed(10) before drawing its points
TRAINED_ON_COURSE_DATA = "course_default_accuracy"  # its seed trains the model the visible checks share

NORMALISE = ("plain SGD stalls when the inputs are far from the origin; normalising the inputs (and applying "
             "the same normalisation inside the returned model) is the intended insight")


@dataclasses.dataclass(frozen=True)
class Setting:
    mean_value: float
    bias: float
    name: str   # names the setting in feedback, never its points
    hint: str   # said when the model falls short


COURSE = Setting(1.7, 1.0, "with the course's data (mean_value 1.7, bias 1)",
                 "the course's loop (SGD lr 0.01, momentum 0.9, up to 1000 iterations) gets there: check the loss, "
                 "the learning rate and that the gradients are zeroed every iteration")
OVERLAPPING = Setting(1.0, 1.0, "with overlapping classes (mean_value 1)",
                      "the classes overlap, so no line separates them all: train until the loss levels off rather "
                      "than towards a training-accuracy target")
SEPARATED = Setting(5.0, 1.0, "with well-separated classes (mean_value 5)",
                    "the classes are far apart, so any trained boundary between them separates them")
SHIFTED = tuple(Setting(1.7, bias, f"with shifted inputs (bias {bias:+g})", NORMALISE) for bias in (5.0, -5.0))
FAR = tuple(Setting(1.7, bias, f"with inputs far from the origin (bias {bias:+g})", NORMALISE)
            for bias in (10.0, -10.0))


@dataclasses.dataclass(frozen=True)
class Run:
    """One setting's data: what the student trains on and the held-out points it is judged on."""

    setting: Setting
    seed: int
    x: torch.Tensor
    y: torch.Tensor
    held_out_x: torch.Tensor
    held_out_y: torch.Tensor


def course_data(setting: Setting, per_class: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The course's generator: class 0 around +mean_value, class 1 around -mean_value, both + bias."""
    centre = setting.mean_value * torch.ones(per_class, 2)
    class_0 = torch.normal(centre, 1.0, generator=generator) + setting.bias
    class_1 = torch.normal(-centre, 1.0, generator=generator) + setting.bias
    return torch.cat([class_0, class_1]), torch.cat([torch.zeros(per_class), torch.ones(per_class)])


def runs(settings: tuple[Setting, ...], seed: int) -> list[Run]:
    generator = torch.Generator().manual_seed(seed)
    drawn = []
    for setting in settings:
        x, y = course_data(setting, TRAIN_PER_CLASS, generator)
        held_out_x, held_out_y = course_data(setting, HELD_OUT_PER_CLASS, generator)
        drawn.append(Run(setting, seed, x, y, held_out_x, held_out_y))
    return drawn


def course_run(ctx: Context) -> Run:
    """The course's own training points; held-out points drawn with the shared seed."""
    seed = dataclasses.replace(ctx, check=TRAINED_ON_COURSE_DATA).seed
    x, y = course_data(COURSE, TRAIN_PER_CLASS, torch.Generator().manual_seed(COURSE_SEED))
    held_out_x, held_out_y = course_data(COURSE, HELD_OUT_PER_CLASS, torch.Generator().manual_seed(seed))
    return Run(COURSE, seed, x, y, held_out_x, held_out_y)


def judged_outputs(student, run: Run, *judges: Callable[[StudentTensor], Verdict]) -> Verdict:
    """Train the student's model on the run's data, predict the held-out points, check the
    outputs' shape, then apply ``judges`` to them in order."""
    model = student.call("train_logistic_regression", run.x, run.y, seed=run.seed)
    if not isinstance(model, Handle):
        return failed(f"train_logistic_regression(x, y) should return the trained model (an nn.Module), but it "
                      f"returned {describe(model)}")
    out = student.builtin("predict", model, run.held_out_x, what="your model(x)")
    what = f"your model's output for x of shape {list(run.held_out_x.shape)}"
    return first_failure(lambda: training.binary_output_shape(out, len(run.held_out_x), what=what),
                         *[lambda judge=judge: judge(out) for judge in judges])


def best_accuracy(run: Run) -> float:
    model = reference.train_logistic_regression(run.x, run.y)
    with torch.no_grad():
        return training.binary_accuracy(model(run.held_out_x), run.held_out_y)


def accuracy_against_best(run: Run) -> Callable[[StudentTensor], Verdict]:
    return lambda out: training.binary_accuracy_vs_best(
        out.tensor, run.held_out_y, best_accuracy(run), what=run.setting.name, full_within=FULL_WITHIN,
        zero_within=ZERO_WITHIN, hint=run.setting.hint)


def judge_settings(student, ctx: Context, settings: tuple[Setting, ...]) -> Verdict:
    return mean_of([ctx.attempt(lambda run=run: judged_outputs(student, run, accuracy_against_best(run)))
                    for run in runs(settings, ctx.seed)])


@check("output_shape")
def output_shape(student, ctx):
    return judged_outputs(student, course_run(ctx))


@check("outputs_are_probabilities")
def outputs_are_probabilities(student, ctx):
    return judged_outputs(student, course_run(ctx),
                          lambda out: training.probabilities_in_unit_interval(out, what="your model's output"))


@check("course_default_accuracy")
def course_default_accuracy(student, ctx):
    run = course_run(ctx)
    return judged_outputs(student, run, accuracy_against_best(run))


@check("overlapping_classes")
def overlapping_classes(student, ctx):
    return judge_settings(student, ctx, (OVERLAPPING,))


@check("separated_classes")
def separated_classes(student, ctx):
    return judge_settings(student, ctx, (SEPARATED,))


@check("shifted_inputs")
def shifted_inputs(student, ctx):
    return judge_settings(student, ctx, SHIFTED)


@check("far_inputs")
def far_inputs(student, ctx):
    return judge_settings(student, ctx, FAR)
