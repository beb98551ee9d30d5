"""Kill a real `highlight-lab outcomes ingest` process at several points (SIGKILL: no cleanup runs) and check
that the store is the old one or the new one: the analysis counts exactly the listed rows, and the next
ingest works and removes what the killed one left behind."""

import os
import shutil
import signal
import subprocess
import sys
import time

from lab.errors import LabError
from lab.experiments.outcomes import OutcomeStore, analyze_experiment
from tests.conftest import REPO

KEY = "seed-v1-v2-v3"
ARMS = ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")


def big_events(path, n, offset=0):
    with path.open("w") as f:
        f.write("user_id,variant,timestamp,clicked,email\n")
        for i in range(offset, offset + n):
            f.write(f"u{i % 50000},{ARMS[(i % 50000) % 3]},2026-11-0{1 + i % 7} {i % 24:02d}:00:00,{i % 2},"
                    f"p{i}@example.com\n")
    return path


def start_ingest(lab_env, files):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIGHLIGHT_LAB_EXPERIMENTS": str(lab_env.root)}
    code = "import sys; from lab.cli import main; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, "outcomes", "ingest", "--experiment", KEY,
                             *map(str, files)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def kill_when(proc, seen, timeout=120.0):
    """SIGKILL ``proc`` at the point where ``seen()`` holds: True if it was killed there.

    The process is stopped (SIGSTOP) as soon as ``seen()`` is true and the point is checked again while it
    cannot move, so a busy machine that lets it run on past the point is told apart from a kill at the point
    (False then, as when the process ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if seen():
            os.killpg(proc.pid, signal.SIGSTOP)
            there = seen()
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return there
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    raise AssertionError("the ingest neither reached the point nor ended")


def data_files(store):
    folder = store.root / "events"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def listed_rows(exp, store):
    try:
        return analyze_experiment(exp, store)[1].rows
    except LabError:
        return 0


def test_a_killed_ingest_leaves_the_old_store_and_the_next_one_cleans_up(lab_env, tmp_path):
    exp = lab_env.load(KEY)
    store = OutcomeStore(KEY)
    small = big_events(tmp_path / "small.csv", 3000, offset=10_000_000)
    store.ingest(exp, small)
    a = big_events(tmp_path / "a.csv", 100_000)
    b = big_events(tmp_path / "b.csv", 100_000, offset=100_000)
    before = store.manifest()
    assert listed_rows(exp, store) == 3000

    points = {
        # a temporary data file exists (DuckDB is writing the first file)
        "temp file": lambda: any(n.endswith(".tmp") for n in data_files(store)),
        # the first file is stored under its final name, the second not yet: nothing is listed
        "data file": lambda: any(not n.startswith(".") for n in data_files(store)
                                 if (store.root / "events" / n).resolve()
                                 not in {store.data_path(m) for m in before}) and store.manifest() == before,
    }
    killed = []
    snapshot = tmp_path / "store-before"
    shutil.copytree(store.root, snapshot)
    for name, seen in points.items():
        for _ in range(10):  # a loaded machine may let the ingest run past the point: put the store back, again
            proc = start_ingest(lab_env, [a, b])
            if kill_when(proc, seen):
                killed.append(name)
                assert store.manifest() == before, name
                assert listed_rows(exp, store) == 3000, name  # orphans are never counted
                break
            assert store.manifest() == before or listed_rows(exp, store) == 203_000, name  # old or new
            shutil.rmtree(store.root)
            shutil.copytree(snapshot, store.root)
    left = [n for n in data_files(store) if (store.root / "events" / n).resolve()
            not in {store.data_path(m) for m in before}]
    assert left, "a kill should have left orphans for the next ingest to clean"

    results = store.ingest_together(exp, [a, b])  # the next ingest, in process (the CLI's MLflow step is not needed)
    assert [(r.rows, r.dropped, r.duplicate) for r in results] == [(100_000, ("email",), False)] * 2
    listed = {store.data_path(m) for m in store.manifest()}
    assert {(store.root / "events" / n).resolve() for n in data_files(store)} == listed  # orphans gone
    assert listed_rows(exp, store) == 203_000
    print("killed at:", ", ".join(killed))
