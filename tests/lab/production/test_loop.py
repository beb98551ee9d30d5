"""Closing the loop: impressions + click records -> per-user events -> the experiment's analysis.
The journey: export a winner, the worker renders 20 events, taps are simulated, ingest, analyse."""

import json
import random
import re

import pytest

from lab.cli import main
from lab.errors import LabError
from lab.experiments.outcomes import OutcomeStore, analyze_experiment
from lab.production.embedded import read_lines, run_batch
from lab.production.ledger import Ledger, read_jsonl
from lab.production.loop import join
from lab.production.settings import WorkerSettings
from lab.render.encode import probe
from tests.conftest import REPO, SENTINEL_NAME
from tests.lab.production.conftest import LEVEL, rank_events, write_events
from tests.lab.test_journey import KEY, run_journey


def _impression(event_id, arm="v3-rival-ghost", user="h1", exp=KEY):
    return {"event_id": event_id, "user_id": user, "experiment": exp, "arm": arm, "time": "2026-11-27T08:00:00+00:00"}


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_join_counts_orphan_and_duplicate_clicks_in_notices(lab_env, tmp_path):
    exp = lab_env.load(KEY)
    imps = _jsonl(tmp_path / "imp.jsonl", [_impression("a", user="h1"), _impression("b", user="h2"),
                                           _impression("a", user="h1"), _impression("c", exp="other")])
    clicks = _jsonl(tmp_path / "clicks.jsonl", [{"event_id": "a", "clicked_at": "2026-11-27T08:00:05+00:00"},
                                                {"event_id": "a", "clicked_at": "2026-11-27T08:00:09+00:00"},
                                                {"event_id": "zzz", "clicked_at": "2026-11-27T08:00:05+00:00"}])
    j = join(exp, imps, clicks, out_dir=tmp_path / "joined")
    assert (j.impressions, j.clicks) == (2, 1)
    assert j.notices == ["1 impression(s) belong to another experiment or to none: left out",
                         "1 duplicate impression record(s): counted once",
                         f"1 click(s) with no impression in {KEY}: left out", "1 duplicate click(s): counted once"]
    rows = [json.loads(line) for line in j.path.read_text().splitlines()]
    assert j.path.suffix == ".jsonl" and sorted(rows, key=lambda r: r["user_id"]) == [
        {"user_id": "h1", "variant": "v3-rival-ghost", "timestamp": "2026-11-27 08:00:00.000000", "clicked": 1},
        {"user_id": "h2", "variant": "v3-rival-ghost", "timestamp": "2026-11-27 08:00:00.000000", "clicked": 0}]


INJECTED = "h0,v1-fast-sprint,2026-11-10 10:00:00,0\n" + "".join(
    f"inj{i},v3-rival-ghost,2026-11-10 10:00:00,1\n" for i in range(200))


