"""Issue 9, part B: the outcome store never runs input text as SQL, keeps only what the lab knows, ingests
several files all or nothing, trusts only its manifest, and de-duplicates by content."""

import json
import shutil

import duckdb
import pytest
import yaml

from analysis.ingest import OutcomeError, connect, load
from lab.errors import LabError
from lab.experiments import workflow
from lab.experiments.outcomes import OutcomeStore, analyze_experiment

KEY = "seed-v1-v2-v3"
ARMS = ("v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost")
EVIL = """clicked" AS VARCHAR) AS "x", (SELECT content FROM read_text('/etc/hostname')) AS "leak" --"""


def events_csv(path, n=300, extra_header="", extra_value=None, start=0, id_column=None):
    head = "user_id,variant,timestamp,clicked" + (f",{id_column}" if id_column else "") + extra_header
    lines = [head]
    for i in range(start, start + n):
        row = f"u{i},{ARMS[i % 3]},2026-11-0{1 + i % 7} 10:00:00,{i % 2}" + (f",e{i}" if id_column else "")
        if extra_value is not None:
            row += "," + extra_value(i)
        lines.append(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored_bytes(store):
    return b"".join(p.read_bytes() for p in store.root.rglob("*") if p.is_file())


def secrets():
    """The id salt, and the host name when it is long enough to search for in binary data."""
    from lab.experiments import privacy

    hostname = open("/etc/hostname", "rb").read().strip()
    return [privacy.salt().encode()] + ([hostname] if len(hostname) >= 8 else [])


@pytest.mark.parametrize("header, values", [
    (f",{EVIL}", lambda i: "a,b"),  # the header exactly as in the issue: it splits into two columns
    (',"' + EVIL.replace('"', '""') + '"', lambda i: "a"),  # one column whose name is the whole string
])
def test_sql_in_a_column_name_is_never_run(lab_env, tmp_path, header, values):
    exp = lab_env.load(KEY)
    store = OutcomeStore(exp.key)
    bad = events_csv(tmp_path / "evil.csv", extra_header=header, extra_value=values)
    try:
        result = store.ingest(exp, bad)
    except LabError as exc:  # refused is fine, as long as nothing leaked into the store
        assert str(bad) in str(exc)
    else:
        stored = duckdb.sql(f"SELECT * FROM read_parquet('{store.root}/events/*.parquet')")
        assert stored.columns == ["user_id", "variant", "timestamp", "clicked"]
        hostname = open("/etc/hostname", encoding="utf-8").read().strip()
        assert not any(hostname in str(v) for row in stored.fetchall() for v in row[1:])
        assert not result.duplicate and result.dropped  # the odd columns are named, not kept
    blob = stored_bytes(store)
    for secret in secrets():
        assert secret not in blob


def test_every_connection_refuses_files_urls_and_extensions(no_network, tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_text("a\n1\n")
    con = connect(read=[ok])
    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('autoinstall_known_extensions', "
        "'autoload_known_extensions', 'enable_progress_bar', 'enable_external_access')").fetchall())
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false",
                        "enable_progress_bar": "false", "enable_external_access": "false"}
    assert con.execute("SELECT count(*) FROM read_csv($p)", {"p": str(ok)}).fetchone() == (1,)
    for sql in ("SELECT content FROM read_text('/etc/hostname')",
                "SELECT content FROM read_text('https://example.com/x')",  # no_network fails the test on a try
                "INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true"):
        with pytest.raises(duckdb.Error):
            con.execute(sql).fetchall()


def test_a_url_in_a_header_reaches_no_network(lab_env, no_network, tmp_path):
    exp = lab_env.load(KEY)
    evil = EVIL.replace("/etc/hostname", "https://example.com/x")
    bad = events_csv(tmp_path / "url.csv", extra_header=',"' + evil.replace('"', '""') + '"',
                     extra_value=lambda i: "a")
    result = OutcomeStore(exp.key).ingest(exp, bad)
    assert result.dropped == (evil,)


def spec_with_segments(lab_env, segments):
    data = yaml.safe_load(lab_env.path(KEY).read_text())
    data["key"] = "segmented"
    data["segments"] = segments
    lab_env.path("segmented").write_text(yaml.safe_dump(data))
    return lab_env.load("segmented")


