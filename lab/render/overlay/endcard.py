"""The end card, the last beat, over the live background: the name, the new rank (the callout's rank, landed
here), what happened, the CTA button and the logo. Its parts come in one after another as the rank lands; the
button breathes (or pulses on the beat); the background under it keeps moving, dimmed by a look-up table.

Built from small sprites blended in YUV, so no full frame is converted between colour spaces; the dimmed
background is made once per background and shared by its users (``dimmed_frames``).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from lab.library.events import RankEvent
from lab.library.variant import Variant
from lab.render import text as tx
from lab.render.overlay.beats import Timeline
from lab.render.overlay.callout import GLOW, card_rank_size, master_size
from lab.render.overlay.easing import clamp01, ease_in_out_sine, ease_out_back, ease_out_cubic
from lab.render.overlay.layout import check, even, layout
from lab.render.overlay.rays import sunburst
from lab.render.overlay.scene import TAG_FILL, letterbox_bar
from lab.render.overlay.sprites import BUTTON_MAX, STROKE, button_art, rank_art, rgba, shared
from lab.render.overlay.words import subtitle, words
from lab.render.styles import STYLE_SPECS
from lab.render.yuv import Sprite, blend, dim, dim_table

END_CARD_DIM = 0.55  # how far the end card dims the live background toward black
SETTLED_S = 0.35  # every part of the card is in place this long after it starts: the poster's moment
DIMMED_KEEP = 4  # backgrounds whose dimmed end-card frames a process keeps (~15 MB each at 864x480, 25 frames)
_dimmed: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
_dimmed_lock = threading.Lock()


def dim_ramp(frames: int, ramp: int) -> list[float]:
    """How far each of ``frames`` end-card frames is dimmed: rising over the first ``ramp`` (the flight)."""
    return [END_CARD_DIM * (ease_in_out_sine((i + 1) / (ramp + 1)) if i < ramp else 1.0) for i in range(frames)]


def dimmed_frames(key: str, frames: np.ndarray, start: int, ramp: int = 0,
                  rays: tuple[float, float, float, float, float] | None = None) -> np.ndarray:
    """``frames[start:]`` of a cached background, dimmed for the end card (the first ``ramp`` of them less, rising
    as the rank flies in), with the rays behind the card's rank once it has landed (``rays``: centre x, y, radius,
    level, fps): made once per background and reused by every user of it (it holds no personal data), so a
    per-user render only copies and blends sprites.

    ``key`` is the background's cache key (its content hash); the last ``DIMMED_KEEP`` are kept."""
    k = (key, start, len(frames), ramp, END_CARD_DIM, rays)
    with _dimmed_lock:
        if k in _dimmed:
            _dimmed.move_to_end(k)
            return _dimmed[k]
    height = frames.shape[1] * 2 // 3
    out = np.array(frames[start:])
    light = sunburst(frames.shape[2], height, *rays[:3]) if rays else None
    for i, (frame, amount) in enumerate(zip(out, dim_ramp(len(out), ramp), strict=True)):
        dim(frame, height, _tables(round(amount, 3)))
        if light is not None and rays is not None and i >= ramp:  # from the frame the rank lands on
            light.draw(frame, (start + i) / rays[4], rays[3] * min((i - ramp + 1) / 6, 1.0))
    out.flags.writeable = False  # shared between renders: each copies its frame before drawing on it
    with _dimmed_lock:
        _dimmed[k] = out
        while len(_dimmed) > DIMMED_KEEP:
            _dimmed.popitem(last=False)
    return out


_table_cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}


def _tables(amount: float) -> tuple[np.ndarray, np.ndarray]:
    if amount not in _table_cache:
        _table_cache[amount] = dim_table(amount)
    return _table_cache[amount]


