"""Motion design (issue 11): the beat sheet, legibility (WCAG AA contrast and phone safe areas, checked from the
layout), what each style does, the backgrounds' movement and the sound track, checked on real pixels and
decoded files."""

import re

import av
import numpy as np
import pytest

from lab.library.schema import with_changes
from lab.library.versions import VariantLibrary
from lab.render import text as tx
from lab.render.encode import probe
from lab.render.motion import motion_background
from lab.render.overlay import SAFE_BOTTOM, SAFE_TOP, WORDS, EndCard, Overlay, layout, timeline
from lab.render.pipeline import render
from lab.render.styles import STYLE_SPECS, STYLES
from lab.render.yuv import planes, rgb_to_yuv420, yuv420_to_rgb
from tests.conftest import REPO
from tests.lab.render.conftest import event_for, small

LIB = VariantLibrary(REPO / "variants")
SHIPPED = [v.id for v in LIB.load_all()]
NAMES = {"en": ("Alice", "Bob"), "zh-CN": ("小明", "李雷")}


def _variant(variant_id: str, orientation: str):
    v = LIB.load(variant_id)
    if orientation == "portrait":
        v = with_changes(v, generation__width=v.generation.height, generation__height=v.generation.width)
    return v


def _event(v, locale="en", **extra):
    user, rival = NAMES[locale]
    return event_for(v.scenario, user=user, rival=rival, locale=locale, **extra)


def _flat(width, height, rgb=(60, 60, 70)):
    return rgb_to_yuv420(np.full((height, width, 3), rgb, np.uint8))


# -- the beat sheet ----------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_every_style_has_a_beat_sheet_with_the_impact_near_one_second(style):
    b = STYLE_SPECS[style].beats
    assert 0 <= b.anticipation < b.leap < b.impact
    assert 0.75 <= b.impact <= 1.35
    for duration in (4.0, 3.0, 2.0):  # the degrade level's 2 s still lands the impact before the end card
        tl = timeline(style, duration)
        assert tl.impact < tl.end_card - 0.2 and tl.end_card <= duration - 0.75
        if b.rewind:
            assert tl.leap < tl.rewind < tl.rewind_end < tl.impact


def test_the_comeback_rewinds_and_replays_on_a_beat():
    v = LIB.load("comeback-replay")
    assert v.style == "comeback_replay" and STYLE_SPECS[v.style].beats.beat_hz > 0
    ov = Overlay(v, event_for("rank_up"), 320, 192, 24, 97)
    tl = ov.tl
    assert ov._progress(tl.rewind) > 0.95  # the first climb reaches the top ...
    assert ov._progress(tl.rewind_end) < 0.05  # ... rewinds to the old place ...
    assert ov._progress(tl.impact) == pytest.approx(1.0)  # ... and the replay lands on the impact


# -- legibility, checked from the layout --------------------------------------------------------


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
@pytest.mark.parametrize("variant_id", SHIPPED)
def test_every_text_element_meets_wcag_aa_and_stays_in_the_safe_area(variant_id, orientation):
    v = _variant(variant_id, orientation)
    W, H = v.generation.width, v.generation.height
    for locale in NAMES:
        e = _event(v, locale)
        ov = Overlay(v, e, W, H, 24, 97, label="RANDOM WEIGHTS")
        card = EndCard(v, e, W, H, str(REPO / "variants" / v.brand.logo), label="RANDOM WEIGHTS")
        elements = ov.legibility + card.legibility
        assert len(elements) >= 7
        for el in elements:
            assert el["contrast"] >= tx.AA, el
            x0, y0, x1, y1 = el["box"]
            assert H * SAFE_TOP <= y0 and y1 <= H * (1 - SAFE_BOTTOM), el
            assert 0 <= x0 and x1 <= W, el
        lx0, ly0, lx1, ly1 = card.logo_box
        assert H * SAFE_TOP <= ly0 and ly1 <= H * (1 - SAFE_BOTTOM)
        assert ov.arrow_top >= H * SAFE_TOP and ov.arrow_bottom + ov.arrows[1.0].height <= H * (1 - SAFE_BOTTOM)


