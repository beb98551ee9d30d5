"""Whole renders on the motion backend, checked by decoding what was written."""

import json

import numpy as np
import pytest
from PIL import Image

from lab.errors import LabError
from lab.library.versions import VariantLibrary
from lab.render.background import ENCODE, FRAME
from lab.render.encode import probe
from lab.render.overlay import END_CARD_MIN_S, SETTLED_S
from lab.render.pipeline import render
from tests.conftest import REPO
from tests.lab.render.conftest import event_for, small

SHIPPED = [v.id for v in VariantLibrary(REPO / "variants").load_all()]


def decode_rgb(path):
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


@pytest.mark.parametrize("variant_id", SHIPPED)
def test_every_shipped_variant_renders_a_valid_video(variant_id, tmp_path, cache):
    v = small(variant_id)
    r = render(v, event_for(v.scenario), tmp_path / "out.mp4", backend="motion", cache=cache,
               logo_root=REPO / "variants")
    info = probe(tmp_path / "out.mp4")
    assert info == {"codec": "h264", "pix_fmt": "yuv420p", "width": 320, "height": 192, "frames": 25, "fps": 12.0,
                    "audio": "aac", "faststart": True, "bytes": info["bytes"]}
    assert (r.width, r.height, r.frames, r.duration_s) == (320, 192, 25, 2.0)
    assert Image.open(r.poster).size == (320, 192)
    assert Image.open(r.contact_sheet).size[0] > 320
    sidecar = json.loads((tmp_path / "out.json").read_text())
    for key in ("path", "poster", "contact_sheet", "backend", "level", "width", "height", "fps", "frames",
                "duration_s", "prompt", "cache_hit", "seconds", "timings", "warnings", "level_reason", "seed"):
        assert key in sidecar
    assert sidecar["backend"] == "motion" and sidecar["prompt_sent_to_model"] is False


def test_the_end_card_lasts_three_quarters_of_a_second_and_keeps_moving(tmp_path, cache):
    """The end card is no longer a frozen still: the background moves under it and its button breathes."""
    v = small("v3-rival-ghost")
    r = render(v, event_for("rank_up"), tmp_path / "a.mp4", backend="motion", cache=cache)
    frames = decode_rgb(tmp_path / "a.mp4")
    card = int(np.ceil(END_CARD_MIN_S * 12)) + 1
    last = frames[-card:]
    moves = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(last, last[1:], strict=False)]
    assert sum(m > 0.1 for m in moves) >= len(moves) - 2, moves  # frame after frame, not one still
    poster = np.asarray(Image.open(r.poster).convert("RGB")).astype(int)
    settled = frames[-card + int(round(SETTLED_S * 12))]
    assert np.abs(settled.astype(int) - poster).mean() < 4  # the poster is the card once everything is in place


def test_the_overlay_changes_only_its_own_pixels(tmp_path, cache):
    """Two users, same variant: same background (a cache hit) and the same pixels far from the overlay."""
    v = small("v1-fast-sprint")
    a = render(v, event_for("rank_up", user="Alice"), tmp_path / "a.mp4", backend="motion", cache=cache)
    b = render(v, event_for("rank_up", user="Zhang Wei"), tmp_path / "b.mp4", backend="motion", cache=cache)
    assert (a.cache_hit, b.cache_hit) == (False, True) and a.cache_key == b.cache_key
    fa, fb = decode_rgb(tmp_path / "a.mp4"), decode_rgb(tmp_path / "b.mp4")
    # Two encodes of the same corner differ by x264's choices alone (its rate control sees two different pictures
    # elsewhere): a level or two on average, against the names' 60+.
    assert np.abs(fa[10][-20:, :40].astype(int) - fb[10][-20:, :40].astype(int)).mean() <= 2
    assert np.abs(fa[10].astype(int) - fb[10].astype(int)).max() > 60  # the names differ


def test_portrait_and_landscape_both_render(tmp_path, cache):
    v = small("defend-shield", generation__width=192, generation__height=320)
    r = render(v, event_for("defend", user="李雷", locale="zh-CN"), tmp_path / "p.mp4", backend="motion", cache=cache)
    assert (r.width, r.height) == (192, 320)
    assert probe(tmp_path / "p.mp4")["frames"] == 25


def test_a_seed_sized_config_is_snapped_and_recorded(tmp_path, cache):
    v = small("v2-slow-motion", generation__width=852, generation__height=480, generation__duration_s=1.0)
    r = render(v, event_for("rank_up"), tmp_path / "s.mp4", backend="motion", cache=cache)
    assert (r.width, r.height) == (864, 480)
    assert "size 852x480 snapped to 864x480" in r.warnings[0]
    assert json.loads((tmp_path / "s.json").read_text())["warnings"] == r.warnings


