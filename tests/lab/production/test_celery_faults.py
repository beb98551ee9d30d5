"""Issue 17 on real Celery workers and a real redis-server: garbage on the queue, tasks whose event is not
text, a worker SIGKILLed at every stage of one event, and two workers with separate folders sharing Redis."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.production.ledger import event_hash, read_jsonl
from tests.conftest import REPO, SENTINEL_NAME
from tests.lab.production.conftest import rank_events, redis_done, worker_env
from tests.lab.production.test_celery import wait_for

pytest.importorskip("celery")
redis = pytest.importorskip("redis")


def _client(url: str):
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)


def _send(url: str, *kwargs_list: dict) -> None:
    from lab.production import celery_app

    celery_app.configure(url)
    for kwargs in kwargs_list:
        celery_app.render_event.apply_async(kwargs=kwargs)


def _drained(url: str) -> bool:
    """The queue is empty and no message is held unacknowledged: every delivery has ended."""
    c = _client(url)
    try:
        return c.llen("celery") == 0 and c.hlen("unacked") == 0
    finally:
        c.close()


def test_garbage_on_the_queue_and_non_text_events_do_not_stop_the_worker(settings, redis_url, tmp_path,
                                                                          celery_workers):
    workers = celery_workers(worker_env(settings, redis_url))
    proc = workers.start()
    client = _client(redis_url)
    garbage = [b"not json at all", b"123", b"{}", b'{"properties": 5}', b'["a"]']
    for item in garbage:  # what `redis-cli lpush celery ...` puts there
        client.lpush("celery", item)
    poison = (f'{{"event": "rank_up", "user": "{SENTINEL_NAME}", "user_id": "u", "old_rank": ' + "9" * 5000 +
              ', "new_rank": 2, "event_id": "poison"}')
    valid = rank_events(2, prefix="after-garbage")
    _send(redis_url, {"line": None, "source": "t:1"}, {"line": 7, "source": "t:2"},
          {"line": {"event": "rank_up"}, "source": "t:3"}, {"line": poison, "source": "t:4"},
          *({"line": json.dumps(e), "source": f"v:{i}"} for i, e in enumerate(valid)))
    dead_letters, impressions = settings.state_dir / "dead-letter.jsonl", settings.state_dir / "impressions.jsonl"
    wait_for(lambda: redis_done(redis_url) == 2 and len(read_jsonl(dead_letters)) == 4
             and _drained(redis_url), 180, "the valid events and four dead letters", workers)
    assert proc.poll() is None  # the worker is still running
    dead = {d["source"]: d for d in read_jsonl(dead_letters)}
    for source in ("t:1", "t:2", "t:3"):
        assert dead[source]["stage"] == "validate" and "must be one line of JSON text" in dead[source]["reason"]
    assert "holds a number too long to read" in dead["t:4"]["reason"]
    assert sorted(i["event_id"] for i in read_jsonl(impressions)) == ["after-garbage-0", "after-garbage-1"]
    assert sorted(client.lrange("highlight_lab:garbage", 0, -1)) == sorted(garbage)
    log = (tmp_path / "worker-0.log").read_text(errors="replace")
    assert "Traceback" not in log and "Unrecoverable" not in log and "CRITICAL" not in log
    assert "not a task message" in log and SENTINEL_NAME not in log
    client.close()


# A worker that runs one event and SIGKILLs itself right after the named stage (a test of the ledger's order,
# so the stage's function is wrapped here, never in the product).
KILL_AT = """
import json, os, signal, sys
from lab.production import task as task_mod
from lab.production.ledger import Ledger
from lab.production.settings import WorkerSettings
from lab.production.store import OutputStore
from lab.production.task import EventTask

stage, line = sys.argv[1], sys.argv[2]
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def after(owner, name, when=lambda n: True):
    real, count = getattr(owner, name), [0]
    def wrapped(*a, **k):
        out = real(*a, **k)
        count[0] += 1
        if when(count[0]):
            die()
        return out
    setattr(owner, name, wrapped)
t = EventTask(WorkerSettings.from_env())
if stage == "claimed":
    real_claim = type(t.ledger).claim
    def claim(self, key):
        cm = real_claim(self, key)
        cm.__enter__()
        die()
    type(t.ledger).claim = claim
elif stage == "rendered":
    after(task_mod, "render")
elif stage == "stored":
    after(OutputStore, "put", when=lambda n: n == 2)
elif stage == "impression written":
    after(Ledger, "write_impression" if hasattr(Ledger, "write_impression") else "_append")  # (the latter: before
elif stage == "done marked":                                                                  # issue 17's order)
    if hasattr(Ledger, "mark_done"):
        after(Ledger, "mark_done")
    else:
        from lab.production import ledger as ledger_mod
        after(ledger_mod, "atomic_write_text")
