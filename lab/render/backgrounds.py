"""Background backends' request, result and implementations. One call signature, as diffusers pipelines
have one ``__call__``:

    backend(request) -> Background

``request`` carries the variant, the generation plan at a degrade level, the prompt (built from
non-personal fields only) and the seed. Each backend also says which of those change its pixels
(``recipe``), which is what the cache key is made of. The ``Backend`` protocol, the backend names and
``make_backend`` are in ``backends.py``.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lab.errors import LabError, OutOfMemory
from lab.library.models import DEFAULT_MODEL
from lab.library.variant import GenerationPlan, Variant
from lab.render.motion import motion_background
from lab.render.styles import STYLE_SPECS
from lab.render.yuv import rgb_to_yuv420


@dataclass(frozen=True)
class BackgroundRequest:
    variant: Variant
    plan: GenerationPlan
    prompt: str
    negative_prompt: str
    seed: int
    progress: Callable[[int, int], None] | None = field(default=None, compare=False)
    library_root: Path | None = None  # the variants folder: a key visual is read from its assets/


@dataclass
class Background:
    frames: np.ndarray  # (F, H * 3 // 2, W) uint8 yuv420p
    info: dict[str, Any]


class MotionBackend:
    """Procedural motion graphics on the CPU; what designers see with no GPU."""

    name = "motion"
    model = "procedural-motion-v2"  # v2: camera drift, hue every other frame, livelier looks (issue 20)
    random_weights = False
    sends_prompt = False

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        v, p = req.variant, req.plan
        return {"backend": self.name, "model": self.model, "style": v.style, "primary": v.brand.primary,
                "accent": v.brand.accent, "intensity": v.effects.intensity, "particles": p.particles,
                "width": p.size.width, "height": p.size.height, "frames": p.size.frames, "fps": p.size.fps,
                "seed": req.seed, "look": asdict(STYLE_SPECS[v.style].background)}  # a retuned look: new pixels

    def __call__(self, req: BackgroundRequest) -> Background:
        v, p = req.variant, req.plan
        t0 = time.perf_counter()
        frames = motion_background(v.style, v.brand.primary, v.brand.accent, p.size.width, p.size.height,
                                   p.size.frames, p.size.fps, req.seed, v.effects.intensity, p.particles)
        return Background(frames, {"generate_s": time.perf_counter() - t0})


WAN_LAYOUT = ("model_index.json", "transformer", "vae", "text_encoder", "tokenizer", "scheduler")


def check_model_dir(path: Path | None, env: str = "HIGHLIGHT_LAB_WAN_MODEL",
                    what: str = "Wan-AI/Wan2.2-TI2V-5B-Diffusers", where: str = "wan backend") -> Path:
    """The directory must hold a diffusers-format Wan2.2-TI2V-5B; say exactly what is missing."""
    if path is None:
        raise LabError(where, "no model directory is configured", f"set {env} to a local copy of {what}")
    missing = [name for name in WAN_LAYOUT if not (Path(path) / name).exists()]
    if missing:
        raise LabError(f"wan model directory {path}", f"is missing {', '.join(missing)}",
                       "put the diffusers-format Wan-AI/Wan2.2-TI2V-5B-Diffusers files there (model_index.json, "
                       "transformer/, vae/, text_encoder/, tokenizer/, scheduler/); nothing is downloaded")
    return Path(path)


def model_fingerprint(path: Path) -> str:
    """A revision id for the cache key: the configs and the weight files' names and sizes."""
    h = hashlib.sha256()
    for file in sorted(Path(path).rglob("*")):
        if file.is_file():
            rel = file.relative_to(path).as_posix()
            h.update(rel.encode())
            if file.suffix == ".json":
                h.update(file.read_bytes())
            else:
                h.update(str(file.stat().st_size).encode())
    return h.hexdigest()[:16]


# -- files a variant names for the model: checked, read and hashed ------------------------------------------

LORA_WEIGHTS = "pytorch_lora_weights.safetensors"  # the file name diffusers' save_lora_weights writes
_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """Content hash for the cache key, remembered per (path, size, mtime) so a render does not re-read it."""
    st = path.stat()
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo not in _HASHES:
        h = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        _HASHES[memo] = h.hexdigest()
    return _HASHES[memo]


