"""The embedded worker: a batch of event lines rendered in this machine's processes, no broker needed.

A pool of ``os.cpu_count()`` processes, each with its own ``EventTask`` (so a model loads once per process),
a progress line (videos/s, ETA) and a summary. Running the same file again does nothing new.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lab.errors import LabError
from lab.production.settings import WorkerSettings
from lab.production.task import RENDERED, EventTask, Outcome, RetryLater

_TASK: EventTask | None = None


def _init(settings: WorkerSettings) -> None:
    global _TASK
    _TASK = EventTask(settings)


def _run(line: str, source: str) -> Outcome:
    """Run one event in a pool process, retrying out-of-memory one level down after its back-off."""
    assert _TASK is not None
    level, attempt = None, 0
    while True:
        try:
            return _TASK.handle(line, source, level=level, attempt=attempt)
        except RetryLater as retry:
            time.sleep(retry.countdown_s)
            level, attempt = retry.level, retry.attempt


@dataclass
class BatchSummary:
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    workers: int = 1
    repaired: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def rendered(self) -> int:
        return self.counts[RENDERED]

    @property
    def videos_per_s(self) -> float:
        return self.rendered / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1]

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "seconds": round(self.seconds, 3), "workers": self.workers,
                "videos_per_s": round(self.videos_per_s, 3), "repaired_impressions": self.repaired,
                "latency_s": {f"p{q}": round(self.percentile(q), 4) for q in (50, 95, 99)}}


def read_lines(path: str | Path) -> Iterator[tuple[str, str]]:
    """``(line, source)`` pairs from a JSONL file (``-``: standard input); sources are ``file:line``."""
    if str(path) == "-":
        yield from _numbered(sys.stdin, "stdin")
        return
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise LabError(str(path), "no such events file", "give a JSON-lines file of rank events, or - for stdin") \
            from None
    with handle:
        yield from _numbered(handle, Path(path).name)


def _numbered(handle: IO[str], name: str) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield line.strip(), f"{name}:{number}"


def pool_size() -> int:
    return max(1, os.cpu_count() or 1)


def run_batch(lines: Iterable[tuple[str, str]], settings: WorkerSettings, workers: int | None = None,
              total: int | None = None, progress: IO[str] | None = None) -> BatchSummary:
    """Render every event line once; ``workers`` processes (default: one per core; 1 runs in this process)."""
    workers = workers or pool_size()
    summary = BatchSummary(workers=workers)
    t0 = time.perf_counter()
    _init(settings)
    summary.repaired = _TASK.ledger.repair() if _TASK else 0

    def account(outcome: Outcome) -> None:
        summary.counts[outcome.status] += 1
        if outcome.status == RENDERED:
            summary.latencies.append(outcome.seconds)
        elif outcome.reason and len(summary.reasons) < 20:
            summary.reasons.append(f"{outcome.status}: {outcome.reason}")
        if progress is not None:
            _progress(progress, summary, total, time.perf_counter() - t0)

    if workers == 1:
        for line, source in lines:
            account(_run(line, source))
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(settings,)) as pool:
            pending: set[Future] = set()
            for line, source in lines:
                if len(pending) >= 4 * workers:  # bounded: a million-line file is streamed, not loaded
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        account(f.result())
                pending.add(pool.submit(_run, line, source))
            for f in wait(pending).done:
                account(f.result())
    summary.seconds = time.perf_counter() - t0
    if progress is not None:
        progress.write("\n")
    return summary


def _progress(out: IO[str], s: BatchSummary, total: int | None, elapsed: float) -> None:
    done = sum(s.counts.values())
    rate = s.rendered / elapsed if elapsed else 0.0
    eta = ""
    if total and done:
        left = (total - done) * elapsed / done
        eta = f", ETA {int(left // 60)}m{int(left % 60):02d}s"
    of = f"/{total}" if total else ""
    out.write(f"\r{done}{of} events, {s.rendered} videos, {rate:.1f} videos/s{eta}   ")
    out.flush()
