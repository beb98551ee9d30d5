"""What the per-user render reuses (one encoder frame, the dimmed end-card background) changes no pixel."""

import av
import numpy as np

from lab.render import compositor
from lab.render.encode import encode_mp4
from lab.render.overlay import EndCard, dimmed_frames, endcard
from lab.render.pipeline import render
from tests.conftest import REPO
from tests.lab.render.conftest import event_for, small


def test_the_reused_encoder_frame_decodes_back_exactly_with_keyframes_only_where_asked(tmp_path):
    w, h = 64, 48
    rng = np.random.default_rng(1)
    frames = [rng.integers(16, 236, (h * 3 // 2, w), dtype=np.uint8) for _ in range(12)]
    out = tmp_path / "lossless.mp4"
    encode_mp4(iter(frames), out, w, h, 12, crf=0, keyframes=frozenset({5}))  # crf 0: x264's lossless mode
    with av.open(str(out)) as c:
        decoded = [(f.to_ndarray(format="yuv420p"), f.key_frame) for f in c.decode(c.streams.video[0])]
    assert len(decoded) == len(frames)
    for i, (got, _) in enumerate(decoded):
        assert np.array_equal(got, frames[i]), f"frame {i} differs: a reused frame was overwritten in flight"
    assert [i for i, (_, key) in enumerate(decoded) if key] == [0, 5]  # the I-frame flag does not stick


def test_the_dimmed_background_is_made_once_and_gives_the_same_end_card(tmp_path):
    v = small("v3-rival-ghost")
    w, h = v.generation.width, v.generation.height
    rng = np.random.default_rng(2)
    background = rng.integers(16, 236, (6, h * 3 // 2, w), dtype=np.uint8)
    background.flags.writeable = False  # as the cache's memory map is
    first = dimmed_frames("test-key", background, 2)
    assert dimmed_frames("test-key", background, 2) is first and not first.flags.writeable
    card = EndCard(v, event_for(v.scenario), w, h, str(REPO / "variants" / v.brand.logo))
    for f in range(2, 6):
        for t in (0.0, 0.3):
            direct = np.array(background[f])
            card.draw(direct, t)
            reused = np.array(first[f - 2])
            card.draw_dimmed(reused, t)
            assert np.array_equal(direct, reused)


def test_a_second_user_of_a_background_gets_the_same_pixels_as_a_fresh_process(tmp_path, cache):
    v = small("v3-rival-ghost")
    e = event_for(v.scenario)
    outs = []
    for i in range(3):
        if i == 2:
            endcard._dimmed.clear()  # as a fresh process: dimmed and decorated again from the background
            compositor._decor.clear()
        render(v, e, tmp_path / f"{i}.mp4", backend="motion", cache=cache, extras=False, logo_root=REPO / "variants")
        outs.append((tmp_path / f"{i}.mp4").read_bytes())
    assert outs[0] == outs[1] == outs[2]
