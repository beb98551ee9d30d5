"""The Wan model path on the tiny random-weights pipeline (issue 13): every shipped prompt through the encoder,
one resident pipeline per process, cached prompt embeddings, the CPU refusal, out of memory at load and at call,
a cache key without the level's label, key visuals (image-to-video), style LoRAs, guidance on the first k steps,
and the switches recorded in the sidecar."""

import json

import numpy as np
import pytest
from PIL import Image

from lab import config
from lab.errors import LabError
from lab.library.schema import parse_variant
from lab.library.versions import VariantLibrary
from lab.render.backends import make_backend
from lab.render.pipeline import render
from lab.render.wan import files, resident
from lab.render.wan.backend import WanBackend
from lab.render.wan.resident import LOADS, free_resident, resident_wan
from tests.conftest import REPO
from tests.lab.render.conftest import event_for, small

TINY = {"generation__width": 64, "generation__height": 64, "generation__fps": 8, "generation__duration_s": 1.0,
        "generation__steps": 2}


@pytest.fixture
def fresh():
    """No pipeline resident before or after the test: load counts start from a known state."""
    free_resident()
    yield
    free_resident()


def tiny(variant_id="v3-rival-ghost", model=None, **changes):
    v = small(variant_id, **{**TINY, **changes})
    if model is None:
        return v
    return parse_variant({**v.to_dict(), "model": model}, f"variant {v.id}")


def loads(backend):
    return LOADS[(str(backend.model_dir), backend.device)]


def background(cache, result):
    return np.array(cache.get(result.cache_key).frames)


# -- defect: ids past the tiny encoder's vocabulary --------------------------------------------------------

def test_every_shipped_prompt_goes_through_the_tiny_encoder():
    backend, _ = make_backend("tiny-wan")
    res = backend.resident()
    vocab = res.pipe.text_encoder.config.vocab_size
    events = {"rank_up": event_for("rank_up", old_rank=7, new_rank=3), "defend": event_for("defend"),
              "first_entry": event_for("first_entry")}
    library = VariantLibrary(REPO / "variants")
    ids = library.ids()
    assert {"comeback-replay", "v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost"} <= set(ids)
    for variant_id in ids:
        v = library.load(variant_id)
        prompt = v.prompt_for(events[v.scenario])
        for text in (prompt, v.negative_prompt):
            assert max(res.pipe.tokenizer(text)["input_ids"]) < vocab, (variant_id, text)
        pe, ne = res.embeddings(prompt, v.negative_prompt)  # runs the UMT5 encoder: the old crash was here
        assert pe.shape[0] == ne.shape[0] == 1 and bool(pe.isfinite().all())


def test_comeback_replay_renders_on_tiny_wan_at_level_2(tmp_path, cache):
    v = small("comeback-replay", generation__width=64, generation__height=64, generation__fps=8,
              generation__steps=2)
    r = render(v, event_for("rank_up", old_rank=7, new_rank=3), tmp_path / "c.mp4", backend="tiny-wan", level=2,
               cache=cache, extras=False)
    assert (r.backend, r.level, r.frames) == ("tiny-wan", 2, 17) and "#4CAF50" not in r.prompt


# -- defect: one load per process, and cached prompt embeddings ---------------------------------------------

def test_one_load_for_many_renders(fresh, tmp_path, cache):
    first, _ = make_backend("tiny-wan")
    before = loads(first)
    for seed in (1, 2, 3):  # the studio makes a backend per preview: each is cheap, the pipeline is shared
        backend, _ = make_backend("tiny-wan")
        r = render(tiny(), event_for("rank_up"), tmp_path / f"s{seed}.mp4", backend=backend, seed=seed,
                   cache=cache, extras=False)
        assert not r.cache_hit
    assert loads(first) - before == 1 and first.weights_resident()
    assert first.free() == 1 and not first.weights_resident()
    render(tiny(), event_for("rank_up"), tmp_path / "s4.mp4", backend=first, seed=4, cache=cache, extras=False)
    assert loads(first) - before == 2  # freed explicitly, so the next render loads again


