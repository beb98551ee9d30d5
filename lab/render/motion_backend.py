"""The motion backend: procedural motion graphics on the CPU (``lab.render.motion``), what designers see with
no GPU and what degrade level 4 falls back to."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from lab.render.background import Background, BackgroundRequest
from lab.render.motion import motion_background
from lab.render.styles import STYLE_SPECS


class MotionBackend:
    """Procedural motion graphics on the CPU; what designers see with no GPU."""

    name = "motion"
    model = "procedural-motion-v2"  # v2: camera drift, hue every other frame, livelier looks (issue 20)
    random_weights = False
    sends_prompt = False
    settings = None  # no model switches: nothing is loaded, nothing offloaded

    def recipe(self, req: BackgroundRequest) -> dict[str, Any]:
        v, p = req.variant, req.plan
        return {"backend": self.name, "model": self.model, "style": v.style, "primary": v.brand.primary,
                "accent": v.brand.accent, "intensity": v.effects.intensity, "particles": p.particles,
                "width": p.size.width, "height": p.size.height, "frames": p.size.frames, "fps": p.size.fps,
                "seed": req.seed, "look": asdict(STYLE_SPECS[v.style].background)}  # a retuned look: new pixels

    def describe(self, req: BackgroundRequest) -> dict[str, Any]:
        """How a model ran, for the sidecar: nothing to say for a procedure."""
        return {}

    def weights_resident(self) -> bool:
        """No weights: choosing a degrade level never counts any."""
        return False

    def __call__(self, req: BackgroundRequest) -> Background:
        v, p = req.variant, req.plan
        t0 = time.perf_counter()
        frames = motion_background(v.style, v.brand.primary, v.brand.accent, p.size.width, p.size.height,
                                   p.size.frames, p.size.fps, req.seed, v.effects.intensity, p.particles)
        return Background(frames, {"generate_s": time.perf_counter() - t0})
