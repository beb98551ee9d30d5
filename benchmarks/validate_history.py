"""How `variants validate` grows with a variant's history: time per saved version from 30 to 300 versions.

Validation checks every saved version's hash. It must read each snapshot once (linear); it once re-read the
whole history for each version (quadratic: 264 versions took 180 s). The script saves one variant N times
through ``VariantLibrary.save``, times ``validate_paths`` at each size (median of ``--runs`` interleaved
rounds), and prints the time per version and its ratio to the smallest size's: about 1 when linear, about N/30
when quadratic. It also counts how often one validation opens a saved version's file, which does not depend on
the machine's load.

    .venv/bin/python benchmarks/validate_history.py [--sizes 30,100,300] [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from lab.library import versions
from lab.library.schema import with_changes
from lab.library.versions import VariantLibrary, validate_paths

REPO = Path(__file__).resolve().parents[1]
VARIANT = "v1-fast-sprint"


def grow(lib: VariantLibrary, target: int) -> int:
    """Save new versions of the variant until its history holds ``target``; returns how many it holds."""
    history = len(lib.history(VARIANT))
    current = lib.load(VARIANT)
    while history < target:
        edit = with_changes(current, title=f"take {history}")
        lib.save(edit, base=current.version, author="benchmark", note=f"version {history}")
        current, history = edit, history + 1
    return history


def time_validate(path: Path, runs: int) -> float:
    """Median seconds of ``validate_paths`` on one variant file (its whole history checked)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        results, errors = validate_paths([path])
        times.append(time.perf_counter() - start)
        assert not errors and results[0]["ok"], errors
    return statistics.median(times)


def snapshot_reads(path: Path) -> int:
    """How many times one validation opens a saved version's file (the machine-independent measure)."""
    real, count = versions.read_text, [0]

    def counting(file: Path, *args: object, **kwargs: object) -> str:
        count[0] += f"/{VariantLibrary.VERSIONS}/" in str(file)
        return real(file, *args, **kwargs)

    versions.read_text = counting
    try:
        validate_paths([path])
    finally:
        versions.read_text = real
    return count[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,100,300", help="history sizes to time, ascending")
    parser.add_argument("--runs", type=int, default=7, help="rounds of validations (the median is reported)")
    parser.add_argument("--no-count-reads", dest="count_reads", action="store_false",
                        help="skip the extra validation that counts snapshot reads")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="validate-history-"))
    try:
        root = folder / "growing" / "variants"
        shutil.copytree(REPO / "variants", root, ignore=shutil.ignore_patterns(".lock"))
        libraries = {}
        for size in sizes:  # one library per size, each a copy of the growing one
            grow(VariantLibrary(root), size)
            libraries[size] = folder / str(size) / "variants"
            shutil.copytree(root, libraries[size], ignore=shutil.ignore_patterns(".lock"))
        # Rounds interleave the sizes, so a burst of load on a shared machine hits them all alike.
        times: dict[int, list[float]] = {size: [] for size in sizes}
        for _ in range(args.runs):
            for size in sizes:
                times[size].append(time_validate(libraries[size] / f"{VARIANT}.yaml", 1))
        print(f"{'versions':>8}  {'validate (median)':>17}  {'per version':>11}  {'ratio to first':>14}  "
              f"{'snapshot reads per version':>26}", flush=True)
        first = last = 0.0
        for size in sizes:
            seconds = statistics.median(times[size])
            path = libraries[size] / f"{VARIANT}.yaml"
            reads = f"{snapshot_reads(path) / size:.2f}" if args.count_reads else "-"
            last = seconds / size
            first = first or last
            print(f"{size:>8}  {seconds:>15.3f} s  {last * 1000:>8.2f} ms  {last / first:>14.2f}  {reads:>26}",
                  flush=True)
        print(f"time per version, {sizes[-1]} vs {sizes[0]} versions: x{last / first:.2f} (linear: about 1)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
