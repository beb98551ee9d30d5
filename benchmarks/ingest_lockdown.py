"""What naming a bad CSV value's row costs: loading an events CSV through the lab's DuckDB connection
(``type_pushdown`` on, external access off, columns by position) against the same load with
``type_pushdown`` off (which the loader falls back to when a strict cast fails), in one run. Medians of
several runs.

    .venv/bin/python benchmarks/ingest_lockdown.py [--rows 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import analysis.ingest as ingest  # noqa: E402


def write_events(path: Path, rows: int) -> None:
    arms = ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")
    with path.open("w") as f:
        f.write("user_id,variant,timestamp,clicked,platform\n")
        for i in range(rows):
            u = i % (rows // 3 + 1)
            f.write(f"u{u},{arms[u % 3]},2026-11-{1 + i % 14:02d} {i % 24:02d}:00:00,{int(i % 7 < 2)},"
                    f"{'ios' if u % 2 else 'android'}\n")


def timed(path: Path, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        ingest.load(path, segment="platform")
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    lab_connect = ingest.connect

    def without_pushdown(read=(), write=(), pushdown=True):
        return lab_connect(read, write, pushdown=False)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        write_events(path, args.rows)
        lab = timed(path, args.repeats)
        ingest.connect = without_pushdown
        try:
            baseline = timed(path, args.repeats)
        finally:
            ingest.connect = lab_connect
    print(f"{args.rows:,} event rows, CSV, --segment platform, median of {args.repeats}")
    print(f"  lab connection (type_pushdown on):        {lab:.3f} s")
    print(f"  type_pushdown off (the bad-file fallback): {baseline:.3f} s")
    print(f"  fallback / lab: {baseline / lab:.2f}x")


if __name__ == "__main__":
    main()
