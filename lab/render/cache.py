"""Background cache, content-addressed: the key is a hash of everything that changes the pixels.

Entries are ``<key>.npy`` (yuv420p frames, memory-mapped on read) and ``<key>.json`` (what made them).
Writes go to a temp file and are renamed into place, so concurrent renders never see half a file; a
per-key lock makes a second render of the same background wait for the first instead of recomputing.
Past the size cap, least-recently-used entries are evicted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.storage import atomic_file, atomic_write_text, file_lock


def cache_key(recipe: dict[str, Any]) -> str:
    canonical = json.dumps(recipe, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class CacheEntry:
    key: str
    frames: np.ndarray  # read-only, memory-mapped
    meta: dict[str, Any]
    hit: bool


class BackgroundCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.npy", self.root / f"{key}.json"

    def get(self, key: str) -> CacheEntry | None:
        npy, meta = self._paths(key)
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            frames = np.load(npy, mmap_mode="r")
        except (FileNotFoundError, ValueError, json.JSONDecodeError):
            return None
        now = None  # "now" for both files: the LRU order is by modification time
        with contextlib.suppress(FileNotFoundError):
            os.utime(npy, now)
            os.utime(meta, now)
        return CacheEntry(key, frames, info, hit=True)

    def put(self, key: str, frames: np.ndarray, meta: dict[str, Any]) -> None:
        npy, meta_path = self._paths(key)
        with atomic_file(npy) as handle:
            np.save(handle, np.ascontiguousarray(frames))
        atomic_write_text(meta_path, json.dumps(meta, ensure_ascii=False, indent=1))
        self.evict()

    def get_or_create(self, key: str, make: Callable[[], tuple[np.ndarray, dict[str, Any]]]) -> CacheEntry:
        """The entry for ``key``, made by ``make()`` at most once across concurrent renders."""
        entry = self.get(key)
        if entry is not None:
            return entry
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / f".{key}.lock"):
            entry = self.get(key)  # someone may have made it while we waited
            if entry is not None:
                return entry
            frames, meta = make()
            self.put(key, frames, meta)
        entry = self.get(key)
        if entry is None:  # evicted at once: the cap is smaller than this one entry
            return CacheEntry(key, frames, meta, hit=False)
        entry.hit = False
        return entry

    def entries(self) -> Iterator[tuple[str, int, float]]:
        """(key, bytes, last used) for every complete entry."""
        for npy in self.root.glob("*.npy"):
            meta = npy.with_suffix(".json")
            try:
                st_npy, st_meta = npy.stat(), meta.stat()
            except FileNotFoundError:
                continue
            yield npy.stem, st_npy.st_size + st_meta.st_size, st_npy.st_mtime

    def size(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def evict(self) -> list[str]:
        """Delete least-recently-used entries until the cache fits its cap; returns the keys removed."""
        removed = []
        with file_lock(self.root / ".evict.lock"):
            items = sorted(self.entries(), key=lambda e: e[2])
            total = sum(size for _, size, _ in items)
            for key, size, _ in items:
                if total <= self.max_bytes:
                    break
                for path in (*self._paths(key), self.root / f".{key}.lock"):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                total -= size
                removed.append(key)
        return removed
