"""Frames kept in the encoder's own format (planar YUV 4:2:0, BT.601 limited range).

A frame is one ``(H * 3 // 2, W)`` uint8 array, the layout PyAV takes for ``yuv420p``: Y rows, then
U and V each packed as ``(H // 4, W)``. Backgrounds are cached in this form and overlays are blended
into it, so a per-user render never converts a full frame between colour spaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

# BT.601 limited range, RGB 0..255 -> Y 16..235, Cb/Cr 16..240.
_M = np.array([[0.256788, 0.504129, 0.097906], [-0.148223, -0.290993, 0.439216], [0.439216, -0.367788, -0.071427]],
              dtype=np.float32)
_OFF = np.array([16.0, 128.0, 128.0], dtype=np.float32)


def planes(frame: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes of one frame (writes go into the frame)."""
    q = height // 4
    y = frame[:height]
    u = frame[height:height + q].reshape(height // 2, width // 2)
    v = frame[height + q:height + 2 * q].reshape(height // 2, width // 2)
    return y, u, v


def chroma(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """A ``(2, H/2, W/2)`` view of the U and V planes together (they lie one after the other in a frame)."""
    return frame[height:height + height // 2].reshape(2, height // 2, width // 2)


def rgb_to_planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 or float [0, 1] RGB with even H and W -> Y (H, W), U and V (H/2, W/2) as uint8."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"yuv420p needs even sizes, got {w}x{h}")
    x = rgb.astype(np.float32)
    if rgb.dtype != np.uint8:
        x *= 255.0
    yuv = x @ _M.T + _OFF
    y = np.clip(yuv[..., 0] + 0.5, 0, 255).astype(np.uint8)
    c = yuv[..., 1:]
    sub = (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2]) * 0.25  # 2x2 mean, without a slow reduce
    uv = np.clip(sub + 0.5, 0, 255).astype(np.uint8)
    return y, uv[..., 0], uv[..., 1]


def rgb_to_yuv420(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> one packed yuv420p frame (H must be a multiple of 4, as video sizes here are)."""
    h, w = rgb.shape[:2]
    out = np.empty((h * 3 // 2, w), dtype=np.uint8)
    y, u, v = planes(out, h, w)
    y[:], u[:], v[:] = rgb_to_planes(rgb)
    return out


def yuv420_to_rgb(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """One yuv420p frame -> (H, W, 3) uint8 RGB (nearest-neighbour chroma), for previews and checks."""
    y, u, v = planes(frame, height, width)
    yf = (y.astype(np.float32) - 16.0) * 1.164384
    uf = np.repeat(np.repeat(u.astype(np.float32) - 128.0, 2, axis=0), 2, axis=1)
    vf = np.repeat(np.repeat(v.astype(np.float32) - 128.0, 2, axis=0), 2, axis=1)
    r = yf + 1.596027 * vf
    g = yf - 0.391762 * uf - 0.812968 * vf
    b = yf + 2.017232 * uf
    return np.clip(np.stack([r, g, b], axis=-1) + 0.5, 0, 255).astype(np.uint8)


def yuv420_to_rgb_half(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Half-size RGB (luma 2x2-averaged, chroma as is): a cheap, clean thumbnail source."""
    y, u, v = planes(frame, height, width)
    yh = y.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3), dtype=np.float32)
    yf = (yh - 16.0) * 1.164384
    uf = u.astype(np.float32) - 128.0
    vf = v.astype(np.float32) - 128.0
    rgb = np.stack([yf + 1.596027 * vf, yf - 0.391762 * uf - 0.812968 * vf, yf + 2.017232 * uf], axis=-1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Sprite:
    """An RGBA image converted once to YUV with alpha, ready to blend at even coordinates."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    a: np.ndarray  # luma-resolution alpha, uint16 0..255
    a2: np.ndarray  # chroma-resolution alpha
    width: int
    height: int
    # Precomputed once per sprite, as a full-opacity blend needs them on every frame (``_mix_full``):
    # colour x alpha + 127 (the rounding term), 255 - alpha, and the light a glow adds.
    ya: np.ndarray = field(init=False, repr=False)
    ia: np.ndarray = field(init=False, repr=False)
    ia2: np.ndarray = field(init=False, repr=False)
    light: np.ndarray = field(init=False, repr=False)
    uv: np.ndarray = field(init=False, repr=False)  # U and V stacked, (2, h/2, w/2): one pass blends both
    uva: np.ndarray = field(init=False, repr=False)  # their colour x alpha + 127

    def __post_init__(self) -> None:
        uv = np.stack([self.u, self.v])
        pre = {"ya": self.y * self.a + 127, "ia": 255 - self.a, "ia2": 255 - self.a2,
               "light": np.maximum(self.y, 16) - 16, "uv": uv, "uva": uv * self.a2 + 127}
        for name, value in pre.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_image(cls, image: Image.Image) -> Sprite:
        img = image.convert("RGBA")
        w, h = img.size
        if w % 2 or h % 2:
            canvas = Image.new("RGBA", (w + w % 2, h + h % 2), (0, 0, 0, 0))
            canvas.paste(img, (0, 0))
            img, (w, h) = canvas, canvas.size
        rgba = np.asarray(img)
        y, u, v = rgb_to_planes(rgba[..., :3])
        a = rgba[..., 3].astype(np.uint16)
        a2 = ((a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2] + 2) >> 2).astype(np.uint16)
        return cls(y.astype(np.uint16), u.astype(np.uint16), v.astype(np.uint16), a, a2, w, h)


def _placement(height: int, width: int, sprite: Sprite, x: int, y: int,
               clip: tuple[int, int, int, int] | None) -> tuple[int, ...] | None:
    """Where a sprite with its top-left at (x, y) lands inside ``clip``, on even pixels (4:2:0 chroma): the frame
    box and the sprite box as (x0, y0, x1, y1, sx0, sy0, sx1, sy1), or None when nothing of it shows."""
    x, y = int(x) & ~1, int(y) & ~1
    x0, y0, x1, y1 = clip if clip else (0, 0, width, height)
    x0, y0 = max(x0, 0, x) & ~1, max(y0, 0, y) & ~1
    x1, y1 = min(x1, width, x + sprite.width) & ~1, min(y1, height, y + sprite.height) & ~1
    if x1 <= x0 or y1 <= y0:
        return None
    sx0, sy0 = x0 - x, y0 - y
    return x0, y0, x1, y1, sx0, sy0, sx0 + (x1 - x0), sy0 + (y1 - y0)


def blend(frame: np.ndarray, height: int, width: int, sprite: Sprite, x: int, y: int, opacity: float = 1.0,
          clip: tuple[int, int, int, int] | None = None) -> None:
    """Alpha-blend ``sprite`` into ``frame`` with its top-left at (x, y), inside ``clip`` (x0, y0, x1, y1)."""
    box = _placement(height, width, sprite, x, y, clip) if opacity > 0 else None
    if box is None:
        return
    x0, y0, x1, y1, sx0, sy0, sx1, sy1 = box
    fy, fuv = frame[:height], chroma(frame, height, width)
    k = int(round(opacity * 256))
    cy0, cy1, cx0, cx1 = y0 // 2, y1 // 2, x0 // 2, x1 // 2
    lum, ch = (slice(sy0, sy1), slice(sx0, sx1)), (slice(sy0 // 2, sy1 // 2), slice(sx0 // 2, sx1 // 2))
    if k >= 256:  # the common case: the products were made with the sprite
        _mix_full(fy[y0:y1, x0:x1], sprite.ya[lum], sprite.ia[lum])
        _mix_full(fuv[:, cy0:cy1, cx0:cx1], sprite.uva[:, ch[0], ch[1]], sprite.ia2[ch])
        return
    a = (sprite.a[lum] * k) >> 8
    _mix(fy[y0:y1, x0:x1], sprite.y[lum], a)
    a2 = (sprite.a2[ch] * k) >> 8
    _mix(fuv[:, cy0:cy1, cx0:cx1], sprite.uv[:, ch[0], ch[1]], a2)


def glow(frame: np.ndarray, height: int, width: int, sprite: Sprite, x: int, y: int, opacity: float = 1.0,
         clip: tuple[int, int, int, int] | None = None) -> None:
    """Additive blend: the sprite's light is added to the luma (saturating) and its colour tints the chroma,
    so overlapping sparks and rings brighten like light instead of covering each other."""
    box = _placement(height, width, sprite, x, y, clip) if opacity > 0 else None
    if box is None:
        return
    x0, y0, x1, y1, sx0, sy0, sx1, sy1 = box
    fy = frame[:height]
    k = int(round(min(opacity, 1.0) * 256))
    a = (sprite.a[sy0:sy1, sx0:sx1] * k) >> 8
    light = (sprite.light[sy0:sy1, sx0:sx1] * a) // 255
    out = fy[y0:y1, x0:x1] + light
    fy[y0:y1, x0:x1] = np.minimum(out, 235)
    a2 = (sprite.a2[sy0 // 2:sy1 // 2, sx0 // 2:sx1 // 2] * k) >> 8
    cy0, cy1, cx0, cx1 = y0 // 2, y1 // 2, x0 // 2, x1 // 2
    _mix(chroma(frame, height, width)[:, cy0:cy1, cx0:cx1], sprite.uv[:, sy0 // 2:sy1 // 2, sx0 // 2:sx1 // 2], a2)


def _mix(dst: np.ndarray, src: np.ndarray, a: np.ndarray) -> None:
    """dst = (dst * (255 - a) + src * a) / 255 in 16-bit integers (exact to rounding)."""
    out = dst.astype(np.uint16)
    out *= 255 - a
    out += src * a
    out += 127
    out //= 255
    dst[:] = out


def _mix_full(dst: np.ndarray, pre: np.ndarray, inverse: np.ndarray) -> None:
    """``_mix`` at full opacity from the sprite's precomputed ``src * a + 127`` and ``255 - a``: same result."""
    out = dst.astype(np.uint16)
    out *= inverse
    out += pre
    out //= 255
    dst[:] = out


def dim_table(amount: float) -> tuple[np.ndarray, np.ndarray]:
    """Look-up tables that dim luma toward black and chroma toward neutral by ``amount`` (0..1)."""
    k = 1 - amount
    ramp = np.arange(256, dtype=np.float32)
    luma = np.clip(16 + (ramp - 16).clip(0) * k + 0.5, 0, 255).astype(np.uint8)
    chroma = np.clip(128 + (ramp - 128) * k + 0.5, 0, 255).astype(np.uint8)
    return luma, chroma


def dim(frame: np.ndarray, height: int, tables: tuple[np.ndarray, np.ndarray]) -> None:
    """Dim a whole frame in place through ``dim_table``'s tables: one look-up per byte, cheap per frame."""
    luma, chroma = tables
    np.take(luma, frame[:height], out=frame[:height])
    np.take(chroma, frame[height:], out=frame[height:])


def darken(frame: np.ndarray, height: int, width: int, amount: float) -> None:
    """Dim the whole frame toward black (luma scaled, chroma pulled to neutral), in place."""
    y, u, v = planes(frame, height, width)
    k = int(round((1 - amount) * 256))
    y[:] = ((y.astype(np.int32) - 16).clip(0) * k >> 8) + 16
    for c in (u, v):
        c[:] = ((c.astype(np.int32) - 128) * k >> 8) + 128
