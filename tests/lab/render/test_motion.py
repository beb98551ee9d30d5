"""Motion design (issues 11 and 20): the beat sheet, the layout (margins, portrait using the whole canvas, WCAG AA
contrast), what each style does, and the backgrounds' movement, checked from the layout and on real pixels.
The measurements on finished clips are in test_celebration.py, the sound in test_sound.py."""

import math
import re
from dataclasses import replace

import numpy as np
import pytest

from lab.library.schema import with_changes
from lab.library.versions import VariantLibrary
from lab.render import text as tx
from lab.render.motion import motion_background
from lab.render.overlay import HARD, SAFE_BOTTOM, SAFE_TOP, SIDE, WORDS, EndCard, Overlay, layout, timeline
from lab.render.overlay.particles import FIREWORK_REACH
from lab.render.styles import END_CARD_MIN_S, STYLE_SPECS, STYLES, TRANSITION_S
from lab.render.yuv import planes, rgb_to_yuv420, yuv420_to_rgb
from tests.conftest import REPO
from tests.lab.render.conftest import event_for

LIB = VariantLibrary(REPO / "variants")
SHIPPED = [v.id for v in LIB.load_all()]
LONG = "Maximiliana Fernández-Oyelaran"  # 30 characters
NAMES = {"en": ("Alice", "Bob"), "zh-CN": ("小明", "李雷"), "long": (LONG, "Bartholomew Quintero-Vasquez")}


def _variant(variant_id: str, orientation: str):
    v = LIB.load(variant_id)
    if orientation == "portrait":
        v = with_changes(v, generation__width=v.generation.height, generation__height=v.generation.width)
    return v


def _event(v, names="en", **extra):
    user, rival = NAMES[names]
    return event_for(v.scenario, user=user, rival=rival, locale="zh-CN" if names == "zh-CN" else "en", **extra)


def _flat(width, height, rgb=(60, 60, 70)):
    return rgb_to_yuv420(np.full((height, width, 3), rgb, np.uint8))


def _drawn(ov, t, **kw):
    frame = _flat(ov.width, ov.height)
    ov.draw(frame, t, **kw)
    return frame


def _rgb(v):
    return np.array([int(v[i:i + 2], 16) for i in (1, 3, 5)])


# -- the beat sheet ----------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_every_style_has_a_beat_sheet_that_fits_every_length(style):
    b = STYLE_SPECS[style].beats
    assert 0 <= b.anticipation < b.leap < b.impact and 0.75 <= b.impact <= 1.35
    assert 1.0 <= b.punch_scale <= 2.5 and 0 <= b.flash <= 1 and b.zoom >= 1
    for duration in (4.0, 3.0, 2.0):  # the degrade level's 2 s still lands the impact before the flight
        tl = timeline(style, duration)
        assert tl.impact < tl.transition - 0.2 and tl.transition + TRANSITION_S == pytest.approx(tl.end_card)
        assert tl.end_card <= duration - END_CARD_MIN_S + 1e-9
        if b.rewind:
            assert tl.leap < tl.rewind < tl.rewind_end < tl.impact


def test_the_comeback_rewinds_longer_and_lands_its_punch_on_frame_24():
    v = LIB.load("comeback-replay")
    ov = Overlay(v, event_for("rank_up"), 320, 192, 24, 97)
    tl, board = ov.tl, ov.board
    assert tl.impact * 24 == pytest.approx(24)  # the rows land at f24, and the punch comes with them
    assert tl.rewind_end - tl.rewind >= 0.25  # a longer rewind than the first pass's 0.18 s
    assert board.progress(tl.rewind) > 0.95  # the first climb reaches the top ...
    assert board.progress(tl.rewind_end) < 0.05  # ... rewinds to the old place ...
    assert board.progress(tl.impact) == pytest.approx(1.0)  # ... and the replay lands on the impact
    assert ov.callout.scale(tl.impact) == pytest.approx(ov.callout.peak)


