"""Sprites: every picture the overlay blends, drawn once with Pillow and converted to YUV (``yuv.Sprite``).

Those that hold nothing personal (ranks, arrow, sparks, confetti, the CTA, the logo) are built once per process
(``shared``, ``rank_art``); names are drawn per render and dropped with it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lab.render import text as tx
from lab.render.motion import hex_rgb
from lab.render.overlay.layout import Layout, even
from lab.render.yuv import Sprite

STROKE = (10, 12, 20, 255)  # the outline that keeps text over a moving background legible
RGBA = tuple[int, int, int, int]


def rgba(color: str, alpha: int = 255) -> RGBA:
    return (*hex_rgb(color), alpha)


def _row_image(lay: Layout, name: str, fill: RGBA, text_fill: RGBA,
               outline: RGBA | None = None, badge: str | None = None,
               badge_fill: RGBA | None = None,
               badge_text: RGBA = (255, 255, 255, 255)) -> Image.Image:
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


def _rank_image(lay: Layout, rank: int, color: RGBA) -> Image.Image:
    h = lay.row_h
    w = int(h * 1.35)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    label = f"#{rank}"
    size = int(h * 0.5)
    while size > 8 and tx.text_width(label, size) > w - 4:
        size -= 2
    tx.draw_text(ImageDraw.Draw(img), (w / 2, h / 2), label, size, color, anchor="mm")
    return img


def _arrow_image(s: float, color: RGBA, stretch: float) -> Image.Image:
    """The golden arrow, stretched along its travel (a squash-and-stretch at speed), with a soft halo."""
    w, h = even(78 * s / math.sqrt(stretch)), even(104 * s * stretch)
    scale = 4
    W, H = w * scale, h * scale
    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    head = min(H * 0.45, W * 0.9)
    d.polygon([(W * 0.5, 0), (W, head), (W * 0.68, head), (W * 0.68, H), (W * 0.32, H), (W * 0.32, head),
               (0, head)], fill=color)
    img = img.resize((w, h), Image.LANCZOS)
    pad = even(12 * s)
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
    size = even(length + 2 * thick + 4)
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
    size = even(2 * radius + 4 * thick + 4)
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = np.sqrt((xx - c) ** 2 + (yy - c) ** 2)
    alpha = np.clip(255 * np.exp(-(((d - radius) / max(thick, 1)) ** 2)), 0, 255).astype(np.uint8)
    rgb = np.empty((size, size, 3), np.uint8)
    rgb[:] = color
    return Image.fromarray(np.dstack([rgb, alpha]))


def _shield_image(w: int, h: int, color: RGBA, label: str, ink: RGBA, size: int) -> Image.Image:
    """A solid brand-coloured shield with the rank on it (``size`` px letters, shrunk until they fit); the
    highlight is blended over the fill, never written in place of it."""
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
    while size > 8 and tx.text_width(label, size) > w * 0.72:
        size -= 2
    tx.draw_text(ImageDraw.Draw(img), (w / 2, h * 0.46), label, size, ink, anchor="mm")
    return img


def _label_image(text: str, size: int, fg: RGBA, bg: RGBA) -> Image.Image:
    t = tx.text_image(text, size, fg)
    pad_x, pad_y = int(size * 0.6), int(size * 0.3)
    img = Image.new("RGBA", (t.width + 2 * pad_x, t.height + 2 * pad_y), (0, 0, 0, 0))
    ImageDraw.Draw(img).rounded_rectangle([0, 0, img.width - 1, img.height - 1], radius=int(size * 0.5), fill=bg)
    img.alpha_composite(t, (pad_x, pad_y))
    return img


def outlined_image(text: str, size: int, fill: RGBA, glow_px: float) -> Image.Image:
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


def _button_image(text: str, size: int, fill: RGBA, ink: RGBA,
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
        "ring": _ring_image, "shield": _shield_image, "label": _label_image, "outlined": outlined_image,
        "button": _button_image, "logo": _logo_image, "confetti": _confetti_image, "glint": _glint_image,
        "letterbox": _letterbox_image, "shield_shine": _shield_shine_image}
    return Sprite.from_image(builders[kind](*args))



def _letterbox_image(width: int, height: int) -> Image.Image:
    return Image.new("RGBA", (width, height), (0, 0, 0, 255))


def _confetti_image(w: int, h: int, colour: tuple[int, int, int], turn: int, turns: int) -> Image.Image:
    """A paper strip seen at one step of its tumble: foreshortened by the turn, darker on its back."""
    ang = math.pi * turn / turns
    face = abs(math.cos(ang))
    hh = max(2, int(round(h * (0.25 + 0.75 * face))))
    shade = 0.65 + 0.35 * face
    rgb = tuple(int(c * shade) for c in colour)
    size = even(max(w, h) * 1.5 + 4)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(img).rounded_rectangle([(size - w) / 2, (size - hh) / 2, (size + w) / 2, (size + hh) / 2],
                                          radius=min(w, hh) * 0.3, fill=(*rgb, 255))
    return img.rotate(25 + 140 * turn / turns, resample=Image.BICUBIC)


def _glint_image(size: int, colour: tuple[int, int, int]) -> Image.Image:
    """A four-pointed star of light: a glint on a polished surface."""
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dx, dy = np.abs(xx - c) / c, np.abs(yy - c) / c
    rays = np.exp(-(dx * 18) ** 2) * np.clip(1 - dy, 0, 1) ** 2 + np.exp(-(dy * 18) ** 2) * np.clip(1 - dx, 0, 1) ** 2
    core = np.exp(-((dx**2 + dy**2) * 30))
    alpha = np.clip(255 * np.maximum(rays, core), 0, 255).astype(np.uint8)
    rgb = np.empty((size, size, 3), np.uint8)
    rgb[:] = colour
    return Image.fromarray(np.dstack([rgb, alpha]))


def shine_image(base: Image.Image, phase: int, phases: int, strength: float = 0.8) -> Image.Image:
    """A diagonal band of white light over ``base``'s opaque parts only, ``phase`` of ``phases`` steps across."""
    w, h = base.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pos = (xx + 0.5 * yy) / (w + 0.5 * h)  # 0 .. 1 across the picture, diagonally
    centre = -0.2 + 1.4 * phase / max(phases - 1, 1)
    band = np.exp(-(((pos - centre) / 0.07) ** 2))
    alpha = (np.asarray(base.getchannel("A"), np.float32) * band * strength).astype(np.uint8)
    return Image.fromarray(np.dstack([np.full((h, w, 3), 255, np.uint8), alpha]))