def test_only_known_columns_are_stored_and_the_rest_is_named(lab_env, tmp_path):
    exp = spec_with_segments(lab_env, ["platform"])
    assert exp.segments == ("platform",)
    rows = [{"user_id": f"u{i}", "variant": ARMS[i % 3], "timestamp": "2026-11-01T10:00:00", "clicked": i % 2,
             "platform": "ios" if i % 2 else "android", "email": f"person{i}@example.com", "source": "crm"}
            for i in range(90)]
    path = tmp_path / "with-email.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = OutcomeStore(exp.key)
    result = store.ingest(exp, path)
    assert result.dropped == ("email", "source") and result.rows == 90
    (parquet,) = (store.root / "events").glob("*.parquet")
    cols = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{parquet}')").fetchall()]
    assert cols == ["user_id", "variant", "timestamp", "clicked", "platform"]
    assert b"example.com" not in stored_bytes(store) and b"u1" not in parquet.read_bytes()
    assert store.manifest()[0]["dropped"] == ["email", "source"]
    # the spec's schema takes a list of plain column names only
    for bad in (["user_id"], ["Platform"], "platform", ["a", "a"], ['x" --']):
        with pytest.raises(LabError, match="segments: must be a list of distinct column names"):
            spec_with_segments(lab_env, bad)


def test_cli_names_the_dropped_columns(lab_env, tmp_path, capsys):
    from lab.cli import main

    path = events_csv(tmp_path / "e.csv", extra_header=",email", extra_value=lambda i: f"p{i}@example.com")
    assert main(["outcomes", "ingest", "--experiment", KEY, "--dir", str(lab_env.variants.root), str(path)]) == 0
    out = capsys.readouterr().out
    assert "e.csv: added 300 rows (events); dropped columns the lab does not keep: email" in out


def snapshot(root):
    return sorted((p.relative_to(root).as_posix(), p.read_bytes()) for p in root.rglob("*") if p.is_file())


