"""The Wan backends: Wan2.2-TI2V-5B through diffusers (``WanBackend``: backends ``wan`` and ``tiny-wan``), a
few-step distilled copy sampled by the lab's own loop (``DistilledWanBackend``: ``wan-distilled``), and the
draft batch that makes V1-V3's backgrounds in one call. Making one is cheap: the pipeline is loaded once per
process and device (``lab.render.wan.resident``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from lab.errors import LabError
from lab.library.models import DEFAULT_MODEL
from lab.render.background import DECODE, STEP, Background, BackgroundRequest
from lab.render.wan import sampling
from lab.render.wan.files import (
    KeyVisual,
    LoraWeights,
    check_model_dir,
    key_visual_frame,
    load_key_visual,
    model_fingerprint,
    resolve_lora,
)
from lab.render.wan.resident import (
    ResidentWan,
    WanSettings,
    find_resident,
    free_resident,
    is_resident,
    resident_wan,
    resolve_device,
)
from lab.render.yuv import rgb_to_yuv420


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
        return {
            "device": self.device, "pipeline": "WanImageToVideoPipeline" if kv else "WanPipeline", **self._switches(),
            "cfg_steps": req.variant.model.cfg_steps, "cfg_batch_active": self._cfg_batched(req, kv),
            "key_visual": {"path": kv.path, "sha256": kv.sha256} if kv else None,
            "lora": {"path": lora.path, "sha256": lora.sha256, "scale": lora.scale} if lora else None,
            "card": DEFAULT_MODEL.card_comparison(p.steps, p.guidance),
            "published_sizes": [list(s) for s in DEFAULT_MODEL.published_sizes],
            "size_note": DEFAULT_MODEL.size_note(p.size.width, p.size.height),
        }

    def _switches(self) -> dict[str, Any]:
        """The settings as they ran: the attention kernel the loaded pipeline uses, whether offload is on."""
        res = find_resident(self.model_dir, self.device)
        return {**asdict(self.settings), "attention_backend": res.attention if res else None,
                "cpu_offload_active": bool(self.settings.cpu_offload and self.device.startswith("cuda"))}

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

    # -- making backgrounds ------------------------------------------------------------------------------
    def __call__(self, req: BackgroundRequest) -> Background:
        return self.generate([req])[0]

    def generate(self, reqs: list[BackgroundRequest]) -> list[Background]:
        """One batched pipeline call for requests that share size, length, steps, guidance and model inputs
        (draft mode renders V1-V3 this way); each keeps its own prompt and seed."""
        t0 = time.perf_counter()
        first = reqs[0]
        kv, lora = check_batch(reqs, self._inputs)
        res = self.resident()
        t1 = time.perf_counter()
        steps: list[float] = []
        total = self._total_steps(first)

        def step_done(step: int) -> None:
            steps.append(time.perf_counter())
            if first.progress:
                first.progress(step + 1, total, STEP)
                if step + 1 == total:  # the VAE decodes next, inside the same call: say so rather than sit at 100%
                    first.progress(0, 1, DECODE)

        videos, embeddings_cached = res.run(
            lora, [(r.prompt, r.negative_prompt) for r in reqs], [r.seed for r in reqs],
            lambda pe, ne, generator: self._sample(res, first, pe, ne, kv, generator, step_done),
            f"{self.name} at level {first.plan.level}")
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
        run = {"height": p.size.height, "width": p.size.width, "num_frames": p.size.frames, "steps": p.steps,
               "guidance": p.guidance, "generator": generator, "cfg_steps": req.variant.model.cfg_steps,
               "on_step": step_done}
        if self._cfg_batched(req, kv):
            return np.asarray(sampling.decode(res.pipe, sampling.cfg_batched_latents(res.pipe, pe, ne, **run)))
        if kv is None:
            return np.asarray(sampling.diffusers_frames(res.pipe, pe, ne, **run))
        image = key_visual_frame(kv, p.size.width, p.size.height)
        return np.asarray(sampling.diffusers_frames(res.image_pipeline(), pe, ne, image=image, **run))


def check_batch(reqs: list[BackgroundRequest],
                inputs: Callable[[BackgroundRequest], tuple[KeyVisual | None, LoraWeights | None]],
                ) -> tuple[KeyVisual | None, LoraWeights | None]:
    """The batch's shared model inputs; refuses requests that differ in anything one pipeline call shares."""
    first = reqs[0]
    p, cfg_steps = first.plan, first.variant.model.cfg_steps
    shared = inputs(first)
    for other in reqs[1:]:
        q = other.plan
        if (q.size, q.steps, q.guidance, other.variant.model.cfg_steps) != (p.size, p.steps, p.guidance, cfg_steps) \
                or inputs(other) != shared:
            raise LabError(f"draft batch ({first.variant.id}, {other.variant.id})",
                           "the variants differ in size, length, steps, guidance, key visual or LoRA",
                           "batch only variants that share them, or render them one at a time")
    return shared


DISTILLED_WHAT = ("a few-step distilled Wan2.2-TI2V-5B in diffusers format "
                  "(e.g. FastVideo/FastWan2.2-TI2V-5B-FullAttn-Diffusers)")


class DistilledWanBackend(WanBackend):
    """A few-step distilled Wan2.2-TI2V-5B (e.g. FastWan2.2-TI2V-5B) from a local folder only, loaded and kept
    resident as the base model is, sampled by the lab's DMD-style loop (``sampling.few_step_latents``): a short
    fixed list of timesteps, no guidance. Text-to-video only: a key visual or a LoRA is refused."""

    def __init__(self, model_dir: Path | None, device: str | None = None, label: str | None = None,
                 name: str = "wan-distilled", settings: WanSettings | None = None) -> None:
        from lab import config

        check_model_dir(model_dir, config.ENV_WAN_DISTILLED, DISTILLED_WHAT, f"{name} backend")
        self.timesteps = sampling.parse_timesteps(config.wan_distilled_timesteps(),
                                                  config.ENV_WAN_DISTILLED_TIMESTEPS)
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
        return {
            "device": self.device, "pipeline": "WanPipeline components, lab.render.wan.sampling.few_step_latents",
            **self._switches(), "distilled": True, "sampler": "dmd", "model": self.model, "steps": len(self.timesteps),
            "timesteps": list(self.timesteps), "guidance": None, "cfg_batch_active": False,
            "ignored": {"steps": p.steps, "guidance": p.guidance, "cfg_steps": req.variant.model.cfg_steps},
            "size_note": DEFAULT_MODEL.size_note(p.size.width, p.size.height),
        }

    def _sample(self, res: ResidentWan, req: BackgroundRequest, pe: Any, ne: Any, kv: KeyVisual | None,
                generator: Any, step_done: Callable[[int], None]) -> np.ndarray:
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
