"""Trained classifiers: a model is judged by its accuracy on held-out points, against the best fit.

The rule (``accuracy_vs_best``): the student's accuracy ``a`` is compared with ``best``, the
accuracy that the grader's own fit, trained on the same data, reaches on the same held-out points.

* full credit when ``a >= best - full_within``;
* no credit when ``a <= best - zero_within``;
* in between, credit in proportion to how far ``a`` climbed from ``best - zero_within`` towards
  ``best - full_within``, rounded down to a tenth (scores read plainly, and a tiny numerical
  difference seldom changes them).

``binary_accuracy_vs_best`` applies the rule to a binary classifier's probabilities of class 1
(class 1 where p >= 0.5; a NaN output counts as wrong) and names the usual failures in its
feedback: NaN outputs, outputs that are not probabilities, one class predicted everywhere, the two
classes swapped.
``binary_output_shape`` and ``probabilities_in_unit_interval`` check such outputs themselves.

``explaining_update_rule`` tells which update rule produced a run of parameter iterates: given the
parameters after 0, 1, 2, ... steps and, for each candidate rule (the course's known mistakes,
say: gradients zeroed or accumulated), the direction each step would follow, it fits
``theta[k+1] - theta[k] = momentum * (theta[k] - theta[k-1]) - lr * direction[k]`` with one learning
rate and one momentum, and names the rule that fits (or none): a diagnosis from evidence, never
from the symptom alone.  ``fit_update_rule`` is the fit itself, also for iterates read only after
the first update (``from_rest=False``), where gradients that accumulate show as a momentum of 1.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch

from grader.checks import Verdict, failed, partial, passed
from grader.compare.tensors import dtype_name, is_tensor
from grader.i18n import Message, Text, _
from grader.values import StudentTensor

UPDATE_RULE_TOLERANCE = 1e-3  # relative residual of the fit: float32 training fits to 1e-5, a wrong rule to 1e-2+


def binary_output_shape(value, rows: int, *, what: str) -> Verdict:
    """One probability of class 1 per input row: a tensor of shape [rows] or [rows, 1]."""
    verdict = is_tensor(value, what=what)
    if not verdict.ok:
        return verdict
    if list(value.shape) in ([rows], [rows, 1]):
        return passed()
    if list(value.shape) == [rows, 2]:
        return failed(_("{what} has shape {shape}, expected [{rows}] or [{rows}, 1] (one probability of class 1 per "
                        "input row); with two output columns, return only the probability of class 1",
                        what=what, shape=list(value.shape), rows=rows))
    return failed(_("{what} has shape {shape}, expected [{rows}] or [{rows}, 1] (one probability of class 1 per input "
                    "row)", what=what, shape=list(value.shape), rows=rows))


def probabilities_in_unit_interval(value: StudentTensor, *, what: str) -> Verdict:
    outputs = value.tensor
    if not outputs.is_floating_point():
        return failed(_("{what} has dtype {dtype}, expected floating-point probabilities", what=what,
                        dtype=dtype_name(outputs.dtype)))
    nan = int(torch.isnan(outputs).sum())
    if nan:
        return failed(_("{what}: {nan} of {total} outputs are NaN, expected probabilities in [0, 1]", what=what,
                        nan=nan, total=outputs.numel()))
    low, high = float(outputs.min()), float(outputs.max())
    if low < 0.0 or high > 1.0:
        return failed(_("{what} ranges from {low:.4g} to {high:.4g}, expected probabilities of class 1 in [0, 1]: "
                        "these look like logits; end the model with a sigmoid (torch.sigmoid or nn.Sigmoid)",
                        what=what, low=low, high=high))
    return passed()


def binary_accuracy(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of points whose class (1 where p >= 0.5) equals the label; NaN counts as wrong."""
    outputs = probabilities.reshape(-1)
    correct = ((outputs >= 0.5) == labels.reshape(-1).bool()) & ~torch.isnan(outputs)
    return float(correct.double().mean())


