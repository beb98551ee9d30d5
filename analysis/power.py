"""Sample size and power for a two-proportion test, as R's ``power.prop.test`` computes them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class PowerPlan:
    baseline: float
    target: float
    alpha: float
    alpha_per_comparison: float
    power: float
    arms: int
    n_per_arm: int  # rounded up
    n_per_arm_exact: float
    total: int
    days: int | None


def n_per_arm(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Units per arm for a two-sided test of p1 vs p2 (``power.prop.test``, strict=FALSE)."""
    if not (0 < p1 < 1 and 0 < p2 < 1):
        raise ValueError(f"rates must be strictly between 0 and 1, got {p1} and {p2}")
    if p1 == p2:
        raise ValueError("the two rates are equal: no sample size can detect a zero effect")
    za = stats.norm.ppf(1 - alpha / 2)
    zb = stats.norm.ppf(power)
    pbar = (p1 + p2) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return num**2 / (p1 - p2) ** 2


def plan(baseline: float, mde_abs: float | None = None, mde_rel: float | None = None, alpha: float = 0.05,
         power: float = 0.8, arms: int = 2, daily: int | None = None) -> PowerPlan:
    """Sample size per arm for a baseline CTR and a minimum detectable effect.

    With more than two arms, each of the ``arms - 1`` comparisons against control is tested at
    ``alpha / (arms - 1)`` (Bonferroni, the first step of Holm), so the plan stays valid after correction.
    ``daily`` is the total daily traffic, split evenly over the arms.
    """
    if (mde_abs is None) == (mde_rel is None):
        raise ValueError("give exactly one of mde_abs and mde_rel")
    if arms < 2:
        raise ValueError(f"an experiment needs at least 2 arms, got {arms}")
    target = baseline + mde_abs if mde_abs is not None else baseline * (1 + mde_rel)
    a = alpha / (arms - 1)
    n = n_per_arm(baseline, target, a, power)
    n_up = math.ceil(n - 1e-9)
    days = math.ceil(n_up * arms / daily) if daily else None
    return PowerPlan(baseline, target, alpha, a, power, arms, n_up, n, n_up * arms, days)
