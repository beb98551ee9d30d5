"""The worker's ledger: who holds an event now, which events are done, impressions and dead letters.

Exactly once per event id, across processes on one machine and across crashes:

- a claim is an exclusive ``flock`` on ``claims/<hash>.lock``; the kernel drops it when its holder dies,
  so a worker killed mid-render never blocks the event's re-delivery;
- an event is done when ``done/<hash>.json`` (its impression record) exists; it is written atomically while
  the claim is held, then appended to ``impressions.jsonl`` (``repair`` appends any line a crash left out);
- a dead letter is written once per key (``dead/<key>.json``, ``O_CREAT | O_EXCL``) and appended to
  ``dead-letter.jsonl`` with its reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lab.storage import atomic_write_text, file_lock


def event_hash(event_id: str) -> str:
    """The name an event's files and markers go by (24 hex digits of SHA-256): never a user's name."""
    return hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:24]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Ledger:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for sub in ("claims", "done", "dead", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def impressions_path(self) -> Path:
        return self.root / "impressions.jsonl"

    @property
    def dead_letter_path(self) -> Path:
        return self.root / "dead-letter.jsonl"

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[bool]:
        """Try to hold event ``key``; yields False when another live process holds it now."""
        fd = os.open(self.root / "claims" / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def done(self, key: str) -> dict[str, Any] | None:
        path = self.root / "done" / f"{key}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def record(self, key: str, impression: dict[str, Any]) -> None:
        """Mark ``key`` done with its impression (call only while holding its claim), then log the line."""
        atomic_write_text(self.root / "done" / f"{key}.json", json.dumps(impression, ensure_ascii=False))
        self._append(self.impressions_path, impression)

    def dead_letter(self, key: str, entry: dict[str, Any]) -> bool:
        """Record a dead letter once per key; False when it was already recorded."""
        entry = {"key": key, "time": now_iso(), **entry}
        try:
            fd = os.open(self.root / "dead" / f"{key}.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False))
        self._append(self.dead_letter_path, entry)
        return True

    def is_dead(self, key: str) -> bool:
        return (self.root / "dead" / f"{key}.json").exists()

    def repair(self) -> int:
        """Append the impressions a crash left between the done marker and the log line; returns how many."""
        with file_lock(self.root / ".impressions.lock"):
            logged = {json.loads(line)["key"] for line in _lines(self.impressions_path)}
            missing = [p for p in sorted((self.root / "done").glob("*.json")) if p.stem not in logged]
            with open(self.impressions_path, "a", encoding="utf-8") as handle:
                for p in missing:
                    handle.write(p.read_text(encoding="utf-8").strip() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        return len(missing)

    def _append(self, path: Path, entry: dict[str, Any]) -> None:
        with file_lock(self.root / f".{path.stem}.lock"), open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _lines(path: Path) -> Iterator[str]:
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield line


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(Path(path))]
