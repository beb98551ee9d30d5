"""Where an events load spends its time: each DuckDB query of one ``load`` (wall and CPU seconds, every
thread), then the whole load, the statistics and the report, and the peak memory, in one fresh process.

    .venv/bin/python benchmarks/analysis_queries.py EVENTS_FILE [--explain]

``--explain`` prints DuckDB's EXPLAIN ANALYZE of the timeline and per-user queries instead (operator times;
the profiler slows the run). Files: ``benchmarks/analysis_scale.py --dir DIR`` keeps the ones it makes.
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    from analysis.engine import analyze
    from analysis.ingest import load, source
    from analysis.report import html_report

    plain = source.Source.run
    timed: list[tuple[float, float, str]] = []

    def run(self: source.Source, con: Any, sql: str, params: dict[str, Any] | None = None) -> Any:
        what = " ".join(sql.split())
        if args.explain and ("per_user" in what or "strftime(day" in what):
            given = {**self.params, **(params or {})}
            plan = con.execute("EXPLAIN ANALYZE " + sql, {k: v for k, v in given.items() if f"${k}" in sql})
            print("\n".join(line for line in plan.fetchall()[0][1].splitlines() if line.strip("│ ")))
        t, c = time.perf_counter(), cpu()
        out = plain(self, con, sql, params)
        timed.append((time.perf_counter() - t, cpu() - c, what))
        return out

    source.Source.run = run  # type: ignore[method-assign]
    t0, c0 = time.perf_counter(), cpu()
    data = load(args.path)
    t1, c1 = time.perf_counter(), cpu()
    result = analyze(data.arms, notes=data.notes)
    t2 = time.perf_counter()
    html_report(result, data.arms, data.daily)
    t3 = time.perf_counter()
    for wall, used, what in timed:
        print(f"query  wall {wall:7.3f} s  cpu {used:7.3f} s  {what[:100]}")
    print(f"load   wall {t1 - t0:7.3f} s  cpu {c1 - c0:7.3f} s; statistics {t2 - t1:.3f} s (first call imports); "
          f"report {t3 - t2:.3f} s; peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
