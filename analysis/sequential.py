"""Always-valid inference, safe to look at daily: asymptotic confidence sequences.

Waudby-Smith et al., "Time-uniform central limit theory and asymptotic confidence sequences" (2023),
eq. 9 (the two-sided Gaussian-mixture boundary) and the e-value it inverts; GrowthBook's ``sequential``
mode is the reference design. ``tuning`` is the sample size N at which the sequence is tightest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_TUNING = 5000


def rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """Mixing parameter for the boundary, chosen to be tightest at ``tuning`` observations."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if tuning <= 0:
        raise ValueError(f"the sequential tuning parameter must be positive, got {tuning}")
    la = math.log(alpha)
    return math.sqrt((-2 * la + math.log(-2 * la + 1)) / tuning)


def halfwidth(var_estimate: float, n: int, alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """Half-width of the (1 - alpha) confidence sequence for an estimate with variance ``var_estimate``
    from ``n`` observations in all (per-observation variance is ``var_estimate * n``)."""
    r = rho(alpha, tuning)
    s2 = var_estimate * n
    a = n * r * r + 1
    return math.sqrt(s2) * math.sqrt(2 * a * math.log(math.sqrt(a) / alpha) / (n * r) ** 2)


def p_value(estimate: float, var_estimate: float, n: int, alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """Always-valid two-sided p-value: 1 / e-value, capped at 1. It is below alpha exactly when the
    confidence sequence excludes 0."""
    if var_estimate <= 0:
        return 1.0
    r = rho(alpha, tuning)
    a = n * r * r + 1
    t2 = estimate**2 / var_estimate
    log_e = r * r * n * t2 / (2 * a) - 0.5 * math.log(a)
    return 1.0 if log_e <= 0 else min(1.0, math.exp(-log_e))


@dataclass(frozen=True)
class SequentialResult:
    ci: tuple[float, float]
    p_value: float
    tuning: float


def sequential_diff(estimate: float, var_estimate: float, n: int, alpha: float,
                    tuning: float = DEFAULT_TUNING) -> SequentialResult:
    half = halfwidth(var_estimate, n, alpha, tuning) if var_estimate > 0 else 0.0
    return SequentialResult((estimate - half, estimate + half), p_value(estimate, var_estimate, n, alpha, tuning),
                            tuning)
