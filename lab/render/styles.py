"""The animation styles, as data: one ``StyleSpec`` per style says its timing, its background look and which
overlay effects it has. ``overlay/`` and ``motion.py`` hold the drawing code and read the spec.

Adding a style is one entry in ``STYLE_SPECS`` (the variant schema, the CLI and the studio derive their lists
from it); only a style that needs an effect no style has yet also touches ``overlay/`` or ``motion.py``.

Pure data and stdlib only: the variant library (a lower layer) imports ``STYLES`` from here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

RGB = tuple[int, int, int]
# Easing curves for the move, by name; overlay/easing.py maps each name to its function.
# "spring": a damped spring that overshoots and settles; "time_ramp": fast, then half the leap at a quarter speed
# through the overtake (0.5 s of a 1 s leap), then fast into the impact, as a speed-ramped replay does.
Easing = Literal["out_cubic", "in_out_cubic", "in_out_sine", "spring", "time_ramp"]


# Timing every style shares (seconds): the end card lasts at least END_CARD_MIN_S, and the rank flies into it
# over TRANSITION_S. The variant schema checks a designer's beats against them, so they live here, in the data.
END_CARD_MIN_S = 0.75
TRANSITION_S = 0.4
HOLD_MIN_S = 0.4  # the new rank stays readable at least this long before it flies into the end card


@dataclass(frozen=True)
class BeatSheet:
    """When each beat starts (seconds of a 3-4 s video; a shorter one scales them by duration / 3) and how hard
    the impact hits.

    anticipation: the rows slide in and the user's row winds up (dips) -> leap: it springs up past the rival
    -> impact: the big new rank punches in (``punch_scale`` -> 100 %) with a flash, a zoom punch, a shake and a
    burst -> hold (alive: confetti, glints, a shine across the rank) -> the rank flies into the end card.
    A variant may override the fields named in ``MOTION_KNOBS`` (``Variant.beats``)."""

    anticipation: float = 0.15
    leap: float = 0.45
    impact: float = 1.0
    leap_easing: Easing = "spring"
    punch_s: float = 0.28  # the new rank's punch_scale -> 100 % settle
    punch_scale: float = 1.5
    rewind: float = 0.0  # comeback replay: the climb plays, rewinds fast from here, then replays (0 = none)
    rewind_s: float = 0.0  # how long the rewind takes
    beat_hz: float = 0.0  # a pulse on the beat (the callout, the button and the drum track), 0 = none
    hold_s: float | None = None  # impact -> the rank's flight into the end card (None: the end card's default start)
    flash: float = 0.35  # full-frame flash at the impact: how far the background lifts toward white
    zoom: float = 1.03  # the background's zoom punch at the impact (1 = none)
    shake: float = 3.0  # camera shake at the impact, px at 480p
    particles: float = 1.0  # factor on every spark, confetti and firework
    particle_colour: str | None = None  # "#RRGGBB" for the sparks and confetti (None: the brand accent)
    sound_db: float = 0.0  # the track's level against the lab's -16 LUFS (the true-peak limiter still applies)

    def with_impact(self, impact: float) -> BeatSheet:
        """The same beats with the impact moved: the wind-up, the leap and a rewind keep their proportions."""
        k = impact / self.impact
        return replace(self, anticipation=self.anticipation * k, leap=self.leap * k, impact=impact,
                       rewind=self.rewind * k, rewind_s=self.rewind_s * k)


@dataclass(frozen=True)
class Knob:
    """One beat a variant may override (``motion:`` in its YAML): its range, for the schema and the studio."""

    field: str  # the BeatSheet field it sets
    low: float
    high: float
    unit: str
    help: str


# The variant's ``motion`` block: key -> what it overrides. The schema validates against these ranges and the
# studio's sliders read them; ``particle_colour`` (a #RRGGBB colour) is the one that is not a number.
MOTION_KNOBS: dict[str, Knob] = {
    "impact_s": Knob("impact", 0.5, 2.0, "s", "when the new rank lands"),
    "punch_scale": Knob("punch_scale", 1.0, 2.5, "x", "how big the rank is as it lands, settling to 100 %"),
    "hold_s": Knob("hold_s", HOLD_MIN_S, 3.0, "s", "from the impact until the rank flies into the end card"),
    "particles": Knob("particles", 0.0, 3.0, "x", "amount of sparks, confetti and fireworks"),
    "shake": Knob("shake", 0.0, 24.0, "px", "camera shake at the impact (pixels at 480p)"),
    "sound_db": Knob("sound_db", -24.0, 0.0, "dB", "sound level against -16 LUFS"),
}
MOTION_COLOUR_KEY = "particle_colour"


def beats_for(style: str, motion: dict[str, object] | None = None) -> BeatSheet:
    """The style's beat sheet with a variant's ``motion`` overrides applied (keys of MOTION_KNOBS, and
    ``particle_colour``); the values were validated by the variant schema."""
    beats = STYLE_SPECS[style].beats
    motion = motion or {}
    if "impact_s" in motion:
        beats = beats.with_impact(float(motion["impact_s"]))  # type: ignore[arg-type]
    changes: dict[str, object] = {MOTION_KNOBS[k].field: v for k, v in motion.items() if k in MOTION_KNOBS
                                  and k != "impact_s"}
    if MOTION_COLOUR_KEY in motion:
        changes["particle_colour"] = motion[MOTION_COLOUR_KEY]
    return replace(beats, **changes)  # type: ignore[arg-type]


def end_card_start(beats: BeatSheet, duration: float) -> float:
    """Where the end card starts in a video of ``duration`` seconds as configured (before any scaling for a
    degraded, shorter video): after the hold and the flight, or by default at its usual place."""
    if beats.hold_s is not None:
        return beats.impact + beats.hold_s + TRANSITION_S
    return duration - max(END_CARD_MIN_S, 0.25 * duration)


def check_beats(beats: BeatSheet, duration: float) -> str | None:
    """Why these beats do not fit a video of ``duration`` seconds, or None when they do."""
    end = end_card_start(beats, duration)
    if end > duration - END_CARD_MIN_S + 1e-9:
        return (f"the impact at {beats.impact:g} s, a hold of {end - beats.impact - TRANSITION_S:g} s and the "
                f"{TRANSITION_S:g} s flight leave the end card {duration - end:.2f} s of the {duration:g} s video; "
                f"it needs at least {END_CARD_MIN_S:g} s")
    if beats.impact + HOLD_MIN_S + TRANSITION_S > end + 1e-9:
        return (f"the impact at {beats.impact:g} s lands too close to the end card at {end:.2f} s; the rank needs "
                f"{HOLD_MIN_S:g} s on screen and {TRANSITION_S:g} s to fly into it")
    return None


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
    drift: float = 0.0  # the camera's slow push-in over the video (0.05 = 5 % closer by the end)


@dataclass(frozen=True)
class Banner:
    """A text label over the board."""

    word: Literal["welcome", "replay", "rewind"]  # key of the text in ``overlay.words.WORDS``
    size: int = 18  # text size at scale 1
    on_accent: bool = False  # on the brand accent (else on translucent black)
    shows: Literal["always", "from_impact", "rewind"] = "always"  # pops in at the impact / only while rewinding
    centred_in_portrait: bool = False  # centred in a portrait frame (else aligned with the board)


@dataclass(frozen=True)
class StyleSpec:
    """Everything that differs between styles; overlay/ and motion.py read it and hold the drawing code."""

    background: BackgroundLook
    beats: BeatSheet
    motion_blur: bool = False  # a vertical smear of the user's row behind it while it leaps (text stays sharp)
    rival_ghost: bool = False  # the overtaken rival stays sharp, then blurs to a ghost and leaves the frame
    rival_exit_lead: float = 0.25  # ... starting this long before the impact (f18 of a 24 fps impact at f24)
    rival_exit_s: float = 4 / 24  # ... in this long (4 frames at 24 fps), with a whoosh
    shield: bool = False  # a solid brand-coloured shield holding the rank drops in and slams down at the impact
    letterbox: bool = False  # cinema bars at the top and bottom, on the end card too
    banner: Banner | None = None
    spark_speed: float = 1.0  # factor on the impact burst's speed
    spark_life: float = 0.9  # seconds a spark lives, at most
    spark_gravity: float = 260  # pull on every spark, px/s² at scale 1 (0 = they float)
    spark_time: float = 1.0  # the sparks' clock rate (0.35 = slow motion)
    fireworks: bool = False  # colour bursts in the frame's corners, one after another
    falling_sparks: bool = False  # sparks drifting down from the top all through the video
    confetti: int = 10  # confetti pieces falling through the hold (at particles 1.0)
    rays: float = 24.0  # light rays turning slowly behind the rank through the hold (luma levels; 0 = none)
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
                                  line_speed=1.6, tint="primary", tint_amount=0.45, drift=0.05),
        beats=BeatSheet(anticipation=0.1, leap=0.4, impact=0.8, punch_s=0.3, punch_scale=1.8, flash=0.4,
                        zoom=1.06, shake=5.0),
        motion_blur=True, spark_speed=2.4, confetti=30, rays=26, sound="whoosh_impact",
    ),
    "slow_motion_celebration": StyleSpec(
        background=BackgroundLook((28, 18, 10), (40, 26, 8), sweep_speed=0.35, sweep_strength=34, bokeh=24,
                                  tint="accent", tint_amount=0.45, hue_drift=14, drift=0.04),
        beats=BeatSheet(anticipation=0.1, leap=0.25, impact=1.25, leap_easing="time_ramp", punch_s=0.45,
                        punch_scale=1.5, flash=0.25, zoom=1.04, shake=0.0),
        letterbox=True, banner=Banner("replay"), spark_life=1.6, spark_gravity=0, spark_time=0.4,
        falling_sparks=True, confetti=0, rays=30, sound="swell_chime",
    ),
    "rival_ghost_exit": StyleSpec(
        background=BackgroundLook((24, 14, 44), (120, 60, 40), sweep_speed=0.5, sweep_strength=34, lines=6,
                                  line_speed=0.8, bokeh=8, tint="accent", tint_amount=0.35, drift=0.04),
        beats=BeatSheet(anticipation=0.15, leap=0.45, impact=1.0, punch_scale=1.6, flash=0.25, zoom=1.04, shake=3.0),
        rival_ghost=True, spark_speed=1.6, confetti=14, rays=26, sound="ghost_whoosh",
    ),
    "shield_hold": StyleSpec(
        background=BackgroundLook((8, 22, 44), (16, 54, 70), sweep_speed=0.55, sweep_strength=40, bokeh=16,
                                  pulse=0.1, tint="primary", tint_amount=0.35, drift=0.04),
        beats=BeatSheet(anticipation=0.15, leap=0.5, impact=1.0, punch_s=0.3, punch_scale=1.25, flash=0.3,
                        zoom=1.05, shake=12.0),
        shield=True, spark_speed=1.4, confetti=16, rays=48, sound="thud",
    ),
    "fireworks_welcome": StyleSpec(
        background=BackgroundLook((4, 6, 20), (18, 20, 52), sweep_speed=0.3, sweep_strength=20, stars=180,
                                  hue_drift=8, drift=0.03),
        beats=BeatSheet(anticipation=0.15, leap=0.4, impact=1.0, punch_scale=1.6, flash=0.25, zoom=1.04, shake=3.0),
        banner=Banner("welcome", size=68, on_accent=True, shows="from_impact", centred_in_portrait=True),
        fireworks=True, spark_speed=1.6, confetti=0, rays=0, sound="fireworks",
    ),
    "comeback_replay": StyleSpec(
        background=BackgroundLook((30, 8, 16), (60, 20, 10), sweep_speed=0.5, sweep_strength=24, lines=14,
                                  line_speed=0.9, pulse=0.08, tint="primary", tint_amount=0.3, hue_drift=14,
                                  drift=0.04),
        beats=BeatSheet(anticipation=0.08, leap=0.16, impact=1.0, rewind=0.42, rewind_s=0.3, beat_hz=2.0,
                        punch_s=0.25, punch_scale=1.6, flash=0.3, zoom=1.05, shake=6.0),
        banner=Banner("rewind", size=22, shows="rewind"), spark_speed=1.8, confetti=16, rays=24, sound="drums",
    ),
}

Style = Literal["fast_sprint", "slow_motion_celebration", "rival_ghost_exit", "shield_hold", "fireworks_welcome",
                "comeback_replay"]
STYLES: tuple[str, ...] = tuple(STYLE_SPECS)
assert STYLES == get_args(Style), "Style must list the keys of STYLE_SPECS, in order"
