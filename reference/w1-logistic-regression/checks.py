"""Checks for w1-logistic-regression: train the student's model on the course's data in several
settings, then judge it by its accuracy on many held-out points against the reference's
maximum-likelihood fit on the same training data (``grader.compare.training``).

Data are drawn here, in the trusted process, from generators seeded with the check's seed (the
visible checks train on the course's own points, seed 10); the student's training call is seeded
with the check's seed.  The three checks on the course's setting share one seed, so one trained
model serves them all (calls are memoised).

When a model falls short, the feedback says why only as far as evidence shows it: the student's
trainer is run for 0, 1, 2 and 3 iterations on the same points and seed, the weights of each model
are read back from its outputs (logit p is affine in x), and the steps are matched against SGD with
the gradients zeroed, SGD whose gradients accumulate (no ``optimizer.zero_grad()``), and SGD on a
loss that takes probabilities for logits (``grader.compare.training.explaining_update_rule``).  With
the gradients zeroed, the training loss tells a learning rate too large (it rose) from slow progress
on raw inputs (still far above the best fit's); when no rule explains the steps, nothing is guessed.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from torch.nn import functional

from grader.checks import Context, Verdict, check, failed, first_failure, mean_of
from grader.compare import training
from grader.i18n import Message, catalogue_beside
from grader.student import StudentError
from grader.values import Handle, StudentTensor, describe

from . import reference

TRAIN_PER_CLASS = 100      # the course's sample_nums
HELD_OUT_PER_CLASS = 5000
FULL_WITHIN = 0.03         # the course's own SGD loop stays within it in every setting, on 20 other draws too
ZERO_WITHIN = 0.25
COURSE_SEED = 10           # lesson 5 calls torch.manual_seed(10) before drawing its points
TRAINED_ON_COURSE_DATA = "course_default_accuracy"  # its seed trains the model the visible checks share
PROBE_POINTS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # logit p there gives w and b
PROBE_ITERATIONS = (0, 1, 2, 3)
AFFINE_TOLERANCE = 1e-3     # logit p(1, 1) - p(1, 0) - p(0, 1) + p(0, 0) of a linear model, in float32
UNCONVERGED = 1.5           # a training loss this many times the best fit's (plus a little) is far from its minimum

_ = catalogue_beside(__file__)


@dataclasses.dataclass(frozen=True)
class Setting:
    mean_value: float
    bias: float
    name: Message      # names the setting in feedback, never its points
    hint: Message = ""  # a fact about the setting, said when no evidence explains a shortfall
    far: bool = False  # inputs far from the origin: where normalising them matters


COURSE = Setting(1.7, 1.0, _("with the course's data (mean_value 1.7, bias 1)"),
                 _("the course's loop (SGD lr 0.01, momentum 0.9, up to 1000 iterations) gets there on these points"))
OVERLAPPING = Setting(1.0, 1.0, _("with overlapping classes (mean_value 1)"),
                      _("the classes overlap, so no line separates them all: train until the loss levels off rather "
                        "than towards a training-accuracy target"))
SEPARATED = Setting(5.0, 1.0, _("with well-separated classes (mean_value 5)"),
                    _("the classes are far apart, so any trained boundary between them separates them"))
SHIFTED = tuple(Setting(1.7, bias, _("with shifted inputs (bias {bias:+g})", bias=bias), far=True)
                for bias in (5.0, -5.0))
FAR = tuple(Setting(1.7, bias, _("with inputs far from the origin (bias {bias:+g})", bias=bias), far=True)
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


def trained(student, run: Run, **arguments) -> Handle | Verdict:
    model = student.call("train_logistic_regression", run.x, run.y, seed=run.seed, **arguments)
    if isinstance(model, Handle):
        return model
    return failed(_("train_logistic_regression(x, y) should return the trained model (an nn.Module), but it "
                    "returned {value}", value=describe(model)))


def judged_outputs(student, run: Run, *judges: Callable[[StudentTensor], Verdict]) -> Verdict:
    """Train the student's model on the run's data, predict the held-out points, check the
    outputs' shape, then apply ``judges`` to them in order."""
    model = trained(student, run)
    if isinstance(model, Verdict):
        return model
    out = student.builtin("predict", model, run.held_out_x, what="your model(x)")
    what = _("your model's output for x of shape {shape}", shape=list(run.held_out_x.shape))
    return first_failure(lambda: training.binary_output_shape(out, len(run.held_out_x), what=what),
                         *[lambda judge=judge: judge(out) for judge in judges])


