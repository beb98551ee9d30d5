"""Failures sorted by cause (issue 17), on the embedded worker with real renders and real stores:

- bad input (a poison event) is dead-lettered with its reason, and the valid events after it render;
- a fault of the machinery (the output store down) is retried with back-off, never dead-lettered: the run
  exits non-zero and says what to fix, and the next run renders every event;
- bad settings (backend, level, store, pool size) stop the command before any event is touched.
"""

import json
from pathlib import Path

import pytest

from lab.cli import main
from lab.production.embedded import pool_size, read_lines, run_batch
from lab.production.ledger import Ledger, read_jsonl
from lab.render.encode import probe
from tests.conftest import SENTINEL_NAME, free_port
from tests.lab.production.conftest import LEVEL, rank_events, write_events

POISON = ('{"event": "rank_up", "user": "%s", "user_id": "u-poison", "old_rank": ' + "9" * 5000 +
          ', "new_rank": 2, "event_id": "poison-0"}')


@pytest.mark.parametrize("workers", [1, 2])
def test_a_poison_event_is_dead_lettered_and_the_events_after_it_render(settings, tmp_path, workers):
    events = rank_events(3, prefix=f"after-poison-{workers}")
    path = tmp_path / "events.jsonl"
    path.write_text(POISON % SENTINEL_NAME + "\n" + "".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    first = run_batch(read_lines(path), settings, workers=workers)
    assert first.ok and (first.rendered, first.counts["invalid"]) == (3, 1)
    ledger = Ledger(settings.state_dir)
    dead = read_jsonl(ledger.dead_letter_path)
    assert len(dead) == 1 and dead[0]["stage"] == "validate" and dead[0]["source"] == "events.jsonl:1"
    assert "holds a number too long to read" in dead[0]["reason"]
    text = ledger.dead_letter_path.read_text(encoding="utf-8")
    assert "9" * 50 not in text and SENTINEL_NAME not in text  # the reason, never the line or a would-be name
    again = run_batch(read_lines(path), settings, workers=workers)  # a rerun goes past it the same way
    assert again.ok and again.counts["duplicate"] == 4 and len(read_jsonl(ledger.dead_letter_path)) == 1


def test_event_validate_refuses_the_poison_event_with_one_line(tmp_path, capsys):
    path = tmp_path / "poison.json"
    path.write_text(POISON % "Alice", encoding="utf-8")
    assert main(["event", "validate", f"@{path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "holds a number too long to read" in err and "Traceback" not in err


@pytest.mark.parametrize("store", ["http", "fsspec-folder"])
def test_an_output_store_that_is_down_is_a_fault_not_a_dead_letter(settings, tmp_path, capsys, store):
    """The store refuses every write: the run stops non-zero naming the store; once it is back, the same
    command renders every event (before issue 17 each was dead-lettered and the rerun said "duplicate")."""
    path = write_events(tmp_path / "events.jsonl", rank_events(3, prefix=f"down-{store}"))
    folder = tmp_path / "later"
    down = f"http://127.0.0.1:{free_port()}/x" if store == "http" else f"local://{folder}"
    args = ["worker", "--events", str(path), "--backend", "motion", "--level", str(LEVEL), "--workers", "1"]
    assert main([*args, "--out", down]) == 1
    out = capsys.readouterr()
    assert "the run stopped on a fault (2 events not reached)" in out.err
    assert "check the output store (HIGHLIGHT_LAB_OUTPUT_URL / --out)" in out.err and "run the same command" in out.err
    assert "fault: store:" in out.out and "Traceback" not in out.out + out.err
    ledger = Ledger(settings.state_dir)
    assert not read_jsonl(ledger.dead_letter_path) and not read_jsonl(ledger.impressions_path)

    folder.mkdir()  # the store is back (for http: the same events go to a folder that works)
    assert main([*args, "--out", f"local://{folder}"]) == 0
    assert "3 videos in" in capsys.readouterr().out
    videos = sorted(folder.glob("*.mp4"))
    assert len(videos) == 3 and probe(videos[0])["frames"] == 49
    assert len(read_jsonl(ledger.impressions_path)) == 3 and not read_jsonl(ledger.dead_letter_path)


@pytest.mark.parametrize(("env", "flags", "message"), [
    ({"HIGHLIGHT_LAB_WORKER_BACKEND": "nosuch"}, [], "unknown backend 'nosuch'"),
    ({"HIGHLIGHT_LAB_WAN_MODEL": ""}, ["--backend", "wan"], "backend wan: cannot run on this machine"),
    ({"HIGHLIGHT_LAB_WORKER_LEVEL": "-5"}, [], "HIGHLIGHT_LAB_WORKER_LEVEL: '-5' is not a degrade level"),
    ({}, ["--level", "-5"], "argument --level: must be a whole number at least 0, got -5"),
    ({}, ["--level", "99"], "level: 99 is past every variant's last degrade level (4)"),
    ({"HIGHLIGHT_LAB_ENCODER": "h264_nvenc"}, [], "HIGHLIGHT_LAB_ENCODER: h264_nvenc does not open on this machine"),
    ({"HIGHLIGHT_LAB_OUTPUT_URL": "memory://videos"}, [], "keeps nothing once the worker stops"),
    ({"HIGHLIGHT_LAB_OUTPUT_URL": "ftp://bob:s3cret@127.0.0.1:1/x"}, [], "cannot reach 'ftp://***@127.0.0.1:1/x'"),
    ({"HIGHLIGHT_LAB_OUTPUT_URL": "/proc/nope/videos"}, [], "cannot create the folder '/proc/nope/videos'"),
    ({}, ["--workers", "100000"], f"100000 render processes asked for; this machine has {pool_size()} core"),
    ({}, ["--workers", "-1"], "argument --workers: must be a whole number at least 1, got -1"),
])
def test_bad_settings_stop_the_worker_before_any_event_is_touched(settings, tmp_path, capsys, monkeypatch, env,
                                                                  flags, message):
    from lab.render import encode

    monkeypatch.setattr(encode, "nvenc_opens", lambda: False)  # every machine reads as one without NVENC
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = write_events(tmp_path / "events.jsonl", rank_events(2, prefix="settings"))
    out = [] if "HIGHLIGHT_LAB_OUTPUT_URL" in env else ["--out", str(tmp_path / "v")]
    assert main(["worker", "--events", str(path), *out, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not Path(settings.state_dir).exists() and not (tmp_path / "v").exists()  # nothing was touched
