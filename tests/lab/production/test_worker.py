"""The embedded worker on real renders: videos decoded, impressions, dead letters, idempotency under
concurrency, crash safety of a claim, push with retries, an fsspec output store."""

import io
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from lab import config
from lab.cli import main
from lab.errors import LabError
from lab.experiments.privacy import hash_id
from lab.experiments.registry import make_bundle
from lab.library.versions import VariantLibrary
from lab.production import embedded
from lab.production.embedded import read_lines, run_batch
from lab.production.ledger import Ledger, event_hash, read_jsonl
from lab.production.store import OutputStore
from lab.production.task import BUSY, DUPLICATE, RENDERED, EventTask
from lab.render.encode import probe
from lab.storage import atomic_write_text
from tests.conftest import REPO, SENTINEL_NAME
from tests.lab.production.conftest import LEVEL, rank_events, write_events


def test_worker_renders_each_event_once_and_a_second_run_does_nothing(settings, tmp_path):
    events = rank_events(4, user=SENTINEL_NAME)
    path = write_events(tmp_path / "events.jsonl", events, extra_lines=(
        '{"event": "rank_up", "user": "X", "user_id": "u", "new_rank": 2, "event_id": "no-old-rank"}',
        "not json at all",
        json.dumps({"event": "rank_up", "user": "Y", "old_rank": 3, "new_rank": 2, "event_id": "no-user-id"}),
    ))
    first = run_batch(read_lines(path), settings, workers=1)
    assert (first.rendered, first.counts["invalid"]) == (4, 3)

    videos = sorted(Path(settings.output_url).glob("*.mp4"))
    assert [v.stem for v in videos] == sorted(event_hash(e["event_id"]) for e in events)
    info = probe(videos[0])
    assert (info["codec"], info["height"], info["frames"]) == ("h264", 352, 49)  # level 3: 360p (snapped to 352), 2 s at 24 fps
    assert all(v.with_suffix(".poster.png").stat().st_size > 0 for v in videos)

    ledger = Ledger(settings.state_dir)
    imps = read_jsonl(ledger.impressions_path)
    assert sorted(i["event_id"] for i in imps) == sorted(e["event_id"] for e in events)
    exp = settings.experiments_dir / "seed-v1-v2-v3.yaml"
    assert exp.exists()
    for imp in imps:
        e = next(e for e in events if e["event_id"] == imp["event_id"])
        assert imp["user_id"] == hash_id(e["user_id"]) and imp["experiment"] == "seed-v1-v2-v3"
        assert imp["source"] == "experiment" and imp["level"] == LEVEL and len(imp["variant_version"]) == 12
        assert set(imp) >= {"event_id", "user_id", "experiment", "arm", "variant_version", "level", "time", "video"}
    dead = read_jsonl(ledger.dead_letter_path)
    reasons = sorted(d["reason"] for d in dead)
    assert len(dead) == 3
    assert any("old_rank: is required for a rank_up event" in r for r in reasons)
    assert any("not valid JSON" in r for r in reasons)
    assert any("user_id: is required in production" in r for r in reasons)

    # privacy: the name is in the pixels only, never in a file name, an impression or a dead letter
    everything = [p for p in tmp_path.rglob("*")]
    assert not any(SENTINEL_NAME.split()[0] in p.name for p in everything)
    for f in (ledger.impressions_path, ledger.dead_letter_path):
        assert SENTINEL_NAME not in f.read_text(encoding="utf-8")

    before = {v: v.stat().st_mtime_ns for v in videos}
    second = run_batch(read_lines(path), settings, workers=1)
    assert second.rendered == 0 and second.counts["duplicate"] == 7
    assert {v: v.stat().st_mtime_ns for v in videos} == before
    assert len(read_jsonl(ledger.impressions_path)) == 4 and len(read_jsonl(ledger.dead_letter_path)) == 3


