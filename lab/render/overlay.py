"""The exact layer: names, ranks, arrow, sparks, style effects and the end card, drawn over a background.

Everything personal or textual is drawn here, never by a model. Sprites are drawn once per render with
Pillow and converted to YUV; each frame then only blends them at eased positions into the background.
The motion follows the style's beat sheet (``styles.BeatSheet``): anticipation -> leap -> impact -> hold ->
end card; docs/MOTION.md describes each style's beats and the contrast rule.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lab.library.events import RankEvent
from lab.library.variant import Variant
from lab.render import text as tx
from lab.render.backends import RANDOM_WEIGHTS_LABEL
from lab.render.motion import hex_rgb
from lab.render.styles import STYLE_SPECS, Easing, StyleSpec
from lab.render.yuv import Sprite, blend, dim, dim_table, glow

WORDS = {
    "en": {"welcome": "Welcome!", "places": "▲ {n} places", "place": "▲ 1 place", "defended": "Rank defended",
           "new": "NEW", "entered": "New on the board", "replay": "SLOW-MO REPLAY", "rewind": "◀◀ REPLAY",
           "random": RANDOM_WEIGHTS_LABEL},
    "zh": {"welcome": "欢迎上榜！", "places": "▲ 上升 {n} 名", "place": "▲ 上升 1 名", "defended": "守擂成功",
           "new": "新", "entered": "首次上榜", "replay": "慢动作回放", "rewind": "◀◀ 回放", "random": "随机权重"},
}

SAFE_TOP = 0.12  # phone UI (status bar, notch) covers the top 12 % ...
SAFE_BOTTOM = 0.10  # ... and the home bar / controls the bottom 10 %: no text, arrow or logo there
STROKE = (10, 12, 20, 255)  # the outline that keeps text over a moving background legible
FIREWORK_COLOURS = ((255, 72, 96), (72, 220, 255), (255, 110, 235), (255, 214, 64), (120, 255, 150))


def words(locale: str) -> dict[str, str]:
    return WORDS.get(locale.split("-")[0], WORDS["en"])


# -- easing ------------------------------------------------------------------------------


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


def time_ramp(x: float) -> float:
    """Speed ramp: 1.75x at both ends, a quarter speed through the middle (slow motion at the overtake)."""
    x = clamp01(x)
    return x + 0.75 * math.sin(2 * math.pi * x) / (2 * math.pi)


# A beat sheet's leap_easing names one of these.
EASINGS: dict[Easing, Callable[[float], float]] = {"out_cubic": ease_out_cubic, "in_out_cubic": ease_in_out_cubic,
                                                   "in_out_sine": ease_in_out_sine, "spring": spring,
                                                   "time_ramp": time_ramp}


def punch(x: float) -> float:
    """The new rank's scale: 1.4 at the impact, 1.0 a third of the way on, a small undershoot, then 1.0."""
    x = clamp01(x)
    return 1 + 0.4 * math.exp(-4 * x) * math.cos(1.5 * math.pi * x)


# -- timeline ----------------------------------------------------------------------------

END_CARD_MIN_S = 0.75
CROSSFADE_S = 0.2
DIP = 0.15  # the anticipation: the user's row winds down this many slots before it leaps
PUNCH_SCALES = (0.96, 0.98, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4)


@dataclass(frozen=True)
class Timeline:
    """A style's beat sheet placed in one video: seconds from the start."""

    duration: float
    anticipation: float
    leap: float
    impact: float
    end_card: float  # from here on: the end card, over the live background
    rewind: float  # 0: no rewind
    rewind_end: float
    punch_s: float

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


def timeline(style: str, duration: float) -> Timeline:
    """Beats of a 3-4 s video as written; a shorter video (2 s at the degrade level) scales them down so the
    impact still lands before the end card."""
    b = STYLE_SPECS[style].beats
    end_card = duration - max(END_CARD_MIN_S, 0.25 * duration)
    k = min(1.0, duration / 3.0, max(end_card - CROSSFADE_S - 0.25, 0.1) / b.impact)
    rewind = b.rewind * k
    return Timeline(duration, b.anticipation * k, b.leap * k, b.impact * k, end_card, rewind,
                    rewind + 0.18 * k if rewind else 0.0, b.punch_s * max(k, 0.6))


# -- layout ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    landscape: bool
    s: float  # scale: 1.0 at 480 px on the short side
    card_x: int
    card_y: int
    card_w: int
    row_h: int
    gap: int

    def slot_y(self, slot: float) -> float:
        return self.card_y + slot * (self.row_h + self.gap)

    @property
    def safe_top(self) -> int:
        return _even(self.height * SAFE_TOP + 2)

    @property
    def safe_bottom(self) -> int:
        return _even(self.height * (1 - SAFE_BOTTOM) - 2)

    def callout_centre(self) -> tuple[float, float]:
        """Where the big new rank lands: right of the board (landscape) or above it (portrait)."""
        if self.landscape:
            left = self.card_x + self.card_w + self.gap * 2
            return (left + self.width * 0.96) / 2, self.slot_y(0.5) + self.row_h / 2
        return self.width / 2, (self.safe_top + 52 * self.s + self.card_y) / 2

    def callout_width(self) -> int:
        if self.landscape:
            return int(self.width * 0.96 - (self.card_x + self.card_w + self.gap * 2))
        return int(self.width * 0.86)


