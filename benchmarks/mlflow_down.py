"""How long a lab command takes to fail when MLflow does not answer, against the same command's start-up.

Runs `highlight-lab experiments track KEY --no-previews` in a fresh process against (a) a port where nothing
listens and (b) a port that accepts connections and never answers (a hung server), and `experiments list`
(no MLflow at all) as the baseline: the difference is what the MLflow failure itself costs. Medians of
``--repeats`` runs, all in one run of this script.

    .venv/bin/python benchmarks/mlflow_down.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KEY = "seed-v1-v2-v3"


def timed(args: list[str], uri: str | None, home: str) -> tuple[float, int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIGHLIGHT_LAB_HOME": home, "MLFLOW_DISABLE_TELEMETRY": "true"}
    if uri:
        env["MLFLOW_TRACKING_URI"] = uri
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lab.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    return time.perf_counter() - t0, proc.returncode, proc.stderr.strip().splitlines()[-1:][0] if proc.stderr else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]  # closed again below: nothing listens there
    with socket.socket() as hung, tempfile.TemporaryDirectory() as home:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        cases = {
            "baseline: experiments list (no MLflow)": (["experiments", "list"], None),
            "track, nothing listening": (["experiments", "track", KEY, "--no-previews"],
                                         f"http://127.0.0.1:{dead_port}"),
            "track, hung server": (["experiments", "track", KEY, "--no-previews"],
                                   f"http://127.0.0.1:{hung.getsockname()[1]}"),
        }
        medians = {}
        for name, (cmd, uri) in cases.items():
            runs = [timed(cmd, uri, home) for _ in range(args.repeats)]
            medians[name] = statistics.median(t for t, _, _ in runs)
            print(f"{name:42s} median {medians[name]:6.2f} s  exit {runs[-1][1]}  {runs[-1][2][:90]}")
    base = medians["baseline: experiments list (no MLflow)"]
    for name, m in medians.items():
        print(f"{name:42s} {m - base:+6.2f} s over the baseline ({m / base:.2f}x)")


if __name__ == "__main__":
    main()
