"""The compositor: each finished frame from a background frame, the overlay and the end card.

It owns the camera at the impact (a full-frame flash, a zoom punch of the background, a shake of the whole
picture) and the transition into the end card: the board leaves, the background dims, and the rank itself
flies from the callout into its place on the card while the card's other parts come in. Nothing cross-fades
two whole pictures. The end card's dimmed background is made once per background (``dimmed_frames``) and shared
by every user of it.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import Image

from lab.render.overlay import EndCard, Overlay, dimmed_frames
from lab.render.overlay.easing import clamp01, ease_in_out_cubic
from lab.render.overlay.endcard import SETTLED_S
from lab.render.overlay.rays import sunburst
from lab.render.yuv import planes

CAMERA_S = 0.35  # how long the impact's camera (flash, zoom, shake) lasts
DECOR_KEEP = 3  # decorated backgrounds a process keeps (up to ~45 MB each at 864x480)
_decor: OrderedDict[tuple[Any, ...], tuple[int, np.ndarray]] = OrderedDict()
_decor_lock = threading.Lock()


def decor_frames(key: str, background: np.ndarray, overlay: Overlay, end: int,
                 only: frozenset[int] | None = None) -> tuple[int, np.ndarray]:
    """The background frames before ``end`` with what every user of it shares drawn in: the impact's camera
    (flash, zoom punch), the rays, the flash ring and the particles (burst, confetti, fireworks, falling sparks),
    all placed from the layout alone. Made once per background and beats, reused by every user (nothing personal
    in it): a per-user frame then copies it and blends only its own sprites. Returns (first frame index, frames).
    ``only``: decorate just these frames (a quick look at a few moments)."""
    k = (key, len(background), end, overlay.sparks.recipe, overlay.beats, overlay.callout.centre, only)
    with _decor_lock:
        if k in _decor:
            _decor.move_to_end(k)
            return _decor[k]
    fps, tl = overlay.fps, overlay.tl
    first = min([int(math.floor(p.born * fps)) for p in overlay.sparks.items] + [int(math.floor(tl.impact * fps))])
    start = min(max(first, 0), end)
    out = np.array(background[start:end])
    rays = Rays(overlay)
    for i, frame in enumerate(out):
        if only is not None and start + i not in only:
            continue
        t = (start + i) / fps
        _camera(frame, overlay, t)
        rays.draw(frame, t)
        overlay.draw_shared(frame, t)
    out.flags.writeable = False  # shared between renders: each copies its frame before drawing on it
    with _decor_lock:
        _decor[k] = (start, out)
        while len(_decor) > DECOR_KEEP:
            _decor.popitem(last=False)
    return start, out


class Compositor:
    """The frames of one render: ``frame(f)`` for any index, ``frames()`` for all of them in order. ``only``: the
    frames that will be asked for, when they are a few (``strip.beat_sheet``)."""

    def __init__(self, overlay: Overlay, card: EndCard, background: np.ndarray, key: str,
                 only: frozenset[int] | None = None) -> None:
        self.ov, self.card, self.bg = overlay, card, background
        self.fps, tl = overlay.fps, overlay.tl
        self.count = len(background)
        self.end_index = min(int(round(tl.end_card * self.fps)), self.count - 1)
        self.flight_index = max(min(int(math.ceil(tl.transition * self.fps - 1e-9)), self.end_index), 0)
        # once per background, shared by its users: dimming rises over the flight, then holds
        rays = (*card.rays, self.fps) if card.rays else None
        self.dimmed = dimmed_frames(key, background, self.flight_index, self.end_index - self.flight_index, rays)
        self.poster_index = min(self.end_index + int(round(SETTLED_S * self.fps)), self.count - 1)
        self.decor_start, self.decor = decor_frames(key, background, overlay, self.flight_index, only)

    def frame(self, f: int) -> np.ndarray:
        t, tl = f / self.fps, self.ov.tl
        if f < self.flight_index:
            if f >= self.decor_start:
                frame = np.array(self.decor[f - self.decor_start])
            else:
                frame = np.array(self.bg[f])
            self.ov.draw(frame, t, shared_drawn=True)
            return self._shake(frame, t)
        frame = np.array(self.dimmed[f - self.flight_index])
        if f < self.end_index:
            p = clamp01((t - tl.transition) / max(tl.flight_s, 1e-6))
            self.ov.draw(frame, t, leave=max(p, 1e-3), with_rank=False)
            self.card.draw_dimmed(frame, t - tl.end_card, with_rank=False)
            self._fly(frame, p)
        else:
            self.card.draw_dimmed(frame, t - tl.end_card)
        return frame

    def frames(self) -> Iterator[np.ndarray]:
        for f in range(self.count):
            yield self.frame(f)

    # -- the impact's camera (its flash and zoom are in ``decor_frames``) ---------------------------
    def _shake(self, frame: np.ndarray, t: float) -> np.ndarray:
        a = t - self.ov.tl.impact
        amp = self.ov.beats.shake * self.ov.lay.s * math.exp(-a / 0.09) if 0 <= a < CAMERA_S else 0.0
        dx = int(round(amp * math.sin(2 * math.pi * 15 * a) / 2)) * 2
        dy = int(round(amp * 0.8 * math.cos(2 * math.pi * 11 * a) / 2)) * 2
        if dx == 0 and dy == 0:
            return frame
        return _shift(frame, self.ov.height, self.ov.width, dx, dy)

    # -- the flight into the end card ------------------------------------------------------------
    def _fly(self, frame: np.ndarray, p: float) -> None:
        """The rank, from the callout (or out of the shield) to its place on the card: an arc, swelling a little
        on the way."""
        co, card = self.ov.callout, self.card
        e = ease_in_out_cubic(p)
        (x0, y0), (x1, y1) = co.centre, card.rank_centre
        s0 = co.size if co.shield is None else co.size * 0.8
        x = x0 + (x1 - x0) * e
        y = y0 + (y1 - y0) * e - math.sin(math.pi * e) * self.ov.height * 0.06
        size = (s0 + (card.rank_size - s0) * e) * (1 + 0.12 * math.sin(math.pi * e))
        co.draw_rank(frame, (x, y), size, clamp01(p * 4) if co.shield is not None else 1.0)


class Rays:
    """Light rays turning slowly behind the rank from the impact through the hold (an award's sunburst)."""

    def __init__(self, overlay: Overlay) -> None:
        self.ov, lay = overlay, overlay.lay
        r = min(lay.width, lay.height) * (0.8 if overlay.callout.shield is not None else 0.55)
        self.light = sunburst(lay.width, lay.height, *overlay.callout.centre, r) if overlay.spec.rays else None

    def draw(self, frame: np.ndarray, t: float) -> None:
        tl = self.ov.tl
        a = t - tl.impact
        if self.light is None or a < 0 or t >= tl.transition:
            return
        self.light.draw(frame, t, self.ov.spec.rays * min(a / 0.25, 1.0) * clamp01((tl.transition - t) / 0.3))


def _camera(frame: np.ndarray, overlay: Overlay, t: float) -> None:
    """The background at the impact, in place: zoomed in and flashed toward white, both easing back."""
    beats, a = overlay.beats, t - overlay.tl.impact
    if not 0 <= a < CAMERA_S:
        return
    H, W = overlay.height, overlay.width
    zoom = 1 + (beats.zoom - 1) * math.exp(-a / 0.1)
    if zoom > 1.002:
        _zoom(frame, H, W, zoom)
    flash = beats.flash * math.exp(-a / 0.06)
    if flash > 0.01:
        tables = _flash_tables(round(flash, 2))
        np.take(tables[0], frame[:H], out=frame[:H])
        np.take(tables[1], frame[H:], out=frame[H:])


@functools.lru_cache(maxsize=64)
def _flash_tables(amount: float) -> tuple[np.ndarray, np.ndarray]:
    """Luma lifted toward white by ``amount``, chroma pulled halfway as far toward neutral."""
    ramp = np.arange(256, dtype=np.float32)
    luma = np.clip(ramp + (235 - ramp).clip(0) * amount + 0.5, 0, 255).astype(np.uint8)
    chroma = np.clip(128 + (ramp - 128) * (1 - amount * 0.5) + 0.5, 0, 255).astype(np.uint8)
    return luma, chroma


def _zoom(frame: np.ndarray, height: int, width: int, zoom: float) -> None:
    """Scale the picture up by ``zoom`` about its centre, in place (each plane resampled once)."""
    for plane in planes(frame, height, width):
        h, w = plane.shape
        cw, ch = w / zoom, h / zoom
        box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
        plane[:] = np.asarray(Image.fromarray(plane).resize((w, h), Image.BILINEAR, box=box))


def _shift(frame: np.ndarray, height: int, width: int, dx: int, dy: int) -> np.ndarray:
    """The picture moved by (dx, dy) pixels (even), its edges repeated into the gap."""
    out = np.empty_like(frame)
    for src, dst, k in zip(planes(frame, height, width), planes(out, height, width), (1, 2, 2), strict=True):
        h, w = src.shape
        sx, sy = dx // k, dy // k
        moved = np.roll(src, (sy, sx), axis=(0, 1))
        if sy > 0:
            moved[:sy] = moved[sy]
        elif sy < 0:
            moved[sy:] = moved[sy - 1]
        if sx > 0:
            moved[:, :sx] = moved[:, sx:sx + 1]
        elif sx < 0:
            moved[:, sx:] = moved[:, sx - 1:sx]
        dst[:] = moved
    return out
