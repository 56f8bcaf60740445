"""Checks for w1-linear-regression.  The data is the course's kind, y = k*x + c + noise with
x = rand(N, 1) * 10: the visible checks use the course's own data (seed 10, k = 2, c = 5), the
hidden ones other slopes, intercepts and noise.  Students start from random weights, so a run
is only ever compared with itself: the loss of the weights it returned, and reruns with the
same seed and another max_iters.

When training goes wrong, the feedback says why only as far as evidence shows it: the student's
trainer is rerun for 1 to 5 iterations (same seed and lr, a threshold never reached) on data of the
course's kind with x in [0, 1), where even steps far too large take a few updates to diverge,
the weights it returns after each are fitted to gradient descent on the course's loss
mean(0.5 * (y - (w*x + b))**2) with one learning rate and one momentum
(``grader.compare.training.fit_update_rule``).  A momentum of 1 is gradients never zeroed; a
learning rate 2, N or 2N times the one given is a loss without the 0.5, summed over the N samples,
or both; the course's loss at the given learning rate with the student's default makes the
default the cause.  When the steps fit no such rule, no cause is named."""

import dataclasses
import math

import torch

from grader.checks import Verdict, check, failed, first_failure, mean_of, passed
from grader.compare import training
from grader.compare.numbers import as_float
from grader.i18n import Message, Text, catalogue_beside
from grader.student import StudentError
from grader.values import StudentTensor, describe

FUNCTION = "train_linear_regression"
KEYS = ("w", "b", "iterations", "final_loss")
DEFAULT_LR = 0.05
DEFAULT_THRESHOLD = 1.0
DEFAULT_MAX_ITERS = 1000
CHECK_EVERY = 20            # the course tests its stop rule every 20 iterations; that is tolerated
LOSS_RTOL = 1e-3            # float32 training against a float64 recomputation
SAME_RUN_RTOL = 1e-6
NEAR_LEAST_SQUARES = 0.01   # relative excess over the least-squares loss
COURSE_UNREACHABLE = 0.4    # course fact: the loss levels off near 0.46
HIDDEN_REACHABLE = 1.5      # thresholds as multiples of the data's least-squares loss
HIDDEN_UNREACHABLE = 0.9
HIDDEN_MAX_ITERS = 800
LR_PROBE = (0.01, 0.002)    # small enough that a loss with larger gradients still converges at one
LR_PROBE_ITERS = 40
# (data seed, N, slope, intercept, noise std), chosen so that lr 0.05 converges on each: the
# loss's largest curvature, about mean(x**2), is 29 and 32 there, below 2 / 0.05 = 40.
HIDDEN_DATA = ((101, 60, -1.5, 3.0, 0.8), (203, 80, 4.2, -6.0, 1.5))
PROBE_SEED = 7
PROBE_ITERATIONS = (1, 2, 3, 4, 5)  # the course's loop cannot return after 0 iterations (its loss is unset)
SCALE_RTOL = 0.05           # a step scale read as 1, 2, N or 2N
PLAIN_MOMENTUM = 0.02       # a fitted momentum this close to 0 is none, this close to 1 is gradients never zeroed
_ = catalogue_beside(__file__)


