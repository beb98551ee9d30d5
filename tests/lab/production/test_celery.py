"""The same task on real Celery workers with a real Redis broker: two workers, one killed with SIGKILL
mid-run and restarted; every valid event gives exactly one video and one impression, every invalid one a
dead letter with its reason. The small version of benchmarks/worker_load.py."""

import json
import os
import time
from pathlib import Path

import pytest

from lab.cli import main
from lab.production.ledger import read_jsonl
from lab.production.redis_ledger import make_ledger
from lab.render.encode import probe
from tests.conftest import SENTINEL_NAME
from tests.lab.production.conftest import rank_events, redis_done, worker_env, write_events

pytest.importorskip("celery")


def wait_for(predicate, timeout: float, what: str, workers=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            logs = "".join(p.read_text(errors="replace")[-1500:] for p in Path(workers.log_dir).glob("worker-*.log")) \
                if workers else ""
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def test_two_celery_workers_one_killed_mid_run_lose_nothing_and_duplicate_nothing(settings, redis_url, tmp_path,
                                                                                 celery_workers, monkeypatch, capsys):
    valid = rank_events(50, prefix="cel", user=SENTINEL_NAME)
    invalid = [json.dumps({"event": "rank_up", "user": "X", "user_id": f"u{i}", "new_rank": 2, "event_id": f"bad-{i}"})
               for i in range(5)]
    # five valid events are sent twice: two workers may hold the same event id at once
    path = write_events(tmp_path / "events.jsonl", valid + valid[:5], extra_lines=tuple(invalid))
    workers = celery_workers(worker_env(settings, redis_url, visibility_timeout=6))
    first, _ = workers.start(), workers.start()
    ledger = make_ledger(settings.state_dir, redis_url)
    done = lambda: redis_done(redis_url)  # noqa: E731  (with a Redis broker the done markers live in Redis)

    assert main(["worker", "--events", str(path), "--broker", redis_url]) == 0
    assert f"sent 60 events to {redis_url}" in capsys.readouterr().out
    wait_for(lambda: done() >= 8, 180, "the first videos", workers)
    workers.kill(first)  # SIGKILL mid-run: its current message is unacknowledged
    workers.start()
    wait_for(lambda: done() == 50 and len(read_jsonl(ledger.dead_letter_path)) == 5, 240, "all events", workers)
    time.sleep(8)  # past the visibility timeout: a re-delivered message must change nothing
    ledger.repair()

    imps = read_jsonl(ledger.impressions_path)
    assert sorted(i["event_id"] for i in imps) == sorted(e["event_id"] for e in valid)  # no loss, no duplicate
    videos = sorted(Path(settings.output_url).glob("*.mp4"))
    assert len(videos) == 50 and not list(Path(settings.output_url).glob(".*"))
    assert probe(videos[0])["frames"] == 49
    dead = read_jsonl(ledger.dead_letter_path)
    assert len(dead) == 5 and all("old_rank: is required" in d["reason"] for d in dead)
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))
    assert "received" in logs and SENTINEL_NAME not in logs  # the workers log task ids, never a name


def test_celery_app_acknowledges_late_and_schedules_the_weekly_batch(monkeypatch, tmp_path):
    from celery.schedules import crontab

    from lab.production import celery_app

    monkeypatch.delenv("HIGHLIGHT_LAB_BROKER", raising=False)
    monkeypatch.setenv("HIGHLIGHT_LAB_WEEKLY_EVENTS", str(tmp_path / "weekly.jsonl"))
    app = celery_app.configure("redis://127.0.0.1:1/0")
    assert "HIGHLIGHT_LAB_BROKER" not in os.environ  # configuring the app changes no one else's setting
    task = app.tasks[celery_app.TASK_NAME]
    assert task.acks_late and task.reject_on_worker_lost and app.conf.worker_prefetch_multiplier == 1
    entry = app.conf.beat_schedule["weekly-batch"]
    assert entry["schedule"] == crontab(minute=0, hour=2, day_of_week="sun")
    assert entry["task"] == celery_app.BATCH_TASK and entry["args"] == (str(tmp_path / "weekly.jsonl"),)
    monkeypatch.setenv("HIGHLIGHT_LAB_WORKER_BACKEND", "wan")
    app = celery_app.configure("redis://127.0.0.1:1/0")
    assert app.conf.task_annotations[celery_app.TASK_NAME]["rate_limit"] == "30/m"