@dataclass(frozen=True)
class KeyVisual:
    path: str  # as the variant names it (relative to the library)
    sha256: str
    file: Path


def load_key_visual(root: Path | None, rel: str) -> KeyVisual:
    """The variant's key visual, checked like a logo (inside the library's ``assets/``, a decodable PNG, JPEG
    or WebP within the size cap) by the one asset check, ``lab.library.assets.resolve_asset``."""
    from lab.library.assets import resolve_asset

    path = resolve_asset(Path(root or "variants"), rel, f"key visual {rel}")
    return KeyVisual(rel, file_sha256(path), path)


def key_visual_frame(kv: KeyVisual, width: int, height: int) -> Any:
    """The key visual cropped to the video's aspect (centre) and resized: the first frame the model continues."""
    from PIL import Image, ImageOps

    with Image.open(kv.file) as image:
        return ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class LoraWeights:
    path: str  # as the variant names it (relative to $HIGHLIGHT_LAB_LORAS)
    folder: Path
    sha256: str
    scale: float


def resolve_lora(rel: str, scale: float) -> LoraWeights:
    """A variant's LoRA folder, resolved inside ``config.lora_dir()``: nothing is downloaded."""
    from lab import config

    root = config.lora_dir()
    folder = (root / rel).resolve()
    where = f"LoRA {rel}"
    if not folder.is_relative_to(root.resolve()):
        raise LabError(where, f"is outside the LoRA folder {root}", "name a folder inside $HIGHLIGHT_LAB_LORAS")
    weights = folder / LORA_WEIGHTS
    if not weights.is_file():
        raise LabError(where, f"has no {LORA_WEIGHTS} in {folder}",
                       "save the LoRA there in diffusers format (pipe.save_lora_weights) or set HIGHLIGHT_LAB_LORAS")
    return LoraWeights(rel, folder, file_sha256(weights), scale)


# -- how the model runs, and the one resident copy per process ---------------------------------------------

@dataclass(frozen=True)
class WanSettings:
    """Process-wide switches (``lab.config``, environment variables); recorded in every sidecar."""

    cpu_offload: bool = False
    vae_tiling: bool = False
    vae_slicing: bool = False
    vae_dtype: str = "fp32"  # the published VAE runs in fp32; bf16 decodes faster with other pixels
    compile_blocks: str | None = None  # a torch.compile backend for the repeated blocks, None = eager
    attention: str = "auto"
    cfg_batch: bool = False  # cond + uncond as one transformer call (lab.render.sampling), not diffusers' two

    @classmethod
    def from_config(cls) -> WanSettings:
        from lab import config

        settings = cls(cpu_offload=config.wan_cpu_offload(), vae_tiling=config.wan_vae_tiling(),
                       vae_slicing=config.wan_vae_slicing(), vae_dtype=config.wan_vae_dtype(),
                       compile_blocks=config.wan_compile(), attention=config.wan_attention(),
                       cfg_batch=config.wan_cfg_batch())
        if settings.compile_blocks not in (None, *config.WAN_COMPILE_BACKENDS):
            raise LabError(config.ENV_WAN_COMPILE, f"{settings.compile_blocks!r} is not a compile backend",
                           f"use 1 (inductor) or one of {', '.join(config.WAN_COMPILE_BACKENDS)}")
        if settings.attention not in config.WAN_ATTENTION_BACKENDS:
            raise LabError(config.ENV_WAN_ATTENTION,
                           f"{settings.attention!r} is not an attention backend the lab uses",
                           f"use one of {', '.join(config.WAN_ATTENTION_BACKENDS)} (no kernel is fetched from a hub)")
        if settings.vae_dtype not in config.WAN_VAE_DTYPES:
            raise LabError(config.ENV_WAN_VAE_DTYPE, f"{settings.vae_dtype!r} is not a VAE dtype",
                           f"use one of {', '.join(config.WAN_VAE_DTYPES)}")
        return settings

    def load_fields(self) -> WanSettings:
        """The switches that shape the loaded pipeline; changing any other one does not reload it."""
        return replace(self, cfg_batch=False)

    def pixel_fields(self) -> dict[str, Any]:
        """The switches that change the pixels (the cache key); offload, slicing, compile and attention do not."""
        return {"vae_dtype": self.vae_dtype, "vae_tiling": self.vae_tiling}


