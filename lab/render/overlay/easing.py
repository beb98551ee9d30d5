"""Easing curves: how a value travels from 0 to 1. A beat sheet names its leap's curve (``styles.Easing``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lab.render.styles import Easing


def clamp01(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def ease_out_cubic(x: float) -> float:
    x = clamp01(x)
    return 1 - (1 - x) ** 3


def ease_in_cubic(x: float) -> float:
    return clamp01(x) ** 3


def ease_in_out_cubic(x: float) -> float:
    x = clamp01(x)
    return 4 * x**3 if x < 0.5 else 1 - (-2 * x + 2) ** 3 / 2


def ease_out_back(x: float, c1: float = 1.70158) -> float:
    x = clamp01(x)
    return 1 + (c1 + 1) * (x - 1) ** 3 + c1 * (x - 1) ** 2


def ease_in_out_sine(x: float) -> float:
    return -(math.cos(math.pi * clamp01(x)) - 1) / 2


def spring(x: float) -> float:
    """Leaps fast, overshoots by about 17 % and settles exactly at 1 when x = 1 (the impact)."""
    return ease_out_back(x, 2.2)


# The speed ramp's profile: full speed, a quarter speed from 25 % to 80 % of the leap (over half a second of slow
# motion in V2's 1 s leap), full speed into the impact; integrated once into a table.
_RAMP_X = np.linspace(0.0, 1.0, 2049)
_RAMP_SPEED = 1 - 0.75 * np.clip(np.minimum((_RAMP_X - 0.2) / 0.05, (0.85 - _RAMP_X) / 0.05), 0, 1)
_RAMP = np.concatenate([[0.0], np.cumsum((_RAMP_SPEED[1:] + _RAMP_SPEED[:-1]) / 2)])
_RAMP /= _RAMP[-1]


def time_ramp(x: float) -> float:
    """Speed ramp: fast, then a quarter speed through the overtake (25-80 % of the leap), then fast again."""
    return float(np.interp(clamp01(x), _RAMP_X, _RAMP))


# A beat sheet's leap_easing names one of these.
EASINGS: dict[Easing, Callable[[float], float]] = {"out_cubic": ease_out_cubic, "in_out_cubic": ease_in_out_cubic,
                                                   "in_out_sine": ease_in_out_sine, "spring": spring,
                                                   "time_ramp": time_ramp}


def punch(x: float, peak: float = 1.4) -> float:
    """The new rank's scale: ``peak`` at the impact, 1.0 a third of the way on, a small undershoot, then 1.0."""
    x = clamp01(x)
    return 1 + (peak - 1) * math.exp(-4 * x) * math.cos(1.5 * math.pi * x)
