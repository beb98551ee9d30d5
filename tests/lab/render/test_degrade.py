"""Degrade triggers: explicit level, free GPU memory, latency budget, and out-of-memory at the pipeline call."""

import pytest

from lab.errors import LabError
from lab.library.versions import VariantLibrary
from lab.render.degrade import choose_level, estimate
from lab.render.pipeline import render
from tests.conftest import REPO
from tests.lab.render.conftest import event_for, small

V3 = VariantLibrary(REPO / "variants").load("v3-rival-ghost")


def test_levels_cost_less_as_they_go_down():
    est = [estimate(V3, level) for level in range(5)]
    assert est[0].gpu_bytes > est[1].gpu_bytes > est[2].gpu_bytes
    assert est[0].seconds > est[1].seconds > est[2].seconds
    assert est[4].gpu_bytes == 0  # the motion background needs no GPU


def test_free_memory_picks_a_level_and_says_why():
    fits_1 = estimate(V3, 1).gpu_bytes + 1
    level, reason = choose_level(V3, free_gpu_bytes=fits_1)
    assert level == 1
    assert reason.startswith(f"{fits_1 / 1024**3:.1f} GiB free on the GPU, level 0 needs") and reason.endswith("-> level 1")
    assert choose_level(V3, free_gpu_bytes=10**15) == (0, "as configured")
    assert choose_level(V3, free_gpu_bytes=1)[0] == 4


def test_latency_budget_picks_a_level():
    budget = estimate(V3, 2).seconds + 0.01
    level, reason = choose_level(V3, latency_budget_s=budget)
    assert level == 2 and "latency budget" in reason


def test_explicit_level_renders_smaller(tmp_path, cache):
    v = small("v3-rival-ghost")
    r = render(v, event_for("rank_up"), tmp_path / "l.mp4", backend="motion", level=2, cache=cache)
    assert (r.level, r.level_reason, r.height, r.frames) == (2, "level 2 requested", 192, 25)
    full = VariantLibrary(REPO / "variants").load("v1-fast-sprint")
    r = render(full, event_for("rank_up"), tmp_path / "m.mp4", backend="motion", level=3, cache=cache, extras=False)
    assert (r.width, r.height, r.frames, r.duration_s) == (640, 352, 49, 2.0)
    with pytest.raises(LabError, match="level 9 does not exist"):
        render(v, event_for("rank_up"), tmp_path / "n.mp4", backend="motion", level=9, cache=cache)


def test_automatic_level_from_free_memory_is_recorded(tmp_path, cache):
    from lab.render.backgrounds import MotionBackend

    class GpuLike(MotionBackend):
        sends_prompt = True  # behaves like a model backend for level choice

    r = render(V3, event_for("rank_up"), tmp_path / "a.mp4", backend=GpuLike(), cache=cache, extras=False,
               free_memory=estimate(V3, 1).gpu_bytes + 1)
    assert (r.level, r.height) == (1, 352) and "GiB free on the GPU" in r.level_reason
