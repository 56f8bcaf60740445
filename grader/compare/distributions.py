"""Random outputs: do samples follow the distribution they should?

``normal_fit`` standardises each sample by its own mean and std, ``z = (x - mean) / std``,
which must be i.i.d. N(0, 1), and applies three tests, each at ``false_fail_rate / 3``
(Bonferroni), so a correct sampler fails with probability at most ``false_fail_rate``:

* Kolmogorov-Smirnov against N(0, 1) (shape of the distribution);
* the mean of z, which is N(0, 1/n) (a shifted centre);
* the variance of z, ``(n - 1) s^2 ~ chi2(n - 1)`` (a wrong spread, e.g. variance for std).

Before them, z must not repeat one draw: one number for all samples (``std * torch.randn(1)``),
or noise of one input's shape broadcast along the other's dimensions (``torch.randn_like(std)``
when mean and std broadcast), leaves z the same along a dimension, which the three tests on the
pooled z can miss.  Independent draws spread about 1 along any dimension; a repeated draw only by
rounding, so the threshold ``SHARED_SPREAD`` is far from both.

Checks call the student with a fixed seed, so one submission always gets the same score.
"""

from __future__ import annotations

import math

import torch
from scipy import stats

from grader.checks import Verdict, failed, passed
from grader.i18n import Message, _

DEFAULT_FALSE_FAIL_RATE = 1e-6
MIN_SAMPLES = 200
SHARED_SPREAD = 1e-3  # mean std of z along a dimension: about 1 for independent draws, ~1e-6 for one draw


def normal_fit(samples: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, *, what: Message,
               false_fail_rate: float = DEFAULT_FALSE_FAIL_RATE) -> Verdict:
    x = samples.to(torch.float64)
    mean = torch.broadcast_to(mean.to(torch.float64), samples.shape)
    std = torch.broadcast_to(std.to(torch.float64), samples.shape)
    if x.numel() < MIN_SAMPLES:
        raise ValueError(f"normal_fit needs at least {MIN_SAMPLES} samples")
    if not bool(torch.isfinite(x).all()):
        return failed(_("{what} contains NaN or infinite values", what=what))
    if bool((x == mean).all()):
        return failed(_("{what} equals the mean everywhere: the samples were copied from the mean, not drawn",
                        what=what))
    first = x.reshape(-1)[0]
    if bool((x == first).all()):
        return failed(_("{what} is constant ({value:.4g}); samples should be drawn at random", what=what,
                        value=float(first)))
    z = (x - mean) / std
    repeated = _repeated_draw(z, what)
    if not repeated.ok:
        return repeated
    return _standard_normal(z.reshape(-1).numpy(), what, false_fail_rate / 3)


def _repeated_draw(z: torch.Tensor, what: Message) -> Verdict:
    """Fails when z repeats one draw everywhere, or along one dimension."""
    if float(z.std()) < SHARED_SPREAD:
        return failed(_("{what}: every sample uses one and the same random draw (z = (x - mean) / std is "
                        "{value:.3g} everywhere); draw one number per element", what=what,
                        value=float(z.reshape(-1)[0])))
    for dim, size in enumerate(z.shape):
        if size > 1 and float(z.std(dim=dim).mean()) < SHARED_SPREAD:
            return failed(_("{what}: the samples repeat one random draw along dimension {dim}; draw noise of the "
                            "output's whole shape {shape}, not of one input's shape", what=what, dim=dim,
                            shape=str(list(z.shape))))
    return passed()


def _standard_normal(z, what: Message, alpha: float) -> Verdict:
    n = len(z)
    mean_p = 2 * stats.norm.sf(abs(z.mean()) * math.sqrt(n))
    if mean_p < alpha:
        return failed(_("{what}: samples are centred {shift:+.3g} standard deviations away from the mean they "
                        "should have", what=what, shift=float(z.mean())))
    variance = z.var(ddof=1)
    chi = (n - 1) * variance
    variance_p = 2 * min(stats.chi2.sf(chi, n - 1), stats.chi2.cdf(chi, n - 1))
    if variance_p < alpha:
        return failed(_("{what}: samples spread {ratio:.3g} times as wide as the std they should have (is std "
                        "used as a variance, or the other way round?)", what=what, ratio=math.sqrt(variance)))
    ks_p = stats.kstest(z, "norm").pvalue
    if ks_p < alpha:
        return failed(_("{what}: samples do not look normally distributed (Kolmogorov-Smirnov p = {p:.2g})",
                        what=what, p=float(ks_p)))
    return passed()