def accuracy_vs_best(accuracy: float, best: float, *, what: str, full_within: float, zero_within: float,
                     hint: Message = "") -> Verdict:
    if not 0.0 <= full_within < zero_within:
        raise ValueError("accuracy_vs_best needs 0 <= full_within < zero_within")
    full_from = best - full_within
    if accuracy >= full_from:
        return passed(_("{what}: your model reached accuracy {accuracy:.3f} where the best fit reaches {best:.3f}",
                        what=what, accuracy=accuracy, best=best))
    climbed = (accuracy - (best - zero_within)) / (zero_within - full_within)
    fraction = math.floor(10 * max(climbed, 0.0) + 1e-9) / 10  # 4.9999999 from rounding is a 5
    if hint:
        message = _("{what}: your model reached accuracy {accuracy:.3f} where the best fit reaches {best:.3f} (full "
                    "credit from {full_from:.3f}); {hint}", what=what, accuracy=accuracy, best=best,
                    full_from=full_from, hint=hint)
    else:
        message = _("{what}: your model reached accuracy {accuracy:.3f} where the best fit reaches {best:.3f} (full "
                    "credit from {full_from:.3f})", what=what, accuracy=accuracy, best=best, full_from=full_from)
    return partial(fraction, message) if fraction > 0 else failed(message)


def binary_accuracy_vs_best(probabilities: torch.Tensor, labels: torch.Tensor, best: float, *, what: str,
                            full_within: float, zero_within: float, hint: Message = "") -> Verdict:
    accuracy = binary_accuracy(probabilities, labels)
    if 1.0 - accuracy >= best - full_within:
        hint = _("the opposite of each prediction would reach {opposite:.3f}: is the output the probability of "
                 "class 1 (the class labelled 1)?", opposite=1.0 - accuracy)
    else:
        hint = Text.join("; ", [note for note in (_degenerate_outputs(probabilities), hint) if note])
    return accuracy_vs_best(accuracy, best, what=what, full_within=full_within, zero_within=zero_within, hint=hint)


def _degenerate_outputs(probabilities: torch.Tensor) -> Message:
    outputs = probabilities.reshape(-1)
    nan = int(torch.isnan(outputs).sum())
    if nan:
        return _("{nan} of {total} outputs are NaN (did the training diverge?)", nan=nan, total=outputs.numel())
    if bool(((outputs < 0) | (outputs > 1)).any()):
        return _("its outputs are not probabilities in [0, 1], so p >= 0.5 does not pick class 1 where it should")
    predicted = outputs >= 0.5
    if bool((predicted == predicted[0]).all()):
        return _("it predicts class {label} for every point", label=int(predicted[0]))
    return ""


@dataclasses.dataclass(frozen=True)
class UpdateRule:
    """The rule that explains a run of iterates, with the learning rate and momentum it needs."""

    name: str
    lr: float
    momentum: float
    residual: float  # |fit - steps| / |steps|


def fit_update_rule(name: str, iterates: Sequence[torch.Tensor], directions: Sequence[torch.Tensor], *,
                    from_rest: bool = True) -> UpdateRule:
    """Least squares for ``theta[k+1] - theta[k] = momentum * (theta[k] - theta[k-1]) - lr * directions[k]``,
    as PyTorch's SGD takes it with ``directions`` as its gradients.  ``from_rest``: the first iterate is
    where training started (no step before the first); otherwise (the iterates are read after 1, 2, 3 ...
    updates) the first step only serves as the one before the second.  A momentum of 1 is gradients
    that accumulate (never zeroed) over a plain step."""
    steps = [(after - before).double() for before, after in zip(iterates, iterates[1:])]
    previous = [torch.zeros_like(steps[0]), *steps[:-1]] if steps else []
    equations = list(zip(previous, directions, steps))[0 if from_rest else 1:]
    if len(directions) < len(steps) or len(equations) < 2:
        raise ValueError("fit_update_rule needs two steps to fit (three after one from rest) and a direction for "
                         "every step")
    design = torch.cat([torch.stack([before, -direction.double()], dim=1) for before, direction, _ in equations])
    target = torch.cat([step for _, _, step in equations])
    momentum, lr = torch.linalg.lstsq(design, target.unsqueeze(1)).solution.reshape(-1).tolist()
    size = float(target.norm())
    residual = float((design @ torch.tensor([momentum, lr], dtype=torch.float64) - target).norm()) / size \
        if size > 0 else math.inf
    return UpdateRule(name, lr, momentum, residual)


def explaining_update_rule(iterates: Sequence[torch.Tensor], directions: dict[str, Sequence[torch.Tensor]], *,
                           tolerance: float = UPDATE_RULE_TOLERANCE) -> UpdateRule | None:
    """The one candidate rule whose fit is within ``tolerance``, with a positive learning rate and a
    momentum in [0, 1); None when no rule, or more than one, explains the iterates."""
    fits = [fit_update_rule(name, iterates, candidate) for name, candidate in directions.items()]
    plausible = [fit for fit in fits if fit.residual <= tolerance and fit.lr > 0 and -tolerance <= fit.momentum < 1]
    return plausible[0] if len(plausible) == 1 else None