def test_4s_480p_clip_stays_under_500kb(tmp_path, cache):
    v = VariantLibrary(REPO / "variants").load("v3-rival-ghost")
    r = render(v, event_for("rank_up"), tmp_path / "full.mp4", backend="motion", cache=cache, extras=False)
    info = probe(tmp_path / "full.mp4")
    assert (info["width"], info["height"], info["frames"]) == (864, 480, 97)
    assert info["bytes"] < 500_000
    assert r.poster is None and r.contact_sheet is None


def test_wrong_scenario_and_bad_output_path_write_nothing(tmp_path, cache):
    v = small("v3-rival-ghost")
    with pytest.raises(LabError, match="is for rank_up events, the event is first_entry"):
        render(v, event_for("first_entry"), tmp_path / "x.mp4", backend="motion", cache=cache)
    with pytest.raises(LabError, match="does not end in .mp4"):
        render(v, event_for("rank_up"), tmp_path / "x.gif", backend="motion", cache=cache)
    with pytest.raises(LabError, match="does not exist; create it first"):
        render(v, event_for("rank_up"), tmp_path / "nope" / "x.mp4", backend="motion", cache=cache)
    assert not list(tmp_path.glob("x*"))


def test_a_name_no_font_can_draw_is_reported_without_the_name(tmp_path, cache):
    v = small("v1-fast-sprint")
    # Adlam letters: valid, printable, and in none of the installed fonts. (Emoji are drawn by Symbola.)
    r = render(v, event_for("rank_up", user="Ann \U0001E900\U0001E901"), tmp_path / "e.mp4", backend="motion",
               cache=cache)
    assert "the user's name has 2 character(s) no installed font can draw (they show as boxes); install a font " \
           "that covers them" in r.warnings
    assert "\U0001E900" not in json.dumps(r.warnings, ensure_ascii=False) and "Ann" not in json.dumps(r.warnings)


def test_a_motion_render_reports_each_frame_it_composites(tmp_path, cache):
    v = small("v1-fast-sprint")
    calls = []
    r = render(v, event_for(v.scenario), tmp_path / "out.mp4", backend="motion", cache=cache,
               logo_root=REPO / "variants", progress=lambda done, total, stage: calls.append((done, total, stage)))
    assert r.frames == 25 and probe(tmp_path / "out.mp4")["frames"] == 25
    # one call per frame, in order, up to the frame total, then the encoder's finish
    assert calls == [(f, 25, FRAME) for f in range(1, 26)] + [(0, 1, ENCODE)]


def test_the_encoder_is_chosen_by_what_opens_here_and_recorded(tmp_path, cache, monkeypatch):
    """NVENC where it opens (a GPU machine), x264 elsewhere; the sidecar names the one used. On a machine
    without NVIDIA's encoder, asking for it is a one-line settings error, and ``auto`` falls back."""
    from lab.render import encode

    v = small("v1-fast-sprint")
    r = render(v, event_for(v.scenario), tmp_path / "a.mp4", backend="motion", cache=cache, extras=False,
               logo_root=REPO / "variants")
    expected = "h264_nvenc" if encode.nvenc_opens() else "libx264"
    assert r.encoder == expected and json.loads((tmp_path / "a.json").read_text())["encoder"] == expected
    assert probe(tmp_path / "a.mp4")["codec"] == "h264"
    monkeypatch.setenv("HIGHLIGHT_LAB_ENCODER", "libx264")
    assert render(v, event_for(v.scenario), tmp_path / "b.mp4", backend="motion", cache=cache, extras=False,
                  logo_root=REPO / "variants").encoder == "libx264"
    monkeypatch.setattr(encode, "nvenc_opens", lambda: False)  # as on a machine without NVENC
    monkeypatch.setenv("HIGHLIGHT_LAB_ENCODER", "h264_nvenc")
    with pytest.raises(LabError, match="HIGHLIGHT_LAB_ENCODER: h264_nvenc does not open on this machine"):
        render(v, event_for(v.scenario), tmp_path / "c.mp4", backend="motion", cache=cache, extras=False,
               logo_root=REPO / "variants")
    assert not (tmp_path / "c.mp4").exists()
    monkeypatch.setenv("HIGHLIGHT_LAB_ENCODER", "auto")
    assert render(v, event_for(v.scenario), tmp_path / "d.mp4", backend="motion", cache=cache, extras=False,
                  logo_root=REPO / "variants").encoder == "libx264"