def test_white_on_the_brand_green_fails_aa_so_the_fix_is_made_and_recorded(tmp_path, cache):
    assert tx.contrast_ratio((255, 255, 255), (0x4C, 0xAF, 0x50)) == pytest.approx(2.78, abs=0.01)
    assert tx.contrast_ratio((255, 255, 255), (0xFF, 0xC1, 0x07)) == pytest.approx(1.63, abs=0.01)
    r = render(small("v3-rival-ghost"), event_for("rank_up"), tmp_path / "a.mp4", backend="motion", cache=cache)
    row = next(el for el in r.legibility if el["element"].startswith("user row"))
    assert row["contrast"] >= 4.5 and "2.78:1" in row["fix"]
    button = next(el for el in r.legibility if el["element"] == "end card: button")
    assert button["contrast"] >= 4.5 and button["fix"]


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
@pytest.mark.parametrize("variant_id", SHIPPED)
def test_the_new_rank_is_big_and_on_screen_by_one_and_a_half_seconds(variant_id, orientation):
    """Drawn on a flat grey frame: before the impact no new-rank pixels, at 1.5 s digits at least 8 % of the
    short side tall (about half a centimetre on a phone held upright) in the callout's colour."""
    v = _variant(variant_id, orientation)
    W, H = v.generation.width, v.generation.height
    ov = Overlay(v, _event(v), W, H, 24, 97, particles=False)
    colour = np.array(tx.INK if ov.shield is not None else [int(v.brand.accent[i:i + 2], 16) for i in (1, 3, 5)])

    def glyph_height(t):
        frame = _flat(W, H)
        ov.draw(frame, t)
        rgb = yuv420_to_rgb(frame, H, W).astype(int)
        cx, cy = ov.big_centre
        box = rgb[int(cy - H * 0.1):int(cy + H * 0.1), int(cx - W * 0.15):int(cx + W * 0.15)]
        rows = np.where((np.abs(box - colour).sum(axis=-1) < 60).any(axis=1))[0]
        return 0 if not len(rows) else rows[-1] - rows[0]

    assert glyph_height(ov.tl.leap * 0.5) < min(W, H) * 0.05
    assert glyph_height(1.5) >= min(W, H) * 0.08


# -- what each style does -----------------------------------------------------------------------


def test_the_rival_ghost_leaves_the_frame_completely():
    v = LIB.load("v3-rival-ghost")
    W, H = 864, 480
    a = Overlay(v, event_for("rank_up", rival="Bob"), W, H, 24, 97, particles=False)
    b = Overlay(v, event_for("rank_up", rival="Mxyzptlk Quux"), W, H, 24, 97, particles=False)

    def drawn(ov, t):
        frame = _flat(W, H)
        ov.draw(frame, t)
        return frame

    assert np.abs(drawn(a, 0.3).astype(int) - drawn(b, 0.3).astype(int)).max() > 60  # the rival is there
    hold = a.tl.impact + 0.3
    assert np.array_equal(drawn(a, hold), drawn(b, hold))  # and then gone: not a pixel of the rival's row left


def test_sparks_and_everything_else_stay_off_the_letterbox_bars():
    v = LIB.load("v2-slow-motion")
    assert STYLE_SPECS[v.style].letterbox
    W, H = 864, 480
    ov = Overlay(v, event_for("rank_up"), W, H, 24, 97)
    bar = int(H * 0.08) - 2
    for f in range(0, 72, 3):
        frame = _flat(W, H)
        ov.draw(frame, f / 24)
        y = planes(frame, H, W)[0]
        assert y[:bar].max() <= 22 and y[-bar:].max() <= 22, f


def test_the_shield_is_solid_brand_colour():
    v = LIB.load("defend-shield")
    ov = Overlay(v, event_for("defend"), 864, 480, 24, 97)
    s = ov.shield
    rgb = _sprite_rgb(s)
    y, x = int(s.height * 0.8), s.width // 2  # below the rank, inside the shield
    assert s.a[y, x] == 255
    assert np.abs(rgb[y, x].astype(int) - np.array([0x4C, 0xAF, 0x50])).max() <= 12


