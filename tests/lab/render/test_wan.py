"""The model path: a tiny random Wan2.2-style pipeline built in code, loaded through from_pretrained,
rendered end to end; missing weights; out-of-memory at the pipeline's call."""

import json

import pytest

from lab import config
from lab.errors import LabError
from lab.render.backends import make_backend
from lab.render.background import DECODE, ENCODE, FRAME, STEP
from lab.render.encode import probe
from lab.render.pipeline import render
from lab.render.wan.backend import WanBackend
from lab.render.wan.files import check_model_dir
from tests.lab.render.conftest import event_for, small

TINY = {"generation__width": 64, "generation__height": 64, "generation__fps": 8, "generation__duration_s": 1.0,
        "generation__steps": 2}


@pytest.fixture(scope="module")
def tiny_backend():
    backend, notice = make_backend("tiny-wan")
    assert notice is None
    return backend


def test_tiny_wan_loads_through_from_pretrained(tiny_backend):
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import UMT5EncoderModel

    pipe = tiny_backend.pipeline()
    assert isinstance(pipe, WanPipeline) and pipe.config.expand_timesteps is True
    assert isinstance(pipe.transformer, WanTransformer3DModel) and isinstance(pipe.text_encoder, UMT5EncoderModel)
    assert isinstance(pipe.vae, AutoencoderKLWan) and pipe.vae.config.z_dim == 48 and pipe.vae.config.patch_size == 2
    assert isinstance(pipe.scheduler, UniPCMultistepScheduler)
    assert (config.tiny_wan_dir() / "model_index.json").exists()


def test_tiny_wan_renders_end_to_end_and_is_labelled(tiny_backend, tmp_path, cache, no_network):
    v = small("v3-rival-ghost", **TINY)
    steps = []
    r = render(v, event_for("rank_up"), tmp_path / "t.mp4", backend=tiny_backend, cache=cache,
               progress=lambda i, n, stage: steps.append((i, n, stage)))
    # The denoising steps, the VAE decode, each composited frame, then encoding (the studio's bar shows them all;
    # it sat at the last step while the decode and the overlay ran).
    assert steps == ([(1, 2, STEP), (2, 2, STEP), (0, 1, DECODE)] + [(f, r.frames, FRAME) for f in
                                                                      range(1, r.frames + 1)] + [(0, 1, ENCODE)])
    assert (r.backend, r.random_weights, r.prompt_sent_to_model) == ("tiny-wan", True, True)
    info = probe(tmp_path / "t.mp4")
    assert (info["codec"], info["pix_fmt"], info["width"], info["height"], info["frames"]) == ("h264", "yuv420p",
                                                                                              64, 64, 9)
    sidecar = json.loads((tmp_path / "t.json").read_text())
    assert sidecar["random_weights"] is True and sidecar["prompt"] == v.prompt_for(event_for("rank_up"))
    again = render(v, event_for("rank_up", user="Carol"), tmp_path / "u.mp4", backend=tiny_backend, cache=cache)
    assert again.cache_hit and again.cache_key == r.cache_key


def test_out_of_memory_at_the_pipeline_call_retries_one_level_down(tiny_backend, tmp_path, cache, monkeypatch):
    import torch
    from diffusers import WanPipeline

    real_call = WanPipeline.__call__
    calls = []

    def oom_once(self, *args, **kwargs):
        calls.append(kwargs["height"])
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(WanPipeline, "__call__", oom_once)
    v = small("v3-rival-ghost", **{**TINY, "generation__fps": 16, "generation__duration_s": 3.0})
    r = render(v, event_for("rank_up"), tmp_path / "o.mp4", backend=tiny_backend, cache=cache, level=1)
    assert len(calls) == 2 and r.level == 2 and r.frames == 33
    assert r.level_reason.startswith("tiny-wan at level 1: CUDA out of memory") and "retried at level 2" in \
        r.level_reason


def test_missing_weights_say_what_to_do(tmp_path):
    with pytest.raises(LabError) as info:
        check_model_dir(None)
    assert str(info.value) == ("wan backend: no model directory is configured; set HIGHLIGHT_LAB_WAN_MODEL to a "
                               "local copy of Wan-AI/Wan2.2-TI2V-5B-Diffusers")
    (tmp_path / "model_index.json").write_text("{}")
    with pytest.raises(LabError) as info:
        WanBackend(tmp_path, device="cpu")
    assert str(info.value).startswith(f"wan model directory {tmp_path}: is missing transformer, vae, text_encoder, "
                                      "tokenizer, scheduler; put the diffusers-format")


def test_auto_falls_back_to_motion_with_a_notice(monkeypatch):
    monkeypatch.delenv("HIGHLIGHT_LAB_WAN_MODEL", raising=False)
    monkeypatch.setattr("lab.render.backends.gpu_available", lambda: False)
    backend, notice = make_backend("auto")
    assert backend.name == "motion"
    assert notice == "using the motion background; wan: no CUDA GPU on this machine"
    monkeypatch.setattr("lab.render.backends.gpu_available", lambda: True)
    backend, notice = make_backend("auto")
    assert backend.name == "motion" and notice.startswith("using the motion background; wan: no local weights (wan "
                                                          "backend: no model directory is configured; set "
                                                          "HIGHLIGHT_LAB_WAN_MODEL")