def layout(width: int, height: int) -> Layout:
    landscape = width >= height
    s = min(width, height) / 480
    row_h = _even(64 * s)
    gap = _even(12 * s)
    card_w = _even(width * (0.5 if landscape else 0.86))
    card_x = _even(width * 0.07) if landscape else _even((width - card_w) / 2)
    card_y = _even(height * 0.3) if landscape else _even(height * 0.4)
    return Layout(width, height, landscape, s, card_x, card_y, card_w, row_h, gap)


def _even(x: float) -> int:
    return int(round(x / 2)) * 2


# -- sprites -----------------------------------------------------------------------------


def _rgba(color: str, alpha: int = 255) -> tuple[int, int, int, int]:
    return (*hex_rgb(color), alpha)


def _row_image(lay: Layout, name: str, fill: tuple[int, int, int, int], text_fill: tuple[int, int, int, int],
               outline: tuple[int, int, int, int] | None = None, badge: str | None = None,
               badge_fill: tuple[int, int, int, int] | None = None,
               badge_text: tuple[int, int, int, int] = (255, 255, 255, 255)) -> Image.Image:
    w, h = lay.card_w, lay.row_h
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    r = int(h * 0.28)
    d.rounded_rectangle([0, 0, w - 1, h - 1], radius=r, fill=fill, outline=outline, width=max(2, int(2 * lay.s)))
    size = int(h * 0.42)
    name_x = int(h * 1.55)
    right = w - int(h * 0.35)
    if badge:
        bsize = int(h * 0.28)
        bw = tx.text_width(badge, bsize) + int(bsize * 1.0)
        bx = right - bw
        d.rounded_rectangle([bx, int(h * 0.28), right, int(h * 0.72)], radius=int(h * 0.2), fill=badge_fill)
        tx.draw_text(d, (bx + bw / 2, h / 2), badge, bsize, badge_text, anchor="mm")
        right = bx - int(h * 0.2)
    tx.draw_text(d, (name_x, h / 2), tx.fit(name, size, right - name_x), size, text_fill, anchor="lm")
    return img


def _rank_image(lay: Layout, rank: int, color: tuple[int, int, int, int]) -> Image.Image:
    h = lay.row_h
    w = int(h * 1.35)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    label = f"#{rank}"
    size = int(h * 0.5)
    while size > 8 and tx.text_width(label, size) > w - 4:
        size -= 2
    tx.draw_text(ImageDraw.Draw(img), (w / 2, h / 2), label, size, color, anchor="mm")
    return img


def _arrow_image(s: float, color: tuple[int, int, int, int], stretch: float) -> Image.Image:
    """The golden arrow, stretched along its travel (a squash-and-stretch at speed), with a soft halo."""
    w, h = _even(78 * s / math.sqrt(stretch)), _even(104 * s * stretch)
    scale = 4
    W, H = w * scale, h * scale
    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    head = min(H * 0.45, W * 0.9)
    d.polygon([(W * 0.5, 0), (W, head), (W * 0.68, head), (W * 0.68, H), (W * 0.32, H), (W * 0.32, head),
               (0, head)], fill=color)
    img = img.resize((w, h), Image.LANCZOS)
    pad = _even(12 * s)
    canvas = Image.new("RGBA", (w + 2 * pad, h + 2 * pad), (0, 0, 0, 0))
    canvas.paste(img, (pad, pad), img)
    halo = canvas.filter(ImageFilter.GaussianBlur(6 * s))
    return Image.alpha_composite(halo, canvas)


def _smear_image(width: int, length: int, color: tuple[int, int, int]) -> Image.Image:
    """A vertical light trail: transparent at its tail (bottom), bright toward its head (top)."""
    yy = np.linspace(1.0, 0.0, length, dtype=np.float32)[:, None] ** 1.5
    xx = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    alpha = (255 * yy * np.clip(1 - xx**2, 0, 1) ** 1.5).astype(np.uint8)
    rgb = np.empty((length, width, 3), np.uint8)
    rgb[:] = color
    return Image.fromarray(np.dstack([rgb, alpha]))


def _streak_image(length: int, thick: int, angle_bin: int, bins: int, color: tuple[int, int, int]) -> Image.Image:
    """A spark as a streak along its velocity: white-hot head, coloured glowing tail."""
    size = _even(length + 2 * thick + 4)
    c = (size - 1) / 2
    ang = 2 * math.pi * angle_bin / bins
    dx, dy = math.cos(ang), math.sin(ang)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    # position along the streak (0 tail .. 1 head) and distance from its axis
    along = ((xx - c) * dx + (yy - c) * dy) / length + 0.5
    across = np.abs(-(xx - c) * dy + (yy - c) * dx)
    inside = np.clip(along, 0, 1)
    core = np.exp(-((across / max(thick * 0.5, 1)) ** 2)) * (inside**1.6)
    core[(along < 0) | (along > 1.05)] = 0
    halo = np.exp(-((across / max(thick * 1.2, 1)) ** 2)) * inside * 0.5
    halo[(along < 0) | (along > 1.1)] = 0
    alpha = np.clip(255 * np.maximum(core, halo), 0, 255).astype(np.uint8)
    white = np.clip(core * 1.6 - 1.0, 0, 1)[..., None] * (inside[..., None] > 0.85)
    rgb = np.array(color, np.float32)[None, None, :] * (1 - white) + 255 * white
    return Image.fromarray(np.dstack([rgb.astype(np.uint8), alpha]))


