"""The same ``EventTask`` on Celery workers with a Redis broker, for when one machine is not enough.

    highlight-lab worker --celery --broker redis://127.0.0.1:6379/0      # a worker (run one per machine)
    highlight-lab worker --events events.jsonl --broker redis://...      # send a batch to the workers
    celery -A lab.production.celery_app beat                             # the weekly batch (below)

Late acknowledgement (``acks_late`` + ``reject_on_worker_lost``): a message is acknowledged after its task
ends, so a worker killed mid-task loses nothing; Redis re-delivers it after the visibility timeout and the
ledger's claim makes a second delivery a no-op. Out of memory retries with back-off one degrade level down;
an infrastructure fault (store, push hook, model load, ledger) retries with back-off at the same level and is
never dead-lettered. With a Redis broker the ledger's claims and done markers live in Redis too
(``lab.production.redis_ledger``), so workers with separate local folders render each event once.

A worker checks its settings and repairs its ledger before it takes a task (``prepare_worker``); an item on
the queue that is not a task message is set aside (``lab.production.broker``), and a task whose event is not
text is dead-lettered like any bad event.

The weekly batch is a Celery beat entry (Sunday 02:00 UTC) that sends the events file named by
``HIGHLIGHT_LAB_WEEKLY_EVENTS``; a one-off batch is ``highlight-lab worker --events FILE``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab

from lab import config
from lab.errors import LabError
from lab.production.embedded import read_lines
from lab.production.settings import WorkerSettings
from lab.production.task import EventTask, RetryLater

log = logging.getLogger("lab.production")
TASK_NAME = "highlight_lab.render_event"
BATCH_TASK = "highlight_lab.send_batch"
REDIS_TRANSPORT = "lab.production.broker:Transport"
WEEKLY_BATCH = {"task": BATCH_TASK, "schedule": crontab(minute=0, hour=2, day_of_week="sun")}

app = Celery("highlight_lab")
_TASK: EventTask | None = None
_PREPARED: dict[str, Any] = {}


def configure(broker: str | None = None) -> Celery:
    """Point the app at ``broker`` (default ``HIGHLIGHT_LAB_BROKER``) with the delivery guarantees above."""
    url = broker or config.broker_url() or "redis://127.0.0.1:6379/0"
    vt = config.visibility_timeout_s()
    if app.conf.broker_url and app.conf.broker_url != url and app._pool is not None:  # connections of the old one
        app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
    app.conf.update(
        broker_url=url, broker_transport=REDIS_TRANSPORT if url.startswith("redis://") else None,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_ignore_result=True, task_serializer="json", accept_content=["json"], timezone="UTC",
        broker_connection_timeout=10, broker_connection_retry_on_startup=True,
        # kombu scans for messages of dead workers every interval x throttle seconds (100 s by default):
        # scan every few seconds so a killed worker's message comes back soon after the visibility timeout
        broker_transport_options={"visibility_timeout": vt, "unacked_restore_interval": max(1, min(10, vt // 2)),
                                  "unacked_restore_throttle": 1, "socket_timeout": 10, "socket_connect_timeout": 10},
        beat_schedule={"weekly-batch": {**WEEKLY_BATCH, "args": (config.weekly_events(),)}}
        if config.weekly_events() else {},
    )
    # On a GPU backend a task may generate a background: at most this often per worker.
    gpu = _uses_gpu(config.worker_backend())
    app.conf.task_annotations = {TASK_NAME: {"rate_limit": config.gpu_rate_limit()}} if gpu else None
    return app


def _uses_gpu(name: str) -> bool:
    from lab.render.backends import uses_gpu

    try:
        return uses_gpu(name)
    except LabError:  # an unknown name: prepare_worker refuses it before any task runs
        return False


def prepare_worker(broker: str | None = None) -> int:
    """Before a worker takes a task: check its settings (``LabError`` says what to fix) and repair its ledger
    (events whose impression was written but not marked done); returns how many it repaired. Once per process."""
    if "repaired" not in _PREPARED:
        settings = WorkerSettings.from_env(**({"broker": broker} if broker else {}))
        settings.check()
        _PREPARED["repaired"] = EventTask(settings).ledger.repair()
        log.info("ledger repaired at start: %d event(s)", _PREPARED["repaired"])
    return _PREPARED["repaired"]


@signals.worker_init.connect
def _on_worker_init(**_: Any) -> None:
    """``celery -A lab.production.celery_app worker`` starts here too: the same checks and repair."""
    prepare_worker(app.conf.broker_url)


def _task() -> EventTask:
    global _TASK
    if _TASK is None:
        _TASK = EventTask(WorkerSettings.from_env(broker=app.conf.broker_url))
    return _TASK


@app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def render_event(self, line: Any = None, source: Any = "task", level: Any = None, attempt: Any = 0, *_args: Any,
                 **_kwargs: Any) -> dict:
    """One event, on a worker: the same ``EventTask.handle`` the embedded pool runs. Whatever a message holds,
    the task ends in an outcome or a retry: a line that is not an event is dead-lettered by ``handle``."""
    level = level if isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 99 else None
    attempt = min(attempt, 30) if isinstance(attempt, int) and not isinstance(attempt, bool) and attempt > 0 else 0
    try:
        return _task().handle(line, source, level=level, attempt=attempt).to_dict()
    except RetryLater as retry:
        if retry.fault:
            log.warning("event retried in %.0f s: %s", retry.countdown_s, retry)
        raise self.retry(kwargs={"line": line, "source": source,
                                 "level": retry.level if retry.level is not None else level,
                                 "attempt": retry.attempt}, countdown=retry.countdown_s) from None


@app.task(name=BATCH_TASK, acks_late=True)
def send_batch(path: str) -> int:
    """Send every line of an events file to the render workers (the weekly beat entry calls this)."""
    return enqueue(read_lines(path))


def enqueue(lines) -> int:
    """Send ``(line, source)`` pairs to the broker; returns how many were sent."""
    sent = 0
    for line, source in lines:
        render_event.apply_async(kwargs={"line": line, "source": source})
        sent += 1
    return sent


def start_worker(broker: str | None, concurrency: int = 1, pool: str = "prefork", name: str | None = None) -> None:
    """Run a worker in this process until it is stopped (SIGTERM finishes the current task first).

    Its settings are checked and its ledger repaired first (``prepare_worker``): a bad setting stops it here."""
    configure(broker)
    prepare_worker(app.conf.broker_url)
    node = name or f"highlight-lab-{os.getpid()}@%h"
    app.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}", f"--pool={pool}", "-n", node,
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])


configure()
