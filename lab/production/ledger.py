"""The worker's ledger: who holds an event now, which events are done, impressions and dead letters.

Exactly once per event id, across processes and across crashes. One event goes through these stages:

1. **claimed**: on one machine an exclusive ``flock`` on ``claims/<hash>.lock`` (the kernel drops it when its
   holder dies); with a Redis broker a ``SET NX`` key with an expiry that its holder renews while it works
   (``RedisLedger``), so workers with separate local folders share it;
2. rendered and stored (the output store; names are the event hash);
3. **pending**: the impression record, written before the log line (``claims/<hash>.pending.json``, or a
   Redis key), naming the ledger that writes it;
4. **impression written**: appended to ``impressions.jsonl`` and fsynced;
5. **done marked**: ``done/<hash>.json`` (or the Redis key) holds the impression, only after the line is durable.

The log line is the one fsync per event; the markers are renamed into place without one (``repair`` rebuilds a
marker a power loss took from the log).

A crash between 3 and 5 is finished by the next claimant (``recover``): it looks for the line in its own log
when the pending record is its own, appends it otherwise, then marks the event done. Nothing is rendered twice.
``repair`` (run at every worker start) marks done what the log holds but the markers miss.

A dead letter is written once per key (``dead/<key>.json``, ``O_CREAT | O_EXCL``; a Redis ``SET NX`` in
``RedisLedger``) and appended to ``dead-letter.jsonl`` with its reason. Only bad input is dead-lettered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lab.storage import file_lock


def event_hash(event_id: str) -> str:
    """The name an event's files and markers go by (24 hex digits of SHA-256): never a user's name."""
    return hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:24]


class ClaimLost(Exception):
    """The claim on an event was no longer this holder's when it came to record it (a Redis lease that expired:
    ``RedisLedger``). Nothing was recorded; the event is tried again, and whoever holds it records it once."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the claim on event {key} expired before its impression was recorded; nothing was "
                         "recorded and the event is tried again")
        self.key = key


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Ledger:
    """Claims and markers in local files: one machine (or a shared file system with working ``flock``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for sub in ("claims", "done", "dead", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.ledger_id = self._ledger_id()

    def _ledger_id(self) -> str:
        path = self.root / "ledger-id"
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                with os.fdopen(fd, "w") as handle:
                    handle.write(uuid.uuid4().hex)
        return path.read_text().strip() or str(self.root.resolve())

    @property
    def impressions_path(self) -> Path:
        return self.root / "impressions.jsonl"

    @property
    def dead_letter_path(self) -> Path:
        return self.root / "dead-letter.jsonl"

    # -- claims ------------------------------------------------------------------------------------------
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

    # -- markers (the parts RedisLedger keeps in Redis) ----------------------------------------------------
    def done(self, key: str) -> dict[str, Any] | None:
        return _read_json(self.root / "done" / f"{key}.json")

    def _mark_done(self, key: str, impression: dict[str, Any]) -> None:
        _replace_text(self.root / "done" / f"{key}.json", json.dumps(impression, ensure_ascii=False))

    def _pending(self, key: str) -> dict[str, Any] | None:
        return _read_json(self.root / "claims" / f"{key}.pending.json")

    def _set_pending(self, key: str, record: dict[str, Any]) -> None:
        _replace_text(self.root / "claims" / f"{key}.pending.json", json.dumps(record, ensure_ascii=False))

    def _clear_pending(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / "claims" / f"{key}.pending.json").unlink()

    def _new_dead(self, key: str, entry: dict[str, Any]) -> bool:
        try:
            fd = os.open(self.root / "dead" / f"{key}.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False))
        return True

    def is_dead(self, key: str) -> bool:
        return (self.root / "dead" / f"{key}.json").exists()

    def pushed(self, key: str) -> bool:
        return (self.root / "done" / f"{key}.pushed").exists()

    def mark_pushed(self, key: str) -> None:
        (self.root / "done" / f"{key}.pushed").touch()

    def _undone(self, keys: list[str]) -> list[str]:
        return [k for k in keys if not (self.root / "done" / f"{k}.json").exists()]

    # -- the stages ------------------------------------------------------------------------------------------
    def record(self, key: str, impression: dict[str, Any]) -> None:
        """Pending, impression line (durable), then the done marker; call only while holding the claim."""
        self._set_pending(key, {"ledger": self.ledger_id, "impression": impression})
        self.write_impression(impression)
        self.mark_done(key, impression)

    def write_impression(self, impression: dict[str, Any]) -> None:
        self._append(self.impressions_path, impression)

    def mark_done(self, key: str, impression: dict[str, Any]) -> None:
        self._mark_done(key, impression)
        self._clear_pending(key)

    def recover(self, key: str) -> dict[str, Any] | None:
        """Finish what a crash left between the pending record and the done marker (hold the claim); the
        impression, or None when the event was never recorded (it is rendered again)."""
        pending = self._pending(key)
        if pending is None:
            return None
        impression = pending["impression"]
        logged = pending.get("ledger") == self.ledger_id and any(
            json.loads(line).get("key") == key for line in _lines(self.impressions_path))
        if not logged:  # the line was not written, or written on another machine's log (counted once by the join)
            self.write_impression(impression)
        self.mark_done(key, impression)
        return impression

    def dead_letter(self, key: str, entry: dict[str, Any]) -> bool:
        """Record a dead letter once per key; False when it was already recorded."""
        entry = {"key": key, "time": now_iso(), **entry}
        if not self._new_dead(key, entry):
            return False
        self._append(self.dead_letter_path, entry)
        return True

    def repair(self) -> int:
        """Run at every worker start: mark done what the log holds but the markers miss, and log what the
        markers hold but the log misses (a ledger written before the order above); returns how many."""
        fixed = 0
        with file_lock(self.root / ".impressions.lock"):
            logged: dict[str, dict[str, Any]] = {}
            for line in _lines(self.impressions_path):
                with contextlib.suppress(ValueError, AttributeError, KeyError):
                    record = json.loads(line)
                    logged[record["key"]] = record
            for key in self._undone(sorted(logged)):
                self.mark_done(key, logged[key])
                fixed += 1
            missing = [p for p in sorted((self.root / "done").glob("*.json")) if p.stem not in logged]
            with open(self.impressions_path, "a", encoding="utf-8") as handle:
                for p in missing:
                    handle.write(p.read_text(encoding="utf-8").strip() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        return fixed + len(missing)

    def _append(self, path: Path, entry: dict[str, Any]) -> None:
        with file_lock(self.root / f".{path.stem}.lock"), open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _read_json(path: Path) -> dict[str, Any] | None:
    """A marker's record, or None when there is none."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _replace_text(path: Path, text: str) -> None:
    """Readers see the whole file or none (a rename), without an fsync: the markers are rebuilt from the fsynced
    impression log by ``repair`` after a power loss, so one fsync per event (the log line) is enough."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _lines(path: Path) -> Iterator[str]:
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield line


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(Path(path))]

