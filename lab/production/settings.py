"""What one worker runs with, read once from ``lab.config`` (explicit values first, then the environment), and
checked once at start (``check``), before any event is touched: a bad setting is a fault to fix, never a
reason to dead-letter an event."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lab import config
from lab.errors import LabError


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
    broker: str | None = None  # a Redis broker holds the ledger's claims and markers (lab.production.redis_ledger)
    claim_ttl_s: int = config.DEFAULT_VISIBILITY_TIMEOUT_S

    @classmethod
    def from_env(cls, **overrides: object) -> WorkerSettings:
        """Settings from the environment; keyword arguments that are not None win."""
        base = cls(output_url=config.output_url(), state_dir=config.production_dir(),
                   variants_dir=config.variants_dir().resolve(), experiments_dir=config.experiments_dir().resolve(),
                   backend=config.worker_backend(), level=config.worker_level(), webhook_url=config.webhook_url(),
                   push_timeout_s=config.push_timeout_s(), push_retries=config.push_retries(),
                   render_retries=config.render_retries(), broker=config.broker_url(),
                   claim_ttl_s=config.visibility_timeout_s())
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def check(self) -> None:
        """Refuse settings no event could render with, before any event is touched (``LabError`` says what to fix).

        The backend must be one the table knows and can run here (``wan`` without weights is refused), the level
        a whole number from 0, the store one that keeps what it is given, the webhook an http(s) URL.
        """
        from lab.production.push import check_url
        from lab.production.store import OutputStore
        from lab.render.backends import availability, spec

        if self.backend != "auto":
            spec(self.backend)  # an unknown name: "use one of ..."
            reason = availability()[self.backend]
            if reason is not None:
                raise LabError(f"backend {self.backend}", f"cannot run on this machine: {reason}",
                               "fix that, or choose another backend (--backend / HIGHLIGHT_LAB_WORKER_BACKEND)")
        if self.level is not None and (isinstance(self.level, bool) or not isinstance(self.level, int)
                                       or not 0 <= self.level <= 99):
            raise LabError("level", f"{self.level!r} is not a degrade level", "give a whole number from 0 to 99")
        if self.level is not None and self.variants_dir.is_dir():
            self._check_level(self.level)
        from lab.render.encode import choose_encoder

        choose_encoder(config.encoder())  # h264_nvenc asked for where it does not open
        OutputStore(self.output_url)  # refuses a store that cannot persist, or one whose package is missing
        if self.webhook_url:
            check_url(self.webhook_url)
        if not self.variants_dir.is_dir():
            raise LabError(str(self.variants_dir), "no such variants folder", "set HIGHLIGHT_LAB_VARIANTS")

    def _check_level(self, level: int) -> None:
        """A fixed level must exist for some variant of the library: each variant's ladder ends at its own step."""
        from lab.library.versions import VariantLibrary

        deepest = max((len(v.degrade) for v in VariantLibrary(self.variants_dir).load_all()), default=0)
        if level > deepest:
            raise LabError("level", f"{level} is past every variant's last degrade level ({deepest})",
                           f"give a level from 0 to {deepest} (--level / HIGHLIGHT_LAB_WORKER_LEVEL)")
