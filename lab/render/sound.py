"""A short sound track per style, synthesised with numpy (no sample files), levelled to -16 LUFS and held under
-1 dBTP by a true-peak limiter.

A riser from the first frame, a whoosh on the leap, the hit on the punch (a slam for the shield, a bass swell
through the slow motion, a whoosh as the ghost leaves), then a chime, crackles per firework or a drum pulse on
the beat, and a chord bed that carries the hold and the end card (a whoosh as the rank flies, a bell as it lands).
Timed from the same beat sheet as the pictures (``overlay.beats.timeline``). It holds nothing personal, so a track
is made once per style, beats and length, and reused for every user.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.ndimage import minimum_filter1d
from scipy.signal import butter, lfilter, resample_poly, sosfilt

from lab.render.overlay.beats import timeline
from lab.render.styles import STYLE_SPECS, BeatSheet

RATE = 48_000
TARGET_LUFS = -16.0
LIMIT_DBTP = -1.0  # the promise: the decoded clip's true peak stays at or under -1 dBTP (encode checks the AAC)
CEILING_DBTP = -2.0  # the track is limited lower: AAC's coding raises a peak by up to ~1.6 dB (measured)
OVERSAMPLE = 4


def loudness_lufs(x: np.ndarray, rate: int = RATE) -> float:
    """Integrated loudness of a mono signal per ITU-R BS.1770-4 (K-weighting, 400 ms blocks, two gates)."""
    # K-weighting: high shelf then high pass, the standard's 48 kHz coefficients
    y = lfilter([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585],
                x)
    y = lfilter([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621], y)
    if rate != 48_000:
        raise ValueError("the K-weighting coefficients here are for 48 kHz")
    block, step = int(0.4 * rate), int(0.1 * rate)
    if len(y) < block:
        return float("-inf")
    power = np.array([np.mean(y[i:i + block] ** 2) for i in range(0, len(y) - block + 1, step)])
    lk = -0.691 + 10 * np.log10(np.maximum(power, 1e-12))
    gated = power[lk > -70]
    if not len(gated):
        return float("-inf")
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10
    final = power[(lk > -70) & (lk > relative)]
    return float(-0.691 + 10 * np.log10(final.mean()))


def _env(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / RATE
    return np.minimum(t / max(attack, 1e-4), 1.0) * np.exp(-t / decay)


def _place(track: np.ndarray, sound: np.ndarray, at: float) -> None:
    i = int(at * RATE)
    if i >= len(track) or i + len(sound) <= 0:
        return
    if i < 0:
        sound, i = sound[-i:], 0
    n = min(len(sound), len(track) - i)
    track[i:i + n] += sound[:n]


def _whoosh(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Noise through a band-pass that sweeps upwards, swelling to its end."""
    n = int(seconds * RATE)
    noise = rng.standard_normal(n)
    out = np.zeros(n)
    parts = 8
    for k in range(parts):  # a stepped sweep of band-passes, cross-faded
        lo = 300 * 2 ** (k * 0.45)
        sos = butter(2, [lo, lo * 2.2], btype="bandpass", fs=RATE, output="sos")
        band = sosfilt(sos, noise)
        centre = (k + 0.5) / parts
        w = np.exp(-(((np.arange(n) / n) - centre) / (1.2 / parts)) ** 2)
        out += band * w
    swell = np.linspace(0.2, 1.0, n) ** 2
    return out * swell * np.minimum(1.0, (n - np.arange(n)) / (0.02 * RATE))


def _impact(rng: np.random.Generator, low: float = 55.0, decay: float = 0.35) -> np.ndarray:
    n = int(0.9 * RATE)
    t = np.arange(n) / RATE
    freq = low + 90 * np.exp(-t / 0.04)  # a pitch drop: the hit's body
    body = np.sin(2 * np.pi * np.cumsum(freq) / RATE) * _env(n, 0.002, decay)
    click = rng.standard_normal(n) * _env(n, 0.0005, 0.012) * 0.6
    return body + click


def _chime(base: float = 1318.5) -> np.ndarray:
    n = int(1.4 * RATE)
    t = np.arange(n) / RATE
    tone = sum(a * np.sin(2 * np.pi * base * r * t) for r, a in ((1, 1.0), (1.5, 0.5), (2.0, 0.35), (3.0, 0.15)))
    return tone * _env(n, 0.004, 0.45) * 0.5


def _kick() -> np.ndarray:
    n = int(0.35 * RATE)
    t = np.arange(n) / RATE
    freq = 50 + 110 * np.exp(-t / 0.03)
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE) * _env(n, 0.001, 0.12)


def _crackle(rng: np.random.Generator) -> np.ndarray:
    n = int(0.8 * RATE)
    out = np.zeros(n)
    for _ in range(60):
        i = int(rng.uniform(0, n - 400))
        out[i:i + 200] += rng.standard_normal(200) * np.exp(-np.arange(200) / 40) * rng.uniform(0.3, 1.0)
    return out * np.linspace(1, 0.2, n)


def _riser(seconds: float) -> np.ndarray:
    """Tension from the first frame: a soft tone gliding up an octave under a breath of noise."""
    n = max(int(seconds * RATE), 1)
    t = np.arange(n) / RATE
    freq = 220 * 2 ** (t / max(seconds, 1e-3))
    tone = np.sin(2 * np.pi * np.cumsum(freq) / RATE) + 0.3 * np.sin(4 * np.pi * np.cumsum(freq) / RATE)
    return tone * np.linspace(0.25, 1.0, n) ** 1.5 * np.minimum(1.0, t / 0.03)


