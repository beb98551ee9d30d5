"""Deterministic assignment, bucket for bucket the same as GrowthBook's SDKs (hash version 2).

``hash = (fnv1a32(str(fnv1a32(seed + id))) % 10000) / 10000``, then the traffic weights become
consecutive ranges on [0, 1) and the first range holding the hash is the arm. A team already bucketing
users with GrowthBook gets the same arms for the same seed, ids and weights.

Non-ASCII ids: FNV-1a runs over one value per character. ``unit="utf16"`` (the default) takes UTF-16
code units, as the JavaScript SDK (``charCodeAt``) and the ``growthbook`` Python package 4.x do;
``unit="codepoint"`` takes Unicode code points (``ord(c)``), as older Python SDKs did. The two agree for
every character up to U+FFFF (CJK and accented names included) and differ only past it (most emoji), where
UTF-16 has two surrogates.

Weights are used as given, never divided by their sum: dividing moves a range boundary by a rounding step
(``[0.7, 0.2, 0.1]`` sums to 0.9999999999999999), and a user hashed exactly onto it would change arm. As in
the SDKs, weights summing outside 0.99-1.01 fall back to equal weights; experiment specs refuse them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lab.library.events import check_user_id

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


def _units(text: str, unit: str) -> list[int]:
    if unit == "codepoint":
        return [ord(c) for c in text]
    if unit == "utf16":
        data = text.encode("utf-16-le", "surrogatepass")
        return [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]
    raise ValueError(f"unit must be 'codepoint' or 'utf16', got {unit!r}")


# The SDKs' tolerance on the weight sum; outside it they bucket on equal weights.
WEIGHT_SUM_MIN = 0.99
WEIGHT_SUM_MAX = 1.01
DEFAULT_UNIT = "utf16"


def fnv1a32(text: str, unit: str = DEFAULT_UNIT) -> int:
    h = FNV_OFFSET
    for u in _units(text, unit):
        h ^= u
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def gb_hash(seed: str, value: str, version: int = 2, unit: str = DEFAULT_UNIT) -> float | None:
    """GrowthBook's bucketing hash in [0, 1); None for an unknown hash version (as the SDKs return)."""
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value, unit)), unit) % 10000) / 10000
    if version == 1:
        return (fnv1a32(value + seed, unit) % 1000) / 1000
    return None


def bucket_ranges(weights: Sequence[float], coverage: float = 1.0) -> list[tuple[float, float]]:
    """Consecutive [start, end) ranges, one per arm, exactly as GrowthBook's ``getBucketRanges``: the
    weights as given, equal weights when they are not a valid split (negative, or a sum outside 0.99-1.01)."""
    coverage = min(max(coverage, 0.0), 1.0)
    valid = (len(weights) > 0 and all(math.isfinite(w) and w >= 0 for w in weights)
             and WEIGHT_SUM_MIN <= sum(weights) <= WEIGHT_SUM_MAX)
    used = list(weights) if valid else [1 / len(weights) for _ in weights]
    ranges, cumulative = [], 0.0
    for w in used:
        start = cumulative
        cumulative += w
        ranges.append((start, start + coverage * w))
    return ranges


def choose(hash_value: float, ranges: Sequence[tuple[float, float]]) -> int:
    """Index of the range holding the hash, or -1 when the user falls outside every range."""
    for i, (start, end) in enumerate(ranges):
        if start <= hash_value < end:
            return i
    return -1


def assign(seed: str, user_id: str, arms: Sequence[str], weights: Sequence[float], unit: str = DEFAULT_UNIT
           ) -> tuple[str | None, float]:
    """The arm for a user (None if outside coverage) and the user's hash.

    The id is checked first (``check_user_id``): an empty one would put every anonymous user in one arm.
    """
    h = gb_hash(seed, check_user_id(user_id, "user id"), 2, unit)
    i = choose(h, bucket_ranges(weights))
    return (arms[i] if i >= 0 else None), h
