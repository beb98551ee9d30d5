"""The lab's own denoising loops over a loaded Wan pipeline's components (transformer, scheduler, VAE).

diffusers' ``WanPipeline.__call__`` runs the conditional and the unconditional pass as two transformer calls
per step, and has no few-step sampler. ``diffusers_frames`` calls it (or ``WanImageToVideoPipeline``) as
published, with guidance stopped after ``cfg_steps``; two loops here do what it cannot, step for step as it
does otherwise:

- ``cfg_batched_latents``: ``WanPipeline.__call__``'s loop (diffusers 0.42: same latents from the same
  generator, same scheduler steps, same per-token timesteps when ``expand_timesteps``), with the conditional
  and unconditional passes as ONE transformer call on a batch of 2B; guidance may stop after ``cfg_steps``.
- ``few_step_latents``: a DMD-style few-step loop as used by distilled checkpoints such as FastVideo's
  FastWan2.2-TI2V-5B: a short fixed list of timesteps; at each one the transformer's flow prediction gives
  x0; x0 is re-noised to the next timestep with fresh noise; no guidance (one pass per step).

Assumptions for the few-step loop (FastWan's weights and its sampler cannot be run here; read from FastVideo's
description of its DMD denoising stage, not checked against its code):
- rectified flow as in Wan: ``x_t = (1 - s) * x0 + s * noise`` with ``s = t / num_train_timesteps`` and the
  transformer predicting ``v = noise - x0``, so ``x0 = x_t - s * v``;
- the timesteps are already on the model's (shifted) scale, so ``s = t / 1000``; the default list
  (``lab.config.wan_distilled_timesteps``: 1000, 757, 522) is FastWan's published
  3-step list; the loop starts from pure noise (s = 1).

Both return latents; ``decode`` turns them into frames exactly as ``WanPipeline.__call__`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lab.errors import LabError


def diffusers_frames(pipe: Any, prompt_embeds: Any, negative_embeds: Any, *, height: int, width: int,
                     num_frames: int, steps: int, guidance: float, generator: Any, cfg_steps: int | None = None,
                     on_step: Callable[[int], None] | None = None, image: Any = None, output_type: str = "np") -> Any:
    """Frames (B, F, H, W, 3) in [0, 1] from the diffusers pipeline's own call; ``image`` for image-to-video;
    ``output_type="latent"`` stops before the VAE (the GPU benchmark times the decode apart).

    ``cfg_steps``: guidance on the first k steps only (the pipelines read ``_guidance_scale`` at each step).
    """

    def step_end(pipeline: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if cfg_steps is not None and step + 1 == cfg_steps:
            pipeline._guidance_scale = 1.0  # no unconditional pass from here on
        if on_step:
            on_step(step)
        return kwargs

    extra = {"image": image} if image is not None else {}
    out = pipe(prompt_embeds=prompt_embeds, negative_prompt_embeds=negative_embeds, height=height, width=width,
               num_frames=num_frames, num_inference_steps=steps, guidance_scale=guidance, generator=generator,
               output_type=output_type, callback_on_step_end=step_end, **extra)
    return out.frames


def _check_single_transformer(pipe: Any) -> None:
    if pipe.config.boundary_ratio is not None or getattr(pipe, "transformer_2", None) is not None:
        raise LabError("wan sampling", "the pipeline has two transformers (a Wan2.2 A14B layout)",
                       "the lab's own loops run Wan2.2-TI2V-5B (one transformer): use a TI2V-5B folder")


def _timestep_tokens(pipe: Any, mask: Any, t: Any, batch: int) -> Any:
    """The timestep as WanPipeline feeds it: one per latent token when ``expand_timesteps`` (Wan2.2 TI2V)."""
    if pipe.config.expand_timesteps:
        return (mask[0][0][:, ::2, ::2] * t).flatten().unsqueeze(0).expand(batch, -1)
    return t.expand(batch)


def _start_latents(pipe: Any, batch: int, height: int, width: int, num_frames: int, generator: Any) -> Any:
    import torch

    if num_frames % pipe.vae_scale_factor_temporal != 1:
        raise LabError("wan sampling", f"{num_frames} frames is not 4k+1",
                       "use the generation plan's frame count (lab.library.models snaps it)")
    grid = pipe.vae_scale_factor_spatial * pipe.transformer.config.patch_size[1]
    if height % grid or width % grid:
        raise LabError("wan sampling", f"{width}x{height} is not a multiple of {grid}",
                       "use the generation plan's size (lab.library.models snaps it)")
    return pipe.prepare_latents(batch, pipe.transformer.config.in_channels, height, width, num_frames,
                                torch.float32, pipe._execution_device, generator)


def cfg_batched_latents(pipe: Any, prompt_embeds: Any, negative_embeds: Any, *, height: int, width: int,
                        num_frames: int, steps: int, guidance: float, generator: Any,
                        cfg_steps: int | None = None, on_step: Callable[[int], None] | None = None) -> Any:
    """WanPipeline's denoising loop with cond and uncond in one transformer call per guided step (batch 2B).

    ``cfg_steps``: guidance on the first k steps only, then the conditional pass alone (batch B).
    """
    import torch

    _check_single_transformer(pipe)
    device = pipe._execution_device
    model = pipe.transformer
    dtype = model.dtype
    prompt_embeds = prompt_embeds.to(dtype)
    negative_embeds = negative_embeds.to(dtype)
    batch = prompt_embeds.shape[0]
    both = torch.cat([prompt_embeds, negative_embeds])  # cond first, as the chunk below expects
    pipe.scheduler.set_timesteps(steps, device=device)
    timesteps = pipe.scheduler.timesteps
    latents = _start_latents(pipe, batch, height, width, num_frames, generator)
    mask = torch.ones(latents.shape, dtype=torch.float32, device=device)
    pipe.scheduler.set_begin_index(0)
    with torch.no_grad():
        for i, t in enumerate(timesteps):
            guided = guidance > 1.0 and (cfg_steps is None or i < cfg_steps)
            x = latents.to(dtype)
            context = {"step_index": i, "sigma": float(pipe.scheduler.sigmas[i]), "num_inference_steps": len(timesteps)}
            if guided:
                with model.cache_context("cond_uncond", **context):
                    out = model(hidden_states=torch.cat([x, x]), timestep=_timestep_tokens(pipe, mask, t, 2 * batch),
                                encoder_hidden_states=both, return_dict=False)[0]
                cond, uncond = out.chunk(2)
                noise_pred = uncond + guidance * (cond - uncond)
            else:
                with model.cache_context("cond", **context):
                    noise_pred = model(hidden_states=x, timestep=_timestep_tokens(pipe, mask, t, batch),
                                       encoder_hidden_states=prompt_embeds, return_dict=False)[0]
            latents = pipe.scheduler.step(noise_pred, t, latents, return_dict=False)[0]
            if on_step:
                on_step(i)
    return latents


def parse_timesteps(text: str, where: str, train_steps: int = 1000) -> tuple[int, ...]:
    """A few-step list such as ``1000,757,522``: strictly decreasing integers in 1..train_steps."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise LabError(where, f"{text!r} is not a comma list of integers", "use e.g. 1000,757,522") from None
    if not values or any(b >= a for a, b in zip(values, values[1:], strict=False)) or \
            not all(0 < v <= train_steps for v in values):
        raise LabError(where, f"{text!r} is not a strictly decreasing list in 1..{train_steps}",
                       "use e.g. 1000,757,522 (FastWan's 3 steps)")
    return values


