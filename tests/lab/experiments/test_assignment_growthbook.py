"""Bucket for bucket against the ``growthbook`` package itself (its own hash, ranges and choice)."""

import pytest

growthbook_core = pytest.importorskip("growthbook.core", reason="the growthbook package is a dev dependency")

from lab.experiments.assignment import assign, bucket_ranges, choose, gb_hash  # noqa: E402

IDS = ["u-1", "小明", "李雷-42", "José", "Zoë_ß", "🏃‍♀️runner", "emoji-🎉🎉", "👨‍👩‍👧", "ĳ-𝕏-𝟘", "مريم", "a" * 64]
WEIGHTS = [[0.7, 0.2, 0.1], [0.5, 0.5], [0.34, 0.33, 0.33], [0.1, 0.2, 0.3, 0.4], [0.995, 0.005]]


def _sdk_arm(seed: str, uid: str, weights: list[float]) -> int:
    n = growthbook_core.gbhash(seed, uid, 2)
    return growthbook_core.chooseVariation(n, growthbook_core.getBucketRanges(len(weights), 1, weights))


@pytest.mark.parametrize("weights", WEIGHTS, ids=str)
def test_same_bucket_as_the_growthbook_package(weights):
    arms = [f"arm{i}" for i in range(len(weights))]
    assert bucket_ranges(weights) == growthbook_core.getBucketRanges(len(weights), 1, weights)
    uids = IDS + [f"user-{i}" for i in range(3000)] + [f"名字{i}🙂" for i in range(1000)]
    for seed in ("seed-v1-v2-v3", "exp-🎯", "实验"):
        for uid in uids:
            assert gb_hash(seed, uid) == growthbook_core.gbhash(seed, uid, 2), (seed, uid)
            arm, _ = assign(seed, uid, arms, weights)
            assert arm == arms[_sdk_arm(seed, uid, weights)], (seed, uid)


def test_a_hash_exactly_on_a_boundary_goes_where_the_sdk_puts_it():
    # 0.7 + 0.2 + 0.1 is 0.9999999999999999; dividing by it moved the 0.7 boundary up by one rounding step.
    weights, arms = [0.7, 0.2, 0.1], ["a", "b", "c"]
    on_boundary = [u for u in (f"user-{i}" for i in range(60000)) if gb_hash("boundary", u) == 0.7]
    assert on_boundary, "no id hashed exactly onto 0.7 in the search range"
    for uid in on_boundary:
        assert _sdk_arm("boundary", uid, weights) == 1
        assert assign("boundary", uid, arms, weights)[0] == "b"


def test_weights_off_by_more_than_the_sdk_tolerance_fall_back_to_equal_weights():
    assert bucket_ranges([0.5, 0.6]) == growthbook_core.getBucketRanges(2, 1, [0.5, 0.6]) == [(0.0, 0.5), (0.5, 1.0)]
    assert bucket_ranges([0.6, 0.395]) == [(0.0, 0.6), (0.6, 0.995)]  # within tolerance: used as given
    assert choose(0.997, bucket_ranges([0.6, 0.395])) == -1


def test_utf16_is_the_default_and_codepoint_stays_an_option():
    assert gb_hash("exp", "🏃") == gb_hash("exp", "🏃", unit="utf16") == growthbook_core.gbhash("exp", "🏃", 2)
    assert gb_hash("exp", "🏃", unit="codepoint") != gb_hash("exp", "🏃")
