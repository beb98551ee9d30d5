"""The ledger's claims and markers in Redis, for workers on several machines that share a Redis broker but no
folder: a claim is ``SET NX`` with an expiry (released only by its holder's token), done, pending and dead
markers are Redis keys. The impression and dead-letter logs stay in each worker's own folder.

A claim is a lease: it expires after the visibility timeout (``HIGHLIGHT_LAB_VISIBILITY_TIMEOUT``), so a
machine that dies mid-render never blocks its event for good, and its holder renews it every third of that
while it works (``_Lease``), so a render that outlasts the timeout (a loaded machine, a long model render) keeps
its event: the message Redis re-delivers meanwhile finds the claim held. The pending record, the first write
of ``record``, is set only while the claim still holds the holder's token (one Lua call): a holder that lost
its lease (Redis out of reach for longer than the timeout, a stalled process) records nothing and the event
is tried again (``ClaimLost``). A worker restarted on the same folder frees its own dead processes' claims at
once (``repair``).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lab.production.ledger import ClaimLost, Ledger

PREFIX = "highlight_lab:"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
          "else return 0 end")
# KEYS: the claim, the key to set; ARGV: the holder's token, the value.
_SET_IF_HELD = ("if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[2], ARGV[2]) return 1 "
                "else return 0 end")


class RedisLedger(Ledger):
    def __init__(self, root: Path, url: str, claim_ttl_s: int = 300) -> None:
        import redis

        super().__init__(root)
        self.client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
        self.claim_ttl_s = max(1, int(claim_ttl_s))
        self._tokens: dict[str, str] = {}  # the claims this process holds now: event key -> its token

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
        lease = None
        try:
            lease = _Lease(self.client, name, token, self.claim_ttl_s)
            self._tokens[key] = token
            yield True
        finally:
            if lease is not None:
                lease.stop()
            self._tokens.pop(key, None)
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
        """The commit point: set only while this process's claim on ``key`` still holds its token."""
        token = self._tokens.get(key)
        value = json.dumps(record, ensure_ascii=False)
        if token is None or not self.client.eval(_SET_IF_HELD, 2, self._k("claim", key), self._k("pending", key),
                                                 token, value):
            raise ClaimLost(key)

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


class _Lease:
    """Renews a held claim's expiry every third of it until ``stop``; a holder that dies stops renewing, so its
    claim expires. A renewal that finds another token (the claim expired and was taken) stops: the fenced
    ``_set_pending`` then refuses to record. Redis out of reach is tried again at the next tick."""

    def __init__(self, client: Any, name: str, token: str, ttl_s: int) -> None:
        self.client, self.name, self.token, self.ttl_ms = client, name, token, ttl_s * 1000
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ttl_s / 3,), name="claim-lease", daemon=True)
        self._thread.start()

    def _run(self, every_s: float) -> None:
        import redis

        while not self._stop.wait(every_s):
            try:
                if not self.client.eval(_RENEW, 1, self.name, self.token, self.ttl_ms):
                    return
            except redis.RedisError:
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


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