def few_step_latents(pipe: Any, prompt_embeds: Any, *, height: int, width: int, num_frames: int,
                     timesteps: Sequence[int], generator: Any, on_step: Callable[[int], None] | None = None) -> Any:
    """DMD-style sampling of a distilled model: predict x0 at each listed timestep, re-noise to the next one."""
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    _check_single_transformer(pipe)
    device = pipe._execution_device
    model = pipe.transformer
    dtype = model.dtype
    prompt_embeds = prompt_embeds.to(dtype)
    batch = prompt_embeds.shape[0]
    train = pipe.scheduler.config.num_train_timesteps
    latents = _start_latents(pipe, batch, height, width, num_frames, generator)  # pure noise, s = 1
    mask = torch.ones(latents.shape, dtype=torch.float32, device=device)
    with torch.no_grad():
        for i, step in enumerate(timesteps):
            t = torch.tensor(float(step), device=device)
            s = step / train
            velocity = model(hidden_states=latents.to(dtype), timestep=_timestep_tokens(pipe, mask, t, batch),
                             encoder_hidden_states=prompt_embeds, return_dict=False)[0]
            x0 = latents - s * velocity.float()
            if i + 1 < len(timesteps):
                s_next = timesteps[i + 1] / train
                noise = randn_tensor(latents.shape, generator=generator, device=device, dtype=torch.float32)
                latents = (1.0 - s_next) * x0 + s_next * noise
            else:
                latents = x0
            if on_step:
                on_step(i)
    return latents


def decode(pipe: Any, latents: Any) -> Any:
    """Latents to frames (B, F, H, W, 3) float in [0, 1], as the end of ``WanPipeline.__call__`` does."""
    import torch
    from diffusers.utils.torch_utils import get_module_execution_device

    vae = pipe.vae
    with torch.no_grad():
        latents = latents.to(get_module_execution_device(vae), dtype=vae.dtype)
        mean = torch.tensor(vae.config.latents_mean).view(1, vae.config.z_dim, 1, 1, 1).to(latents.device,
                                                                                            latents.dtype)
        inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, vae.config.z_dim, 1, 1, 1).to(latents.device,
                                                                                                  latents.dtype)
        video = vae.decode(latents / inv_std + mean, return_dict=False)[0]
        frames = pipe.video_processor.postprocess_video(video, output_type="np")
    pipe.maybe_free_model_hooks()
    return frames