def test_v2_spends_half_a_second_at_quarter_speed_before_the_impact():
    from lab.render.overlay.easing import time_ramp

    tl = timeline("slow_motion_celebration", 4.0)
    span = tl.impact - tl.leap
    speeds = [(time_ramp((t + 0.01 - tl.leap) / span) - time_ramp((t - tl.leap) / span)) / 0.01
              for t in np.arange(tl.leap, tl.impact, 0.01)]
    slow = [s for s in speeds if s < 0.3 * max(speeds)]
    assert len(slow) * 0.01 >= 0.45  # about 0.5 s at a quarter of the top speed


# -- layout, checked from the layout ----------------------------------------------------------------------


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
@pytest.mark.parametrize("variant_id", SHIPPED)
def test_text_meets_aa_and_stays_inside_the_margins_apart(variant_id, orientation):
    """Every text element: WCAG AA, its letters inside 10 % side / 12 % top-bottom margins, with its glow inside
    8 %, and clear of every other text box (``layout.check`` refuses anything else as it is built)."""
    v = _variant(variant_id, orientation)
    W, H = v.generation.width, v.generation.height
    assert (SIDE, SAFE_TOP, SAFE_BOTTOM, HARD) == (0.10, 0.12, 0.12, 0.08)
    for names in NAMES:
        e = _event(v, names)
        ov = Overlay(v, e, W, H, 24, 97, label="RANDOM WEIGHTS")
        card = EndCard(v, e, W, H, str(REPO / "variants" / v.brand.logo), label="RANDOM WEIGHTS", tl=ov.tl)
        for elements in (ov.legibility, card.legibility):
            assert len(elements) >= 4
            for el in elements:
                assert el["contrast"] >= tx.AA, el
                x0, y0, x1, y1 = el["box"]
                assert W * 0.1 - 1 <= x0 and x1 <= W * 0.9 + 1 and H * 0.12 - 1 <= y0 and y1 <= H * 0.88 + 1, el
                x0, y0, x1, y1 = el["extent"]
                assert W * 0.08 - 1 <= x0 and x1 <= W * 0.92 + 1 and H * 0.08 - 1 <= y0 and y1 <= H * 0.92 + 1, el
        lx0, ly0, lx1, ly1 = card.logo_box
        assert W * 0.1 <= lx0 and lx1 <= W * 0.9 and H * 0.12 <= ly0 and ly1 <= H * 0.88


@pytest.mark.parametrize("variant_id", SHIPPED)
def test_portrait_text_spreads_over_half_the_height(variant_id):
    """The first pass used the middle ~35 % of a portrait frame; its text now spans at least half of it, while
    the video plays and on the end card."""
    v = _variant(variant_id, "portrait")
    W, H = v.generation.width, v.generation.height
    for names in ("en", "long"):
        e = _event(v, names)
        ov = Overlay(v, e, W, H, 24, 97)
        card = EndCard(v, e, W, H, tl=ov.tl)
        for elements in (ov.legibility, card.legibility):
            top, bottom = min(el["box"][1] for el in elements), max(el["box"][3] for el in elements)
            assert (bottom - top) / H >= 0.5, [(el["element"], el["box"]) for el in elements]


