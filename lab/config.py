"""Where the lab keeps its data, and the environment variables that move it. One place for each."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CACHE_BYTES = 4 * 1024**3


def data_dir() -> Path:
    """The lab's data: background cache, tiny test model, MLflow store. ``HIGHLIGHT_LAB_HOME`` moves it."""
    return Path(os.environ.get("HIGHLIGHT_LAB_HOME", ".highlight-lab")).resolve()


def cache_dir() -> Path:
    return data_dir() / "backgrounds"


def cache_bytes() -> int:
    return int(os.environ.get("HIGHLIGHT_LAB_CACHE_BYTES", DEFAULT_CACHE_BYTES))


def wan_model_dir() -> Path | None:
    """Local diffusers-format Wan2.2-TI2V-5B (``HIGHLIGHT_LAB_WAN_MODEL``); None when not configured."""
    value = os.environ.get("HIGHLIGHT_LAB_WAN_MODEL")
    return Path(value) if value else None


def tiny_wan_dir() -> Path:
    return data_dir() / "models" / "tiny-wan"
