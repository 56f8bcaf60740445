"""Checks for w1-normal-modes: shape and dtype against torch.normal itself, the samples'
distribution by goodness of fit, and that torch's generator is the source of randomness."""

import torch

from grader.checks import Verdict, check, failed, first_failure, mean_of, passed
from grader.compare import tensors
from grader.compare.distributions import normal_fit
from grader.i18n import catalogue_beside

from . import reference

_ = catalogue_beside(__file__)

N = 4000
COURSE_MEAN = torch.arange(1, 5, dtype=torch.float)  # lesson 2: mean = std = arange(1, 5)
COURSE_STD = torch.arange(1, 5, dtype=torch.float)

FUNCTIONS = ("normal_tensor_tensor", "normal_tensor_scalar", "normal_scalar_tensor", "normal_scalar_scalar")


def _cases_shape_dtype(mode: str) -> list[tuple]:
    grid = torch.rand(3, 5, generator=torch.Generator().manual_seed(5)) + 0.5
    return {
        "normal_tensor_tensor": [(COURSE_MEAN, COURSE_STD), (grid, grid * 2)],
        "normal_tensor_scalar": [(COURSE_MEAN, 1.0), (grid, 0.5)],
        "normal_scalar_tensor": [(0.0, COURSE_STD), (2.0, grid)],
        "normal_scalar_scalar": [(0.0, 1.0, (4,)), (1.0, 2.0, (2, 3))],
    }[mode]


def _as_tensor(value, like: torch.Tensor) -> torch.Tensor:
    return value if isinstance(value, torch.Tensor) else torch.full(like.shape, float(value), dtype=torch.float64)


def shape_and_dtype(student, ctx, mode: str, args: tuple) -> Verdict:
    expected = getattr(reference, mode)(*args)
    out = student.call(mode, *args, seed=ctx.seed)
    what = f"{mode}{_signature(args)}"
    return first_failure(
        lambda: tensors.is_tensor(out, what=what),
        lambda: tensors.shape_matches(out, expected.shape, what=what, why=_("the shape torch.normal gives")),
        lambda: tensors.dtype_matches(out, expected.dtype, what=what, why=_("it follows the input's dtype")),
    )


def distribution(student, ctx, mode: str, args: tuple) -> Verdict:
    expected = getattr(reference, mode)(*args)
    out = student.call(mode, *args, seed=ctx.seed)
    what = f"{mode}{_signature(args)}"
    shape_ok = first_failure(lambda: tensors.is_tensor(out, what=what),
                             lambda: tensors.shape_matches(out, expected.shape, what=what))
    if not shape_ok.ok:
        return shape_ok
    mean, std = args[0], args[1]
    return normal_fit(out.tensor, _as_tensor(mean, expected), _as_tensor(std, expected), what=what)


def _signature(args: tuple) -> str:
    parts = [f"tensor{list(a.shape)}" if isinstance(a, torch.Tensor) else repr(a) for a in args]
    return f"({', '.join(parts)})"


def _all_cases(student, ctx, judge, cases) -> Verdict:
    return mean_of([ctx.attempt(lambda mode=mode, args=args: judge(student, ctx, mode, args)) for mode, args in cases])