def _rank_rows(ov, t):
    """Rows of the frame holding the new rank's letters at ``t``, drawn alone on a flat frame: the accent's fill
    (the shield's ink on a shield)."""
    W, H = ov.width, ov.height
    colour = np.array(tx.INK) if ov.shield is not None else _rgb(ov.variant.brand.accent)
    rgb = yuv420_to_rgb(_drawn(ov, t, shared_drawn=True), H, W).astype(int)
    x0, y0, x1, y1 = (int(v) for v in ov.callout.rank_extent(ov.big_centre, ov.callout.size * ov.callout.peak))
    if ov.shield is not None:
        cx, cy = ov.big_centre
        x0, x1 = int(cx - ov.lay.shield_w / 3), int(cx + ov.lay.shield_w / 3)
        y0, y1 = int(cy - ov.lay.shield_h / 2), int(cy + ov.lay.shield_h / 2)
    box = rgb[max(y0, 0):y1, max(x0, 0):x1]
    return np.where((np.abs(box - colour).sum(axis=-1) < 60).sum(axis=1) >= 2)[0] + max(y0, 0)


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
@pytest.mark.parametrize("variant_id", SHIPPED)
def test_the_new_rank_is_big_and_high_by_one_and_a_half_seconds(variant_id, orientation):
    """At 1.5 s the rank's letters are at least 12 % of a portrait frame's height (8.8 % in the first pass) and
    sit in its upper third; none of them before the wind-up."""
    v = _variant(variant_id, orientation)
    ov = Overlay(v, _event(v), v.generation.width, v.generation.height, 24, 97, particles=False)
    H = ov.height
    assert not len(_rank_rows(ov, ov.tl.anticipation))
    rows = _rank_rows(ov, 1.5)
    height = rows[-1] - rows[0]
    if orientation == "portrait":
        assert height >= 0.12 * H and (rows[0] + rows[-1]) / 2 < H / 3
    else:
        assert height >= 0.12 * H * 0.9


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
@pytest.mark.parametrize("variant_id", SHIPPED)
def test_the_drawn_overlay_stays_inside_8_percent_even_at_the_punch(variant_id, orientation):
    """Pixels, not the layout's word: everything the overlay draws over a flat frame (board, rank at its punch's
    peak, caption, banner) lies inside the 8 % margins (the letterbox aside)."""
    v = _variant(variant_id, orientation)
    ov = Overlay(v, _event(v, "long"), v.generation.width, v.generation.height, 24, 97, particles=False)
    W, H = ov.width, ov.height
    bar = ov.letterbox.height if ov.letterbox else 0
    flat = planes(_flat(W, H), H, W)[0].astype(int)
    tl = ov.tl
    for t in (tl.impact, tl.impact + 1 / 24, tl.impact + 2 / 24, tl.impact + tl.punch_s, (tl.impact + tl.transition) / 2):
        y = planes(_drawn(ov, t, shared_drawn=True), H, W)[0].astype(int)
        changed = np.abs(y - flat)[bar:H - bar] > 8
        rows, cols = np.where(changed.any(axis=1))[0] + bar, np.where(changed.any(axis=0))[0]
        assert rows[0] >= H * 0.08 - 2 and rows[-1] <= H * 0.92 + 2, (t, rows[0], rows[-1])
        assert cols[0] >= W * 0.08 - 2 and cols[-1] <= W * 0.92 + 2, (t, cols[0], cols[-1])


def test_layout_margins_are_inside_the_frame():
    for w, h in ((864, 480), (480, 864), (320, 192), (192, 320), (1280, 704), (704, 1280)):
        lay = layout(w, h)
        assert h * SAFE_TOP <= lay.top < lay.card_y < lay.bottom <= h * (1 - SAFE_BOTTOM)
        assert w * SIDE <= lay.left < lay.right <= w * (1 - SIDE)


# -- what each style does -----------------------------------------------------------------------


def test_the_rival_stays_sharp_until_f18_then_leaves_in_four_frames(monkeypatch):
    v = LIB.load("v3-rival-ghost")
    W, H = 864, 480
    a = Overlay(v, event_for("rank_up", rival="Bob"), W, H, 24, 97, particles=False)
    b = Overlay(v, event_for("rank_up", rival="Mxyzptlk Quux"), W, H, 24, 97, particles=False)
    monkeypatch.setitem(STYLE_SPECS, v.style, replace(STYLE_SPECS[v.style], rival_ghost=False))
    sharp = Overlay(v, event_for("rank_up", rival="Bob"), W, H, 24, 97, particles=False)
    f17 = 17 / 24
    assert a.tl.impact == 1.0 and math.isclose(a.tl.impact - STYLE_SPECS[v.style].rival_exit_lead, 18 / 24)
    assert np.array_equal(_drawn(a, f17), _drawn(sharp, f17))  # f17: exactly the sharp row, no ghost yet
    assert np.abs(_drawn(a, f17).astype(int) - _drawn(b, f17).astype(int)).max() > 60  # the rival is there
    f22 = 22 / 24  # f18 + 4 frames
    assert np.array_equal(_drawn(a, f22), _drawn(b, f22))  # and then gone: not a pixel of the rival's row left
    assert not np.array_equal(_drawn(a, 20 / 24), _drawn(b, 20 / 24))  # leaving during the 4 frames


