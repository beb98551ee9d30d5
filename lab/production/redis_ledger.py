"""The ledger's claims and markers in Redis, for workers on several machines that share a Redis broker but no
folder: a claim is ``SET NX`` with an expiry (released only by its holder's token), done, pending and dead
markers are Redis keys. The impression and dead-letter logs stay in each worker's own folder.

A claim expires after the visibility timeout (``HIGHLIGHT_LAB_VISIBILITY_TIMEOUT``), so a machine that dies
mid-render never blocks its event for good; a worker restarted on the same folder frees its own dead
processes' claims at once (``repair``).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lab.production.ledger import Ledger

PREFIX = "highlight_lab:"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisLedger(Ledger):
    def __init__(self, root: Path, url: str, claim_ttl_s: int = 300) -> None:
        import redis

        super().__init__(root)
        self.client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
        self.claim_ttl_s = max(1, int(claim_ttl_s))

    @staticmethod
    def _k(kind: str, key: str) -> str:
        return f"{PREFIX}{kind}:{key}"

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[bool]:
        token = f"{self.ledger_id}:{os.getpid()}:{uuid.uuid4().hex}"
        name = self._k("claim", key)
        if not self.client.set(name, token, nx=True, ex=self.claim_ttl_s):
            yield False
            return
        try:
            yield True
        finally:
            self.client.eval(_RELEASE, 1, name, token)

    def done(self, key: str) -> dict[str, Any] | None:
        raw = self.client.get(self._k("done", key))
        return None if raw is None else json.loads(raw)

    def _mark_done(self, key: str, impression: dict[str, Any]) -> None:
        self.client.set(self._k("done", key), json.dumps(impression, ensure_ascii=False))

    def _pending(self, key: str) -> dict[str, Any] | None:
        raw = self.client.get(self._k("pending", key))
        return None if raw is None else json.loads(raw)

    def _set_pending(self, key: str, record: dict[str, Any]) -> None:
        self.client.set(self._k("pending", key), json.dumps(record, ensure_ascii=False))

    def _clear_pending(self, key: str) -> None:
        self.client.delete(self._k("pending", key))

    def _new_dead(self, key: str, entry: dict[str, Any]) -> bool:
        return bool(self.client.set(self._k("dead", key), json.dumps(entry, ensure_ascii=False), nx=True))

    def is_dead(self, key: str) -> bool:
        return bool(self.client.exists(self._k("dead", key)))

    def pushed(self, key: str) -> bool:
        return bool(self.client.exists(self._k("pushed", key)))

    def mark_pushed(self, key: str) -> None:
        self.client.set(self._k("pushed", key), "1")

    def _undone(self, keys: list[str]) -> list[str]:
        pipe = self.client.pipeline(transaction=False)
        for k in keys:
            pipe.exists(self._k("done", k))
        return [k for k, there in zip(keys, pipe.execute(), strict=True) if not there]

    def repair(self) -> int:
        """The log's events marked done in Redis, and this folder's claims whose process is gone freed."""
        fixed = super().repair()
        for name in self.client.scan_iter(match=f"{PREFIX}claim:*", count=500):
            token = self.client.get(name)
            if token is None:
                continue
            owner, _, rest = token.decode().partition(":")
            pid = rest.partition(":")[0]
            if owner == self.ledger_id and pid.isdigit() and not _alive(int(pid)):
                self.client.eval(_RELEASE, 1, name, token)
        return fixed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_ledger(root: Path, broker: str | None = None, claim_ttl_s: int = 300) -> Ledger:
    """The ledger for a worker: claims and markers in Redis when the broker is Redis, else local files."""
    if broker and broker.split("://", 1)[0] in ("redis", "rediss"):
        return RedisLedger(root, broker, claim_ttl_s)
    return Ledger(root)
