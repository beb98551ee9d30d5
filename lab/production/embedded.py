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
from lab.production.task import FAULT, PUSH_FAILED, RENDERED, EventTask, RetryLater, TaskResult

_TASK: EventTask | None = None
FAULT_RETRIES = 3  # per event, with back-off; then the run stops and says what to fix


def _init(settings: WorkerSettings) -> None:
    global _TASK
    _TASK = EventTask(settings)


def _run(line: str, source: str) -> TaskResult:
    """Run one event in a pool process: out-of-memory is retried one level down after its back-off, a fault
    (store, push, model, ledger) at the same level with back-off, at most ``FAULT_RETRIES`` times; then the
    event is left as it was (not dead-lettered) for the next run, and its outcome says what to fix."""
    assert _TASK is not None
    level, attempt, faults = None, 0, 0
    t0 = time.perf_counter()
    while True:
        try:
            return _TASK.handle(line, source, level=level, attempt=attempt)
        except RetryLater as retry:
            if retry.fault:
                faults += 1
                if faults > FAULT_RETRIES:
                    status = PUSH_FAILED if retry.fault == "push" else FAULT
                    return TaskResult(status, "", time.perf_counter() - t0, reason=str(retry))
            else:
                level = retry.level
            attempt = retry.attempt
            time.sleep(retry.countdown_s)


@dataclass
class BatchSummary:
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    workers: int = 1
    repaired: int = 0
    reasons: list[str] = field(default_factory=list)
    stopped: str | None = None  # the fault that stopped the run: fix it and run again (nothing was lost)

    @property
    def ok(self) -> bool:
        """No fault: every event was rendered, found done, or dead-lettered for its input."""
        return self.stopped is None and not (self.counts[FAULT] or self.counts[PUSH_FAILED])

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
                "stopped": self.stopped,
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


def check_workers(workers: int | None) -> int:
    """The embedded pool's size: at most one process per core (a render keeps a core busy; more processes only
    add memory and switching), at least one."""
    cores = pool_size()
    if workers is None:
        return cores
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= cores:
        raise LabError("--workers", f"{workers!r} render processes asked for; this machine has {cores} "
                       f"core{'s' if cores != 1 else ''}",
                       f"give a whole number from 1 to {cores} (a render keeps a core busy, so more processes are "
                       "not faster), or leave it out for one per core")
    return workers


def run_batch(lines: Iterable[tuple[str, str]], settings: WorkerSettings, workers: int | None = None,
              total: int | None = None, progress: IO[str] | None = None) -> BatchSummary:
    """Render every event line once; ``workers`` processes (default: one per core; 1 runs in this process).

    The settings are checked before any event is touched; the ledger is repaired first. A fault that outlasts
    its retries stops the run (``summary.stopped``): the events after it are left for the next run.
    """
    workers = check_workers(workers)
    settings.check()
    summary = BatchSummary(workers=workers)
    t0 = time.perf_counter()
    _init(settings)
    summary.repaired = _TASK.ledger.repair() if _TASK else 0

    def account(outcome: TaskResult) -> None:
        summary.counts[outcome.status] += 1
        if outcome.status == RENDERED:
            summary.latencies.append(outcome.seconds)
        elif outcome.reason and len(summary.reasons) < 20:
            summary.reasons.append(f"{outcome.status}: {outcome.reason}")
        if outcome.status in (FAULT, PUSH_FAILED) and summary.stopped is None:
            summary.stopped = outcome.reason
        if progress is not None:
            _progress(progress, summary, total, time.perf_counter() - t0)

    if workers == 1:
        for line, source in lines:
            if summary.stopped:
                break
            account(_run(line, source))
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(settings,)) as pool:
            pending: set[Future] = set()
            for line, source in lines:
                if summary.stopped:
                    break
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
