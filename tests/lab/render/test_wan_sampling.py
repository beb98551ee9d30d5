"""The lab's own denoising loops on the tiny random-weights pipeline (issue 13): conditional and unconditional
passes as one batch of 2, checked against diffusers' WanPipeline at the same seed, and a few-step distilled
backend (FastWan-style DMD loop) loaded from a local folder only."""

import json
import shutil

import numpy as np
import pytest
import torch

from lab import config
from lab.errors import LabError
from lab.render import sampling
from lab.render.backends import BACKENDS, make_backend
from lab.render.backgrounds import LOADS, free_resident
from lab.render.pipeline import render, render_drafts
from lab.render.tiny_wan import ensure_tiny_wan
from tests.conftest import REPO, reorder_tolerance
from tests.lab.render.conftest import event_for
from tests.lab.render.test_wan_model import background, tiny


@pytest.fixture
def fresh():
    free_resident()
    yield
    free_resident()


def record_forwards(backend):
    """Each transformer call's batch size, and its timestep (first token) when given per token."""
    calls = []

    def hook(module, args, kwargs, out):
        ts = kwargs["timestep"]
        calls.append((kwargs["hidden_states"].shape[0], kwargs["encoder_hidden_states"].shape[0],
                      float(ts.reshape(ts.shape[0], -1)[0, 0])))

    return calls, backend.pipeline().transformer.register_forward_hook(hook, with_kwargs=True)


# -- batched conditional + unconditional passes ----------------------------------------------------------------

def test_batched_cfg_calls_the_transformer_once_per_step_with_batch_2(fresh, tmp_path, cache, monkeypatch):
    backend, _ = make_backend("tiny-wan")
    calls, _ = record_forwards(backend)
    plain = render(tiny(generation__steps=3), event_for("rank_up"), tmp_path / "p.mp4", backend=backend,
                   cache=cache, extras=False)
    assert [c[:2] for c in calls] == [(1, 1)] * 6  # diffusers: cond and uncond as two calls per step
    loads = LOADS[(str(backend.model_dir), "cpu")]
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_CFG_BATCH", "1")
    batched_backend, _ = make_backend("tiny-wan")
    calls.clear()
    batched = render(tiny(generation__steps=3), event_for("rank_up"), tmp_path / "b.mp4", backend=batched_backend,
                     cache=cache, extras=False)
    assert [c[:2] for c in calls] == [(2, 2)] * 3  # one call per step: latents and embeddings both batch 2
    assert LOADS[(str(backend.model_dir), "cpu")] == loads  # the switch does not reload the weights
    settings = json.loads((tmp_path / "b.json").read_text())["model_settings"]
    assert (settings["cfg_batch"], settings["cfg_batch_active"]) == (True, True)
    assert json.loads((tmp_path / "p.json").read_text())["model_settings"]["cfg_batch_active"] is False
    assert batched.cache_key != plain.cache_key and not batched.cache_hit
    assert cache.get(batched.cache_key).meta["timings"]["steps_done"] == 3
    # Same pixels as diffusers' two calls, up to rounding to 8 bits.
    assert np.abs(background(cache, batched).astype(int) - background(cache, plain)).max() <= 1


def _reference(pipe, pe, ne, seed, steps, cfg_steps=None, output_type="latent"):
    def early(p, i, t, kw):
        if cfg_steps is not None and i + 1 == cfg_steps:
            p._guidance_scale = 1.0
        return kw

    return pipe(prompt_embeds=pe, negative_prompt_embeds=ne, height=64, width=96, num_frames=9,
                num_inference_steps=steps, guidance_scale=7.5, generator=torch.Generator("cpu").manual_seed(seed),
                output_type=output_type, callback_on_step_end=early).frames


