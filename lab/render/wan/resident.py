"""How the Wan model runs in this process: the switches (``WanSettings``), the device, and the one resident
pipeline per (model folder, device) with what is cached around it (prompt embeddings, the image-to-video view,
LoRA adapters). Loading it is the expensive part of a render: it happens once, and out of memory while loading
frees what was loaded and raises ``OutOfMemory`` so the renderer steps down a level."""

from __future__ import annotations

import gc
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from lab.errors import LabError, OutOfMemory
from lab.render.wan.files import LORA_WEIGHTS, LoraWeights

T = TypeVar("T")


@dataclass(frozen=True)
class WanSettings:
    """Process-wide switches (``lab.config``, environment variables); recorded in every sidecar."""

    cpu_offload: bool = False
    vae_tiling: bool = False
    vae_slicing: bool = False
    vae_dtype: str = "fp32"  # the published VAE runs in fp32; bf16 decodes faster with other pixels
    compile_blocks: str | None = None  # a torch.compile backend for the repeated blocks, None = eager
    attention: str = "auto"
    cfg_batch: bool = False  # cond + uncond as one transformer call (lab.render.wan.sampling), not diffusers' two

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
    """The first line of an out-of-memory error, for the level-down reason."""
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

    def run(self, lora: LoraWeights | None, prompts: list[tuple[str, str]], seeds: list[int],
            sample: Callable[[Any, Any, Any], T], where: str) -> tuple[T, bool]:
        """One generation at a time on this pipeline: ``lora`` made active, each (prompt, negative) pair's
        embeddings (cached), a CPU generator per seed (one when there is one seed), then
        ``sample(prompt_embeds, negative_embeds, generator)``. Returns its result and whether every embedding
        was cached. Out of memory frees the working memory and raises ``OutOfMemory(where)``."""
        import torch

        with self.lock:
            misses = self.embed_misses
            try:
                self.apply_lora(lora)
                pairs = [self.embeddings(prompt, negative) for prompt, negative in prompts]
                pe = torch.cat([pair[0] for pair in pairs])
                ne = torch.cat([pair[1] for pair in pairs])
                generators = [torch.Generator(device="cpu").manual_seed(seed) for seed in seeds]
                out = sample(pe, ne, generators[0] if len(seeds) == 1 else generators)
            except (torch.OutOfMemoryError, OutOfMemory) as exc:
                self.clear_working_memory()  # free cached embeddings and blocks before the retry a level down
                raise OutOfMemory(where, _oom_line(exc)) from exc
            return out, self.embed_misses == misses

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


def find_resident(model_dir: Path, device: str) -> ResidentWan | None:
    """The resident pipeline of (model folder, device) if loaded; never loads one (the sidecar asks)."""
    return _RESIDENT.get((str(Path(model_dir).resolve()), device))
