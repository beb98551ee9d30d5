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
from pathlib import Path
from typing import Any

from lab.errors import EventError, LabError, OutOfMemory, excerpt
from lab.experiments.privacy import hash_id
from lab.library.events import RankEvent, _kind, parse_event
from lab.library.variant import MAX_LEVEL
from lab.production.choose import Choice, VariantChooser
from lab.production.ledger import event_hash, now_iso
from lab.production.push import push
from lab.production.redis_ledger import make_ledger
from lab.production.settings import WorkerSettings
from lab.production.store import OutputStore
from lab.render.pipeline import render

log = logging.getLogger("lab.production")
# What to fix when a stage's machinery fails (the run says it, and the event is tried again later).
FIXES = {"store": "check the output store (HIGHLIGHT_LAB_OUTPUT_URL / --out) is reachable and writable",
         "model": "check the backend can load here (highlight-lab render --backend NAME says why not)",
         "render": "check the machine (disk space, memory) and the variant files",
         "ledger": "check the ledger folder (HIGHLIGHT_LAB_HOME) and the Redis broker are reachable"}

# What happened to one delivery of an event.
RENDERED, DUPLICATE, BUSY, INVALID, FAILED, PUSH_FAILED, FAULT = (
    "rendered", "duplicate", "busy", "invalid", "failed", "push_failed", "fault")
MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class TaskResult:
    status: str
    key: str
    seconds: float
    level: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RetryLater(Exception):
    """Run the event again after ``countdown_s`` at ``level``: out of GPU memory with retries left (one level
    down), or an infrastructure fault (``fault``: the store, the push hook, the model load, the ledger), which is
    retried with back-off and never dead-lettered."""

    def __init__(self, level: int | None, attempt: int, countdown_s: float, reason: str,
                 fault: str | None = None) -> None:
        super().__init__(reason)
        self.level, self.attempt, self.countdown_s, self.fault = level, attempt, countdown_s, fault


