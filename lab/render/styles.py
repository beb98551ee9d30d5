"""The animation styles, as data: one ``StyleSpec`` per style says its timing, its background look and which
overlay effects it has. ``overlay.py`` and ``motion.py`` hold the drawing code and read the spec.

Adding a style is one entry in ``STYLE_SPECS`` (the variant schema, the CLI and the studio derive their lists
from it); only a style that needs an effect no style has yet also touches ``overlay.py`` or ``motion.py``.

Pure data and stdlib only: the variant library (a lower layer) imports ``STYLES`` from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

RGB = tuple[int, int, int]
# Easing curves for the move, by name; overlay.py maps each name to its function.
# "spring": a damped spring that overshoots and settles; "time_ramp": fast, then slow motion through the
# middle (a quarter speed), then fast again, as a speed-ramped replay does.
Easing = Literal["out_cubic", "in_out_cubic", "in_out_sine", "spring", "time_ramp"]


@dataclass(frozen=True)
class BeatSheet:
    """When each beat starts, in seconds of a 3-4 s video (a shorter one scales them by duration / 3).

    anticipation: the rows slide in and the user's row winds up (dips) -> leap: it springs up past the rival
    -> impact: the big new rank punches in (140 % -> 100 %) with a flash ring and a burst -> hold -> the end
    card, over the live background, its button pulsing."""

    anticipation: float = 0.15
    leap: float = 0.45
    impact: float = 1.0
    leap_easing: Easing = "spring"
    punch_s: float = 0.28  # the new rank's 140 % -> 100 % punch
    rewind: float = 0.0  # comeback replay: the climb plays, rewinds fast from here, then replays (0 = none)
    beat_hz: float = 0.0  # a pulse on the beat (the callout, the button and the drum track), 0 = none


@dataclass(frozen=True)
class BackgroundLook:
    """The ``motion`` background's palette and movement (see ``motion.motion_background``)."""

    top: RGB  # gradient colour at the top
    bottom: RGB  # gradient colour at the bottom, before the brand tint
    sweep_speed: float  # sweeps per second
    sweep_strength: float  # luma added at the band's centre
    lines: float = 0  # speed-line strength (0 = none)
    line_speed: float = 0  # widths per second
    bokeh: int = 0  # drifting soft dots
    stars: int = 0  # twinkling stars in the upper three quarters
    pulse: float = 0.0  # global brightness breathing
    tint: Literal["primary", "accent"] | None = None  # brand colour mixed into ``bottom``
    tint_amount: float = 0.0  # 0 = none of the brand colour, 1 = all of it
    hue_drift: float = 10.0  # chroma swing (Cb/Cr units) that circles over time, so the colour moves
    grain: float = 1.5  # film grain (luma levels, peak), against banding in dark gradients


@dataclass(frozen=True)
class Banner:
    """A text label over the board."""

    word: Literal["welcome", "replay", "rewind"]  # key of the text in ``overlay.WORDS``
    size: int = 18  # text size at scale 1
    on_accent: bool = False  # on the brand accent (else on translucent black)
    shows: Literal["always", "from_impact", "rewind"] = "always"  # pops in at the impact / only while rewinding
    centred_in_portrait: bool = False  # centred in a portrait frame (else aligned with the board)


@dataclass(frozen=True)
class StyleSpec:
    """Everything that differs between styles; overlay.py and motion.py read it and hold the drawing code."""

    background: BackgroundLook
    beats: BeatSheet
    motion_blur: bool = False  # a vertical smear of the user's row behind it while it leaps (text stays sharp)
    rival_ghost: bool = False  # the overtaken rival desaturates, blurs and leaves the frame
    shield: bool = False  # a solid brand-coloured shield holding the rank lands with a thud
    letterbox: bool = False  # cinema bars at the top and bottom
    banner: Banner | None = None
    spark_speed: float = 1.0  # factor on the impact burst's speed
    spark_life: float = 0.9  # seconds a spark lives, at most
    spark_gravity: float = 260  # pull on every spark, px/s² at scale 1 (0 = they float)
    spark_time: float = 1.0  # the sparks' clock rate (0.35 = slow motion)
    fireworks: bool = False  # three more colour bursts high on the screen, one after another
    falling_sparks: bool = False  # sparks drifting down from the top all through the video
    sound: Literal["whoosh_impact", "swell_chime", "ghost_whoosh", "thud", "fireworks", "drums"] = "whoosh_impact"

    @property
    def move_seconds(self) -> float:
        """How long the overtaking leap takes: from the leap to the impact."""
        return self.beats.impact - self.beats.leap

    @property
    def move_easing(self) -> Easing:
        return self.beats.leap_easing


