"""Properties that must hold for any data (hypothesis)."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import sequential
from analysis.engine import analyze
from analysis.frequentist import compare
from analysis.options import Options
from analysis.statistics import ArmData
from analysis.statistics import ProportionStatistic as P


@st.composite
def arm(draw):
    n = draw(st.integers(1, 100_000))
    return P(n, draw(st.integers(0, n)))


@settings(max_examples=200, deadline=None)
@given(arm(), arm())
def test_p_values_are_probabilities_and_swapping_arms_flips_z(a, b):
    ab, ba = compare(a, b), compare(b, a)
    assert 0 <= ab.p_value <= 1
    assert math.isclose(ab.p_value, ba.p_value, rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(ab.z, -ba.z, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(ab.abs_diff, -ba.abs_diff, abs_tol=1e-15)


@settings(max_examples=40, deadline=None)
@given(st.lists(arm(), min_size=3, max_size=5), st.randoms(use_true_random=False))
def test_reordering_the_treatment_arms_changes_nothing(stats_, rnd):
    arms = [ArmData(f"v{i}", s) for i, s in enumerate(stats_)]
    shuffled = arms[:1] + rnd.sample(arms[1:], len(arms) - 1)
    opts = Options(draws=20_000)
    a, b = analyze(arms, opts), analyze(shuffled, opts)
    by_a = {c.variant: c for c in a.comparisons}
    by_b = {c.variant: c for c in b.comparisons}
    assert by_a == by_b
    assert math.isclose(a.omnibus.chi2, b.omnibus.chi2, rel_tol=1e-9, abs_tol=1e-12)
    assert a.decision.action == b.decision.action and a.decision.arm == b.decision.arm
    assert math.isclose(a.srm.p_value, b.srm.p_value, rel_tol=1e-12)
    for c in a.comparisons:
        assert 0 <= c.p_value <= c.p_value_adjusted <= 1


@settings(max_examples=200, deadline=None)
@given(st.floats(-0.2, 0.2), st.floats(1e-7, 1e-2), st.integers(10, 10**7), st.floats(0.001, 0.2))
def test_sequential_p_value_agrees_with_its_interval(est, var, n, alpha):
    p = sequential.p_value(est, var, n, alpha)
    half = sequential.halfwidth(var, n, alpha)
    assert 0 <= p <= 1
    if abs(abs(est) - half) > 1e-9 * max(half, 1e-12):
        assert (p < alpha) == (abs(est) > half)


def test_sequential_intervals_are_wider_than_fixed_ones():
    var, n = 1e-4, 20_000
    assert sequential.halfwidth(var, n, 0.05) > 1.96 * math.sqrt(var)


def test_peeking_daily_inflates_fixed_tests_but_not_sequential_ones():
    """A/A tests looked at 30 times: the fixed test 'finds' effects far above alpha, the sequential stays under."""
    rng = np.random.default_rng(7)
    sims, looks, per_look, p = 1000, 30, 200, 0.3
    a = rng.binomial(per_look, p, size=(sims, looks)).cumsum(axis=1)
    b = rng.binomial(per_look, p, size=(sims, looks)).cumsum(axis=1)
    n = per_look * np.arange(1, looks + 1)
    fixed_fp = seq_fp = 0
    for i in range(sims):
        f = s = False
        for j in range(looks):
            c = compare(P(int(n[j]), int(a[i, j])), P(int(n[j]), int(b[i, j])))
            f |= c.p_value < 0.05
            var = (a[i, j] / n[j]) * (1 - a[i, j] / n[j]) / n[j] + (b[i, j] / n[j]) * (1 - b[i, j] / n[j]) / n[j]
            s |= sequential.p_value(c.abs_diff, var, int(2 * n[j]), 0.05) < 0.05
        fixed_fp += f
        seq_fp += s
    assert fixed_fp / sims > 0.15  # the well-known peeking problem
    assert seq_fp / sims <= 0.05