def best_model(run: Run) -> torch.nn.Module:
    return reference.train_logistic_regression(run.x, run.y)


def best_accuracy(run: Run) -> float:
    with torch.no_grad():
        return training.binary_accuracy(best_model(run)(run.held_out_x), run.held_out_y)


def accuracy_against_best(student, run: Run) -> Callable[[StudentTensor], Verdict]:
    def judge(out: StudentTensor, hint: Message = "") -> Verdict:
        return training.binary_accuracy_vs_best(out.tensor, run.held_out_y, best_accuracy(run), what=run.setting.name,
                                                full_within=FULL_WITHIN, zero_within=ZERO_WITHIN, hint=hint)

    def explained(out: StudentTensor) -> Verdict:
        verdict = judge(out)
        return verdict if verdict.ok else judge(out, diagnosis(student, run))
    return explained


def judge_settings(student, ctx: Context, settings: tuple[Setting, ...]) -> Verdict:
    return mean_of([ctx.attempt(lambda run=run: judged_outputs(student, run, accuracy_against_best(student, run)))
                    for run in runs(settings, ctx.seed)])


# ---------------------------------------------------------------------------- why a model falls short
def diagnosis(student, run: Run) -> Message:
    """What the evidence says about a shortfall: the update rule the student's steps follow, and
    what the training loss did; the setting's own hint when the steps follow no known rule."""
    try:
        iterates = weights_after_iterations(student, run)
        if iterates is None:
            return run.setting.hint
        rule = training.explaining_update_rule(iterates, candidate_directions(iterates, run))
        if rule is None:
            return run.setting.hint
        return explained_by(rule, student, run, iterates[0])
    except StudentError:  # a trainer that fails on a few iterations: no evidence either way
        return run.setting.hint


def weights_after_iterations(student, run: Run) -> list[torch.Tensor] | None:
    """(w1, w2, b) of the student's model after each of PROBE_ITERATIONS, read from logit p at the
    probe points; None when a model is not a linear logistic regression in x (normalised inputs
    are, other models are not) or its outputs are not probabilities strictly inside (0, 1)."""
    iterates = []
    for iterations in PROBE_ITERATIONS:
        model = trained(student, run, max_iters=iterations)
        if isinstance(model, Verdict):
            return None
        out = student.builtin("predict", model, PROBE_POINTS, what="your model(x)")
        if not isinstance(out, StudentTensor) or out.tensor.numel() != len(PROBE_POINTS) \
                or not out.tensor.is_floating_point():
            return None
        p = out.tensor.reshape(-1).double()
        if not bool(((p > 0) & (p < 1)).all()):
            return None
        z = torch.logit(p)
        if abs(float(z[3] - z[1] - z[2] + z[0])) > AFFINE_TOLERANCE * (1 + float(z.abs().max())):
            return None
        iterates.append(torch.stack([z[1] - z[0], z[2] - z[0], z[0]]))
    return iterates


def _features(run: Run) -> torch.Tensor:
    return torch.cat([run.x.double(), torch.ones(len(run.x), 1, dtype=torch.float64)], dim=1)