def test_cached_prompt_embeddings_are_reused(fresh, tmp_path, cache):
    backend, _ = make_backend("tiny-wan")
    encoder_calls = []
    backend.pipeline().text_encoder.register_forward_hook(lambda *a: encoder_calls.append(1))
    v = tiny()
    render(v, event_for("rank_up"), tmp_path / "a.mp4", backend=backend, seed=1, cache=cache, extras=False)
    assert len(encoder_calls) == 2  # the prompt and the negative prompt
    r = render(v, event_for("rank_up", user="Carol"), tmp_path / "b.mp4", backend=backend, seed=2, cache=cache,
               extras=False)
    assert not r.cache_hit and len(encoder_calls) == 2  # a new background, from the cached embeddings
    assert backend.resident().embed_hits == 1
    assert cache.get(r.cache_key).meta["timings"]["embeddings_cached"] is True
    render(v, event_for("rank_up", new_rank=1), tmp_path / "c.mp4", backend=backend, seed=2, cache=cache,
           extras=False)
    assert len(encoder_calls) == 4  # another rank is another prompt


# -- defect: the full model without CUDA --------------------------------------------------------------------

def test_wan_without_cuda_is_refused_unless_cpu_is_asked_for(monkeypatch, tmp_path, capsys):
    from lab.cli import main
    from lab.render.wan.tiny import ensure_tiny_wan

    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_MODEL", str(ensure_tiny_wan(config.tiny_wan_dir())))
    with pytest.raises(LabError) as info:
        make_backend("wan")
    assert str(info.value).startswith("wan backend: no CUDA GPU here: the model would load in fp32 on the CPU")
    assert "pass --device cpu explicitly" in str(info.value)
    event = json.dumps({"event": "rank_up", "user": "Alice", "old_rank": 3, "new_rank": 2})
    code = main(["render", "--variant", "v3-rival-ghost", "--event", event, "--out", str(tmp_path / "w.mp4"),
                 "--backend", "wan", "--dir", str(REPO / "variants")])
    assert code == 2 and "no CUDA GPU here" in capsys.readouterr().err and not (tmp_path / "w.mp4").exists()
    backend, _ = make_backend("wan", device="cpu")
    assert backend.device == "cpu" and backend.name == "wan"
    with pytest.raises(LabError, match="'tpu' is not a device"):
        make_backend("wan", device="tpu")


# -- defect: out of memory at load and at call ---------------------------------------------------------------

@pytest.fixture
def releases(monkeypatch):
    calls = []
    real = resident._release_device_memory
    monkeypatch.setattr(resident, "_release_device_memory", lambda: (calls.append(1), real())[1])
    return calls


