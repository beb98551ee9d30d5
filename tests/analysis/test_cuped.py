"""CUPED for the per-user CTR against an independent implementation (influence functions from the raw per-user
values, not the lab's gradient-and-covariance form), through the real file path, and by simulation."""

import csv
import math

import numpy as np
import pytest
from scipy import stats

from analysis.cuped import PAIRS, CupedMoments, compare
from analysis.engine import analyze
from analysis.ingest import OutcomeError, load
from analysis.options import Options

REL = 1e-9


def users(rng, n, p_scale=1.0):
    """Per-user (m, d, mp, dp): a user's propensity drives both periods, so the pre-period predicts the post."""
    p = rng.beta(1, 3, n) * 0.8
    dp = 1 + rng.poisson(10, n)
    d = 1 + rng.poisson(3, n)
    return np.column_stack([rng.binomial(d, np.minimum(p * p_scale, 1)), d, rng.binomial(dp, p), dp]).astype(float)


def moments(x):
    return CupedMoments(len(x), tuple(x.sum(axis=0)), tuple(float((x[:, i] * x[:, j]).sum()) for i, j in PAIRS))


def independent(a, b, alpha=0.05):
    """The regression-adjusted ratio comparison written from the per-user data: linearise each ratio, pool θ as
    cov/var of the linearised values over both arms, and take variances of the adjusted influence values."""
    def linearised(x):
        m, d, mp, dp = x.T
        r, q = m.sum() / d.sum(), mp.sum() / dp.sum()
        return (m - r * d) / d.mean(), (mp - q * dp) / dp.mean(), r, q

    la, qa, ra, pa = linearised(a)
    lb, qb, rb, pb = linearised(b)
    theta = (np.cov(la, qa)[0, 1] + np.cov(lb, qb)[0, 1]) / (np.var(qa, ddof=1) + np.var(qb, ddof=1))
    diff = (rb - theta * pb) - (ra - theta * pa)
    var = np.var(la - theta * qa, ddof=1) / len(a) + np.var(lb - theta * qb, ddof=1) / len(b)
    raw = np.var(la, ddof=1) / len(a) + np.var(lb, ddof=1) / len(b)
    ia = -(1 / ra + diff / ra**2) * la + theta / ra * qa
    ib = (lb - theta * qb) / ra
    rel_var = np.var(ia, ddof=1) / len(a) + np.var(ib, ddof=1) / len(b)
    z = stats.norm.ppf(1 - alpha / 2)
    return {"theta": theta, "abs_diff": diff, "abs_diff_ci_low": diff - z * math.sqrt(var),
            "abs_diff_ci_high": diff + z * math.sqrt(var), "rel_lift": diff / ra,
            "rel_lift_ci_low": diff / ra - z * math.sqrt(rel_var), "rel_lift_ci_high": diff / ra + z * math.sqrt(rel_var),
            "variance_reduction": 1 - var / raw, "p_value": 2 * stats.norm.sf(abs(diff) / math.sqrt(var))}


@pytest.mark.parametrize("seed", range(20))
def test_cuped_matches_an_independent_implementation(seed):
    rng = np.random.default_rng(seed)
    a, b = users(rng, int(rng.integers(50, 3000))), users(rng, int(rng.integers(50, 3000)), p_scale=1.1)
    got = compare(moments(a), moments(b), alpha=0.05)
    want = independent(a, b)
    for key, value in want.items():
        assert getattr(got, key) == pytest.approx(value, rel=REL, abs=1e-15), key
    assert got.variance_reduction > 0.05  # the pre-period carries the users' propensities