def test_the_shield_drops_in_before_the_impact():
    """The first pass returned before the drop code: the shield appeared only at the impact, at rest."""
    v = LIB.load("defend-shield")
    ov = Overlay(v, event_for("defend"), 864, 480, 24, 97, particles=False)
    tl, green = ov.tl, _rgb(v.brand.primary)
    rest_top = ov.big_centre[1] - ov.shield.height / 2

    def shield_rows(t):
        rgb = yuv420_to_rgb(_drawn(ov, t, shared_drawn=True), 480, 864).astype(int)
        x = int(ov.big_centre[0])
        column = rgb[:, x - 20:x + 20]
        return np.where((np.abs(column - green).sum(axis=-1) < 40).sum(axis=1) > 10)[0]

    assert not len(shield_rows(tl.leap - 0.05))
    falling = shield_rows((tl.leap + tl.impact) / 2)
    assert len(falling) and falling[-1] < rest_top  # on its way down, wholly above where it lands
    landed = shield_rows(tl.impact + 0.3)
    assert landed[0] >= rest_top - 2
    assert ov.shield.height >= 2 * 160 * 0.85  # twice the first pass's 136 x 160 (fitted to the callout)


def test_the_shield_is_solid_brand_colour():
    v = LIB.load("defend-shield")
    s = Overlay(v, event_for("defend"), 864, 480, 24, 97).shield
    rgb = _sprite_rgb(s)
    y, x = int(s.height * 0.8), s.width // 2  # below the rank, inside the shield
    assert s.a[y, x] == 255
    assert np.abs(rgb[y, x].astype(int) - _rgb(v.brand.primary)).max() <= 12


