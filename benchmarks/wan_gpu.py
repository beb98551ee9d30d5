"""Wan2.2-TI2V-5B cost on a GPU: the full-size architecture with random bf16 weights (no download).

Random weights give cost, not quality: the pictures are noise, the seconds and bytes are the real model's.

Configurations: the seed's (864x480 = 480p snapped to the model's grid, 97 frames, 20 steps, guidance 7.5)
and the model's native 1280x704 (same frames, steps and guidance), each as published and with the lab's
speed-ups (guidance on the first half of the steps, its conditional and unconditional passes as one batched
call through ``lab.render.wan.sampling`` unless --no-cfg-batch, regional torch.compile of the repeated blocks, the
fastest installed attention backend, VAE decode in bf16); --distilled 1000,757,522 adds a few-step row (the
loop of the ``wan-distilled`` backend: same architecture, so the same cost per step). Per stage (text encoder,
denoising, VAE decode) it prints seconds (median of --repeats runs after a warm-up) and peak GPU memory, and the
denoising time against the FLOP floor at the bf16 dense peak of the card it detects. Modules that diffusers and
transformers keep in fp32 (``_keep_in_fp32_modules``) stay fp32, as ``from_pretrained(dtype=bf16)`` leaves them.

It writes every row to --out (JSON) and, with --calibrate, the seed configuration's costs in the format
``lab.render.degrade.Calibration`` reads (default path: ``lab.config.wan_calibration_path()``), so the
degrade ladder's estimates come from this card instead of placeholders.

    .venv/bin/python benchmarks/wan_gpu.py --calibrate                 # needs CUDA; full size, ~6 min on an H100
    .venv/bin/python benchmarks/wan_gpu.py --scale tiny --device cpu --configs seed --width 64 --height 64 \\
        --frames 9 --steps 2 --repeats 1 --distilled 1000,757,522 --out /tmp/wan_tiny.json  # tiny smoke run
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Published configuration of Wan-AI/Wan2.2-TI2V-5B-Diffusers (transformer/, vae/, text_encoder/).
FULL = {
    "transformer": dict(patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128, in_channels=48,
                        out_channels=48, text_dim=4096, freq_dim=256, ffn_dim=14336, num_layers=30,
                        cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024),
    "vae": dict(base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                attn_scales=[], temperal_downsample=[False, True, True], dropout=0.0, is_residual=True,
                in_channels=12, out_channels=12, patch_size=2, scale_factor_spatial=16, scale_factor_temporal=4,
                latents_mean=[0.0] * 48, latents_std=[1.0] * 48),
    "text_encoder": dict(d_model=4096, d_ff=10240, d_kv=64, num_heads=64, num_layers=24, vocab_size=256384,
                         feed_forward_proj="gated-gelu", relative_attention_num_buckets=32,
                         relative_attention_max_distance=128),
}
TINY = {
    "transformer": dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=48,
                        out_channels=48, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
                        qk_norm="rms_norm_across_heads", rope_max_seq_len=1024),
    "vae": dict(base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True, patch_size=2,
                latents_mean=[0.0] * 48, latents_std=[1.0] * 48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                scale_factor_spatial=16, scale_factor_temporal=4, temperal_downsample=[False, True, True]),
    "text_encoder": dict(d_model=32, d_ff=64, d_kv=8, num_heads=4, num_layers=2, vocab_size=512,
                         relative_attention_num_buckets=8),
}
# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) by the name torch reports; the most specific match first.
PEAK_BF16_TFLOPS = (
    ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("H200", 989.0), ("GH200", 989.0),
    ("B200", 2250.0), ("A100", 312.0), ("L40S", 362.0), ("L40", 181.0), ("L4", 121.0), ("A10G", 70.0),
    ("RTX 4090", 165.0),
)
PROMPT = ("Race track at dusk in the Weekly 5K: a glowing green runner silhouette overtakes a pale translucent "
          "ghost runner that fades away, moving into position #2, sparks trailing, dramatic rim light")
NEGATIVE = "text, letters, numbers, watermark, faces, people, blurry, distorted, low quality"
RANDOM_WEIGHTS_NOTE = "random weights give cost, not quality: the frames are noise, the time and memory are real"


def peak_tflops(name: str) -> float | None:
    return next((v for k, v in PEAK_BF16_TFLOPS if k in name), None)


def cast_keeping_fp32(model: Any, dtype: Any) -> Any:
    """Cast to ``dtype`` except the modules the library keeps in fp32, matched as from_pretrained matches them."""
    import torch

    keep = getattr(model, "_keep_in_fp32_modules", None) or []
    for name, param in list(model.named_parameters()) + list(model.named_buffers()):
        if not param.is_floating_point():
            continue
        target = torch.float32 if any(k in name.split(".") for k in keep) else dtype
        param.data = param.data.to(target)
    return model


def build(scale: str, device: str) -> Any:
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import AutoTokenizer, UMT5Config, UMT5EncoderModel

    from lab.render.wan.tiny import build_tiny_wan

    cfg = FULL if scale == "full" else TINY
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    tmp = Path("/tmp/highlight-lab-tok")
    if not (tmp / "tokenizer").exists():
        build_tiny_wan(tmp)  # only its tokenizer is used: ids stay inside any vocabulary
    tokenizer = AutoTokenizer.from_pretrained(tmp / "tokenizer")
    with torch.device(device):
        torch.manual_seed(0)
        transformer = cast_keeping_fp32(WanTransformer3DModel(**cfg["transformer"]), dtype)
        text_encoder = cast_keeping_fp32(UMT5EncoderModel(UMT5Config(**cfg["text_encoder"])), dtype)
        vae = AutoencoderKLWan(**cfg["vae"]).to(torch.float32)  # published: the VAE runs in fp32
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    pipe = WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                       transformer=transformer, transformer_2=None, boundary_ratio=None, expand_timesteps=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def module_bytes(module: Any) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def transformer_flops(cfg: dict, width: int, height: int, frames: int, text_tokens: int = 512) -> float:
    """Matmul FLOPs of one transformer forward (2 per multiply-add)."""
    d = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    tokens = ((frames - 1) // 4 + 1) * (height // 32) * (width // 32)
    L, T, f = tokens, text_tokens, cfg["ffn_dim"]
    per_layer = (2 * L * d * 3 * d + 2 * L * L * d * 2 + 2 * L * d * d  # self-attention: QKV, scores+AV, out
                 + 2 * L * d * d * 2 + 2 * T * d * d * 2 + 2 * L * T * d * 2  # cross-attention
                 + 2 * L * d * f * 2)  # feed-forward
    return cfg["num_layers"] * per_layer


class Stage:
    """Seconds and peak device memory of one stage (CUDA: synchronised, peak reset at the start)."""

    def __init__(self, device: str) -> None:
        self.device = device

    def __enter__(self) -> Stage:
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()
        else:
            self.peak = 0
        self.seconds = time.perf_counter() - self.t0


def run_once(pipe: Any, device: str, width: int, height: int, frames: int, steps: int, guidance: float,
             cfg_steps: int | None, vae_dtype: Any, cfg_batch: bool = False,
             timesteps: tuple[int, ...] | None = None) -> dict[str, float]:
    """Seconds and peak memory for text encoding, denoising and VAE decoding of one video.

    ``cfg_batch``: the lab's loop with cond + uncond as one call (``lab.render.wan.sampling.cfg_batched_latents``);
    ``timesteps``: the few-step distilled loop (``few_step_latents``; same architecture, so the same cost per step).
    """
    import torch

    from lab.render.wan import sampling

    with Stage(device) as enc, torch.no_grad():
        pe, ne = pipe.encode_prompt(PROMPT, NEGATIVE, do_classifier_free_guidance=guidance > 1, device=device)

    with Stage(device) as den:
        generator = torch.Generator("cpu").manual_seed(0)
        if timesteps:
            latents = sampling.few_step_latents(pipe, pe, height=height, width=width, num_frames=frames,
                                                timesteps=timesteps, generator=generator)
        elif cfg_batch:
            latents = sampling.cfg_batched_latents(pipe, pe, ne, height=height, width=width, num_frames=frames,
                                                   steps=steps, guidance=guidance, generator=generator,
                                                   cfg_steps=cfg_steps)
        else:
            latents = sampling.diffusers_frames(pipe, pe, ne, height=height, width=width, num_frames=frames,
                                                steps=steps, guidance=guidance, generator=generator,
                                                cfg_steps=cfg_steps, output_type="latent")
    vae = pipe.vae if pipe.vae.dtype == vae_dtype else pipe.vae.to(vae_dtype)
    with Stage(device) as dec, torch.no_grad():
        lat = latents.to(vae.dtype)
        mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1).to(lat)
        std = 1.0 / torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1).to(lat)
        vae.decode(lat / std + mean, return_dict=False)
    if pipe.vae.dtype != torch.float32:
        pipe.vae.to(torch.float32)
    return {"text_s": enc.seconds, "denoise_s": den.seconds, "vae_s": dec.seconds, "text_peak": enc.peak,
            "denoise_peak": den.peak, "vae_peak": dec.peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=("full", "tiny"), default="full")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--configs", default="seed,native", help="comma list of seed, native")
    ap.add_argument("--width", type=int, help="override both configs' width (smoke runs)")
    ap.add_argument("--height", type=int, help="override both configs' height")
    ap.add_argument("--frames", type=int, default=97)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-speedups", action="store_true", help="measure only as published")
    ap.add_argument("--no-cfg-batch", action="store_true",
                    help="speed-ups without the batched cond + uncond loop (diffusers' two calls per step)")
    ap.add_argument("--distilled", default="", help="also a few-step distilled row with these timesteps, "
                    "e.g. 1000,757,522 (FastWan's list; same architecture, random weights)")
    ap.add_argument("--peak-tflops", type=float, help="bf16 dense peak of the GPU (default: by the card's name)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "wan_gpu.json")
    ap.add_argument("--calibrate", action="store_true", help="write the seed config's costs for lab/render/degrade.py")
    ap.add_argument("--calibration-out", type=Path, help="where (default: lab.config.wan_calibration_path())")
    args = ap.parse_args()

    import torch

    from lab import config
    from lab.render.degrade import Calibration, latent_tokens, transformer_forwards
    from lab.render.wan.resident import fastest_attention

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU here: nothing measured (run on a GPU machine, or --scale tiny --device cpu)")
        return
    card = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    peak = args.peak_tflops or (peak_tflops(card) if args.device.startswith("cuda") else None)
    sizes = {"seed": (864, 480), "native": (1280, 704)}
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    t_build = time.perf_counter()
    pipe = build(args.scale, args.device)
    weights = torch.cuda.memory_allocated() if args.device.startswith("cuda") else sum(
        module_bytes(m) for m in (pipe.transformer, pipe.text_encoder, pipe.vae))
    largest = max(module_bytes(m) for m in (pipe.transformer, pipe.text_encoder, pipe.vae))
    cfg = (FULL if args.scale == "full" else TINY)["transformer"]
    print(f"device: {card}; bf16 dense peak {peak or 'unknown'} TFLOP/s; {args.scale} architecture built in "
          f"{time.perf_counter() - t_build:.0f} s, weights {weights / 2**30:.1f} GiB resident")
    print(f"note: {RANDOM_WEIGHTS_NOTE}")

    attention = fastest_attention(args.device)
    compiled = False
    rows: list[dict[str, Any]] = []

    from lab.render.wan.sampling import parse_timesteps

    distilled = parse_timesteps(args.distilled, "--distilled") if args.distilled else None

    def measure(name: str, width: int, height: int, speedups: bool,
                few: tuple[int, ...] | None = None) -> dict[str, Any]:
        nonlocal compiled
        cfg_steps = args.steps // 2 if speedups and not few else None
        cfg_batch = speedups and not few and not args.no_cfg_batch
        if speedups and not compiled and args.device.startswith("cuda"):
            if attention != "native":
                pipe.transformer.set_attention_backend(attention)
            pipe.transformer.compile_repeated_blocks(fullgraph=True)
            compiled = True
        vae_dtype = torch.bfloat16 if speedups and args.device.startswith("cuda") else torch.float32
        run_once(pipe, args.device, width, height, args.frames, min(args.steps, 2), args.guidance, None, vae_dtype,
                 cfg_batch, few[:2] if few else None)
        runs = [run_once(pipe, args.device, width, height, args.frames, args.steps, args.guidance, cfg_steps,
                         vae_dtype, cfg_batch, few) for _ in range(args.repeats)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        forwards = len(few) if few else transformer_forwards(args.steps, args.guidance, cfg_steps)
        flops = transformer_flops(cfg, width, height, args.frames) * forwards
        floor_s = flops / (peak * 1e12) if peak else None
        row = {"config": name, "speedups": speedups, "width": width, "height": height, "frames": args.frames,
               "steps": len(few) if few else args.steps, "guidance": None if few else args.guidance,
               "cfg_steps": cfg_steps, "cfg_batch": cfg_batch, "distilled_timesteps": list(few) if few else None,
               "attention": attention if speedups else "native", "compiled": speedups and compiled,
               "vae_dtype": "bf16" if vae_dtype == torch.bfloat16 else "fp32", "tokens": latent_tokens(
                   width, height, args.frames), "forwards": forwards, "flops": flops, **med,
               "total_s": med["text_s"] + med["denoise_s"] + med["vae_s"],
               "floor_s": floor_s, "ratio_to_floor": med["denoise_s"] / floor_s if floor_s else None}
        gib = 2**30
        label = "distilled" if few else "speed-ups" if speedups else "published"
        print(f"{name:>6} {width}x{height} {label:<9}  text {med['text_s']:6.2f} s "
              f"({med['text_peak'] / gib:5.1f} GiB)  denoise {med['denoise_s']:7.2f} s "
              f"({med['denoise_peak'] / gib:5.1f} GiB)  VAE {med['vae_s']:6.2f} s ({med['vae_peak'] / gib:5.1f} GiB)"
              f"  total {row['total_s']:7.2f} s" + (f"  {row['ratio_to_floor']:.2f}x the FLOP floor "
                                                   f"({floor_s:.2f} s)" if floor_s else ""))
        rows.append(row)
        return row

    for name in configs:
        width, height = args.width or sizes[name][0], args.height or sizes[name][1]
        base = measure(name, width, height, speedups=False)
        if not args.no_speedups:
            fast = measure(name, width, height, speedups=True)
            print(f"{name:>6} speed-ups: {base['total_s'] / fast['total_s']:.2f}x faster end to end (same run)")
        if distilled:
            few = measure(name, width, height, speedups=True, few=distilled)
            print(f"{name:>6} distilled ({len(distilled)} steps): {base['total_s'] / few['total_s']:.2f}x faster end "
                  "to end (same run)")

    result = {"card": card, "peak_bf16_tflops": peak, "scale": args.scale, "note": RANDOM_WEIGHTS_NOTE,
              "date": datetime.date.today().isoformat(), "weights_bytes": weights, "rows": rows}
    args.out.write_text(json.dumps(result, indent=1))
    print(f"rows written to {args.out}")
    if args.calibrate:
        seed = next(r for r in rows if r["config"] == "seed" and not r["speedups"])
        pixel_frames = seed["width"] * seed["height"] * seed["frames"]
        cal = Calibration(
            source=f"{card}, {result['date']}, benchmarks/wan_gpu.py ({args.scale}, seed config, published)",
            weight_bytes=int(weights), largest_module_bytes=int(largest),
            activation_bytes_per_token=max(0.0, (seed["denoise_peak"] - weights) / seed["tokens"]),
            vae_bytes_per_pixel_frame=max(0.0, (seed["vae_peak"] - weights) / pixel_frames),
            seconds_per_token_forward=seed["denoise_s"] / (seed["forwards"] * seed["tokens"]),
            vae_seconds_per_pixel_frame=seed["vae_s"] / pixel_frames, text_encoder_seconds=seed["text_s"])
        path = args.calibration_out or config.wan_calibration_path()
        path.write_text(json.dumps(cal.to_json(), indent=1))
        print(f"calibration for lab/render/degrade.py written to {path}")


if __name__ == "__main__":
    main()