STYLE_SPECS: dict[str, StyleSpec] = {
    "fast_sprint": StyleSpec(
        background=BackgroundLook((10, 16, 34), (10, 16, 34), sweep_speed=0.9, sweep_strength=34, lines=26,
                                  line_speed=1.6, tint="primary", tint_amount=0.45),
        beats=BeatSheet(anticipation=0.1, leap=0.4, impact=0.8, punch_s=0.22),
        motion_blur=True, spark_speed=1.5, sound="whoosh_impact",
    ),
    "slow_motion_celebration": StyleSpec(
        background=BackgroundLook((28, 18, 10), (40, 26, 8), sweep_speed=0.2, sweep_strength=22, bokeh=26,
                                  tint="accent", tint_amount=0.45, hue_drift=14),
        beats=BeatSheet(anticipation=0.15, leap=0.3, impact=1.25, leap_easing="time_ramp", punch_s=0.4),
        letterbox=True, banner=Banner("replay"), spark_life=1.6, spark_gravity=0, spark_time=0.4,
        falling_sparks=True, sound="swell_chime",
    ),
    "rival_ghost_exit": StyleSpec(
        background=BackgroundLook((24, 14, 44), (120, 60, 40), sweep_speed=0.35, sweep_strength=26, lines=10,
                                  line_speed=0.6, bokeh=8, tint="accent", tint_amount=0.35),
        beats=BeatSheet(anticipation=0.15, leap=0.45, impact=1.0),
        rival_ghost=True, sound="ghost_whoosh",
    ),
    "shield_hold": StyleSpec(
        background=BackgroundLook((8, 22, 44), (16, 54, 70), sweep_speed=0.15, sweep_strength=14, bokeh=10,
                                  pulse=0.06, tint="primary", tint_amount=0.35),
        beats=BeatSheet(anticipation=0.15, leap=0.5, impact=1.0, punch_s=0.3),
        shield=True, spark_speed=0.7, sound="thud",
    ),
    "fireworks_welcome": StyleSpec(
        background=BackgroundLook((4, 6, 20), (18, 20, 52), sweep_speed=0.1, sweep_strength=8, stars=140,
                                  hue_drift=8),
        beats=BeatSheet(anticipation=0.15, leap=0.4, impact=1.0),
        banner=Banner("welcome", size=34, on_accent=True, shows="from_impact", centred_in_portrait=True),
        fireworks=True, sound="fireworks",
    ),
    "comeback_replay": StyleSpec(
        background=BackgroundLook((30, 8, 16), (60, 20, 10), sweep_speed=0.5, sweep_strength=24, lines=14,
                                  line_speed=0.9, pulse=0.08, tint="primary", tint_amount=0.3, hue_drift=14),
        beats=BeatSheet(anticipation=0.1, leap=0.25, impact=1.3, rewind=0.6, beat_hz=2.0, punch_s=0.25),
        banner=Banner("rewind", size=22, shows="rewind"), spark_speed=1.2, sound="drums",
    ),
}

Style = Literal["fast_sprint", "slow_motion_celebration", "rival_ghost_exit", "shield_hold", "fireworks_welcome",
                "comeback_replay"]
STYLES: tuple[str, ...] = tuple(STYLE_SPECS)
assert STYLES == get_args(Style), "Style must list the keys of STYLE_SPECS, in order"