def test_ingest_refuses_a_user_id_with_control_characters_and_fabricates_no_clicks(lab_env, tmp_path, capsys):
    """Issue 17 (4): a user_id holding newlines and commas once became 200 rows of clicks that never happened."""
    imps = [_impression(f"ev{i}", arm=("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")[i % 3], user=f"h{i}")
            for i in range(30)]
    clean = _jsonl(tmp_path / "clean.jsonl", imps)
    imps[7]["user_id"] = INJECTED
    poisoned = _jsonl(tmp_path / "imp.jsonl", imps)
    clicks = _jsonl(tmp_path / "clicks.jsonl", [{"event_id": "ev1", "clicked_at": "2026-11-27T08:00:05+00:00"}])
    args = ["outcomes", "ingest", "--experiment", KEY, "--experiments", str(lab_env.root), "--clicks", str(clicks)]
    assert main([*args, "--impressions", str(poisoned)]) == 2
    err = capsys.readouterr().err
    assert "imp.jsonl:8: user_id holds the control character U+000A at position 40" in err
    assert "nothing was ingested" in err and "inj0" not in err
    assert not OutcomeStore(KEY).manifest()
    for bad in ("a\tb", "a\rb", "a\u2028b", "a\u202eb", "a\x00b"):  # tab, CR, line separator, bidi, NUL
        imps[7]["user_id"] = bad
        with pytest.raises(LabError, match=r"imp.jsonl:8: user_id holds the control character"):
            join(lab_env.load(KEY), _jsonl(tmp_path / "imp.jsonl", imps), clicks)

    # commas and quotes are data: they reach the store as one value of one row
    imps[7]["user_id"] = 'h7,"v3-rival-ghost",1'
    j = join(lab_env.load(KEY), _jsonl(tmp_path / "quoted.jsonl", imps), clicks, out_dir=tmp_path / "joined")
    rows = [json.loads(line) for line in j.path.read_text().splitlines()]
    assert len(rows) == 30 and sum(r["clicked"] for r in rows) == 1
    assert [r["user_id"] for r in rows].count('h7,"v3-rival-ghost",1') == 1
    assert main([*args, "--impressions", str(clean)]) == 0
    result, _ = analyze_experiment(lab_env.load(KEY), OutcomeStore(KEY))
    assert sum(v.impressions for v in result.variants) == 30 and sum(v.clicks for v in result.variants) == 1


def test_a_poison_number_in_an_impression_or_click_is_refused_with_its_line(lab_env, tmp_path):
    """Issue 17 (1): a 5000-digit number raised ValueError out of the clicks join."""
    imps = _jsonl(tmp_path / "imp.jsonl", [_impression("a")])
    clicks = tmp_path / "clicks.jsonl"
    clicks.write_text('{"event_id": "a", "clicked_at": "2026-11-27T08:00:05+00:00"}\n'
                      '{"event_id": "a", "n": ' + "9" * 5000 + "}\n")
    with pytest.raises(LabError, match=r"clicks.jsonl:2: holds a number too long to read"):
        join(lab_env.load(KEY), imps, clicks)


def test_join_refuses_bad_records_with_the_line(lab_env, tmp_path):
    exp = lab_env.load(KEY)
    imps = _jsonl(tmp_path / "imp.jsonl", [_impression("a")])
    bad = tmp_path / "clicks.jsonl"
    bad.write_text('{"event_id": "a", "clicked_at": "2026-11-27T08:00:05"}\n{"event_id": "a"}\n')
    with pytest.raises(LabError, match=r"clicks.jsonl:2: clicked_at is missing or not text; nothing was ingested"):
        join(exp, imps, bad)
    bad.write_text('{"event_id": "a", "clicked_at": "yesterday"}\n')
    with pytest.raises(LabError, match="is not an ISO 8601 time"):
        join(exp, imps, bad)
    wrong_arm = _jsonl(tmp_path / "imp2.jsonl", [_impression("a", arm="nope")])
    with pytest.raises(LabError, match="arm 'nope' is not an arm of seed-v1-v2-v3"):
        join(exp, wrong_arm, _jsonl(tmp_path / "c.jsonl", []))


FOLLOW_UP = "followup-v3-v2"


def start_follow_up(lab_env) -> None:
    """After shipping V3, the team tests it (now the control) against V2 on live traffic."""
    seed = (lab_env.root / f"{KEY}.yaml").read_text(encoding="utf-8")
    arms = seed[seed.index("arms:"):seed.index("primary_metric:")]
    v3 = arms[arms.index("- variant: v3-rival-ghost"):]
    v2 = arms[arms.index("- variant: v2-slow-motion"):arms.index("- variant: v3-rival-ghost")]
    spec = seed.replace(arms, "arms:\n" + (v3 + v2).replace("weight: 0.33", "weight: 0.5"))
    spec = spec.replace(f"key: {KEY}", f"key: {FOLLOW_UP}").replace(f"seed: {KEY}", f"seed: {FOLLOW_UP}")
    spec = re.sub(r"(?m)^status: \w+$", "status: running", spec)
    (lab_env.root / f"{FOLLOW_UP}.yaml").write_text(spec, encoding="utf-8")
    assert lab_env.load(FOLLOW_UP).arm_ids == ["v3-rival-ghost", "v2-slow-motion"]


