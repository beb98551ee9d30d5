"""The sound track: -16 LUFS, true peaks held under -1 dBTP by a limiter (and by checking the AAC a player decodes),
sound from the first frame to the last, the variant's level, and no stream when it is off."""

from dataclasses import replace

import av
import numpy as np
import pytest

from lab.library.versions import VariantLibrary
from lab.render import encode, sound
from lab.render.encode import probe
from lab.render.measure import mean_volume_db, true_peak_dbtp
from lab.render.overlay import timeline
from lab.render.pipeline import render
from lab.render.styles import STYLES
from tests.conftest import REPO
from tests.lab.render.conftest import event_for, small

LIB = VariantLibrary(REPO / "variants")


def test_the_limiter_catches_peaks_between_samples():
    """A tone at a quarter of the sample rate, sampled 45 degrees off its crests: every sample is 0.707 but the
    wave between them reaches 1.0 (0 dBTP); the limiter holds the true peak, not only the samples."""
    n = np.arange(sound.RATE)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)
    assert np.abs(x).max() == pytest.approx(0.7071, abs=1e-3) and true_peak_dbtp(x) > -0.1
    y = sound.limit_true_peak(x, -3.0)
    assert true_peak_dbtp(y) <= -3.0
    quiet = 0.1 * np.sin(2 * np.pi * 440 * n / sound.RATE)
    assert np.array_equal(sound.limit_true_peak(quiet, -3.0), quiet)  # nothing to do: untouched


@pytest.mark.parametrize("style", STYLES)
def test_every_track_is_minus_16_lufs_under_its_ceiling_from_the_first_frame_to_the_last(style):
    x = sound.track(style, 4.0).astype(np.float64)
    tl = timeline(style, 4.0)
    assert sound.loudness_lufs(x) == pytest.approx(sound.TARGET_LUFS, abs=0.3)
    assert true_peak_dbtp(x) <= sound.CEILING_DBTP + 0.05
    first, card = x[: int(0.4 * sound.RATE)], x[int(tl.end_card * sound.RATE):]
    assert mean_volume_db(first) > -45  # the first pass was silent for 0.3-0.5 s ...
    assert mean_volume_db(card) > -30  # ... and on the end card (all but the comeback)


@pytest.mark.parametrize("style", STYLES)
def test_the_aac_a_player_decodes_stays_under_minus_1_dbtp(style):
    """AAC's coding raises peaks (up to ~1.6 dB here); the packets are decoded and checked, lowered if needed."""
    packets = encode._aac_packets(sound.track(style, 4.0).tobytes(), sound.RATE)
    assert true_peak_dbtp(encode._decode_aac(packets, sound.RATE)) <= encode.AUDIO_PEAK_DBTP


def test_the_beats_time_the_sound():
    """The variant's beats (its overrides included) time the hit: a later impact moves it."""
    v = LIB.load("v3-rival-ghost")
    early, late = v.beats, v.beats.with_impact(1.5)
    a, b = sound.track(v.style, 4.0, early), sound.track(v.style, 4.0, late)

    def loudest_after(x, t0):
        i = int(t0 * sound.RATE)
        block = int(0.02 * sound.RATE)
        energy = [np.mean(x[j:j + block] ** 2) for j in range(i, i + int(0.8 * sound.RATE), block)]
        return t0 + np.argmax(energy) * 0.02

    assert loudest_after(a, 0.8) == pytest.approx(early.impact, abs=0.05)
    assert loudest_after(b, 1.3) == pytest.approx(1.5, abs=0.05)


def test_sound_db_lowers_the_track_by_that_much():
    v = LIB.load("v1-fast-sprint")
    quieter = replace(v.beats, sound_db=-6.0)
    assert sound.loudness_lufs(sound.track(v.style, 4.0, quieter).astype(float)) == pytest.approx(-22.0, abs=0.3)


def test_sound_is_aac_in_the_same_mp4_at_about_minus_16_lufs(tmp_path, cache):
    pyloudnorm = pytest.importorskip("pyloudnorm")
    v = small("comeback-replay", generation__duration_s=3.0)
    r = render(v, event_for("rank_up"), tmp_path / "s.mp4", backend="motion", cache=cache)
    info = probe(tmp_path / "s.mp4")
    assert info["audio"] == "aac" and r.sound["lufs"] == -16.0 and r.sound["true_peak_dbtp_max"] == -1.0
    with av.open(str(tmp_path / "s.mp4")) as c:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(c.streams.audio[0])])
        rate = c.streams.audio[0].rate
    loud = pyloudnorm.Meter(rate).integrated_loudness(pcm.astype(np.float64))
    assert -17.5 <= loud <= -15.0
    assert true_peak_dbtp(pcm) <= -1.0


def test_sound_off_writes_no_audio_stream(tmp_path, cache):
    v = small("v1-fast-sprint", effects__sound=False)
    r = render(v, event_for("rank_up"), tmp_path / "q.mp4", backend="motion", cache=cache)
    assert "audio" not in probe(tmp_path / "q.mp4") and r.sound == {}
