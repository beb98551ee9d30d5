"""Every default and every environment variable the lab reads: the one place to look them up.

Functions, not constants, so a test (or a second studio in the same process) that changes the environment
sees the change. ``LabConfig`` bundles what a front end needs (the studio is built from one).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# -- defaults ------------------------------------------------------------------------------
DEFAULT_HOME = ".highlight-lab"
DEFAULT_VARIANTS = "variants"
DEFAULT_EXPERIMENTS = "experiments"
DEFAULT_CACHE_BYTES = 4 * 1024**3
DEFAULT_HOST = "127.0.0.1"  # this machine only, unless told otherwise
DEFAULT_PORT = 7860
# MLflow's REST client retries for minutes by default; a lab command should fail within seconds.
DEFAULT_MLFLOW_TIMEOUT_S = 10
DEFAULT_MLFLOW_RETRIES = 1
# Production worker: a push must fail fast and be retried, not hang a render slot.
DEFAULT_PUSH_TIMEOUT_S = 5.0
DEFAULT_PUSH_RETRIES = 3
DEFAULT_RENDER_RETRIES = 3
# Redis re-delivers a message a dead worker held after this many seconds (idempotency makes an early one safe).
DEFAULT_VISIBILITY_TIMEOUT_S = 300
DEFAULT_GPU_RATE_LIMIT = "30/m"
# A warehouse query (analyze --source) may scan a large table; it is still bounded (connect: at most 30 s).
DEFAULT_WAREHOUSE_TIMEOUT_S = 600.0

DEFAULT_MLFLOW_BACKOFF = 1  # urllib3 backoff factor between retries (MLflow's default is 2, with 7 retries)
DEFAULT_MLFLOW_PING_S = 3.0  # the reachability check before a command touches a server

# -- environment variables -----------------------------------------------------------------
ENV_HOME = "HIGHLIGHT_LAB_HOME"
ENV_VARIANTS = "HIGHLIGHT_LAB_VARIANTS"
ENV_EXPERIMENTS = "HIGHLIGHT_LAB_EXPERIMENTS"
ENV_CACHE_BYTES = "HIGHLIGHT_LAB_CACHE_BYTES"
ENV_WAN_MODEL = "HIGHLIGHT_LAB_WAN_MODEL"
ENV_PORT = "GRADIO_SERVER_PORT"
ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
ENV_REGISTRY_URI = "MLFLOW_REGISTRY_URI"
ENV_MLFLOW_TIMEOUT = "HIGHLIGHT_LAB_MLFLOW_TIMEOUT"
ENV_MLFLOW_RETRIES = "HIGHLIGHT_LAB_MLFLOW_RETRIES"
ENV_BROKER = "HIGHLIGHT_LAB_BROKER"
ENV_OUTPUT_URL = "HIGHLIGHT_LAB_OUTPUT_URL"
ENV_WEBHOOK_URL = "HIGHLIGHT_LAB_WEBHOOK_URL"
ENV_PUSH_TIMEOUT = "HIGHLIGHT_LAB_PUSH_TIMEOUT"
ENV_PUSH_RETRIES = "HIGHLIGHT_LAB_PUSH_RETRIES"
ENV_RENDER_RETRIES = "HIGHLIGHT_LAB_RENDER_RETRIES"
ENV_VISIBILITY_TIMEOUT = "HIGHLIGHT_LAB_VISIBILITY_TIMEOUT"
ENV_WAREHOUSE_TIMEOUT = "HIGHLIGHT_LAB_WAREHOUSE_TIMEOUT"
ENV_GPU_RATE_LIMIT = "HIGHLIGHT_LAB_GPU_RATE_LIMIT"
ENV_WORKER_LEVEL = "HIGHLIGHT_LAB_WORKER_LEVEL"
ENV_WORKER_BACKEND = "HIGHLIGHT_LAB_WORKER_BACKEND"
ENV_WEEKLY_EVENTS = "HIGHLIGHT_LAB_WEEKLY_EVENTS"
# How the Wan model runs (issue 13). Switches read "1/true/yes/on" as on.
ENV_WAN_CPU_OFFLOAD = "HIGHLIGHT_LAB_WAN_CPU_OFFLOAD"  # diffusers' model CPU offload: less GPU memory, slower
ENV_WAN_VAE_TILING = "HIGHLIGHT_LAB_WAN_VAE_TILING"  # decode in tiles: less memory, slightly different pixels
ENV_WAN_VAE_SLICING = "HIGHLIGHT_LAB_WAN_VAE_SLICING"  # decode a batch one video at a time
ENV_WAN_VAE_DTYPE = "HIGHLIGHT_LAB_WAN_VAE_DTYPE"  # fp32 (published) or bf16 (faster decode, other pixels)
ENV_WAN_COMPILE = "HIGHLIGHT_LAB_WAN_COMPILE"  # torch.compile the repeated transformer blocks (regional): 1 = inductor
ENV_WAN_ATTENTION = "HIGHLIGHT_LAB_WAN_ATTENTION"  # auto (fastest installed) or a diffusers backend name
ENV_WAN_CFG_BATCH = "HIGHLIGHT_LAB_WAN_CFG_BATCH"  # cond + uncond passes as one batch of 2 (the lab's own loop)
ENV_WAN_DISTILLED = "HIGHLIGHT_LAB_WAN_DISTILLED"  # local few-step distilled TI2V-5B (e.g. FastWan2.2-TI2V-5B)
ENV_WAN_DISTILLED_TIMESTEPS = "HIGHLIGHT_LAB_WAN_DISTILLED_TIMESTEPS"  # its DMD timesteps, e.g. 1000,757,522
ENV_WAN_LORAS = "HIGHLIGHT_LAB_LORAS"  # the folder variants' style LoRAs are named relative to
ENV_WAN_CALIBRATION = "HIGHLIGHT_LAB_WAN_CALIBRATION"  # JSON written by benchmarks/wan_gpu.py
WAN_VAE_DTYPES = ("fp32", "bf16")
# Local kernels only: diffusers' *_hub backends would download code, which the lab never does.
WAN_ATTENTION_BACKENDS = ("auto", "native", "_native_flash", "_native_efficient", "_native_cudnn", "_native_math",
                          "flash", "_flash_3", "sage", "flex")
WAN_COMPILE_BACKENDS = ("inductor", "aot_eager", "eager")  # the last two trace without generating code (tests)


# -- the data folder and what lives under it -----------------------------------------------


def data_dir() -> Path:
    """The lab's data: background cache, tiny test model, MLflow store, outcomes, exports."""
    return Path(os.environ.get(ENV_HOME, DEFAULT_HOME)).resolve()