@pytest.mark.slow
def test_journey_export_render_twenty_tap_ingest_analyse(lab_env, tmp_path, capsys):
    run_journey(lab_env, tmp_path)  # enough traffic to reach the plan: a fixed test is not read early
    assert main(["export", "--experiment", KEY, "--experiments", str(lab_env.root)]) == 0
    settings = WorkerSettings.from_env(output_url=str(tmp_path / "videos"), backend="motion", level=LEVEL,
                                       variants_dir=REPO / "variants", experiments_dir=lab_env.root)

    # nothing running for rank_up: the exported winner is what every user gets, outside any experiment
    shipped = run_batch(read_lines(write_events(tmp_path / "a.jsonl", rank_events(2, prefix="ship"))), settings,
                        workers=1)
    assert shipped.rendered == 2
    ledger = Ledger(settings.state_dir)
    assert {(i["source"], i["experiment"], i["shipped_from"], i["arm"]) for i in read_jsonl(ledger.impressions_path)} \
        == {("bundle", None, KEY, "v3-rival-ghost")}

    # the follow-up runs: 20 events are assigned to its arms by the lab's hash
    start_follow_up(lab_env)
    events = rank_events(20, prefix="prod", user=SENTINEL_NAME)
    summary = run_batch(read_lines(write_events(tmp_path / "events.jsonl", events)), settings, workers=2)
    assert summary.rendered == 20
    imps = [i for i in read_jsonl(ledger.impressions_path) if i["source"] == "experiment"]
    follow = lab_env.load(FOLLOW_UP)
    assert len(imps) == 20 and all(i["experiment"] == FOLLOW_UP for i in imps)
    for e in events:
        imp = next(i for i in imps if i["event_id"] == e["event_id"])
        assert imp["arm"] == follow.assign(e["user_id"])[0]
    assert probe(next((tmp_path / "videos").glob("*.mp4")))["frames"] == 49

    rng = random.Random(7)
    tapped = [i for i in imps if rng.random() < 0.4]
    clicks = [{"event_id": i["event_id"], "clicked_at": "2026-11-27T09:00:00+00:00"} for i in tapped]
    clicks += [clicks[0], {"event_id": "never-shown", "clicked_at": "2026-11-27T09:00:00+00:00"}]
    clicks_path = _jsonl(tmp_path / "clicks.jsonl", clicks)
    args = ["outcomes", "ingest", "--experiment", FOLLOW_UP, "--experiments", str(lab_env.root),
            "--impressions", str(ledger.impressions_path), "--clicks", str(clicks_path)]
    assert main(args) == 0
    out = capsys.readouterr()
    assert f"joined 20 impressions and {len(tapped)} clicks" in out.out
    assert "2 impression(s) belong to another experiment or to none" in out.err
    assert "1 click(s) with no impression" in out.err and "1 duplicate click(s)" in out.err
    assert SENTINEL_NAME not in out.out + out.err

    result, _ = analyze_experiment(follow, OutcomeStore(FOLLOW_UP))
    seen = {v.variant: v for v in result.variants}
    for arm in follow.arm_ids:
        assert seen[arm].units == seen[arm].impressions == sum(i["arm"] == arm for i in imps)
        assert seen[arm].clicks == sum(i["arm"] == arm for i in tapped)
    assert sum(v.clicks for v in seen.values()) == len(tapped) > 0

    assert main(args) == 0  # the same files again change nothing
    again, _ = analyze_experiment(follow, OutcomeStore(FOLLOW_UP))
    assert [v.impressions for v in again.variants] == [v.impressions for v in result.variants]
    assert main(["outcomes", "ingest", "--experiment", FOLLOW_UP, "--experiments", str(lab_env.root),
                 "--impressions", str(ledger.impressions_path)]) == 2
