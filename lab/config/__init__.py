"""Every default and every environment variable the lab reads: the one place to look them up.

Functions, not constants, so a test (or a second studio in the same process) that changes the environment
sees the change. ``LabConfig`` bundles what a front end needs (the studio is built from one).

Every variable is read through ``SETTINGS`` (``lab/config/settings.py``): one parser per variable, and a
``LabError`` that names the variable and what it accepts, never a bare ``int()`` failing deep inside a render.
``check_command`` checks the settings a command needs before it does any work; an empty variable counts as unset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.config.settings import (  # noqa: F401  (re-exported: ``config.X`` is the one way in)
    COMMAND_SETTINGS,
    DEFAULT_CACHE_BYTES,
    DEFAULT_EXPERIMENTS,
    DEFAULT_GPU_RATE_LIMIT,
    DEFAULT_HOME,
    DEFAULT_HOST,
    DEFAULT_MLFLOW_BACKOFF,
    DEFAULT_MLFLOW_PING_S,
    DEFAULT_MLFLOW_RETRIES,
    DEFAULT_MLFLOW_TIMEOUT_S,
    DEFAULT_PORT,
    DEFAULT_PUSH_RETRIES,
    DEFAULT_PUSH_TIMEOUT_S,
    DEFAULT_RENDER_RETRIES,
    DEFAULT_VARIANTS,
    DEFAULT_VISIBILITY_TIMEOUT_S,
    DEFAULT_WAREHOUSE_TIMEOUT_S,
    ENCODERS,
    ENV_BROKER,
    ENV_CACHE_BYTES,
    ENV_ENCODER,
    ENV_EXPERIMENTS,
    ENV_GPU_RATE_LIMIT,
    ENV_HOME,
    ENV_MLFLOW_RETRIES,
    ENV_MLFLOW_TIMEOUT,
    ENV_OUTPUT_URL,
    ENV_PORT,
    ENV_PUSH_RETRIES,
    ENV_PUSH_TIMEOUT,
    ENV_REGISTRY_URI,
    ENV_RENDER_RETRIES,
    ENV_TRACKING_URI,
    ENV_VARIANTS,
    ENV_VISIBILITY_TIMEOUT,
    ENV_WAN_ATTENTION,
    ENV_WAN_CALIBRATION,
    ENV_WAN_CFG_BATCH,
    ENV_WAN_COMPILE,
    ENV_WAN_CPU_OFFLOAD,
    ENV_WAN_DISTILLED,
    ENV_WAN_DISTILLED_TIMESTEPS,
    ENV_WAN_LORAS,
    ENV_WAN_MODEL,
    ENV_WAN_VAE_DTYPE,
    ENV_WAN_VAE_SLICING,
    ENV_WAN_VAE_TILING,
    ENV_WAREHOUSE_TIMEOUT,
    ENV_WEBHOOK_URL,
    ENV_WEEKLY_EVENTS,
    ENV_WORKER_BACKEND,
    ENV_WORKER_LEVEL,
    OFF_WORDS,
    ON_WORDS,
    SETTINGS,
    WAN_ATTENTION_BACKENDS,
    WAN_COMPILE_BACKENDS,
    WAN_VAE_DTYPES,
    Setting,
    check,
    check_command,
    value,
)

# -- the data folder and what lives under it -----------------------------------------------


def data_dir() -> Path:
    """The lab's data: background cache, tiny test model, MLflow store, outcomes, exports."""
    return Path(value(ENV_HOME)).resolve()


def cache_dir() -> Path:
    return data_dir() / "backgrounds"


def cache_bytes() -> int:
    return value(ENV_CACHE_BYTES)


def encoder() -> str:
    """The video encoder setting: ``auto`` (NVENC where it opens, else x264), ``libx264`` or ``h264_nvenc``."""
    return value(ENV_ENCODER)


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
    return value(ENV_WAN_MODEL)


def wan_cpu_offload() -> bool:
    return value(ENV_WAN_CPU_OFFLOAD)


def wan_vae_tiling() -> bool:
    return value(ENV_WAN_VAE_TILING)


def wan_vae_slicing() -> bool:
    return value(ENV_WAN_VAE_SLICING)


def wan_vae_dtype() -> str:
    """``fp32`` (as published) or ``bf16``."""
    return value(ENV_WAN_VAE_DTYPE)


