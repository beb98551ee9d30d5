"""Wan2.2-TI2V-5B on a GPU: the full-size architecture with random bf16 weights (no download), at the
seed's settings (480p, 97 frames, 20 steps, guidance 7.5), then with speed-ups: diffusers' first-block
cache, fewer steps, guidance on early steps only, and torch.compile. Prints seconds for text encoding,
denoising and VAE decoding, the transformer's FLOP count and the fraction of the GPU's bf16 peak.

    .venv/bin/python benchmarks/wan_gpu.py                      # needs CUDA; full size
    .venv/bin/python benchmarks/wan_gpu.py --scale tiny --device cpu --frames 9 --height 64 --width 64
                                                               # the same code on tiny configs (a smoke run)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

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
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "4090": 165.0}
PROMPT = ("Race track at dusk in the Weekly 5K: a glowing #4CAF50 runner silhouette overtakes a pale translucent "
          "ghost runner that fades away, moving into position #2, sparks trailing, dramatic rim light")
NEGATIVE = "text, letters, numbers, watermark, faces, people, blurry, distorted, low quality"


def build(scale: str, device: str):
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from lab.render.tiny_wan import build_tiny_wan

    cfg = FULL if scale == "full" else TINY
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    tmp = Path("/tmp/highlight-lab-tok")
    if not (tmp / "tokenizer").exists():
        build_tiny_wan(tmp)  # only its tokenizer is used: ids stay inside any vocabulary
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tmp / "tokenizer")
    with torch.device(device):
        torch.manual_seed(0)
        transformer = WanTransformer3DModel(**cfg["transformer"]).to(dtype)
        text_encoder = UMT5EncoderModel(UMT5Config(**cfg["text_encoder"])).to(dtype)
        vae = AutoencoderKLWan(**cfg["vae"]).to(torch.float32)
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    pipe = WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                       transformer=transformer, transformer_2=None, boundary_ratio=None, expand_timesteps=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def transformer_flops(cfg: dict, width: int, height: int, frames: int, text_tokens: int = 512) -> float:
    """Matmul FLOPs of one transformer forward (2 per multiply-add)."""
    d = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    tokens = ((frames - 1) // 4 + 1) * (height // 32) * (width // 32)
    L, T, f = tokens, text_tokens, cfg["ffn_dim"]
    per_layer = (2 * L * d * 3 * d + 2 * L * L * d * 2 + 2 * L * d * d  # self-attention: QKV, scores+AV, out
                 + 2 * L * d * d * 2 + 2 * T * d * d * 2 + 2 * L * T * d * 2  # cross-attention
                 + 2 * L * d * f * 2)  # feed-forward
    return cfg["num_layers"] * per_layer


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_once(pipe, device, width, height, frames, steps, guidance, cfg_steps=None):
    """Seconds for text encoding, denoising and VAE decoding of one video."""
    import torch

    t0 = time.perf_counter()
    with torch.no_grad():
        pe, ne = pipe.encode_prompt(PROMPT, NEGATIVE, do_classifier_free_guidance=guidance > 1, device=device)
    sync(device)
    t1 = time.perf_counter()

    def early_cfg(p, i, t, kw):
        if cfg_steps is not None and i + 1 == cfg_steps:
            p._guidance_scale = 1.0  # the unconditional pass is skipped from here on
        return kw

    latents = pipe(prompt_embeds=pe, negative_prompt_embeds=ne, height=height, width=width, num_frames=frames,
                   num_inference_steps=steps, guidance_scale=guidance, output_type="latent",
                   generator=torch.Generator("cpu").manual_seed(0), callback_on_step_end=early_cfg).frames
    sync(device)
    t2 = time.perf_counter()
    with torch.no_grad():
        vae = pipe.vae
        lat = latents.to(vae.dtype)
        mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1).to(lat)
        std = 1.0 / torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1).to(lat)
        vae.decode(lat / std + mean, return_dict=False)
    sync(device)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=("full", "tiny"), default="full")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--width", type=int, default=864)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--frames", type=int, default=97)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--peak-tflops", type=float, help="bf16 dense peak of the GPU (default: by name)")
    args = ap.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU here: nothing measured (run on a GPU machine, or --scale tiny --device cpu)")
        return
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    pipe = build(args.scale, args.device)
    cfg = (FULL if args.scale == "full" else TINY)["transformer"]
    step_flops = transformer_flops(cfg, args.width, args.height, args.frames)
    print(f"device: {name}; {args.scale} architecture, random weights; {args.width}x{args.height}, "
          f"{args.frames} frames, {args.steps} steps, guidance {args.guidance}")
    print(f"transformer: {step_flops / 1e12:.1f} TFLOP per forward; "
          f"{step_flops * args.steps * (2 if args.guidance > 1 else 1) / 1e15:.2f} PFLOP per video at the seed's "
          "settings")

    def measure(label, steps=args.steps, guidance=args.guidance, cfg_steps=None):
        run_once(pipe, args.device, args.width, args.height, args.frames, min(steps, 2), guidance)  # warm-up
        runs = [run_once(pipe, args.device, args.width, args.height, args.frames, steps, guidance, cfg_steps)
                for _ in range(args.repeats)]
        enc, den, dec = (statistics.median(r[i] for r in runs) for i in range(3))
        forwards = steps * 2 if guidance > 1 else steps
        if cfg_steps is not None and guidance > 1:
            forwards = steps + cfg_steps
        tflops = step_flops * forwards / den / 1e12
        frac = f", {tflops / peak:.0%} of {peak:.0f} TFLOP/s bf16 peak" if peak else ""
        print(f"{label:<34} text {enc:6.2f} s  denoise {den:7.2f} s  VAE {dec:6.2f} s  total {enc + den + dec:7.2f} s"
              f"  ({tflops:.0f} TFLOP/s{frac})")
        return enc + den + dec

    base = measure(f"as configured ({args.steps} steps, cfg {args.guidance:g})")
    measure(f"guidance on first {args.steps // 2} steps only", cfg_steps=args.steps // 2)
    measure("12 steps", steps=12)
    try:
        from diffusers import FirstBlockCacheConfig

        pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=0.05))
        measure("first-block cache (threshold 0.05)")
        pipe.transformer.disable_cache()
    except Exception as exc:  # report, do not hide: the other rows still stand
        print(f"first-block cache: not measured ({type(exc).__name__}: {exc})")
    if args.device.startswith("cuda"):
        pipe.transformer = torch.compile(pipe.transformer, mode="max-autotune-no-cudagraphs")
        fast = measure("torch.compile")
        print(f"torch.compile speed-up over the seed settings: {base / fast:.2f}x")


if __name__ == "__main__":
    main()