def resolve_device(device: str | None) -> str:
    """``cuda`` when there is one; the CPU only when asked for by name (the full model there is fp32 and hours)."""
    import torch

    if device is not None and device != "cpu" and not (device == "cuda" or device.startswith("cuda:")):
        raise LabError("--device", f"{device!r} is not a device", "use cuda, cuda:N or cpu")
    if device == "cpu":
        return "cpu"
    if not torch.cuda.is_available():
        raise LabError("wan backend", "no CUDA GPU here: the model would load in fp32 on the CPU (tens of GB of "
                       "memory, hours per clip)", "use --backend motion or auto, or pass --device cpu explicitly "
                       "(meant for the tiny test pipeline)")
    return device or "cuda"


def fastest_attention(device: str) -> str:
    """The fastest attention kernel installed here (diffusers backend name); never one fetched from a hub."""
    from importlib.util import find_spec

    if device.startswith("cuda"):
        for module, backend in (("flash_attn_interface", "_flash_3"), ("flash_attn", "flash"),
                                ("sageattention", "sage")):
            if find_spec(module) is not None:
                return backend
    return "native"  # torch's scaled_dot_product_attention, which picks flash/efficient kernels itself


def _oom_line(exc: BaseException) -> str:
    return f"CUDA out of memory ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"


def _release_device_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class ResidentWan:
    """One loaded pipeline and what is cached around it: prompt embeddings, the image-to-video view, LoRAs."""

    MAX_EMBEDDINGS = 64

    def __init__(self, model_dir: Path, device: str, settings: WanSettings, pipe: Any, attention: str) -> None:
        self.model_dir, self.device, self.settings, self.pipe = model_dir, device, settings, pipe
        self.attention = attention
        self.lock = threading.RLock()  # one generation at a time on one pipeline
        self.embeds: OrderedDict[tuple[str, str], tuple[Any, Any]] = OrderedDict()
        self.embed_hits = 0
        self.embed_misses = 0
        self._i2v: Any = None
        self.loras: dict[str, str] = {}  # LoRA sha256 -> adapter name
        self.active_lora: tuple[str, float] | None = None

    def embeddings(self, prompt: str, negative: str) -> tuple[Any, Any]:
        """(prompt, negative) embeddings, encoded once per pair and kept while the pipeline is resident."""
        import torch

        key = (prompt, negative)
        if key in self.embeds:
            self.embeds.move_to_end(key)
            self.embed_hits += 1
            return self.embeds[key]
        self.embed_misses += 1
        with torch.no_grad():
            pe, ne = self.pipe.encode_prompt(prompt, negative, do_classifier_free_guidance=True,
                                             device=self.pipe._execution_device)
        self.embeds[key] = (pe, ne)
        while len(self.embeds) > self.MAX_EMBEDDINGS:
            self.embeds.popitem(last=False)
        return pe, ne

    def image_pipeline(self) -> Any:
        """``WanImageToVideoPipeline`` over the same loaded components (``from_pipe``: no second copy)."""
        if self._i2v is None:
            from diffusers import WanImageToVideoPipeline

            self._i2v = WanImageToVideoPipeline.from_pipe(self.pipe)
            self._i2v.set_progress_bar_config(disable=True)
        return self._i2v

    def apply_lora(self, lora: LoraWeights | None) -> None:
        """Make ``lora`` (or none) the active adapter; each LoRA file is loaded once per residency."""
        want = (lora.sha256, lora.scale) if lora else None
        if want == self.active_lora:
            return
        if lora is None:
            self.pipe.disable_lora()
        else:
            if lora.sha256 not in self.loras:
                name = f"lora_{lora.sha256[:12]}"
                self.pipe.load_lora_weights(lora.folder, weight_name=LORA_WEIGHTS, adapter_name=name,
                                            local_files_only=True)
                self.loras[lora.sha256] = name
            self.pipe.enable_lora()
            self.pipe.set_adapters([self.loras[lora.sha256]], adapter_weights=[lora.scale])
        self.active_lora = want

    def clear_working_memory(self) -> None:
        """Drop cached embeddings and return freed blocks to the device: done before retrying a level down."""
        self.embeds.clear()
        _release_device_memory()


