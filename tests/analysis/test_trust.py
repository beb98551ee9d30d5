"""A statistic never claims certainty it does not have: zero variance, zero data, a fixed test read early."""

import pytest

from analysis.engine import analyze
from analysis.options import Options
from analysis.statistics import ArmData, RatioStatistic
from analysis.statistics import ProportionStatistic as P

# 0/50 happens about 60 % of the time at a 1 % CTR.
THIN = [ArmData("control", P(10_000, 100)), ArmData("new", P(50, 0))]


@pytest.mark.parametrize("mode", ["fixed", "sequential"])
def test_a_zero_variance_arm_is_not_enough_data_in_either_mode(mode):
    r = analyze(THIN, Options(weights=(0.995, 0.005), mode=mode))
    (c,) = r.comparisons
    assert c.enough_data is False and c.significant is False
    # Every unpooled-variance statistic is withheld, never a certainty such as p = 9.4e-21 or a CI of [-1, -1].
    assert c.chance_to_win is None
    assert c.rel_lift_ci_low is None and c.rel_lift_ci_high is None
    assert c.abs_diff_ci_low is None and c.abs_diff_ci_high is None
    if mode == "sequential":
        assert c.p_value is None and c.p_value_adjusted is None  # withheld, not a "1.0" it does not have
    else:
        assert c.p_value == pytest.approx(0.477, abs=1e-3)  # the pooled test is still reported
    assert (r.decision.action, r.decision.arm) == ("keep_running", None)
    assert r.decision.headline == "keep running (not enough data)"
    assert any("not enough data for new vs control" in x for x in r.decision.reasons)
    assert any("not enough data" in n and "zero variance" in n for n in r.notes)
    r.to_dict()  # still plain JSON (no NaN)


def test_a_zero_variance_arm_blocks_a_winner_elsewhere():
    arms = [ArmData("v1", P(5000, 1150)), ArmData("v2", P(5000, 1500)), ArmData("v3", P(40, 0))]
    r = analyze(arms, Options(weights=(0.5, 0.495, 0.005)))
    assert r.comparisons[0].significant and not r.comparisons[1].enough_data
    assert r.decision.action == "keep_running"


def test_zero_variance_user_level_data_is_refused_too():
    # Every user clicked every impression: the delta-method variance is zero.
    flat = RatioStatistic(users=30, clicks=60, clicks_sq=120.0, impressions=60, impressions_sq=120.0,
                          clicks_x_impressions=120.0)
    spread = RatioStatistic(users=3000, clicks=700, clicks_sq=900.0, impressions=3000, impressions_sq=3000.0,
                            clicks_x_impressions=900.0)
    r = analyze([ArmData("c", spread), ArmData("t", flat)], Options(weights=(0.99, 0.01), mode="sequential"))
    (c,) = r.comparisons
    assert not c.enough_data and c.p_value is None and c.chance_to_win is None
    assert r.decision.action == "keep_running"


def test_zero_data_says_there_is_no_data():
    r = analyze([ArmData("v1", P(0, 0)), ArmData("v2", P(0, 0))])
    assert r.decision.action == "keep_running" and r.decision.headline == "keep running (no data yet)"
    assert "there is no data" in r.decision.reasons[0]
    assert not any("would have been detected" in x for x in r.decision.reasons)


def test_fixed_mode_is_not_read_before_the_planned_sample_size():
    # About day 1 of the shipped experiment: V3 already looks better, but the plan asks for 6,582 per arm.
    arms = [ArmData("v1", P(1000, 230)), ArmData("v2", P(1000, 310)), ArmData("v3", P(1000, 380))]
    assert analyze(arms).decision.action == "ship"  # without a plan, as `analyze FILE` does
    r = analyze(arms, Options(planned_n_per_arm=6582))
    assert r.decision.action == "keep_running" and r.decision.more_units_per_arm == 5582
    assert r.decision.headline == "keep running (1,000 of 6,582 impressions per arm)"
    text = " ".join(r.decision.reasons)
    assert "inflates false positives" in text and "sequential" in text and "not acted on" in text
    # Sequential mode is valid at any look, and a fixed test at its planned size is read as before.
    assert analyze(arms, Options(planned_n_per_arm=6582, mode="sequential")).decision.action == "ship"
    assert analyze(arms, Options(planned_n_per_arm=1000)).decision.arm == "v3"


def test_a_withheld_per_user_comparison_withholds_its_p_value_in_fixed_mode_too():
    """Issue 21: the per-user (unpooled) test has no p-value without variance; it used to report 1.0."""
    flat = RatioStatistic(users=30, clicks=0, clicks_sq=0.0, impressions=60, impressions_sq=120.0,
                          clicks_x_impressions=0.0)
    spread = RatioStatistic(users=3000, clicks=700, clicks_sq=900.0, impressions=3000, impressions_sq=3000.0,
                            clicks_x_impressions=900.0)
    r = analyze([ArmData("c", spread), ArmData("t", flat)], Options(weights=(0.99, 0.01)))
    (c,) = r.comparisons
    assert not c.enough_data and c.p_value is None and c.p_value_adjusted is None and not c.significant
    data = r.to_dict()["comparisons"][0]
    assert data["p_value"] is None and data["p_value_adjusted"] is None
