"""Sample size and power for a two-proportion test, as R's ``power.prop.test`` computes them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

# The stdlib's normal quantile (Wichura's AS241, ~1e-16 relative) rather than scipy's: planning a sample size is
# part of light commands such as `experiments list`, which must not pay for importing scipy.
_NORMAL = NormalDist()


def _quantile(p: float) -> float:
    """The standard normal quantile; +-inf where p rounds to 1 or 0 (an alpha of 1e-300), as scipy's ppf."""
    if p >= 1.0:
        return math.inf
    if p <= 0.0:
        return -math.inf
    return _NORMAL.inv_cdf(p)


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


MAX_ARMS = 100
# Past this no experiment can run (more than the world's population per arm); the formula is still finite.
MAX_N_PER_ARM = 1e10


def _check_number(name: str, value: float, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value == 0:
        raise ValueError(f"{name} must be a finite, non-zero number ({example}), got {value!r}")


def _check_rate(name: str, value: float, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1 ({example}), got {value!r}")


def n_per_arm(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Units per arm for a two-sided test of p1 vs p2 (``power.prop.test``, strict=FALSE)."""
    if not (0 < p1 < 1 and 0 < p2 < 1):
        raise ValueError(f"rates must be strictly between 0 and 1, got {p1} and {p2}")
    if p1 == p2:
        raise ValueError("the two rates are equal: no sample size can detect a zero effect")
    za, zb = _quantile(1 - alpha / 2), _quantile(power)
    pbar = (p1 + p2) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return num**2 / (p1 - p2) ** 2


def power_plan(baseline: float, mde_abs: float | None = None, mde_rel: float | None = None, alpha: float = 0.05,
         power: float = 0.8, arms: int = 2, daily: int | None = None) -> PowerPlan:
    """Sample size per arm for a baseline CTR and a minimum detectable effect.

    With more than two arms, each of the ``arms - 1`` comparisons against control is tested at
    ``alpha / (arms - 1)`` (Bonferroni, the first step of Holm), so the plan stays valid after correction.
    ``daily`` is the total daily traffic, split evenly over the arms.
    """
    if (mde_abs is None) == (mde_rel is None):
        raise ValueError("give exactly one of mde_abs and mde_rel")
    _check_rate("baseline", baseline, "the control's CTR, e.g. 0.23")
    _check_rate("alpha", alpha, "the false-positive rate, e.g. 0.05")
    _check_rate("power", power, "the chance to detect the effect, e.g. 0.8")
    if isinstance(arms, bool) or not isinstance(arms, int) or not 2 <= arms <= MAX_ARMS:
        raise ValueError(f"arms must be a whole number from 2 to {MAX_ARMS}, got {arms!r}")
    if daily is not None and (isinstance(daily, bool) or not isinstance(daily, int) or daily < 0):
        raise ValueError(f"daily traffic must be a whole number of at least 1, got {daily!r}")
    if mde_abs is not None:
        _check_number("mde_abs", mde_abs, "the absolute lift, e.g. 0.02")
        target = baseline + mde_abs
    else:
        _check_number("mde_rel", mde_rel, "the relative lift, e.g. 0.1")
        target = baseline * (1 + mde_rel)
    if not 0 < target < 1:
        raise ValueError(f"baseline {baseline:g} with that lift gives a CTR of {target:g}, outside (0, 1); "
                         "choose a smaller lift")
    a = alpha / (arms - 1)
    n = n_per_arm(baseline, target, a, power)
    if not math.isfinite(n) or n > MAX_N_PER_ARM:
        raise ValueError(f"detecting {baseline:g} -> {target:g} at alpha {alpha:g} and power {power:g} needs more "
                         f"than {MAX_N_PER_ARM:,.0f} units per arm; choose a larger lift or a looser alpha")
    n_up = math.ceil(n - 1e-9)
    days = math.ceil(n_up * arms / daily) if daily else None
    return PowerPlan(baseline, target, alpha, a, power, arms, n_up, n, n_up * arms, days)
