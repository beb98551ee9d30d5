"""Files the Wan backends read: the model folder (checked, fingerprinted) and the key visual and LoRA a variant
names (checked, read and hashed for the cache key). Nothing is downloaded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError

WAN_LAYOUT = ("model_index.json", "transformer", "vae", "text_encoder", "tokenizer", "scheduler")


def check_model_dir(path: Path | None, env: str = "HIGHLIGHT_LAB_WAN_MODEL",
                    what: str = "Wan-AI/Wan2.2-TI2V-5B-Diffusers", where: str = "wan backend") -> Path:
    """The directory must hold a diffusers-format Wan2.2-TI2V-5B; say exactly what is missing."""
    if path is None:
        raise LabError(where, "no model directory is configured", f"set {env} to a local copy of {what}")
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


# -- files a variant names for the model: checked, read and hashed ------------------------------------------

LORA_WEIGHTS = "pytorch_lora_weights.safetensors"  # the file name diffusers' save_lora_weights writes
_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """Content hash for the cache key, remembered per (path, size, mtime) so a render does not re-read it."""
    st = path.stat()
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo not in _HASHES:
        h = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        _HASHES[memo] = h.hexdigest()
    return _HASHES[memo]


@dataclass(frozen=True)
class KeyVisual:
    path: str  # as the variant names it (relative to the library)
    sha256: str
    file: Path


def load_key_visual(root: Path | None, rel: str) -> KeyVisual:
    """The variant's key visual, checked like a logo (inside the library's ``assets/``, a decodable PNG, JPEG
    or WebP within the size cap) by the one asset check, ``lab.library.assets.resolve_asset``."""
    from lab.library.assets import resolve_asset

    path = resolve_asset(Path(root or "variants"), rel, f"key visual {rel}")
    return KeyVisual(rel, file_sha256(path), path)


def key_visual_frame(kv: KeyVisual, width: int, height: int) -> Any:
    """The key visual cropped to the video's aspect (centre) and resized: the first frame the model continues."""
    from PIL import Image, ImageOps

    with Image.open(kv.file) as image:
        return ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class LoraWeights:
    path: str  # as the variant names it (relative to $HIGHLIGHT_LAB_LORAS)
    folder: Path
    sha256: str
    scale: float


def resolve_lora(rel: str, scale: float) -> LoraWeights:
    """A variant's LoRA folder, resolved inside ``config.lora_dir()``: nothing is downloaded."""
    from lab import config

    root = config.lora_dir()
    folder = (root / rel).resolve()
    where = f"LoRA {rel}"
    if not folder.is_relative_to(root.resolve()):
        raise LabError(where, f"is outside the LoRA folder {root}", "name a folder inside $HIGHLIGHT_LAB_LORAS")
    weights = folder / LORA_WEIGHTS
    if not weights.is_file():
        raise LabError(where, f"has no {LORA_WEIGHTS} in {folder}",
                       "save the LoRA there in diffusers format (pipe.save_lora_weights) or set HIGHLIGHT_LAB_LORAS")
    return LoraWeights(rel, folder, file_sha256(weights), scale)
