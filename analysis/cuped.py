"""CUPED for the per-user CTR: GrowthBook's regression-adjusted ratio statistic.

Each user contributes four numbers: post-period clicks ``m`` and impressions ``d`` (the experiment), and
pre-period clicks ``mp`` and impressions ``dp`` (before it). An arm's adjusted CTR is
``m̄/d̄ - θ · m̄p/d̄p``; θ is pooled over the two arms of a comparison and chosen to minimise the variance of
the difference, which the delta method gives from the 4×4 covariance of the per-user values (gbstats'
``RegressionAdjustedRatioStatistic``, ``compute_theta_regression_adjusted_ratio`` and
``frequentist_variance_relative_cuped_ratio``). Randomisation makes the pre-period ratios equal in
expectation, so the adjustment removes noise without moving the expected difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from analysis import sequential

# Products of the four per-user values kept, in this order: the upper triangle of the 4×4 matrix over
# (m, d, mp, dp).
PAIRS = tuple((i, j) for i in range(4) for j in range(i, 4))
THETA_FLOOR = 1e-8  # below this the adjustment is dropped, as GrowthBook does


@dataclass(frozen=True)
class CupedMoments:
    """One arm's per-user sums of (m, d, mp, dp) and of their pairwise products: all CUPED needs, poolable."""

    users: int
    sums: tuple[float, float, float, float]
    products: tuple[float, ...]  # len 10, in PAIRS order

    def __add__(self, other: CupedMoments) -> CupedMoments:
        return CupedMoments(self.users + other.users,
                            tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)),  # type: ignore[arg-type]
                            tuple(a + b for a, b in zip(self.products, other.products, strict=True)))

    @property
    def means(self) -> np.ndarray:
        return np.asarray(self.sums, dtype=float) / self.users

    @property
    def covariance(self) -> np.ndarray:
        """Sample covariance (n - 1) of the per-user values, from the sums."""
        n = self.users
        out = np.zeros((4, 4))
        if n < 2:
            return out
        for k, (i, j) in enumerate(PAIRS):
            out[i, j] = out[j, i] = (self.products[k] - self.sums[i] * self.sums[j] / n) / (n - 1)
        return out

    @property
    def ratio_post(self) -> float:
        return self.sums[0] / self.sums[1] if self.sums[1] else 0.0

    @property
    def ratio_pre(self) -> float:
        return self.sums[2] / self.sums[3] if self.sums[3] else 0.0

    def gradient(self, theta: float) -> np.ndarray:
        """d(adjusted CTR)/d(means of m, d, mp, dp)."""
        m, d, mp, dp = self.means
        if d == 0 or dp == 0:
            return np.zeros(4)
        return np.array([1 / d, -m / d**2, -theta / dp, theta * mp / dp**2])

    def mean(self, theta: float) -> float:
        return self.ratio_post - theta * self.ratio_pre

    def variance(self, theta: float) -> float:
        """Per-user variance of the adjusted CTR (divide by ``users`` for the variance of the estimate)."""
        g = self.gradient(theta)
        return float(g @ self.covariance @ g)


def pooled_theta(control: CupedMoments, treatment: CupedMoments) -> float:
    """θ pooled over both arms: -(Σ cov(post, pre)) / (Σ var(pre)), each from the delta method at θ = 1."""
    cov = var_pre = 0.0
    for arm in (control, treatment):
        g, lam = arm.gradient(1.0), arm.covariance
        cov += float(g[2:] @ lam[2:, :2] @ g[:2])
        var_pre += float(g[2:] @ lam[2:, 2:] @ g[2:])
    if var_pre <= 0:
        return 0.0
    theta = -cov / var_pre
    return 0.0 if abs(theta) < THETA_FLOOR else theta


def relative_variance(control: CupedMoments, treatment: CupedMoments, theta: float) -> float:
    """Variance of (adjusted difference) / (control's unadjusted CTR), by the delta method."""
    base = control.ratio_post
    m_a, d_a = control.means[:2]
    if base == 0 or d_a == 0:
        return 0.0
    diff = treatment.mean(theta) - control.mean(theta)
    den = abs(base)
    g_a = control.gradient(theta)
    nabla_a = np.array([-(den + diff) / d_a / den**2, (m_a * den / d_a**2 + m_a * diff / d_a**2) / den**2,
                        -g_a[2] / den, -g_a[3] / den])
    nabla_b = treatment.gradient(theta) / den
    return float(nabla_a @ control.covariance @ nabla_a / control.users
                 + nabla_b @ treatment.covariance @ nabla_b / treatment.users)


@dataclass(frozen=True)
class CupedResult:
    """The ``cuped`` block of a comparison: adjusted difference and lift with their intervals, and how much of
    the variance the pre-period removed. Intervals and p-value are None when the adjusted variance is zero."""

    abs_diff: float
    abs_diff_ci_low: float | None
    abs_diff_ci_high: float | None
    rel_lift: float | None
    rel_lift_ci_low: float | None
    rel_lift_ci_high: float | None
    variance_reduction: float  # 1 - var(adjusted difference) / var(unadjusted difference)
    theta: float
    p_value: float | None
    p_value_adjusted: float | None = None
    significant: bool = False


def compare(control: CupedMoments, treatment: CupedMoments, alpha: float, mode: str = "fixed",
            tuning: float = sequential.DEFAULT_TUNING) -> CupedResult:
    """Treatment against control, regression-adjusted, at a fixed horizon or as a confidence sequence."""
    theta = pooled_theta(control, treatment)
    diff = treatment.mean(theta) - control.mean(theta)
    var = control.variance(theta) / control.users + treatment.variance(theta) / treatment.users
    raw = control.variance(0.0) / control.users + treatment.variance(0.0) / treatment.users
    reduction = 1 - var / raw if raw > 0 else 0.0
    base = control.ratio_post
    rel = diff / abs(base) if base else None
    if var <= 0 or raw <= 0:
        return CupedResult(diff, None, None, rel, None, None, reduction, theta, None)
    rel_var = relative_variance(control, treatment, theta) if rel is not None else 0.0
    n = control.users + treatment.users
    if mode == "sequential":
        half = sequential.halfwidth(var, n, alpha, tuning)
        rel_half = sequential.halfwidth(rel_var, n, alpha, tuning) if rel_var > 0 else None
        p = sequential.p_value(diff, var, n, alpha, tuning)
    else:
        z = NormalDist().inv_cdf(1 - alpha / 2)  # the stdlib's: light commands import no scipy
        half, rel_half = z * math.sqrt(var), (z * math.sqrt(rel_var) if rel_var > 0 else None)
        p = math.erfc(abs(diff) / math.sqrt(var) / math.sqrt(2))  # two-sided, exact in the tails
    rel_lo, rel_hi = (rel - rel_half, rel + rel_half) if rel is not None and rel_half is not None else (None, None)
    return CupedResult(diff, diff - half, diff + half, rel, rel_lo, rel_hi, reduction, theta, p)
