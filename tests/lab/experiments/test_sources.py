"""An experiment whose outcomes live in a database (spec ``source:``): ``experiments analyze`` and MLflow use it,
with the password from the environment and never written anywhere; ``analyze --source`` from the CLI."""

import datetime as dt
import json

import duckdb
import numpy as np
import pytest
import yaml

from lab.cli import main
from lab.errors import ExperimentError
from tests import pgserver

KEY = "seed-v1-v2-v3"
ARMS = ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")
READER, SECRET = "lab_reader", "s3cret-only-in-the-env-51"


def impressions(n=3000, seed=2):
    rng = np.random.default_rng(seed)
    uid = rng.integers(0, 1500, n)
    ctr = np.array([0.23, 0.31, 0.38])[uid % 3]
    return [(f"e{i}", f"u{uid[i]}", ARMS[uid[i] % 3], dt.datetime(2026, 11, 1) + dt.timedelta(minutes=int(i)),
             bool(rng.random() < ctr[i])) for i in range(n)]


@pytest.fixture(scope="module")
def pg():
    rows = impressions()
    with pgserver.running() as server:
        with server.admin() as con:
            con.execute("CREATE TABLE impressions (event_id text, user_id text, variant text, timestamp timestamp)")
            con.execute("CREATE TABLE clicks (event_id text, clicked_at timestamp)")
            with con.cursor().copy("COPY impressions FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r[:4])
            with con.cursor().copy("COPY clicks FROM STDIN") as copy:
                for r in rows:
                    if r[4]:
                        copy.write_row((r[0], r[3]))
            con.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{SECRET}'")
            con.execute(f"GRANT SELECT ON impressions, clicks TO {READER}")
        yield server


def with_source(lab_env, source):
    path = lab_env.root / f"{KEY}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["source"] = source
    spec.pop("segments", None)  # these tables have no platform column to break the seed down by
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def test_experiments_analyze_reads_the_source_and_never_writes_the_password(lab_env, pg, monkeypatch, capsys):
    from lab import config

    monkeypatch.setenv("PGPASSWORD", SECRET)
    with_source(lab_env, {"url": f"postgresql://{READER}@127.0.0.1:{pg.port}/lab", "impressions": "impressions",
                          "clicks": "clicks"})
    assert main(["experiments", "analyze", KEY, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = impressions()
    assert [v["impressions"] for v in out["variants"]] == [sum(r[2] == a for r in rows) for a in ARMS]
    assert [v["clicks"] for v in out["variants"]] == [sum(r[2] == a and r[4] for r in rows) for a in ARMS]
    assert out["srm"]["observed"] == [v["units"] for v in out["variants"]]
    # Nothing the lab wrote (MLflow store, artifacts, reports) holds the password or the user name.
    written = [p for p in config.data_dir().rglob("*") if p.is_file()]
    assert written
    for p in written:
        data = p.read_bytes()
        assert SECRET.encode() not in data and READER.encode() not in data, p
    from lab.experiments import tracking

    mlflow = tracking.configure()
    run = mlflow.search_runs(experiment_names=[tracking.experiment_name(KEY)],
                             filter_string=f"tags.`{tracking.KIND}` = 'analysis'", output_format="list")[0]
    assert run.data.params["source"] == f"postgresql://127.0.0.1:{pg.port}/lab"
    assert run.data.params["impressions"] == "impressions"


def test_a_wrong_password_is_one_line_without_it(lab_env, pg, monkeypatch, capsys):
    monkeypatch.setenv("PGPASSWORD", "wrong-" + SECRET)
    with_source(lab_env, {"url": f"postgresql://{READER}@127.0.0.1:{pg.port}/lab"})
    assert main(["experiments", "analyze", KEY]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: experiment {KEY}: source postgresql://127.0.0.1:{pg.port}/lab: could not connect")
    assert SECRET not in err and READER not in err


def test_files_are_not_ingested_into_a_source_experiment(lab_env, tmp_path, pg, capsys):
    with_source(lab_env, {"url": f"postgresql://{READER}@127.0.0.1:{pg.port}/lab"})
    f = tmp_path / "c.csv"
    f.write_text("variant,impressions,clicks\nv1-fast-sprint,10,1\n")
    assert main(["outcomes", "ingest", "--experiment", KEY, str(f)]) == 2
    assert f"reads its outcomes from postgresql://127.0.0.1:{pg.port}/lab, not from files" in capsys.readouterr().err


def test_a_password_in_a_spec_is_refused(lab_env):
    with_source(lab_env, {"url": "postgresql://lab:hunter2@db:5432/analytics"})
    with pytest.raises(ExperimentError) as info:
        lab_env.load(KEY)
    assert "holds a password" in str(info.value) and "hunter2" not in str(info.value)


def test_analyze_source_from_the_cli(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE imp (event_id BIGINT, user_id VARCHAR, variant VARCHAR, timestamp TIMESTAMP)")
    con.execute("CREATE TABLE clk (event_id BIGINT, clicked_at TIMESTAMP)")
    rows = impressions(600)
    con.executemany("INSERT INTO imp VALUES (?, ?, ?, ?)", [(i, r[1], r[2], r[3]) for i, r in enumerate(rows)])
    con.executemany("INSERT INTO clk VALUES (?, ?)", [(i, r[3]) for i, r in enumerate(rows) if r[4]])
    con.close()
    assert main(["analyze", "--source", f"duckdb://{db}", "--impressions", "imp", "--clicks", "clk", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["input"] == {"source": f"duckdb://{db}", "impressions": "imp", "clicks": "clk", "kind": "events",
                            "rows": 600, "skipped": {}}
    assert main(["analyze", "--source", f"duckdb://{db}", "--alpha", "0.1"]) == 2
    assert "no table 'impressions'" in capsys.readouterr().err
    assert main(["analyze", str(db), "--source", f"duckdb://{db}"]) == 2
    assert "give a file or --source, not both" in capsys.readouterr().err


def test_a_cuped_spec_analyses_stored_events_with_their_pre_period(lab_env, tmp_path, capsys):
    """`cuped: true`: the store keeps pre_clicks/pre_impressions, `experiments analyze` adds the cuped block, and
    the analysis run in MLflow carries the variance reduction."""
    path = lab_env.root / f"{KEY}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["cuped"] = True
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    rng = np.random.default_rng(4)
    f = tmp_path / "e.csv"
    lines = ["user_id,variant,timestamp,clicked,pre_clicks,pre_impressions"]
    for u in range(1200):
        p = rng.beta(2, 5)
        pre_n = 1 + rng.poisson(8)
        pre_c = rng.binomial(pre_n, p)
        for k in range(1 + rng.poisson(3)):
            lines.append(f"u{u},{ARMS[u % 3]},2026-11-0{1 + k % 7} 10:00:00,{int(rng.random() < p)},{pre_c},{pre_n}")
    f.write_text("\n".join(lines) + "\n")
    assert main(["outcomes", "ingest", "--experiment", KEY, str(f)]) == 0
    capsys.readouterr()
    assert main(["experiments", "analyze", KEY, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    blocks = [c["cuped"] for c in out["comparisons"]]
    assert all(b is not None and b["variance_reduction"] > 0 for b in blocks)
    from lab.experiments import tracking

    run = tracking.configure().search_runs(experiment_names=[tracking.experiment_name(KEY)],
                                           filter_string=f"tags.`{tracking.KIND}` = 'analysis'",
                                           output_format="list")[0]
    assert run.data.params["cuped"] == "true"
    assert run.data.metrics["cuped_variance_reduction.v2-slow-motion"] == blocks[0]["variance_reduction"]
