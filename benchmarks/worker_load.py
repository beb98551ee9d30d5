"""Production load: valid rank events mixed with invalid ones, through the embedded pool and through two
Celery worker processes on a real redis-server, one of them killed with SIGKILL mid-run and restarted.

Checks at the end of each mode: exactly one video and one impression per valid event, no duplicates, one
dead letter (with its reason) per invalid event. Prints throughput (videos/s over the whole run) and the
per-video service time (render + store + record, from the impression records) percentiles, side by side.

    .venv/bin/python benchmarks/worker_load.py [--valid 1000] [--invalid 50] [--level 3]
        [--modes ceiling embedded celery]

``ceiling`` renders the same valid events with ``render`` alone in a pool of the same size, in the same run:
the worker's videos/s over it is the share the worker's own overhead leaves.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def events(valid: int, invalid: int) -> list[str]:
    """Valid events with an invalid one (no old_rank for a rank_up) every ``valid // invalid`` lines."""
    lines = [json.dumps({"event": "rank_up", "user": f"Runner {i}", "user_id": f"user-{i}", "old_rank": 3 + i % 7,
                         "new_rank": 2, "rival": "Bob", "challenge": "Weekly 5K", "event_id": f"ev-{i}"})
             for i in range(valid)]
    step = max(1, valid // max(1, invalid))
    for j in range(invalid):
        bad = json.dumps({"event": "rank_up", "user": "X", "user_id": f"bad-{j}", "new_rank": 2,
                          "event_id": f"bad-{j}"})
        lines.insert(min(len(lines), (j + 1) * step + j), bad)
    return lines


def setup(home: Path) -> dict[str, str]:
    """A private lab: the seed experiment running, so users are assigned to its three arms."""
    exps = home / "experiments"
    shutil.copytree(ROOT / "experiments", exps)
    spec = exps / "seed-v1-v2-v3.yaml"
    spec.write_text(spec.read_text().replace("status: draft", "status: running"))
    return {"HIGHLIGHT_LAB_HOME": str(home / "home"), "HIGHLIGHT_LAB_EXPERIMENTS": str(exps),
            "HIGHLIGHT_LAB_VARIANTS": str(ROOT / "variants"), "HIGHLIGHT_LAB_OUTPUT_URL": str(home / "videos"),
            "HIGHLIGHT_LAB_WORKER_BACKEND": "motion"}


def warm(env: dict[str, str], level: int) -> None:
    """Put the three arms' backgrounds in the cache first: the figure is the per-user cost."""
    from lab.library.events import parse_event
    from lab.library.versions import VariantLibrary
    from lab.render.pipeline import render

    lib = VariantLibrary(ROOT / "variants")
    out = Path(tempfile.mkdtemp())
    for vid in ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost"):
        for rank in range(3, 10):
            render(lib.load(vid), parse_event({"event": "rank_up", "user": "W", "old_rank": rank, "new_rank": 2}),
                   out / "w.mp4", backend="motion", level=level, extras=False)
    shutil.rmtree(out)


def check(home: Path, env: dict[str, str], valid: int, invalid: int) -> dict:
    from lab.production.ledger import read_jsonl
    from lab.production.redis_ledger import make_ledger

    ledger = make_ledger(Path(env["HIGHLIGHT_LAB_HOME"]) / "production", env.get("HIGHLIGHT_LAB_BROKER"))
    ledger.repair()
    imps = read_jsonl(ledger.impressions_path)
    ids = [i["event_id"] for i in imps]
    dead = read_jsonl(ledger.dead_letter_path)
    videos = list(Path(env["HIGHLIGHT_LAB_OUTPUT_URL"]).glob("*.mp4"))
    result = {"videos": len(videos), "impressions": len(imps), "distinct": len(set(ids)), "dead_letters": len(dead),
              "dead_with_reason": sum(bool(d.get("reason")) for d in dead)}
    ok = (result["videos"] == result["impressions"] == result["distinct"] == valid
          and result["dead_letters"] == result["dead_with_reason"] == invalid)
    result["ok"] = ok
    service = sorted(i["render_s"] for i in imps)
    q = statistics.quantiles(service, n=100, method="inclusive")
    result["service_s"] = {"p50": q[49], "p95": q[94], "p99": q[98]}
    return result


def _render_one(args: tuple[str, str, int, str]) -> float:
    from lab.library.events import parse_event
    from lab.library.versions import VariantLibrary
    from lab.render.pipeline import render

    line, variant, level, out = args
    t0 = time.perf_counter()
    render(VariantLibrary(ROOT / "variants").load(variant), parse_event(line), Path(out), backend="motion",
           level=level, extras=False)
    return time.perf_counter() - t0


def run_ceiling(lines: list[str], home: Path, level: int, workers: int) -> dict:
    """The render-only ceiling: the same valid events rendered by ``render`` alone (no ledger, store, poster,
    push), the three arms in turn, in a pool of the same size: what the worker could reach at most."""
    from concurrent.futures import ProcessPoolExecutor

    from lab.library.events import parse_event

    env = setup(home)
    os.environ.update(env)
    warm(env, level)
    valid = []
    for line in lines:
        try:
            parse_event(line)
            valid.append(line)
        except Exception:  # noqa: BLE001 (the invalid events are the worker's to dead-letter, not rendered here)
            continue
    arms = ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")
    jobs = [(line, arms[n % 3], level, str(home / f"c{n % (4 * workers)}.mp4")) for n, line in enumerate(valid)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        service = sorted(pool.map(_render_one, jobs, chunksize=4))
    seconds = time.perf_counter() - t0
    q = statistics.quantiles(service, n=100, method="inclusive")
    return {"ok": True, "videos": len(valid), "impressions": 0, "distinct": 0, "dead_letters": 0,
            "dead_with_reason": 0, "seconds": seconds, "videos_per_s": len(valid) / seconds,
            "service_s": {"p50": q[49], "p95": q[94], "p99": q[98]}}


def run_embedded(lines: list[str], home: Path, level: int, workers: int) -> dict:
    env = setup(home)
    os.environ.update(env)
    warm(env, level)
    from lab.production.embedded import run_batch
    from lab.production.settings import WorkerSettings

    settings = WorkerSettings.from_env(level=level)
    t0 = time.perf_counter()
    summary = run_batch(((line, f"load:{n}") for n, line in enumerate(lines, 1)), settings, workers=workers)
    seconds = time.perf_counter() - t0
    out = check(home, env, summary.rendered, len(lines) - summary.rendered)
    out.update(seconds=seconds, videos_per_s=summary.rendered / seconds)
    return out


def run_celery(lines: list[str], home: Path, level: int, valid: int, invalid: int) -> dict:
    import redis

    from tests.conftest import free_port

    env = setup(home)
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    env.update({"HIGHLIGHT_LAB_BROKER": broker, "HIGHLIGHT_LAB_WORKER_LEVEL": str(level),
                "HIGHLIGHT_LAB_VISIBILITY_TIMEOUT": "10", "PYTHONPATH": str(ROOT)})
    os.environ.update(env)
    warm(env, level)
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(home)], stdout=subprocess.DEVNULL)
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        procs.append(subprocess.Popen([sys.executable, "-m", "lab.cli", "worker", "--celery", "--pool", "solo"],
                                      env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        return procs[-1]

    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
        for _ in range(100):
            with contextlib.suppress(redis.exceptions.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.1)
        from lab.production import celery_app

        celery_app.configure(broker)
        victim = start()
        start()
        dead_log = Path(env["HIGHLIGHT_LAB_HOME"]) / "production" / "dead-letter.jsonl"
        t0 = time.perf_counter()
        celery_app.enqueue((line, f"load:{n}") for n, line in enumerate(lines, 1))
        killed_at = None
        while True:  # with a Redis broker the done markers are Redis keys
            done = sum(1 for _ in client.scan_iter(match="highlight_lab:done:*", count=1000))
            dead = len(dead_log.read_text().splitlines()) if dead_log.exists() else 0
            if killed_at is None and done >= valid // 3:
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait(10)
                killed_at = done
                start()
            if done >= valid and dead >= invalid:
                break
            if time.perf_counter() - t0 > 3600:
                raise RuntimeError(f"stuck at {done} videos, {dead} dead letters")
            time.sleep(0.2)
        seconds = time.perf_counter() - t0
        time.sleep(12)  # past the visibility timeout: re-delivered messages must add nothing
        out = check(home, env, valid, invalid)
        out.update(seconds=seconds, videos_per_s=valid / seconds, killed_after=killed_at)
        return out
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--valid", type=int, default=1000)
    parser.add_argument("--invalid", type=int, default=50)
    parser.add_argument("--level", type=int, default=3, help="degrade level (3: 360p, 2 s, no particles)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="embedded pool size")
    parser.add_argument("--modes", nargs="+", default=["ceiling", "embedded", "celery"],
                        choices=["ceiling", "embedded", "celery"],
                        help="ceiling: render only, the same events and pool size (what the worker could reach)")
    args = parser.parse_args()
    lines = events(args.valid, args.invalid)
    print(f"load before: {os.getloadavg()}; {os.cpu_count()} cores; {args.valid} valid + {args.invalid} invalid "
          f"events, level {args.level}, motion backgrounds cached")
    results = {}
    for mode in args.modes:
        with tempfile.TemporaryDirectory(prefix=f"worker-load-{mode}-") as tmp:
            run = {"ceiling": lambda: run_ceiling(lines, Path(tmp), args.level, args.workers),
                   "embedded": lambda: run_embedded(lines, Path(tmp), args.level, args.workers),
                   "celery": lambda: run_celery(lines, Path(tmp), args.level, args.valid, args.invalid)}[mode]
            results[mode] = run()
        r = results[mode]
        print(f"{mode:9s} ok={r['ok']} videos={r['videos']} impressions={r['impressions']} distinct={r['distinct']} "
              f"dead={r['dead_letters']} ({r['dead_with_reason']} with reason) in {r['seconds']:.1f}s "
              f"= {r['videos_per_s']:.2f} videos/s; service p50/p95/p99 "
              + "/".join(f"{r['service_s'][k]:.3f}" for k in ("p50", "p95", "p99")) + " s"
              + (f"; worker killed after {r['killed_after']} videos" if "killed_after" in r else ""))
    if "ceiling" in results:
        for mode in ("embedded", "celery"):
            if mode in results:
                got, ceiling = results[mode]["videos_per_s"], results["ceiling"]["videos_per_s"]
                print(f"{mode} / render-only ceiling: {got / ceiling:.2f} ({got:.2f} of {ceiling:.2f} videos/s)")
    if "celery" in results and "embedded" in results:
        ratio = results["celery"]["videos_per_s"] / results["embedded"]["videos_per_s"]
        print(f"celery / embedded throughput: {ratio:.2f}")
    print(f"load after: {os.getloadavg()}")
    sys.exit(0 if all(r["ok"] for r in results.values()) else 1)


if __name__ == "__main__":
    main()
