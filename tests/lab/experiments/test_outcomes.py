"""Outcome ingestion: validated against the arms, idempotent, pseudonymised, all-or-nothing."""

import duckdb
import pytest

from lab.errors import LabError
from lab.experiments.outcomes import OutcomeStore, analyze_experiment
from lab.experiments.simulate import simulate

ARMS = "v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost"
TRUE = dict(zip(ARMS, (0.23, 0.31, 0.38), strict=True))


def counts_file(tmp_path, name="c.csv", rows=None):
    rows = rows or [("v1-fast-sprint", 1000, 230, 40), ("v2-slow-motion", 1000, 310, 38),
                    ("v3-rival-ghost", 1000, 380, 41)]
    p = tmp_path / name
    p.write_text("variant,impressions,clicks,dismissals\n" + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows))
    return p


def snapshot(root):
    return sorted((p.relative_to(root).as_posix(), p.read_bytes()) for p in root.rglob("*") if p.is_file()
                  and not p.name.startswith("."))


def test_counts_are_pooled_and_double_ingestion_counts_once(lab_env, tmp_path):
    exp = lab_env.load("seed-v1-v2-v3")
    store = OutcomeStore(exp.key)
    first = store.ingest(exp, counts_file(tmp_path, "day1.csv"))
    again = store.ingest(exp, counts_file(tmp_path, "day1-copy.csv"))  # same bytes, another name
    second = store.ingest(exp, counts_file(tmp_path, "day2.csv", [("v1-fast-sprint", 500, 100, 0),
                                                                   ("v2-slow-motion", 500, 160, 0),
                                                                   ("v3-rival-ghost", 500, 200, 0)]))
    assert (first.duplicate, again.duplicate, second.duplicate) == (False, True, False)
    result, data = analyze_experiment(exp, store)
    assert [(v.variant, v.impressions, v.clicks) for v in result.variants] == [
        ("v1-fast-sprint", 1500, 330), ("v2-slow-motion", 1500, 470), ("v3-rival-ghost", 1500, 580)]
    assert data.arms[0].guardrails == {"dismissals": 40}


@pytest.mark.parametrize("body, message", [
    ("variant,impressions,clicks\nv1-fast-sprint,100,20\nv9,100,30\n",
     "row 2, column variant: unknown variant 'v9'; the experiment's arms are v1-fast-sprint, v2-slow-motion, "
     "v3-rival-ghost"),
    ("variant,impressions,clicks\nv1-fast-sprint,100,120\n",
     "row 1, column clicks: 120 clicks is more than 100 impressions"),
    ("variant,impressions,clicks,optouts\nv1-fast-sprint,100,20,1\n",
     "column 'optouts' is not a metric of experiment seed-v1-v2-v3 (guardrails: dismissals)"),
])
def test_a_bad_file_names_row_and_column_and_changes_nothing(lab_env, tmp_path, body, message):
    exp = lab_env.load("seed-v1-v2-v3")
    store = OutcomeStore(exp.key)
    store.ingest(exp, counts_file(tmp_path))
    before = snapshot(store.root)
    bad = tmp_path / "bad.csv"
    bad.write_text(body)
    with pytest.raises(LabError) as info:
        store.ingest(exp, bad)
    assert str(info.value) == f"outcomes: {bad}: {message}; nothing was added to the store"
    assert snapshot(store.root) == before


def test_events_are_stored_with_hashed_ids_and_kinds_do_not_mix(lab_env, tmp_path):
    exp = lab_env.load("seed-v1-v2-v3")
    store = OutcomeStore(exp.key)
    files = simulate(exp, TRUE, daily=400, days=2, out_dir=tmp_path / "sim")
    for f in files:
        store.ingest(exp, f)
    stored = store.root / "events" / "*.parquet"
    ids = {r[0] for r in duckdb.sql(f"SELECT DISTINCT user_id FROM read_parquet('{stored}')").fetchall()}
    assert ids and not any(i.startswith("sim-") for i in ids) and all(len(i) == 20 for i in ids)
    raw = {r[0] for r in duckdb.sql(f"SELECT DISTINCT user_id FROM read_parquet('{tmp_path}/sim/*.parquet')").fetchall()}
    assert len(ids) == len(raw)  # one pseudonym per user: per-user statistics are unchanged
    result, data = analyze_experiment(exp, store)
    assert result.unit == "user" and sum(v.impressions for v in result.variants) == 800
    with pytest.raises(LabError, match="is a counts file but experiment seed-v1-v2-v3 already holds events"):
        store.ingest(exp, counts_file(tmp_path))


def test_no_outcomes_yet(lab_env):
    exp = lab_env.load("seed-v1-v2-v3")
    with pytest.raises(LabError, match="has no outcomes yet; ingest some with"):
        analyze_experiment(exp, OutcomeStore(exp.key))


def test_simulated_files_are_labelled(lab_env, tmp_path):
    import pyarrow.parquet as pq

    exp = lab_env.load("seed-v1-v2-v3")
    (path,) = simulate(exp, TRUE, daily=50, days=1, out_dir=tmp_path)
    table = pq.read_table(path)
    assert path.name.startswith("simulated-")
    assert table.schema.metadata[b"highlight_lab.source"] == b"simulated"
    assert set(table.column("source").to_pylist()) == {"simulated"}
    with pytest.raises(LabError, match="no true CTR for arm v3-rival-ghost"):
        simulate(exp, {"v1-fast-sprint": 0.2, "v2-slow-motion": 0.3}, 10, 1, tmp_path)


def test_simulated_data_carries_the_declared_guardrails_and_segments(lab_env, tmp_path):
    """The seed declares a dismissals guardrail and a platform segment: simulated files have both, the store
    keeps them and the analysis reports them (they used to be always empty)."""
    import pyarrow.parquet as pq

    exp = lab_env.load("seed-v1-v2-v3")
    assert exp.guardrails == ("dismissals",) and exp.segments == ("platform",)
    files = simulate(exp, TRUE, daily=3000, days=2, out_dir=tmp_path / "sim")
    table = pq.read_table(files[0])
    assert set(table.column("platform").to_pylist()) == {"ios", "android"}
    assert set(table.column("dismissals").to_pylist()) == {0, 1}
    # The clicks do not depend on what the spec declares: the extra columns have their own random stream.
    bare = lab_env.load("seed-v1-v2-v3")
    object.__setattr__(bare, "segments", ())
    object.__setattr__(bare, "guardrails", ())
    plain = simulate(bare, TRUE, daily=3000, days=2, out_dir=tmp_path / "plain")[0]
    assert pq.read_table(plain).column("clicked").equals(table.column("clicked"))
    assert "dismissals" not in pq.read_table(plain).column_names

    store = OutcomeStore(exp.key)
    for f in files:
        store.ingest(exp, f)
    result, data = analyze_experiment(exp, store)
    assert {(g.metric, g.variant) for g in result.guardrails} == {("dismissals", "v2-slow-motion"),
                                                                  ("dismissals", "v3-rival-ghost")}
    assert not any(g.worse for g in result.guardrails)  # the simulator gives every arm the same dismissal rate
    assert {c.segment for c in result.segments} == {"ios", "android"}
    per_arm = {a.variant: a.guardrails["dismissals"] for a in data.arms}
    stored = duckdb.sql(f"SELECT variant, sum(dismissals) FROM read_parquet('{store.root}/events/*.parquet') "
                        "GROUP BY 1").fetchall()
    assert per_arm == {v: int(n) for v, n in stored}