class EventTask:
    """Per-process state (ledger, store, variant chooser, the render backend's model) built once."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.ledger = make_ledger(settings.state_dir, settings.broker, settings.claim_ttl_s)
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

    def handle(self, line: Any, source: Any, level: int | None = None, attempt: int = 0) -> TaskResult:
        """Process one event line. Raises ``RetryLater`` for out-of-memory with retries left and for faults."""
        t0 = time.perf_counter()
        source = source if isinstance(source, str) and len(source) <= 200 else "task"
        try:
            event = parse_production_event(line, source)
        except EventError as exc:  # bad input: dead-lettered with its reason, never retried
            key = _invalid_key(line)
            entry = {"stage": "validate", "source": source, "reason": str(exc)}
            if not self._infra("ledger", attempt, lambda: self.ledger.dead_letter(key, entry)):
                return TaskResult(DUPLICATE, key, time.perf_counter() - t0, reason="already dead-lettered")
            return TaskResult(INVALID, key, time.perf_counter() - t0, reason=str(exc))
        key = event_hash(event.event_id)
        return self._infra("ledger", attempt, lambda: self._claimed(event, key, source, level, attempt, t0))

    def _claimed(self, event: RankEvent, key: str, source: str, level: int | None, attempt: int,
                 t0: float) -> TaskResult:
        if self.ledger.is_dead(key):
            return TaskResult(DUPLICATE, key, time.perf_counter() - t0, reason="already dead-lettered")
        done = self.ledger.done(key)
        if done is not None and (not self.settings.webhook_url or self.ledger.pushed(key)):
            return TaskResult(DUPLICATE, key, time.perf_counter() - t0, done.get("level"))
        with self.ledger.claim(key) as held:
            if not held:
                return TaskResult(BUSY, key, time.perf_counter() - t0, reason="another worker holds it now")
            done = self.ledger.done(key) or self.ledger.recover(key)
            status = DUPLICATE
            if done is None:
                try:
                    choice = self.chooser.choose(event)
                except LabError as exc:  # nothing to show yet: recorded, and rendered once a variant ships
                    reason = f"no variant: {exc}"
                    self.ledger.dead_letter(f"unserved-{key}", {"stage": "choose", "source": source, "reason": reason})
                    return TaskResult(FAILED, key, time.perf_counter() - t0, reason=reason)
                try:
                    done = self._render(event, choice, key, level if level is not None else self.settings.level,
                                        attempt)
                except OutOfMemory as exc:
                    return self._out_of_memory(exc, key, source, level, attempt, t0)
                status = RENDERED
            if self.settings.webhook_url and not self.ledger.pushed(key):
                self._push(event, key, done, attempt)
        return TaskResult(status, key, time.perf_counter() - t0, done.get("level"))

    def _push(self, event: RankEvent, key: str, done: dict[str, Any], attempt: int) -> None:
        result = push(self.settings.webhook_url, {"event_id": event.event_id, "video_url": done["video"],
                                                  "poster_url": done["poster"], "arm": done["arm"]},
                      self.settings.push_timeout_s, self.settings.push_retries)
        if not result.ok:  # the video is stored and recorded: only the push is tried again
            raise self._fault("push", f"push failed after {result.attempts} attempts: {result.error}", attempt,
                              "check the app's webhook (HIGHLIGHT_LAB_WEBHOOK_URL)")
        self.ledger.mark_pushed(key)

    def _infra(self, stage: str, attempt: int, step: Any) -> Any:
        """Run ``step``; an unexpected failure of the machinery (not of the input) becomes a retried fault."""
        try:
            return step()
        except (RetryLater, EventError, OutOfMemory):
            raise
        except Exception as exc:  # noqa: BLE001 (every other failure is the machinery's, never the event's)
            raise self._fault(stage, f"{type(exc).__name__}: {excerpt(str(exc), 200, quote=False)}", attempt,
                              FIXES.get(stage, "fix it and run again")) from exc

    def _fault(self, stage: str, what: str, attempt: int, fix: str) -> RetryLater:
        countdown = min(MAX_BACKOFF_S, self.settings.retry_backoff_s * 2 ** attempt)
        return RetryLater(None, attempt + 1, countdown, f"{stage}: {what}; {fix}", fault=stage)

    def _render(self, event: RankEvent, choice: Choice, key: str, level: int | None,
                attempt: int = 0) -> dict[str, Any]:
        if level is not None:
            level = min(level, len(choice.variant.degrade))
        tmp = self.ledger.root / "tmp" / key
        shutil.rmtree(tmp, ignore_errors=True)  # what a killed worker left
        tmp.mkdir(parents=True)
        try:
            backend = self._infra("model", attempt, self.backend)
            result = self._infra("render", attempt, lambda: self._draw(choice, event, tmp, backend, level))
            video, poster = self._infra("store", attempt, lambda: self._put(tmp, key))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        impression = {"key": key, "event_id": event.event_id, "user_id": hash_id(event.user_id),
                      # only randomised traffic belongs to an experiment; the shipped bundle names where it came from
                      "experiment": choice.experiment if choice.source == "experiment" else None,
                      "shipped_from": choice.experiment if choice.source == "bundle" else None,
                      "arm": choice.arm, "variant_version": choice.variant.version,
                      "source": choice.source, "scenario": event.scenario, "level": result.level,
                      "render_s": round(result.seconds, 4), "time": now_iso(),
                      "video": video, "poster": poster}
        self.ledger.record(key, impression)
        log.info("event %s: %s level %d -> %s", key, choice.arm, result.level, video)
        return impression

    def _draw(self, choice: Choice, event: RankEvent, tmp: Path, backend: Any, level: int | None) -> Any:
        # the poster is the end card's frame, kept in memory while encoding (no MP4 read back)
        return render(choice.variant, event, tmp / "video.mp4", backend=backend, level=level,
                      logo_root=self.settings.variants_dir, extras=False, poster=True)

    def _put(self, tmp: Path, key: str) -> tuple[str, str]:
        return (self.store.put(tmp / "video.mp4", f"{key}.mp4"),
                self.store.put(tmp / "video.poster.png", f"{key}.poster.png"))

    def _out_of_memory(self, exc: OutOfMemory, key: str, source: str, level: int | None, attempt: int,
                       t0: float) -> TaskResult:
        if attempt < self.settings.render_retries:
            failed_at = level if level is not None else self.settings.level
            # The default ladder's last rung; a render clamps to its own ladder.
            next_level = min((failed_at if failed_at is not None else 0) + 1, MAX_LEVEL)
            raise RetryLater(next_level, attempt + 1, self.settings.retry_backoff_s * 2 ** attempt, str(exc))
        reason = f"out of memory after {attempt + 1} attempts: {exc}"
        self.ledger.dead_letter(key, {"stage": "render", "source": source, "reason": reason})
        return TaskResult(FAILED, key, time.perf_counter() - t0, reason=reason)


def parse_production_event(line: Any, source: str) -> RankEvent:
    """A rank event that production can keep exactly once and assign: ``event_id`` and ``user_id`` required."""
    if not isinstance(line, str):  # a task sent with a null, a number or an object where the line goes
        raise EventError(source, f"a task's event must be one line of JSON text, got {_kind(line)}",
                         "send the event line as a string (highlight-lab worker --events FILE --broker URL)")
    event = parse_event(line, where=source)
    for name in ("event_id", "user_id"):
        if not getattr(event, name):
            raise EventError(f"{source}.{name}", "is required in production",
                             "the worker keys idempotency on event_id and assignment on user_id")
    return event


def _invalid_key(line: Any) -> str:
    """A dead letter's key: the event id's hash when one can be read, else the line's hash."""
    data = line
    if isinstance(line, (str, bytes)):
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, or a number past Python's int-string limit
            data = None
    if isinstance(data, dict) and isinstance(data.get("event_id"), str) and data["event_id"]:
        return "invalid-" + event_hash(data["event_id"])
    try:
        text = line if isinstance(line, str) else json.dumps(line, sort_keys=True, default=repr)
    except (ValueError, TypeError, RecursionError):
        text = repr(type(line))
    return "invalid-line-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:24]
