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
"""

from __future__ import annotations

import math

import torch

from grader.checks import Verdict, failed, partial, passed
from grader.compare.tensors import dtype_name, is_tensor
from grader.values import StudentTensor


def binary_output_shape(value, rows: int, *, what: str) -> Verdict:
    """One probability of class 1 per input row: a tensor of shape [rows] or [rows, 1]."""
    verdict = is_tensor(value, what=what)
    if not verdict.ok:
        return verdict
    if list(value.shape) in ([rows], [rows, 1]):
        return passed()
    message = (f"{what} has shape {list(value.shape)}, expected [{rows}] or [{rows}, 1] "
               f"(one probability of class 1 per input row)")
    if list(value.shape) == [rows, 2]:
        message += "; with two output columns, return only the probability of class 1"
    return failed(message)


def probabilities_in_unit_interval(value: StudentTensor, *, what: str) -> Verdict:
    outputs = value.tensor
    if not outputs.is_floating_point():
        return failed(f"{what} has dtype {dtype_name(outputs.dtype)}, expected floating-point probabilities")
    nan = int(torch.isnan(outputs).sum())
    if nan:
        return failed(f"{what}: {nan} of {outputs.numel()} outputs are NaN, expected probabilities in [0, 1]")
    low, high = float(outputs.min()), float(outputs.max())
    if low < 0.0 or high > 1.0:
        return failed(f"{what} ranges from {low:.4g} to {high:.4g}, expected probabilities of class 1 in [0, 1]: "
                      f"these look like logits; end the model with a sigmoid (torch.sigmoid or nn.Sigmoid)")
    return passed()


def binary_accuracy(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of points whose class (1 where p >= 0.5) equals the label; NaN counts as wrong."""
    outputs = probabilities.reshape(-1)
    correct = ((outputs >= 0.5) == labels.reshape(-1).bool()) & ~torch.isnan(outputs)
    return float(correct.double().mean())


def accuracy_vs_best(accuracy: float, best: float, *, what: str, full_within: float, zero_within: float,
                     hint: str = "") -> Verdict:
    if not 0.0 <= full_within < zero_within:
        raise ValueError("accuracy_vs_best needs 0 <= full_within < zero_within")
    reached = f"{what}: your model reached accuracy {accuracy:.3f} where the best fit reaches {best:.3f}"
    full_from = best - full_within
    if accuracy >= full_from:
        return passed(reached)
    climbed = (accuracy - (best - zero_within)) / (zero_within - full_within)
    fraction = math.floor(10 * max(climbed, 0.0) + 1e-9) / 10  # 4.9999999 from rounding is a 5
    message = f"{reached} (full credit from {full_from:.3f})" + (f"; {hint}" if hint else "")
    return partial(fraction, message) if fraction > 0 else failed(message)


def binary_accuracy_vs_best(probabilities: torch.Tensor, labels: torch.Tensor, best: float, *, what: str,
                            full_within: float, zero_within: float, hint: str = "") -> Verdict:
    accuracy = binary_accuracy(probabilities, labels)
    if 1.0 - accuracy >= best - full_within:
        hint = (f"the opposite of each prediction would reach {1.0 - accuracy:.3f}: is the output the probability "
                f"of class 1 (the class labelled 1)?")
    else:
        hint = "; ".join(note for note in (_degenerate_outputs(probabilities), hint) if note)
    return accuracy_vs_best(accuracy, best, what=what, full_within=full_within, zero_within=zero_within, hint=hint)


def _degenerate_outputs(probabilities: torch.Tensor) -> str:
    outputs = probabilities.reshape(-1)
    nan = int(torch.isnan(outputs).sum())
    if nan:
        return f"{nan} of {outputs.numel()} outputs are NaN (did the training diverge?)"
    if bool(((outputs < 0) | (outputs > 1)).any()):
        return "its outputs are not probabilities in [0, 1], so p >= 0.5 does not pick class 1 where it should"
    predicted = outputs >= 0.5
    if bool((predicted == predicted[0]).all()):
        return f"it predicts class {int(predicted[0])} for every point"
    return ""
