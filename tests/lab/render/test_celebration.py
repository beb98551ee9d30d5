"""Issue 20's "Done when", measured on finished clips (decoded from the MP4s) of every shipped variant, landscape
and portrait, for a Latin name and a 30-character name: the impact is the biggest change, the hold never goes
still, every clip fits 500 KB, the sound's true peak stays under -1 dBTP and the end card is not silent.
``benchmarks/celebration.py`` prints the same figures as a table."""

import pytest

from lab.library.schema import with_changes
from lab.library.versions import VariantLibrary
from lab.render.cache import BackgroundCache
from lab.render.encode import MAX_BYTES
from lab.render.measure import clip_report
from lab.render.overlay import timeline
from lab.render.pipeline import render
from tests.conftest import REPO
from tests.lab.render.conftest import event_for

LIB = VariantLibrary(REPO / "variants")
NAMES = {"latin": ("Alice", "Bob"), "30-char": ("Maximiliana Fernández-Oyelaran", "Bartholomew Quintero-Vasquez")}
CLIPS = [(v.id, o, n) for v in LIB.load_all() for o in ("landscape", "portrait") for n in NAMES]
IDS = ["-".join(c) for c in CLIPS]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Every clip rendered once, at full size, and measured from its file."""
    tmp = tmp_path_factory.mktemp("celebration")
    cache = BackgroundCache(tmp / "cache", 10**10)
    out = {}
    for variant_id, orientation, names in CLIPS:
        v = LIB.load(variant_id)
        if orientation == "portrait":
            v = with_changes(v, generation__width=v.generation.height, generation__height=v.generation.width)
        user, rival = NAMES[names]
        path = tmp / f"{variant_id}-{orientation}-{names}.mp4"
        r = render(v, event_for(v.scenario, user=user, rival=rival), path, backend="motion", cache=cache,
                   extras=False, logo_root=REPO / "variants")
        tl = timeline(v.beats, r.duration_s, r.fps)
        out[f"{variant_id}-{orientation}-{names}"] = clip_report(path, tl.impact, tl.transition, tl.end_card)
        path.unlink()
    return out


@pytest.mark.parametrize("clip", IDS)
def test_the_impact_is_the_biggest_change_at_least_one_and_a_half_times_the_flight(reports, clip):
    r = reports[clip]
    assert r.impact_ratio >= 1.5, r  # the first pass's V2 and defend: 0.76 and 0.79
    assert r.impact == pytest.approx(r.largest), r


@pytest.mark.parametrize("clip", IDS)
def test_the_hold_never_goes_still(reports, clip):
    assert reports[clip].quietest >= 1.0, reports[clip]  # luma levels of change per frame, any 0.5 s in 1.6-2.8 s


@pytest.mark.parametrize("clip", IDS)
def test_every_clip_fits_500_kb(reports, clip):
    assert reports[clip].bytes <= MAX_BYTES == 500_000, reports[clip]


@pytest.mark.parametrize("clip", IDS)
def test_the_sound_stays_under_minus_1_dbtp_and_carries_the_end_card(reports, clip):
    r = reports[clip]
    assert r.true_peak_dbtp <= -1.0, r
    assert r.end_card_db > -40.0, r
