"""The callout: the big new rank that punches in at the impact (with the old rank beside it, or on a shield that
slams down), the arrow that whooshes up into it, the flash ring, the caption and banner, and the hold's life:
the rank breathes, a shine crosses it and glints twinkle around it."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lab.library.events import RankEvent
from lab.render import text as tx
from lab.render.overlay.beats import Timeline
from lab.render.overlay.easing import clamp01, ease_in_cubic, ease_in_out_cubic, ease_out_back, punch
from lab.render.overlay.layout import Layout, even
from lab.render.overlay.sprites import RGBA, STROKE, RankArt, rank_art, shared
from lab.render.overlay.words import subtitle
from lab.render.styles import BeatSheet, StyleSpec
from lab.render.yuv import Sprite, blend, glow

GLOW = 8 / 104  # the rank's glow, as a share of its size
SHINE_PHASES = 12  # steps of one shine across the rank (half a second at 24 fps)
SHINE_EVERY = 0.8  # seconds between two shines in the hold
Box = tuple[float, float, float, float]


def banner_sprite(spec: StyleSpec, locale_words: dict[str, str], accent: RGBA, s: float, room: int
                  ) -> tuple[Sprite, tuple[int, ...], str | None] | None:
    """The style's banner ("Welcome!", "SLOW-MO REPLAY") at its size, shrunk to ``room`` if it must be; with its
    text colour and the contrast fix applied. None when the style has no banner."""
    b = spec.banner
    if b is None:
        return None
    fill = accent if b.on_accent else (0, 0, 0, 170)
    ink, fix = tx.ink_for(fill)
    size = int(b.size * s)
    while True:
        sprite = shared("label", locale_words[b.word], size, ink, fill)
        if sprite.width <= room or size <= 10:
            return sprite, ink, fix
        size -= 2


def card_rank_size(lay: Layout) -> int:
    """The end card's rank size: the callout's rank flies to it."""
    return even(112 * lay.s) if lay.landscape else even(lay.height * 0.2)


def master_size(lay: Layout, peak: float) -> int:
    """One picture of the rank, large enough for the punch's peak and for the end card."""
    return even(max(lay.rank_size * peak, card_rank_size(lay)) * 1.05)