def test_one_ingest_rule_each_file_on_its_own(lab_env, tmp_path, capsys):
    """The CLI and the studio ingest alike (workflow.ingest_files): a bad file is refused whole and named with its
    rows, and the good files beside it are added (one bad day does not block the others)."""
    exp = lab_env.load(KEY)
    good = tmp_path / "a.csv"
    good.write_text("variant,impressions,clicks\nv1-fast-sprint,100,20\nv2-slow-motion,100,30\nv3-rival-ghost,100,40\n")
    bad = tmp_path / "b.csv"
    bad.write_text("variant,impressions,clicks\nv1-fast-sprint,100,20\nv2-slow-motion,100,300\nv3-rival-ghost,1,0\n")
    report = workflow.ingest_files(lab_env, exp, [bad, good])
    assert [r.file for r in report.added] == ["a.csv"]
    assert [(name, str(exc)) for name, exc in report.refused] == [
        ("b.csv", f"outcomes: {bad}: row 2, column clicks: 300 clicks is more than 100 impressions; "
                  "nothing was added to the store")]
    assert [v.impressions for v in report.result.variants] == [100, 100, 100]
    # The studio reads the same call.
    report = workflow.ingest_files(lab_env, exp, [good, bad])
    added, refused = report.added, report.refused
    assert [r.duplicate for r in added] == [True] and [n for n, _ in refused] == ["b.csv"]
    # The CLI too: the good file's line on stdout, the bad one on stderr, exit 2.
    from lab.cli import main

    assert main(["outcomes", "ingest", "--experiment", KEY, str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert "a.csv: already ingested, skipped" in out
    assert err.strip().splitlines()[-1] == (f"error: outcomes: {bad}: row 2, column clicks: 300 clicks is more than 100 impressions; "
                           "nothing was added to the store")


def test_the_manifest_is_the_only_truth_and_orphans_are_cleaned(lab_env, tmp_path):
    exp = lab_env.load(KEY)
    store = OutcomeStore(exp.key)
    store.ingest(exp, events_csv(tmp_path / "a.csv", n=300))
    (listed,) = (store.root / "events").glob("*.parquet")
    # what a killed ingest leaves: a data file written but never listed, and a temporary file
    orphan = listed.with_name("0" * 64 + ".parquet")
    shutil.copy(listed, orphan)
    tmp = listed.with_name(f".{'1' * 64}.parquet.abc.parquet.tmp")
    tmp.write_bytes(b"PAR1 half written")
    result, data = analyze_experiment(exp, store)
    assert data.rows == 300 and sum(v.impressions for v in result.variants) == 300
    store.ingest(exp, events_csv(tmp_path / "b.csv", n=60, start=1000))
    assert not orphan.exists() and not tmp.exists()
    assert analyze_experiment(exp, store)[1].rows == 360


def test_the_same_rows_reformatted_count_once(lab_env, tmp_path):
    exp = lab_env.load(KEY)
    store = OutcomeStore(exp.key)
    a = events_csv(tmp_path / "a.csv", n=120)
    b = tmp_path / "b.csv"
    b.write_text(a.read_text() + "\n")  # the same rows and an extra blank line
    c = tmp_path / "c.csv"
    lines = a.read_text().splitlines()
    c.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")  # same rows in another order
    assert [store.ingest(exp, p).duplicate for p in (a, b, c)] == [False, True, True]
    counts = tmp_path / "n1.csv"
    counts.write_text("variant,impressions,clicks\nv1-fast-sprint,100,20\nv2-slow-motion,100,30\nv3-rival-ghost,100,40\n")
    other = OutcomeStore("counts", root=tmp_path / "counts-store")
    assert not other.ingest(exp, counts).duplicate
    counts.write_text("variant,impressions,clicks\n\n v3-rival-ghost ,100,40\nv2-slow-motion,100,30.0\n"
                      "v1-fast-sprint,100,20\n\n")
    assert other.ingest(exp, counts).duplicate
    assert [v.impressions for v in analyze_experiment(exp, other)[0].variants] == [100, 100, 100]


@pytest.mark.parametrize("id_column", ["event_id", "impression_id"])
def test_events_with_ids_are_deduplicated_across_ingests(lab_env, tmp_path, id_column):
    exp = lab_env.load(KEY)
    store = OutcomeStore(exp.key)
    first = store.ingest(exp, events_csv(tmp_path / "a.csv", n=150, id_column=id_column))
    second = store.ingest(exp, events_csv(tmp_path / "b.csv", n=150, start=75, id_column=id_column))
    assert (first.rows, second.rows) == (150, 75)
    assert second.skipped == {"already ingested (same event id)": 75}
    again = store.ingest(exp, events_csv(tmp_path / "c.csv", n=30, start=10, id_column=id_column))
    assert again.duplicate and again.rows == 0
    assert analyze_experiment(exp, store)[1].rows == 225


def test_counts_with_a_segment_column_are_summed_without_segment(lab_env, tmp_path):
    exp = lab_env.load(KEY)
    p = tmp_path / "seg.csv"
    p.write_text("variant,segment,impressions,clicks\n" + "".join(
        f"{a},{s},500,{100 + 10 * i}\n" for i, a in enumerate(ARMS) for s in ("ios", "android")))
    data = load(p)
    assert [(a.variant, a.stat.impressions) for a in data.arms] == [(a, 1000) for a in ARMS]
    assert set(load(p, segment="segment").segments) == {"ios", "android"}
    store = OutcomeStore(exp.key)
    assert store.ingest(exp, p).rows == 6
    assert [v.impressions for v in analyze_experiment(exp, store)[0].variants] == [1000, 1000, 1000]
    dup = tmp_path / "dup.csv"
    dup.write_text("variant,segment,impressions,clicks\nv1-fast-sprint,ios,5,1\nv1-fast-sprint,ios,5,1\n")
    with pytest.raises(OutcomeError, match="row 2, column variant: variant 'v1-fast-sprint' in segment 'ios' "
                                           "already appeared in row 1; give one row per variant and segment"):
        load(dup)


def test_analyze_names_the_row_column_and_value_of_a_late_bad_csv_row(tmp_path):
    p = events_csv(tmp_path / "big.csv", n=30000)  # past DuckDB's 20,480-row type sample
    with p.open("a") as f:
        f.write("u9,v1-fast-sprint,2026-11-01 10:00:00,yes\n")
    with pytest.raises(OutcomeError) as info:
        load(p)
    assert str(info.value) == f"{p}: row 30001, column clicked: 'yes' is not 0 or 1"
    with pytest.raises(LabError, match="row 30001, column clicked: 'yes' is not 0 or 1"):
        from analysis.options import Options

        workflow.analyze_file(p, Options())


def test_an_unterminated_quote_on_the_last_row_is_an_error(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('variant,impressions,clicks\nv1-fast-sprint,100,20\nv2-slow-motion,100,30\n"v1-fast-sprint,100,20\n')
    with pytest.raises(OutcomeError) as info:
        load(p)
    assert str(info.value) == f"{p}: row 3: a quoted value is never closed (unterminated quote)"
    wide = tmp_path / "w.csv"
    wide.write_text("variant,impressions,clicks\nv1-fast-sprint,100,20\nv2-slow-motion,100,30,7\n")
    with pytest.raises(OutcomeError, match=r"row 2: has 4 fields but the header has 3"):
        load(wide)
