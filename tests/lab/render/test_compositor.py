"""The compositor (issue 20): the impact's camera, the rank flying into the end card instead of a cross-fade, the
shared decorated frames; the encoder's rate control; the studio's frame strip."""

from dataclasses import replace

import numpy as np
import pytest

from lab.errors import LabError
from lab.library.variant import MotionOverrides
from lab.library.versions import VariantLibrary
from lab.render import compositor as comp_mod
from lab.render.compositor import Compositor, decor_frames
from lab.render.encode import MAX_BYTES, encode_mp4
from lab.render.overlay import EndCard, Overlay
from lab.render.strip import beat_sheet, beats_of
from lab.render.yuv import planes, rgb_to_yuv420, yuv420_to_rgb
from tests.conftest import REPO
from tests.lab.render.conftest import event_for

LIB = VariantLibrary(REPO / "variants")
W, H = 432, 240


def _flat_clip(frames, rgb=(40, 44, 60), width=W, height=H):
    one = rgb_to_yuv420(np.full((height, width, 3), rgb, np.uint8))
    clip = np.repeat(one[None], frames, axis=0)
    clip.flags.writeable = False
    return clip


def _compositor(variant_id, key, width=W, height=H, **event):
    v = LIB.load(variant_id)
    e = event_for(v.scenario, **event)
    ov = Overlay(v, e, width, height, 24, 97, particles=False)
    card = EndCard(v, e, width, height, tl=ov.tl)
    return Compositor(ov, card, _flat_clip(97, width=width, height=height), key)


def _accent_pixels(frame, colour, width=W, height=H):
    rgb = yuv420_to_rgb(frame, height, width).astype(int)
    ys, xs = np.where(np.abs(rgb - colour).sum(axis=-1) < 60)
    return xs, ys


def test_the_rank_flies_into_the_end_card_as_one_object():
    """Half-way through the flight there is one gold number, between where it was and where it lands; a
    cross-fade would show two half-strong ones, at both ends."""
    c = _compositor("v3-rival-ghost", "test-flight")
    tl, gold = c.ov.tl, np.array([0xFF, 0xC1, 0x07])
    (x0, _), (x1, _) = c.ov.callout.centre, c.card.rank_centre
    assert abs(x1 - x0) > 40  # it has somewhere to go
    f = int(round((tl.transition + 0.2) * 24))
    xs, _ = _accent_pixels(c.frame(f), gold)
    assert min(x0, x1) + 10 < np.median(xs) < max(x0, x1) - 10
    assert np.percentile(xs, 95) - np.percentile(xs, 5) < abs(x1 - x0)  # one object, not two far apart
    landed, _ = _accent_pixels(c.frame(c.end_index), gold)
    assert np.median(landed) == pytest.approx(x1, abs=8)


def test_the_board_is_gone_before_the_card_text_comes_in():
    """V3 in portrait overlapped board and end-card text during the cross-fade; the board now leaves in the
    flight's first half: from its middle on, a frame is the dimmed background, the card's parts coming in and the
    flying rank, and nothing else."""
    c = _compositor("v3-rival-ghost", "test-board", width=H, height=W)
    tl = c.ov.tl
    half = int(np.ceil((tl.transition + 0.2) * 24))
    assert half < c.end_index
    for f in range(half, c.end_index):
        t = f / 24
        expected = np.array(c.dimmed[f - c.flight_index])
        c.card.draw_dimmed(expected, t - tl.end_card, with_rank=False)
        c._fly(expected, (t - tl.transition) / 0.4)
        assert np.array_equal(c.frame(f), expected), f
    before = np.array(c.dimmed[half - 1 - c.flight_index])
    c.card.draw_dimmed(before, (half - 1) / 24 - tl.end_card, with_rank=False)
    assert np.array_equal(before, c.dimmed[half - 1 - c.flight_index])  # no card text while the board leaves


def test_the_impact_flashes_and_shakes_the_picture():
    c = _compositor("v1-fast-sprint", "test-camera")
    tl = c.ov.tl
    f = int(np.ceil(tl.impact * 24))
    before, at = (planes(c.frame(i), H, W)[0].astype(int) for i in (f - 1, f))
    corner = (slice(0, 20), slice(0, 20))  # nothing of the overlay there
    assert at[corner].mean() - before[corner].mean() > 30  # the flash lifts the whole frame
    assert c.ov.beats.shake > 0 and c._shake(c.frame(f), tl.impact + 1 / 24) is not None


def test_the_shared_frames_are_made_once_and_hold_no_one_in_particular():
    v = LIB.load("v3-rival-ghost")
    bg = _flat_clip(97)
    made = []
    for user in ("Alice", "Zhang Wei"):
        e = event_for("rank_up", user=user)
        ov = Overlay(v, e, W, H, 24, 97)
        made.append(decor_frames("test-shared", bg, ov, 60))
    assert made[0][1] is made[1][1]  # the second user reuses the first one's frames
    assert len(comp_mod._decor) <= comp_mod.DECOR_KEEP


def test_rate_control_keeps_a_busy_clip_under_the_cap(tmp_path):
    """Noise that crf 28 alone codes to megabytes fits 500 KB with the VBV cap: the cap, not the crf, decides."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(16, 236, (480 * 3 // 2, 864), dtype=np.uint8) for _ in range(24)]
    encode_mp4(iter(frames), tmp_path / "free.mp4", 864, 480, 24)
    assert (tmp_path / "free.mp4").stat().st_size > MAX_BYTES
    encode_mp4(lambda: iter(frames), tmp_path / "capped.mp4", 864, 480, 24, max_bytes=MAX_BYTES, frame_count=24)
    assert (tmp_path / "capped.mp4").stat().st_size <= MAX_BYTES


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_the_frame_strip_shows_each_beat_at_the_variants_timing(orientation):
    v = LIB.load("v1-fast-sprint")
    e = event_for("rank_up")
    sheet = beat_sheet(v, e, orientation, thumb_width=160, columns=4, logo_root=REPO / "variants")
    beats = beats_of(v, 24, 97)
    assert [b.name for b in beats] == ["start", "wind-up", "leap", "impact", "punch", "hold", "flight", "end card"]
    th = 160 * 9 // 16 // 4 * 4 if orientation == "landscape" else 160 * 16 // 9 // 4 * 4
    assert sheet.size == (4 * 164 + 4, 2 * (th + 18 + 4) + 4)
    later = beats_of(replace(v, motion=MotionOverrides(impact_s=1.5)), 24, 97)
    assert later[3].t == pytest.approx(1.5) and later[3].frame == 36  # the strip follows a designer's override
    pixels = np.asarray(sheet)
    assert pixels.std() > 20  # pictures, not an empty grid


def test_the_frame_strip_refuses_what_it_cannot_show():
    v = LIB.load("v1-fast-sprint")
    with pytest.raises(LabError, match="is not an orientation"):
        beat_sheet(v, event_for("rank_up"), "square")
    with pytest.raises(LabError, match="is for rank_up events"):
        beat_sheet(v, event_for("defend"))
