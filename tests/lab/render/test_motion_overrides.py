"""Motion a designer can shape (issue 20): a variant's ``motion`` block overrides its style's beats, is validated
like every other field, is part of the version hash, and the render follows it."""

import numpy as np
import pytest
import yaml

from lab.errors import VariantError
from lab.library.schema import parse_variant, with_changes
from lab.library.versions import VariantLibrary
from lab.render.compositor import Compositor
from lab.render.measure import decode, luma_change
from lab.render.overlay import EndCard, Overlay, timeline
from lab.render.pipeline import render
from lab.render.styles import MOTION_KNOBS, STYLE_SPECS, TRANSITION_S
from tests.conftest import REPO
from tests.lab.render.conftest import event_for

LIB = VariantLibrary(REPO / "variants")
V3 = yaml.safe_load((REPO / "variants" / "v3-rival-ghost.yaml").read_text(encoding="utf-8"))
ALL = {"impact_s": 1.2, "punch_scale": 2.0, "hold_s": 1.0, "particles": 2.0, "particle_colour": "#ff00aa",
       "shake": 10, "sound_db": -6}


def _v3(**motion):
    return parse_variant({**V3, "motion": motion}, "v3.yaml")


def test_every_knob_overrides_the_styles_beat():
    v = _v3(**ALL)
    base = STYLE_SPECS["rival_ghost_exit"].beats
    b = v.beats
    assert (b.impact, b.punch_scale, b.hold_s, b.particles, b.particle_colour, b.shake, b.sound_db) == \
        (1.2, 2.0, 1.0, 2.0, "#FF00AA", 10.0, -6.0)
    assert b.leap / b.impact == pytest.approx(base.leap / base.impact)  # the wind-up keeps its proportions
    assert set(ALL) == {*MOTION_KNOBS, "particle_colour"}


@pytest.mark.parametrize("key", sorted(MOTION_KNOBS))
def test_each_knob_is_held_to_its_range(key):
    knob = MOTION_KNOBS[key]
    for bad in (knob.low - 0.5, knob.high + 0.5):
        with pytest.raises(VariantError, match=rf"v3.yaml: motion.{key}: must be between {knob.low:g} and "
                                               rf"{knob.high:g}"):
            _v3(**{key: bad})
    with pytest.raises(VariantError, match=rf"motion.{key}: must be a number, got text"):
        _v3(**{key: "fast"})


def test_the_motion_block_refuses_what_it_does_not_know():
    with pytest.raises(VariantError, match="motion.flash: is not a known field"):
        _v3(flash=0.9)
    with pytest.raises(VariantError, match="motion.particle_colour: 'gold' is not a colour"):
        _v3(particle_colour="gold")
    with pytest.raises(VariantError, match="motion: must be a mapping"):
        parse_variant({**V3, "motion": [1]}, "v3.yaml")


def test_explicit_times_must_leave_the_end_card_its_time():
    with pytest.raises(VariantError, match=r"motion: the impact at 1.8 s, a hold of 2 s and the 0.4 s flight leave the "
                                           r"end card -0.20 s of the 4 s video; it needs at least 0.75 s"):
        _v3(impact_s=1.8, hold_s=2.0)
    with pytest.raises(VariantError, match="make the video longer|lengthen the video"):
        parse_variant({**V3, "generation": {**V3["generation"], "duration_s": 2.0}, "motion": {"impact_s": 1.5}},
                      "v3.yaml")
    assert _v3(impact_s=1.8, hold_s=1.0).beats.impact == 1.8  # 1.8 + 1.0 + 0.4 = 3.2: 0.8 s of end card


def test_the_motion_block_is_in_the_version_hash_and_only_when_set():
    for v in LIB.load_all():  # every shipped version keeps its hash: no motion block is written for them
        assert "motion" not in v.to_dict()
        assert (REPO / "variants" / "versions" / v.id / f"{v.version}.yaml").is_file()
    a, b = _v3(impact_s=1.0), _v3(impact_s=1.2)
    plain = parse_variant(V3, "v3.yaml")
    assert len({a.version, b.version, plain.version}) == 3  # two timings of one style: two versions to A/B
    again = parse_variant(yaml.safe_load(b.to_yaml()), "round-trip.yaml")
    assert again == b and again.version == b.version
    assert with_changes(plain, motion={"shake": 4}).motion.shake == 4.0


def test_the_render_follows_the_impact_and_hold(tmp_path, cache):
    """The biggest change in the clip moves with ``impact_s``; ``hold_s`` places the flight."""
    small = {"generation__width": 320, "generation__height": 192, "generation__fps": 12}
    base = with_changes(LIB.load("v3-rival-ghost"), **small)
    late = with_changes(base, motion={"impact_s": 1.5, "hold_s": 0.8})
    for v, impact in ((base, 1.0), (late, 1.5)):
        r = render(v, event_for("rank_up"), tmp_path / "o.mp4", backend="motion", cache=cache, extras=False)
        change = luma_change(decode(tmp_path / "o.mp4").luma)
        assert np.argmax(change) / r.fps == pytest.approx(impact, abs=1 / 12 + 1e-9)
    tl = timeline(late.beats, 4.0)
    assert tl.end_card == pytest.approx(1.5 + 0.8 + TRANSITION_S)


def test_particles_colour_and_shake_reach_the_pictures():
    v = LIB.load("v1-fast-sprint")
    e = event_for("rank_up")
    none = Overlay(with_changes(v, motion={"particles": 0}), e, 432, 240, 24, 97)
    many = Overlay(with_changes(v, motion={"particles": 2}), e, 432, 240, 24, 97)
    some = Overlay(v, e, 432, 240, 24, 97)
    assert not none.sparks.items and len(many.sparks.items) > 1.8 * len(some.sparks.items)
    pink = Overlay(with_changes(v, motion={"particle_colour": "#FF00AA"}), e, 432, 240, 24, 97)
    assert pink.sparks.streaks[0][0] is not some.sparks.streaks[0][0]  # the sparks' own colour
    assert pink.sparks.recipe[3][0] == (255, 0, 170)
    still = with_changes(v, motion={"shake": 0})
    for variant, moves in ((v, True), (still, False)):
        ov = Overlay(variant, e, 432, 240, 24, 97, particles=False)
        bg = np.full((97, 360, 432), 100, np.uint8)
        bg[:, :240, ::7] = 200  # stripes: a shift shows
        c = Compositor(ov, EndCard(variant, e, 432, 240, tl=ov.tl), bg, f"shake-{moves}")
        frame = np.array(bg[0])
        shaken = c._shake(frame, ov.tl.impact + 1 / 24)
        assert (shaken is not frame) == moves
