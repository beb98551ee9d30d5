"""Background backends' request, result and implementations. One call signature, as diffusers pipelines
have one ``__call__``:

    backend(request) -> Background

``request`` carries the variant, the generation plan at a degrade level, the prompt (built from
non-personal fields only) and the seed. Each backend also says which of those change its pixels
(``recipe``), which is what the cache key is made of. The ``Backend`` protocol, the backend names and
``make_backend`` are in ``backends.py``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lab.errors import LabError, OutOfMemory
from lab.library.variant import GenerationPlan, Variant
from lab.render.motion import motion_background
from lab.render.yuv import rgb_to_yuv420


@dataclass(frozen=True)
class BackgroundRequest:
    variant: Variant
    plan: GenerationPlan
    prompt: str
    negative_prompt: str
    seed: int
    progress: Callable[[int, int], None] | None = field(default=None, compare=False)


@dataclass
class Background:
    frames: np.ndarray  # (F, H * 3 // 2, W) uint8 yuv420p
    info: dict[str, Any]


class MotionBackend:
    """Procedural motion graphics on the CPU; what designers see with no GPU."""

    name = "motion"
    model = "procedural-motion-v1"
    random_weights = False
    sends_prompt = False

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        v, p = req.variant, req.plan
        return {"backend": self.name, "model": self.model, "style": v.style, "primary": v.brand.primary,
                "accent": v.brand.accent, "intensity": v.effects.intensity, "particles": p.particles,
                "width": p.size.width, "height": p.size.height, "frames": p.size.frames, "fps": p.size.fps,
                "seed": req.seed, "level": p.level}

    def __call__(self, req: BackgroundRequest) -> Background:
        v, p = req.variant, req.plan
        t0 = time.perf_counter()
        frames = motion_background(v.style, v.brand.primary, v.brand.accent, p.size.width, p.size.height,
                                   p.size.frames, p.size.fps, req.seed, v.effects.intensity, p.particles)
        return Background(frames, {"generate_s": time.perf_counter() - t0})


WAN_LAYOUT = ("model_index.json", "transformer", "vae", "text_encoder", "tokenizer", "scheduler")


def check_model_dir(path: Path | None) -> Path:
    """The directory must hold a diffusers-format Wan2.2-TI2V-5B; say exactly what is missing."""
    if path is None:
        raise LabError("wan backend", "no model directory is configured",
                       "set HIGHLIGHT_LAB_WAN_MODEL to a local copy of Wan-AI/Wan2.2-TI2V-5B-Diffusers")
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


class WanBackend:
    """Wan2.2-TI2V-5B through diffusers' ``WanPipeline``, loaded from a local directory only."""

    name = "wan"
    sends_prompt = True

    def __init__(self, model_dir: Path | None, device: str | None = None, cpu_offload: bool = False,
                 label: str | None = None, name: str = "wan") -> None:
        self.model_dir = check_model_dir(model_dir)
        self.name = name
        self.device = device
        self.cpu_offload = cpu_offload
        self.label = label
        self.random_weights = label is not None
        self.revision = model_fingerprint(self.model_dir)
        self.model = json.loads((self.model_dir / "model_index.json").read_text()).get("_name_or_path") or \
            self.model_dir.name
        self._pipe = None

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        p = req.plan
        return {"backend": self.name, "model": self.model, "revision": self.revision, "prompt": req.prompt,
                "negative_prompt": req.negative_prompt, "width": p.size.width, "height": p.size.height,
                "frames": p.size.frames, "fps": p.size.fps, "steps": p.steps, "guidance": p.guidance,
                "seed": req.seed, "level": p.level}

    def pipeline(self) -> Any:
        if self._pipe is None:
            import torch
            from diffusers import AutoencoderKLWan, WanPipeline

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            # bf16 transformer and fp32 VAE on CUDA, as published; fp32 on a CPU, where bf16 kernels crawl.
            dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
            vae = AutoencoderKLWan.from_pretrained(self.model_dir, subfolder="vae", dtype=torch.float32,
                                                   local_files_only=True)
            pipe = WanPipeline.from_pretrained(self.model_dir, vae=vae, dtype=dtype, local_files_only=True)
            if self.cpu_offload and device.startswith("cuda"):
                pipe.enable_model_cpu_offload()
            else:
                pipe.to(device)
            pipe.set_progress_bar_config(disable=True)
            self._pipe, self.device = pipe, device
        return self._pipe

    def __call__(self, req: BackgroundRequest) -> Background:
        import torch

        t0 = time.perf_counter()
        pipe = self.pipeline()
        t1 = time.perf_counter()
        p = req.plan
        steps: list[float] = []

        def on_step(pipeline: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            steps.append(time.perf_counter())
            if req.progress:
                req.progress(step + 1, p.steps)
            return kwargs

        generator = torch.Generator(device="cpu").manual_seed(req.seed)
        try:
            out = pipe(prompt=req.prompt, negative_prompt=req.negative_prompt, height=p.size.height,
                       width=p.size.width, num_frames=p.size.frames, num_inference_steps=p.steps,
                       guidance_scale=p.guidance, generator=generator, output_type="np",
                       callback_on_step_end=on_step)
        except torch.cuda.OutOfMemoryError as exc:
            raise OutOfMemory(f"{self.name} at level {p.level}",
                              f"CUDA out of memory ({str(exc).splitlines()[0]})") from exc
        video = np.asarray(out.frames[0])  # (F, H, W, 3) float in [0, 1]
        t2 = time.perf_counter()
        frames = np.stack([rgb_to_yuv420(np.clip(f, 0, 1)) for f in video])
        return Background(frames, {"load_s": t1 - t0, "generate_s": t2 - t1, "convert_s": time.perf_counter() - t2,
                                   "steps_done": len(steps)})
