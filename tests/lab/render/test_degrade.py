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
    from lab.render.motion_backend import MotionBackend

    class GpuLike(MotionBackend):
        sends_prompt = True  # behaves like a model backend for level choice

    r = render(V3, event_for("rank_up"), tmp_path / "a.mp4", backend=GpuLike(), cache=cache, extras=False,
               free_memory=estimate(V3, 1).gpu_bytes + 1)
    assert (r.level, r.height) == (1, 352) and "GiB free on the GPU" in r.level_reason


def test_resident_weights_are_not_counted_again():
    needed = estimate(V3, 0).gpu_bytes
    resident = estimate(V3, 0, weights_resident=True).gpu_bytes
    assert needed - resident == 23 * 1024**3  # the placeholder's weights, already on the GPU
    free = resident + 1
    assert choose_level(V3, free_gpu_bytes=free)[0] > 0
    assert choose_level(V3, free_gpu_bytes=free, weights_resident=True) == (0, "as configured")
    assert estimate(V3, 0, cpu_offload=True).gpu_bytes < needed


def test_level_3_has_its_own_estimate_and_a_budget_can_land_on_it():
    two, three = estimate(V3, 2), estimate(V3, 3)
    assert three.seconds < two.seconds  # no particles to draw
    level, reason = choose_level(V3, latency_budget_s=(two.seconds + three.seconds) / 2)
    assert level == 3 and "latency budget" in reason


def test_measured_costs_replace_the_placeholders(tmp_path, monkeypatch):
    import json

    from lab.render.degrade import PLACEHOLDER, calibration

    assert calibration() == PLACEHOLDER and calibration().source == "placeholder"
    measured = {**PLACEHOLDER.to_json(), "source": "NVIDIA H100 80GB HBM3, 2026-11-27",
                "seconds_per_token_forward": PLACEHOLDER.seconds_per_token_forward * 2}
    path = tmp_path / "wan_calibration.json"
    path.write_text(json.dumps(measured))
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_CALIBRATION", str(path))
    assert calibration().source.startswith("NVIDIA H100")
    assert estimate(V3, 0).seconds > estimate(V3, 0, cal=PLACEHOLDER).seconds
