"""The same ``EventTask`` on Celery workers with a Redis broker, for when one machine is not enough.

    highlight-lab worker --celery --broker redis://127.0.0.1:6379/0      # a worker (run one per machine)
    highlight-lab worker --events events.jsonl --broker redis://...      # send a batch to the workers
    celery -A lab.production.celery_app beat                             # the weekly batch (below)

Late acknowledgement (``acks_late`` + ``reject_on_worker_lost``): a message is acknowledged after its task
ends, so a worker killed mid-task loses nothing; Redis re-delivers it after the visibility timeout and the
ledger's claim makes a second delivery a no-op. Out of memory retries with back-off one degrade level down.

The weekly batch is a Celery beat entry (Sunday 02:00 UTC) that sends the events file named by
``HIGHLIGHT_LAB_WEEKLY_EVENTS``; a one-off batch is ``highlight-lab worker --events FILE``.
"""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.schedules import crontab

from lab import config
from lab.production.embedded import read_lines
from lab.production.settings import WorkerSettings
from lab.production.task import EventTask, RetryLater

log = logging.getLogger("lab.production")
TASK_NAME = "highlight_lab.render_event"
BATCH_TASK = "highlight_lab.send_batch"
GPU_BACKENDS = ("wan", "tiny-wan")
WEEKLY_BATCH = {"task": BATCH_TASK, "schedule": crontab(minute=0, hour=2, day_of_week="sun")}

app = Celery("highlight_lab")
_TASK: EventTask | None = None


def configure(broker: str | None = None) -> Celery:
    """Point the app at ``broker`` (default ``HIGHLIGHT_LAB_BROKER``) with the delivery guarantees above."""
    url = broker or config.broker_url() or "redis://127.0.0.1:6379/0"
    vt = config.visibility_timeout_s()
    app.conf.update(
        broker_url=url, task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
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
    gpu = config.worker_backend() in GPU_BACKENDS
    app.conf.task_annotations = {TASK_NAME: {"rate_limit": config.gpu_rate_limit()}} if gpu else None
    return app


def _task() -> EventTask:
    global _TASK
    if _TASK is None:
        _TASK = EventTask(WorkerSettings.from_env())
    return _TASK


@app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def render_event(self, line: str, source: str, level: int | None = None, attempt: int = 0) -> dict:
    """One event, on a worker: the same ``EventTask.handle`` the embedded pool runs."""
    try:
        return _task().handle(line, source, level=level, attempt=attempt).to_dict()
    except RetryLater as retry:
        raise self.retry(kwargs={"line": line, "source": source, "level": retry.level, "attempt": retry.attempt},
                         countdown=retry.countdown_s) from None


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
    """Run a worker in this process until it is stopped (SIGTERM finishes the current task first)."""
    configure(broker)
    node = name or f"highlight-lab-{os.getpid()}@%h"
    app.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}", f"--pool={pool}", "-n", node,
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])


configure()
