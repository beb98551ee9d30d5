"""The production worker: in process, sent to Celery, or a Celery worker."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lab import config
from lab.cli.common import _int_in, _print_json, add
from lab.errors import LabError

EXIT_FAULT = 1  # the machinery failed (store, push hook, model, ledger): nothing lost, run again once fixed


def cmd_worker(args: argparse.Namespace) -> int:
    """Render rank events: in process (``--events``), sent to Celery (``--events --broker``), or a worker."""
    broker = args.broker or config.broker_url()
    if args.celery:
        from lab.production.celery_app import start_worker

        start_worker(broker, concurrency=args.concurrency, pool=args.pool)
        return 0
    if not args.events:
        raise LabError("worker", "nothing to do", "give --events FILE (or - for stdin), or --celery to start a worker")
    from lab.production.embedded import read_lines

    if broker:
        if args.out:
            raise LabError("--out", "Celery workers write to their own output store, not the sender's",
                           "set HIGHLIGHT_LAB_OUTPUT_URL where the workers run, and drop --out here")
        from lab.production.celery_app import configure, enqueue

        configure(broker)
        print(f"sent {enqueue(read_lines(args.events))} events to {broker}")
        return 0
    from lab.production.embedded import check_workers, run_batch
    from lab.production.settings import WorkerSettings

    check_workers(args.workers)
    settings = WorkerSettings.from_env(output_url=args.out, backend=args.backend, level=args.level,
                                       webhook_url=args.webhook, variants_dir=args.dir.resolve())
    settings.check()  # before any event is touched: a bad setting is fixed, never dead-lettered
    total = None if args.events == "-" else sum(1 for _ in read_lines(args.events))
    summary = run_batch(read_lines(args.events), settings, workers=args.workers, total=total,
                        progress=None if args.json else sys.stderr)
    if args.json:
        _print_json(summary.to_dict())
    else:
        c = summary.counts
        print(f"{summary.rendered} videos in {summary.seconds:.1f}s ({summary.videos_per_s:.1f} videos/s, "
              f"{summary.workers} processes); already done {c['duplicate']}, in progress elsewhere {c['busy']}, "
              f"invalid {c['invalid']}, failed {c['failed']}, push failed {c['push_failed']}")
        print(f"latency p50 {summary.percentile(50):.2f}s, p95 {summary.percentile(95):.2f}s; "
              f"output {settings.output_url}; ledger {settings.state_dir}")
        for reason in summary.reasons:
            print(f"  {reason}")
    if not summary.ok:
        left = f" ({total - sum(summary.counts.values())} events not reached)" if total else ""
        print(f"error: the run stopped on a fault{left}: {summary.stopped}. Nothing was dead-lettered for it: fix "
              "it and run the same command again; it picks up every event not done.", file=sys.stderr)
        return EXIT_FAULT
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the top-level subparsers."""
    from lab.render.backends import BACKENDS

    p = add(sub, "worker", cmd_worker, "render rank events into per-user videos (in process or on Celery)")
    p.add_argument("--events", help="JSON-lines file of rank events, or - for stdin")
    p.add_argument("--out", help="output store: a folder or fsspec URL (default: $HIGHLIGHT_LAB_OUTPUT_URL)")
    p.add_argument("--broker", help="Celery broker, e.g. redis://127.0.0.1:6379/0 (default: $HIGHLIGHT_LAB_BROKER)")
    p.add_argument("--celery", action="store_true", help="start a Celery worker on the broker")
    p.add_argument("--concurrency", type=_int_in(1), default=1, help="processes of a Celery worker (default 1)")
    p.add_argument("--pool", choices=("prefork", "solo"), default="prefork", help="Celery pool (default prefork)")
    p.add_argument("--workers", type=_int_in(1), help="processes of the embedded pool, at most one per core "
                   "(default: one per core)")
    p.add_argument("--backend", choices=BACKENDS, help="background backend (default: $HIGHLIGHT_LAB_WORKER_BACKEND)")
    p.add_argument("--level", type=_int_in(0), help="fixed degrade level (default: chosen per render)")
    p.add_argument("--webhook", help="push hook URL (default: $HIGHLIGHT_LAB_WEBHOOK_URL)")
