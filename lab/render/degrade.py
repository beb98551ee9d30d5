"""The seed's fallback under load: choose a degrade level, and step down on out-of-memory.

Levels come from the variant's ladder (default: 1 = 360p, 2 = also 2 s, 3 = also particles off,
4 = motion background). A level is chosen explicitly, or from free GPU memory and a latency budget
with the estimates below; an out-of-memory error at load or at the pipeline's call retries one level down.

The costs come from ``Calibration``: measured by ``benchmarks/wan_gpu.py`` on a GPU and read from
``lab.config.wan_calibration_path()`` when that file exists, else the placeholders below (labelled so).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from lab.library.models import DEFAULT_MODEL, ModelSpec
from lab.library.variant import Variant


@dataclass(frozen=True)
class Calibration:
    """Costs of Wan2.2-TI2V-5B on one card; ``benchmarks/wan_gpu.py`` writes this as JSON (the one format)."""

    source: str  # "placeholder" or the card and date it was measured on
    weight_bytes: int  # all weights resident on the GPU (transformer + UMT5-XXL + VAE)
    largest_module_bytes: int  # what model CPU offload keeps on the GPU at once (UMT5-XXL)
    activation_bytes_per_token: float  # peak denoising memory per latent token
    vae_bytes_per_pixel_frame: float  # peak VAE decode memory per output pixel-frame
    seconds_per_token_forward: float  # one transformer forward, per latent token
    vae_seconds_per_pixel_frame: float
    text_encoder_seconds: float

    def to_json(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Calibration:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


# Until a GPU run is recorded: bf16 weights (transformer ~10 GB, UMT5-XXL ~11 GB, VAE ~1.4 GB) and rough costs.
PLACEHOLDER = Calibration(source="placeholder", weight_bytes=23 * 1024**3, largest_module_bytes=11 * 1024**3,
                          activation_bytes_per_token=600 * 1024, vae_bytes_per_pixel_frame=120.0,
                          seconds_per_token_forward=1.25e-5, vae_seconds_per_pixel_frame=4e-8,
                          text_encoder_seconds=0.3)
# CPU cost of the overlay per pixel-frame, with and without particles (composite + encode happen either way).
COMPOSITE_SECONDS_PER_PIXEL_FRAME = 6e-9
PARTICLE_SECONDS_PER_PIXEL_FRAME = 4e-9


@lru_cache(maxsize=4)
def _read_calibration(path: str, mtime_ns: int) -> Calibration:
    import json

    return Calibration.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def calibration() -> Calibration:
    """The measured costs when ``benchmarks/wan_gpu.py`` has written them, else ``PLACEHOLDER``."""
    from lab import config

    path = config.wan_calibration_path()
    try:
        return _read_calibration(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return PLACEHOLDER


def latent_tokens(width: int, height: int, frames: int, model: ModelSpec = DEFAULT_MODEL) -> int:
    """Transformer sequence length: latent frames x (H / 32) x (W / 32) (VAE x16, then patch 2)."""
    latent_frames = (frames - 1) // model.frame_stride + 1
    return latent_frames * (height // model.size_multiple) * (width // model.size_multiple)


@dataclass(frozen=True)
class LevelEstimate:
    level: int
    tokens: int
    gpu_bytes: int  # what this render still needs on the GPU (resident weights are already in use, not free)
    seconds: float


def transformer_forwards(steps: int, guidance: float, cfg_steps: int | None = None) -> int:
    """Transformer calls per video: two per step under classifier-free guidance, for its first ``cfg_steps``."""
    if guidance <= 1:
        return steps
    return steps + min(steps, cfg_steps if cfg_steps is not None else steps)


def estimate(variant: Variant, level: int, weights_resident: bool = False, cpu_offload: bool = False,
             cal: Calibration | None = None) -> LevelEstimate:
    """Memory still needed and seconds for one render at ``level``; weights count only when not yet loaded."""
    cal = cal or calibration()
    plan = variant.generation_plan(level)
    size = plan.size
    pixel_frames = size.width * size.height * size.frames
    composite = pixel_frames * (COMPOSITE_SECONDS_PER_PIXEL_FRAME + (PARTICLE_SECONDS_PER_PIXEL_FRAME
                                                                      if plan.particles else 0.0))
    if plan.backend == "motion":
        return LevelEstimate(level, 0, 0, composite)
    tokens = latent_tokens(size.width, size.height, size.frames)
    forwards = transformer_forwards(plan.steps, plan.guidance, variant.model.cfg_steps)
    seconds = (cal.text_encoder_seconds + tokens * forwards * cal.seconds_per_token_forward
               + pixel_frames * cal.vae_seconds_per_pixel_frame + composite)
    working = max(tokens * cal.activation_bytes_per_token, pixel_frames * cal.vae_bytes_per_pixel_frame)
    weights = 0 if weights_resident else (cal.largest_module_bytes if cpu_offload else cal.weight_bytes)
    return LevelEstimate(level, tokens, int(weights + working), seconds)


def choose_level(variant: Variant, free_gpu_bytes: int | None = None, latency_budget_s: float | None = None,
                 start: int = 0, weights_resident: bool = False, cpu_offload: bool = False) -> tuple[int, str]:
    """The first level from ``start`` that fits the free memory and the latency budget, with the reason."""
    top = len(variant.degrade)

    def estimate_at(level: int) -> LevelEstimate:
        return estimate(variant, level, weights_resident=weights_resident, cpu_offload=cpu_offload)

    for level in range(start, top + 1):
        est = estimate_at(level)
        too_big = free_gpu_bytes is not None and est.gpu_bytes > free_gpu_bytes
        too_slow = latency_budget_s is not None and est.seconds > latency_budget_s
        if not (too_big or too_slow):
            if level == start:
                return level, "as configured" if level == 0 else f"level {level} requested"
            reasons = []
            first = estimate_at(start)
            if free_gpu_bytes is not None and first.gpu_bytes > free_gpu_bytes:
                reasons.append(f"{free_gpu_bytes / 1024**3:.1f} GiB free on the GPU, level {start} needs "
                               f"~{first.gpu_bytes / 1024**3:.1f} GiB")
            if latency_budget_s is not None and first.seconds > latency_budget_s:
                reasons.append(f"latency budget {latency_budget_s:g} s, level {start} takes ~{first.seconds:.1f} s")
            return level, "; ".join(reasons) + f" -> level {level}"
    return top, "nothing fits the budget: lowest level"


def free_gpu_bytes() -> int | None:
    """Free memory on the current CUDA device, or None without one."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    free, _ = torch.cuda.mem_get_info()
    return int(free)