@dataclasses.dataclass(frozen=True)
class Data:
    x: torch.Tensor
    y: torch.Tensor

    def loss(self, w: float, b: float) -> float:
        x, y = self.x.double(), self.y.double()
        return float((0.5 * (y - (w * x + b)) ** 2).mean())

    def _normal_equations(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A and c of the loss's gradient A @ (w, b) - c."""
        x, y = self.x.double().reshape(-1), self.y.double().reshape(-1)
        curvature = torch.tensor([[(x * x).mean(), x.mean()], [x.mean(), 1.0]], dtype=torch.float64)
        return curvature, torch.stack([(x * y).mean(), y.mean()])

    def gradient(self, theta: torch.Tensor) -> torch.Tensor:
        curvature, pull = self._normal_equations()
        return curvature @ theta.double() - pull

    def least_squares(self) -> tuple[float, float, float]:
        design = torch.cat([self.x, torch.ones_like(self.x)], dim=1).double()
        w, b = torch.linalg.lstsq(design, self.y.double()).solution.reshape(-1).tolist()
        return w, b, self.loss(w, b)

    def step_back(self, w: float, b: float, lr: float) -> tuple[float, float]:
        """The weights one gradient-descent step before (w, b): the gradient of the loss is
        A @ (w, b) - c, so a step is (I - lr A) @ theta + lr c, which is inverted here."""
        curvature, pull = self._normal_equations()
        step = torch.eye(2, dtype=torch.float64) - lr * curvature
        before = torch.linalg.solve(step, torch.tensor([w, b], dtype=torch.float64) - lr * pull)
        return float(before[0]), float(before[1])


def course_data() -> Data:
    generator = torch.Generator().manual_seed(10)
    x = torch.rand(20, 1, generator=generator) * 10
    return Data(x, 2 * x + (5 + torch.randn(20, 1, generator=generator)))


def probe_data() -> Data:
    """The course's kind of data with x in [0, 1): steps ten times smaller in x keep gradient descent
    from diverging within a few updates even at 40 times the statement's learning rate, so the
    directions of its steps stay apart and the rule that made them can be read."""
    generator = torch.Generator().manual_seed(PROBE_SEED)
    x = torch.rand(20, 1, generator=generator)
    return Data(x, 2 * x + (5 + torch.randn(20, 1, generator=generator)))


def hidden_data() -> list[Data]:
    datasets = []
    for seed, n, slope, intercept, noise in HIDDEN_DATA:
        generator = torch.Generator().manual_seed(seed)
        x = torch.rand(n, 1, generator=generator) * 10
        datasets.append(Data(x, slope * x + intercept + noise * torch.randn(n, 1, generator=generator)))
    return datasets


@dataclasses.dataclass(frozen=True)
class Run:
    w: float
    b: float
    iterations: int
    final_loss: float


def _as_int(value) -> tuple[int | None, Message]:
    if type(value) is int:
        return value, ""
    if isinstance(value, StudentTensor) and value.tensor.numel() == 1 and not value.tensor.is_floating_point() \
            and value.tensor.dtype != torch.bool:
        return int(value.tensor.reshape(())), _("it is a 1-element tensor; return .item() to give a plain int")
    return None, ""


def _read(value, what: Message) -> tuple[Run | None, Verdict]:
    """The run a result describes, or why it cannot be read."""
    if not isinstance(value, dict):
        return None, failed(_("{what} should return a dict with keys {keys}, but it returned {value}", what=what,
                              keys=", ".join(KEYS), value=describe(value)))
    missing = [key for key in KEYS if key not in value]
    if missing:
        return None, failed(_("{what} returned a dict without {keys}", what=what, keys=", ".join(missing)))
    numbers, notes = {}, []
    for key in KEYS:
        number, note = _as_int(value[key]) if key == "iterations" else as_float(value[key])
        if number is None:
            if key == "iterations":
                return None, failed(_("{what}['{key}'] should be an int, but it is {value}", what=what, key=key,
                                      value=describe(value[key])))
            return None, failed(_("{what}['{key}'] should be a float, but it is {value}", what=what, key=key,
                                  value=describe(value[key])))
        numbers[key] = number
        notes += [_("{key}: {note}", key=key, note=note)] if note else []
    return Run(**numbers), passed(Text.join("\n", notes))


def _finite(run: Run) -> bool:
    return all(math.isfinite(v) for v in (run.w, run.b, run.final_loss))


def _train(student, ctx, data: Data, what: Message, **arguments) -> tuple[Run | None, Verdict]:
    """One training run, read and required to be finite (why it diverged, when it did)."""
    value = student.call(FUNCTION, data.x, data.y, seed=ctx.seed, **arguments)
    run, verdict = _read(value, what)
    if run is None or _finite(run):
        return run, verdict
    diverged = _("{what}: training diverged (w = {w:.4g}, b = {b:.4g}, final_loss = {final_loss:.4g})", what=what,
                 w=run.w, b=run.b, final_loss=run.final_loss)
    return None, failed(Text.join("\n", [diverged, _why_diverged(student, ctx, arguments)]))


def _shown(ctx, label: Message, value: float) -> Message:
    """``label (value)`` in visible checks; hidden checks show no value derived from hidden data."""
    return _("{label} ({value:.4g})", label=label, value=value) if ctx.visible else label


def _close(value: float, expected: float, rtol: float) -> bool:
    return abs(value - expected) <= rtol * max(abs(expected), 1e-6)


# ---------------------------------------------------------------------------- the student's steps
@dataclasses.dataclass(frozen=True)
class Steps:
    """How the student's first updates move (w, b): gradient descent on the course's loss with a
    learning rate ``lr`` and a momentum (1: gradients never zeroed), and the learning rate it was given."""

    lr: float
    momentum: float
    given_lr: float

    @property
    def accumulated(self) -> bool:
        return abs(self.momentum - 1) <= PLAIN_MOMENTUM

    @property
    def scale(self) -> float:
        return self.lr / self.given_lr


def _iterates(student, ctx, data: Data, arguments: dict) -> list[torch.Tensor] | None:
    """(w, b) after each of PROBE_ITERATIONS updates on ``data``, the threshold never reached; None
    when a run fails or returns something else than finite weights."""
    iterates = []
    for iterations in PROBE_ITERATIONS:
        probe = dict(arguments, loss_threshold=0.0, max_iters=iterations)
        try:
            run, _verdict = _read(student.call(FUNCTION, data.x, data.y, seed=ctx.seed, **probe), FUNCTION)
        except StudentError:  # a trainer that fails on a few iterations: no evidence either way
            return None
        if run is None or not (math.isfinite(run.w) and math.isfinite(run.b)):
            return None
        iterates.append(torch.tensor([run.w, run.b], dtype=torch.float64))
    return iterates


def _steps(student, ctx, data: Data, arguments: dict) -> Steps | None:
    """The gradient-descent rule the student's first updates follow with ``arguments``, or None."""
    iterates = _iterates(student, ctx, data, arguments)
    if iterates is None:
        return None
    directions = [data.gradient(theta) for theta in iterates[:-1]]
    try:
        rule = training.fit_update_rule("gradient descent", iterates, directions, from_rest=False)
    except ValueError:
        return None
    if rule.residual > training.UPDATE_RULE_TOLERANCE or rule.lr <= 0 \
            or not -PLAIN_MOMENTUM <= rule.momentum <= 1 + PLAIN_MOMENTUM:
        return None
    return Steps(rule.lr, max(rule.momentum, 0.0), arguments.get("lr", DEFAULT_LR))


def _scale_cause(steps: Steps, samples: int) -> Message:
    """What a step scale other than 1 says about the loss; "" for the course's loss."""
    for scale, cause in ((1, ""), (2, _("the loss is missing the 0.5 (it is the mean squared error itself), which "
                                        "doubles every gradient")),
                         (samples, _("the loss is a sum over the samples rather than their mean, which multiplies "
                                     "every gradient by their number")),
                         (2 * samples, _("the loss is a sum of squared errors, without the mean and without the 0.5"))):
        if _close(steps.scale, scale, SCALE_RTOL):
            return cause
    return _("your steps are {scale:.3g} times those of gradient descent on mean(0.5 * (y - (w*x + b))**2) with "
             "learning rate {lr:.2g}: the loss or the update is scaled", scale=steps.scale, lr=steps.given_lr)


def _steps_cause(steps: Steps | None, samples: int) -> Message:
    """What the steps show is wrong with the loop (never-zeroed gradients, a scaled loss); "" when
    they are gradient descent on the course's loss or follow no known rule."""
    if steps is None:
        return ""
    if steps.accumulated:
        return _("your trainer's gradients are never zeroed: each update adds every earlier gradient again (its "
                 "steps are gradient descent with a momentum of 1), so the weights overshoot and swing. Zero "
                 "w.grad and b.grad (or call optimizer.zero_grad()) in every iteration")
    return _scale_cause(steps, samples)


def _evidence(student, ctx, arguments: dict) -> tuple[Steps | None, float | None]:
    """The steps the trainer takes with the run's own lr (on the probe data) and, when it was given
    none, the learning rate its default is: then the loss's scale is read from steps at the
    statement's lr 0.05."""
    data, own = probe_data(), {key: value for key, value in arguments.items() if key == "lr"}
    steps = _steps(student, ctx, data, own)
    if steps is None or own or steps.accumulated:
        return steps, None
    known = _steps(student, ctx, data, {"lr": DEFAULT_LR})
    if known is None or known.accumulated:
        return steps, None
    return known, steps.lr / known.scale


def _causes(student, ctx, arguments: dict) -> tuple[Steps | None, list[Message]]:
    """What the student's steps show is wrong: gradients never zeroed, a scaled loss, a default
    learning rate other than the statement's."""
    steps, default_lr = _evidence(student, ctx, arguments)
    causes = [_steps_cause(steps, len(probe_data().x))]
    if default_lr is not None and not _close(default_lr, DEFAULT_LR, SCALE_RTOL):
        causes.append(_("your trainer's default learning rate is {lr:.2g}, where the statement asks for 0.05 (on x "
                        "up to 10, lr 0.05 converges and 0.1 diverges, as in the course)", lr=default_lr))
    return steps, [cause for cause in causes if cause]


def _why_diverged(student, ctx, arguments: dict) -> Message:
    """Why a run diverged, as far as the steps show it."""
    steps, causes = _causes(student, ctx, arguments)
    if steps is None:
        return _("your trainer's first updates follow no gradient descent on the course's loss that the grader "
                 "recognises, so it cannot tell why; print the loss of the first few iterations to see where it "
                 "starts to grow")
    if causes:
        return Text.join("\n", causes)
    return _("your trainer takes gradient-descent steps on the course's loss with learning rate {lr:.2g} and "
             "momentum {momentum:.2g}, and on this data steps that large diverge", lr=steps.lr,
             momentum=steps.momentum)


def _why_short(student, ctx, arguments: dict) -> list[Message]:
    """The causes the steps show for a run that ends short of its target, if they show any."""
    return _causes(student, ctx, arguments)[1]


# ---------------------------------------------------------------------------- the loss
def _loss_matches(student, ctx, run: Run, data: Data, what: Message, arguments: dict) -> Verdict:
    """final_loss is the loss of the returned weights, or of the weights one update earlier: those
    the same run returns when stopped one update sooner (same seed), whatever the update rule, so
    a loop that, say, never zeroes its gradients loses no points here for it (the checks of the
    stop rule and of the end point judge the training); for a loop that ignores max_iters, the
    weights one plain gradient step back."""
    after = data.loss(run.w, run.b)
    lr = arguments.get("lr", DEFAULT_LR)
    if _close(run.final_loss, after, LOSS_RTOL) or _close(run.final_loss, data.loss(*data.step_back(run.w, run.b, lr)),
                                                          LOSS_RTOL) \
            or _loss_before_last_update(student, ctx, run, data, what, arguments):
        return passed()
    actual = _shown(ctx, _("the loss of the returned w and b"), after)
    mismatch = _("{what}: final_loss is {final_loss:.4g}, but {actual} is another number (mean(0.5 * (y - (w*x + "
                 "b))**2) on the same x and y; the loss just before the last update, as the course computes it, is "
                 "accepted too)", what=what, final_loss=run.final_loss, actual=actual)
    return failed(Text.join("\n", [mismatch, _loss_hint(run.final_loss, after)]))


def _loss_before_last_update(student, ctx, run: Run, data: Data, what: Message, arguments: dict) -> bool:
    """Stopped one update sooner: max_iters = iterations when iterations is a 0-based index (the
    course's loop breaks after updating at that index), iterations - 1 when it is a count."""
    for max_iters in sorted({run.iterations, run.iterations - 1}):
        if max_iters < 1:
            continue
        try:
            rerun, _verdict = _train(student, ctx, data, what, **dict(arguments, max_iters=max_iters))
        except StudentError:  # a rerun that fails is no evidence either way
            continue
        if rerun is not None and _close(run.final_loss, data.loss(rerun.w, rerun.b), LOSS_RTOL):
            return True
    return False


def _loss_hint(reported: float, actual: float) -> Message:
    if _close(reported, 2 * actual, 0.05):
        return _("It is twice as large: is the 0.5 missing?")
    return _("Compute final_loss from the w and b you return (or report the loss computed just before the last "
             "update)")


def _loss_check(student, ctx, data: Data, what: Message, **arguments) -> Verdict:
    run, verdict = _train(student, ctx, data, what, **arguments)
    return verdict if run is None else _loss_matches(student, ctx, run, data, what, arguments)


def _on_hidden_data(n: int) -> Message:
    return _("{function} on hidden data set {n}", function=FUNCTION, n=n)


@check("returns_dict")
def returns_dict(student, ctx):
    data = course_data()
    value = student.call(FUNCTION, data.x, data.y, seed=ctx.seed)
    return _read(value, f"{FUNCTION}(x, y)")[1]


@check("loss_matches_weights")
def loss_matches_weights(student, ctx):
    return _loss_check(student, ctx, course_data(), f"{FUNCTION}(x, y)")


@check("hidden_loss_matches_weights")
def hidden_loss_matches_weights(student, ctx):
    return mean_of([ctx.attempt(lambda n=n, data=data: _loss_check(
        student, ctx, data, _on_hidden_data(n), lr=DEFAULT_LR,
        loss_threshold=HIDDEN_REACHABLE * data.least_squares()[2])) for n, data in enumerate(hidden_data(), 1)])


# ---------------------------------------------------------------------------- the stop rule
def _stop_rule(student, ctx, data: Data, threshold: float, what: Message, **arguments) -> Verdict:
    """Reached, stopped, ``iterations`` tells where, and not much later than the threshold was
    first reached: with 21 iterations fewer, the threshold must not be reached yet."""
    run, verdict = _train(student, ctx, data, what, **arguments)
    if run is None:
        return verdict
    return first_failure(
        lambda: _reached(student, ctx, run, data, threshold, what, arguments),
        lambda: _stopped(run, what),
        lambda: _iterations_tell_where(student, ctx, data, run, what, arguments),
        lambda: _not_late(student, ctx, data, run, threshold, what, arguments),
    )


def _reached(student, ctx, run: Run, data: Data, threshold: float, what: Message, arguments: dict) -> Verdict:
    loss = data.loss(run.w, run.b)
    if loss < threshold:
        return passed()
    short = _("{what}: {loss} is not below {threshold}, which gradient descent reaches on this data (it reported "
              "iterations = {iterations}, final_loss = {final_loss:.4g})", what=what,
              loss=_shown(ctx, _("the loss of the returned w and b"), loss),
              threshold=_shown(ctx, "loss_threshold", threshold), iterations=run.iterations,
              final_loss=run.final_loss)
    return failed(Text.join("\n", [short, *_why_short(student, ctx, arguments)]))


def _stopped(run: Run, what: Message) -> Verdict:
    if run.iterations < DEFAULT_MAX_ITERS - 1:
        return passed()
    return failed(_("{what}: it reported iterations = {iterations}, so it kept training after the loss fell below "
                    "loss_threshold; stop at the first iteration whose loss is below it (break out of the loop)",
                    what=what, iterations=run.iterations))


def _iterations_tell_where(student, ctx, data: Data, run: Run, what: Message, arguments: dict) -> Verdict:
    rerun, verdict = _train(student, ctx, data, what, **dict(arguments, max_iters=run.iterations + 1))
    if rerun is None:
        return verdict
    if _close(rerun.w, run.w, SAME_RUN_RTOL) and _close(rerun.b, run.b, SAME_RUN_RTOL):
        return passed()
    return failed(_("{what}: it reported iterations = {iterations}, but run again with the same seed and max_iters = "
                    "{max_iters} it ended with other weights (w = {rerun_w:.4g} instead of {w:.4g}). Report the index "
                    "of the stopping iteration (0-based) or the number of iterations run (1-based), and draw the "
                    "initial weights with torch so that the seed repeats them", what=what,
                    iterations=run.iterations, max_iters=run.iterations + 1, rerun_w=rerun.w, w=run.w))


def _not_late(student, ctx, data: Data, run: Run, threshold: float, what: Message, arguments: dict) -> Verdict:
    earlier = run.iterations - CHECK_EVERY - 1
    if earlier < 1:
        return passed()
    rerun, verdict = _train(student, ctx, data, what, **dict(arguments, max_iters=earlier))
    if rerun is None:
        return verdict
    if rerun.iterations > earlier:
        return failed(_("{what}: called with max_iters = {max_iters}, it reported iterations = {iterations}; stop "
                        "after max_iters iterations at the latest", what=what, max_iters=earlier,
                        iterations=rerun.iterations))
    if data.loss(rerun.w, rerun.b) >= threshold:
        return passed()
    return failed(_("{what}: it stopped at iterations = {iterations}, but with max_iters = {max_iters} (the same "
                    "seed) the loss of the returned w and b was already below loss_threshold: training went on after "
                    "the threshold was reached. Checking every {every} iterations, as the course does, is tolerated; "
                    "stop at the first check whose loss is below the threshold", what=what,
                    iterations=run.iterations, max_iters=earlier, every=CHECK_EVERY))


@check("stops_at_threshold")
def stops_at_threshold(student, ctx):
    return _stop_rule(student, ctx, course_data(), DEFAULT_THRESHOLD, f"{FUNCTION}(x, y)")


@check("hidden_stops_at_threshold")
def hidden_stops_at_threshold(student, ctx):
    def judge(n: int, data: Data) -> Verdict:
        threshold = HIDDEN_REACHABLE * data.least_squares()[2]
        return _stop_rule(student, ctx, data, threshold, _on_hidden_data(n), lr=DEFAULT_LR, loss_threshold=threshold)

    return mean_of([ctx.attempt(lambda n=n, data=data: judge(n, data)) for n, data in enumerate(hidden_data(), 1)])


# ---------------------------------------------------------------------------- unreachable thresholds
def _runs_to_the_end(student, ctx, data: Data, threshold: float, max_iters: int, what: Message) -> Verdict:
    arguments = {"lr": DEFAULT_LR, "loss_threshold": threshold, "max_iters": max_iters}
    run, verdict = _train(student, ctx, data, what, **arguments)
    if run is None:
        return verdict
    return first_failure(lambda: _ran_all(ctx, run, max_iters, what),
                         lambda: _near_least_squares(student, ctx, run, data, what, arguments))


def _ran_all(ctx, run: Run, max_iters: int, what: Message) -> Verdict:
    if run.iterations in (max_iters - 1, max_iters):
        return passed()
    if ctx.visible:
        return failed(_("{what}: with a loss_threshold below the lowest loss possible on this data, training should "
                        "run all max_iters iterations, so iterations should be {last} (0-based) or {max_iters} "
                        "(1-based), but it is {iterations}", what=what, last=max_iters - 1, max_iters=max_iters,
                        iterations=run.iterations))
    return failed(_("{what}: with a loss_threshold below the lowest loss possible on this data, training should run "
                    "all max_iters iterations, so iterations should be max_iters - 1 (0-based) or max_iters "
                    "(1-based), but it is {iterations}", what=what, iterations=run.iterations))


def _near_least_squares(student, ctx, run: Run, data: Data, what: Message, arguments: dict) -> Verdict:
    w, b, best = data.least_squares()
    ratio = data.loss(run.w, run.b) / best
    if ratio <= 1 + NEAR_LEAST_SQUARES:
        return passed()
    if ratio < 2:
        above = _("{excess:.1%} above", excess=ratio - 1)
    else:
        above = _("{ratio:.3g} times", ratio=ratio)
    if ctx.visible:
        far = _("{what}: after all iterations the loss of the returned w = {run_w:.4g}, b = {run_b:.4g} is {above} "
                "the least-squares loss (w = {w:.4g}, b = {b:.4g}); expected gradient descent to end within {within:.0%} "
                "of it", what=what, run_w=run.w, run_b=run.b, above=above, w=w, b=b, within=NEAR_LEAST_SQUARES)
    else:
        far = _("{what}: after all iterations the loss of the returned w = {run_w:.4g}, b = {run_b:.4g} is {above} "
                "the least-squares loss; expected gradient descent to end within {within:.0%} of it", what=what,
                run_w=run.w, run_b=run.b, above=above, within=NEAR_LEAST_SQUARES)
    return failed(Text.join("\n", [far, *_why_short(student, ctx, arguments)]))


@check("unreachable_threshold")
def unreachable_threshold(student, ctx):
    return _runs_to_the_end(student, ctx, course_data(), COURSE_UNREACHABLE, DEFAULT_MAX_ITERS,
                            f"{FUNCTION}(x, y, loss_threshold={COURSE_UNREACHABLE})")


@check("hidden_unreachable_threshold")
def hidden_unreachable_threshold(student, ctx):
    return mean_of([ctx.attempt(lambda n=n, data=data: _runs_to_the_end(
        student, ctx, data, HIDDEN_UNREACHABLE * data.least_squares()[2], HIDDEN_MAX_ITERS,
        _on_hidden_data(n))) for n, data in enumerate(hidden_data(), 1)])


# ---------------------------------------------------------------------------- the learning rate
def _same_weights(first: Run, second: Run) -> bool:
    """Equal w and b, NaN counting as equal to NaN (both runs diverged)."""
    pairs = ((first.w, second.w), (first.b, second.b))
    return all(math.isclose(a, b) or (math.isnan(a) and math.isnan(b)) for a, b in pairs)


@check("follows_lr")
def follows_lr(student, ctx):
    data = course_data()
    runs = []
    for lr in LR_PROBE:
        value = student.call(FUNCTION, data.x, data.y, lr=lr, loss_threshold=0.0, max_iters=LR_PROBE_ITERS,
                             seed=ctx.seed)
        run, verdict = _read(value, f"{FUNCTION}(x, y, lr={lr})")
        if run is None:
            return verdict
        runs.append(run)
    if not _same_weights(*runs):
        return passed()
    return failed(_("with lr = {first} and lr = {second} (same seed, {iterations} iterations) it returned the same "
                    "w = {w:.4g} and b = {b:.4g}: use the lr argument in the updates, not a fixed learning rate",
                    first=LR_PROBE[0], second=LR_PROBE[1], iterations=LR_PROBE_ITERS, w=runs[0].w, b=runs[0].b))
