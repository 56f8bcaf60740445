"""Checks for w1-linear-regression.  The data is the course's kind, y = k*x + c + noise with
x = rand(N, 1) * 10: the visible checks use the course's own data (seed 10, k = 2, c = 5), the
hidden ones other slopes, intercepts and noise.  Students start from random weights, so a run
is only ever compared with itself: the loss of the weights it returned, and reruns with the
same seed and another max_iters."""

import dataclasses
import math

import torch

from grader.checks import Verdict, check, failed, first_failure, mean_of, passed
from grader.compare.numbers import as_float
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


@dataclasses.dataclass(frozen=True)
class Data:
    x: torch.Tensor
    y: torch.Tensor

    def loss(self, w: float, b: float) -> float:
        x, y = self.x.double(), self.y.double()
        return float((0.5 * (y - (w * x + b)) ** 2).mean())

    def least_squares(self) -> tuple[float, float, float]:
        design = torch.cat([self.x, torch.ones_like(self.x)], dim=1).double()
        w, b = torch.linalg.lstsq(design, self.y.double()).solution.reshape(-1).tolist()
        return w, b, self.loss(w, b)

    def step_back(self, w: float, b: float, lr: float) -> tuple[float, float]:
        """The weights one gradient-descent step before (w, b): the gradient of the loss is
        A @ (w, b) - c, so a step is (I - lr A) @ theta + lr c, which is inverted here."""
        x, y = self.x.double().reshape(-1), self.y.double().reshape(-1)
        curvature = torch.tensor([[(x * x).mean(), x.mean()], [x.mean(), 1.0]], dtype=torch.float64)
        pull = torch.stack([(x * y).mean(), y.mean()])
        step = torch.eye(2, dtype=torch.float64) - lr * curvature
        before = torch.linalg.solve(step, torch.tensor([w, b], dtype=torch.float64) - lr * pull)
        return float(before[0]), float(before[1])


def course_data() -> Data:
    generator = torch.Generator().manual_seed(10)
    x = torch.rand(20, 1, generator=generator) * 10
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


def _as_int(value) -> tuple[int | None, str]:
    if type(value) is int:
        return value, ""
    if isinstance(value, StudentTensor) and value.tensor.numel() == 1 and not value.tensor.is_floating_point() \
            and value.tensor.dtype != torch.bool:
        return int(value.tensor.reshape(())), "it is a 1-element tensor; return .item() to give a plain int"
    return None, ""


def _read(value, what: str) -> tuple[Run | None, Verdict]:
    """The run a result describes, or why it cannot be read."""
    if not isinstance(value, dict):
        return None, failed(f"{what} should return a dict with keys {', '.join(KEYS)}, but it returned "
                            f"{describe(value)}")
    missing = [key for key in KEYS if key not in value]
    if missing:
        return None, failed(f"{what} returned a dict without {', '.join(missing)}")
    numbers, notes = {}, []
    for key in KEYS:
        number, note = _as_int(value[key]) if key == "iterations" else as_float(value[key])
        if number is None:
            kind = "an int" if key == "iterations" else "a float"
            return None, failed(f"{what}['{key}'] should be {kind}, but it is {describe(value[key])}")
        numbers[key] = number
        notes += [f"{key}: {note}"] if note else []
    return Run(**numbers), passed("\n".join(notes))


def _finite(run: Run, what: str) -> Verdict:
    if all(math.isfinite(v) for v in (run.w, run.b, run.final_loss)):
        return passed()
    return failed(f"{what}: training diverged (w = {run.w:.4g}, b = {run.b:.4g}, "
                  f"final_loss = {run.final_loss:.4g}). With x up to 10, lr 0.05 converges and lr 0.1 diverges, "
                  f"as in the course: check the default lr (0.05), the loss (the mean of 0.5 * squared error: "
                  f"without the 0.5, or with a sum, the steps are larger) and that the gradients are zeroed after "
                  f"each update")


def _train(student, ctx, data: Data, what: str, **arguments) -> tuple[Run | None, Verdict]:
    """One training run, read and required to be finite."""
    value = student.call(FUNCTION, data.x, data.y, seed=ctx.seed, **arguments)
    run, verdict = _read(value, what)
    if run is None:
        return None, verdict
    finite = _finite(run, what)
    return (run, verdict) if finite.ok else (None, finite)


def _shown(ctx, label: str, value: float) -> str:
    """``label (value)`` in visible checks; hidden checks show no value derived from hidden data."""
    return f"{label} ({value:.4g})" if ctx.visible else label