class Callout:
    def __init__(self, event: RankEvent, lay: Layout, tl: Timeline, spec: StyleSpec, beats: BeatSheet,
                 primary: RGBA, accent: RGBA, locale_words: dict[str, str], note: Callable[..., None]) -> None:
        self.e, self.lay, self.tl, self.spec, self.beats = event, lay, tl, spec, beats
        e, s = event, lay.s
        old = e.old_rank if e.scenario == "rank_up" else None
        self.art: RankArt = rank_art(f"#{e.new_rank}", accent, master_size(lay, max(beats.punch_scale, 1.0)), GLOW)
        size, from_size = lay.rank_size, even(lay.rank_size * (0.42 if lay.landscape else 0.28))
        from_text = f"#{old} →" if old else ""
        # The big rank's centre depends on the layout alone (right of the zone's middle when "#7 →" stands
        # before it), so the rays and the burst behind it are the same for every user (``decor_frames``); the
        # numbers shrink until they fit around it.
        zone_x0, zone_x1 = lay.rank_x - lay.rank_w / 2, lay.rank_x + lay.rank_w / 2
        cx = lay.rank_x + lay.rank_w * 0.12 if old else float(lay.rank_x)
        gap = 8 * s
        while size > 20 and (cx + self._glow_w(size) / 2 > zone_x1 or (
                old and tx.text_width(from_text, from_size) + gap > cx - self._glow_w(size) / 2 - zone_x0)):
            size -= 4
            from_size = max(from_size - 2, 12)
        self.size = size
        from_w = tx.text_width(from_text, from_size) + int(gap) if old else 0
        left = cx - self._glow_w(size) / 2 - from_w
        self.centre = (cx, float(lay.rank_y))  # the big rank's sprite centre
        self.from_label = shared("outlined", from_text, from_size, (235, 238, 245, 255), 0) if old else None
        if self.from_label is not None:
            self.from_xy = (int(left), int(lay.rank_y - self.from_label.height / 2))
            fx, fy = self.from_xy
            ink_h = tx.ink_size(from_text, from_size)[1]
            note("old rank (outlined)", (235, 238, 245), STROKE, (fx + 2, lay.rank_y - ink_h / 2,
                 fx + from_w - 16 * s, lay.rank_y + ink_h / 2), "outline", worst=False,
                 extent=(fx, fy, fx + self.from_label.width, fy + self.from_label.height))
        self.shield: Sprite | None = None
        if spec.shield:
            s_ink, s_fix = tx.ink_for(primary)
            sw, sh = lay.shield_w, lay.shield_h
            self.shield = shared("shield", sw, sh, primary, f"#{e.new_rank}", s_ink, lay.rank_size)
            self.shield_args = (sw, sh, primary, f"#{e.new_rank}", s_ink, lay.rank_size)
            self.centre = (float(lay.rank_x), float(lay.rank_y))
            digits = _shield_letters(f"#{e.new_rank}", sw, lay.rank_size)
            dy = lay.rank_y - sh * 0.04  # the letters sit a little above the shield's middle
            note("rank on the shield", s_ink, primary, (lay.rank_x - digits[0] / 2, dy - digits[1] / 2,
                 lay.rank_x + digits[0] / 2, dy + digits[1] / 2), s_fix,
                 extent=(lay.rank_x - sw / 2, lay.rank_y - sh / 2, lay.rank_x + sw / 2, lay.rank_y + sh / 2))
        else:
            x0, y0, x1, y1 = self.rank_ink(self.centre, size)
            note("new rank (outlined)", accent, STROKE, (x0, y0, x1, y1), "outline", worst=False,
                 extent=self.rank_extent(self.centre, size))
        self.peak = self._peak()
        ring_r = (self.art.at(size).height if self.shield is None else lay.shield_h) * 0.55
        self.rings = [shared("ring", int(ring_r * (0.5 + 0.15 * i)), max(2, int(5 * s)), hex_rgb_a(accent))
                      for i in range(8)]
        self.glints = [shared("glint", even(34 * s), (255, 250, 225)), shared("glint", even(22 * s), (255, 255, 255))]
        # the arrow: from below the board up to where the new rank lands
        self.arrows = {k: shared("arrow", s, accent, k) for k in (1.0, 1.25, 1.5, 1.75)}
        aw = self.arrows[1.0].width
        self.arrow_x = self.centre[0] - aw / 2
        self.arrow_top = max(self.centre[1] - self.arrows[1.0].height / 2, lay.top)
        self.arrow_bottom = min(lay.slot_y(2.3), lay.bottom - self.arrows[1.0].height)
        self.smears = [shared("smear", even(aw * 0.45), even(lay.row_h * (0.6 + 0.6 * i)), hex_rgb_a(accent))
                       for i in range(5)]
        self._caption(locale_words, note)
        self._banner(locale_words, accent, note)

    # -- building ----------------------------------------------------------------------------------
    def _letters_w(self, size: int) -> float:
        x0, _, x1, _ = self.art.ink(size)
        return x1 - x0

    def _glow_w(self, size: int) -> float:
        x0, _, x1, _ = self.art.extent(size)
        return x1 - x0

    def rank_ink(self, centre: tuple[float, float], size: float) -> Box:
        x0, y0, x1, y1 = self.art.ink(size)
        return centre[0] + x0, centre[1] + y0, centre[0] + x1, centre[1] + y1

    def rank_extent(self, centre: tuple[float, float], size: float) -> Box:
        x0, y0, x1, y1 = self.art.extent(size)
        return centre[0] + x0, centre[1] + y0, centre[0] + x1, centre[1] + y1

    def _peak(self) -> float:
        """The punch's peak, at most what fits the frame's 8 % margins (the rank may move to fit, not leave)."""
        if self.shield is not None:
            return 1.0
        hx0, hy0, hx1, hy1 = self.lay.hard_box
        x0, y0, x1, y1 = self.art.extent(self.size)
        room = min((hx1 - hx0) / (x1 - x0), (hy1 - hy0) / (y1 - y0))
        return max(1.0, min(self.beats.punch_scale, room * 0.97))

    def _caption(self, w: dict[str, str], note: Callable[..., None]) -> None:
        """What happened, in words, under the rank (or, where the shield leaves no room under it, under the
        board): it pops in just after the impact."""
        lay, s = self.lay, self.lay.s
        size = even((22 if lay.landscape else 28) * s)
        room = int(lay.rank_w if lay.landscape else lay.right - lay.left)
        below = lay.shield_h / 2 if self.shield is not None else self.art.extent(self.size)[3]
        cx, cy = float(lay.rank_x), self.centre[1] + below + lay.gap / 2
        if lay.landscape and self.shield is not None:  # under the board's two rows instead
            room, cx, cy = lay.card_w, lay.card_x + lay.card_w / 2, lay.slot_y(2) + lay.gap
        text = tx.fit(subtitle(self.e, w), size, room)
        self.caption = shared("outlined", text, size, (255, 255, 255, 255), 0)
        cy = min(cy + self.caption.height / 2, lay.bottom - self.caption.height / 2)
        self.caption_xy = (int(cx - self.caption.width / 2), int(cy - self.caption.height / 2))
        ink_w, ink_h = tx.ink_size(text, size)
        note("caption (outlined)", (255, 255, 255), STROKE, (cx - ink_w / 2, cy - ink_h / 2, cx + ink_w / 2,
             cy + ink_h / 2), "outline", worst=False,
             extent=(*self.caption_xy, self.caption_xy[0] + self.caption.width,
                     self.caption_xy[1] + self.caption.height))

    def _banner(self, w: dict[str, str], accent: RGBA, note: Callable[..., None]) -> None:
        b, lay = self.spec.banner, self.lay
        self.banner: Sprite | None = None
        made = banner_sprite(self.spec, w, accent, lay.s, lay.right - lay.left)
        if b is None or made is None:
            return
        self.banner, b_ink, b_fix = made
        fill = accent if b.on_accent else (0, 0, 0, 170)
        if lay.landscape:
            bx, by = lay.card_x, lay.banner_y
        else:
            bx, by = (lay.width - self.banner.width) // 2, lay.banner_y
        self.banner_xy = (bx, by)
        box = (bx, by, bx + self.banner.width, by + self.banner.height)
        note(f"banner {b.word}", b_ink, fill, box, b_fix, extent=box)

    # -- drawing -----------------------------------------------------------------------------------
    def scale(self, t: float) -> float:
        """The rank's scale at ``t``: the punch, then a slow breath (or a pulse on the beat)."""
        tl, a = self.tl, t - self.tl.impact
        if a < 0:
            return 0.0
        if a < tl.punch_s:
            return punch(a / tl.punch_s, self.peak)
        beat = self.spec.beats.beat_hz
        if beat:
            return 1 + 0.1 * max(0.0, 1 - ((t * beat) % 1.0) * 4)
        return 1 + 0.03 * math.sin(2 * math.pi * 0.8 * (a - tl.punch_s))

    def place(self, centre: tuple[float, float], size: float) -> tuple[int, int]:
        """Top-left of the rank's sprite at ``size`` centred at ``centre``, moved as little as needed for its
        letters and glow to stay inside the 8 % margins."""
        hx0, hy0, hx1, hy1 = self.lay.hard_box
        x0, y0, x1, y1 = self.art.extent(size)
        cx = min(max(centre[0], hx0 - x0), hx1 - x1)
        cy = min(max(centre[1], hy0 - y0), hy1 - y1)
        sprite = self.art.at(size)
        return int(math.ceil((cx - sprite.width / 2) / 2) * 2), int(math.ceil((cy - sprite.height / 2) / 2) * 2)

    def draw(self, frame: np.ndarray, t: float, opacity: float = 1.0, with_rank: bool = True) -> None:
        """Everything of the callout at ``t``; the compositor draws the rank itself while it flies."""
        tl, H, W = self.tl, self.lay.height, self.lay.width
        intro = clamp01(t / max(tl.intro_end, 1e-6))
        if self.from_label is not None:
            after = clamp01((t - tl.impact) / 0.3)
            blend(frame, H, W, self.from_label, *self.from_xy, intro * (1 - 0.4 * after) * opacity)
        self._draw_arrow(frame, t)
        if self.shield is not None:
            self._draw_shield(frame, t, opacity)
            self._draw_hold_light(frame, t)
        a = t - tl.impact
        if a >= 0:
            if with_rank and self.shield is None:
                self.draw_rank(frame, self.centre, self.size * self.scale(t))  # the punch is its entrance
                self._draw_hold_light(frame, t)
            pop = clamp01(ease_out_back((a - 0.12) / 0.3))
            blend(frame, H, W, self.caption, *self.caption_xy, pop * opacity)
        self._draw_banner(frame, t, opacity)

    def draw_ring(self, frame: np.ndarray, t: float) -> None:
        """The flash ring at the impact, expanding and fading (the same for every user: ``decor_frames``)."""
        a = t - self.tl.impact
        if 0 <= a < 0.36:
            ring = self.rings[min(int(a / 0.36 * len(self.rings)), len(self.rings) - 1)]
            cx, cy = self.centre
            glow(frame, self.lay.height, self.lay.width, ring, int(cx - ring.width / 2), int(cy - ring.height / 2),
                 1 - a / 0.36)

    def draw_rank(self, frame: np.ndarray, centre: tuple[float, float], size: float, opacity: float = 1.0) -> None:
        blend(frame, self.lay.height, self.lay.width, self.art.at(size), *self.place(centre, size), opacity)

    def _draw_hold_light(self, frame: np.ndarray, t: float) -> None:
        """After the punch: a shine crosses the rank every SHINE_EVERY seconds, glints twinkle at its corners."""
        tl, lay = self.tl, self.lay
        a = t - tl.impact - tl.punch_s - 0.1
        if a < 0 or t > tl.transition:
            return
        size = self.size * self.scale(t)
        phase = int((a % SHINE_EVERY) / 0.5 * SHINE_PHASES)
        if self.shield is not None:
            x0, y0 = self.centre[0] - lay.shield_w / 2, self.centre[1] - lay.shield_h / 2
            x1, y1 = x0 + lay.shield_w, y0 + lay.shield_h * 0.8
            if phase < SHINE_PHASES:
                shine = shared("shield_shine", *self.shield_args, phase, SHINE_PHASES)
                glow(frame, lay.height, lay.width, shine, int(x0), int(y0))
        else:
            x, y = self.place(self.centre, size)
            if phase < SHINE_PHASES:
                glow(frame, lay.height, lay.width, self.art.shine(size, phase, SHINE_PHASES), x, y)
            x0, y0, x1, y1 = self.rank_ink(self.centre, size)
        hx0, hy0, hx1, hy1 = lay.hard_box
        for i, (gx, gy) in enumerate(((x1, y0), (x0, y1), (x1 + (x1 - x0) * 0.1, y1))):
            spr = self.glints[i % 2]
            gx = min(max(gx, hx0 + spr.width / 2), hx1 - spr.width / 2)
            gy = min(max(gy, hy0 + spr.height / 2), hy1 - spr.height / 2)
            tw = math.sin(math.pi * ((a * 1.4 + i / 3) % 1.0)) ** 2
            glow(frame, lay.height, lay.width, spr, int(gx - spr.width / 2), int(gy - spr.height / 2), tw)

    def _draw_shield(self, frame: np.ndarray, t: float, opacity: float) -> None:
        """The shield drops in from above the frame from the leap on and slams down at the impact, with a small
        bounce; it stays through the hold."""
        tl, lay, shield = self.tl, self.lay, self.shield
        assert shield is not None
        if t < tl.leap:
            return
        cx, cy = self.centre
        rest = cy - shield.height / 2
        drop = 1 - ease_in_cubic((t - tl.leap) / max(tl.impact - tl.leap, 1e-6))
        a = t - tl.impact
        bounce = -10 * lay.s * math.exp(-a / 0.1) * abs(math.sin(2 * math.pi * 4 * a)) if a > 0 else 0.0
        y = rest - drop * (rest + shield.height + 4) + bounce
        blend(frame, lay.height, lay.width, shield, int(cx - shield.width / 2), int(y), opacity)

    def _draw_arrow(self, frame: np.ndarray, t: float) -> None:
        """The arrow whooshes up into the callout, stretched by its speed, over a smear of light; it bursts
        into the flash at the impact."""
        tl = self.tl
        if self.e.scenario == "defend":
            return
        start = tl.rewind_end if tl.rewind else tl.leap
        if t < tl.anticipation or t >= tl.impact:  # at the impact the arrow becomes the rank
            return

        def y_at(x: float) -> float:
            return self.arrow_bottom + (self.arrow_top - self.arrow_bottom) * ease_in_out_cubic(x)

        span = max(tl.impact - start, 1e-6)
        x = (t - start) / span
        y = y_at(x)
        speed = abs(y_at(x + 0.02) - y_at(x - 0.02)) / (0.04 * span)  # px/s
        top_speed = 1.5 * abs(self.arrow_top - self.arrow_bottom) / span
        stretch = min(self.arrows, key=lambda k: abs(k - (1 + 0.75 * speed / max(top_speed, 1e-6))))
        arrow = self.arrows[stretch]
        opacity = clamp01((t - tl.anticipation) / 0.15)
        ay = y - (arrow.height - self.arrows[1.0].height) * 0.2
        H, W = self.lay.height, self.lay.width
        if speed > 1e-3 and 0 < x < 1:
            smear = self.smears[min(int(speed / max(top_speed, 1e-6) * 5), 4)]
            glow(frame, H, W, smear, int(self.arrow_x + (arrow.width - smear.width) / 2),
                 int(ay + arrow.height * 0.55), opacity)
        blend(frame, H, W, arrow, int(self.arrow_x + (self.arrows[1.0].width - arrow.width) / 2), int(ay), opacity)

    def _draw_banner(self, frame: np.ndarray, t: float, opacity: float) -> None:
        b, tl = self.spec.banner, self.tl
        if b is None or self.banner is None:
            return
        if b.shows == "from_impact":
            appear = clamp01(ease_out_back((t - tl.impact + 0.1) / 0.35))
        elif b.shows == "rewind":
            if not tl.rewind:
                return
            appear = 1.0 if tl.rewind - 0.05 <= t <= tl.rewind_end + 0.2 else 0.0
        else:
            appear = clamp01(t / max(tl.intro_end, 1e-6))
        blend(frame, self.lay.height, self.lay.width, self.banner, *self.banner_xy, appear * opacity)


def hex_rgb_a(colour: RGBA) -> tuple[int, int, int]:
    return colour[0], colour[1], colour[2]


def _shield_letters(label: str, shield_w: int, size: int) -> tuple[int, int]:
    """The size of the rank's letters on the shield (they shrink to fit it, as the shield's sprite does)."""
    while size > 8 and tx.text_width(label, size) > shield_w * 0.72:
        size -= 2
    return tx.ink_size(label, size)
