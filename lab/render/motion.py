"""The ``motion`` background: procedural, CPU-only, deterministic by seed.

Each style has its own palette and movement (speed lines for a sprint, drifting bokeh for slow motion,
a dusk horizon for the ghost race, a calm pulse for the shield, a starry night for fireworks), given as data
by ``styles.STYLE_SPECS[style].background``; this module only draws it. It is built straight in YUV: per
frame a few table look-ups and adds over precomputed planes.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from lab.render.styles import STYLE_SPECS
from lab.render.yuv import planes, rgb_to_yuv420

HUE_STEPS = 8  # hue steps a second: twice the old rate, so it drifts instead of jumping (each step ~2 levels)


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


@dataclass(frozen=True)
class StyleLook:
    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    sweep_speed: float  # sweeps per second
    sweep_strength: float  # luma added at the band's centre
    lines: float  # speed-line strength (0 = none)
    line_speed: float  # widths per second
    bokeh: int  # drifting soft dots
    stars: int
    pulse: float  # global brightness breathing
    pulse_hz: float  # its rate (a style with a beat breathes on the beat)
    hue_drift: float  # chroma swing that circles over time
    grain: float  # film grain, luma levels
    glow: tuple[int, int, int]  # colour of the bokeh and of the sweep's tint
    drift: float = 0.0  # the camera's push-in over the whole video (0.05: 5 % closer at the end)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def look(style: str, primary: str, accent: str) -> StyleLook:
    """The style's background look (``STYLE_SPECS[style].background``) with the brand tint mixed in."""
    spec = STYLE_SPECS.get(style)
    if spec is None:
        raise ValueError(f"unknown style {style!r}")
    bg = spec.background
    bottom = bg.bottom
    if bg.tint is not None:
        bottom = _mix(bg.bottom, hex_rgb({"primary": primary, "accent": accent}[bg.tint]), bg.tint_amount)
    return StyleLook(bg.top, bottom, bg.sweep_speed, bg.sweep_strength, bg.lines, bg.line_speed, bg.bokeh,
                     bg.stars, bg.pulse, spec.beats.beat_hz or 0.5, bg.hue_drift, bg.grain, hex_rgb(accent), bg.drift)


