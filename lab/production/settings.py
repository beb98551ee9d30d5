"""What one worker runs with, read once from ``lab.config`` (explicit values first, then the environment)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lab import config


@dataclass(frozen=True)
class WorkerSettings:
    """Everything the task needs besides the event: the same object in process and on a Celery worker."""

    output_url: str
    state_dir: Path
    variants_dir: Path
    experiments_dir: Path
    backend: str = "auto"
    level: int | None = None
    webhook_url: str | None = None
    push_timeout_s: float = config.DEFAULT_PUSH_TIMEOUT_S
    push_retries: int = config.DEFAULT_PUSH_RETRIES
    render_retries: int = config.DEFAULT_RENDER_RETRIES
    retry_backoff_s: float = 1.0

    @classmethod
    def from_env(cls, **overrides: object) -> WorkerSettings:
        """Settings from the environment; keyword arguments that are not None win."""
        base = cls(output_url=config.output_url(), state_dir=config.production_dir(),
                   variants_dir=config.variants_dir().resolve(), experiments_dir=config.experiments_dir().resolve(),
                   backend=config.worker_backend(), level=config.worker_level(), webhook_url=config.webhook_url(),
                   push_timeout_s=config.push_timeout_s(), push_retries=config.push_retries(),
                   render_retries=config.render_retries())
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})
