"""Full analysis (ingest -> statistics -> HTML report) of 1M to 100M impression rows, against plain pandas.

Each run is a fresh process, so its peak memory (max RSS) is its own. Prints medians of several runs and
the ratio to pandas doing only the aggregation (read_parquet + per-variant and per-user groupby), and the
seconds per million rows (linear when that stays flat); then the CPU seconds of each (all threads) and the
machine's load average, since on a shared machine the wall-clock ratio moves with the load. DuckDB holds at
most ``MEMORY_LIMIT`` and spills the rest of the per-user table to disk; user ids are grouped as 64-bit hashes.

    .venv/bin/python benchmarks/analysis_scale.py [--rows 1000000 10000000 100000000] [--repeats 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]

# CPU seconds (user + sys, every thread) beside wall seconds: on a shared machine the wall ratio moves with
# the load; the CPU ratio much less.
CPU = "def cpu():\n    r = resource.getrusage(resource.RUSAGE_SELF)\n    return r.ru_utime + r.ru_stime\n"

LAB_RUN = """
import json, resource, sys, time
""" + CPU + """
t0 = time.perf_counter()
from analysis.engine import analyze
from analysis.ingest import load
from analysis.report import html_report
t1, c1 = time.perf_counter(), cpu()
data = load(sys.argv[1])
t2 = time.perf_counter()
result = analyze(data.arms, notes=data.notes)
t3 = time.perf_counter()
page = html_report(result, data.arms, data.daily)
open(sys.argv[2], "w").write(page)
t4 = time.perf_counter()
print(json.dumps({"seconds": t4 - t1, "cpu": cpu() - c1, "ingest": t2 - t1, "stats": t3 - t2, "report": t4 - t3,
                  "import": t1 - t0, "decision": result.decision.headline,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS_RUN = """
import json, resource, sys, time
""" + CPU + """
t0 = time.perf_counter()
import pandas as pd
t1, c1 = time.perf_counter(), cpu()
df = pd.read_parquet(sys.argv[1], columns=["user_id", "variant", "clicked"])
per_variant = df.groupby("variant").clicked.agg(["sum", "count"])
per_user = df.groupby(["variant", "user_id"]).clicked.agg(["sum", "count"])
t2 = time.perf_counter()
print(json.dumps({"seconds": t2 - t1, "cpu": cpu() - c1, "import": t1 - t0, "users": len(per_user),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def ids(uid: np.ndarray) -> pa.Array:
    """``u`` and the number, as text: DuckDB formats integers ten times faster than Arrow's cast."""
    import duckdb

    numbers = pa.table({"uid": uid})  # noqa: F841 - read by name in the query
    return duckdb.sql("SELECT 'u' || CAST(uid AS VARCHAR) FROM numbers").to_arrow_table().column(0).combine_chunks()


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Impressions of the seed's three arms over 14 days, ~4 impressions per user, written in chunks."""
    rng = np.random.default_rng(seed)
    users = max(rows // 4, 1)
    ctr = np.array([0.23, 0.31, 0.38])
    start = np.datetime64("2026-11-01T00:00:00", "s")
    schema = pa.schema([("user_id", pa.string()), ("variant", pa.string()), ("timestamp", pa.timestamp("s")),
                        ("clicked", pa.int8())])
    names = pa.array(["v1", "v2", "v3"])
    with pq.ParquetWriter(path, schema) as writer:
        for lo in range(0, rows, 2_000_000):
            n = min(2_000_000, rows - lo)
            uid = rng.integers(0, users, size=n)
            arm = uid % 3
            clicked = (rng.random(n) < ctr[arm]).astype(np.int8)
            ts = start + rng.integers(0, 14 * 86400, size=n).astype("timedelta64[s]")
            table = pa.table({
                "user_id": ids(uid),
                "variant": pc.take(names, pa.array(arm)),
                "timestamp": pa.array(ts),
                "clicked": pa.array(clicked),
            }, schema=schema)
            writer.write_table(table)


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"a run failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", help="keep the generated files here and reuse them on the next run (default: a "
                                      "temporary folder, removed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.dir or scratch
        print(f"{'rows':>11}  {'lab median s':>12}  {'lab peak MB':>11}  {'pandas median s':>15}  "
              f"{'pandas peak MB':>14}  {'pandas/lab':>10}  s per M rows")
        for rows in args.rows:
            path = Path(tmp) / f"events_{rows}.parquet"
            if not path.exists():
                generate(path, rows)
            lab, pandas = [], []
            load_before = os.getloadavg()[0]
            for _ in range(args.repeats):
                lab.append(run(LAB_RUN, str(path), str(Path(tmp) / "report.html")))
                pandas.append(run(PANDAS_RUN, str(path)))
            lab_s = statistics.median(r["seconds"] for r in lab)
            pd_s = statistics.median(r["seconds"] for r in pandas)
            lab_mb = max(r["peak_mb"] for r in lab)
            pd_mb = max(r["peak_mb"] for r in pandas)
            print(f"{rows:>11,}  {lab_s:>12.3f}  {lab_mb:>11.0f}  {pd_s:>15.3f}  {pd_mb:>14.0f}  "
                  f"{pd_s / lab_s:>10.2f}  {lab_s / rows * 1e6:.3f}", flush=True)
            stages = {k: statistics.median(r[k] for r in lab) for k in ("ingest", "stats", "report")}
            print(f"{'':>11}  lab stages (median s): " + ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
                  + f"; decision: {lab[0]['decision']}; runs (lab s): "
                  + ", ".join(f"{r['seconds']:.2f}" for r in lab) + "; (pandas s): "
                  + ", ".join(f"{r['seconds']:.2f}" for r in pandas), flush=True)
            lab_cpu = statistics.median(r["cpu"] for r in lab)
            pd_cpu = statistics.median(r["cpu"] for r in pandas)
            print(f"{'':>11}  CPU s (user + sys, median): lab {lab_cpu:.2f}, pandas {pd_cpu:.2f}, pandas/lab "
                  f"{pd_cpu / lab_cpu:.2f}; load average before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