def _close(value: float, expected: float, rtol: float) -> bool:
    return abs(value - expected) <= rtol * max(abs(expected), 1e-6)


# ---------------------------------------------------------------------------- the loss
def _loss_matches(student, ctx, run: Run, data: Data, what: str, arguments: dict) -> Verdict:
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
    actual = _shown(ctx, "the loss of the returned w and b", after)
    return failed(f"{what}: final_loss is {run.final_loss:.4g}, but {actual} is another number "
                  f"(mean(0.5 * (y - (w*x + b))**2) on the same x and y; the loss just before the last update, as "
                  f"the course computes it, is accepted too){_loss_hint(run.final_loss, after)}")


def _loss_before_last_update(student, ctx, run: Run, data: Data, what: str, arguments: dict) -> bool:
    """Stopped one update sooner: max_iters = iterations when iterations is a 0-based index (the
    course's loop breaks after updating at that index), iterations - 1 when it is a count."""
    for max_iters in sorted({run.iterations, run.iterations - 1}):
        if max_iters < 1:
            continue
        try:
            rerun, _ = _train(student, ctx, data, what, **dict(arguments, max_iters=max_iters))
        except StudentError:  # a rerun that fails is no evidence either way
            continue
        if rerun is not None and _close(run.final_loss, data.loss(rerun.w, rerun.b), LOSS_RTOL):
            return True
    return False


def _loss_hint(reported: float, actual: float) -> str:
    if _close(reported, 2 * actual, 0.05):
        return ". It is twice as large: is the 0.5 missing?"
    return ". Compute final_loss from the w and b you return (or report the loss computed just before the last update)"


def _loss_check(student, ctx, data: Data, what: str, **arguments) -> Verdict:
    run, verdict = _train(student, ctx, data, what, **arguments)
    return verdict if run is None else _loss_matches(student, ctx, run, data, what, arguments)


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
        student, ctx, data, f"{FUNCTION} on hidden data set {n}", lr=DEFAULT_LR,
        loss_threshold=HIDDEN_REACHABLE * data.least_squares()[2])) for n, data in enumerate(hidden_data(), 1)])


# ---------------------------------------------------------------------------- the stop rule
def _stop_rule(student, ctx, data: Data, threshold: float, what: str, **arguments) -> Verdict:
    """Reached, stopped, ``iterations`` tells where, and not much later than the threshold was
    first reached: with 21 iterations fewer, the threshold must not be reached yet."""
    run, verdict = _train(student, ctx, data, what, **arguments)
    if run is None:
        return verdict
    return first_failure(
        lambda: _reached(ctx, run, data, threshold, what),
        lambda: _stopped(run, what),
        lambda: _iterations_tell_where(student, ctx, data, run, what, arguments),
        lambda: _not_late(student, ctx, data, run, threshold, what, arguments),
    )


def _reached(ctx, run: Run, data: Data, threshold: float, what: str) -> Verdict:
    loss = data.loss(run.w, run.b)
    if loss < threshold:
        return passed()
    return failed(f"{what}: {_shown(ctx, 'the loss of the returned w and b', loss)} is not below "
                  f"{_shown(ctx, 'loss_threshold', threshold)}, which gradient descent reaches on this data "
                  f"(it reported iterations = {run.iterations}, final_loss = {run.final_loss:.4g})")


def _stopped(run: Run, what: str) -> Verdict:
    if run.iterations < DEFAULT_MAX_ITERS - 1:
        return passed()
    return failed(f"{what}: it reported iterations = {run.iterations}, so it kept training after the loss fell "
                  f"below loss_threshold; stop at the first iteration whose loss is below it (break out of the loop)")


def _iterations_tell_where(student, ctx, data: Data, run: Run, what: str, arguments: dict) -> Verdict:
    rerun, verdict = _train(student, ctx, data, what, **dict(arguments, max_iters=run.iterations + 1))
    if rerun is None:
        return verdict
    if _close(rerun.w, run.w, SAME_RUN_RTOL) and _close(rerun.b, run.b, SAME_RUN_RTOL):
        return passed()
    return failed(f"{what}: it reported iterations = {run.iterations}, but run again with the same seed and "
                  f"max_iters = {run.iterations + 1} it ended with other weights (w = {rerun.w:.4g} instead of "
                  f"{run.w:.4g}). Report the index of the stopping iteration (0-based) or the number of "
                  f"iterations run (1-based), and draw the initial weights with torch so that the seed repeats them")


