"""``Overlay``: one user's overlay over any background of one size and length: the particles (under the text),
the board, the callout, the letterbox. ``draw(frame, t)`` blends it into one yuv420p frame in place; the
compositor (``lab.render.compositor``) adds the camera (flash, zoom, shake) and flies the rank into the end card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lab.library.events import RankEvent
from lab.library.variant import Variant
from lab.render import text as tx
from lab.render.motion import hex_rgb
from lab.render.overlay.beats import Timeline, timeline
from lab.render.overlay.board import Board
from lab.render.overlay.callout import Callout, banner_sprite
from lab.render.overlay.easing import clamp01, ease_in_out_cubic
from lab.render.overlay.layout import Layout, check, even, layout
from lab.render.overlay.particles import FIREWORK_COLOURS, Particles
from lab.render.overlay.sprites import rgba, shared
from lab.render.overlay.words import words
from lab.render.styles import STYLE_SPECS, BeatSheet, StyleSpec
from lab.render.yuv import Sprite, blend

TAG_FILL = (170, 30, 30, 235)  # the random-weights label


def letterbox_bar(width: int, height: int) -> Sprite:
    return shared("letterbox", width, even(height * 0.08))


@dataclass
class Overlay:
    """Everything needed to draw one user's overlay on any background of one size and length."""

    variant: Variant
    event: RankEvent
    width: int
    height: int
    fps: int
    frames: int
    particles: bool = True
    label: str | None = None  # e.g. RANDOM_WEIGHTS_LABEL for a test model
    seed: int = 0
    spec: StyleSpec = field(init=False)  # the style's effects, from STYLE_SPECS
    beats: BeatSheet = field(init=False)  # the style's beats with the variant's motion overrides
    lay: Layout = field(init=False)
    tl: Timeline = field(init=False)
    legibility: list[dict[str, Any]] = field(init=False)  # every text element: colours, contrast, box, fix

    def __post_init__(self) -> None:
        v, e = self.variant, self.event
        self.spec = STYLE_SPECS[v.style]
        self.beats = v.beats
        self.tl = timeline(self.beats, (self.frames - 1) / self.fps, self.fps)
        self.legibility = []
        primary, accent = rgba(v.brand.primary), rgba(v.brand.accent)
        w = words(e.locale)
        s0 = min(self.width, self.height) / 480
        banner = banner_sprite(self.spec, w, accent, s0, int(self.width * 0.8))
        banner_h = banner[0].height if banner else 0
        self.lay = layout(self.width, self.height, shield=self.spec.shield, banner_h=banner_h)
        self.board = Board(e, self.lay, self.tl, self.spec, primary, accent, w["new"], self._note)
        self.callout = Callout(e, self.lay, self.tl, self.spec, self.beats, primary, accent, w, self._note)
        lay, s = self.lay, self.lay.s
        self.tag = None
        if self.label:
            self.tag = shared("label", self.label, int(14 * s), (255, 255, 255, 255), TAG_FILL)
            self.tag_xy = (lay.right - self.tag.width, lay.top)
            box = (*self.tag_xy, self.tag_xy[0] + self.tag.width, self.tag_xy[1] + self.tag.height)
            self._note("random-weights label", (255, 255, 255), TAG_FILL, box, extent=box)
        self.letterbox = letterbox_bar(self.width, self.height) if self.spec.letterbox else None
        bar = self.letterbox.height if self.letterbox else 0
        self.clip = (0, bar, self.width, self.height - bar) if self.letterbox else None
        spark = hex_rgb(self.beats.particle_colour or v.brand.accent)
        palette = [spark, (255, 255, 255), hex_rgb(v.brand.primary), *FIREWORK_COLOURS]
        confetti = (0, 0, 1, 2) if self.beats.particle_colour else tuple(range(len(palette)))
        amount = (0.5 + v.effects.intensity) / 1.2 * self.beats.particles if self.particles else 0.0
        rank_box = self.callout.rank_ink(self.callout.centre, self.callout.size)
        if self.callout.shield is not None:
            cx, cy = self.callout.centre
            rank_box = (cx - lay.shield_w / 2, cy - lay.shield_h / 2, cx + lay.shield_w / 2, cy + lay.shield_h / 2)
        avoid = [el["extent"] for el in self.legibility if "random" not in el["element"]]
        self.sparks = Particles(lay, self.tl, self.spec, palette, amount, self.seed, rank_box, self.clip, confetti,
                                avoid)
        check(self.legibility, lay, f"variant {v.id}: overlay layout")

    def _note(self, element: str, fg: tuple[int, ...], bg: tuple[int, ...], box: tuple[float, ...],
              fix: str | None = None, worst: bool = True, extent: tuple[float, ...] | None = None) -> None:
        ratio = tx.worst_contrast(fg, bg) if worst else tx.contrast_ratio(fg, bg)
        self.legibility.append({"element": element, "text": list(fg[:3]), "behind": list(bg[:4]),
                                "contrast": round(ratio, 2), "box": [int(v) for v in box],
                                "extent": [int(v) for v in (extent or box)], "fix": fix})

    def draw_shared(self, frame: np.ndarray, t: float, opacity: float = 1.0) -> None:
        """What every user of this variant, size and seed shares: the particles and the flash ring."""
        if opacity > 0:
            self.sparks.draw(frame, t, opacity)
            self.callout.draw_ring(frame, t)

    # the parts tests and the compositor reach for
    @property
    def big_centre(self) -> tuple[float, float]:
        return self.callout.centre

    @property
    def shield(self) -> Sprite | None:
        return self.callout.shield

    def draw(self, frame: np.ndarray, t: float, leave: float = 0.0, with_rank: bool = True,
             shared_drawn: bool = False) -> None:
        """Blend the overlay for time ``t`` (seconds) into one yuv420p frame, in place. ``leave`` (0..1): how far
        the flight into the end card has gone; everything but the rank fades out in its first half.
        ``shared_drawn``: the frame already holds what every user shares, the particles and the flash ring
        (``compositor.decor_frames``)."""
        fade = 1 - ease_in_out_cubic(clamp01(leave * 2))
        H, W = self.height, self.width
        if not shared_drawn:
            self.draw_shared(frame, t, fade)
        if fade > 0:
            self.board.draw(frame, t, fade, dy=self.lay.row_h * 0.5 * (1 - fade))
            self.callout.draw(frame, t, fade, with_rank=with_rank and leave == 0)
        if self.letterbox:
            blend(frame, H, W, self.letterbox, 0, 0)
            blend(frame, H, W, self.letterbox, 0, H - self.letterbox.height)
        if self.tag:
            blend(frame, H, W, self.tag, *self.tag_xy)