def _ring_image(radius: int, thick: int, color: tuple[int, int, int]) -> Image.Image:
    size = _even(2 * radius + 4 * thick + 4)
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = np.sqrt((xx - c) ** 2 + (yy - c) ** 2)
    alpha = np.clip(255 * np.exp(-(((d - radius) / max(thick, 1)) ** 2)), 0, 255).astype(np.uint8)
    rgb = np.empty((size, size, 3), np.uint8)
    rgb[:] = color
    return Image.fromarray(np.dstack([rgb, alpha]))


def _shield_image(s: float, color: tuple[int, int, int, int], label: str, ink: tuple[int, int, int, int]
                  ) -> Image.Image:
    """A solid brand-coloured shield with the rank on it; the highlight is blended over the fill, never
    written in place of it."""
    w, h = _even(136 * s), _even(160 * s)
    scale = 4
    W, H = w * scale, h * scale
    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    pts = [(W * 0.5, 0), (W, H * 0.16), (W * 0.94, H * 0.58), (W * 0.5, H), (W * 0.06, H * 0.58), (0, H * 0.16)]
    d.polygon(pts, fill=color, outline=(255, 255, 255, 255), width=int(W * 0.035))
    shine = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    ImageDraw.Draw(shine).polygon([(W * 0.5, H * 0.06), (W * 0.9, H * 0.2), (W * 0.5, H * 0.42), (W * 0.1, H * 0.2)],
                                  fill=(255, 255, 255, 60))
    img = Image.alpha_composite(img, shine).resize((w, h), Image.LANCZOS)
    size = int(h * 0.36)
    while size > 8 and tx.text_width(label, size) > w * 0.7:
        size -= 2
    tx.draw_text(ImageDraw.Draw(img), (w / 2, h * 0.46), label, size, ink, anchor="mm")
    return img


def _label_image(text: str, size: int, fg: tuple[int, int, int, int], bg: tuple[int, int, int, int]) -> Image.Image:
    t = tx.text_image(text, size, fg)
    pad_x, pad_y = int(size * 0.6), int(size * 0.3)
    img = Image.new("RGBA", (t.width + 2 * pad_x, t.height + 2 * pad_y), (0, 0, 0, 0))
    ImageDraw.Draw(img).rounded_rectangle([0, 0, img.width - 1, img.height - 1], radius=int(size * 0.5), fill=bg)
    img.alpha_composite(t, (pad_x, pad_y))
    return img