@pytest.mark.parametrize("cfg_steps", [None, 2])
def test_batched_cfg_matches_the_diffusers_pipeline_at_the_same_seed(fresh, cfg_steps):
    backend, _ = make_backend("tiny-wan")
    res = backend.resident()
    pipe = res.pipe
    assert pipe.transformer.dtype == torch.float32
    pe, ne = res.embeddings("golden arrow sparks on a race track at dusk", "text, numbers, blurry")
    calls, handle = record_forwards(backend)
    ours = sampling.cfg_batched_latents(pipe, pe, ne, height=64, width=96, num_frames=9, steps=4, guidance=7.5,
                                        generator=torch.Generator("cpu").manual_seed(11), cfg_steps=cfg_steps)
    batches = [c[0] for c in calls]
    assert batches == ([2, 2, 2, 2] if cfg_steps is None else [2, 2, 1, 1])
    calls.clear()
    ref = _reference(pipe, pe, ne, 11, 4, cfg_steps)
    assert len(calls) == (8 if cfg_steps is None else 6)
    handle.remove()
    assert ours.shape == ref.shape == (1, 48, 3, 4, 6)
    assert float(ref.abs().max()) > 0.5  # a real signal, not zeros
    # Batch 2 against two calls of batch 1 sums the same products in another order. The longest sum in the
    # tiny transformer is its 256-wide time embedding; 4 steps of 2 blocks (~5 dependent matmuls each, with the
    # patch embedding and the output) give the depth.
    latent_tol = reorder_tolerance(torch.float32, terms=256, depth=4 * 2 * 5 + 2)
    torch.testing.assert_close(ours, ref, rtol=latent_tol, atol=latent_tol)
    # Decoded frames too: our decode is the pipeline's. The VAE's longest sum is a 3x3x3 convolution over 12
    # channels, about 20 convolutions deep, on top of the latents' drift.
    frames = sampling.decode(pipe, ours)
    ref_frames = _reference(pipe, pe, ne, 11, 4, cfg_steps, output_type="np")
    assert frames.shape == ref_frames.shape == (1, 9, 64, 96, 3)
    frame_tol = latent_tol + reorder_tolerance(torch.float32, terms=27 * 12, depth=20)
    np.testing.assert_allclose(frames, ref_frames, rtol=0, atol=frame_tol)
    # Another seed is another video: the comparison above is not vacuous.
    other = sampling.cfg_batched_latents(pipe, pe, ne, height=64, width=96, num_frames=9, steps=4, guidance=7.5,
                                         generator=torch.Generator("cpu").manual_seed(12), cfg_steps=cfg_steps)
    assert float((other - ref).abs().max()) > 0.1
    # ... and the tolerance is tight enough to see guidance left out (scale 1: the conditional pass alone).
    off = sampling.cfg_batched_latents(pipe, pe, ne, height=64, width=96, num_frames=9, steps=4, guidance=1.0,
                                       generator=torch.Generator("cpu").manual_seed(11), cfg_steps=cfg_steps)
    assert float((off - ref).abs().max()) > 3 * latent_tol


