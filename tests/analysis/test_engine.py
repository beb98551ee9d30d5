"""The orchestration: the result's JSON, degenerate data, options, corrections, modes and segments."""

import json

import pytest

from analysis.bayesian import best_arm
from analysis.engine import analyze
from analysis.options import Options
from analysis.statistics import ArmData
from analysis.statistics import ProportionStatistic as P

SEED_ARMS = [ArmData("v1", P(1000, 230)), ArmData("v2", P(1000, 310)), ArmData("v3", P(1000, 380))]


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