def _outlined_image(text: str, size: int, fill: tuple[int, int, int, int], glow_px: float) -> Image.Image:
    """Text with a dark outline (its legible backdrop over any background) and an optional soft glow."""
    stroke = max(2, size // 14)
    pad = int(glow_px * 2) + 2
    t = tx.text_image(text, size, fill, pad=pad + stroke, stroke=stroke, stroke_fill=STROKE)
    if glow_px <= 0:
        return t
    halo = tx.text_image(text, size, (*fill[:3], 200), pad=pad, stroke=stroke * 2,
                         stroke_fill=(*fill[:3], 160)).filter(ImageFilter.GaussianBlur(glow_px))
    return Image.alpha_composite(halo, t)


def _logo_image(path: str, side: int) -> Image.Image:
    return Image.open(path).convert("RGBA").resize((side, side), Image.LANCZOS)


def _button_image(text: str, size: int, fill: tuple[int, int, int, int], ink: tuple[int, int, int, int],
                  max_width: int, s: float) -> Image.Image:
    label = tx.fit(text, size, max_width)
    bw = tx.text_width(label, size) + int(size * 2.2)
    bh = int(size * 2.1)
    m = int(12 * s)
    img = Image.new("RGBA", (bw + 2 * m, bh + 2 * m), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([m, m + 6 * s, m + bw, m + bh + 6 * s], radius=bh / 2, fill=(0, 0, 0, 140))
    img = img.filter(ImageFilter.GaussianBlur(6 * s))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([m, m, m + bw, m + bh], radius=bh / 2, fill=fill, outline=(255, 255, 255, 230),
                        width=max(2, int(2 * s)))
    tx.draw_text(d, (m + bw / 2, m + bh / 2), label, size, ink, anchor="mm")
    return img


@functools.lru_cache(maxsize=1024)
def shared(kind: str, *args: object) -> Sprite:
    """Sprites that hold nothing personal (ranks, arrow, sparks, CTA, logo), built once per process.

    Names are never cached: their sprites are made per render and dropped with it."""
    builders: dict[str, Callable[..., Image.Image]] = {
        "rank": _rank_image, "row": _row_image, "arrow": _arrow_image, "smear": _smear_image, "streak": _streak_image,
        "ring": _ring_image, "shield": _shield_image, "label": _label_image, "outlined": _outlined_image,
        "button": _button_image, "logo": _logo_image}
    return Sprite.from_image(builders[kind](*args))


# -- particles ---------------------------------------------------------------------------

STREAK_BINS = 16


@dataclass
class Particle:
    x: float
    y: float
    vx: float
    vy: float
    born: float
    life: float
    colour: int  # index into the overlay's spark colours
    gravity: float = 0.0  # px/s², downwards


def burst(rng: np.random.Generator, x: float, y: float, t0: float, count: int, speed: float, life: float,
          colours: range | tuple[int, ...], gravity: float, upward: bool = False) -> list[Particle]:
    out = []
    for _ in range(count):
        ang = rng.uniform(0, 2 * math.pi) if not upward else rng.uniform(-math.pi * 0.95, -math.pi * 0.05)
        v = speed * rng.uniform(0.45, 1.0)
        out.append(Particle(x, y, v * math.cos(ang), v * math.sin(ang), t0 + rng.uniform(0, 0.05),
                            life * rng.uniform(0.6, 1.0), int(rng.choice(colours)), gravity))
    return out


# -- the compositor ----------------------------------------------------------------------


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
    lay: Layout = field(init=False)
    tl: Timeline = field(init=False)
    legibility: list[dict[str, Any]] = field(init=False)  # every text element: colours, contrast, box, fix

    def __post_init__(self) -> None:
        self.spec = STYLE_SPECS[self.variant.style]
        self.lay = layout(self.width, self.height)
        self.tl = timeline(self.variant.style, (self.frames - 1) / self.fps)
        self.legibility = []
        self._build()

    def _note(self, element: str, fg: tuple[int, ...], bg: tuple[int, ...], box: tuple[float, ...],
              fix: str | None = None, worst: bool = True) -> None:
        ratio = tx.worst_contrast(fg, bg) if worst else tx.contrast_ratio(fg, bg)
        self.legibility.append({"element": element, "text": list(fg[:3]), "behind": list(bg[:4]),
                                "contrast": round(ratio, 2), "box": [int(v) for v in box], "fix": fix})

    # sprites are built once per render
    def _build(self) -> None:
        v, e, lay, spec = self.variant, self.event, self.lay, self.spec
        s = lay.s
        primary, accent = _rgba(v.brand.primary), _rgba(v.brand.accent)
        w = words(e.locale)
        ink, fix = tx.ink_for(primary)
        self.user_row = Sprite.from_image(_row_image(
            lay, e.user, primary, ink, outline=(255, 255, 255, 200),
            badge=w["new"] if e.event == "first_entry" else None, badge_fill=(*tx.INK, 255), badge_text=accent))
        self._note("user row: name and rank", ink, primary, (lay.card_x, lay.slot_y(0), lay.card_x + lay.card_w,
                                                             lay.slot_y(0) + lay.row_h), fix)
        dark = (18, 22, 34, 215)
        light = (232, 234, 242, 255)
        self.rival_row = Sprite.from_image(_row_image(lay, e.rival, dark, light)) if e.rival else None
        if e.rival:
            self._note("rival row: name and rank", light, dark, (lay.card_x, lay.slot_y(1), lay.card_x + lay.card_w,
                                                                 lay.slot_y(1) + lay.row_h))
        self.ghost_row = None
        if e.rival and spec.rival_ghost:  # desaturated and blurred: a ghost of the rival's row
            img = _row_image(lay, e.rival, dark, light)
            rgb, alpha = img.convert("RGB").convert("L").convert("RGB"), img.getchannel("A")
            ghost = Image.merge("RGBA", (*rgb.split(), alpha.point(lambda a: int(a * 0.75))))
            self.ghost_row = Sprite.from_image(ghost.filter(ImageFilter.GaussianBlur(3.5 * s)))
        self.gap_row = shared("row", lay, "· · ·", dark, light)  # holds no name: cached
        self.row_ranks = {r: shared("rank", lay, r, ink) for r in {e.old_rank or e.new_rank, e.new_rank}}
        self.rival_ranks = {r: shared("rank", lay, r, light) for r in {e.new_rank, e.new_rank + 1}}
        if spec.motion_blur:  # the row's fill, smeared downwards: drawn under every row, so it hides no text
            smear = Image.new("RGBA", (lay.card_w, lay.row_h * 3), (0, 0, 0, 0))
            ImageDraw.Draw(smear).rounded_rectangle([0, 0, lay.card_w - 1, lay.row_h * 3 - 1], radius=lay.row_h // 3,
                                                    fill=primary)
            fade = np.linspace(200, 0, lay.row_h * 3).astype(np.uint8)[:, None].repeat(lay.card_w, 1)
            smear.putalpha(Image.fromarray(np.minimum(np.asarray(smear.getchannel("A")), fade)))
            self.smear = Sprite.from_image(smear.filter(ImageFilter.BoxBlur(4 * s)))

        # the callout: "#7 →" from the start, the big "#3" punching in at the impact
        cx, cy = lay.callout_centre()
        room = lay.callout_width()
        old = e.old_rank if e.event == "rank_up" else None
        big = f"#{e.new_rank}"
        size = _even(104 * s)
        from_size = _even(46 * s)
        from_text = f"#{old} →" if old else ""
        while size > 20 and (tx.text_width(big, size) * 1.05 + (tx.text_width(from_text, from_size) + 16 * s)) > room:
            size -= 4
            from_size = max(from_size - 2, 12)
        self.big_sizes = {k: _even(size * k) for k in PUNCH_SCALES}
        self.big = {k: shared("outlined", big, sz, accent, 8 * s) for k, sz in self.big_sizes.items()}
        big_w = self.big[1.0].width
        from_w = tx.text_width(from_text, from_size) + int(16 * s) if old else 0
        left = cx - (big_w + from_w) / 2
        self.big_centre = (left + from_w + big_w / 2, cy)
        self.from_label = shared("outlined", from_text, from_size, (235, 238, 245, 255), 0) if old else None
        self.from_xy = (left, cy - (self.from_label.height / 2 if self.from_label else 0))
        half = self.big[1.0].height / 2
        self._note("new rank (outlined)", accent, STROKE, (left + from_w, cy - half, left + from_w + big_w, cy + half),
                   "outline", worst=False)
        if old:
            self._note("old rank (outlined)", (235, 238, 245), STROKE,
                       (left, self.from_xy[1], left + from_w, self.from_xy[1] + self.from_label.height), "outline",
                       worst=False)
        self.shield = None
        if spec.shield:
            s_ink, s_fix = tx.ink_for(primary)
            self.shield = shared("shield", s, primary, big, s_ink)
            self._note("rank on the shield", s_ink, primary,
                       (cx - self.shield.width / 2, cy - self.shield.height / 2, cx + self.shield.width / 2,
                        cy + self.shield.height / 2), s_fix)
        ring_r = self.big[1.0].height * 0.55
        self.rings = [shared("ring", int(ring_r * (0.5 + 0.15 * i)), max(2, int(5 * s)), hex_rgb(v.brand.accent))
                      for i in range(8)]

        # the arrow: from below the board up to where the new rank lands
        self.arrows = {k: shared("arrow", s, accent, k) for k in (1.0, 1.25, 1.5, 1.75)}
        aw = self.arrows[1.0].width
        self.arrow_x = self.big_centre[0] - aw / 2
        self.arrow_top = max(self.big_centre[1] - self.arrows[1.0].height / 2, lay.safe_top)
        self.arrow_bottom = min(lay.slot_y(2.3), lay.safe_bottom - self.arrows[1.0].height)
        self.smears = [shared("smear", _even(aw * 0.45), _even(lay.row_h * (0.6 + 0.6 * i)), hex_rgb(v.brand.accent))
                       for i in range(5)]

        # sparks: velocity-aligned streaks, 2-3x the old dots, in the brand's colours (fireworks in many)
        colours = [hex_rgb(v.brand.accent), (255, 255, 255), hex_rgb(v.brand.primary), *FIREWORK_COLOURS]
        self.streaks = [[shared("streak", _even(30 * s), max(4, _even(7 * s)), b, STREAK_BINS, c)
                         for b in range(STREAK_BINS)] for c in colours]
        b = spec.banner
        self.banner = None
        if b:
            fill = accent if b.on_accent else (0, 0, 0, 170)
            b_ink, b_fix = tx.ink_for(fill)
            self.banner = shared("label", w[b.word], int(b.size * s), b_ink, fill)
            bx = (self.width - self.banner.width) // 2 if (b.centred_in_portrait and not lay.landscape) else lay.card_x
            by = lay.card_y - self.banner.height - _even(16 * s) if lay.landscape else lay.safe_top
            self.banner_xy = (bx, max(by, lay.safe_top))
            self._note(f"banner {b.word}", b_ink, fill, (bx, self.banner_xy[1], bx + self.banner.width,
                                                         self.banner_xy[1] + self.banner.height), b_fix)
        self.tag = None
        if self.label:
            tag_fill = (170, 30, 30, 235)
            self.tag = shared("label", self.label, int(14 * s), (255, 255, 255, 255), tag_fill)
            self.tag_xy = (_even(10 * s), lay.safe_top)
            self._note("random-weights label", (255, 255, 255), tag_fill,
                       (*self.tag_xy, self.tag_xy[0] + self.tag.width, self.tag_xy[1] + self.tag.height))
        bar_h = _even(self.height * 0.08)
        self.letterbox = Sprite.from_image(Image.new("RGBA", (self.width, bar_h), (0, 0, 0, 255))) \
            if spec.letterbox else None
        self.clip = (0, bar_h, self.width, self.height - bar_h) if spec.letterbox else None
        self._particles = self._plan_particles()

    def _plan_particles(self) -> list[Particle]:
        if not self.particles:
            return []
        rng = np.random.default_rng(self.seed)
        lay, tl, spec = self.lay, self.tl, self.spec
        k = 0.5 + self.variant.effects.intensity
        cx, cy = self.big_centre
        g = spec.spark_gravity * lay.s
        speed = 360 * lay.s * spec.spark_speed
        out = burst(rng, cx, cy, tl.impact, int(18 * k), speed, spec.spark_life, (0, 1, 2), g)
        if spec.fireworks:
            times = [tl.impact - 0.3, tl.impact + 0.1, tl.impact + 0.5, tl.impact + 0.95]
            for i, t0 in enumerate(x for x in times if x < tl.end_card):
                fx = self.width * rng.uniform(0.55, 0.92) if lay.landscape else self.width * rng.uniform(0.18, 0.82)
                fy = self.height * rng.uniform(0.16, 0.34)
                colour = 3 + (i + int(rng.integers(0, 5))) % 5
                rise = 0.3
                out.append(Particle(fx, self.height * 0.85, 0, (fy - self.height * 0.85) / rise, t0 - rise, rise, 1))
                out += burst(rng, fx, fy, t0, int(22 * k), 250 * lay.s, 1.2, (colour, colour, colour, 1), 140 * lay.s)
        if spec.falling_sparks:
            top = self.clip[1] if self.clip else 0
            for _ in range(int(24 * k)):
                out.append(Particle(rng.uniform(0, self.width), rng.uniform(top, self.height * 0.6),
                                    rng.uniform(-20, 20) * lay.s,
                                    rng.uniform(60, 110) * lay.s, rng.uniform(-1.0, tl.end_card * 0.8), 4.0,
                                    int(rng.choice((0, 1)))))
        return out

    # -- one frame ------------------------------------------------------------------------
    def draw(self, frame: np.ndarray, t: float) -> None:
        """Blend the overlay for time ``t`` (seconds) into one yuv420p frame, in place."""
        H, W, lay, tl, e, spec = self.height, self.width, self.lay, self.tl, self.event, self.spec
        intro = 0.35 + 0.65 * ease_out_cubic(t / max(tl.intro_end, 1e-6))  # frame 0 already shows the board
        slide_in = (1 - ease_out_cubic(t / max(tl.intro_end, 1e-6))) * lay.row_h * 0.6
        shake = self._thud(t) if spec.shield else 0.0
        dy = slide_in + shake
        p = self._progress(t)
        if e.event == "rank_up":
            gap_slots = 1 if (e.old_rank - e.new_rank) > 1 else 0
            user_from = 1 + gap_slots
            user_slot = user_from * (1 - p)
            if spec.motion_blur:
                speed = abs(self._progress(t + 0.02) - self._progress(t - 0.02)) / 0.04 / max(user_from, 1)
                if speed > 0.3:
                    y = int(lay.slot_y(user_slot) + dy + lay.row_h * 0.3)
                    length = int(lay.row_h * min(3.0, 0.6 + speed * 0.5))
                    blend(frame, H, W, self.smear, lay.card_x, y, min(1.0, speed / 2), (0, 0, W, y + length))
            if self.rival_row:
                self._draw_rival(frame, t, clamp01(p), intro, dy)
            if gap_slots:
                self._row(frame, self.gap_row, 1 + clamp01(p) * gap_slots, intro * (1 - clamp01(p)), dy)
            rank = e.new_rank if p >= 0.5 else e.old_rank
            self._row(frame, self.user_row, user_slot, intro, dy)
            self._row(frame, self.row_ranks[rank], user_slot, intro, dy)
            self._draw_arrow(frame, t)
        elif e.event == "defend":
            push = math.sin(math.pi * clamp01((t - tl.leap) / max(tl.impact - tl.leap, 1e-6)))
            if self.rival_row:
                self._row(frame, self.rival_row, 1 - 0.35 * push, intro, dy)
                self._row(frame, self.rival_ranks[e.new_rank + 1], 1 - 0.35 * push, intro, dy)
            self._row(frame, self.user_row, 0, intro, dy)
            self._row(frame, self.row_ranks[e.new_rank], 0, intro, dy)
        else:  # first_entry: the row springs up into the board
            self._row(frame, self.user_row, 1.6 * (1 - p), intro, slide_in)
            self._row(frame, self.row_ranks[e.new_rank], 1.6 * (1 - p), intro, slide_in)
            self._draw_arrow(frame, t)
        self._draw_callout(frame, t)
        if self.banner is not None and spec.banner:
            self._draw_banner(frame, t)
        self._draw_particles(frame, t)
        if self.letterbox:
            blend(frame, H, W, self.letterbox, 0, 0)
            blend(frame, H, W, self.letterbox, 0, H - self.letterbox.height)
        if self.tag:
            blend(frame, H, W, self.tag, *self.tag_xy)

    def _progress(self, t: float) -> float:
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
            if t < tl.rewind_end:  # fast rewind back to the old place
                return 1 - ease_in_out_cubic((t - tl.rewind) / max(tl.rewind_end - tl.rewind, 1e-6))
            start = tl.rewind_end
            return spring((t - start) / max(tl.impact - start, 1e-6))
        return -DIP + (1 + DIP) * EASINGS[self.spec.move_easing]((t - start) / max(tl.impact - start, 1e-6))

    def _thud(self, t: float) -> float:
        """The board's jolt when the shield lands: a fast decaying shake, in px."""
        a = t - self.tl.impact
        if a < 0 or a > 0.35:
            return 0.0
        return 7 * self.lay.s * math.exp(-a / 0.08) * math.sin(2 * math.pi * 16 * a)

    def _row(self, frame: np.ndarray, sprite: Sprite, slot: float, opacity: float, dy: float = 0.0,
             dx: float = 0.0) -> None:
        blend(frame, self.height, self.width, sprite, int(self.lay.card_x + dx), int(self.lay.slot_y(slot) + dy),
              opacity)

    def _draw_rival(self, frame: np.ndarray, t: float, move: float, intro: float, dy: float) -> None:
        lay, e, tl = self.lay, self.event, self.tl
        rank = self.rival_ranks[e.new_rank if move < 0.5 else e.new_rank + 1]
        if self.ghost_row is None:
            self._row(frame, self.rival_row, move, intro, dy)
            self._row(frame, rank, move, intro, dy)
            return
        # desaturate + blur (a cross-fade to the ghost), then accelerate out of the frame to the right
        fade = clamp01((t - tl.leap) / 0.18)
        out = ease_in_cubic((t - tl.leap) / max(tl.impact + 0.25 - tl.leap, 1e-6))
        dx = out * (self.width - lay.card_x + 8)
        if dx >= self.width - lay.card_x:
            return  # gone: nothing of it is left in the frame
        self._row(frame, self.rival_row, move, intro * (1 - fade), dy, dx)
        self._row(frame, rank, move, intro * (1 - fade), dy, dx)
        self._row(frame, self.ghost_row, move, intro * fade * (1 - 0.4 * out), dy, dx)

    def _draw_arrow(self, frame: np.ndarray, t: float) -> None:
        """The arrow whooshes up into the callout, stretched by its speed, over a smear of light; it bursts
        into the flash at the impact."""
        tl = self.tl
        start = tl.rewind_end if tl.rewind else tl.leap
        if t < tl.anticipation or t > tl.impact + 0.12:
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
        opacity = clamp01((t - tl.anticipation) / 0.15) * (1 - clamp01((t - tl.impact) / 0.12))
        ay = y - (arrow.height - self.arrows[1.0].height) * 0.2
        if speed > 1e-3 and 0 < x < 1:
            smear = self.smears[min(int(speed / max(top_speed, 1e-6) * 5), 4)]
            glow(frame, self.height, self.width, smear, int(self.arrow_x + (arrow.width - smear.width) / 2),
                 int(ay + arrow.height * 0.55), opacity)
        blend(frame, self.height, self.width, arrow, int(self.arrow_x + (self.arrows[1.0].width - arrow.width) / 2),
              int(ay), opacity)

    def _draw_callout(self, frame: np.ndarray, t: float) -> None:
        tl, H, W = self.tl, self.height, self.width
        intro = clamp01(t / max(tl.intro_end, 1e-6))
        if self.from_label is not None:
            after = clamp01((t - tl.impact) / 0.3)
            blend(frame, H, W, self.from_label, int(self.from_xy[0]), int(self.from_xy[1]), intro * (1 - 0.35 * after))
        a = t - tl.impact
        if a < 0:
            return
        cx, cy = self.big_centre
        scale = punch(a / tl.punch_s)
        beat = self.spec.beats.beat_hz
        if beat and a > tl.punch_s:  # a pulse on every beat after the punch
            scale += 0.1 * max(0.0, 1 - ((t * beat) % 1.0) * 4)
        key = min(PUNCH_SCALES, key=lambda k: abs(k - scale))
        if self.shield is not None:  # the shield drops in and lands with a thud at the impact
            drop = 1 - ease_in_cubic((t - tl.leap) / max(tl.impact - tl.leap, 1e-6))
            sy = cy - self.shield.height / 2 - drop * self.height * 0.3
            blend(frame, H, W, self.shield, int(cx - self.shield.width / 2), int(sy + self._thud(t)),
                  clamp01((t - tl.leap) / 0.1))
        else:
            sprite = self.big[key]
            blend(frame, H, W, sprite, int(self.big_centre[0] - sprite.width / 2), int(cy - sprite.height / 2),
                  clamp01(a / 0.06))
        if a < 0.36:  # the flash ring, expanding and fading
            i = min(int(a / 0.36 * len(self.rings)), len(self.rings) - 1)
            ring = self.rings[i]
            glow(frame, H, W, ring, int(cx - ring.width / 2), int(cy - ring.height / 2), 1 - a / 0.36)

    def _draw_banner(self, frame: np.ndarray, t: float) -> None:
        b, tl = self.spec.banner, self.tl
        assert b is not None and self.banner is not None
        if b.shows == "from_impact":
            appear = clamp01(ease_out_back((t - tl.impact + 0.1) / 0.35))
        elif b.shows == "rewind":
            if not tl.rewind:
                return
            appear = 1.0 if tl.rewind - 0.05 <= t <= tl.rewind_end + 0.2 else 0.0
        else:
            appear = clamp01(t / max(tl.intro_end, 1e-6))
        blend(frame, self.height, self.width, self.banner, *self.banner_xy, appear)

    def _draw_particles(self, frame: np.ndarray, t: float) -> None:
        H, W, rate = self.height, self.width, self.spec.spark_time
        for p in self._particles:
            age = (t - p.born) * rate
            if age < 0 or age > p.life:
                continue
            vy = p.vy + p.gravity * age
            x = p.x + p.vx * age
            y = p.y + p.vy * age + 0.5 * p.gravity * age * age
            b = int(round(math.atan2(vy, p.vx) / (2 * math.pi) * STREAK_BINS)) % STREAK_BINS
            spr = self.streaks[p.colour][b]
            # the streak's head is at the particle, its tail behind it
            glow(frame, H, W, spr, int(x - spr.width / 2), int(y - spr.height / 2), 1 - age / p.life, self.clip)


# -- end card ----------------------------------------------------------------------------

PULSE_SCALES = (1.0, 1.03, 1.06)
END_CARD_DIM = 0.55  # how far the end card dims the live background toward black
DIMMED_KEEP = 4  # backgrounds whose dimmed end-card frames a process keeps (~15 MB each at 864x480, 25 frames)
_dimmed: OrderedDict[tuple[str, int, int, float], np.ndarray] = OrderedDict()
_dimmed_lock = threading.Lock()


def dimmed_frames(key: str, frames: np.ndarray, start: int) -> np.ndarray:
    """``frames[start:]`` of a cached background, dimmed for the end card: made once per background and reused
    by every user of it (it holds no personal data), so a per-user render only copies and blends sprites.

    ``key`` is the background's cache key (its content hash); the last ``DIMMED_KEEP`` are kept."""
    k = (key, start, len(frames), END_CARD_DIM)
    with _dimmed_lock:
        if k in _dimmed:
            _dimmed.move_to_end(k)
            return _dimmed[k]
    height = frames.shape[1] * 2 // 3
    tables = dim_table(END_CARD_DIM)
    out = np.array(frames[start:])
    for frame in out:
        dim(frame, height, tables)
    out.flags.writeable = False  # shared between renders: each copies its frame before drawing on it
    with _dimmed_lock:
        _dimmed[k] = out
        while len(_dimmed) > DIMMED_KEEP:
            _dimmed.popitem(last=False)
    return out


class EndCard:
    """The last beat, over the live background: name, new rank, CTA button (pulsing) and logo on a dimmed frame.

    Built from small sprites blended in YUV, so no full frame is converted between colour spaces; the
    dimming is one table look-up per byte."""

    def __init__(self, variant: Variant, event: RankEvent, width: int, height: int, logo_path: str | None = None,
                 label: str | None = None) -> None:
        self.width, self.height = width, height
        lay = layout(width, height)
        s = lay.s
        w = words(event.locale)
        primary, accent, white = _rgba(variant.brand.primary), _rgba(variant.brand.accent), (255, 255, 255, 255)
        self.legibility: list[dict[str, Any]] = []
        max_text = int(width * 0.86)
        name_size, rank_size, sub_size, cta_size = int(40 * s), int(100 * s), int(26 * s), int(30 * s)
        if event.event == "rank_up":
            sub = w["place"] if event.rank_delta == 1 else w["places"].format(n=event.rank_delta)
        elif event.event == "defend":
            sub = w["defended"]
        else:
            sub = w["welcome"]
        if event.challenge:
            sub = f"{sub} · {event.challenge}"
        stroke = max(2, name_size // 14)
        ink, fix = tx.ink_for(primary)
        cta = variant.cta_for(event.locale)
        self.buttons = [shared("button", cta, int(cta_size * k), primary, ink, int(width * 0.7), s)
                        for k in PULSE_SCALES]
        parts = [
            Sprite.from_image(tx.text_image(tx.fit(event.user, name_size, max_text), name_size, white,
                                            stroke=stroke, stroke_fill=STROKE)),
            shared("outlined", f"#{event.new_rank}", rank_size, primary, 8 * s),
            shared("outlined", tx.fit(sub, sub_size, max_text), sub_size, accent, 0),
            self.buttons[0],
        ]
        gaps = [int(-6 * s), int(-14 * s), int(10 * s)]
        total = sum(p.height for p in parts) + sum(gaps)
        top, bottom = lay.safe_top, lay.safe_bottom
        y = max(top, (top + bottom - total) / 2)
        self.parts: list[tuple[Sprite, int, int]] = []
        names = ["end card: name (outlined)", "end card: rank (outlined)", "end card: subtitle (outlined)",
                 "end card: button"]
        for i, part in enumerate(parts):
            x = (width - part.width) // 2
            self.parts.append((part, x, int(y)))
            box = (x, int(y), x + part.width, int(y) + part.height)
            if i == 0:  # the name's own width would hint at its length: record the box it may fill
                box = ((width - max_text) // 2, int(y), (width + max_text) // 2, int(y) + part.height)
            if i == 3:
                self.button_centre = (width / 2, y + part.height / 2)
                self._note(names[i], ink, primary, box, fix, worst=True)
            else:
                self._note(names[i], (white, primary, accent)[i], STROKE, box, "outline", worst=False)
            y += part.height + (gaps[i] if i < len(gaps) else 0)
        self.logo: tuple[Sprite, int, int] | None = None
        if logo_path:
            side = _even(56 * s)
            m = _even(18 * s)
            corner = variant.brand.logo_corner
            lx = m if corner.endswith("left") else width - side - m
            ly = top if corner.startswith("top") else bottom - side
            self.logo = (shared("logo", logo_path, side), lx, ly)
            self.logo_box = (lx, ly, lx + side, ly + side)
        self.tag = None
        if label:
            self.tag = (shared("label", label, int(14 * s), white, (170, 30, 30, 235)), _even(10 * s), top)
        self.tables = dim_table(END_CARD_DIM)

    def _note(self, element: str, fg: tuple[int, ...], bg: tuple[int, ...], box: tuple[int, ...], fix: str | None,
              worst: bool) -> None:
        ratio = tx.worst_contrast(fg, bg) if worst else tx.contrast_ratio(fg, bg)
        self.legibility.append({"element": element, "text": list(fg[:3]), "behind": list(bg[:4]),
                                "contrast": round(ratio, 2), "box": [int(v) for v in box], "fix": fix})

    def draw(self, frame: np.ndarray, t: float) -> None:
        """The end card ``t`` seconds after it starts, over this frame of the (still moving) background."""
        dim(frame, self.height, self.tables)
        self.draw_dimmed(frame, t)

    def draw_dimmed(self, frame: np.ndarray, t: float) -> None:
        """``draw`` over a frame already dimmed (``dimmed_frames``): the per-user part, sprites only."""
        H, W = self.height, self.width
        for sprite, x, y in self.parts[:-1]:
            blend(frame, H, W, sprite, x, y)
        pulse = 0.5 - 0.5 * math.cos(2 * math.pi * 1.25 * t)  # the button breathes, 1.25 times a second
        button = self.buttons[min(int(pulse * len(PULSE_SCALES)), len(PULSE_SCALES) - 1)]
        cx, cy = self.button_centre
        blend(frame, H, W, button, int(cx - button.width / 2), int(cy - button.height / 2))
        if self.logo:
            blend(frame, H, W, *self.logo)
        if self.tag:
            blend(frame, H, W, *self.tag)


def end_card(variant: Variant, event: RankEvent, background: np.ndarray, width: int, height: int,
             logo_path: str | None = None, label: str | None = None) -> np.ndarray:
    """The end card's first frame over ``background`` (yuv420p): the poster."""
    card = np.array(background)
    EndCard(variant, event, width, height, logo_path, label).draw(card, 0.0)
    return card
