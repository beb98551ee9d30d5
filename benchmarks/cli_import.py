"""What a light command pays to start: ``import lab.render.backends`` (the backend table every front end reads)
and ``highlight-lab --help``, this checkout against an older one, interleaved in one run, medians of N.

    .venv/bin/python benchmarks/cli_import.py --baseline /path/to/older/checkout [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code)}  # ahead of the editable install of this checkout


def table_import_ms(code: Path) -> float:
    """Cumulative import time of ``lab.render.backends`` as ``-X importtime`` reports it."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import lab.render.backends"], cwd=code,
                          env=_env(code), capture_output=True, text=True, timeout=120, check=True)
    for line in proc.stderr.splitlines():
        if line.rstrip().endswith("| lab.render.backends"):
            return int(line.split("|")[1]) / 1000
    raise RuntimeError("lab.render.backends not in the import log")


def help_s(code: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lab", "--help"], cwd=code, env=_env(code), capture_output=True,
                   timeout=120, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="an older checkout to compare against")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    sides = {"before": args.baseline.resolve(), "after": ROOT}
    table: dict[str, list[float]] = {side: [] for side in sides}
    helps: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(args.runs):
        for side, code in sides.items():
            table[side].append(table_import_ms(code))
            helps[side].append(help_s(code))
    t = {side: statistics.median(v) for side, v in table.items()}
    h = {side: statistics.median(v) for side, v in helps.items()}
    print(f"import lab.render.backends, median of {args.runs}: before {t['before']:.1f} ms, after {t['after']:.1f} ms"
          f" ({t['before'] / t['after']:.1f}x less)")
    print(f"highlight-lab --help, median of {args.runs}: before {h['before']:.3f} s, after {h['after']:.3f} s"
          f" ({h['before'] / h['after']:.2f}x less)")


if __name__ == "__main__":
    main()
