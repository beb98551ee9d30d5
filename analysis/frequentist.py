"""Fixed-horizon tests: Wilson intervals, two-proportion z-tests, delta-method lift, chi-square."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.statistics import ProportionStatistic, Statistic


def z_crit(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def wilson_interval(clicks: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval; (0, 0) for an arm with no impressions."""
    if n == 0:
        return 0.0, 0.0
    z = z_crit(alpha)
    p = clicks / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(stat: Statistic, alpha: float = 0.05) -> tuple[float, float, str]:
    """CTR interval: Wilson for impression counts, normal with delta-method variance for users."""
    if isinstance(stat, ProportionStatistic):
        return (*wilson_interval(stat.clicks, stat.impressions, alpha), "wilson")
    half = z_crit(alpha) * math.sqrt(stat.var_mean)
    return max(0.0, stat.mean - half), min(1.0, stat.mean + half), "delta"


@dataclass(frozen=True)
class Comparison:
    """Treatment against control at a fixed horizon."""

    abs_diff: float
    abs_diff_ci: tuple[float, float] | None  # None when an arm has zero variance (not enough data)
    rel_lift: float | None  # None when the control has no clicks (lift undefined)
    rel_lift_ci: tuple[float, float] | None
    z: float
    p_value: float | None  # None when withheld: a per-user arm without variance has no test at all
    se: float
    notes: tuple[str, ...] = ()
    enough_data: bool = True  # False: an arm has zero variance, so no unpooled statistic is computed


def compare(control: Statistic, treatment: Statistic, alpha: float = 0.05) -> Comparison:
    """Two-sided test of treatment vs control.

    Impression counts use the pooled two-proportion z-test (R's ``prop.test(correct=FALSE)``,
    statsmodels' ``proportions_ztest``); user data use the unpooled z-test on delta-method variances.
    """
    notes: list[str] = []
    if control.n == 0 or treatment.n == 0:
        return Comparison(0.0, None, None, None, 0.0, 1.0, 0.0,
                          ("not enough data: an arm has no data yet, nothing to compare",), enough_data=False)
    diff = treatment.mean - control.mean
    var_unpooled = treatment.var_mean + control.var_mean
    pooled_test = isinstance(control, ProportionStatistic) and isinstance(treatment, ProportionStatistic)
    enough = not zero_variance_arm(control, treatment)
    if pooled_test:
        pooled = (control.clicks + treatment.clicks) / (control.impressions + treatment.impressions)
        se_test = math.sqrt(pooled * (1 - pooled) * (1 / control.impressions + 1 / treatment.impressions))
    else:
        se_test = math.sqrt(var_unpooled) if enough else 0.0
    if se_test == 0:
        z, p = 0.0, 1.0
        notes.append("no variation in clicks (none or all clicked): the test has no evidence either way")
    else:
        z = diff / se_test
        p = float(2 * stats.norm.sf(abs(z)))
    rel, rel_ci = relative_lift(control, treatment, alpha)
    if rel is None:
        notes.append("control has no clicks: relative lift is undefined")
    if not enough:
        # As GrowthBook's engine: an unpooled variance of zero would claim certainty, so no interval at all,
        # and for per-user data (an unpooled test) no p-value either: "1.0" would be a result it does not have.
        if not pooled_test:
            p = None
        notes.append(f"not enough data: {zero_variance_arm(control, treatment)} has zero variance (no clicks, or "
                     "every one clicked), so no interval, chance to win or sequential p-value is computed and the "
                     "decision does not rest on this comparison")
        return Comparison(diff, None, rel, None, z, p, se_test, tuple(notes), enough_data=False)
    half = z_crit(alpha) * math.sqrt(var_unpooled)
    return Comparison(diff, (diff - half, diff + half), rel, rel_ci, z, p, se_test, tuple(notes))


def zero_variance_arm(control: Statistic, treatment: Statistic) -> str | None:
    """Which arm ('the control' / 'the treatment') has zero variance; None when both have some."""
    if control.zero_variance:
        return "the control"
    if treatment.zero_variance:
        return "the treatment"
    return None


def relative_lift(control: Statistic, treatment: Statistic, alpha: float = 0.05
                  ) -> tuple[float | None, tuple[float, float] | None]:
    """Relative lift t/c - 1 with the delta-method interval (GrowthBook's frequentist and Gaussian model)."""
    mc, mt = control.mean, treatment.mean
    if mc == 0:
        return None, None
    lift = mt / mc - 1
    var = treatment.var_mean / mc**2 + mt**2 * control.var_mean / mc**4
    half = z_crit(alpha) * math.sqrt(var)
    return lift, (lift - half, lift + half)


def lift_variance(control: Statistic, treatment: Statistic) -> float:
    mc, mt = control.mean, treatment.mean
    return treatment.var_mean / mc**2 + mt**2 * control.var_mean / mc**4


@dataclass(frozen=True)
class ChiSquare:
    chi2: float
    df: int
    p_value: float


def omnibus_chi2(stats_: Sequence[Statistic]) -> ChiSquare:
    """Chi-square test of independence of arm and click, no continuity correction."""
    table = np.array([[s.clicks, s.impressions - s.clicks] for s in stats_ if s.impressions > 0], dtype=float)
    df = len(table) - 1
    col = table.sum(axis=0)
    if (col == 0).any() or df < 1:
        return ChiSquare(0.0, max(df, 0), 1.0)
    expected = table.sum(axis=1, keepdims=True) * col / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return ChiSquare(chi2, df, float(stats.chi2.sf(chi2, df)))


@dataclass(frozen=True)
class SampleRatio:
    chi2: float
    p_value: float
    ok: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]


SRM_THRESHOLD = 0.001


def srm_test(observed: Sequence[int], weights: Sequence[float], threshold: float = SRM_THRESHOLD) -> SampleRatio:
    """Chi-square goodness of fit of exposures against planned weights; flagged when p < threshold."""
    obs = np.asarray(observed, dtype=float)
    w = np.asarray(weights, dtype=float)
    total = obs.sum()
    if total == 0:
        return SampleRatio(0.0, 1.0, True, tuple(int(o) for o in obs), tuple(0.0 for _ in obs))
    expected = total * w / w.sum()
    chi2 = float(((obs - expected) ** 2 / expected).sum())
    p = float(stats.chi2.sf(chi2, len(obs) - 1))
    return SampleRatio(chi2, p, p >= threshold, tuple(int(o) for o in obs), tuple(float(e) for e in expected))


def adjust_p_values(p_values: Sequence[float | None], method: str = "holm") -> list[float | None]:
    """Family-wise (Holm) or false-discovery-rate (Benjamini-Hochberg) adjusted p-values.

    A withheld p-value (None) stays None and is not part of the family."""
    given = [i for i, v in enumerate(p_values) if v is not None]
    adjusted = _adjust([float(p_values[i]) for i in given], method)  # type: ignore[arg-type]
    out: list[float | None] = [None] * len(p_values)
    for i, v in zip(given, adjusted, strict=True):
        out[i] = v
    return out


def _adjust(p_values: Sequence[float], method: str) -> list[float]:
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0 or method == "none":
        return [float(x) for x in p]
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}: use holm, bh or none")
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return [float(x) for x in out]