_RESIDENT: dict[tuple[str, str], ResidentWan] = {}
_RESIDENT_LOCK = threading.Lock()
LOADS: Counter[tuple[str, str]] = Counter()  # from_pretrained calls per (model folder, device) in this process


def _load(model_dir: Path, device: str, settings: WanSettings) -> tuple[Any, str]:
    import torch
    from diffusers import AutoencoderKLWan, WanPipeline

    # bf16 transformer and text encoder on CUDA with an fp32 VAE, as published; fp32 on a CPU (bf16 crawls there).
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    vae_dtype = torch.bfloat16 if settings.vae_dtype == "bf16" else torch.float32
    vae = AutoencoderKLWan.from_pretrained(model_dir, subfolder="vae", dtype=vae_dtype, local_files_only=True)
    pipe = WanPipeline.from_pretrained(model_dir, vae=vae, dtype=dtype, local_files_only=True)
    if settings.vae_tiling:
        pipe.vae.enable_tiling()
    if settings.vae_slicing:
        pipe.vae.enable_slicing()
    attention = fastest_attention(device) if settings.attention == "auto" else settings.attention
    if attention != "native":
        pipe.transformer.set_attention_backend(attention)
    if settings.compile_blocks:
        # Regional: each repeated WanTransformerBlock compiles in place to one graph reused by all 30 of them
        # (seconds to compile, not the minutes of whole-model max-autotune).
        pipe.transformer.compile_repeated_blocks(fullgraph=True, backend=settings.compile_blocks)
    if settings.cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe, attention


def resident_wan(model_dir: Path, device: str, settings: WanSettings) -> ResidentWan:
    """The process's pipeline for (model folder, device), loaded on first use; changed switches reload it.

    Out of memory while loading frees whatever was loaded and raises ``OutOfMemory`` (the renderer steps down).
    """
    key = (str(Path(model_dir).resolve()), device)
    import torch

    with _RESIDENT_LOCK:
        res = _RESIDENT.get(key)
        if res is not None and res.settings.load_fields() == settings.load_fields():
            return res
        if res is not None:
            del _RESIDENT[key]
            del res
            _release_device_memory()
        LOADS[key] += 1
        try:
            pipe, attention = _load(Path(model_dir), device, settings)
        except (torch.OutOfMemoryError, OutOfMemory) as exc:  # torch.cuda.OutOfMemoryError is the same class
            _release_device_memory()  # the half-loaded modules are garbage now: give their memory back
            raise OutOfMemory(f"loading {Path(model_dir).name} on {device}", _oom_line(exc)) from exc
        res = ResidentWan(Path(model_dir), device, settings, pipe, attention)
        _RESIDENT[key] = res
        return res


def free_resident(model_dir: Path | None = None, device: str | None = None) -> int:
    """Unload resident pipelines (all, or those of one model folder and/or device); returns how many."""
    with _RESIDENT_LOCK:
        keys = [k for k in _RESIDENT if (model_dir is None or k[0] == str(Path(model_dir).resolve()))
                and (device is None or k[1] == device)]
        for k in keys:
            del _RESIDENT[k]
    if keys:
        _release_device_memory()
    return len(keys)


def is_resident(model_dir: Path, device: str) -> bool:
    return (str(Path(model_dir).resolve()), device) in _RESIDENT


