"""The decision policy, seen through ``analyze``: ship, keep running, no difference, invalid (SRM)."""

from analysis.engine import analyze
from analysis.options import Options
from analysis.statistics import ArmData
from analysis.statistics import ProportionStatistic as P

SEED_ARMS = [ArmData("v1", P(1000, 230)), ArmData("v2", P(1000, 310)), ArmData("v3", P(1000, 380))]


def test_the_seed_figures_ship_v3_with_reasons():
    r = analyze(SEED_ARMS)
    assert (r.decision.action, r.decision.arm, r.decision.headline) == ("ship", "v3", "ship v3")
    assert r.decision.reasons[0].startswith("v3 beats v1: CTR 38.00% vs 23.00%, lift +65.2%")
    assert r.bayes.p_best["v3"] > 0.99
    assert r.unit == "impression" and "pooled two-proportion" in r.variance_method


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