def _sprite_rgb(s):
    h = -(-s.height // 4) * 4  # a frame's height is a multiple of 4
    frame = np.zeros((h * 3 // 2, s.width), np.uint8)
    y, u, v = planes(frame, h, s.width)
    y[:s.height], u[:s.height // 2], v[:s.height // 2] = s.y, s.u, s.v
    return yuv420_to_rgb(frame, h, s.width)[:s.height]


def test_the_burst_starts_around_the_number_not_on_it():
    """V2 with 小明: the sparks buried "#1"; they now start on an ellipse around the rank's letters and are drawn
    under them."""
    v = LIB.load("v2-slow-motion")
    ov = Overlay(v, _event(v, "zh-CN"), 864, 480, 24, 97)
    x0, y0, x1, y1 = ov.callout.rank_ink(ov.big_centre, ov.callout.size)
    burst = [p for p in ov.sparks.items if p.born >= ov.tl.impact - 1e-9 and p.kind == "spark" and p.life < 3]
    assert burst
    for p in burst:
        x, y, vx, vy = p.at(0.0)
        assert not (x0 < x < x1 and y0 < y < y1)  # born outside the letters' box ...
        cx, cy = ov.big_centre
        assert vx * (x - cx) + vy * (y - cy) > 0  # ... and flying away from them


def test_fireworks_burst_in_the_corners_away_from_text_and_reach_far():
    v = LIB.load("first-entry-fireworks")
    for W, H in ((864, 480), (480, 864)):
        ov = Overlay(v, event_for("first_entry"), W, H, 24, 97)
        boxes = [el["extent"] for el in ov.legibility]
        bursts = {}
        for p in ov.sparks.items:
            if p.kind == "firework" and p.drag:
                bursts.setdefault((p.x, p.y), []).append(p)
        assert len(bursts) >= 3
        for (x, y), sparks in bursts.items():
            assert x < W * 0.2 or x > W * 0.8 or y < H * 0.15 or y > H * 0.85  # at the frame's edge
            assert not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)
            far = np.percentile([math.hypot(*(np.array(s.at(1.0)[:2]) - (x, y))) for s in sparks], 90)
            assert far >= 0.8 * min(W, H) * FIREWORK_REACH  # the first pass's reached ~0.35 of the short side
        banner = next(el for el in ov.legibility if el["element"] == "banner welcome")
        assert banner["box"][3] - banner["box"][1] >= 2 * 34 * min(W, H) / 480  # "Welcome!" twice the size


def test_sparks_and_everything_else_stay_off_the_letterbox_bars():
    v = LIB.load("v2-slow-motion")
    assert STYLE_SPECS[v.style].letterbox
    W, H = 864, 480
    ov = Overlay(v, event_for("rank_up"), W, H, 24, 97)
    bar = int(H * 0.08) - 2
    for f in range(0, 72, 3):
        y = planes(_drawn(ov, f / 24), H, W)[0]
        assert y[:bar].max() <= 22 and y[-bar:].max() <= 22, f


def test_the_letterbox_stays_on_the_end_card():
    v = LIB.load("v2-slow-motion")
    W, H = 864, 480
    card = EndCard(v, event_for("rank_up"), W, H)
    frame = _flat(W, H, (200, 200, 200))
    card.draw(frame, 0.5)
    y = planes(frame, H, W)[0]
    bar = int(H * 0.08) - 2
    assert y[:bar].max() <= 17 and y[-bar:].max() <= 17


def test_the_end_cards_button_breathes_through_many_sizes_or_pulses_on_the_beat():
    """The first pass's button jumped between three sizes; it now breathes smoothly, and the comeback's pulses with
    the drums."""
    v = LIB.load("v3-rival-ghost")
    card = EndCard(v, event_for("rank_up"), 864, 480)
    widths = {card._button(card.button_scale(t)).width for t in np.arange(0.3, 1.5, 1 / 24)}
    assert len(widths) >= 5
    come = LIB.load("comeback-replay")
    tl = timeline(come.beats, 4.0)
    card = EndCard(come, event_for("rank_up"), 864, 480, tl=tl)
    beat = 1 / come.beats.beat_hz
    on = [card.button_scale(t) for t in np.arange(0.3, 0.9, 1 / 96) if ((t + tl.end_card - tl.impact) % beat) < 0.01]
    assert on and min(on) > 1.07  # the biggest on the kick


# -- backgrounds ---------------------------------------------------------------------------------


def test_the_background_colour_moves_over_time_not_only_its_light():
    frames = motion_background("slow_motion_celebration", "#4CAF50", "#FFC107", 320, 192, 49, 12, seed=1)
    u0, v0 = (p.astype(int) for p in planes(frames[0], 192, 320)[1:])
    u1, v1 = (p.astype(int) for p in planes(frames[36], 192, 320)[1:])
    assert np.abs(u1 - u0).mean() + np.abs(v1 - v0).mean() > 4


def test_the_background_hue_moves_more_often_than_every_sixth_frame():
    frames = motion_background("shield_hold", "#4CAF50", "#FFC107", 160, 96, 25, 24, seed=1)
    steps = [f for f in range(1, 25) if not np.array_equal(planes(frames[f], 96, 160)[1], planes(frames[f - 1], 96, 160)[1])]
    assert len(steps) >= 7  # 8 a second at 24 fps (the first pass: 4)


def test_speed_lines_tile_so_the_background_never_pops(monkeypatch):
    """With only speed lines moving, every frame is the previous one slid left: no frame re-lays the lines."""
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


def test_only_draws_just_the_frames_asked_for_and_draws_them_alike():
    full = motion_background("rival_ghost_exit", "#4CAF50", "#FFC107", 160, 96, 25, 12, seed=2)
    some = motion_background("rival_ghost_exit", "#4CAF50", "#FFC107", 160, 96, 25, 12, seed=2, only={3, 20})
    assert np.array_equal(full[3], some[3]) and np.array_equal(full[20], some[20])
    assert not np.array_equal(full[10], some[10])


# -- copy and docs -------------------------------------------------------------------------------


def test_cjk_copy_uses_full_width_punctuation():
    texts = list(WORDS["zh"].values()) + [v.cta.get("zh-CN", "") for v in LIB.load_all()]
    for text in texts:
        assert not re.search(r"[\u3400-\u9fff][!?,:;]", text), text


def test_motion_md_holds_every_styles_beat_sheet():
    doc = (REPO / "docs" / "MOTION.md").read_text(encoding="utf-8")
    for style in STYLES:
        b = STYLE_SPECS[style].beats
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{style}` |"))
        for fact in (f"impact {b.impact:.2f} s", f"{b.leap:.2f} s", f"{b.punch_s:.2f} s", f"{b.punch_scale:.2f}×"):
            assert fact in row, (fact, row)
    assert "4.5:1" in doc and "10 %" in doc and "12 %" in doc and "8 %" in doc and "-1 dBTP" in doc
