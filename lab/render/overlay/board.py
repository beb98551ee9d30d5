"""The mini leaderboard: the user's row springs past the rival's (who drops a place, pushes back, or leaves as a
ghost), with the rank in the row flipping as it passes. Rows hold names, so their sprites are made per render."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lab.library.events import RankEvent
from lab.render import text as tx
from lab.render.overlay.beats import DIP, Timeline
from lab.render.overlay.easing import (
    EASINGS,
    clamp01,
    ease_in_cubic,
    ease_in_out_cubic,
    ease_in_out_sine,
    ease_out_cubic,
    spring,
)
from lab.render.overlay.layout import Layout
from lab.render.overlay.sprites import RGBA, _row_image, shared
from lab.render.styles import StyleSpec
from lab.render.yuv import Sprite, blend

DARK = (18, 22, 34, 215)  # the other rows' fill
LIGHT = (232, 234, 242, 255)  # ... and their text
PASS_SWING = 0.07  # how far (a share of the board's width) the user's row swings out as it overtakes


class Board:
    def __init__(self, event: RankEvent, lay: Layout, tl: Timeline, spec: StyleSpec, primary: RGBA, accent: RGBA,
                 new_word: str, note: Callable[..., None]) -> None:
        self.e, self.lay, self.tl, self.spec = event, lay, tl, spec
        e, s = event, lay.s
        ink, fix = tx.ink_for(primary)
        self.user_row = Sprite.from_image(_row_image(
            lay, e.user, primary, ink, outline=(255, 255, 255, 200),
            badge=new_word if e.scenario == "first_entry" else None, badge_fill=(*tx.INK, 255), badge_text=accent))
        note("user row: name and rank", ink, primary, self._row_box(0), fix)
        self.rival_row = Sprite.from_image(_row_image(lay, e.rival, DARK, LIGHT)) if e.rival else None
        if e.rival:
            note("rival row: name and rank", LIGHT, DARK, self._row_box(1))
        self.ghost_row = None
        if e.rival and spec.rival_ghost:  # desaturated and blurred: a ghost of the rival's row
            img = _row_image(lay, e.rival, DARK, LIGHT)
            rgb, alpha = img.convert("RGB").convert("L").convert("RGB"), img.getchannel("A")
            ghost = Image.merge("RGBA", (*rgb.split(), alpha.point(lambda a: int(a * 0.75))))
            self.ghost_row = Sprite.from_image(ghost.filter(ImageFilter.GaussianBlur(3.5 * s)))
        self.gap_row = shared("row", lay, "· · ·", DARK, LIGHT)  # holds no name: cached
        self.row_ranks = {r: shared("rank", lay, r, ink) for r in {e.old_rank or e.new_rank, e.new_rank}}
        self.rival_ranks = {r: shared("rank", lay, r, LIGHT) for r in {e.new_rank, e.new_rank + 1}}
        self.smear = None
        if spec.motion_blur:  # the row's fill, smeared downwards: drawn under every row, so it hides no text
            smear = Image.new("RGBA", (lay.card_w, lay.row_h * 3), (0, 0, 0, 0))
            ImageDraw.Draw(smear).rounded_rectangle([0, 0, lay.card_w - 1, lay.row_h * 3 - 1], radius=lay.row_h // 3,
                                                    fill=primary)
            fade = np.linspace(200, 0, lay.row_h * 3).astype(np.uint8)[:, None].repeat(lay.card_w, 1)
            smear.putalpha(Image.fromarray(np.minimum(np.asarray(smear.getchannel("A")), fade)))
            self.smear = Sprite.from_image(smear.filter(ImageFilter.BoxBlur(4 * s)))

    def _row_box(self, slot: float) -> tuple[float, float, float, float]:
        lay = self.lay
        return lay.card_x, lay.slot_y(slot), lay.card_x + lay.card_w, lay.slot_y(slot) + lay.row_h

    def progress(self, t: float) -> float:
        """The user's climb, 0 (old place) .. 1 (new place): a wind-up dip, then the leap (with a rewind and a
        replay for a comeback), landing at the impact."""
        tl = self.tl
        if t < tl.anticipation:
            return 0.0
        if t < tl.leap:
            return -DIP * ease_in_out_sine((t - tl.anticipation) / max(tl.leap - tl.anticipation, 1e-6))
        start = tl.leap
        if tl.rewind:
            if t < tl.rewind:
                return -DIP + (1 + DIP) * ease_out_cubic((t - tl.leap) / max(tl.rewind - tl.leap, 1e-6))
            if t < tl.rewind_end:  # the rewind back to the old place
                return 1 - ease_in_out_cubic((t - tl.rewind) / max(tl.rewind_end - tl.rewind, 1e-6))
            start = tl.rewind_end
            return spring((t - start) / max(tl.impact - start, 1e-6))
        return -DIP + (1 + DIP) * EASINGS[self.spec.move_easing]((t - start) / max(tl.impact - start, 1e-6))

    def _row(self, frame: np.ndarray, sprite: Sprite, slot: float, opacity: float, dy: float = 0.0,
             dx: float = 0.0) -> None:
        blend(frame, self.lay.height, self.lay.width, sprite, int(self.lay.card_x + dx),
              int(self.lay.slot_y(slot) + dy), opacity)

    def draw(self, frame: np.ndarray, t: float, opacity: float = 1.0, dy: float = 0.0) -> None:
        """The board at ``t``; ``opacity`` and ``dy`` let it leave when the rank flies into the end card."""
        lay, tl, e = self.lay, self.tl, self.e
        intro = (0.35 + 0.65 * ease_out_cubic(t / max(tl.intro_end, 1e-6))) * opacity  # frame 0 shows the board
        slide_in = (1 - ease_out_cubic(t / max(tl.intro_end, 1e-6))) * lay.row_h * 0.6
        dy += slide_in
        p = self.progress(t)
        if e.scenario == "rank_up":
            self._draw_climb(frame, t, p, intro, dy)
        elif e.scenario == "defend":
            self._draw_defence(frame, t, intro, dy)
        else:  # first_entry: the row springs up into the board
            self._row(frame, self.user_row, 1.6 * (1 - p), intro, dy)
            self._row(frame, self.row_ranks[e.new_rank], 1.6 * (1 - p), intro, dy)

    def _draw_climb(self, frame: np.ndarray, t: float, p: float, intro: float, dy: float) -> None:
        lay, e, H, W = self.lay, self.e, self.lay.height, self.lay.width
        gap_slots = 1 if (e.old_rank - e.new_rank) > 1 else 0
        user_from = 1 + gap_slots
        user_slot = user_from * (1 - p)
        if self.smear is not None:
            speed = abs(self.progress(t + 0.02) - self.progress(t - 0.02)) / 0.04 / max(user_from, 1)
            if speed > 0.3:
                y = int(lay.slot_y(user_slot) + dy + lay.row_h * 0.3)
                length = int(lay.row_h * min(3.0, 0.6 + speed * 0.5))
                blend(frame, H, W, self.smear, lay.card_x, y, min(1.0, speed / 2) * intro, (0, 0, W, y + length))
        if self.rival_row:
            self._draw_rival(frame, t, clamp01(p), intro, dy)
        if gap_slots:
            self._row(frame, self.gap_row, 1 + clamp01(p) * gap_slots, intro * (1 - clamp01(p)), dy)
        rank = e.new_rank if p >= 0.5 else e.old_rank
        # the row swings out a little as it passes, so both names stay in sight through the overtake
        dx = math.sin(math.pi * clamp01(p)) * lay.card_w * PASS_SWING
        self._row(frame, self.user_row, user_slot, intro, dy, dx)
        self._row(frame, self.row_ranks[rank], user_slot, intro, dy, dx)

    def _draw_rival(self, frame: np.ndarray, t: float, move: float, intro: float, dy: float) -> None:
        lay, e, tl, spec = self.lay, self.e, self.tl, self.spec
        rank = self.rival_ranks[e.new_rank if move < 0.5 else e.new_rank + 1]
        if self.ghost_row is None:
            self._row(frame, self.rival_row, move, intro, dy)
            self._row(frame, rank, move, intro, dy)
            return
        # sharp until the exit (f18 of an impact at f24), then a 4-frame exit: it blurs to a ghost as it
        # accelerates out of the right edge
        start = tl.impact - spec.rival_exit_lead * tl.k
        x = clamp01((t - start) / max(spec.rival_exit_s, 1e-6))
        dx = ease_in_cubic(x) * (lay.width - lay.card_x + 8)
        if dx >= lay.width - lay.card_x:
            return  # gone: nothing of it is left in the frame
        self._row(frame, self.rival_row, move, intro * (1 - x), dy, dx)
        self._row(frame, rank, move, intro * (1 - x), dy, dx)
        self._row(frame, self.ghost_row, move, intro * x, dy, dx)

    def _draw_defence(self, frame: np.ndarray, t: float, intro: float, dy: float) -> None:
        """The rival pushes up into the user's row (which gives a little), then the shield slams down at the
        impact and knocks it back to its place."""
        tl, e = self.tl, self.e
        x = clamp01((t - tl.leap) / max(tl.impact - tl.leap, 1e-6))
        a = t - tl.impact
        if a < 0:
            rival = 1 - 0.62 * ease_in_cubic(x)
            user = -0.1 * ease_in_cubic(clamp01((x - 0.6) / 0.4))
        else:
            rival = 1 + 0.3 * math.exp(-a / 0.12) * math.cos(2 * math.pi * 3 * a) - 0.62 * math.exp(-a / 0.03)
            user = -0.1 * math.exp(-a / 0.06)
        if self.rival_row:
            self._row(frame, self.rival_row, rival, intro, dy)
            self._row(frame, self.rival_ranks[e.new_rank + 1], rival, intro, dy)
        self._row(frame, self.user_row, user, intro, dy)
        self._row(frame, self.row_ranks[e.new_rank], user, intro, dy)
