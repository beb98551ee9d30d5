"""Decisions, segments, guardrails, the per-user variance and degenerate data."""

import json

import numpy as np
import pytest

from analysis.bayesian import best_arm
from analysis.engine import ArmData, Options, analyze
from analysis.statistics import ProportionStatistic as P
from analysis.statistics import RatioStatistic

SEED_ARMS = [ArmData("v1", P(1000, 230)), ArmData("v2", P(1000, 310)), ArmData("v3", P(1000, 380))]


def test_the_seed_figures_ship_v3_with_reasons():
    r = analyze(SEED_ARMS)
    assert (r.decision.action, r.decision.arm, r.decision.headline) == ("ship", "v3", "ship v3")
    assert r.decision.reasons[0].startswith("v3 beats v1: CTR 38.00% vs 23.00%, lift +65.2%")
    assert r.bayes.p_best["v3"] > 0.99
    assert r.unit == "impression" and "pooled two-proportion" in r.variance_method


def test_json_has_the_documented_keys_and_no_nan():
    data = analyze(SEED_ARMS).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert set(data["variants"][0]) >= {"variant", "impressions", "clicks", "ctr", "ci_low", "ci_high"}
    assert set(data["omnibus"]) == {"chi2", "df", "p_value"}
    assert set(data["comparisons"][0]) >= {"variant", "control", "abs_diff", "rel_lift", "rel_lift_ci_low",
                                           "rel_lift_ci_high", "z", "p_value", "p_value_adjusted", "significant"}
    assert set(data["bayes"]) >= {"p_best", "expected_loss"} and set(data["srm"]) >= {"chi2", "p_value", "ok"}
    assert set(data["decision"]) >= {"action", "arm", "reasons"}
    assert "NaN" not in text and "Infinity" not in text


@pytest.mark.parametrize("arms", [
    [ArmData("a", P(100, 0)), ArmData("b", P(100, 0))],
    [ArmData("a", P(100, 100)), ArmData("b", P(100, 100))],
    [ArmData("a", P(100, 0)), ArmData("b", P(100, 7))],
    [ArmData("a", P(0, 0)), ArmData("b", P(100, 7))],
])
def test_degenerate_data_gives_defined_values_and_a_note(arms):
    r = analyze(arms)
    json.dumps(r.to_dict(), allow_nan=False)
    assert r.notes


def test_sample_ratio_mismatch_blocks_a_winner():
    r = analyze([ArmData("v1", P(10_000, 2300)), ArmData("v3", P(8_000, 3040))])
    assert r.srm.ok is False and r.srm.p_value < 1e-3
    assert r.decision.action == "invalid_srm" and r.decision.arm is None
    assert "sample ratio mismatch" in r.decision.reasons[0]
    # With the planned 55/45 split the same exposures are fine.
    assert analyze([ArmData("v1", P(10_000, 2300)), ArmData("v3", P(8_000, 3040))],
                   Options(weights=(0.55, 0.45))).srm.ok


def test_keep_running_says_how_many_more():
    r = analyze([ArmData("v1", P(500, 115)), ArmData("v2", P(500, 120))])
    assert r.decision.action == "keep_running"
    assert r.decision.more_units_per_arm > 0
    assert r.decision.headline == f"keep running (≈{r.decision.more_units_per_arm:,} more impressions per arm)"


def test_no_meaningful_difference_when_powered():
    r = analyze([ArmData("v1", P(200_000, 46_000)), ArmData("v2", P(200_000, 46_100))])
    assert r.decision.action == "no_difference" and r.decision.headline == "no meaningful difference"


def test_control_wins_when_every_other_arm_is_worse():
    r = analyze([ArmData("v3", P(1000, 380)), ArmData("v1", P(1000, 230))])
    assert (r.decision.action, r.decision.arm) == ("ship", "v3")


def test_a_guardrail_breach_blocks_the_ctr_winner():
    arms = [ArmData("v1", P(5000, 1150), {"dismissals": 250}),
            ArmData("v2", P(5000, 1550), {"dismissals": 600}),
            ArmData("v3", P(5000, 1400), {"dismissals": 240})]
    r = analyze(arms)
    assert [g.worse for g in r.guardrails] == [True, False]
    assert (r.decision.action, r.decision.arm) == ("ship", "v3")
    assert any("v2 makes dismissals worse" in x for x in r.decision.reasons)


def test_control_option_and_bad_options():
    r = analyze(SEED_ARMS, Options(control="v2"))
    assert r.control == "v2" and {c.variant for c in r.comparisons} == {"v1", "v3"}
    with pytest.raises(ValueError, match="control 'v9' is not one of the arms: v1, v2, v3"):
        analyze(SEED_ARMS, Options(control="v9"))
    with pytest.raises(ValueError, match="an experiment needs at least 2 arms"):
        analyze(SEED_ARMS[:1])


def test_corrections_change_adjusted_p_only():
    holm, bh, none = (analyze(SEED_ARMS, Options(correction=c)) for c in ("holm", "bh", "none"))
    assert [c.p_value for c in holm.comparisons] == [c.p_value for c in none.comparisons]
    assert all(h.p_value_adjusted >= b.p_value_adjusted >= n.p_value_adjusted
               for h, b, n in zip(holm.comparisons, bh.comparisons, none.comparisons, strict=True))


def test_sequential_mode_is_more_conservative():
    arms = [ArmData("v1", P(3000, 690)), ArmData("v2", P(3000, 760))]
    fixed, seq = analyze(arms), analyze(arms, Options(mode="sequential"))
    assert seq.comparisons[0].p_value > fixed.comparisons[0].p_value
    f, s = fixed.comparisons[0], seq.comparisons[0]
    assert s.abs_diff_ci_high - s.abs_diff_ci_low > f.abs_diff_ci_high - f.abs_diff_ci_low
    assert seq.sequential_tuning == 5000 and fixed.sequential_tuning is None


def test_p_best_is_stable_to_half_a_point():
    stats_ = [a.stat for a in SEED_ARMS[:2]] + [P(1000, 315)]
    names = ["v1", "v2", "v2b"]
    a, b = best_arm(names, stats_, seed=1), best_arm(names, stats_, seed=2)
    for n in names:
        assert abs(a.p_best[n] - b.p_best[n]) < 0.005
    assert abs(sum(a.p_best.values()) - 1) < 1e-12


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


def test_segments_are_corrected_and_heterogeneity_is_tested():
    overall = [ArmData("v1", P(20_000, 4600)), ArmData("v3", P(20_000, 6200))]
    segments = {
        "ios": [ArmData("v1", P(10_000, 2300)), ArmData("v3", P(10_000, 3800))],
        "android": [ArmData("v1", P(10_000, 2300)), ArmData("v3", P(10_000, 2400))],
    }
    r = analyze(overall, segments=segments)
    by_seg = {c.segment: c for c in r.segments}
    assert by_seg["ios"].significant and not by_seg["android"].significant
    assert by_seg["android"].p_value_adjusted >= by_seg["android"].p_value
    assert r.heterogeneity[0].differs and r.heterogeneity[0].p_value < 1e-6
    same = {"a": segments["ios"], "b": [ArmData("v1", P(10_000, 2310)), ArmData("v3", P(10_000, 3790))]}
    assert not analyze(overall, segments=same).heterogeneity[0].differs