def _not_late(student, ctx, data: Data, run: Run, threshold: float, what: str, arguments: dict) -> Verdict:
    earlier = run.iterations - CHECK_EVERY - 1
    if earlier < 1:
        return passed()
    rerun, verdict = _train(student, ctx, data, what, **dict(arguments, max_iters=earlier))
    if rerun is None:
        return verdict
    if rerun.iterations > earlier:
        return failed(f"{what}: called with max_iters = {earlier}, it reported iterations = {rerun.iterations}; "
                      f"stop after max_iters iterations at the latest")
    if data.loss(rerun.w, rerun.b) >= threshold:
        return passed()
    return failed(f"{what}: it stopped at iterations = {run.iterations}, but with max_iters = {earlier} (the same "
                  f"seed) the loss of the returned w and b was already below loss_threshold: training went on "
                  f"after the threshold was reached. Checking every {CHECK_EVERY} iterations, as the course does, "
                  f"is tolerated; stop at the first check whose loss is below the threshold")


@check("stops_at_threshold")
def stops_at_threshold(student, ctx):
    return _stop_rule(student, ctx, course_data(), DEFAULT_THRESHOLD, f"{FUNCTION}(x, y)")


@check("hidden_stops_at_threshold")
def hidden_stops_at_threshold(student, ctx):
    def judge(n: int, data: Data) -> Verdict:
        threshold = HIDDEN_REACHABLE * data.least_squares()[2]
        return _stop_rule(student, ctx, data, threshold, f"{FUNCTION} on hidden data set {n}", lr=DEFAULT_LR,
                          loss_threshold=threshold)

    return mean_of([ctx.attempt(lambda n=n, data=data: judge(n, data)) for n, data in enumerate(hidden_data(), 1)])


# ---------------------------------------------------------------------------- unreachable thresholds
def _runs_to_the_end(student, ctx, data: Data, threshold: float, max_iters: int, what: str) -> Verdict:
    run, verdict = _train(student, ctx, data, what, lr=DEFAULT_LR, loss_threshold=threshold, max_iters=max_iters)
    if run is None:
        return verdict
    return first_failure(lambda: _ran_all(ctx, run, max_iters, what),
                         lambda: _near_least_squares(ctx, run, data, what))


def _ran_all(ctx, run: Run, max_iters: int, what: str) -> Verdict:
    if run.iterations in (max_iters - 1, max_iters):
        return passed()
    expected = f"{max_iters - 1} (0-based) or {max_iters} (1-based)" if ctx.visible \
        else "max_iters - 1 (0-based) or max_iters (1-based)"
    return failed(f"{what}: with a loss_threshold below the lowest loss possible on this data, training should "
                  f"run all max_iters iterations, so iterations should be {expected}, but it is {run.iterations}")


def _near_least_squares(ctx, run: Run, data: Data, what: str) -> Verdict:
    w, b, best = data.least_squares()
    ratio = data.loss(run.w, run.b) / best
    if ratio <= 1 + NEAR_LEAST_SQUARES:
        return passed()
    above = f"{ratio - 1:.1%} above" if ratio < 2 else f"{ratio:.3g} times"
    line = f" (w = {w:.4g}, b = {b:.4g})" if ctx.visible else ""
    return failed(f"{what}: after all iterations the loss of the returned w = {run.w:.4g}, b = {run.b:.4g} is "
                  f"{above} the least-squares loss{line}; expected gradient descent to end within "
                  f"{NEAR_LEAST_SQUARES:.0%} of it")


@check("unreachable_threshold")
def unreachable_threshold(student, ctx):
    return _runs_to_the_end(student, ctx, course_data(), COURSE_UNREACHABLE, DEFAULT_MAX_ITERS,
                            f"{FUNCTION}(x, y, loss_threshold={COURSE_UNREACHABLE})")


@check("hidden_unreachable_threshold")
def hidden_unreachable_threshold(student, ctx):
    return mean_of([ctx.attempt(lambda n=n, data=data: _runs_to_the_end(
        student, ctx, data, HIDDEN_UNREACHABLE * data.least_squares()[2], HIDDEN_MAX_ITERS,
        f"{FUNCTION} on hidden data set {n}")) for n, data in enumerate(hidden_data(), 1)])


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
    return failed(f"with lr = {LR_PROBE[0]} and lr = {LR_PROBE[1]} (same seed, {LR_PROBE_ITERS} iterations) it "
                  f"returned the same w = {runs[0].w:.4g} and b = {runs[0].b:.4g}: use the lr argument in the "
                  f"updates, not a fixed learning rate")