class EndCard:
    """The end card: ``draw_dimmed(frame, t)`` at ``t`` seconds after it starts (negative while the rank is still
    flying in: the name and the subtitle are already coming in)."""

    def __init__(self, variant: Variant, event: RankEvent, width: int, height: int, logo_path: str | None = None,
                 label: str | None = None, tl: Timeline | None = None) -> None:
        self.width, self.height = width, height
        self.lay = lay = layout(width, height)
        s = lay.s
        w = words(event.locale)
        spec = STYLE_SPECS[variant.style]
        self.beats = variant.beats
        self.beat_from = (tl.end_card - tl.impact) if tl is not None else 0.0  # the drum's phase at t = 0
        primary, accent, white = rgba(variant.brand.primary), rgba(variant.brand.accent), (255, 255, 255, 255)
        self.legibility: list[dict[str, Any]] = []
        max_text = lay.right - lay.left
        portrait = not lay.landscape
        self.art = rank_art(f"#{event.new_rank}", accent, master_size(lay, max(self.beats.punch_scale, 1.0)), GLOW)
        ink, fix = tx.ink_for(primary)
        fit = 1.0
        for _ in range(4):  # a small frame: everything a little smaller until the stack fits between the margins
            name_size = even((48 if portrait else 40) * s * fit)
            sub_size, cta_size = even((30 if portrait else 26) * s * fit), even(30 * s * fit)
            self.rank_size = even(card_rank_size(lay) * fit)
            while self.rank_size > 20 and -2 * self.art.extent(self.rank_size)[0] > max_text:
                self.rank_size -= 4
            # the label's room: the pill (label + 2.2 x its size) inside the text margins, and breathing at its
            # largest (+8 %) inside the 8 % ones
            pill = min(max_text, (lay.hard_box[2] - lay.hard_box[0]) / 1.08)
            self.cta = (variant.cta_for(event.locale), cta_size, primary, ink, int(pill - 2.2 * cta_size), s)
            name = tx.fit(event.user, name_size, max_text)
            sub = tx.fit(subtitle(event, w, entered="welcome"), sub_size, max_text)
            parts = [
                Sprite.from_image(tx.text_image(name, name_size, white, stroke=max(2, name_size // 14),
                                                stroke_fill=STROKE)),
                self.art.at(self.rank_size),
                shared("outlined", sub, sub_size, accent, 0),
                self._button(1.0),
            ]
            g = self.art.extent(self.rank_size)
            m = int(12 * s)  # the button sprite's shadow margin around its pill
            content = [(0, parts[0].height), (parts[1].height / 2 + g[1], g[3] - g[1]), (0, parts[2].height),
                       (m, parts[3].height - 2 * m)]  # where each part's visible content lies in its sprite
            span = sum(h for _, h in content) + 3 * 12 * s
            if portrait or span <= lay.bottom - lay.top:
                break
            fit *= (lay.bottom - lay.top) / span * 0.97
        ys = self._stack(content, portrait)
        self.parts: list[tuple[Sprite, int, int]] = [(p, (width - p.width) // 2, y) for p, y in zip(parts, ys,
                                                                                                    strict=True)]
        self.rank_centre = (width / 2, ys[1] + parts[1].height / 2)
        self.button_centre = (width / 2, ys[3] + parts[3].height / 2)
        self._notes(parts, ys, name, name_size, sub, sub_size, max_text, ink, fix, primary, accent)
        self.logo: tuple[Sprite, int, int] | None = None
        if logo_path:
            side = even(56 * s)
            corner = variant.brand.logo_corner
            lx = lay.left if corner.endswith("left") else lay.right - side
            ly = lay.top if corner.startswith("top") else lay.bottom - side
            self.logo = (shared("logo", logo_path, side), lx, ly)
            self.logo_box = (lx, ly, lx + side, ly + side)
        self.tag = None
        if label:
            tag = shared("label", label, int(14 * s), white, TAG_FILL)
            self.tag = (tag, lay.right - tag.width, lay.top)
        self.letterbox = letterbox_bar(width, height) if spec.letterbox else None
        # rays behind the landed rank, as bright as in the hold (they sit on the dimmed background)
        self.rays = (*self.rank_centre, min(width, height) * 0.5, spec.rays * 1.2) if spec.rays else None
        self.tables = dim_table(END_CARD_DIM)
        check(self.legibility, lay, f"variant {variant.id}: end card layout")

    def _stack(self, content: list[tuple[float, float]], portrait: bool) -> list[int]:
        """Sprite tops of name, rank, subtitle and button, stacking what each shows (``content``: its offset and
        height in the sprite): packed in the middle (landscape), or spread over 62 % of the height (portrait,
        the whole 9:16 canvas)."""
        lay, s = self.lay, self.lay.s
        heights = [h for _, h in content]
        if portrait:
            span = min(self.height * 0.62, lay.bottom - lay.top)
            gaps = [(span - sum(heights)) / 3] * 3
        else:
            gaps = [12 * s] * 3
            span = sum(heights) + sum(gaps)
        y = max(lay.top, (lay.top + lay.bottom - span) / 2)
        tops = []
        for i, (offset, h) in enumerate(content):
            tops.append(int(y - offset))
            y += h + (gaps[i] if i < 3 else 0)
        return tops

    def _notes(self, parts: list[Sprite], ys: list[int], name: str, name_size: int, sub: str, sub_size: int,
               max_text: int, ink: tuple[int, ...], fix: str | None, primary: tuple[int, ...],
               accent: tuple[int, ...]) -> None:
        W = self.width
        extents = [(x, y, x + p.width, y + p.height) for p, x, y in self.parts]
        # the name's box is the room it may fill: its own width would hint at its length
        nh = tx.ink_size(name, name_size)[1]
        cy = ys[0] + parts[0].height / 2
        self._note("end card: name (outlined)", (255, 255, 255), STROKE,
                   ((W - max_text) / 2, cy - nh / 2, (W + max_text) / 2, cy + nh / 2), "outline", False,
                   ((W - max_text) / 2, extents[0][1], (W + max_text) / 2, extents[0][3]))
        x0, y0, x1, y1 = self.art.ink(self.rank_size)
        rx, ry = self.rank_centre
        g0, h0, g1, h1 = self.art.extent(self.rank_size)
        self._note("end card: rank (outlined)", accent, STROKE, (rx + x0, ry + y0, rx + x1, ry + y1), "outline",
                   False, (rx + g0, ry + h0, rx + g1, ry + h1))
        sw, sh = tx.ink_size(sub, sub_size)
        cy = ys[2] + parts[2].height / 2
        self._note("end card: subtitle (outlined)", accent, STROKE, (W / 2 - sw / 2, cy - sh / 2, W / 2 + sw / 2,
                   cy + sh / 2), "outline", False, extents[2])
        m = int(12 * self.lay.s)  # the button sprite's shadow margin
        b = extents[3]
        self._note("end card: button", ink, primary, (b[0] + m, b[1] + m, b[2] - m, b[3] - m), fix, True, b)

    def _note(self, element: str, fg: tuple[int, ...], bg: tuple[int, ...], box: tuple[float, ...], fix: str | None,
              worst: bool, extent: tuple[float, ...]) -> None:
        ratio = tx.worst_contrast(fg, bg) if worst else tx.contrast_ratio(fg, bg)
        self.legibility.append({"element": element, "text": list(fg[:3]), "behind": list(bg[:4]),
                                "contrast": round(ratio, 2), "box": [int(v) for v in box],
                                "extent": [int(v) for v in extent], "fix": fix})

    def _button(self, scale: float) -> Sprite:
        return button_art(*self.cta).at(scale / BUTTON_MAX)

    def button_scale(self, t: float) -> float:
        """Pops in (60 % -> 100 %, overshooting) as the rank lands, then breathes 1.25 times a second, or pulses
        on the beat with the drums."""
        if t < 0:
            return 0.0
        if t < 0.3:
            return 0.6 + 0.4 * ease_out_back(t / 0.3)
        if self.beats.beat_hz:
            phase = ((t + self.beat_from) * self.beats.beat_hz) % 1.0
            return 1 + 0.08 * max(0.0, 1 - phase * 4)
        return 1 + 0.03 * (1 - math.cos(2 * math.pi * 1.25 * (t - 0.3)))

    def draw(self, frame: np.ndarray, t: float) -> None:
        """The end card ``t`` seconds after it starts, over this frame of the (still moving) background."""
        dim(frame, self.height, self.tables)
        self.draw_dimmed(frame, t)

    def draw_dimmed(self, frame: np.ndarray, t: float, with_rank: bool = True) -> None:
        """``draw`` over a frame already dimmed (``dimmed_frames``): the per-user part, sprites only."""
        H, W = self.height, self.width
        (name, nx, ny), _, (sub, sx, sy), _ = self.parts
        come = ease_out_cubic(clamp01((t + 0.2) / 0.3))
        blend(frame, H, W, name, nx, int(ny - (1 - come) * 16 * self.lay.s), come)
        blend(frame, H, W, sub, sx, sy, ease_out_cubic(clamp01((t + 0.05) / 0.3)))
        if with_rank and t >= 0:
            land = 1 + 0.1 * math.exp(-t / 0.07) * math.cos(2 * math.pi * 2.2 * t)  # a small bump as it lands
            breath = 0.02 * math.sin(2 * math.pi * 0.6 * max(t - 0.3, 0.0))
            sprite = self.art.at(self.rank_size * (land + breath))
            cx, cy = self.rank_centre
            blend(frame, H, W, sprite, int(cx - sprite.width / 2), int(cy - sprite.height / 2))
        k = self.button_scale(t)
        if k > 0:
            button = self._button(k)
            cx, cy = self.button_centre
            blend(frame, H, W, button, int(cx - button.width / 2), int(cy - button.height / 2))
        if self.logo:
            blend(frame, H, W, *self.logo, come)
        if self.letterbox:
            blend(frame, H, W, self.letterbox, 0, 0)
            blend(frame, H, W, self.letterbox, 0, H - self.letterbox.height)
        if self.tag:
            blend(frame, H, W, *self.tag)


def end_card(variant: Variant, event: RankEvent, background: np.ndarray, width: int, height: int,
             logo_path: str | None = None, label: str | None = None) -> np.ndarray:
    """The end card, settled, over ``background`` (yuv420p): the poster."""
    card = np.array(background)
    EndCard(variant, event, width, height, logo_path, label).draw(card, SETTLED_S)
    return card