def test_every_delivery_repeated_in_a_two_process_pool_gives_one_video_each(settings, tmp_path):
    events = rank_events(6)
    path = write_events(tmp_path / "events.jsonl", events * 4)  # each event delivered four times
    summary = run_batch(read_lines(path), settings, workers=2)
    assert summary.rendered == 6
    assert summary.counts["duplicate"] + summary.counts["busy"] == 18
    imps = read_jsonl(Ledger(settings.state_dir).impressions_path)
    assert sorted(i["event_id"] for i in imps) == sorted(e["event_id"] for e in events)
    assert len(list(Path(settings.output_url).glob("*.mp4"))) == 6


def _race(settings, line, barrier, results):
    task = EventTask(settings)
    barrier.wait()
    results.put(task.handle(line, "race:1").status)


def test_the_same_event_to_four_processes_at_once_renders_once(settings):
    line = json.dumps(rank_events(1, prefix="race")[0])
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(settings, line, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    statuses = sorted(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(10)
    assert statuses.count(RENDERED) == 1
    assert set(statuses) <= {RENDERED, BUSY, DUPLICATE}
    assert len(read_jsonl(Ledger(settings.state_dir).impressions_path)) == 1


def test_a_claim_held_by_a_killed_process_is_free_again(tmp_path):
    ledger = Ledger(tmp_path / "state")
    code = ("import sys, time; from lab.production.ledger import Ledger\n"
            f"l = Ledger({str(tmp_path / 'state')!r})\n"
            "with l.claim('abc') as held:\n    print(held, flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env={**os.environ,
                                                                                        "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout.readline().strip() == b"True"
        with ledger.claim("abc") as held:
            assert held is False  # a live holder keeps it
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        with ledger.claim("abc") as held:
            assert held is True  # the kernel dropped the dead worker's lock
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_push_is_retried_and_a_dead_hook_is_retried_next_run_without_rerendering(settings, tmp_path, webhook):
    flaky = webhook(fail_first=2)
    s = settings.__class__(**{**settings.__dict__, "webhook_url": flaky.url, "push_retries": 3,
                              "push_timeout_s": 2.0})
    events = rank_events(2, prefix="push")
    path = write_events(tmp_path / "events.jsonl", events)
    summary = run_batch(read_lines(path), s, workers=1)
    assert summary.rendered == 2 and flaky.attempts == 4  # two 503s, then one success per event
    got = {r["event_id"]: r for r in flaky.received}
    assert set(got) == {"push-0", "push-1"}
    key = event_hash("push-0")
    assert got["push-0"]["video_url"].endswith(f"{key}.mp4") and got["push-0"]["poster_url"].endswith(".poster.png")
    assert got["push-0"]["arm"] in ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")

    down = webhook(fail_first=10_000)
    s2 = s.__class__(**{**s.__dict__, "webhook_url": down.url, "push_retries": 1,
                        "state_dir": tmp_path / "state2", "output_url": str(tmp_path / "videos2")})
    one = write_events(tmp_path / "one.jsonl", rank_events(1, prefix="down"))
    first = run_batch(read_lines(one), s2, workers=1)
    # a push hook that is down is a fault: retried with back-off, never dead-lettered, and the run says so
    assert first.counts["push_failed"] == 1 and not first.ok and "HTTP 503" in first.stopped
    assert down.attempts == 2 * (embedded.FAULT_RETRIES + 1)
    assert not read_jsonl(Ledger(s2.state_dir).dead_letter_path)
    video = next(Path(s2.output_url).glob("*.mp4"))
    mtime = video.stat().st_mtime_ns
    down.fail_first = 0  # the hook is back: the next run pushes the stored video, rendering nothing
    again = run_batch(read_lines(one), s2, workers=1)
    assert again.ok and again.counts["duplicate"] == 1 and video.stat().st_mtime_ns == mtime
    assert [r["event_id"] for r in down.received] == ["down-0"]
    assert run_batch(read_lines(one), s2, workers=1).counts["duplicate"] == 1 and len(down.received) == 1


def test_fsspec_output_store_and_one_that_cannot_persist_is_refused(settings, tmp_path):
    pytest.importorskip("fsspec")
    url = f"local://{tmp_path / 'fsspec-videos'}"  # the fsspec path (not the local-folder one), persisted on disk
    (tmp_path / "fsspec-videos").mkdir()
    s = settings.__class__(**{**settings.__dict__, "output_url": url})
    assert run_batch(read_lines(write_events(tmp_path / "e.jsonl", rank_events(1, prefix="mem"))), s, workers=1).ok
    key = event_hash("mem-0")
    assert probe(tmp_path / "fsspec-videos" / f"{key}.mp4")["frames"] == 49
    imp = read_jsonl(Ledger(s.state_dir).impressions_path)[0]
    assert imp["video"] == f"{url}/{key}.mp4"
    with pytest.raises(LabError, match="refused object name"):
        OutputStore(str(tmp_path)).put(tmp_path / "fsspec-videos" / f"{key}.mp4", "../escape.mp4")
    # Issue 17 (2): memory:// kept the videos only as long as the process, while impressions pointed at them
    gone = settings.__class__(**{**settings.__dict__, "output_url": "memory://highlight-test/videos",
                                 "state_dir": tmp_path / "state-mem"})
    with pytest.raises(LabError, match="keeps nothing once the worker stops"):
        run_batch(read_lines(tmp_path / "e.jsonl"), gone, workers=1)
    assert not (tmp_path / "state-mem").exists()  # refused before any event was touched


def test_cli_worker_embedded_with_a_summary(settings, tmp_path, capsys, monkeypatch):
    path = write_events(tmp_path / "events.jsonl", rank_events(3, prefix="cli"), extra_lines=("{}",))
    args = ["worker", "--events", str(path), "--out", str(tmp_path / "cli-out"), "--backend", "motion",
            "--level", str(LEVEL), "--workers", "2"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "3 videos in" in out.out and "invalid 1" in out.out and "videos/s" in out.err
    assert main(args + ["--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["counts"] == {"duplicate": 4}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(rank_events(1, prefix="stdin")[0]) + "\n"))
    assert main(["worker", "--events", "-", "--out", str(tmp_path / "cli-out"), "--backend", "motion", "--level",
                 str(LEVEL), "--workers", "1"]) == 0
    assert "1 videos in" in capsys.readouterr().out
    assert main(["worker"]) == 2
    assert "give --events FILE" in capsys.readouterr().err
    assert main(["worker", "--events", str(tmp_path / "missing.jsonl")]) == 2


def test_an_event_with_no_variant_to_show_is_dead_lettered_and_rendered_once_one_ships(settings, tmp_path):
    defend = {"event": "defend", "user": "Alice", "user_id": "u-d", "new_rank": 4, "event_id": "defend-1"}
    path = write_events(tmp_path / "defend.jsonl", [defend])
    first = run_batch(read_lines(path), settings, workers=1)
    assert first.counts["failed"] == 1 and not first.rendered
    ledger = Ledger(settings.state_dir)
    dead = read_jsonl(ledger.dead_letter_path)
    assert [d["stage"] for d in dead] == ["choose"]
    assert "scenario defend: no running experiment and no production bundle" in dead[0]["reason"]
    again = run_batch(read_lines(path), settings, workers=1)
    assert again.counts["failed"] == 1 and len(read_jsonl(ledger.dead_letter_path)) == 1  # not doubled

    # a defend variant ships (the bundle `workflow.export` writes): the same file now renders the event
    variant = VariantLibrary(REPO / "variants").load("defend-shield")
    decision = SimpleNamespace(action="ship", arm=variant.id, headline="ship defend-shield", reasons=())
    bundle = make_bundle(variant, "defend-test", decision, False, None, "highlight_lab_defend", 1)
    atomic_write_text(config.exports_dir("defend") / "production.json", json.dumps(bundle))
    shipped = run_batch(read_lines(path), settings, workers=1)
    assert shipped.rendered == 1
    imp = read_jsonl(ledger.impressions_path)[-1]
    assert (imp["source"], imp["arm"], imp["experiment"], imp["shipped_from"]) == ("bundle", "defend-shield", None,
                                                                                 "defend-test")

