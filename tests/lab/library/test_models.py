import pytest

from lab.library.models import WAN22_TI2V_5B as M
from lab.library.models import plan_size


def test_the_seeds_config_is_snapped_visibly():
    plan = plan_size(M, width=852, height=480, fps=24, duration_s=4)
    assert (plan.width, plan.height, plan.frames) == (864, 480, 97)
    assert plan.warnings == (
        "size 852x480 snapped to 864x480: Wan2.2-TI2V-5B needs width and height in multiples of 32",
    )


def test_a_valid_config_is_left_alone():
    plan = plan_size(M, width=1280, height=704, fps=24, duration_s=5)
    assert (plan.width, plan.height, plan.frames, plan.warnings) == (1280, 704, 121, ())


@pytest.mark.parametrize("frames, snapped", [(97, 97), (96, 97), (98, 97), (99, 101), (2, 5), (49, 49)])
def test_frame_counts_are_4k_plus_1(frames, snapped):
    assert M.snap_frames(frames) == snapped
    assert (M.snap_frames(frames) - 1) % 4 == 0


def test_odd_frame_counts_warn():
    plan = plan_size(M, width=864, height=480, fps=30, duration_s=3.1)
    assert plan.frames == 93
    assert plan.warnings == ("94 frames (3.1 s at 30 fps) snapped to 93: Wan2.2-TI2V-5B makes 4k+1 frames",)


def test_long_clips_warn_about_distortion():
    plan = plan_size(M, width=864, height=480, fps=24, duration_s=8)
    assert "duration 8 s is past the ~6 s where Wan2.2-TI2V-5B starts to distort" in plan.warnings