def motion_background(style: str, primary: str, accent: str, width: int, height: int, frames: int, fps: int,
                      seed: int, intensity: float = 0.7, particles: bool = True,
                      only: Collection[int] | None = None) -> np.ndarray:
    """``frames`` yuv420p frames, shape (frames, H * 3 // 2, W), uint8. ``only``: draw just these frames (the
    others keep the bare gradient), for a quick look at a few moments (``strip.beat_sheet``)."""
    lk = look(style, primary, accent)
    rng = np.random.default_rng(seed)
    k = 0.5 + intensity  # intensity scales the movement, 0.5x .. 1.5x
    base = _gradient(lk, width, height)
    base_y = planes(base, height, width)[0].astype(np.float32)

    # Diagonal sweep: a 1-D profile along d = x*cos + y*sin, looked up per pixel.
    diag = (np.arange(width)[None, :] * 0.8 + np.arange(height)[:, None] * 0.6).astype(np.int32)
    span = int(diag.max()) + 1
    d_axis = np.arange(span, dtype=np.float32)
    band = max(width, height) * 0.09

    lines = _speed_lines(rng, lk, width, height) if lk.lines and particles else None
    dots = []
    if particles:
        for _ in range(lk.bokeh):
            dots.append((rng.uniform(0, width), rng.uniform(0, height), rng.uniform(6, 22) * height / 480,
                         rng.uniform(-8, 8), rng.uniform(-26, -6), rng.uniform(10, 30)))
    stars = []
    for _ in range(lk.stars):
        stars.append((int(rng.integers(0, width)), int(rng.integers(0, int(height * 0.75))), rng.uniform(0, 6.28),
                      rng.uniform(2, 5), rng.uniform(30, 90)))
    phase = float(rng.uniform(0, 1))
    # Dither: one fixed noise field (±grain levels) breaks the gradients' bands. Fixed, not per frame, because
    # x264 spends its bits on noise that changes from frame to frame.
    grain = [rng.uniform(-lk.grain, lk.grain, (height, width)).astype(np.float32)] if lk.grain else []
    base_u, base_v = (p.astype(np.float32) for p in planes(base, height, width)[1:])
    # The hue swings around a circle over time, stronger at the top, so the colour (not only the light) moves.
    hy = np.linspace(1.0, 0.4, height // 2, dtype=np.float32)[:, None]
    glow_u, glow_v = (float(c) - 128.0 for c in _rgb_uv(lk.glow))

    out = np.empty((frames, height * 3 // 2, width), np.uint8)
    out[:] = base
    y_acc = np.empty((height, width), np.float32)
    length = max((frames - 1) / fps, 1e-3)
    for f in range(frames):
        if only is not None and f not in only:
            continue
        t = f / fps
        zoom = 1 + lk.drift * t / length  # the camera pushes in: everything moves out from the middle

        def cam(x: float, y: float, zoom: float = zoom) -> tuple[float, float]:
            return width / 2 + (x - width / 2) * zoom, height / 2 + (y - height / 2) * zoom

        y_acc[:] = base_y
        # one band sweeping back and forth, turning just inside the frame's corners: it is always crossing the
        # frame, so the light never stops moving (one band costs the encoder half what two cost)
        x = (phase + t * lk.sweep_speed * k / 0.9) % 2.0
        centre = (0.05 + 0.9 * (x if x < 1 else 2 - x)) * span
        profile = lk.sweep_strength * np.exp(-(((d_axis - centre) / band) ** 2))
        y_acc += profile[diag]
        if lines is not None:
            off = int(t * lk.line_speed * k * width) % width
            y_acc += lines[:, off:off + width]
        if lk.pulse:
            y_acc *= 1.0 + lk.pulse * math.sin(2 * math.pi * t * lk.pulse_hz)
        spots = [(*cam((x0 + vx * t * k) % width, (y0 + vy * t * k) % height), r * zoom, s)
                 for x0, y0, r, vx, vy, s in dots]
        for cx, cy, r, s in spots:
            _soft_dot(y_acc, cx, cy, r, s)
        for sx, sy, ph, rate, s in stars:
            tw = 0.5 + 0.5 * math.sin(ph + t * rate)
            px, py = cam(sx, sy)
            px, py = int(px), int(py)
            if 0 <= px < width - 1 and 0 <= py < height - 1:
                y_acc[py:py + 2, px:px + 2] += s * tw
        if grain:
            y_acc += grain[f % len(grain)]
        np.clip(y_acc, 16, 235, out=y_acc)
        out[f, :height] = y_acc
        _, u, v = planes(out[f], height, width)
        # The hue moves HUE_STEPS times a second (a level or two each): stepping 4 times a second saved bytes (a
        # whole-frame chroma change costs x264 bits) but read as a frozen picture that jumps.
        ang = 2 * math.pi * (phase + math.floor(t * HUE_STEPS) / HUE_STEPS * 0.25)
        u_acc = base_u + hy * (lk.hue_drift * math.cos(ang))
        v_acc = base_v + hy * (lk.hue_drift * math.sin(ang))
        for cx, cy, r, s in spots:  # bokeh carry the accent's colour, not only light
            w = min(s / 30.0, 1.0) * 0.8
            _soft_dot(u_acc, cx / 2, cy / 2, r / 2, glow_u * w, add=False)
            _soft_dot(v_acc, cx / 2, cy / 2, r / 2, glow_v * w, add=False)
        u[:] = np.clip(u_acc, 16, 240)
        v[:] = np.clip(v_acc, 16, 240)
    return out


def _gradient(lk: StyleLook, width: int, height: int) -> np.ndarray:
    """A vertical gradient with a soft vignette, converted to YUV once."""
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    top, bottom = np.array(lk.top, np.float32), np.array(lk.bottom, np.float32)
    grad = top + (bottom - top) * (ys ** 1.3)[..., None]
    vignette = 1.0 - 0.35 * (((xs - 0.5) * 1.6) ** 2 + ((ys - 0.55) * 1.4) ** 2)
    base_rgb = np.clip(grad * vignette[..., None], 0, 255) * np.ones((1, width, 1), np.float32)
    return rgb_to_yuv420(base_rgb.astype(np.uint8))


def _speed_lines(rng: np.random.Generator, lk: StyleLook, width: int, height: int) -> np.ndarray:
    """Horizontal speed lines on a strip exactly one width long that wraps around (streaks crossing its end
    continue at its start), returned twice side by side to be slid left each frame: it tiles, so the layout
    never jumps."""
    strip = np.zeros((height, width), np.float32)
    for _ in range(int(height / 9)):
        row = int(rng.integers(0, height))
        start = int(rng.integers(0, width))
        length = int(rng.integers(width // 8, width // 2))
        thick = int(rng.integers(1, 3))
        cols = (start + np.arange(length)) % width
        fade = np.linspace(0.2, 1.0, length, dtype=np.float32)  # a streak brightens toward its head
        strip[row:row + thick, cols] += lk.lines * float(rng.uniform(0.4, 1.0)) * fade
    return np.concatenate([strip, strip], axis=1)


def _rgb_uv(rgb: tuple[int, int, int]) -> tuple[float, float]:
    r, g, b = rgb
    return (-0.148223 * r - 0.290993 * g + 0.439216 * b + 128, 0.439216 * r - 0.367788 * g - 0.071427 * b + 128)


def _soft_dot(plane: np.ndarray, cx: float, cy: float, r: float, strength: float, add: bool = True) -> None:
    """Add a soft dot (``add``) or pull the plane toward ``strength`` around it (``add=False``, for chroma)."""
    h, w = plane.shape
    x0, x1 = max(int(cx - 2 * r), 0), min(int(cx + 2 * r) + 1, w)
    y0, y1 = max(int(cy - 2 * r), 0), min(int(cy + 2 * r) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.ogrid[y0:y1, x0:x1]
    g = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (r * r)))
    if add:
        plane[y0:y1, x0:x1] += strength * g
    else:
        region = plane[y0:y1, x0:x1]
        region += (strength - (region - 128.0)) * g
