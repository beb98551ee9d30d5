"""A tiny, randomly initialised Wan2.2-TI2V-style pipeline built in code.

Same classes as the published model (UMT5 text encoder, a tokenizer made with the ``tokenizers``
library, ``WanTransformer3DModel``, the Wan2.2 VAE with z_dim 48 / patch 2 / x16 spatial, UniPC flow
scheduler, ``expand_timesteps=True``), saved to a directory and then loaded through the very same
``from_pretrained`` path as the real weights. Its pictures are noise: it exists so that tests and CPU
machines run the real code path end to end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from lab.storage import file_lock

# 2: the vocabulary is deduplicated and the encoder sized from the tokenizer (version 1 emitted ids past it).
TINY_VERSION = 2
WORDS = (
    "leaderboard celebration golden arrow sparkle sparks light speed lines runner ghost shield fireworks night "
    "sky green glow slow motion replay confetti race track dusk calm blue welcome epic comeback text letters "
    "numbers watermark faces people blurry distorted low quality the a of in to and with on at into from"
).split()


def build_tiny_wan(path: Path, seed: int = 0) -> None:
    """Build the tiny pipeline and save it (diffusers format, safetensors) at ``path``."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast, UMT5Config, UMT5EncoderModel

    specials = ["<pad>", "</s>", "<unk>"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789#.,:;!?'-")
    # One id per distinct token: "a" is both a word and a character, and a dict built from the list with
    # duplicates kept their later index, so ids ran past len(vocab) and off the encoder's embedding table.
    tokens = list(dict.fromkeys(specials + sorted(set(WORDS)) + chars))
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()])
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>", model_max_length=512)

    assert max(tokenizer.get_vocab().values()) < len(tokenizer), "tiny tokenizer ids must be dense"
    torch.manual_seed(seed)
    # The encoder's table is sized from the tokenizer itself (special tokens included), never counted apart.
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                               num_heads=4, relative_attention_num_buckets=8))
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True, patch_size=2,
                           latents_mean=[0.0] * 48, latents_std=[1.0] * 48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           scale_factor_spatial=16, scale_factor_temporal=4, temperal_downsample=[False, True, True])
    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                        in_channels=48, out_channels=48, text_dim=32, freq_dim=256, ffn_dim=32,
                                        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                        rope_max_seq_len=1024)
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    pipe = WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                       transformer=transformer, transformer_2=None, boundary_ratio=None, expand_timesteps=True)
    pipe.save_pretrained(path, safe_serialization=True)
    (Path(path) / "tiny_wan.json").write_text(json.dumps({"version": TINY_VERSION, "random_weights": True}))


def ensure_tiny_wan(path: Path) -> Path:
    """Build the tiny model once (atomically: built in a temp dir, then renamed) and return its path."""
    path = Path(path)
    marker = path / "tiny_wan.json"
    if marker.exists() and json.loads(marker.read_text()).get("version") == TINY_VERSION:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.parent / ".tiny-wan.lock"):
        if marker.exists() and json.loads(marker.read_text()).get("version") == TINY_VERSION:
            return path
        tmp = Path(tempfile.mkdtemp(prefix=".tiny-wan.", dir=path.parent))
        try:
            build_tiny_wan(tmp)
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path