def test_batched_cfg_with_cfg_steps_and_draft_mode(fresh, tmp_path, cache, monkeypatch):
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_CFG_BATCH", "1")
    backend, _ = make_backend("tiny-wan")
    calls, _ = record_forwards(backend)
    early = render(tiny(generation__steps=4, model={"cfg_steps": 1}), event_for("rank_up"), tmp_path / "e.mp4",
                   backend=backend, cache=cache, extras=False)
    assert [c[0] for c in calls] == [2, 1, 1, 1]
    settings = json.loads((tmp_path / "e.json").read_text())["model_settings"]
    assert (settings["cfg_steps"], settings["cfg_batch_active"]) == (1, True)
    monkeypatch.delenv("HIGHLIGHT_LAB_WAN_CFG_BATCH")
    unbatched = render(tiny(generation__steps=4, model={"cfg_steps": 1}), event_for("rank_up"), tmp_path / "u.mp4",
                       backend=make_backend("tiny-wan")[0], cache=cache, extras=False)
    assert unbatched.cache_key != early.cache_key
    assert np.abs(background(cache, unbatched).astype(int) - background(cache, early)).max() <= 1
    calls.clear()
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_CFG_BATCH", "1")
    variants = [tiny(v) for v in ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")]
    render_drafts(variants, event_for("rank_up"), tmp_path, backend=make_backend("tiny-wan")[0], cache=cache,
                  extras=False)
    assert [c[0] for c in calls] == [6, 6]  # 3 drafts x (cond + uncond) in one call per step


def test_key_visual_keeps_the_diffusers_image_pipeline(fresh, tmp_path, cache, library, monkeypatch):
    from tests.lab.render.test_wan_model import key_visual

    key_visual(library / "assets" / "key.png", (76, 175, 80))
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_CFG_BATCH", "1")
    backend, _ = make_backend("tiny-wan")
    calls, _ = record_forwards(backend)
    render(tiny(model={"key_visual": "assets/key.png"}), event_for("rank_up"), tmp_path / "k.mp4", backend=backend,
           cache=cache, extras=False, logo_root=library)
    settings = json.loads((tmp_path / "k.json").read_text())["model_settings"]
    assert [c[0] for c in calls] == [1, 1, 1, 1]  # image-to-video is not batched: said so in the sidecar
    assert (settings["cfg_batch"], settings["cfg_batch_active"]) == (True, False)


# -- a few-step distilled model (FastWan2.2-TI2V-5B style) -----------------------------------------------------

@pytest.fixture
def distilled(tmp_path, monkeypatch):
    """The tiny pipeline saved as the "distilled" folder: loaded through the same from_pretrained path."""
    folder = tmp_path / "distilled"
    shutil.copytree(ensure_tiny_wan(config.tiny_wan_dir()), folder)
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_DISTILLED", str(folder))
    return folder


def test_distilled_backend_runs_the_few_step_loop(fresh, tmp_path, cache, distilled, monkeypatch):
    from diffusers import WanPipeline

    assert "wan-distilled" in BACKENDS
    real = WanPipeline.from_pretrained.__func__
    opened = []
    monkeypatch.setattr(WanPipeline, "from_pretrained",
                        classmethod(lambda cls, path, **kw: (opened.append((str(path), kw)), real(cls, path, **kw))[1]))
    backend, _ = make_backend("wan-distilled", device="cpu")
    calls, _ = record_forwards(backend)
    assert len(opened) == 1 and opened[0][0] == str(distilled) and opened[0][1]["local_files_only"] is True
    v = tiny(generation__steps=20)
    a = render(v, event_for("rank_up"), tmp_path / "a.mp4", backend=backend, seed=1, cache=cache, extras=False)
    assert calls == [(1, 1, 1000.0), (1, 1, 757.0), (1, 1, 522.0)]  # N steps = N calls, no guidance pass
    b = render(v, event_for("rank_up"), tmp_path / "b.mp4", backend=make_backend("wan-distilled", device="cpu")[0],
               seed=2, cache=cache, extras=False)
    assert len(calls) == 6 and len(opened) == 1 and LOADS[(str(distilled), "cpu")] == 1  # resident: loaded once
    frames = background(cache, a)
    assert frames.shape == (9, 96, 64) and frames.dtype == np.uint8 and frames.std() > 1
    assert not np.array_equal(frames, background(cache, b))
    sidecar = json.loads((tmp_path / "a.json").read_text())
    assert (sidecar["backend"], sidecar["model"]) == ("wan-distilled", "distilled")
    settings = sidecar["model_settings"]
    assert (settings["distilled"], settings["sampler"], settings["steps"], settings["timesteps"]) == (
        True, "dmd", 3, [1000, 757, 522])
    assert settings["ignored"] == {"steps": 20, "guidance": 7.5, "cfg_steps": None}
    recipe = cache.get(a.cache_key).meta["recipe"]
    assert (recipe["distilled"], recipe["timesteps"], recipe["model"]) == (True, [1000, 757, 522], "distilled")
    # The same variant through the base path is another background; steps the loop ignores change nothing.
    base = render(v, event_for("rank_up"), tmp_path / "w.mp4", backend="tiny-wan", seed=1, cache=cache,
                  extras=False)
    assert base.cache_key != a.cache_key
    again = render(tiny(generation__steps=5), event_for("rank_up"), tmp_path / "c.mp4", backend=backend, seed=1,
                   cache=cache, extras=False)
    assert again.cache_hit and again.cache_key == a.cache_key
    # Two steps: two calls, and another key.
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_DISTILLED_TIMESTEPS", "1000,500")
    calls.clear()
    two = render(v, event_for("rank_up"), tmp_path / "d.mp4", backend=make_backend("wan-distilled", device="cpu")[0],
                 seed=1, cache=cache, extras=False)
    assert [c[2] for c in calls] == [1000.0, 500.0] and two.cache_key != a.cache_key
    assert json.loads((tmp_path / "d.json").read_text())["model_settings"]["steps"] == 2


def test_few_step_loop_is_x0_prediction_and_renoising(fresh, distilled):
    backend, _ = make_backend("wan-distilled", device="cpu")
    pipe = backend.pipeline()
    pe, _ = backend.resident().embeddings("golden arrow", "text")
    one = sampling.few_step_latents(pipe, pe, height=64, width=64, num_frames=9, timesteps=(1000,),
                                    generator=torch.Generator("cpu").manual_seed(5))
    noise = pipe.prepare_latents(1, 48, 64, 64, 9, torch.float32, "cpu", torch.Generator("cpu").manual_seed(5))
    tokens = torch.full((1, 3 * 2 * 2), 1000.0)
    with torch.no_grad():
        v = pipe.transformer(hidden_states=noise, timestep=tokens, encoder_hidden_states=pe, return_dict=False)[0]
    torch.testing.assert_close(one, noise - v)  # at s = 1: x0 = x_t - v


def test_distilled_backend_errors_name_the_fix(monkeypatch, tmp_path, distilled, capsys):
    from lab.cli import main

    monkeypatch.delenv("HIGHLIGHT_LAB_WAN_DISTILLED")
    with pytest.raises(LabError, match="wan-distilled backend: no model directory is configured.*"
                                       "HIGHLIGHT_LAB_WAN_DISTILLED"):
        make_backend("wan-distilled", device="cpu")
    event = json.dumps({"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2})
    code = main(["render", "--variant", "v3-rival-ghost", "--event", event, "--out", str(tmp_path / "x.mp4"),
                 "--backend", "wan-distilled", "--device", "cpu", "--dir", str(REPO / "variants")])
    assert code == 2 and "HIGHLIGHT_LAB_WAN_DISTILLED" in capsys.readouterr().err
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_DISTILLED", str(tmp_path / "nowhere"))
    with pytest.raises(LabError, match="is missing model_index.json"):
        make_backend("wan-distilled", device="cpu")
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_DISTILLED", str(distilled))
    for bad in ("757,1000", "1000,abc", "2000"):
        monkeypatch.setenv("HIGHLIGHT_LAB_WAN_DISTILLED_TIMESTEPS", bad)
        with pytest.raises(LabError, match="HIGHLIGHT_LAB_WAN_DISTILLED_TIMESTEPS"):
            make_backend("wan-distilled", device="cpu")
    monkeypatch.delenv("HIGHLIGHT_LAB_WAN_DISTILLED_TIMESTEPS")
    backend, _ = make_backend("wan-distilled", device="cpu")
    with pytest.raises(LabError, match="names a LoRA, which the distilled backend does not run"):
        render(tiny(model={"lora": {"path": "brand-style"}}), event_for("rank_up"), tmp_path / "l.mp4",
               backend=backend, extras=False)
    assert not list(tmp_path.glob("*.mp4"))
