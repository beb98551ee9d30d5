"""The settings table: every default, every environment variable, its parser and what it accepts.

Every variable is read through ``SETTINGS``: one parser per variable, and a ``LabError`` that names the
variable and what it accepts, never a bare ``int()`` failing deep inside a render. ``check_command`` checks
the settings a command needs before it does any work; an empty variable counts as unset.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError, excerpt

# -- defaults ------------------------------------------------------------------------------
DEFAULT_HOME = ".highlight-lab"
DEFAULT_VARIANTS = "variants"
DEFAULT_EXPERIMENTS = "experiments"
DEFAULT_CACHE_BYTES = 4 * 1024**3
DEFAULT_HOST = "127.0.0.1"  # this machine only, unless told otherwise
DEFAULT_PORT = 7860
# MLflow's REST client retries for minutes by default; a lab command should fail within seconds.
DEFAULT_MLFLOW_TIMEOUT_S = 10  # one call, its retries included (each attempt waits a share)
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
ENV_ENCODER = "HIGHLIGHT_LAB_ENCODER"  # auto (NVENC where it opens, else x264), libx264 or h264_nvenc
ENCODERS = ("auto", "libx264", "h264_nvenc")
WAN_VAE_DTYPES = ("fp32", "bf16")
# Local kernels only: diffusers' *_hub backends would download code, which the lab never does.
WAN_ATTENTION_BACKENDS = ("auto", "native", "_native_flash", "_native_efficient", "_native_cudnn", "_native_math",
                          "flash", "_flash_3", "sage", "flex")
WAN_COMPILE_BACKENDS = ("inductor", "aot_eager", "eager")  # the last two trace without generating code (tests)


# -- reading and checking settings ----------------------------------------------------------

ON_WORDS = ("1", "true", "yes", "on")
OFF_WORDS = ("0", "false", "no", "off")
_WHOLE_RE = re.compile(r"[0-9]{1,18}")  # ASCII digits only: int() would also read '５', '1_0' and ' 1 '
_NUMBER_RE = re.compile(r"[0-9]{1,12}(\.[0-9]{0,12})?|\.[0-9]{1,12}")
_URL_RE = re.compile(r"[a-z][a-z0-9+.-]{0,31}://\S+")
_RATE_RE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?(/[smh])?")  # Celery's rate-limit syntax
_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class Setting:
    """One environment variable: its default, what it is and accepts (in words, for the error), and its parser.

    ``parse`` gets the stripped, non-empty text and raises ``ValueError`` when it does not accept it (``str``
    and ``Path`` take anything).
    ``groups`` are the kinds of work that need it (``COMMAND_SETTINGS`` maps commands to groups).
    """

    env: str
    default: Any
    noun: str  # what the value is, for "'abc' is not a size in bytes"
    accepts: str
    parse: Callable[[str], Any]
    groups: tuple[str, ...]
    secret: bool = False  # a URL may hold a password: the error does not quote it


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not _WHOLE_RE.fullmatch(text) or not low <= int(text) <= high:
            raise ValueError(text)
        return int(text)
    return parse


def _seconds(high: float) -> Callable[[str], float]:
    """A positive, finite number of seconds up to ``high``."""
    def parse(text: str) -> float:
        if not _NUMBER_RE.fullmatch(text) or not (0 < float(text) <= high and math.isfinite(float(text))):
            raise ValueError(text)
        return float(text)
    return parse


def _switch(text: str) -> bool:
    word = text.lower()
    if word not in ON_WORDS + OFF_WORDS:
        raise ValueError(text)
    return word in ON_WORDS


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in options:
            raise ValueError(text)
        return text.lower()
    return parse


def _compile(text: str) -> str | None:
    """Off, on (``inductor``) or a torch.compile backend by name."""
    word = text.lower()
    if word in OFF_WORDS:
        return None
    if word in ON_WORDS:
        return "inductor"
    return _choice(WAN_COMPILE_BACKENDS)(word)


def _matching(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not pattern.fullmatch(text):
            raise ValueError(text)
        return text
    return parse


def _http_url(text: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in text)
    except ValueError:  # e.g. a bad IPv6 literal or port
        ok = False
    if not ok:
        raise ValueError(text)
    return text


_SWITCH = ("a switch", "1, true, yes or on (or 0, false, no, off)")
_FOLDER = ("a folder path", "any path")
SETTINGS: dict[str, Setting] = {s.env: s for s in (
    Setting(ENV_HOME, DEFAULT_HOME, *_FOLDER, str, ("paths",)),
    Setting(ENV_VARIANTS, DEFAULT_VARIANTS, *_FOLDER, str, ("paths",)),
    Setting(ENV_EXPERIMENTS, DEFAULT_EXPERIMENTS, *_FOLDER, str, ("paths",)),
    Setting(ENV_CACHE_BYTES, DEFAULT_CACHE_BYTES, "a size in bytes",
            "a whole number from 0 to 2^50 (e.g. 4294967296)", _whole(0, 2**50), ("render",)),
    Setting(ENV_WAN_MODEL, None, *_FOLDER, Path, ("render",)),
    Setting(ENV_WAN_CPU_OFFLOAD, False, *_SWITCH, _switch, ("render",)),
    Setting(ENV_WAN_VAE_TILING, False, *_SWITCH, _switch, ("render",)),
    Setting(ENV_WAN_VAE_SLICING, False, *_SWITCH, _switch, ("render",)),
    Setting(ENV_WAN_VAE_DTYPE, "fp32", "a VAE dtype", " or ".join(WAN_VAE_DTYPES), _choice(WAN_VAE_DTYPES),
            ("render",)),
    Setting(ENV_WAN_COMPILE, None, "a compile backend", f"off (0, false, no, off), on (1, true, yes, on: "
            f"inductor) or one of {', '.join(WAN_COMPILE_BACKENDS)}", _compile, ("render",)),
    Setting(ENV_WAN_ATTENTION, "auto", "an attention backend the lab uses",
            f"one of {', '.join(WAN_ATTENTION_BACKENDS)} (no kernel is fetched from a hub)",
            _choice(WAN_ATTENTION_BACKENDS), ("render",)),
    Setting(ENV_WAN_CFG_BATCH, False, *_SWITCH, _switch, ("render",)),
    Setting(ENV_WAN_DISTILLED, None, *_FOLDER, Path, ("render",)),
    # The list's own rules (decreasing, 1-1000) are checked by lab.render.wan.sampling.parse_timesteps.
    Setting(ENV_WAN_DISTILLED_TIMESTEPS, "1000,757,522", "a list of timesteps", "e.g. 1000,757,522", str,
            ("render",)),
    Setting(ENV_WAN_LORAS, None, *_FOLDER, Path, ("render",)),
    Setting(ENV_WAN_CALIBRATION, None, "a file path", "any path", Path, ("render",)),
    Setting(ENV_ENCODER, "auto", "an encoder name", "auto, libx264 or h264_nvenc", _choice(ENCODERS), ("render",)),
    Setting(ENV_TRACKING_URI, None, "an MLflow tracking URI", "any URI", str, ("mlflow",)),
    Setting(ENV_REGISTRY_URI, None, "an MLflow registry URI", "any URI", str, ("mlflow",)),
    Setting(ENV_MLFLOW_TIMEOUT, DEFAULT_MLFLOW_TIMEOUT_S, "a timeout in seconds", "a whole number from 1 to 3600",
            _whole(1, 3600), ("mlflow",)),
    Setting(ENV_MLFLOW_RETRIES, DEFAULT_MLFLOW_RETRIES, "a retry count", "a whole number from 0 to 10",
            _whole(0, 10), ("mlflow",)),
    Setting(ENV_BROKER, None, "a broker URL", "a URL such as redis://127.0.0.1:6379/0", _matching(_URL_RE),
            ("worker",), secret=True),
    Setting(ENV_OUTPUT_URL, None, "a folder or an fsspec URL", "any path or URL", str, ("worker",)),
    Setting(ENV_WEBHOOK_URL, None, "an http(s) URL", "an http or https URL with a host, e.g. "
            "https://app.example/hook", _http_url, ("worker",), secret=True),
    Setting(ENV_PUSH_TIMEOUT, DEFAULT_PUSH_TIMEOUT_S, "a timeout in seconds", "a number above 0, at most 600",
            _seconds(600), ("worker",)),
    Setting(ENV_PUSH_RETRIES, DEFAULT_PUSH_RETRIES, "a retry count", "a whole number from 0 to 20", _whole(0, 20),
            ("worker",)),
    Setting(ENV_RENDER_RETRIES, DEFAULT_RENDER_RETRIES, "a retry count", "a whole number from 0 to 20",
            _whole(0, 20), ("worker",)),
    Setting(ENV_VISIBILITY_TIMEOUT, DEFAULT_VISIBILITY_TIMEOUT_S, "a timeout in seconds",
            "a whole number from 1 to 604800 (a week)", _whole(1, 7 * 24 * 3600), ("worker",)),
    Setting(ENV_GPU_RATE_LIMIT, DEFAULT_GPU_RATE_LIMIT, "a Celery rate", "a rate such as 30/m, 2/s or 100/h",
            _matching(_RATE_RE), ("worker",)),
    # The level's upper end depends on each variant's degrade ladder; the renderer checks it per variant.
    Setting(ENV_WORKER_LEVEL, None, "a degrade level", "a whole number from 0 to 99", _whole(0, 99), ("worker",)),
    # The backend names live in lab.render.backends (a higher layer); make_backend checks the name itself.
    Setting(ENV_WORKER_BACKEND, "auto", "a backend name", "a name such as auto, motion or wan",
            _matching(_NAME_RE), ("worker",)),
    Setting(ENV_WEEKLY_EVENTS, None, "an events file path", "any path", str, ("worker",)),
    Setting(ENV_PORT, DEFAULT_PORT, "a port number", "a whole number from 1 to 65535", _whole(1, 65535),
            ("studio",)),
    Setting(ENV_WAREHOUSE_TIMEOUT, DEFAULT_WAREHOUSE_TIMEOUT_S, "a timeout in seconds",
            "a number above 0, at most 86400", _seconds(86400), ("warehouse",)),
)}

# What each command reads, by its words (``highlight-lab experiments track`` -> "experiments track").
COMMAND_SETTINGS: dict[str, tuple[str, ...]] = {
    "render": ("paths", "render"),
    "experiments track": ("paths", "mlflow", "render"),
    "analyze": ("paths", "warehouse"),
    "experiments analyze": ("paths", "mlflow", "warehouse"),
    "experiments demo": ("paths", "mlflow"),
    "outcomes ingest": ("paths", "mlflow"),
    "export": ("paths", "mlflow"),
    "rollback": ("paths", "mlflow"),
    "worker": ("paths", "worker", "render"),
    "studio": ("paths", "studio", "mlflow", "render", "warehouse"),
}


def value(env: str) -> Any:
    """The checked value of one setting: its default when unset or empty, else what its parser makes of it.

    Raises ``LabError`` naming the variable, what it holds (an excerpt) and what it accepts.
    """
    setting = SETTINGS[env]
    raw = os.environ.get(env, "").strip()
    if not raw:
        return setting.default
    try:
        return setting.parse(raw)
    except (ValueError, OverflowError):
        shown = "its value" if setting.secret else excerpt(raw)
        default = "no default" if setting.default is None else f"default {setting.default}"
        raise LabError(env, f"{shown} is not {setting.noun}; it takes {setting.accepts}",
                       f"set it to such a value, or unset it ({default})") from None


def check(*groups: str) -> None:
    """Check every setting of ``groups`` (e.g. ``"render"``, ``"worker"``), so bad ones stop a command early."""
    for setting in SETTINGS.values():
        if set(setting.groups) & set(groups):
            value(setting.env)


def check_command(words: str) -> None:
    """Check the settings a CLI command reads (``COMMAND_SETTINGS``) before it does any work."""
    check(*COMMAND_SETTINGS.get(words, ("paths",)))