def _distribution_args(mode: str, generator: torch.Generator, dtype=torch.float32) -> tuple:
    mean = (torch.rand(N, generator=generator, dtype=torch.float64) * 10 - 5).to(dtype)
    std = (torch.rand(N, generator=generator, dtype=torch.float64) * 3 + 0.1).to(dtype)
    return {
        "normal_tensor_tensor": (mean, std),
        "normal_tensor_scalar": (mean, 1.5),
        "normal_scalar_tensor": (-2.0, std),
        "normal_scalar_scalar": (3.0, 0.5, (N // 40, 40)),
    }[mode]


def _visible_args(mode: str) -> tuple:
    return _distribution_args(mode, torch.Generator().manual_seed(2))


def _visible_distribution(student, ctx, mode: str) -> Verdict:
    """The student's exception fails the check, as it fails the same mode's shape check (one
    cause, one status)."""
    return ctx.attempt(lambda: distribution(student, ctx, mode, _visible_args(mode)))


@check("tensor_tensor_shape_dtype")
def tensor_tensor_shape_dtype(student, ctx):
    return _all_cases(student, ctx, shape_and_dtype, [("normal_tensor_tensor", a) for a in _cases_shape_dtype(
        "normal_tensor_tensor")])


@check("tensor_scalar_shape_dtype")
def tensor_scalar_shape_dtype(student, ctx):
    return _all_cases(student, ctx, shape_and_dtype, [("normal_tensor_scalar", a) for a in _cases_shape_dtype(
        "normal_tensor_scalar")])


@check("scalar_tensor_shape_dtype")
def scalar_tensor_shape_dtype(student, ctx):
    return _all_cases(student, ctx, shape_and_dtype, [("normal_scalar_tensor", a) for a in _cases_shape_dtype(
        "normal_scalar_tensor")])


@check("scalar_scalar_shape_dtype")
def scalar_scalar_shape_dtype(student, ctx):
    return _all_cases(student, ctx, shape_and_dtype, [("normal_scalar_scalar", a) for a in _cases_shape_dtype(
        "normal_scalar_scalar")])


@check("tensor_tensor_distribution")
def tensor_tensor_distribution(student, ctx):
    return _visible_distribution(student, ctx, "normal_tensor_tensor")


@check("tensor_scalar_distribution")
def tensor_scalar_distribution(student, ctx):
    return _visible_distribution(student, ctx, "normal_tensor_scalar")


@check("scalar_tensor_distribution")
def scalar_tensor_distribution(student, ctx):
    return _visible_distribution(student, ctx, "normal_scalar_tensor")


@check("scalar_scalar_distribution")
def scalar_scalar_distribution(student, ctx):
    return _visible_distribution(student, ctx, "normal_scalar_scalar")


def _generator_source(student, mode: str) -> Verdict:
    args = _cases_shape_dtype(mode)[1]
    draw = lambda torch_seed, other_seed: student.call(  # noqa: E731
        mode, *args, seed={"torch": torch_seed, "numpy": other_seed, "random": other_seed}, cache=False)
    first, same_torch_seed, other_torch_seed = draw(11, 12), draw(11, 23), draw(97, 12)
    tensor = tensors.is_tensor(first, what=mode)
    if not tensor.ok:
        return tensor
    if not torch.equal(first.tensor, same_torch_seed.tensor):
        return failed(_("{mode}: the samples changed although torch.manual_seed was the same; draw them with torch "
                        "(torch.normal, torch.randn), not numpy or random", mode=mode))
    if torch.equal(first.tensor, other_torch_seed.tensor):
        return failed(_("{mode}: the samples stayed the same when torch's seed changed; do not seed inside your "
                        "function", mode=mode))
    return passed()


@check("uses_torch_generator")
def uses_torch_generator(student, ctx):
    return mean_of([ctx.attempt(lambda mode=mode: _generator_source(student, mode)) for mode in FUNCTIONS])


@check("broadcasting")
def broadcasting(student, ctx):
    generator = torch.Generator().manual_seed(ctx.seed)
    mean = torch.rand(8, 1, generator=generator) * 4 - 2
    std = torch.rand(1, 500, generator=generator) + 0.2
    return ctx.attempt(lambda: distribution(student, ctx, "normal_tensor_tensor", (mean, std)))


@check("float64_inputs")
def float64_inputs(student, ctx):
    generator = torch.Generator().manual_seed(ctx.seed)
    grid = torch.rand(6, 7, generator=generator, dtype=torch.float64) + 0.5
    cases = [("normal_tensor_tensor", (grid, grid)), ("normal_tensor_scalar", (grid, 2.0)),
             ("normal_scalar_tensor", (1.0, grid))]
    return _all_cases(student, ctx, shape_and_dtype, cases)


@check("hidden_distributions")
def hidden_distributions(student, ctx):
    generator = torch.Generator().manual_seed(ctx.seed)
    cases = [(mode, _distribution_args(mode, generator)) for mode in FUNCTIONS]
    return _all_cases(student, ctx, distribution, cases)