def cache_dir() -> Path:
    return data_dir() / "backgrounds"


def cache_bytes() -> int:
    return int(os.environ.get(ENV_CACHE_BYTES, DEFAULT_CACHE_BYTES))


def previews_dir() -> Path:
    """Studio previews, under random names (never a user's)."""
    return data_dir() / "previews"


def outcomes_dir(key: str) -> Path:
    """An experiment's outcome store."""
    return data_dir() / "outcomes" / key


def exports_dir(scenario: str) -> Path:
    """Production bundles of one scenario."""
    return data_dir() / "exports" / scenario


def salt_path() -> Path:
    """The secret salt that pseudonymises user ids (made once, 0600)."""
    return data_dir() / "id-salt"


def mlflow_artifacts_dir(key: str) -> Path:
    """Artifacts of an experiment in the embedded MLflow store."""
    return data_dir() / "mlartifacts" / key


def tiny_wan_dir() -> Path:
    return data_dir() / "models" / "tiny-wan"


def wan_model_dir() -> Path | None:
    """Local diffusers-format Wan2.2-TI2V-5B (``HIGHLIGHT_LAB_WAN_MODEL``); None when not configured."""
    value = os.environ.get(ENV_WAN_MODEL)
    return Path(value) if value else None


def _switch(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def wan_cpu_offload() -> bool:
    return _switch(ENV_WAN_CPU_OFFLOAD)


def wan_vae_tiling() -> bool:
    return _switch(ENV_WAN_VAE_TILING)


def wan_vae_slicing() -> bool:
    return _switch(ENV_WAN_VAE_SLICING)


def wan_vae_dtype() -> str:
    """``fp32`` (as published) or ``bf16``; anything else is refused by the backend with the choices."""
    return os.environ.get(ENV_WAN_VAE_DTYPE, "fp32").strip().lower() or "fp32"


def wan_compile() -> str | None:
    """None (off), or the torch.compile backend for the transformer's repeated blocks (on = ``inductor``)."""
    value = os.environ.get(ENV_WAN_COMPILE, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return None
    return "inductor" if value in ("1", "true", "yes", "on") else value


def wan_cfg_batch() -> bool:
    return _switch(ENV_WAN_CFG_BATCH)


def wan_distilled_dir() -> Path | None:
    """Local diffusers-format few-step distilled Wan2.2-TI2V-5B (``HIGHLIGHT_LAB_WAN_DISTILLED``); None if unset."""
    value = os.environ.get(ENV_WAN_DISTILLED)
    return Path(value) if value else None


def wan_distilled_timesteps() -> str:
    """The distilled model's few-step list as text (parsed and checked by ``lab.render.sampling``)."""
    return os.environ.get(ENV_WAN_DISTILLED_TIMESTEPS, "").strip() or "1000,757,522"


def wan_attention() -> str:
    return os.environ.get(ENV_WAN_ATTENTION, "auto").strip() or "auto"


def lora_dir() -> Path:
    """Style LoRAs (diffusers format folders) that variants name by a path relative to this folder."""
    value = os.environ.get(ENV_WAN_LORAS)
    return Path(value).resolve() if value else data_dir() / "loras"


def wan_calibration_path() -> Path:
    """Measured costs for the degrade estimates; absent until benchmarks/wan_gpu.py has run on a GPU."""
    value = os.environ.get(ENV_WAN_CALIBRATION)
    return Path(value) if value else Path(__file__).resolve().parent / "render" / "wan_calibration.json"


# -- the team's YAML library -----------------------------------------------------------------


def variants_dir() -> Path:
    return Path(os.environ.get(ENV_VARIANTS, DEFAULT_VARIANTS))


def experiments_dir() -> Path:
    return Path(os.environ.get(ENV_EXPERIMENTS, DEFAULT_EXPERIMENTS))


# -- MLflow ----------------------------------------------------------------------------------


def tracking_uri() -> str:
    """A team's server when ``MLFLOW_TRACKING_URI`` is set, else the embedded sqlite store."""
    return os.environ.get(ENV_TRACKING_URI) or f"sqlite:///{data_dir() / 'mlflow.db'}"


def registry_uri() -> str:
    return os.environ.get(ENV_REGISTRY_URI) or tracking_uri()


def mlflow_timeout_s() -> int:
    return int(os.environ.get(ENV_MLFLOW_TIMEOUT, DEFAULT_MLFLOW_TIMEOUT_S))


def mlflow_retries() -> int:
    return int(os.environ.get(ENV_MLFLOW_RETRIES, DEFAULT_MLFLOW_RETRIES))


# -- the production worker -------------------------------------------------------------------


def production_dir() -> Path:
    """The worker's ledger: claims, done markers, impressions.jsonl, dead-letter.jsonl."""
    return data_dir() / "production"


def output_url() -> str:
    """Where videos and posters go: a local folder by default, or any fsspec URL."""
    return os.environ.get(ENV_OUTPUT_URL) or str(data_dir() / "videos")


def broker_url() -> str | None:
    """The Celery broker (``redis://127.0.0.1:6379/0``); None means the embedded, in-process worker."""
    return os.environ.get(ENV_BROKER) or None


def webhook_url() -> str | None:
    """The push hook; None means no push."""
    return os.environ.get(ENV_WEBHOOK_URL) or None


def push_timeout_s() -> float:
    return float(os.environ.get(ENV_PUSH_TIMEOUT, DEFAULT_PUSH_TIMEOUT_S))


def push_retries() -> int:
    return int(os.environ.get(ENV_PUSH_RETRIES, DEFAULT_PUSH_RETRIES))


def render_retries() -> int:
    return int(os.environ.get(ENV_RENDER_RETRIES, DEFAULT_RENDER_RETRIES))


def visibility_timeout_s() -> int:
    return int(os.environ.get(ENV_VISIBILITY_TIMEOUT, DEFAULT_VISIBILITY_TIMEOUT_S))


def gpu_rate_limit() -> str:
    """Celery rate limit for a render task on a GPU backend, e.g. ``30/m`` per worker."""
    return os.environ.get(ENV_GPU_RATE_LIMIT, DEFAULT_GPU_RATE_LIMIT)


def worker_level() -> int | None:
    """A fixed degrade level for production renders; None lets the renderer choose."""
    value = os.environ.get(ENV_WORKER_LEVEL)
    return int(value) if value else None


def worker_backend() -> str:
    return os.environ.get(ENV_WORKER_BACKEND, "auto")


def weekly_events() -> str | None:
    """The events file the weekly Celery beat batch reads (Sunday 02:00); None: no weekly batch."""
    return os.environ.get(ENV_WEEKLY_EVENTS) or None

def mlflow_backoff() -> int:
    return DEFAULT_MLFLOW_BACKOFF


def mlflow_ping_s() -> float:
    """Seconds the reachability check waits: at most the request timeout."""
    return min(DEFAULT_MLFLOW_PING_S, float(mlflow_timeout_s()))


# -- the studio ------------------------------------------------------------------------------


def studio_port() -> int:
    return int(os.environ.get(ENV_PORT, DEFAULT_PORT))


@dataclass(frozen=True)
class LabConfig:
    """What a front end is started on: the library folders it reads and writes, and where it listens."""

    variants_dir: Path
    experiments_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @classmethod
    def from_env(cls, variants: Path | None = None, experiments: Path | None = None, host: str | None = None,
                 port: int | None = None) -> LabConfig:
        """Explicit arguments first, then the environment, then the defaults."""
        return cls(variants_dir=Path(variants) if variants else variants_dir(),
                   experiments_dir=Path(experiments) if experiments else experiments_dir(),
                   host=host or DEFAULT_HOST, port=port or studio_port())


def warehouse_timeout_s() -> float:
    """Seconds a warehouse query may run (statement timeout), from ``HIGHLIGHT_LAB_WAREHOUSE_TIMEOUT``."""
    from lab.errors import LabError

    text = os.environ.get(ENV_WAREHOUSE_TIMEOUT)
    if text is None:
        return DEFAULT_WAREHOUSE_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 86400:
        raise LabError(ENV_WAREHOUSE_TIMEOUT, f"{text[:40]!r} is not a number of seconds from 1 to 86400",
                       "unset it for the default of 600 s")
    return value