def test_out_of_memory_at_load_frees_and_steps_down(fresh, tmp_path, cache, monkeypatch, releases):
    import torch
    from diffusers import WanPipeline

    real = WanPipeline.from_pretrained.__func__
    attempts = []

    def oom_once(cls, *args, **kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(WanPipeline, "from_pretrained", classmethod(oom_once))
    backend, _ = make_backend("tiny-wan")
    before = loads(backend)
    r = render(tiny(generation__fps=16, generation__duration_s=3.0), event_for("rank_up"), tmp_path / "l.mp4",
               backend=backend, level=1, cache=cache, extras=False)
    assert len(attempts) == 2 and loads(backend) - before == 2 and releases
    assert (r.level, r.frames) == (2, 33)
    assert r.level_reason.startswith("loading tiny-wan on cpu: CUDA out of memory (CUDA out of memory. Tried")
    assert r.level_reason.endswith("-> retried at level 2")


def test_out_of_memory_at_call_frees_the_cache_and_steps_down(fresh, tmp_path, cache, monkeypatch, releases):
    import torch
    from diffusers import WanPipeline

    real_call = WanPipeline.__call__
    heights = []

    def oom_once(self, *args, **kwargs):
        heights.append(kwargs["height"])
        if len(heights) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(WanPipeline, "__call__", oom_once)
    backend, _ = make_backend("tiny-wan")
    r = render(tiny(generation__fps=16, generation__duration_s=3.0), event_for("rank_up"), tmp_path / "o.mp4",
               backend=backend, level=1, cache=cache, extras=False)
    res = backend.resident()
    assert len(heights) == 2 and (r.level, r.frames) == (2, 33) and releases
    assert res.embed_misses == 2 and res.embed_hits == 0  # the embeddings were dropped before the retry
    assert r.level_reason.startswith("tiny-wan at level 1: CUDA out of memory")


# -- defect: the level's label in the cache key --------------------------------------------------------------

@pytest.mark.parametrize(("backend_name", "levels"), [("tiny-wan", (2, 3)), ("motion", (0, 1))])
def test_cache_key_does_not_change_with_the_level_label(backend_name, levels, tmp_path, cache):
    # tiny-wan: level 3 only turns particles off, the overlay's business. motion draws particles itself, so
    # there the pair is 0 and 1 (360p is no change at 64x64): same pixels, other label.
    v = tiny()
    a = render(v, event_for("rank_up"), tmp_path / "a.mp4", backend=backend_name, level=levels[0], cache=cache,
               extras=False)
    b = render(v, event_for("rank_up"), tmp_path / "b.mp4", backend=backend_name, level=levels[1], cache=cache,
               extras=False)
    assert (a.level, b.level) == levels and not a.cache_hit
    assert b.cache_hit and b.cache_key == a.cache_key


# -- build: key visual (image-to-video from the same resident components) ------------------------------------

def key_visual(path, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (96, 64), colour)
    image.paste((255, 255, 255), (20, 10, 60, 50))
    image.save(path)
    return path


def test_key_visual_conditions_generation_image_to_video(fresh, tmp_path, cache, library):
    from diffusers import WanImageToVideoPipeline

    key_visual(library / "assets" / "key.png", (76, 175, 80))
    backend, _ = make_backend("tiny-wan")
    before = loads(backend)
    base = render(tiny(), event_for("rank_up"), tmp_path / "t.mp4", backend=backend, cache=cache, extras=False,
                  logo_root=library)
    kv = render(tiny(model={"key_visual": "assets/key.png"}), event_for("rank_up"), tmp_path / "k.mp4",
                backend=backend, cache=cache, extras=False, logo_root=library)
    res = backend.resident()
    assert isinstance(res.image_pipeline(), WanImageToVideoPipeline)
    assert res.image_pipeline().transformer is res.pipe.transformer and loads(backend) - before == 1
    settings = json.loads((tmp_path / "k.json").read_text())["model_settings"]
    digest = files.file_sha256(library / "assets" / "key.png")
    assert settings["pipeline"] == "WanImageToVideoPipeline"
    assert settings["key_visual"] == {"path": "assets/key.png", "sha256": digest}
    assert kv.cache_key != base.cache_key
    assert not np.array_equal(background(cache, kv), background(cache, base))
    # Another picture under the same name is another background: the key holds the image's hash.
    key_visual(library / "assets" / "key.png", (33, 150, 243))
    again = render(tiny(model={"key_visual": "assets/key.png"}), event_for("rank_up"), tmp_path / "k2.mp4",
                   backend=backend, cache=cache, extras=False, logo_root=library)
    assert not again.cache_hit and again.cache_key != kv.cache_key
    assert not np.array_equal(background(cache, again)[0], background(cache, kv)[0])


def test_a_bad_key_visual_is_refused_with_the_fix(tmp_path, cache, library):
    (library / "assets" / "broken.png").write_bytes(b"not a picture")
    with pytest.raises(LabError, match="key visual assets/broken.png: 'assets/broken.png' is not a PNG, JPEG or WebP image"):
        render(tiny(model={"key_visual": "assets/broken.png"}), event_for("rank_up"), tmp_path / "b.mp4",
               backend="tiny-wan", cache=cache, extras=False, logo_root=library)
    (library / "assets" / "away.png").symlink_to(key_visual(tmp_path / "outside.png", (0, 0, 0)))
    with pytest.raises(LabError, match="is outside the library's assets/ folder"):
        render(tiny(model={"key_visual": "assets/away.png"}), event_for("rank_up"), tmp_path / "c.mp4",
               backend="tiny-wan", cache=cache, extras=False, logo_root=library)
    with pytest.raises(LabError, match="key visual assets/none.png: 'assets/none.png' does not exist"):
        render(tiny(model={"key_visual": "assets/none.png"}), event_for("rank_up"), tmp_path / "d.mp4",
               backend="tiny-wan", cache=cache, extras=False, logo_root=library)
    assert not list(tmp_path.glob("*.mp4"))


# -- build: a style LoRA, made in code for the tiny transformer ----------------------------------------------

@pytest.fixture
def tiny_lora(tmp_path, monkeypatch):
    import torch
    from diffusers import WanPipeline, WanTransformer3DModel
    from peft import LoraConfig, get_peft_model_state_dict

    from lab.render.wan.tiny import ensure_tiny_wan

    transformer = WanTransformer3DModel.from_pretrained(ensure_tiny_wan(config.tiny_wan_dir()), subfolder="transformer")
    torch.manual_seed(7)
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    root = tmp_path / "loras"
    WanPipeline.save_lora_weights(root / "brand-style", transformer_lora_layers=get_peft_model_state_dict(transformer))
    monkeypatch.setenv("HIGHLIGHT_LAB_LORAS", str(root))
    return root / "brand-style"


def test_style_lora_changes_the_background_and_is_recorded(fresh, tmp_path, cache, tiny_lora):
    backend, _ = make_backend("tiny-wan")
    base = render(tiny(), event_for("rank_up"), tmp_path / "a.mp4", backend=backend, cache=cache, extras=False)
    styled = render(tiny(model={"lora": {"path": "brand-style", "scale": 1.0}}), event_for("rank_up"),
                    tmp_path / "b.mp4", backend=backend, cache=cache, extras=False)
    off = render(tiny(model={"lora": {"path": "brand-style", "scale": 0.0}}), event_for("rank_up"),
                 tmp_path / "c.mp4", backend=backend, cache=cache, extras=False)
    assert len({base.cache_key, styled.cache_key, off.cache_key}) == 3
    assert not np.array_equal(background(cache, styled), background(cache, base))
    assert np.abs(background(cache, off).astype(int) - background(cache, base)).max() <= 1  # scale 0 = no LoRA
    digest = files.file_sha256(tiny_lora / files.LORA_WEIGHTS)
    assert json.loads((tmp_path / "b.json").read_text())["model_settings"]["lora"] == {
        "path": "brand-style", "sha256": digest, "scale": 1.0}
    # Back to no LoRA: the adapter is switched off, so the plain variant makes the plain pixels again.
    fresh_cache = type(cache)(tmp_path / "cache2", 10**9)
    plain = render(tiny(), event_for("rank_up"), tmp_path / "d.mp4", backend=backend, cache=fresh_cache,
                   extras=False)
    assert np.array_equal(background(fresh_cache, plain), background(cache, base))
    with pytest.raises(LabError, match="LoRA missing: has no pytorch_lora_weights.safetensors"):
        render(tiny(model={"lora": {"path": "missing"}}), event_for("rank_up"), tmp_path / "e.mp4", backend=backend,
               cache=cache, extras=False)


# -- build: guidance on the first k steps, and the switches in the sidecar ----------------------------------

def test_guidance_on_the_first_k_steps_skips_the_unconditional_pass(fresh, tmp_path, cache):
    backend, _ = make_backend("tiny-wan")
    forwards = []
    backend.pipeline().transformer.register_forward_hook(lambda *a: forwards.append(1))
    full = render(tiny(generation__steps=4), event_for("rank_up"), tmp_path / "f.mp4", backend=backend,
                  cache=cache, extras=False)
    assert len(forwards) == 8
    early = render(tiny(generation__steps=4, model={"cfg_steps": 1}), event_for("rank_up"), tmp_path / "e.mp4",
                   backend=backend, cache=cache, extras=False)
    assert len(forwards) == 8 + 5 and early.cache_key != full.cache_key
    assert json.loads((tmp_path / "e.json").read_text())["model_settings"]["cfg_steps"] == 1


def test_switches_and_model_card_are_recorded_in_the_sidecar(fresh, tmp_path, cache, monkeypatch):
    import torch

    default = render(tiny(), event_for("rank_up"), tmp_path / "d.mp4", backend="tiny-wan", cache=cache,
                     extras=False)
    settings = json.loads((tmp_path / "d.json").read_text())["model_settings"]
    assert settings["card"] == {"steps": 2, "card_steps": 50, "guidance": 7.5, "card_guidance": 5.0}
    assert settings["size_note"] == "64x64 is outside the model's published sizes (1280x704, 704x1280)"
    assert (settings["attention_backend"], settings["cpu_offload"], settings["vae_dtype"]) == ("native", False, "fp32")
    for name in ("HIGHLIGHT_LAB_WAN_CPU_OFFLOAD", "HIGHLIGHT_LAB_WAN_VAE_TILING", "HIGHLIGHT_LAB_WAN_VAE_SLICING"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_VAE_DTYPE", "bf16")
    backend, _ = make_backend("tiny-wan")
    switched = render(tiny(), event_for("rank_up"), tmp_path / "s.mp4", backend=backend, cache=cache, extras=False)
    settings = json.loads((tmp_path / "s.json").read_text())["model_settings"]
    assert (settings["cpu_offload"], settings["cpu_offload_active"]) == (True, False)  # offload is a CUDA feature
    assert (settings["vae_tiling"], settings["vae_slicing"], settings["vae_dtype"]) == (True, True, "bf16")
    vae = backend.pipeline().vae
    assert vae.use_tiling and vae.use_slicing and vae.dtype == torch.bfloat16
    assert switched.cache_key != default.cache_key  # bf16 decode and tiling change pixels; offload does not
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_VAE_DTYPE", "fp16")
    with pytest.raises(LabError, match="HIGHLIGHT_LAB_WAN_VAE_DTYPE: 'fp16' is not a VAE dtype"):
        make_backend("tiny-wan")
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_VAE_DTYPE", "bf16")
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_ATTENTION", "flash_hub")
    with pytest.raises(LabError, match="'flash_hub' is not an attention backend the lab uses"):
        make_backend("tiny-wan")


def test_resident_pipeline_is_keyed_by_folder_and_device(fresh):
    backend, _ = make_backend("tiny-wan")
    res = resident_wan(backend.model_dir, "cpu", backend.settings)
    assert resident_wan(backend.model_dir / ".", "cpu", backend.settings) is res
    assert WanBackend(backend.model_dir, device="cpu").resident() is res
    assert free_resident(device="cuda") == 0 and backend.weights_resident()
    assert free_resident(backend.model_dir) == 1 and not backend.weights_resident()


# -- build: draft mode and regional compile ------------------------------------------------------------------

def test_draft_mode_renders_v1_to_v3_in_one_batched_call(fresh, tmp_path, cache):
    from lab.render.pipeline import render_drafts

    backend, _ = make_backend("tiny-wan")
    calls = []
    backend.pipeline().transformer.register_forward_hook(lambda module, args, kwargs, out: calls.append(
        kwargs["hidden_states"].shape[0]), with_kwargs=True)
    variants = [tiny(v) for v in ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")]
    results = render_drafts(variants, event_for("rank_up"), tmp_path, backend=backend, cache=cache, extras=False)
    assert calls == [3, 3, 3, 3]  # 2 steps x (cond + uncond), each pass holding all three variants
    assert [r.variant for r in results] == ["v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost"]
    assert all((tmp_path / f"{r.variant}.mp4").is_file() and not r.cache_hit for r in results)
    sidecar = json.loads((tmp_path / "v2-slow-motion.json").read_text())
    assert sidecar["model_settings"]["draft_batch"] == ["v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost"]
    # Each draft is its own prompt and seed: the same as rendering it alone, up to batched arithmetic.
    alone = render(variants[1], event_for("rank_up"), tmp_path / "alone.mp4", backend=backend, cache=cache,
                   extras=False)
    assert alone.cache_key != results[1].cache_key
    assert np.abs(background(cache, alone).astype(int) - background(cache, results[1])).max() <= 2
    assert not np.array_equal(background(cache, results[0]), background(cache, results[1]))
    again = render_drafts(variants, event_for("rank_up"), tmp_path, backend=backend, cache=cache, extras=False)
    assert all(r.cache_hit for r in again) and len(calls) == 4 + 4
    with pytest.raises(LabError, match="the variants differ in size"):
        render_drafts([variants[0], tiny("v2-slow-motion", generation__steps=3)], event_for("rank_up"), tmp_path,
                      backend=backend, cache=cache)


def test_regional_compile_of_the_repeated_blocks(fresh, tmp_path, cache, monkeypatch):
    plain = render(tiny(), event_for("rank_up"), tmp_path / "p.mp4", backend="tiny-wan", cache=cache, extras=False)
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_COMPILE", "eager")  # dynamo traces the blocks; no C++ build on a CPU
    backend, _ = make_backend("tiny-wan")
    other = type(cache)(tmp_path / "cache2", 10**9)
    compiled = render(tiny(), event_for("rank_up"), tmp_path / "c.mp4", backend=backend, cache=other, extras=False)
    blocks = backend.pipeline().transformer.blocks
    assert all(block._compiled_call_impl is not None for block in blocks)
    assert json.loads((tmp_path / "c.json").read_text())["model_settings"]["compile_blocks"] == "eager"
    assert compiled.cache_key == plain.cache_key  # compiling does not change what the pixels are
    assert np.abs(background(other, compiled).astype(int) - background(cache, plain)).max() <= 1
    monkeypatch.setenv("HIGHLIGHT_LAB_WAN_COMPILE", "max-autotune")
    with pytest.raises(LabError, match="HIGHLIGHT_LAB_WAN_COMPILE: 'max-autotune' is not a compile backend"):
        make_backend("tiny-wan")
