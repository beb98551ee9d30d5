"""A beat sheet placed in one video: the seconds at which each beat happens, for the pictures and the sound."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lab.render.styles import END_CARD_MIN_S, STYLE_SPECS, TRANSITION_S, BeatSheet

DIP = 0.15  # the anticipation: the user's row winds down this many slots before it leaps


@dataclass(frozen=True)
class Timeline:
    """A style's beat sheet placed in one video: seconds from the start."""

    duration: float
    anticipation: float
    leap: float
    impact: float
    transition: float  # the rank starts flying into the end card; the board leaves
    end_card: float  # from here on: the end card, over the live background
    rewind: float  # 0: no rewind
    rewind_end: float
    punch_s: float
    k: float  # how much the beats were scaled to fit this video (1 as written)
    beats: BeatSheet

    @property
    def flight_s(self) -> float:
        """How long the rank flies into the end card (TRANSITION_S, less in a very short video)."""
        return self.end_card - self.transition

    @property
    def intro_end(self) -> float:
        return self.anticipation + 0.15

    @property
    def move_start(self) -> float:
        return self.leap

    @property
    def move_end(self) -> float:
        return self.impact

    @property
    def overtake(self) -> float:
        return (self.leap + self.impact) / 2

    def firework_times(self) -> list[float]:
        """When each firework bursts (the crackles in the sound come at the same times): before the flight."""
        times = [self.impact - 0.3 * self.k, self.impact + 0.1 * self.k, self.impact + 0.55 * self.k,
                 self.impact + 1.0 * self.k]
        return [t for t in times if t < self.transition - 0.1]


def timeline(beats: BeatSheet | str, duration: float, fps: int | None = None) -> Timeline:
    """Beats of a 3-4 s video as written; a shorter video (2 s at the degrade level) scales them down so the
    impact still lands before the end card. ``beats``: a beat sheet (``Variant.beats``) or a style's name.
    ``fps``: the impact moves to the first frame at or after it, so that frame shows the punch at its peak."""
    b = STYLE_SPECS[beats].beats if isinstance(beats, str) else beats
    k = min(1.0, duration / 3.0)
    if b.hold_s is not None:
        end_card = min((b.impact + b.hold_s) * k + TRANSITION_S, duration - END_CARD_MIN_S)
    else:
        end_card = duration - max(END_CARD_MIN_S, 0.25 * duration)
    end_card = max(end_card, 0.0)  # a clip under a second is all end card but for a short flight
    transition = end_card - min(TRANSITION_S, max(end_card * 0.4, 0.0))
    k = min(k, max(transition - 0.25, 0.1) / b.impact)
    rewind = b.rewind * k
    impact = b.impact * k
    if fps:
        impact = math.ceil(impact * fps - 1e-6) / fps
    return Timeline(duration, b.anticipation * k, b.leap * k, impact, transition, end_card, rewind,
                    rewind + b.rewind_s * k if rewind else 0.0, b.punch_s * max(k, 0.6), k, b)
