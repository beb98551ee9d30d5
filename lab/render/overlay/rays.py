"""A sunburst: light rays turning slowly around a point (behind the rank in the hold, behind it on the end card),
added to the luma in a disc, hollow at its middle so the number on it stays clear. Cheap enough per frame for
the shared frames every user of a background reuses (``compositor.decor_frames``, ``endcard.dimmed_frames``)."""

from __future__ import annotations

import functools

import numpy as np

COUNT, TURN = 12, 0.6  # rays, and radians a second they turn


class Sunburst:
    def __init__(self, width: int, height: int, cx: float, cy: float, radius: float) -> None:
        self.box = (max(int(cx - radius) & ~1, 0), max(int(cy - radius) & ~1, 0),
                    min(int(cx + radius) & ~1, width), min(int(cy + radius) & ~1, height))
        x0, y0, x1, y1 = self.box
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = np.hypot(xx - cx, yy - cy) / radius
        self.theta = np.arctan2(yy - cy, xx - cx)
        self.falloff = (np.clip(1 - d, 0, 1) ** 1.5 * (1 - np.exp(-(d / 0.28) ** 2))).astype(np.float32)

    def draw(self, frame: np.ndarray, t: float, level: float) -> None:
        """Add the rays as they stand at ``t`` seconds, ``level`` luma levels at their brightest, in place."""
        if level <= 0:
            return
        x0, y0, x1, y1 = self.box
        light = (0.5 + 0.5 * np.cos(COUNT * (self.theta - TURN * t))) ** 3
        light *= self.falloff
        y = frame[y0:y1, x0:x1]
        y[:] = np.minimum(y + light * level, 235).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def sunburst(width: int, height: int, cx: float, cy: float, radius: float) -> Sunburst:
    return Sunburst(width, height, cx, cy, radius)
