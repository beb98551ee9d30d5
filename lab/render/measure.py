"""What a motion designer's review measures on a finished clip, from the decoded MP4 itself: how much the picture
changes frame to frame (mean |ΔY|, luma levels), the sound's true peak (ITU-R BS.1770-4, 4x oversampled) and mean
volume (as ffmpeg's ``volumedetect`` reports it).

The tests and ``benchmarks/celebration.py`` hold every shipped variant to the same figures with these functions
(docs/MOTION.md, "Done when").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from scipy.signal import resample_poly


@dataclass(frozen=True)
class Decoded:
    luma: np.ndarray  # (frames, H, W) uint8
    fps: float
    audio: np.ndarray  # mono float32, -1..1 (empty without an audio stream)
    rate: int
    bytes: int


def decode(path: Path | str) -> Decoded:
    """The luma of every frame and the whole audio track of an MP4."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        fps = float(stream.average_rate)
        luma = np.stack([f.to_ndarray(format="gray") for f in c.decode(stream)])
    audio, rate = np.zeros(0, np.float32), 0
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            rate = a.rate
            audio = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(a)]).astype(np.float32)
    return Decoded(luma, fps, audio, rate, Path(path).stat().st_size)


def luma_change(luma: np.ndarray) -> np.ndarray:
    """Mean |ΔY| of each frame against the one before (luma levels); 0 for the first frame."""
    out = np.zeros(len(luma))
    for f in range(1, len(luma)):
        out[f] = np.abs(luma[f].astype(np.int16) - luma[f - 1]).mean()
    return out


def peak(change: np.ndarray, fps: float, start: float, end: float) -> float:
    """The largest frame-to-frame change between ``start`` and ``end`` seconds (frames whose time is inside)."""
    lo, hi = max(int(np.ceil(start * fps)), 1), min(int(np.floor(end * fps)), len(change) - 1)
    return float(change[lo:hi + 1].max()) if hi >= lo else 0.0


def quietest_window(change: np.ndarray, fps: float, start: float = 1.6, end: float = 2.8,
                    window: float = 0.5) -> float:
    """The lowest mean change over any ``window`` seconds of frames lying between ``start`` and ``end``."""
    n = int(round(window * fps))
    first, last = int(np.ceil(start * fps)), int(np.floor(end * fps))
    means = [change[f:f + n].mean() for f in range(first, last - n + 2)]
    return float(min(means))


def true_peak_dbtp(x: np.ndarray) -> float:
    """True peak in dBTP: the largest magnitude of the signal 4x oversampled (BS.1770-4 annex 2)."""
    if not len(x):
        return float("-inf")
    up = resample_poly(np.asarray(x, np.float64), 4, 1)
    return float(20 * np.log10(max(np.abs(up).max(), 1e-12)))


def mean_volume_db(x: np.ndarray) -> float:
    """Mean volume in dBFS, as ffmpeg's ``volumedetect`` gives it: the RMS of the samples."""
    if not len(x):
        return float("-inf")
    return float(10 * np.log10(max(np.mean(np.asarray(x, np.float64) ** 2), 1e-20)))


@dataclass(frozen=True)
class ClipReport:
    """The "Done when" figures of one clip (docs/MOTION.md): frame-to-frame change at the impact and during the
    flight into the end card, the quietest half second of the hold, size, true peak, the end card's volume."""

    impact: float  # the largest mean |ΔY| from the frame before the impact to 0.3 s after it
    transition: float  # ... from the frame before the flight to 0.4 s into the end card
    largest: float  # ... anywhere in the clip
    quietest: float  # the lowest mean over any 0.5 s between 1.6 and 2.8 s
    bytes: int
    true_peak_dbtp: float
    end_card_db: float  # mean volume from the end card's start to the end

    @property
    def impact_ratio(self) -> float:
        return self.impact / max(self.transition, 1e-9)


def clip_report(path: Path | str, impact: float, transition: float, end_card: float) -> ClipReport:
    """Measure a rendered clip; the times (seconds) are its timeline's (``overlay.timeline``)."""
    d = decode(path)
    change = luma_change(d.luma)
    step = 1 / d.fps
    card = d.audio[int(end_card * d.rate):] if d.rate else d.audio
    return ClipReport(impact=peak(change, d.fps, impact - step, impact + 0.3),
                      transition=peak(change, d.fps, transition - step, end_card + 0.4),
                      largest=float(change[1:].max()), quietest=quietest_window(change, d.fps), bytes=d.bytes,
                      true_peak_dbtp=true_peak_dbtp(d.audio), end_card_db=mean_volume_db(card))
