"""GrowthBook-compatible bucketing: the published hash vectors, ranges, and non-ASCII ids."""

from collections import Counter

import pytest

from lab.experiments.assignment import assign, bucket_ranges, choose, fnv1a32, gb_hash
from tests.conftest import shared_cases


@pytest.mark.parametrize("vector", shared_cases("assignment_hash_vectors.json"))
def test_growthbook_hash_vectors(vector):
    seed, value, version, expected = vector
    assert gb_hash(seed, value, version) == expected


def test_fnv1a_known_value():
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C  # the FNV-1a 32-bit test vector


def test_ranges_follow_the_weights():
    assert bucket_ranges([0.5, 0.5]) == [(0.0, 0.5), (0.5, 1.0)]
    assert choose(0.5, bucket_ranges([0.5, 0.5])) == 1
    assert choose(0.4999, bucket_ranges([0.5, 0.5])) == 0
    counts = Counter(assign("exp", f"user-{i}", ["a", "b", "c"], [0.5, 0.25, 0.25])[0] for i in range(20000))
    assert abs(counts["a"] / 20000 - 0.5) < 0.015 and abs(counts["b"] / 20000 - 0.25) < 0.015


def test_assignment_is_deterministic_and_seeded():
    arms, w = ["a", "b"], [0.5, 0.5]
    assert assign("s1", "u-1", arms, w) == assign("s1", "u-1", arms, w)
    flips = sum(assign("s1", f"u{i}", arms, w)[0] != assign("s2", f"u{i}", arms, w)[0] for i in range(1000))
    assert 400 < flips < 600  # another seed is another, independent split


def test_non_ascii_ids_code_points_vs_utf16():
    # Up to U+FFFF (CJK, accents) the Python SDK (code points) and JS SDK (UTF-16 units) agree.
    for uid in ("小明", "José", "李雷-42"):
        assert gb_hash("exp", uid, unit="codepoint") == gb_hash("exp", uid, unit="utf16")
    # Past U+FFFF (most emoji) JavaScript hashes two surrogates, so the buckets differ.
    assert fnv1a32("🏃", "utf16") != fnv1a32("🏃", "codepoint")
    assert fnv1a32("🏃", "utf16") == fnv1a32("\ud83c\udfc3", "codepoint")