def _pad(seconds: float, base: float) -> np.ndarray:
    """A warm major chord that swells in and holds: the bed under the hold and the end card."""
    n = max(int(seconds * RATE), 1)
    t = np.arange(n) / RATE
    chord = sum(a * np.sin(2 * np.pi * base * r * t + r) for r, a in ((1, 1.0), (1.25, 0.7), (1.5, 0.6), (2, 0.35)))
    wobble = 1 + 0.08 * np.sin(2 * np.pi * 5 * t)  # a slow vibrato keeps it alive
    return chord * wobble * np.minimum(1.0, t / 0.25) * 0.25


def _bass_swell(seconds: float) -> np.ndarray:
    """A low swell that builds through the slow motion into the impact."""
    n = max(int(seconds * RATE), 1)
    t = np.arange(n) / RATE
    freq = 42 + 18 * t / max(seconds, 1e-3)
    body = np.sin(2 * np.pi * np.cumsum(freq) / RATE) + 0.4 * np.sin(4 * np.pi * np.cumsum(freq) / RATE)
    return body * (t / max(seconds, 1e-3)) ** 2


@functools.lru_cache(maxsize=32)
def track(style: str, duration: float, beats: BeatSheet | None = None, fps: int | None = None) -> np.ndarray:
    """The style's mono float32 track at ``RATE``, ``duration`` seconds long (read-only): at -16 LUFS plus the
    beats' ``sound_db``, true peaks held under ``CEILING_DBTP``. ``beats``: the variant's (``Variant.beats``);
    ``fps``: the video's, so the hit lands on the frame the punch does."""
    spec = STYLE_SPECS[style]
    beats = beats or spec.beats
    tl = timeline(beats, duration, fps)
    rng = np.random.default_rng(7)
    out = np.zeros(int(round(duration * RATE)) + 1)
    kind = spec.sound
    _place(out, 0.22 * _riser(tl.impact), 0.0)  # never silent: tension from the first frame
    lead = max(tl.impact - tl.leap, 0.15)
    _place(out, 0.5 * _whoosh(rng, lead + 0.05), tl.leap)  # every style whooshes into the impact
    if kind == "ghost_whoosh":  # the rival leaves in 4 frames: a fast falling sweep
        _place(out, 0.6 * _whoosh(rng, 0.3)[::-1], tl.impact - spec.rival_exit_lead * tl.k)
    if kind == "thud":  # the shield slams down
        _place(out, 1.4 * _impact(rng, 40.0, 0.55), tl.impact)
        _place(out, 0.5 * _crackle(rng)[: int(0.15 * RATE)], tl.impact)
    else:
        _place(out, _impact(rng), tl.impact)
    if kind == "swell_chime":  # the bass swells through the slow motion
        swell = min(0.5, tl.impact - tl.leap)
        _place(out, 0.8 * _bass_swell(swell), tl.impact - swell)
    if kind in ("whoosh_impact", "ghost_whoosh", "swell_chime", "thud"):
        _place(out, _chime(1046.5 if kind == "thud" else 1318.5), tl.impact + 0.12)
    if kind == "fireworks":  # a launch thump and a crackle per burst
        for at in tl.firework_times():
            _place(out, 0.35 * _kick(), at - 0.3)
            _place(out, 0.55 * _crackle(rng), at)
    if kind == "drums":
        beat = 1.0 / (beats.beat_hz or 2.0)
        at = tl.impact % beat
        while at < duration:
            _place(out, 0.9 * _kick(), at)
            at += beat
        if tl.rewind:
            _place(out, 0.5 * _whoosh(rng, tl.rewind_end - tl.rewind + 0.05)[::-1], tl.rewind)
    # the hold and the end card: a chord bed, a whoosh as the rank flies, a bell as it lands
    _place(out, _pad(duration - tl.impact, 261.6 if kind != "thud" else 196.0), tl.impact + 0.05)
    _place(out, 0.35 * _whoosh(rng, tl.end_card - tl.transition), tl.transition)
    _place(out, 0.6 * _chime(1568.0), tl.end_card)
    fade = min(len(out), int(0.08 * RATE))
    out[-fade:] *= np.linspace(1, 0, fade)
    target = TARGET_LUFS + beats.sound_db
    for _ in range(4):  # level, then hold the true peak under the ceiling; limiting lowers the level a little
        out *= 10 ** ((target - loudness_lufs(out)) / 20)
        out = limit_true_peak(out, CEILING_DBTP)
    result = out.astype(np.float32)
    result.flags.writeable = False
    return result


def true_peak(x: np.ndarray) -> float:
    """The largest magnitude of ``x`` 4x oversampled (ITU-R BS.1770-4's true peak, linear)."""
    return float(np.abs(resample_poly(x, OVERSAMPLE, 1)).max()) if len(x) else 0.0


def limit_true_peak(x: np.ndarray, ceiling_db: float, lookahead_s: float = 0.0015) -> np.ndarray:
    """A look-ahead true-peak limiter: the gain each sample needs (from the 4x oversampled signal), the least of
    it over the look-ahead on either side, smoothed by a window no wider: the gain starts falling before a peak
    and never lets one through, and recovers as smoothly."""
    ceiling = 10 ** (ceiling_db / 20)
    radius = max(int(lookahead_s * RATE), 1)
    window = np.hanning(2 * radius + 3)[1:-1]
    window /= window.sum()
    y = np.asarray(x, np.float64)
    for _ in range(6):
        up = np.abs(resample_poly(y, OVERSAMPLE, 1))
        if up.max() <= ceiling:
            return y
        need = np.minimum(1.0, ceiling / np.maximum(up, 1e-12))
        need = need[: len(y) * OVERSAMPLE].reshape(len(y), OVERSAMPLE).min(axis=1)
        gain = np.convolve(minimum_filter1d(need, 2 * radius + 1, mode="nearest"), window, mode="same")
        y = y * np.minimum(gain, need) * 0.999
    return y
