"""A short sound track per style, synthesised with numpy (no sample files), levelled to -16 LUFS.

Whoosh on the leap, impact on the punch, then a chime, a thud, crackles or a drum pulse on the beat, timed from
the same beat sheet as the pictures (``overlay.timeline``). It holds nothing personal, so a track is made once
per style and length and reused for every user.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from lab.render.overlay import timeline
from lab.render.styles import STYLE_SPECS

RATE = 48_000
TARGET_LUFS = -16.0
PEAK = 10 ** (-1.0 / 20)  # -1 dBFS sample peak


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


@functools.lru_cache(maxsize=32)
def track(style: str, duration: float) -> np.ndarray:
    """The style's mono float32 track at ``RATE``, ``duration`` seconds long, at -16 LUFS (read-only)."""
    spec = STYLE_SPECS[style]
    tl = timeline(style, duration)
    rng = np.random.default_rng(7)
    out = np.zeros(int(round(duration * RATE)) + 1)
    kind = spec.sound
    lead = max(tl.impact - tl.leap, 0.15)
    _place(out, 0.5 * _whoosh(rng, lead + 0.05), tl.leap)  # every style whooshes into the impact
    if kind == "ghost_whoosh":
        _place(out, 0.35 * _whoosh(rng, 0.5)[::-1], tl.leap + 0.1)  # the rival falls away: a falling sweep
    if kind == "thud":
        _place(out, 1.3 * _impact(rng, 42.0, 0.5), tl.impact)
    else:
        _place(out, _impact(rng), tl.impact)
    if kind in ("whoosh_impact", "ghost_whoosh", "swell_chime", "thud"):
        _place(out, _chime(1046.5 if kind == "thud" else 1318.5), tl.impact + 0.12)
    if kind == "swell_chime":
        _place(out, 0.4 * _whoosh(rng, tl.impact), 0.0)  # a slow swell under the slow motion
    if kind == "fireworks":
        for at in (tl.impact - 0.3, tl.impact + 0.1, tl.impact + 0.5, tl.impact + 0.95):
            _place(out, 0.5 * _crackle(rng), at)
    if kind == "drums":
        beat = 1.0 / (spec.beats.beat_hz or 2.0)
        at = tl.impact % beat
        while at < duration:
            _place(out, 0.9 * _kick(), at)
            at += beat
        if tl.rewind:
            _place(out, 0.4 * _whoosh(rng, tl.rewind_end - tl.rewind + 0.05)[::-1], tl.rewind)
    fade = min(len(out), int(0.08 * RATE))
    out[-fade:] *= np.linspace(1, 0, fade)
    for _ in range(4):  # level to -16 LUFS; soft-limit the few peaks above -1 dBFS instead of lowering it all
        out *= 10 ** ((TARGET_LUFS - loudness_lufs(out)) / 20)
        if np.max(np.abs(out)) <= PEAK:
            break
        out = PEAK * np.tanh(out / PEAK)
    result = out.astype(np.float32)
    result.flags.writeable = False
    return result