def candidate_directions(iterates: list[torch.Tensor], run: Run) -> dict[str, list[torch.Tensor]]:
    """The gradient each known loop would step along at each iterate: the mean binary cross-entropy's
    (gradients zeroed), their running sum (never zeroed), and BCEWithLogitsLoss's taken on
    probabilities (a sigmoid twice)."""
    features, labels = _features(run), run.y.double()
    scores = [features @ theta for theta in iterates[:-1]]
    zeroed = [features.T @ (torch.sigmoid(z) - labels) / len(labels) for z in scores]
    twice = [features.T @ ((torch.sigmoid(torch.sigmoid(z)) - labels) * torch.sigmoid(z) * (1 - torch.sigmoid(z)))
             / len(labels) for z in scores]
    accumulated = [sum(zeroed[:k + 1]) for k in range(len(zeroed))]
    return {"zeroed": zeroed, "accumulated": accumulated, "probabilities as logits": twice}


def training_loss(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    clipped = probabilities.reshape(-1).double().clamp(1e-12, 1 - 1e-12)
    return float(functional.binary_cross_entropy(clipped, labels.double()))


def explained_by(rule: training.UpdateRule, student, run: Run, initial: torch.Tensor) -> Message:
    lr, momentum = rule.lr, round(max(rule.momentum, 0.0), 2)  # a fit's 3e-6 is no momentum
    if rule.name == "accumulated":
        return _("your trainer's first steps are SGD steps (learning rate {lr:.2g}, momentum {momentum:.2g}) whose "
                 "gradients are never zeroed: each step adds every earlier gradient again, so the weights overshoot "
                 "and swing. Call optimizer.zero_grad() (or zero each .grad) in every iteration",
                 lr=lr, momentum=momentum)
    if rule.name == "probabilities as logits":
        return _("your trainer's first steps follow BCEWithLogitsLoss applied to probabilities (the model already "
                 "ends with a sigmoid, so the sigmoid is applied twice): give BCEWithLogitsLoss the scores before the "
                 "sigmoid, or BCELoss the probabilities")
    model = trained(student, run)
    out = student.builtin("predict", model, run.x, what="your model(x)") if isinstance(model, Handle) else None
    if not isinstance(out, StudentTensor) or out.tensor.numel() != len(run.y):
        return run.setting.hint
    final = training_loss(out.tensor, run.y)
    start = training_loss(torch.sigmoid(_features(run) @ initial), run.y)
    with torch.no_grad():
        best = training_loss(best_model(run)(run.x), run.y)
    if final > start:
        return _("your trainer takes SGD steps on the loss with the gradients zeroed (learning rate {lr:.2g}, "
                 "momentum {momentum:.2g}), yet the loss on the training points ended higher than before training: "
                 "the learning rate is too large for these inputs", lr=lr, momentum=momentum)
    if final <= UNCONVERGED * best + 0.01:
        return run.setting.hint
    if run.setting.far:
        return _("your trainer takes SGD steps on the raw inputs with the gradients zeroed (learning rate {lr:.2g}, "
                 "momentum {momentum:.2g}), and the loss on the training points is still far above its minimum when "
                 "training ends: far from the origin, gradient descent on raw inputs makes slow progress. "
                 "Normalising the inputs (and applying the same normalisation inside the returned model) is the "
                 "intended insight", lr=lr, momentum=momentum)
    return _("your trainer takes SGD steps with the gradients zeroed (learning rate {lr:.2g}, momentum "
             "{momentum:.2g}), and the loss on the training points is still far above its minimum when training "
             "ends: train longer or with a larger learning rate", lr=lr, momentum=momentum)


@check("output_shape")
def output_shape(student, ctx):
    return judged_outputs(student, course_run(ctx))


@check("outputs_are_probabilities")
def outputs_are_probabilities(student, ctx):
    return judged_outputs(student, course_run(ctx),
                          lambda out: training.probabilities_in_unit_interval(out, what=_("your model's output")))


@check("course_default_accuracy")
def course_default_accuracy(student, ctx):
    run = course_run(ctx)
    return judged_outputs(student, run, accuracy_against_best(student, run))


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
