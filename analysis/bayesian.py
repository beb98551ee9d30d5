"""Bayesian summaries: chance each arm is best, expected loss, and GrowthBook's Gaussian lift model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.frequentist import lift_variance, z_crit
from analysis.options import DEFAULT_DRAWS
from analysis.statistics import ProportionStatistic, Statistic

# Monte Carlo error of a probability is at most 0.5/sqrt(draws): 200k draws keep it under 0.0012,
# so a reported chance is stable to well within +-0.005 (about 4 standard errors).


@dataclass(frozen=True)
class BestArm:
    p_best: dict[str, float]
    expected_loss: dict[str, float]
    draws: int
    model: str


def best_arm(names: Sequence[str], stats_: Sequence[Statistic], draws: int = DEFAULT_DRAWS, seed: int = 0) -> BestArm:
    """P(arm has the highest CTR) and E[max CTR - arm CTR], by seeded Monte Carlo.

    Impression counts: Beta(1 + clicks, 1 + misses) posteriors (uniform prior). User data: normal
    posteriors with the delta-method variance, since impressions of one user are not independent.
    """
    rng = np.random.default_rng(seed)
    if all(isinstance(s, ProportionStatistic) for s in stats_):
        samples = np.stack([rng.beta(1 + s.clicks, 1 + s.impressions - s.clicks, size=draws) for s in stats_])
        model = "beta-binomial, uniform prior"
    else:
        samples = np.stack([rng.normal(s.mean, math.sqrt(s.var_mean), size=draws) for s in stats_])
        model = "normal approximation (delta-method variance)"
    winner = samples.argmax(axis=0)
    best = samples.max(axis=0)
    p_best = {n: float((winner == i).mean()) for i, n in enumerate(names)}
    loss = {n: float((best - samples[i]).mean()) for i, n in enumerate(names)}
    return BestArm(p_best, loss, draws, model)


@dataclass(frozen=True)
class GaussianLift:
    lift: float
    ci: tuple[float, float]
    chance_to_win: float


def gaussian_lift(control: Statistic, treatment: Statistic, alpha: float = 0.05) -> GaussianLift | None:
    """Relative lift with a flat prior on a Gaussian effect (GrowthBook's Bayesian engine).

    None when the control has no clicks (relative lift is undefined) or either arm has zero variance: a
    chance to win of exactly 0 or 1 from no spread would be certainty the data do not have (GrowthBook refuses it).
    """
    if control.mean == 0 or control.zero_variance or treatment.zero_variance:
        return None
    lift = treatment.mean / control.mean - 1
    sd = math.sqrt(lift_variance(control, treatment))
    half = z_crit(alpha) * sd
    return GaussianLift(lift, (lift - half, lift + half), float(stats.norm.cdf(lift / sd)))