t.handle(line, "kill:1")
print("not killed", flush=True)
"""
STAGES = ("claimed", "rendered", "stored", "impression written", "done marked")


@pytest.mark.slow
def test_a_worker_killed_at_every_stage_of_an_event_leaves_one_video_and_one_impression(settings, redis_url,
                                                                                        tmp_path, celery_workers):
    env = worker_env(settings, redis_url, visibility_timeout=600)  # claims outlive the test: only repair frees them
    events = rank_events(len(STAGES), prefix="kill")
    for stage, event in zip(STAGES, events, strict=True):
        proc = subprocess.run([sys.executable, "-c", KILL_AT, stage, json.dumps(event)], env=env, cwd=REPO,
                              capture_output=True, timeout=300)
        assert proc.returncode == -9, (stage, proc.stdout, proc.stderr[-2000:])
    workers = celery_workers(env)
    workers.start()  # the restart: repair at start, then the events are delivered again
    _send(redis_url, *({"line": json.dumps(e), "source": f"again:{i}"} for i, e in enumerate(events)))
    wait_for(lambda: redis_done(redis_url) == len(events) and _drained(redis_url), 240, "every event done", workers)
    _send(redis_url, *({"line": json.dumps(e), "source": f"third:{i}"} for i, e in enumerate(events)))
    wait_for(lambda: _drained(redis_url), 120, "the third delivery", workers)

    imps = read_jsonl(settings.state_dir / "impressions.jsonl")
    assert sorted(i["event_id"] for i in imps) == sorted(e["event_id"] for e in events)  # one each, none lost
    videos = sorted(p.stem for p in Path(settings.output_url).glob("*.mp4"))
    assert videos == sorted(event_hash(e["event_id"]) for e in events)
    assert not [p for p in (settings.state_dir / "tmp").rglob("*") if p.is_file()]  # what the killed renders left is gone
    assert "Traceback" not in "".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))


@pytest.mark.slow
def test_two_workers_with_separate_folders_and_one_redis_render_each_event_once(settings, redis_url, tmp_path,
                                                                                celery_workers):
    base = worker_env(settings, redis_url)
    homes = [tmp_path / "machine-a", tmp_path / "machine-b"]
    envs = [{**base, "HIGHLIGHT_LAB_HOME": str(h), "HIGHLIGHT_LAB_OUTPUT_URL": str(h / "videos")} for h in homes]
    first, second = celery_workers(envs[0]), celery_workers(envs[1])
    batch = rank_events(4, prefix="two-a")
    lines = [{"line": json.dumps(e), "source": f"a:{i}"} for i, e in enumerate(batch)]

    a = first.start()  # machine A renders the batch alone
    _send(redis_url, *lines)
    wait_for(lambda: redis_done(redis_url) == 4 and _drained(redis_url), 240, "machine A's batch", first)
    first.stop_all()
    assert a.poll() is not None
    second.start()  # machine B, its own folder, gets the same batch again: it knows from Redis it is done
    more = rank_events(4, prefix="two-b")
    _send(redis_url, *lines, *({"line": json.dumps(e), "source": f"b:{i}"} for i, e in enumerate(more * 2)))
    first.start()  # and both run the next batch, each event sent twice
    wait_for(lambda: redis_done(redis_url) == 8 and _drained(redis_url), 240, "both batches", second)

    imps = [i for h in homes for i in read_jsonl(h / "production" / "impressions.jsonl")]
    assert sorted(i["event_id"] for i in imps) == sorted(e["event_id"] for e in batch + more)
    videos = sorted(p.stem for h in homes for p in (h / "videos").glob("*.mp4"))
    assert videos == sorted(event_hash(e["event_id"]) for e in batch + more)
    assert os.path.exists(homes[1] / "production")  # machine B ran with its own ledger folder


@pytest.mark.parametrize(("env", "message"), [
    ({"HIGHLIGHT_LAB_WORKER_BACKEND": "nosuch"}, "unknown backend 'nosuch'"),
    ({"HIGHLIGHT_LAB_WORKER_BACKEND": "wan", "HIGHLIGHT_LAB_WAN_MODEL": ""}, "backend wan: cannot run on this machine"),
    ({"HIGHLIGHT_LAB_OUTPUT_URL": "memory://videos"}, "keeps nothing once the worker stops"),
])
def test_a_celery_worker_with_bad_settings_stops_before_taking_a_task(tmp_path, env, message):
    """Checked once at start: before issue 17 such a worker took every event and dead-lettered it."""
    full = {**os.environ, "PYTHONPATH": str(REPO), "HIGHLIGHT_LAB_HOME": str(tmp_path / "home"), **env}
    proc = subprocess.run([sys.executable, "-m", "lab.cli", "worker", "--celery", "--broker",
                           "redis://127.0.0.1:1/0"], env=full, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "home" / "production").exists()