def wan_compile() -> str | None:
    """None (off), or the torch.compile backend for the transformer's repeated blocks (on = ``inductor``)."""
    return value(ENV_WAN_COMPILE)


def wan_cfg_batch() -> bool:
    return value(ENV_WAN_CFG_BATCH)


def wan_distilled_dir() -> Path | None:
    """Local diffusers-format few-step distilled Wan2.2-TI2V-5B (``HIGHLIGHT_LAB_WAN_DISTILLED``); None if unset."""
    return value(ENV_WAN_DISTILLED)


def wan_distilled_timesteps() -> str:
    """The distilled model's few-step list as text (parsed and checked by ``lab.render.wan.sampling``)."""
    return value(ENV_WAN_DISTILLED_TIMESTEPS)


def wan_attention() -> str:
    return value(ENV_WAN_ATTENTION)


def lora_dir() -> Path:
    """Style LoRAs (diffusers format folders) that variants name by a path relative to this folder."""
    folder = value(ENV_WAN_LORAS)
    return folder.resolve() if folder else data_dir() / "loras"


def wan_calibration_path() -> Path:
    """Measured costs for the degrade estimates; absent until benchmarks/wan_gpu.py has run on a GPU."""
    return value(ENV_WAN_CALIBRATION) or Path(__file__).resolve().parent / "render" / "wan_calibration.json"


# -- the team's YAML library -----------------------------------------------------------------


def variants_dir() -> Path:
    return Path(value(ENV_VARIANTS))


def experiments_dir() -> Path:
    return Path(value(ENV_EXPERIMENTS))


# -- MLflow ----------------------------------------------------------------------------------


def tracking_uri() -> str:
    """A team's server when ``MLFLOW_TRACKING_URI`` is set, else the embedded sqlite store."""
    return value(ENV_TRACKING_URI) or f"sqlite:///{data_dir() / 'mlflow.db'}"


def registry_uri() -> str:
    return value(ENV_REGISTRY_URI) or tracking_uri()


def mlflow_timeout_s() -> int:
    return value(ENV_MLFLOW_TIMEOUT)


def mlflow_retries() -> int:
    return value(ENV_MLFLOW_RETRIES)


# -- the production worker -------------------------------------------------------------------


def production_dir() -> Path:
    """The worker's ledger: claims, done markers, impressions.jsonl, dead-letter.jsonl."""
    return data_dir() / "production"


def output_url() -> str:
    """Where videos and posters go: a local folder by default, or any fsspec URL."""
    return value(ENV_OUTPUT_URL) or str(data_dir() / "videos")


def broker_url() -> str | None:
    """The Celery broker (``redis://127.0.0.1:6379/0``); None means the embedded, in-process worker."""
    return value(ENV_BROKER)


def webhook_url() -> str | None:
    """The push hook; None means no push."""
    return value(ENV_WEBHOOK_URL)


def push_timeout_s() -> float:
    return value(ENV_PUSH_TIMEOUT)


def push_retries() -> int:
    return value(ENV_PUSH_RETRIES)


def render_retries() -> int:
    return value(ENV_RENDER_RETRIES)


def visibility_timeout_s() -> int:
    return value(ENV_VISIBILITY_TIMEOUT)


def gpu_rate_limit() -> str:
    """Celery rate limit for a render task on a GPU backend, e.g. ``30/m`` per worker."""
    return value(ENV_GPU_RATE_LIMIT)


def worker_level() -> int | None:
    """A fixed degrade level for production renders; None lets the renderer choose."""
    return value(ENV_WORKER_LEVEL)


def worker_backend() -> str:
    return value(ENV_WORKER_BACKEND)


def weekly_events() -> str | None:
    """The events file the weekly Celery beat batch reads (Sunday 02:00); None: no weekly batch."""
    return value(ENV_WEEKLY_EVENTS)


def mlflow_backoff() -> int:
    return DEFAULT_MLFLOW_BACKOFF


def mlflow_ping_s() -> float:
    """Seconds the reachability check waits: at most the request timeout."""
    return min(DEFAULT_MLFLOW_PING_S, float(mlflow_timeout_s()))


# -- the studio ------------------------------------------------------------------------------


def studio_port() -> int:
    return value(ENV_PORT)


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
    return value(ENV_WAREHOUSE_TIMEOUT)
