"""Sufficient statistics: the per-user (delta method) variance, and pooling arms with ``+``."""

import numpy as np
import pytest

from analysis.statistics import ArmData, RatioStatistic
from analysis.statistics import ProportionStatistic as P


def test_delta_method_variance_matches_simulation():
    """Users with many impressions and user-level propensity: the delta variance is the real one,
    and the naive binomial over impressions understates it."""
    rng = np.random.default_rng(11)

    def one_arm():
        users = 2000
        n = rng.integers(1, 12, size=users)
        p = rng.beta(2, 5, size=users)
        c = rng.binomial(n, p)
        return RatioStatistic(users, int(c.sum()), float((c * c).sum()), int(n.sum()), float((n * n).sum()),
                              float((c * n).sum()))

    arms = [one_arm() for _ in range(400)]
    empirical = np.var([a.mean for a in arms], ddof=1)
    delta = np.mean([a.var_mean for a in arms])
    naive = np.mean([P(a.impressions, a.clicks).var_mean for a in arms])
    assert delta == pytest.approx(empirical, rel=0.2)
    assert naive < 0.6 * empirical


def test_ratio_with_one_impression_per_user_is_the_binomial():
    rng = np.random.default_rng(5)
    c = rng.binomial(1, 0.3, size=5000)
    r = RatioStatistic(5000, int(c.sum()), float(c.sum()), 5000, 5000.0, float(c.sum()))
    p = P(5000, int(c.sum()))
    assert r.mean == p.mean and r.var_mean == pytest.approx(p.var_mean, rel=1e-3)


def test_arm_data_pools_stats_and_guardrails():
    a = ArmData("v1", P(1000, 230), {"dismissals": 40, "optouts": 3})
    b = ArmData("v1", P(500, 100), {"dismissals": 10, "blocks": 2})
    pooled = a + b
    assert pooled == ArmData("v1", P(1500, 330), {"dismissals": 50, "optouts": 3, "blocks": 2})
    assert list(pooled.guardrails) == ["dismissals", "optouts", "blocks"]
    assert a.guardrails == {"dismissals": 40, "optouts": 3}  # the operands are untouched


def test_arm_data_pools_ratio_statistics():
    r1 = RatioStatistic(10, 5, 7.0, 30, 100.0, 20.0)
    r2 = RatioStatistic(4, 2, 2.0, 9, 25.0, 6.0)
    assert (ArmData("u", r1) + ArmData("u", r2)) == ArmData("u", r1 + r2)


def test_arm_data_refuses_to_pool_different_variants():
    with pytest.raises(ValueError, match="cannot pool arm 'v1' with arm 'v2'"):
        ArmData("v1", P(10, 1)) + ArmData("v2", P(10, 2))