def write_events(path, arms):
    """One row per impression; each user's pre-period figures repeated on every row, as the columns require."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "variant", "timestamp", "clicked", "pre_clicks", "pre_impressions"])
        for name, x in arms.items():
            for u, (m, d, mp, dp) in enumerate(x):
                for k in range(int(d)):
                    w.writerow([f"{name}-{u}", name, f"2026-11-0{1 + k % 7} 10:00:00", int(k < m), int(mp), int(dp)])


def test_the_file_path_gives_the_same_cuped_block(tmp_path):
    rng = np.random.default_rng(7)
    a, b = users(rng, 800), users(rng, 900, p_scale=1.15)
    path = tmp_path / "e.csv"
    write_events(path, {"ctrl": a, "trt": b})
    data = load(path, cuped=True)
    result = analyze(data.arms, Options(cuped=True, alpha=0.1))
    block = result.to_dict()["comparisons"][0]["cuped"]
    want = independent(a, b, alpha=0.1)
    assert set(block) >= {"abs_diff", "abs_diff_ci_low", "abs_diff_ci_high", "rel_lift", "rel_lift_ci_low",
                          "rel_lift_ci_high", "variance_reduction", "theta"}
    for key, value in want.items():
        assert block[key] == pytest.approx(value, rel=REL), key


def test_the_decision_uses_the_adjusted_figures_and_says_so(tmp_path):
    rng = np.random.default_rng(3)
    a, b = users(rng, 4000), users(rng, 4000, p_scale=1.08)
    arms = [moments(a), moments(b)]
    from analysis.statistics import ArmData, RatioStatistic

    def ratio(x):
        m, d = x[:, 0], x[:, 1]
        return RatioStatistic(len(x), int(m.sum()), float((m * m).sum()), int(d.sum()), float((d * d).sum()),
                              float((m * d).sum()))

    data = [ArmData("ctrl", ratio(a), cuped=arms[0]), ArmData("trt", ratio(b), cuped=arms[1])]
    plain = analyze(data, Options(mde_rel=0.05))
    adjusted = analyze(data, Options(cuped=True, mde_rel=0.05))
    c = adjusted.comparisons[0]
    assert c.cuped is not None and c.cuped.variance_reduction > 0.1
    # The adjusted interval is the narrower one, and the decision rests on it.
    assert (c.cuped.abs_diff_ci_high - c.cuped.abs_diff_ci_low) < (c.abs_diff_ci_high - c.abs_diff_ci_low)
    assert adjusted.decision.action == ("ship" if c.cuped.significant else adjusted.decision.action)
    assert any("CUPED-adjusted" in r for r in adjusted.decision.reasons)
    assert not any("CUPED" in r for r in plain.decision.reasons) and plain.comparisons[0].cuped is None


def test_cuped_needs_pre_period_data(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("user_id,variant,timestamp,clicked\nu1,a,2026-11-01 10:00:00,1\nu2,b,2026-11-01 10:00:00,0\n")
    with pytest.raises(OutcomeError, match="CUPED needs the columns pre_clicks, pre_impressions"):
        load(p, cuped=True)
    c = tmp_path / "c.csv"
    c.write_text("variant,impressions,clicks\na,10,1\nb,10,2\n")
    with pytest.raises(OutcomeError, match="a counts file has no users"):
        load(c, cuped=True)
    uneven = tmp_path / "u.csv"
    uneven.write_text("user_id,variant,timestamp,clicked,pre_clicks,pre_impressions\n"
                      "u1,a,2026-11-01 10:00:00,1,1,3\nu1,a,2026-11-02 10:00:00,1,2,3\nu2,b,2026-11-01 10:00:00,0,0,1\n")
    with pytest.raises(OutcomeError, match="1 users have different pre_clicks or pre_impressions"):
        load(uneven, cuped=True)


def test_a_pre_period_window_equals_the_same_figures_as_columns(tmp_path):
    """Pre-period rows of the same file ([--pre-start, --start)) give the same moments as pre_* columns."""
    rng = np.random.default_rng(11)
    arms = {"ctrl": users(rng, 300), "trt": users(rng, 300)}
    window = tmp_path / "w.csv"
    with window.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "variant", "timestamp", "clicked"])
        for name, x in arms.items():
            for u, (m, d, mp, dp) in enumerate(x):
                for k in range(int(dp)):
                    w.writerow([f"{name}-{u}", "older-test", f"2026-10-2{k % 7} 09:00:00", int(k < mp)])
                for k in range(int(d)):
                    w.writerow([f"{name}-{u}", name, f"2026-11-0{1 + k % 7} 10:00:00", int(k < m)])
    columns = tmp_path / "c.csv"
    write_events(columns, arms)
    import datetime as dt

    by_window = load(window, cuped=True, start=dt.datetime(2026, 11, 1), pre_start=dt.datetime(2026, 10, 1))
    by_columns = load(columns, cuped=True)
    assert [a.cuped for a in by_window.arms] == [a.cuped for a in by_columns.arms]
    assert [a.stat for a in by_window.arms] == [a.stat for a in by_columns.arms]


def test_the_cuped_interval_covers_the_true_lift_at_its_nominal_rate():
    """1,000 simulated experiments (fixed seed): the 95 % CUPED intervals of the difference and of the lift each
    cover the true value 95 % ± 2 % of the time."""
    rng = np.random.default_rng(20261125)
    runs, n, lift = 1000, 1500, 0.1
    true_diff = 0.8 * 1 / 4 * lift  # E[propensity] = 0.8 · E[Beta(1, 3)]; impressions independent of it
    covered_abs = covered_rel = 0
    for _ in range(runs):
        a, b = users(rng, n), users(rng, n, p_scale=1 + lift)
        r = compare(moments(a), moments(b), alpha=0.05)
        covered_abs += r.abs_diff_ci_low <= true_diff <= r.abs_diff_ci_high
        covered_rel += r.rel_lift_ci_low <= lift <= r.rel_lift_ci_high
    assert abs(covered_abs / runs - 0.95) <= 0.02, covered_abs / runs
    assert abs(covered_rel / runs - 0.95) <= 0.02, covered_rel / runs
