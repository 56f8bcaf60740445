"""Reference solution for w1-logistic-regression (trusted process only).

The maximum-likelihood fit, computed so that it stays near the best possible accuracy whatever
the setting: inputs standardised, Newton's method in float64 with a backtracking line search,
and a tiny ridge so that separable data (mean_value 5) still has a finite optimum.
"""

import torch
from torch import nn
from torch.nn import functional

RIDGE = 1e-6  # on the mean loss, for weights of standardised inputs: far below what moves a boundary
DECREMENT_TOLERANCE = 1e-14  # half the Newton decrement bounds how far the loss is above its minimum
SMALLEST_STEP = 2.0 ** -30

Q1 = """
Logistic regression computes a linear score w·x + b and passes it through the sigmoid, which maps any
real number into (0, 1); the result is read as the probability of class 1. Predicting class 1 when the
probability is at least 0.5 (equivalently, when w·x + b >= 0) splits the input space with a straight
line (a hyperplane), so two classes that lie on either side of such a line can be told apart. Training
maximises the likelihood of the labels (minimises the binary cross-entropy), which places that line.
"""


class StandardisedLogisticRegression(nn.Module):
    """sigmoid(w · (x - mean) / std + b), computed in float64; returns float32 probabilities [M]."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        standardised = (x.to(torch.float64) - self.mean) / self.std
        return torch.sigmoid(standardised @ self.weight + self.bias).to(torch.float32)


def train_logistic_regression(x: torch.Tensor, y: torch.Tensor, max_iters: int = 1000) -> nn.Module:
    inputs, labels = x.to(torch.float64), y.to(torch.float64).reshape(-1)
    mean, std = inputs.mean(0), inputs.std(0)
    features = torch.cat([(inputs - mean) / std, torch.ones(len(inputs), 1, dtype=torch.float64)], dim=1)
    theta = _newton(features, labels, max_iters)
    return StandardisedLogisticRegression(mean, std, theta[:-1], theta[-1])


def _penalised_loss(theta: torch.Tensor, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    cross_entropy = functional.binary_cross_entropy_with_logits(features @ theta, labels)
    return cross_entropy + 0.5 * RIDGE * theta.square().sum()


def _newton(features: torch.Tensor, labels: torch.Tensor, max_steps: int) -> torch.Tensor:
    theta = torch.zeros(features.shape[1], dtype=torch.float64)
    for _ in range(max_steps):
        probabilities = torch.sigmoid(features @ theta)
        gradient = features.T @ (probabilities - labels) / len(labels) + RIDGE * theta
        curvature = probabilities * (1 - probabilities) / len(labels)
        hessian = (features.T * curvature) @ features + RIDGE * torch.eye(len(theta), dtype=torch.float64)
        step = torch.linalg.solve(hessian, gradient)
        if float(gradient @ step) < DECREMENT_TOLERANCE:
            break
        theta = _backtrack(theta, step, features, labels)
    return theta


def _backtrack(theta: torch.Tensor, step: torch.Tensor, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The full Newton step, halved until the loss does not rise (it can overshoot on separable data)."""
    current = _penalised_loss(theta, features, labels)
    size = 1.0
    while size > SMALLEST_STEP and _penalised_loss(theta - size * step, features, labels) > current:
        size /= 2
    return theta - size * step