class WanBackend:
    """Wan2.2-TI2V-5B through diffusers' ``WanPipeline`` (text) or ``WanImageToVideoPipeline`` (key visual),
    loaded from a local directory only, once per process and device."""

    name = "wan"
    sends_prompt = True

    def __init__(self, model_dir: Path | None, device: str | None = None, label: str | None = None,
                 name: str = "wan", settings: WanSettings | None = None) -> None:
        self.model_dir = check_model_dir(model_dir).resolve()
        self.device = resolve_device(device)
        self.name = name
        self.settings = settings or WanSettings.from_config()
        self.label = label
        self.random_weights = label is not None
        self.revision = model_fingerprint(self.model_dir)
        self.model = json.loads((self.model_dir / "model_index.json").read_text()).get("_name_or_path") or \
            self.model_dir.name

    # -- what changes the pixels, and what the sidecar says -------------------------------------------------
    def _inputs(self, req: BackgroundRequest) -> tuple[KeyVisual | None, LoraWeights | None]:
        opts = req.variant.model
        kv = load_key_visual(req.library_root, opts.key_visual) if opts.key_visual else None
        lora = resolve_lora(opts.lora.path, opts.lora.scale) if opts.lora else None
        return kv, lora

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        p = req.plan
        kv, lora = self._inputs(req)
        cfg_steps = req.variant.model.cfg_steps
        return {"backend": self.name, "model": self.model, "revision": self.revision, "prompt": req.prompt,
                "negative_prompt": req.negative_prompt, "width": p.size.width, "height": p.size.height,
                "frames": p.size.frames, "fps": p.size.fps, "steps": p.steps, "guidance": p.guidance,
                "cfg_steps": cfg_steps if cfg_steps is not None and cfg_steps < p.steps else None,
                "cfg_batch": self._cfg_batched(req, kv),  # batched arithmetic: its own pixels, its own entry
                "seed": req.seed, "key_visual": kv.sha256 if kv else None,
                "lora": {"sha256": lora.sha256, "scale": lora.scale} if lora else None, **self.settings.pixel_fields()}

    def describe(self, req: BackgroundRequest) -> dict[str, Any]:
        """How the model was run, for the sidecar: switches, speed options, inputs, and the model card's values."""
        p = req.plan
        kv, lora = self._inputs(req)
        res = _RESIDENT.get((str(self.model_dir), self.device))
        size_note = DEFAULT_MODEL.size_note(p.size.width, p.size.height)
        return {
            "device": self.device, "pipeline": "WanImageToVideoPipeline" if kv else "WanPipeline",
            **asdict(self.settings), "attention_backend": res.attention if res else None,
            "cpu_offload_active": bool(self.settings.cpu_offload and self.device.startswith("cuda")),
            "cfg_steps": req.variant.model.cfg_steps, "cfg_batch_active": self._cfg_batched(req, kv),
            "key_visual": {"path": kv.path, "sha256": kv.sha256} if kv else None,
            "lora": {"path": lora.path, "sha256": lora.sha256, "scale": lora.scale} if lora else None,
            "card": DEFAULT_MODEL.card_comparison(p.steps, p.guidance),
            "published_sizes": [list(s) for s in DEFAULT_MODEL.published_sizes],
            "size_note": size_note,
        }

    # -- the resident pipeline ---------------------------------------------------------------------------
    def weights_resident(self) -> bool:
        """Whether the weights are already on the device (so choosing a level does not count them again)."""
        return is_resident(self.model_dir, self.device)

    def resident(self) -> ResidentWan:
        return resident_wan(self.model_dir, self.device, self.settings)

    def pipeline(self) -> Any:
        return self.resident().pipe

    def free(self) -> int:
        """Unload this backend's pipeline (the explicit way to give the memory back)."""
        return free_resident(self.model_dir, self.device)

    def __call__(self, req: BackgroundRequest) -> Background:
        return self.generate([req])[0]

    def generate(self, reqs: list[BackgroundRequest]) -> list[Background]:
        """One batched pipeline call for requests that share size, length, steps, guidance and model inputs
        (draft mode renders V1-V3 this way); each keeps its own prompt and seed."""
        t0 = time.perf_counter()
        first = reqs[0]
        p = first.plan
        kv, lora = self._inputs(first)
        cfg_steps = first.variant.model.cfg_steps
        for other in reqs[1:]:
            q = other.plan
            if (q.size, q.steps, q.guidance, other.variant.model.cfg_steps) != (p.size, p.steps, p.guidance,
                                                                                 cfg_steps) or \
                    self._inputs(other) != (kv, lora):
                raise LabError(f"draft batch ({first.variant.id}, {other.variant.id})",
                               "the variants differ in size, length, steps, guidance, key visual or LoRA",
                               "batch only variants that share them, or render them one at a time")
        res = self.resident()
        t1 = time.perf_counter()
        steps: list[float] = []
        total = self._total_steps(first)

        def step_done(step: int) -> None:
            steps.append(time.perf_counter())
            if first.progress:
                first.progress(step + 1, total)

        import torch

        with res.lock:
            misses = res.embed_misses
            try:
                res.apply_lora(lora)
                pairs = [res.embeddings(r.prompt, r.negative_prompt) for r in reqs]
                pe = torch.cat([pair[0] for pair in pairs])
                ne = torch.cat([pair[1] for pair in pairs])
                generators = [torch.Generator(device="cpu").manual_seed(r.seed) for r in reqs]
                videos = self._sample(res, first, pe, ne, kv, generators[0] if len(reqs) == 1 else generators,
                                      step_done)
            except (torch.OutOfMemoryError, OutOfMemory) as exc:
                res.clear_working_memory()  # free cached embeddings and blocks before the retry a level down
                raise OutOfMemory(f"{self.name} at level {p.level}", _oom_line(exc)) from exc
            embeddings_cached = res.embed_misses == misses
        t2 = time.perf_counter()
        results = []
        for video in videos:  # (B, F, H, W, 3) float in [0, 1]
            frames = np.stack([rgb_to_yuv420(np.clip(f, 0, 1)) for f in video])
            results.append(Background(frames, {"load_s": t1 - t0, "generate_s": t2 - t1,
                                               "convert_s": time.perf_counter() - t2, "steps_done": len(steps),
                                               "embeddings_cached": embeddings_cached, "batch": len(reqs)}))
        return results

    def _total_steps(self, req: BackgroundRequest) -> int:
        return req.plan.steps

    def _cfg_batched(self, req: BackgroundRequest, kv: KeyVisual | None) -> bool:
        """Whether the lab's own loop runs cond + uncond as one call: switched on, text-to-video, guided."""
        return self.settings.cfg_batch and kv is None and req.plan.guidance > 1.0

    def _sample(self, res: ResidentWan, req: BackgroundRequest, pe: Any, ne: Any, kv: KeyVisual | None,
                generator: Any, step_done: Callable[[int], None]) -> np.ndarray:
        """Frames (B, F, H, W, 3) in [0, 1]: the lab's batched-guidance loop, or diffusers' pipeline call."""
        p = req.plan
        cfg_steps = req.variant.model.cfg_steps
        if self._cfg_batched(req, kv):
            from lab.render import sampling

            latents = sampling.cfg_batched_latents(res.pipe, pe, ne, height=p.size.height, width=p.size.width,
                                                   num_frames=p.size.frames, steps=p.steps, guidance=p.guidance,
                                                   generator=generator, cfg_steps=cfg_steps, on_step=step_done)
            return np.asarray(sampling.decode(res.pipe, latents))

        def on_step(pipeline: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            if cfg_steps is not None and step + 1 == cfg_steps:
                pipeline._guidance_scale = 1.0  # the pipelines read it each step: no unconditional pass from here
            step_done(step)
            return kwargs

        extra: dict[str, Any] = {}
        pipe = res.pipe
        if kv is not None:
            pipe = res.image_pipeline()
            extra["image"] = key_visual_frame(kv, p.size.width, p.size.height)
        out = pipe(prompt_embeds=pe, negative_prompt_embeds=ne, height=p.size.height, width=p.size.width,
                   num_frames=p.size.frames, num_inference_steps=p.steps, guidance_scale=p.guidance,
                   generator=generator, output_type="np", callback_on_step_end=on_step, **extra)
        return np.asarray(out.frames)


class DistilledWanBackend(WanBackend):
    """A few-step distilled Wan2.2-TI2V-5B (e.g. FastWan2.2-TI2V-5B) from a local folder only, loaded and kept
    resident as the base model is, sampled by the lab's DMD-style loop (``sampling.few_step_latents``): a short
    fixed list of timesteps, no guidance. Text-to-video only: a key visual or a LoRA is refused."""

    def __init__(self, model_dir: Path | None, device: str | None = None, label: str | None = None,
                 name: str = "wan-distilled", settings: WanSettings | None = None) -> None:
        from lab import config
        from lab.render.sampling import parse_timesteps

        check_model_dir(model_dir, config.ENV_WAN_DISTILLED, "a few-step distilled Wan2.2-TI2V-5B in diffusers "
                        "format (e.g. FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers)", f"{name} backend")
        self.timesteps = parse_timesteps(config.wan_distilled_timesteps(), config.ENV_WAN_DISTILLED_TIMESTEPS)
        super().__init__(model_dir, device=device, label=label, name=name, settings=settings)

    def _inputs(self, req: BackgroundRequest) -> tuple[KeyVisual | None, LoraWeights | None]:
        opts = req.variant.model
        named = [what for what, value in (("a key visual", opts.key_visual), ("a LoRA", opts.lora)) if value]
        if named:
            raise LabError(f"variant {req.variant.id}", f"names {' and '.join(named)}, which the distilled "
                           "backend does not run (its few-step loop is text-to-video)",
                           "render it with --backend wan, or drop them from the variant's model block")
        return None, None

    def _total_steps(self, req: BackgroundRequest) -> int:
        return len(self.timesteps)

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        # Steps, guidance and cfg_steps do not reach this loop, nor does the negative prompt: not in the key.
        self._inputs(req)
        p = req.plan
        return {"backend": self.name, "model": self.model, "revision": self.revision, "distilled": True,
                "sampler": "dmd", "timesteps": list(self.timesteps), "prompt": req.prompt, "width": p.size.width,
                "height": p.size.height, "frames": p.size.frames, "fps": p.size.fps, "seed": req.seed,
                **self.settings.pixel_fields()}

    def describe(self, req: BackgroundRequest) -> dict[str, Any]:
        p = req.plan
        res = _RESIDENT.get((str(self.model_dir), self.device))
        return {
            "device": self.device, "pipeline": "WanPipeline components, lab.render.sampling.few_step_latents",
            **asdict(self.settings), "attention_backend": res.attention if res else None,
            "cpu_offload_active": bool(self.settings.cpu_offload and self.device.startswith("cuda")),
            "distilled": True, "sampler": "dmd", "model": self.model, "steps": len(self.timesteps),
            "timesteps": list(self.timesteps), "guidance": None, "cfg_batch_active": False,
            "ignored": {"steps": p.steps, "guidance": p.guidance, "cfg_steps": req.variant.model.cfg_steps},
            "size_note": DEFAULT_MODEL.size_note(p.size.width, p.size.height),
        }

    def _sample(self, res: ResidentWan, req: BackgroundRequest, pe: Any, ne: Any, kv: KeyVisual | None,
                generator: Any, step_done: Callable[[int], None]) -> np.ndarray:
        from lab.render import sampling

        p = req.plan
        latents = sampling.few_step_latents(res.pipe, pe, height=p.size.height, width=p.size.width,
                                            num_frames=p.size.frames, timesteps=self.timesteps, generator=generator,
                                            on_step=step_done)
        return np.asarray(sampling.decode(res.pipe, latents))


class DraftBatch:
    """Backgrounds made together in one batched call (draft mode), handed to ``render`` one variant at a time.

    Batched arithmetic is not bit-identical to single renders, so the recipe names the batch: drafts never
    pose as the single-render background in the cache.
    """

    def __init__(self, inner: WanBackend, members: tuple[str, ...]) -> None:
        self.inner = inner
        self.members = members
        self.name, self.model, self.random_weights = inner.name, inner.model, inner.random_weights
        self.sends_prompt = inner.sends_prompt
        self.settings = inner.settings
        self.made: dict[str, Background] = {}

    def weights_resident(self) -> bool:
        return self.inner.weights_resident()

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        return {**self.inner.recipe(req), "draft_batch": list(self.members)}

    def describe(self, req: BackgroundRequest) -> dict[str, Any]:
        return {**self.inner.describe(req), "draft_batch": list(self.members)}

    def make(self, reqs: list[BackgroundRequest]) -> None:
        for req, bg in zip(reqs, self.inner.generate(reqs), strict=True):
            self.made[req.variant.id] = bg

    def __call__(self, req: BackgroundRequest) -> Background:
        if req.variant.id not in self.made:
            self.make([req])
        return self.made[req.variant.id]