def _shield_shine_image(w: int, h: int, color: RGBA, label: str, ink: RGBA, size: int, phase: int,
                        phases: int) -> Image.Image:
    return shine_image(_shield_image(w, h, color, label, ink, size), phase, phases, 0.55)


class RankArt:
    """The big new rank ("#3") drawn once large (outlined, with its glow) and scaled from that one picture for
    the punch, the breath and the flight into the end card, so the number is one object from the impact to the
    end: a new size costs a resize, not a new text render and blur."""

    def __init__(self, text: str, fill: RGBA, master_size: int, glow_ratio: float) -> None:
        self.text, self.master_size = text, master_size
        glow_px = master_size * glow_ratio
        self.master = outlined_image(text, master_size, fill, glow_px)
        # where the letters alone lie in that picture (same canvas and placement, no outline, no glow)
        stroke = max(2, master_size // 14)
        plain = tx.text_image(text, master_size, fill, pad=int(glow_px * 2) + 2 + 2 * stroke)
        self._ink = plain.getchannel("A").getbbox() or (0, 0, plain.width, plain.height)
        # where its glow is still visible (alpha of 16 or more): the box that must stay inside the 8 % margins
        self._glow = self.master.getchannel("A").point(lambda a: 255 if a >= 16 else 0).getbbox() or self._ink
        self._sprites: dict[int, Sprite] = {}
        self._shines: dict[tuple[int, int], Sprite] = {}

    def image(self, size: int) -> Image.Image:
        k = size / self.master_size
        w, h = max(2, even(self.master.width * k)), max(2, even(self.master.height * k))
        return self.master.resize((w, h), Image.BILINEAR if k > 0.5 else Image.BOX)

    def at(self, size: float) -> Sprite:
        """The rank at a font size of ``size`` px (to the nearest 2 px, at most the master's)."""
        key = min(even(size), self.master_size)
        if key not in self._sprites:
            self._sprites[key] = Sprite.from_image(self.image(key))
        return self._sprites[key]

    def shine(self, size: float, phase: int, phases: int) -> Sprite:
        """A band of light crossing the rank's letters (and only them), ``phase`` of ``phases`` steps."""
        key = (min(even(size), self.master_size), phase)
        if key not in self._shines:
            self._shines[key] = Sprite.from_image(shine_image(self.image(key[0]), phase, phases))
        return self._shines[key]

    def ink(self, size: float) -> tuple[float, float, float, float]:
        """The letters' box (no outline, no glow: what a reader or OCR finds) in the sprite of ``at(size)``,
        relative to the sprite's centre."""
        return self._scaled(self._ink, size)

    def extent(self, size: float) -> tuple[float, float, float, float]:
        """The box of the letters with their outline and visible glow, relative to the sprite's centre."""
        return self._scaled(self._glow, size)

    def _scaled(self, box: tuple[int, int, int, int], size: float) -> tuple[float, float, float, float]:
        sprite = self.at(size)
        k = sprite.width / self.master.width
        x0, y0, x1, y1 = box
        cx, cy = self.master.width / 2, self.master.height / 2
        return (x0 - cx) * k, (y0 - cy) * k, (x1 - cx) * k, (y1 - cy) * k


class ScaledArt:
    """A picture drawn once at its largest and resized for every scale it is shown at (a breathing button, a pop):
    smooth steps of ``step``, each made once."""

    def __init__(self, master: Image.Image, step: float = 0.01) -> None:
        self.master, self.step = master, step
        self._sprites: dict[int, Sprite] = {}

    def at(self, scale: float) -> Sprite:
        """The picture at ``scale`` of the master's size (at most 1)."""
        key = max(1, min(round(scale / self.step), round(1 / self.step)))
        if key not in self._sprites:
            k = key * self.step
            w, h = max(2, even(self.master.width * k)), max(2, even(self.master.height * k))
            self._sprites[key] = Sprite.from_image(self.master.resize((w, h), Image.BILINEAR if k > 0.5 else Image.BOX))
        return self._sprites[key]


BUTTON_MAX = 1.1  # the button's master picture is drawn this much larger than its resting size


@functools.lru_cache(maxsize=64)
def button_art(text: str, size: int, fill: RGBA, ink: RGBA, max_width: int, s: float) -> ScaledArt:
    """The CTA button (no personal data) drawn once at BUTTON_MAX its size, for its pop and its breath."""
    return ScaledArt(_button_image(text, int(size * BUTTON_MAX), fill, ink, int(max_width * BUTTON_MAX),
                                   s * BUTTON_MAX))


@functools.lru_cache(maxsize=64)
def rank_art(text: str, fill: RGBA, master_size: int, glow_ratio: float) -> RankArt:
    """The rank's art, once per process per text, colour and size: it holds nothing personal."""
    return RankArt(text, fill, master_size, glow_ratio)
