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
Easing = Literal["out_cubic", "in_out_cubic", "in_out_sine"]


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


@dataclass(frozen=True)
class Banner:
    """A text label over the board."""

    word: Literal["welcome", "replay"]  # key of the text in ``overlay.WORDS``
    size: int = 18  # text size at scale 1
    on_accent: bool = False  # on the brand accent (else on translucent black)
    pops_in: bool = False  # pops in as the move starts (else fades in with the intro)
    centred_in_portrait: bool = False  # centred in a portrait frame (else aligned with the board)


@dataclass(frozen=True)
class StyleSpec:
    """Everything that differs between styles; overlay.py and motion.py read it and hold the drawing code."""

    background: BackgroundLook
    move_seconds: float  # how long the overtaking move takes (shortened to fit a short video)
    move_easing: Easing = "in_out_cubic"
    motion_trail: bool = False  # fading copies of the user's row behind it while it moves
    rival_ghost: bool = False  # the overtaken rival fades to a ghost and drifts out to the side
    shield: bool = False  # a shield beside a defended rank
    letterbox: bool = False  # cinema bars at the top and bottom
    banner: Banner | None = None
    spark_speed: float = 1.0  # factor on the overtake burst's speed
    spark_life: float = 0.9  # seconds a spark lives, at most
    spark_gravity: float = 260  # pull on every spark, px/s² at scale 1 (0 = they float)
    fireworks: bool = False  # three more bursts high on the screen, one after another
    falling_sparks: bool = False  # sparks drifting down from the top all through the video


STYLE_SPECS: dict[str, StyleSpec] = {
    "fast_sprint": StyleSpec(
        background=BackgroundLook((10, 16, 34), (10, 16, 34), sweep_speed=0.9, sweep_strength=34, lines=26,
                                  line_speed=1.6, tint="primary", tint_amount=0.45),
        move_seconds=0.45, move_easing="out_cubic", motion_trail=True, spark_speed=1.4,
    ),
    "slow_motion_celebration": StyleSpec(
        background=BackgroundLook((28, 18, 10), (40, 26, 8), sweep_speed=0.2, sweep_strength=22, bokeh=26,
                                  tint="accent", tint_amount=0.45),
        move_seconds=1.5, move_easing="in_out_sine", letterbox=True, banner=Banner("replay"), spark_life=1.6,
        spark_gravity=0, falling_sparks=True,
    ),
    "rival_ghost_exit": StyleSpec(
        background=BackgroundLook((24, 14, 44), (120, 60, 40), sweep_speed=0.35, sweep_strength=26, lines=10,
                                  line_speed=0.6, bokeh=8, tint="accent", tint_amount=0.35),
        move_seconds=0.9, rival_ghost=True,
    ),
    "shield_hold": StyleSpec(
        background=BackgroundLook((8, 22, 44), (16, 54, 70), sweep_speed=0.15, sweep_strength=14, bokeh=10,
                                  pulse=0.06, tint="primary", tint_amount=0.35),
        move_seconds=0.9, shield=True,
    ),
    "fireworks_welcome": StyleSpec(
        background=BackgroundLook((4, 6, 20), (18, 20, 52), sweep_speed=0.1, sweep_strength=8, stars=140),
        move_seconds=0.8,
        banner=Banner("welcome", size=34, on_accent=True, pops_in=True, centred_in_portrait=True),
        fireworks=True,
    ),
}

Style = Literal["fast_sprint", "slow_motion_celebration", "rival_ghost_exit", "shield_hold", "fireworks_welcome"]
STYLES: tuple[str, ...] = tuple(STYLE_SPECS)
assert STYLES == get_args(Style), "Style must list the keys of STYLE_SPECS, in order"
