"""Comparators: one readable message per way an answer can be wrong."""

from __future__ import annotations

import math

import pytest
import torch

from grader.compare import distributions, numbers, tensors
from grader.i18n import ENGINE_LOCALE, Text, _, render
from grader.values import Handle, StudentTensor


def student(tensor: torch.Tensor, **claims) -> StudentTensor:
    return StudentTensor(tensor=tensor, **claims)


EXPECTED = torch.tensor([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize(("value", "message"), [
    ([1, 2], "should be a torch.Tensor, but it is a list"),
    (Handle(3, "mymod.MyTensorLike"), "should be a torch.Tensor, but it is a MyTensorLike"),
    (student(EXPECTED, type_name="mymod.Liar"), "plain torch.Tensor"),
    (student(EXPECTED, device="cuda:0"), "is on cuda:0; expected cpu"),
    (student(EXPECTED.flatten()), "has shape [4], expected [2, 2]"),
    (student(EXPECTED.double()), "has dtype float64, expected float32"),
    (student(torch.tensor([[1.0, math.nan], [3.0, 4.0]])), "NaN at index [0, 1]"),
    (student(torch.tensor([[1.0, 2.0], [3.5, 4.0]])), "at index [1, 0] is 3.5, expected 3 (1 of 4 elements"),
])
def test_tensor_ladder_stops_at_the_first_problem(value, message):
    verdict = tensors.tensor_matches(value, EXPECTED, what="the result")
    assert not verdict.ok and message in str(verdict.feedback)


@pytest.mark.parametrize(("value", "english", "chinese"), [
    (student(EXPECTED.flatten()), "the result has shape [4], expected [2, 2]", "结果 的形状是 [4]，应为 [2, 2]"),
    (student(EXPECTED.double()), "has dtype float64, expected float32", "的数据类型是 float64，应为 float32"),
    (student(EXPECTED, device="cuda:0"), "is on cuda:0; expected cpu", "在设备 cuda:0 上，应该在 cpu 上"),
])
def test_tensor_feedback_is_said_in_chinese_too(value, english, chinese):
    feedback = tensors.tensor_matches(value, EXPECTED).feedback
    assert english in render(feedback, "en") and chinese in render(feedback, "zh")


def test_tensor_feedback_can_be_told_apart_by_hashing_as_packs_do():
    problems = [tensors.tensor_matches(value, EXPECTED).feedback for value in
                (student(EXPECTED.flatten()), student(EXPECTED.flatten()), student(torch.tensor([[1.0, math.nan], [3.0, 4.0]])))]
    assert len(dict.fromkeys(problems)) == 2


def test_what_and_why_may_be_catalogue_messages_and_render_in_the_same_language():
    why = Text("it follows the input's dtype", (), ENGINE_LOCALE)  # no such message: said in English everywhere
    verdict = tensors.dtype_matches(student(EXPECTED.double()), torch.float32, what=_("the result"), why=why)
    assert render(verdict.feedback, "en") == "the result has dtype float64, expected float32 (it follows the input's dtype)"
    assert render(verdict.feedback, "zh").startswith("结果 的数据类型是 float64，应为 float32（")


def test_matching_tensor_passes_within_tolerance():
    assert tensors.tensor_matches(student(EXPECTED + 1e-7), EXPECTED, what="x").ok
    assert tensors.tensor_matches(student(EXPECTED.double()), EXPECTED, what="x", check_dtype=False).ok


def test_nan_where_nan_is_expected_passes():
    with_nan = torch.tensor([math.nan, 1.0])
    assert tensors.tensor_matches(student(with_nan.clone()), with_nan, what="x").ok


@pytest.mark.parametrize(("value", "expected", "ok"), [
    (1.0, 1.0 + 1e-9, True), (1.0, 1.1, False), (math.nan, math.nan, True), (math.nan, 1.0, False),
    (1.0, math.nan, False), (math.inf, math.inf, True), (-math.inf, math.inf, False), (3, 3.0, True),
    (True, 1.0, False), ("1.0", 1.0, False),
])
def test_float_close_handles_nan_and_inf_explicitly(value, expected, ok):
    assert numbers.float_close(value, expected, what="w").ok is ok


def test_one_element_tensor_is_accepted_as_a_float_with_a_note():
    verdict = numbers.float_close(student(torch.tensor([2.5])), 2.5, what="w")
    assert verdict.ok and ".item()" in str(verdict.feedback)


def test_number_feedback_is_said_in_chinese_too():
    assert render(numbers.float_close(1.0, 1.5, what="w").feedback, "zh") == "w 是 1，应为 1.5"
    assert "用 .item()" in render(numbers.float_close(student(torch.tensor([2.5])), 2.5, what="w").feedback, "zh")


def normal_case(samples_from, n=4000, seed=0):
    generator = torch.Generator().manual_seed(seed)
    mean = torch.rand(n, generator=generator, dtype=torch.float64) * 10 - 5
    std = torch.rand(n, generator=generator, dtype=torch.float64) * 3 + 0.1
    return distributions.normal_fit(samples_from(mean, std, generator), mean, std, what="samples")


def test_correct_samples_pass_across_many_seeds():
    draw = lambda mean, std, g: mean + std * torch.randn(mean.shape, generator=g, dtype=torch.float64)  # noqa
    assert all(normal_case(draw, seed=seed).ok for seed in range(200))


@pytest.mark.parametrize(("wrong", "message"), [
    (lambda mean, std, g: mean.clone(), "copied from the mean"),
    (lambda mean, std, g: torch.full_like(mean, 2.0), "constant"),
    (lambda mean, std, g: mean + std ** 2 * torch.randn(mean.shape, generator=g, dtype=torch.float64),
     "std used as a variance"),
    (lambda mean, std, g: mean + 0.5 + std * torch.randn(mean.shape, generator=g, dtype=torch.float64), "centred"),
    (lambda mean, std, g: mean + std * math.sqrt(3) * (2 * torch.rand(mean.shape, generator=g, dtype=torch.float64) - 1),
     "normally distributed"),
])
def test_wrong_samplers_fail_with_a_reason(wrong, message):
    verdict = normal_case(wrong)
    assert not verdict.ok and message in str(verdict.feedback)
    assert render(verdict.feedback, "zh").startswith("samples") and message not in render(verdict.feedback, "zh")


def test_a_sampler_that_repeats_one_draw_is_named_even_where_the_pooled_tests_pass():
    generator = torch.Generator().manual_seed(0)
    mean, std = torch.rand(8, 1, generator=generator) * 4 - 2, torch.rand(1, 500, generator=generator) + 0.2
    right = torch.normal(mean.expand(8, 500), std.expand(8, 500), generator=generator)
    assert distributions.normal_fit(right, mean, std, what="x").ok
    for noise, dim in ((torch.randn(std.shape, generator=generator), 0), (torch.randn(mean.shape, generator=generator), 1)):
        verdict = distributions.normal_fit(mean + std * noise, mean, std, what="x")
        assert not verdict.ok and f"repeat one random draw along dimension {dim}" in str(verdict.feedback)
        assert f"沿第 {dim} 维重复使用同一次随机抽样" in render(verdict.feedback, "zh")


def test_one_draw_for_every_element_is_named():
    verdict = normal_case(lambda mean, std, g: mean + std * torch.randn(1, generator=g, dtype=torch.float64))
    assert not verdict.ok and "every sample uses one and the same random draw" in str(verdict.feedback)
