"""The recipes for autograd exercises and the ``call_observed`` builtin (grader/sandbox/recipes.py),
run here as plain functions: in a job they behave the same, only their arguments come over the wire."""

from __future__ import annotations

import math
import sys

import pytest
import torch
from torchvision.transforms import functional

from grader.sandbox import recipes


def derivatives(function, x: float, order: int) -> list[float]:
    x = torch.tensor(x, requires_grad=True)
    y, found = function(x), []
    for _ in range(order):
        (y,) = torch.autograd.grad(y, x, create_graph=True)
        found.append(y.item())
    return found


def test_polynomial_keeps_every_derivative_up_to_one_past_its_degree():
    cubic = recipes.build("polynomial", [[1.0, -2.0, 0.5, 0.25]])
    assert cubic(torch.tensor(2.0)).item() == pytest.approx(1 - 4 + 2 + 2)
    assert derivatives(cubic, 2.0, 4) == pytest.approx([-2 + 2 + 3, 1 + 3, 1.5, 0.0])


def test_sine_and_exponential_with_their_parameters():
    sine = recipes.build("sine", [2.0, 0.5])
    exponential = recipes.build("exponential", [1.5, -1.0])
    assert derivatives(sine, 1.0, 2) == pytest.approx([math.cos(0.5), -0.5 * math.sin(0.5)], rel=1e-6)
    assert derivatives(exponential, 0.5, 3) == pytest.approx([-1.5 * math.exp(-0.5), 1.5 * math.exp(-0.5),
                                                              -1.5 * math.exp(-0.5)], rel=1e-6)


def test_call_observed_reports_arguments_after_the_call_and_the_packages_that_ran():
    def normalize_in_place(t):
        return functional.normalize(t, [0.5], [0.25], inplace=True)

    t = torch.ones(1, 2, 2)
    observed = recipes.run_builtin("call_observed", [normalize_in_place, t])
    assert torch.equal(observed["arguments"][0], torch.full((1, 2, 2), 2.0))
    assert observed["result"] is t
    assert observed["packages"]["torchvision"].startswith("torchvision.transforms.functional.normalize")
    assert observed["packages"][__name__.partition(".")[0]].endswith("normalize_in_place")


def test_call_observed_restores_the_previous_profiler_when_the_call_raises():
    def fails():
        raise ValueError("student error")

    def previous(frame, event, arg):
        return None

    sys.setprofile(previous)
    try:
        with pytest.raises(ValueError):
            recipes.run_builtin("call_observed", [fails])
        assert sys.getprofile() is previous
    finally:
        sys.setprofile(None)
