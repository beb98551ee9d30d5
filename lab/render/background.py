"""What a background backend is given and what it returns. One call signature, as diffusers pipelines have one
``__call__``:

    backend(request) -> Background

``request`` carries the variant, the generation plan at a degrade level, the prompt (built from non-personal
fields only) and the seed. The backends are listed in ``lab.render.backends``; this module imports no array
library, so the table that names them stays cheap to import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.library.variant import GenerationPlan, Variant

if TYPE_CHECKING:
    import numpy as np


# A render's stages, as ``progress(done, total, stage)`` reports them, in the order they run: a model background's
# denoising steps and its VAE decode (none for a motion background or one from the cache), then each composited
# frame, then the encoder finishing the file.
STEP, DECODE, FRAME, ENCODE = "denoising step", "decoding", "compositing frame", "encoding"
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class BackgroundRequest:
    variant: Variant
    plan: GenerationPlan
    prompt: str
    negative_prompt: str
    seed: int
    progress: Progress | None = field(default=None, compare=False)
    library_root: Path | None = None  # the variants folder: a key visual is read from its assets/


@dataclass
class Background:
    frames: np.ndarray  # (F, H * 3 // 2, W) uint8 yuv420p
    info: dict[str, Any]
