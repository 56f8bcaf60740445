"""The accuracy-vs-best rule and the checks on a binary classifier's outputs."""

from __future__ import annotations

import pytest
import torch

from grader.compare import training
from grader.status import CheckStatus
from grader.values import StudentTensor

LABELS = torch.tensor([0.0, 0.0, 1.0, 1.0])


def judge(accuracy: float, best: float = 0.99):
    return training.accuracy_vs_best(accuracy, best, what="with bias +10", full_within=0.03, zero_within=0.25,
                                     hint="normalise the inputs")


@pytest.mark.parametrize("accuracy", [0.99, 0.995, 0.96])
def test_full_credit_within_tolerance(accuracy):
    verdict = judge(accuracy)
    assert verdict.ok
    assert "normalise" not in str(verdict.feedback)


@pytest.mark.parametrize(("accuracy", "fraction"), [(0.95, 0.9), (0.85, 0.5), (0.80, 0.2), (0.75, 0.0), (0.5, 0.0)])
def test_partial_credit_is_linear_and_rounded_down_to_a_tenth(accuracy, fraction):
    assert judge(accuracy).fraction == pytest.approx(fraction)


def test_shortfall_names_setting_accuracies_and_hint():
    feedback = str(judge(0.93).feedback)
    assert feedback.startswith("with bias +10: your model reached accuracy 0.930 where the best fit reaches 0.990")
    assert "full credit from 0.960" in feedback and feedback.endswith("; normalise the inputs")


def test_tolerances_must_be_ordered():
    with pytest.raises(ValueError):
        training.accuracy_vs_best(0.9, 0.99, what="x", full_within=0.3, zero_within=0.2)


def test_binary_accuracy_counts_nan_as_wrong():
    assert training.binary_accuracy(torch.tensor([0.1, float("nan"), 0.9, 0.5]), LABELS) == 0.75


def binary(probabilities, best=1.0):
    return training.binary_accuracy_vs_best(torch.tensor(probabilities), LABELS, best, what="here", full_within=0.03,
                                            zero_within=0.25, hint="train longer")


def test_swapped_classes_are_named_instead_of_the_hint():
    feedback = str(binary([0.9, 0.8, 0.1, 0.2]).feedback)
    assert "the opposite of each prediction would reach 1.000" in feedback and "train longer" not in feedback


def test_one_class_everywhere_is_named_with_the_hint():
    verdict = binary([0.9, 0.8, 0.7, 0.6])
    assert verdict.status == CheckStatus.failed
    assert "it predicts class 1 for every point; train longer" in str(verdict.feedback)


def test_nan_outputs_are_named():
    assert "2 of 4 outputs are NaN" in str(binary([float("nan"), 0.1, float("nan"), 0.9]).feedback)


def test_logits_are_named():
    assert "not probabilities in [0, 1]" in str(binary([-3.0, 0.7, 0.2, 4.0]).feedback)


def test_output_shape_accepts_a_column_or_a_vector():
    assert training.binary_output_shape(StudentTensor(torch.zeros(5)), 5, what="out").ok
    assert training.binary_output_shape(StudentTensor(torch.zeros(5, 1)), 5, what="out").ok


def test_output_shape_explains_two_columns_and_non_tensors():
    two_columns = training.binary_output_shape(StudentTensor(torch.zeros(5, 2)), 5, what="out")
    assert "out has shape [5, 2], expected [5] or [5, 1]" in str(two_columns.feedback)
    assert "return only the probability of class 1" in str(two_columns.feedback)
    assert "should be a torch.Tensor, but it is a list" in str(training.binary_output_shape([0.5], 1, what="out").feedback)


def test_feedback_renders_in_chinese():
    feedback = judge(0.93).feedback.render("zh")
    assert "你的模型准确率为 0.930，最优拟合为 0.990" in feedback and "达到 0.960 得满分" in feedback


def sgd(gradient, start, steps, *, lr, momentum, accumulate=False):
    """Iterates of PyTorch's SGD on a gradient function, with its gradients zeroed or accumulated."""
    theta, buffer, total, iterates = start.clone(), None, torch.zeros_like(start), [start.clone()]
    for _ in range(steps):
        grad = gradient(theta) + (total if accumulate else 0)
        total = grad if accumulate else total
        buffer = grad if buffer is None else momentum * buffer + grad
        theta = theta - lr * buffer
        iterates.append(theta.clone())
    return iterates


def quadratic_gradient(theta):
    return torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64) @ theta - torch.tensor([1.0, -1.0], dtype=torch.float64)


def candidates(iterates):
    zeroed = [quadratic_gradient(theta) for theta in iterates[:-1]]
    return {"zeroed": zeroed, "accumulated": [sum(zeroed[:k + 1]) for k in range(len(zeroed))]}


@pytest.mark.parametrize(("accumulate", "momentum", "rule"), [(False, 0.0, "zeroed"), (False, 0.9, "zeroed"),
                                                              (True, 0.0, "accumulated"), (True, 0.9, "accumulated")])
def test_the_update_rule_that_made_the_iterates_is_named_with_its_lr_and_momentum(accumulate, momentum, rule):
    iterates = sgd(quadratic_gradient, torch.tensor([2.0, -3.0], dtype=torch.float64), 3, lr=0.05,
                   momentum=momentum, accumulate=accumulate)
    found = training.explaining_update_rule(iterates, candidates(iterates))
    assert found is not None and found.name == rule
    assert found.lr == pytest.approx(0.05) and found.momentum == pytest.approx(momentum, abs=1e-9)


@pytest.mark.parametrize(("accumulate", "momentum", "fitted"), [(False, 0.0, 0.0), (False, 0.5, 0.5), (True, 0.0, 1.0)])
def test_iterates_read_after_the_first_update_fit_without_it(accumulate, momentum, fitted):
    iterates = sgd(quadratic_gradient, torch.tensor([2.0, -3.0], dtype=torch.float64), 5, lr=0.05,
                   momentum=momentum, accumulate=accumulate)[1:]  # training started before the first one read
    found = training.fit_update_rule("gradient", iterates, [quadratic_gradient(theta) for theta in iterates[:-1]],
                                     from_rest=False)
    assert found.residual < 1e-9 and found.lr == pytest.approx(0.05) and found.momentum == pytest.approx(fitted)


def test_iterates_no_candidate_explains_give_no_rule():
    adam_like = [torch.tensor(point, dtype=torch.float64) for point in ([2.0, -3.0], [1.9, -2.9], [1.8, -2.8],
                                                                         [1.7, -2.7])]  # equal steps: sign-like updates
    assert training.explaining_update_rule(adam_like, candidates(adam_like)) is None


def test_probabilities_in_unit_interval():
    assert training.probabilities_in_unit_interval(StudentTensor(torch.tensor([0.0, 0.5, 1.0])), what="out").ok
    logits = training.probabilities_in_unit_interval(StudentTensor(torch.tensor([-2.5, 3.0])), what="out")
    assert "out ranges from -2.5 to 3, expected probabilities" in str(logits.feedback) and "logits" in str(logits.feedback)
    nan = training.probabilities_in_unit_interval(StudentTensor(torch.tensor([0.5, float("nan")])), what="out")
    assert "1 of 2 outputs are NaN" in str(nan.feedback)
    integers = training.probabilities_in_unit_interval(StudentTensor(torch.tensor([0, 1])), what="out")
    assert "dtype int64, expected floating-point probabilities" in str(integers.feedback)
