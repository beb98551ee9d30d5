"""The seed's fallback under load: choose a degrade level, and step down on out-of-memory.

Levels come from the variant's ladder (default: 1 = 360p, 2 = also 2 s, 3 = also particles off,
4 = motion background). A level is chosen explicitly, or from free GPU memory and a latency budget
with the estimates below; an out-of-memory error at the pipeline's call retries one level down.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.library.models import DEFAULT_MODEL, ModelSpec
from lab.library.variant import Variant

# Estimates for Wan2.2-TI2V-5B in bf16 (weights resident on the GPU: transformer ~10 GB, UMT5-XXL ~11 GB,
# VAE ~1.4 GB), and activation memory / denoising time per latent token. Calibrate with benchmarks/wan_gpu.py.
WEIGHT_BYTES = 23 * 1024**3
ACTIVATION_BYTES_PER_TOKEN = 600 * 1024
SECONDS_PER_TOKEN_STEP = 2.5e-5
VAE_SECONDS_PER_PIXEL_FRAME = 4e-8


def latent_tokens(width: int, height: int, frames: int, model: ModelSpec = DEFAULT_MODEL) -> int:
    """Transformer sequence length: latent frames x (H / 32) x (W / 32) (VAE x16, then patch 2)."""
    latent_frames = (frames - 1) // model.frame_stride + 1
    return latent_frames * (height // model.size_multiple) * (width // model.size_multiple)


@dataclass(frozen=True)
class LevelEstimate:
    level: int
    tokens: int
    gpu_bytes: int
    seconds: float


def estimate(variant: Variant, level: int) -> LevelEstimate:
    plan = variant.generation_plan(level)
    if plan.backend == "motion":
        return LevelEstimate(level, 0, 0, 0.0)
    size = plan.size
    tokens = latent_tokens(size.width, size.height, size.frames)
    cfg = 2 if plan.guidance > 1 else 1  # classifier-free guidance runs the transformer twice per step
    seconds = tokens * plan.steps * cfg * SECONDS_PER_TOKEN_STEP + size.width * size.height * size.frames * \
        VAE_SECONDS_PER_PIXEL_FRAME
    return LevelEstimate(level, tokens, WEIGHT_BYTES + tokens * ACTIVATION_BYTES_PER_TOKEN, seconds)


def choose_level(variant: Variant, free_gpu_bytes: int | None = None, latency_budget_s: float | None = None,
                 start: int = 0) -> tuple[int, str]:
    """The first level from ``start`` that fits the free memory and the latency budget, with the reason."""
    top = len(variant.degrade)
    for level in range(start, top + 1):
        est = estimate(variant, level)
        too_big = free_gpu_bytes is not None and est.gpu_bytes > free_gpu_bytes
        too_slow = latency_budget_s is not None and est.seconds > latency_budget_s
        if not (too_big or too_slow):
            if level == start:
                return level, "as configured" if level == 0 else f"level {level} requested"
            reasons = []
            first = estimate(variant, start)
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
