"""The background cache: hits, LRU eviction, and concurrent writers."""

import multiprocessing
import time

import numpy as np

from lab.render.cache import BackgroundCache, cache_key


def frames(value: int, n: int = 3) -> np.ndarray:
    return np.full((n, 24, 16), value, np.uint8)


def test_key_is_content_addressed():
    a = cache_key({"backend": "motion", "seed": 1, "width": 320})
    assert a == cache_key({"width": 320, "seed": 1, "backend": "motion"})
    assert a != cache_key({"backend": "motion", "seed": 2, "width": 320})


def test_miss_then_hit(tmp_path):
    cache = BackgroundCache(tmp_path, 10**6)
    calls = []

    def make():
        calls.append(1)
        return frames(7), {"what": "test"}

    first = cache.get_or_create("k1", make)
    second = cache.get_or_create("k1", make)
    assert (first.hit, second.hit, len(calls)) == (False, True, 1)
    assert np.array_equal(second.frames, frames(7)) and second.meta == {"what": "test"}


def test_least_recently_used_is_evicted(tmp_path):
    entry_bytes = frames(0).nbytes + 200
    cache = BackgroundCache(tmp_path, int(entry_bytes * 2.5))
    for key in ("a", "b"):
        cache.put(key, frames(1), {})
        time.sleep(0.02)
    cache.get("a")  # a is now more recent than b
    time.sleep(0.02)
    cache.put("c", frames(2), {})
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert cache.size() <= cache.max_bytes


def test_a_partial_entry_is_a_miss(tmp_path):
    cache = BackgroundCache(tmp_path, 10**6)
    cache.put("k", frames(3), {})
    (tmp_path / "k.json").unlink()
    assert cache.get("k") is None


def _worker(root, results):
    cache = BackgroundCache(root, 10**8)

    def make():
        with open(root / "made.log", "a") as log:
            log.write("x")
        time.sleep(0.3)  # a slow generation: the others must wait, not recompute
        return frames(9, n=50), {}

    entry = cache.get_or_create("shared", make)
    results.put((entry.hit, int(entry.frames.sum())))


def test_concurrent_renders_make_a_background_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(tmp_path, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    got = [results.get(timeout=5) for _ in procs]
    assert (tmp_path / "made.log").read_text() == "x"
    assert sorted(h for h, _ in got) == [False, True, True, True]
    assert {s for _, s in got} == {int(frames(9, n=50).sum())}
    assert not list(tmp_path.glob("*.tmp"))
