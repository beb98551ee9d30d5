"""The exact layer: names, ranks, arrow, sparks, style effects and the end card, drawn over a background.

Everything personal or textual is drawn here, never by a model. Sprites are drawn once per render with
Pillow and converted to YUV; each frame then only blends them at eased positions into the background.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lab.library.events import RankEvent
from lab.library.variant import Variant
from lab.render import text as tx
from lab.render.backends import RANDOM_WEIGHTS_LABEL
from lab.render.motion import hex_rgb
from lab.render.styles import STYLE_SPECS, Easing, StyleSpec
from lab.render.yuv import Sprite, blend, darken

WORDS = {
    "en": {"welcome": "Welcome!", "places": "▲ {n} places", "place": "▲ 1 place", "defended": "Rank defended",
           "new": "NEW", "entered": "New on the board", "replay": "SLOW-MO REPLAY", "random": RANDOM_WEIGHTS_LABEL},
    "zh": {"welcome": "欢迎上榜!", "places": "▲ 上升 {n} 名", "place": "▲ 上升 1 名", "defended": "守擂成功",
           "new": "新", "entered": "首次上榜", "replay": "慢动作回放", "random": "随机权重"},
}


def words(locale: str) -> dict[str, str]:
    return WORDS.get(locale.split("-")[0], WORDS["en"])


# -- easing ------------------------------------------------------------------------------


def clamp01(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def ease_out_cubic(x: float) -> float:
    x = clamp01(x)
    return 1 - (1 - x) ** 3


def ease_in_out_cubic(x: float) -> float:
    x = clamp01(x)
    return 4 * x**3 if x < 0.5 else 1 - (-2 * x + 2) ** 3 / 2


def ease_out_back(x: float) -> float:
    x = clamp01(x)
    c1 = 1.70158
    return 1 + (c1 + 1) * (x - 1) ** 3 + c1 * (x - 1) ** 2


def ease_in_out_sine(x: float) -> float:
    return -(math.cos(math.pi * clamp01(x)) - 1) / 2


# A style's move_easing names one of these.
EASINGS: dict[Easing, Callable[[float], float]] = {"out_cubic": ease_out_cubic, "in_out_cubic": ease_in_out_cubic,
                                                   "in_out_sine": ease_in_out_sine}


# -- timeline ----------------------------------------------------------------------------

END_CARD_MIN_S = 0.75
CROSSFADE_S = 0.2


@dataclass(frozen=True)
class Timeline:
    duration: float
    intro_end: float
    move_start: float
    move_end: float
    end_card: float  # from here on: one still frame

    @property
    def overtake(self) -> float:
        return (self.move_start + self.move_end) / 2


def timeline(style: str, duration: float) -> Timeline:
    end_card = duration - max(END_CARD_MIN_S, 0.25 * duration)
    intro_end = min(0.3, 0.12 * duration)
    move_start = intro_end + 0.05
    move = min(STYLE_SPECS[style].move_seconds, max(end_card - CROSSFADE_S - 0.35 - move_start, 0.2))
    return Timeline(duration, intro_end, move_start, move_start + move, end_card)


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


def layout(width: int, height: int) -> Layout:
    landscape = width >= height
    s = min(width, height) / 480
    row_h = _even(64 * s)
    gap = _even(12 * s)
    card_w = _even(width * (0.5 if landscape else 0.86))
    card_x = _even(width * 0.07) if landscape else _even((width - card_w) / 2)
    card_y = _even(height * 0.3) if landscape else _even(height * 0.36)
    return Layout(width, height, landscape, s, card_x, card_y, card_w, row_h, gap)


def _even(x: float) -> int:
    return int(round(x / 2)) * 2


# -- sprites -----------------------------------------------------------------------------


def _rgba(color: str, alpha: int = 255) -> tuple[int, int, int, int]:
    return (*hex_rgb(color), alpha)


def _row_image(lay: Layout, name: str, fill: tuple[int, int, int, int], text_fill: tuple[int, int, int, int],
               outline: tuple[int, int, int, int] | None = None, badge: str | None = None,
               badge_fill: tuple[int, int, int, int] | None = None) -> Image.Image:
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
        tx.draw_text(d, (bx + bw / 2, h / 2), badge, bsize, (255, 255, 255, 255), anchor="mm")
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


def _arrow_image(lay: Layout, color: tuple[int, int, int, int]) -> Image.Image:
    w, h = _even(70 * lay.s), _even(96 * lay.s)
    scale = 4
    img = Image.new("RGBA", (w * scale, h * scale), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    W, H = w * scale, h * scale
    d.polygon([(W * 0.5, 0), (W, H * 0.45), (W * 0.68, H * 0.45), (W * 0.68, H), (W * 0.32, H), (W * 0.32, H * 0.45),
               (0, H * 0.45)], fill=color)
    img = img.resize((w, h), Image.LANCZOS)
    glow = Image.new("RGBA", (w + 24, h + 24), (0, 0, 0, 0))
    glow.paste(img, (12, 12), img)
    halo = glow.filter(ImageFilter.GaussianBlur(6 * lay.s))
    return Image.alpha_composite(halo, glow)


def _dot_image(radius: int, color: tuple[int, int, int]) -> Image.Image:
    size = _even(radius * 4 + 2)
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    dist = np.sqrt((xx - c) ** 2 + (yy - c) ** 2)
    alpha = np.clip(255 * np.exp(-((dist / max(radius, 1)) ** 2)), 0, 255).astype(np.uint8)
    core = dist < radius * 0.6
    rgb = np.zeros((size, size, 3), np.uint8)
    rgb[:] = color
    rgb[core] = (255, 255, 255)
    return Image.fromarray(np.dstack([rgb, alpha]))


def _shield_image(lay: Layout, color: tuple[int, int, int, int]) -> Image.Image:
    w, h = _even(84 * lay.s), _even(100 * lay.s)
    scale = 4
    W, H = w * scale, h * scale
    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    pts = [(W * 0.5, 0), (W, H * 0.16), (W * 0.94, H * 0.58), (W * 0.5, H), (W * 0.06, H * 0.58), (0, H * 0.16)]
    d.polygon(pts, fill=color)
    inner = [(W * 0.5, H * 0.1), (W * 0.88, H * 0.22), (W * 0.83, H * 0.56), (W * 0.5, H * 0.88),
             (W * 0.17, H * 0.56), (W * 0.12, H * 0.22)]
    d.polygon(inner, fill=(255, 255, 255, 70))
    d.line([(W * 0.3, H * 0.5), (W * 0.45, H * 0.65), (W * 0.72, H * 0.34)], fill=(255, 255, 255, 255),
           width=int(W * 0.09), joint="curve")
    return img.resize((w, h), Image.LANCZOS)


def _label_image(text: str, size: int, fg: tuple[int, int, int, int], bg: tuple[int, int, int, int]) -> Image.Image:
    t = tx.text_image(text, size, fg)
    pad_x, pad_y = int(size * 0.6), int(size * 0.3)
    img = Image.new("RGBA", (t.width + 2 * pad_x, t.height + 2 * pad_y), (0, 0, 0, 0))
    ImageDraw.Draw(img).rounded_rectangle([0, 0, img.width - 1, img.height - 1], radius=int(size * 0.5), fill=bg)
    img.alpha_composite(t, (pad_x, pad_y))
    return img


def _logo_image(path: str, side: int) -> Image.Image:
    return Image.open(path).convert("RGBA").resize((side, side), Image.LANCZOS)


@functools.lru_cache(maxsize=512)
def shared(kind: str, *args: object) -> Sprite:
    """Sprites that hold nothing personal (ranks, arrow, sparks, CTA, logo), built once per process.

    Names are never cached: their sprites are made per render and dropped with it."""
    builders = {"rank": _rank_image, "arrow": _arrow_image, "dot": _dot_image, "shield": _shield_image,
                "label": _label_image, "glow": _glow_text_image, "button": _button_image, "logo": _logo_image,
                "text": tx.text_image}
    return Sprite.from_image(builders[kind](*args))


# -- particles ---------------------------------------------------------------------------


@dataclass
class Particle:
    x: float
    y: float
    vx: float
    vy: float
    born: float
    life: float
    sprite: int


def burst(rng: np.random.Generator, x: float, y: float, t0: float, count: int, speed: float, life: float,
          sprites: int, gravity_up: bool = False) -> list[Particle]:
    out = []
    for _ in range(count):
        ang = rng.uniform(0, 2 * math.pi) if not gravity_up else rng.uniform(-math.pi * 0.95, -math.pi * 0.05)
        v = speed * rng.uniform(0.35, 1.0)
        out.append(Particle(x, y, v * math.cos(ang), v * math.sin(ang), t0 + rng.uniform(0, 0.06),
                            life * rng.uniform(0.6, 1.0), int(rng.integers(0, sprites))))
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

    def __post_init__(self) -> None:
        self.spec = STYLE_SPECS[self.variant.style]
        self.lay = layout(self.width, self.height)
        self.tl = timeline(self.variant.style, (self.frames - 1) / self.fps)
        self._build()

    # sprites are built once per render
    def _build(self) -> None:
        v, e, lay, spec = self.variant, self.event, self.lay, self.spec
        primary, accent = _rgba(v.brand.primary), _rgba(v.brand.accent)
        white = (255, 255, 255, 255)
        w = words(e.locale)
        self.user_row = Sprite.from_image(_row_image(lay, e.user, primary, white, outline=(255, 255, 255, 200),
                                                     badge=w["new"] if e.event == "first_entry" else None,
                                                     badge_fill=accent))
        dark = (18, 22, 34, 200)
        self.rival_row = (Sprite.from_image(_row_image(lay, e.rival, dark, (230, 232, 240, 255))) if e.rival else None)
        ghost = (200, 210, 230, 90)
        self.ghost_row = (Sprite.from_image(_row_image(lay, e.rival, ghost, (255, 255, 255, 150)))
                          if e.rival and spec.rival_ghost else None)
        self.gap_row = Sprite.from_image(_row_image(lay, "· · ·", (18, 22, 34, 120), (180, 184, 196, 255)))
        old = e.old_rank or e.new_rank
        span = list(range(old, e.new_rank - 1, -1)) if old >= e.new_rank else [e.new_rank]
        if len(span) > 12:  # a long climb rolls through a sample of the ranks, always ending on the new one
            idx = np.linspace(0, len(span) - 1, 12).round().astype(int)
            span = [span[i] for i in idx]
        self.roll = span
        self.rank_sprites = {r: shared("rank", lay, r, white) for r in span}
        self.rival_ranks = {r: shared("rank", lay, r, (220, 224, 235, 255))
                            for r in {e.new_rank, e.new_rank + 1}}
        self.arrow = shared("arrow", lay, accent)
        rgb_a = hex_rgb(v.brand.accent)
        dots = [(int(3 * lay.s), rgb_a), (int(4 * lay.s), (255, 255, 255)), (int(3 * lay.s), hex_rgb(v.brand.primary)),
                (int(5 * lay.s), rgb_a)]
        self.dot_sprites = [shared("dot", max(r, 2), c) for r, c in dots]
        self.shield = shared("shield", lay, (*hex_rgb(v.brand.primary), 235)) if spec.shield else None
        b = spec.banner
        self.banner = shared("label", w[b.word], int(b.size * lay.s), white,
                             accent if b.on_accent else (0, 0, 0, 150)) if b else None
        self.tag = shared("label", self.label, int(14 * lay.s), white, (200, 40, 40, 200)) if self.label else None
        bar_h = _even(self.height * 0.08)
        self.letterbox = Sprite.from_image(Image.new("RGBA", (self.width, bar_h), (0, 0, 0, 230))) \
            if spec.letterbox else None
        self._particles = self._plan_particles()

    def _plan_particles(self) -> list[Particle]:
        if not self.particles:
            return []
        rng = np.random.default_rng(self.seed)
        lay, tl, spec = self.lay, self.tl, self.spec
        k = 0.5 + self.variant.effects.intensity
        n = len(self.dot_sprites)
        cx, cy = lay.card_x + lay.card_w * 0.5, lay.slot_y(0.5) + lay.row_h / 2
        speed = 320 * lay.s * spec.spark_speed
        out = burst(rng, cx, cy, tl.overtake, int(36 * k), speed, spec.spark_life, n)
        if spec.fireworks:
            for i in range(3):
                fx = self.width * rng.uniform(0.55, 0.9) if lay.landscape else self.width * rng.uniform(0.2, 0.8)
                fy = self.height * rng.uniform(0.15, 0.35)
                out += burst(rng, fx, fy, tl.move_start + i * 0.45, int(40 * k), 260 * lay.s, 1.1, n)
        if spec.falling_sparks:
            for _ in range(int(30 * k)):
                out.append(Particle(rng.uniform(0, self.width), -10, rng.uniform(-20, 20) * lay.s,
                                    rng.uniform(40, 90) * lay.s, rng.uniform(0, tl.end_card * 0.7), 2.5,
                                    int(rng.integers(0, n))))
        return out

    # -- one frame ------------------------------------------------------------------------
    def draw(self, frame: np.ndarray, t: float) -> None:
        """Blend the overlay for time ``t`` (seconds) into one yuv420p frame, in place."""
        W, H, lay, tl, e, spec = self.width, self.height, self.lay, self.tl, self.event, self.spec
        intro = ease_out_cubic(t / max(tl.intro_end, 1e-6))
        move = self._move_progress(t)
        if self.letterbox:
            blend(frame, H, W, self.letterbox, 0, 0)
            blend(frame, H, W, self.letterbox, 0, H - self.letterbox.height)
        slide_in = (1 - intro) * lay.row_h * 0.6

        if e.event == "rank_up":
            gap_slots = 1 if (e.old_rank - e.new_rank) > 1 else 0
            user_from, user_to = 1 + gap_slots, 0
            user_slot = user_from + (user_to - user_from) * move
            if self.rival_row:
                rival_slot = 0 + move * 1
                self._draw_rival(frame, rival_slot, move, intro, slide_in)
            if gap_slots:
                self._row(frame, self.gap_row, 1 + move * gap_slots, intro * (1 - move), slide_in)
            if spec.motion_trail and 0 < move < 1:
                for i, lag in enumerate((0.18, 0.1)):  # a motion trail behind the user's row
                    trail = self._move_progress(t - lag * 0.5)
                    self._row(frame, self.user_row, user_from + (user_to - user_from) * trail, 0.22 + 0.12 * i,
                              slide_in)
            self._user(frame, user_slot, intro, slide_in, move)
            self._draw_arrow(frame, t, user_slot)
        elif e.event == "defend":
            push = math.sin(math.pi * clamp01((t - tl.move_start) / max(tl.move_end - tl.move_start, 1e-6)))
            if self.rival_row:
                self._row(frame, self.rival_row, 1 - 0.35 * push, intro, slide_in)
                rank = self.rival_ranks.get(e.new_rank + 1)
                if rank:
                    blend(frame, H, W, rank, lay.card_x, int(lay.slot_y(1 - 0.35 * push) + slide_in), intro)
            self._user(frame, 0, intro, slide_in, 1.0)
            if self.shield:
                sx = lay.card_x + lay.card_w + _even(14 * lay.s)
                if not lay.landscape:
                    sx = lay.card_x + lay.card_w - self.shield.width - _even(8 * lay.s)
                sy = int(lay.slot_y(0) + lay.row_h / 2 - self.shield.height / 2 - (0 if lay.landscape else lay.row_h))
                blend(frame, H, W, self.shield, sx, sy, intro * (0.75 + 0.25 * push))
        else:  # first_entry: the row rises into the board
            rise = ease_out_back((t - tl.move_start) / max(tl.move_end - tl.move_start, 1e-6))
            self._user(frame, 1.6 * (1 - rise), clamp01(rise * 1.5), 0, 1.0)

        if self.banner and spec.banner:
            b = spec.banner
            appear = ease_out_back((t - tl.move_start) / 0.5) if b.pops_in else intro
            bx = (W - self.banner.width) // 2 if (b.centred_in_portrait and not lay.landscape) else lay.card_x
            by = lay.card_y - self.banner.height - _even(20 * lay.s)
            if self.letterbox:  # under the top bar
                by = self.letterbox.height + _even(10 * lay.s)
            blend(frame, H, W, self.banner, bx, by, clamp01(appear))
        for p in self._particles:
            age = t - p.born
            if 0 <= age <= p.life:
                g = spec.spark_gravity * lay.s
                x = p.x + p.vx * age
                y = p.y + p.vy * age + 0.5 * g * age * age
                spr = self.dot_sprites[p.sprite]
                blend(frame, H, W, spr, int(x - spr.width / 2), int(y - spr.height / 2), 1 - age / p.life)
        if self.tag:
            blend(frame, H, W, self.tag, _even(10 * lay.s), _even(10 * lay.s))

    def _move_progress(self, t: float) -> float:
        tl = self.tl
        x = (t - tl.move_start) / max(tl.move_end - tl.move_start, 1e-6)
        return EASINGS[self.spec.move_easing](x)

    def _row(self, frame: np.ndarray, sprite: Sprite, slot: float, opacity: float, dy: float = 0.0) -> None:
        blend(frame, self.height, self.width, sprite, self.lay.card_x, int(self.lay.slot_y(slot) + dy), opacity)

    def _user(self, frame: np.ndarray, slot: float, opacity: float, dy: float, move: float) -> None:
        lay = self.lay
        self._row(frame, self.user_row, slot, opacity, dy)
        y = int(lay.slot_y(slot) + dy)
        # The rank rolls through the sequence like an odometer, clipped to the label's box.
        pos = move * (len(self.roll) - 1)
        i = min(int(pos), len(self.roll) - 1)
        frac = pos - i
        clip = (lay.card_x, y, lay.card_x + self.rank_sprites[self.roll[0]].width, y + lay.row_h)
        blend(frame, self.height, self.width, self.rank_sprites[self.roll[i]], lay.card_x,
              int(y - frac * lay.row_h), opacity, clip)
        if i + 1 < len(self.roll):
            blend(frame, self.height, self.width, self.rank_sprites[self.roll[i + 1]], lay.card_x,
                  int(y + (1 - frac) * lay.row_h), opacity, clip)

    def _draw_rival(self, frame: np.ndarray, slot: float, move: float, intro: float, dy: float) -> None:
        lay, e = self.lay, self.event
        if self.ghost_row is not None:
            # The rival fades to a ghost and drifts out to the side.
            drift = move * lay.card_w * 0.35
            solid = 1 - move
            blend(frame, self.height, self.width, self.rival_row, int(lay.card_x + drift), int(lay.slot_y(slot) + dy),
                  intro * solid)
            blend(frame, self.height, self.width, self.ghost_row, int(lay.card_x + drift), int(lay.slot_y(slot) + dy),
                  intro * move * (1 - 0.5 * move))
            rank = e.new_rank if move < 0.5 else e.new_rank + 1  # pushed down one place by the overtake
            blend(frame, self.height, self.width, self.rival_ranks[rank], int(lay.card_x + drift),
                  int(lay.slot_y(slot) + dy), intro * (1 - 0.6 * move))
            return
        self._row(frame, self.rival_row, slot, intro, dy)
        rank = e.new_rank if move < 0.5 else e.new_rank + 1
        blend(frame, self.height, self.width, self.rival_ranks[rank], lay.card_x, int(lay.slot_y(slot) + dy), intro)

    def _draw_arrow(self, frame: np.ndarray, t: float, user_slot: float) -> None:
        lay, tl = self.lay, self.tl
        rise = ease_out_cubic((t - tl.move_start * 0.6) / max(tl.move_end - tl.move_start * 0.6 + 0.3, 1e-6))
        if rise <= 0:
            return
        if lay.landscape:
            ax = lay.card_x + lay.card_w + _even(28 * lay.s)
        else:
            ax = lay.card_x + lay.card_w - self.arrow.width
        top = lay.slot_y(0) - lay.row_h * 0.4
        bottom = lay.slot_y(2.2)
        if not lay.landscape:  # above the card, rising into the space over it
            bottom = lay.slot_y(0) - self.arrow.height - lay.gap
            top = bottom - lay.row_h * 1.6
        y = bottom + (top - bottom) * rise
        for lag, alpha in ((0.16, 0.25), (0.08, 0.45)):  # a fading trail below the arrow
            ry = bottom + (top - bottom) * ease_out_cubic(
                (t - lag - tl.move_start * 0.6) / max(tl.move_end - tl.move_start * 0.6 + 0.3, 1e-6))
            if ry > y:
                blend(frame, self.height, self.width, self.arrow, ax, int(ry), alpha * clamp01(rise * 3))
        blend(frame, self.height, self.width, self.arrow, ax, int(y), clamp01(rise * 3))


# -- end card ----------------------------------------------------------------------------


def _glow_text_image(text: str, size: int, color: tuple[int, int, int, int], blur: float) -> Image.Image:
    t = tx.text_image(text, size, color, pad=int(blur * 2) + 2)
    halo = t.filter(ImageFilter.GaussianBlur(blur))
    return Image.alpha_composite(halo, t)


def _button_image(text: str, size: int, fill: tuple[int, int, int, int], max_width: int, s: float) -> Image.Image:
    label = tx.fit(text, size, max_width)
    bw = tx.text_width(label, size) + int(size * 2.2)
    bh = int(size * 2.1)
    m = int(12 * s)
    img = Image.new("RGBA", (bw + 2 * m, bh + 2 * m), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([m, m + 6 * s, m + bw, m + bh + 6 * s], radius=bh / 2, fill=(0, 0, 0, 140))
    img = img.filter(ImageFilter.GaussianBlur(6 * s))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([m, m, m + bw, m + bh], radius=bh / 2, fill=fill)
    tx.draw_text(d, (m + bw / 2, m + bh / 2), label, size, (255, 255, 255, 255), anchor="mm")
    return img


def end_card(variant: Variant, event: RankEvent, background: np.ndarray, width: int, height: int,
             logo_path: str | None = None, label: str | None = None) -> np.ndarray:
    """The still, clean last frame (yuv420p): name, new rank, CTA button and logo on the dimmed background.

    Built from small sprites blended in YUV, so no full frame is converted between colour spaces."""
    card = np.array(background)
    darken(card, height, width, 0.55)
    lay = layout(width, height)
    s = lay.s
    w = words(event.locale)
    primary, accent, white = _rgba(variant.brand.primary), _rgba(variant.brand.accent), (255, 255, 255, 255)
    max_text = int(width * 0.86)
    name_size, rank_size, sub_size, cta_size = int(40 * s), int(120 * s), int(26 * s), int(30 * s)
    if event.event == "rank_up":
        sub = w["place"] if event.rank_delta == 1 else w["places"].format(n=event.rank_delta)
    elif event.event == "defend":
        sub = w["defended"]
    else:
        sub = w["welcome"]
    if event.challenge:
        sub = f"{sub} · {event.challenge}"
    parts = [
        Sprite.from_image(tx.text_image(tx.fit(event.user, name_size, max_text), name_size, white)),
        shared("glow", f"#{event.new_rank}", rank_size, primary, 12 * s),
        shared("text", tx.fit(sub, sub_size, max_text), sub_size, accent),
        shared("button", variant.cta_for(event.locale), cta_size, primary, int(width * 0.7), s),
    ]
    gaps = [int(-6 * s), int(-14 * s), int(10 * s)]
    total = sum(p.height for p in parts) + sum(gaps)
    y = (height - total) / 2 - (0 if lay.landscape else height * 0.04)
    for i, part in enumerate(parts):
        blend(card, height, width, part, (width - part.width) // 2, int(y))
        y += part.height + (gaps[i] if i < len(gaps) else 0)
    if logo_path:
        side = _even(56 * s)
        logo = shared("logo", logo_path, side)
        m = _even(18 * s)
        corner = variant.brand.logo_corner
        lx = m if corner.endswith("left") else width - side - m
        ly = m if corner.startswith("top") else height - side - m
        blend(card, height, width, logo, lx, ly)
    if label:
        blend(card, height, width, shared("label", label, int(14 * s), white, (200, 40, 40, 200)),
              _even(10 * s), _even(10 * s))
    return card