def _sprite_rgb(s):
    frame = np.empty((s.height * 3 // 2, s.width), np.uint8)
    y, u, v = planes(frame, s.height, s.width)
    y[:], u[:], v[:] = s.y, s.u, s.v
    return yuv420_to_rgb(frame, s.height, s.width)


# -- backgrounds ---------------------------------------------------------------------------------


def test_the_background_colour_moves_over_time_not_only_its_light():
    frames = motion_background("slow_motion_celebration", "#4CAF50", "#FFC107", 320, 192, 49, 12, seed=1)
    u0, v0 = (p.astype(int) for p in planes(frames[0], 192, 320)[1:])
    u1, v1 = (p.astype(int) for p in planes(frames[36], 192, 320)[1:])
    assert np.abs(u1 - u0).mean() + np.abs(v1 - v0).mean() > 4


def test_speed_lines_tile_so_the_background_never_pops(monkeypatch):
    """With only speed lines moving, every frame is the previous one slid left: no frame re-lays the lines."""
    from dataclasses import replace

    from lab.render import motion

    spec = STYLE_SPECS["fast_sprint"]
    still = replace(spec.background, sweep_strength=0, grain=0, hue_drift=0)
    monkeypatch.setitem(motion.STYLE_SPECS, "fast_sprint", replace(spec, background=replace(still, lines=0)))
    base = motion_background("fast_sprint", "#4CAF50", "#FFC107", 320, 192, 49, 24, seed=3)[:, :192].astype(int)
    monkeypatch.setitem(motion.STYLE_SPECS, "fast_sprint", replace(spec, background=still))
    lines = motion_background("fast_sprint", "#4CAF50", "#FFC107", 320, 192, 49, 24, seed=3)[:, :192].astype(int)
    layer = lines - base
    assert layer.max() > 10  # there are lines
    for f in range(48):
        best = min(np.abs(np.roll(layer[f], -d, axis=1) - layer[f + 1]).mean() for d in range(0, 60))
        assert best < 0.2, f


def test_dark_gradients_carry_grain_against_banding():
    frames = motion_background("fireworks_welcome", "#4CAF50", "#FFC107", 320, 192, 2, 12, seed=1)
    y = frames[0, :192].astype(int)[10:60, 20:300]
    assert (np.diff(y, axis=1) == 0).mean() < 0.6  # neighbours differ: dithered, not runs of one level


# -- sound ---------------------------------------------------------------------------------------


def test_sound_is_aac_in_the_same_mp4_at_about_minus_16_lufs(tmp_path, cache):
    pyloudnorm = pytest.importorskip("pyloudnorm")
    v = small("comeback-replay", generation__duration_s=3.0)
    r = render(v, event_for("rank_up"), tmp_path / "s.mp4", backend="motion", cache=cache)
    info = probe(tmp_path / "s.mp4")
    assert info["audio"] == "aac" and r.sound["lufs"] == -16.0
    with av.open(str(tmp_path / "s.mp4")) as c:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(c.streams.audio[0])])
        rate = c.streams.audio[0].rate
    loud = pyloudnorm.Meter(rate).integrated_loudness(pcm.astype(np.float64))
    assert -17.0 <= loud <= -15.0
    assert np.abs(pcm).max() <= 1.0


def test_the_busiest_variant_in_portrait_with_sound_stays_under_500kb(tmp_path, cache):
    v = _variant("v1-fast-sprint", "portrait")
    render(v, event_for("rank_up"), tmp_path / "p.mp4", backend="motion", cache=cache, extras=False)
    info = probe(tmp_path / "p.mp4")
    assert (info["width"], info["height"], info["frames"], info["audio"]) == (480, 864, 97, "aac")
    assert info["bytes"] < 500_000


def test_sound_off_writes_no_audio_stream(tmp_path, cache):
    v = small("v1-fast-sprint", effects__sound=False)
    r = render(v, event_for("rank_up"), tmp_path / "q.mp4", backend="motion", cache=cache)
    assert "audio" not in probe(tmp_path / "q.mp4") and r.sound == {}


# -- copy ----------------------------------------------------------------------------------------


def test_cjk_copy_uses_full_width_punctuation():
    texts = list(WORDS["zh"].values()) + [v.cta.get("zh-CN", "") for v in LIB.load_all()]
    for text in texts:
        assert not re.search(r"[\u3400-\u9fff][!?,:;]", text), text


def test_layout_safe_area_is_inside_the_frame():
    for w, h in ((864, 480), (480, 864), (320, 192), (192, 320)):
        lay = layout(w, h)
        assert h * SAFE_TOP <= lay.safe_top < lay.card_y < lay.safe_bottom <= h * (1 - SAFE_BOTTOM)


def test_motion_md_holds_every_styles_beat_sheet():
    doc = (REPO / "docs" / "MOTION.md").read_text(encoding="utf-8")
    for style in STYLES:
        b = STYLE_SPECS[style].beats
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{style}` |"))
        assert f"impact {b.impact:.2f} s" in row and f"{b.leap:.2f} s" in row and f"{b.punch_s:.2f} s" in row, row
    assert "4.5:1" in doc and "top 12 %" in doc and "bottom 10 %" in doc
