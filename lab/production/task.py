"""The one task both modes run: a rank event line in, at most one video, one impression and one push out.

``EventTask.handle`` is called by the in-process pool (``embedded.run_batch``) and by the Celery task
(``celery_app.render_event``); only retry timing differs (a sleep there, ``Task.retry`` here).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Any

from lab.errors import EventError, LabError, OutOfMemory
from lab.experiments.privacy import hash_id
from lab.library.events import RankEvent, parse_event
from lab.library.variant import MAX_LEVEL
from lab.production.choose import Choice, VariantChooser
from lab.production.ledger import Ledger, event_hash, now_iso
from lab.production.poster import poster_from_mp4
from lab.production.push import push
from lab.production.settings import WorkerSettings
from lab.production.store import OutputStore
from lab.render.pipeline import render

log = logging.getLogger("lab.production")

# What happened to one delivery of an event.
RENDERED, DUPLICATE, BUSY, INVALID, FAILED, PUSH_FAILED = (
    "rendered", "duplicate", "busy", "invalid", "failed", "push_failed")


@dataclass(frozen=True)
class Outcome:
    status: str
    key: str
    seconds: float
    level: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RetryLater(Exception):
    """Out of GPU memory with retries left: run again after ``countdown_s`` at ``level`` (one step down)."""

    def __init__(self, level: int, attempt: int, countdown_s: float, reason: str) -> None:
        super().__init__(reason)
        self.level, self.attempt, self.countdown_s = level, attempt, countdown_s


class EventTask:
    """Per-process state (ledger, store, variant chooser, the render backend's model) built once."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.ledger = Ledger(settings.state_dir)
        self.store = OutputStore(settings.output_url)
        self.chooser = VariantChooser(settings.variants_dir, settings.experiments_dir)
        self._backend: Any = None

    def backend(self) -> Any:
        """The backend is made once per process, so a model pipeline is loaded once, not per video."""
        if self._backend is None:
            from lab.render.backends import make_backend

            self._backend, notice = make_backend(self.settings.backend)
            if notice:
                log.warning("%s", notice)
        return self._backend

    def handle(self, line: str, source: str, level: int | None = None, attempt: int = 0) -> Outcome:
        """Process one event line. Raises ``RetryLater`` only for out-of-memory with retries left."""
        t0 = time.perf_counter()
        try:
            event = parse_production_event(line, source)
        except EventError as exc:
            key = _invalid_key(line)
            if not self.ledger.dead_letter(key, {"stage": "validate", "source": source, "reason": str(exc)}):
                return Outcome(DUPLICATE, key, time.perf_counter() - t0, reason="already dead-lettered")
            return Outcome(INVALID, key, time.perf_counter() - t0, reason=str(exc))
        key = event_hash(event.event_id)
        if self.ledger.is_dead(key):
            return Outcome(DUPLICATE, key, time.perf_counter() - t0, reason="already dead-lettered")
        done = self.ledger.done(key)
        if done is not None and (done.get("pushed") or not self.settings.webhook_url or self._push_dead(key)):
            return Outcome(DUPLICATE, key, time.perf_counter() - t0, done.get("level"))
        with self.ledger.claim(key) as held:
            if not held:
                return Outcome(BUSY, key, time.perf_counter() - t0, reason="another worker holds it now")
            done = self.ledger.done(key)
            if done is None:
                try:
                    choice = self.chooser.choose(event)
                except LabError as exc:  # nothing to show yet: recorded, and rendered once a variant ships
                    reason = f"no variant: {exc}"
                    self.ledger.dead_letter(f"unserved-{key}", {"stage": "choose", "source": source, "reason": reason})
                    return Outcome(FAILED, key, time.perf_counter() - t0, reason=reason)
                try:
                    done = self._render(event, choice, key, level if level is not None else self.settings.level)
                except OutOfMemory as exc:
                    return self._out_of_memory(exc, key, source, level, attempt, t0)
                except (LabError, OSError) as exc:
                    reason = f"render failed: {exc}"
                    self.ledger.dead_letter(key, {"stage": "render", "source": source, "reason": reason})
                    return Outcome(FAILED, key, time.perf_counter() - t0, reason=reason)
                status = RENDERED
            else:
                status = DUPLICATE
            if self.settings.webhook_url and not self._push_dead(key) and not self._pushed(key):
                result = push(self.settings.webhook_url, {"event_id": event.event_id, "video_url": done["video"],
                                                          "poster_url": done["poster"], "arm": done["arm"]},
                              self.settings.push_timeout_s, self.settings.push_retries)
                if result.ok:
                    (self.ledger.root / "done" / f"{key}.pushed").touch()
                else:
                    reason = f"push failed after {result.attempts} attempts: {result.error}"
                    self.ledger.dead_letter(f"push-{key}", {"stage": "push", "source": source, "reason": reason,
                                                            "event_key": key})
                    return Outcome(PUSH_FAILED, key, time.perf_counter() - t0, done.get("level"), reason)
        return Outcome(status, key, time.perf_counter() - t0, done.get("level"))

    def _pushed(self, key: str) -> bool:
        return (self.ledger.root / "done" / f"{key}.pushed").exists()

    def _push_dead(self, key: str) -> bool:
        return self.ledger.is_dead(f"push-{key}")

    def _render(self, event: RankEvent, choice: Choice, key: str, level: int | None) -> dict[str, Any]:
        if level is not None:
            level = min(level, len(choice.variant.degrade))
        tmp = self.ledger.root / "tmp" / key
        shutil.rmtree(tmp, ignore_errors=True)  # what a killed worker left
        tmp.mkdir(parents=True)
        try:
            result = render(choice.variant, event, tmp / "video.mp4", backend=self.backend(), level=level,
                            logo_root=self.settings.variants_dir, extras=False)
            poster_from_mp4(tmp / "video.mp4", tmp / "poster.png")
            video = self.store.put(tmp / "video.mp4", f"{key}.mp4")
            poster = self.store.put(tmp / "poster.png", f"{key}.poster.png")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        impression = {"key": key, "event_id": event.event_id, "user_id": hash_id(event.user_id),
                      # only randomised traffic belongs to an experiment; the shipped bundle names where it came from
                      "experiment": choice.experiment if choice.source == "experiment" else None,
                      "shipped_from": choice.experiment if choice.source == "bundle" else None,
                      "arm": choice.arm, "variant_version": choice.variant.version,
                      "source": choice.source, "scenario": event.event, "level": result.level,
                      "render_s": round(result.seconds, 4), "time": now_iso(),
                      "video": video, "poster": poster}
        self.ledger.record(key, impression)
        log.info("event %s: %s level %d -> %s", key, choice.arm, result.level, video)
        return impression

    def _out_of_memory(self, exc: OutOfMemory, key: str, source: str, level: int | None, attempt: int,
                       t0: float) -> Outcome:
        if attempt < self.settings.render_retries:
            failed_at = level if level is not None else self.settings.level
            # The default ladder's last rung; a render clamps to its own ladder.
            next_level = min((failed_at if failed_at is not None else 0) + 1, MAX_LEVEL)
            raise RetryLater(next_level, attempt + 1, self.settings.retry_backoff_s * 2 ** attempt, str(exc))
        reason = f"out of memory after {attempt + 1} attempts: {exc}"
        self.ledger.dead_letter(key, {"stage": "render", "source": source, "reason": reason})
        return Outcome(FAILED, key, time.perf_counter() - t0, reason=reason)


def parse_production_event(line: str, source: str) -> RankEvent:
    """A rank event that production can keep exactly once and assign: ``event_id`` and ``user_id`` required."""
    event = parse_event(line, where=source)
    for name in ("event_id", "user_id"):
        if not getattr(event, name):
            raise EventError(f"{source}.{name}", "is required in production",
                             "the worker keys idempotency on event_id and assignment on user_id")
    return event


def _invalid_key(line: str) -> str:
    """A dead letter's key: the event id's hash when one can be read, else the line's hash."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("event_id"), str) and data["event_id"]:
        return "invalid-" + event_hash(data["event_id"])
    return "invalid-line-" + hashlib.sha256(line.encode("utf-8")).hexdigest()[:24]
