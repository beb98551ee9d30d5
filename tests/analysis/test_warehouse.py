"""Warehouse sources: the same rows as an events file, in a DuckDB database and in a real PostgreSQL server,
analysed where they live. The JSON numbers agree to 1e-12, only aggregates leave the engine (asked of the
server itself), connections are read-only, credentials never show, and bad tables are named."""

import csv
import datetime as dt
import math

import duckdb
import numpy as np
import pytest

from analysis.engine import analyze
from analysis.ingest import OutcomeError, load
from analysis.options import Options
from analysis.warehouse import WarehouseSource, connect, load_warehouse
from tests import pgserver

READER, READER_PASSWORD = "lab_reader", "reader-pw-9c2f"
START, PRE_START, END = dt.datetime(2026, 11, 4), dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 12)
CASES = {
    "plain": {},
    "segment": {"segment": "platform"},
    "window": {"start": START, "end": END},
    "cuped columns": {"cuped": True},
    "cuped window": {"cuped": True, "start": START, "end": END, "pre_start": PRE_START},
}


def rows(seed=5, n=4000):
    """Impressions over 14 days, users with a propensity, a platform, pre-period columns, some users in two arms."""
    rng = np.random.default_rng(seed)
    uid = rng.integers(0, 900, n)
    arm = np.array(["v1", "v2", "v3"])[np.where(rng.random(n) < 0.02, rng.integers(0, 3, n), uid % 3)]
    p = rng.beta(2, 5, 900)[uid]
    secs = rng.integers(0, 14 * 86400, n)
    out = []
    for i in range(n):
        out.append({"event_id": f"e{i}", "user_id": f"u{uid[i]}", "variant": str(arm[i]),
                    "timestamp": dt.datetime(2026, 11, 1) + dt.timedelta(seconds=int(secs[i])),
                    "clicked": int(rng.random() < p[i]), "platform": ["ios", "android", "web"][uid[i] % 3],
                    "pre_clicks": int(uid[i] % 4), "pre_impressions": int(uid[i] % 4 + uid[i] % 5)})
    return out


@pytest.fixture(scope="module")
def data():
    return rows()


@pytest.fixture(scope="module")
def events_file(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("file") / "events.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        cols = ["user_id", "variant", "timestamp", "clicked", "platform", "pre_clicks", "pre_impressions"]
        w.writerow(cols)
        for r in data:
            w.writerow([r[c].strftime("%Y-%m-%d %H:%M:%S") if c == "timestamp" else r[c] for c in cols])
    return path


IMPRESSIONS = ("event_id", "user_id", "variant", "timestamp", "platform", "pre_clicks", "pre_impressions")


def clicks_of(data):
    """A click per clicked impression, one of them twice (counted once), and one click without an impression."""
    clicked = [(r["event_id"], r["timestamp"] + dt.timedelta(seconds=3)) for r in data if r["clicked"]]
    return clicked + [clicked[0], ("no-such-event", clicked[0][1])]


@pytest.fixture(scope="module")
def duck(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("duck") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE impressions (event_id VARCHAR, user_id VARCHAR, variant VARCHAR, timestamp TIMESTAMP, "
                "platform VARCHAR, pre_clicks BIGINT, pre_impressions BIGINT)")
    con.executemany("INSERT INTO impressions VALUES (?, ?, ?, ?, ?, ?, ?)", [[r[c] for c in IMPRESSIONS] for r in data])
    con.execute("CREATE TABLE clicks (event_id VARCHAR, clicked_at TIMESTAMP)")
    con.executemany("INSERT INTO clicks VALUES (?, ?)", clicks_of(data))
    con.execute("CREATE TABLE clicks_wrong (event_id VARCHAR, clicked_at VARCHAR)")
    con.close()
    return WarehouseSource(f"duckdb://{path}")


@pytest.fixture(scope="module")
def pg(data):
    with pgserver.running() as server:
        with server.admin() as con:
            con.execute("CREATE TABLE impressions (event_id text, user_id text, variant text, timestamp timestamp, "
                        "platform text, pre_clicks bigint, pre_impressions bigint)")
            with con.cursor().copy("COPY impressions FROM STDIN") as copy:
                for r in data:
                    copy.write_row([r[c] for c in IMPRESSIONS])
            con.execute("CREATE TABLE clicks (event_id text, clicked_at timestamp)")
            with con.cursor().copy("COPY clicks FROM STDIN") as copy:
                for row in clicks_of(data):
                    copy.write_row(row)
            con.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
            con.execute(f"GRANT SELECT ON impressions, clicks TO {READER}")
            con.execute("ANALYZE")
        yield server


def numbers(value, path=""):
    """Every number in a result's JSON, by its path (notes and texts left out)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in numbers(item, f"{path}.{key}").items()}
    if isinstance(value, (list, tuple)):
        return {k: v for i, item in enumerate(value) for k, v in numbers(item, f"{path}[{i}]").items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {path: value}
    return {}


def result_of(dataset, kw):
    return analyze(dataset.arms, Options(cuped=kw.get("cuped", False)), segments=dataset.segments or None).to_dict()


def assert_same(file_data, source_data, kw):
    a, b = numbers(result_of(file_data, kw)), numbers(result_of(source_data, kw))
    assert a.keys() == b.keys()
    for key in a:
        assert math.isclose(a[key], b[key], rel_tol=1e-12, abs_tol=1e-12), (key, a[key], b[key])
    assert file_data.daily == source_data.daily and file_data.rows == source_data.rows
    assert file_data.skipped == source_data.skipped


@pytest.mark.parametrize("case", CASES)
def test_duckdb_source_gives_the_events_file_numbers(events_file, duck, case):
    kw = CASES[case]
    assert_same(load(events_file, **kw), load_warehouse(duck, **kw), kw)


@pytest.mark.parametrize("case", CASES)
def test_postgres_source_gives_the_events_file_numbers(events_file, pg, case):
    kw = CASES[case]
    source = WarehouseSource(pg.url(READER, READER_PASSWORD))
    assert_same(load(events_file, **kw), load_warehouse(source, **kw), kw)


def test_the_notes_say_what_the_join_left_out(duck, events_file):
    notes = load_warehouse(duck).notes
    assert "1 clicks have no impression in impressions: left out" in notes
    assert any("users appear in more than one arm" in n for n in notes)
    assert [n for n in notes if "more than one arm" in n] == load(events_file).notes


def test_only_aggregates_leave_postgres(pg, data):
    """pg_stat_statements counts, per statement, the rows the server sent back: none is near the row count."""
    with pg.admin() as con:
        con.execute("SELECT pg_stat_statements_reset()")
    dataset = load_warehouse(WarehouseSource(pg.url(READER, READER_PASSWORD)), segment="platform", cuped=True)
    with pg.admin() as con:
        sent = con.execute("SELECT s.query, s.rows FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
                           "WHERE r.rolname = %s", (READER,)).fetchall()
    days, arms, segments = len({d["day"] for d in dataset.daily}), 3, 3
    bound = days * arms * segments
    assert sent, "the reader ran no statement"
    assert max(r for _, r in sent) <= bound, sorted(sent, key=lambda s: -s[1])[:3]
    assert sum(r for _, r in sent) < len(data) // 5  # 4,000 impressions of 900 users stayed in the server
    assert any("GROUP BY" in q.upper() for q, _ in sent)


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_connections_are_read_only(engine, duck, pg):
    # The admin may write; through the lab's connection even the admin cannot.
    source = duck if engine == "duckdb" else WarehouseSource(pg.url())
    con = connect(source)
    try:
        with pytest.raises(Exception, match="(?i)read.only"):
            con.raw_sql("CREATE TABLE written_by_the_lab (a integer)")
    finally:
        con.disconnect()


def test_credentials_never_show(pg, monkeypatch, caplog):
    wrong = WarehouseSource(pg.url(READER, "not-the-password-7731"))
    with pytest.raises(OutcomeError) as info:
        load_warehouse(wrong)
    message = str(info.value)
    assert message.startswith(f"source postgresql://127.0.0.1:{pg.port}/lab: could not connect (")
    for secret in ("not-the-password-7731", READER):
        assert secret not in message and secret not in caplog.text
    assert WarehouseSource(pg.url(READER, READER_PASSWORD)).describe() == {
        "source": f"postgresql://127.0.0.1:{pg.port}/lab", "impressions": "impressions", "clicks": "clicks"}
    # The password may come from the environment instead of the URL.
    monkeypatch.setenv("PGPASSWORD", READER_PASSWORD)
    assert load_warehouse(WarehouseSource(pg.url(READER, None))).rows == 4000


def test_bad_tables_and_names_are_named(duck, pg):
    shown = duck.shown
    cases = [
        (WarehouseSource(duck.url, "impresions"), f"source {shown}: no table 'impresions'"),
        (WarehouseSource(duck.url, clicks="clicks_wrong"),
         f"source {shown}, table clicks_wrong, column clicked_at: is string; it must be timestamp or date"),
        (WarehouseSource(duck.url, "impressions; DROP TABLE clicks"),
         f"source {shown}: impressions table 'impressions; DROP TABLE clicks' is not a table name"),
        (WarehouseSource("mysql://db/x"), "source mysql://db/x: unknown database type 'mysql'"),
        (WarehouseSource(f"postgresql://{READER}:{READER_PASSWORD}@127.0.0.1:{pg.port}/lab", "clicks", "clicks"),
         f"source postgresql://127.0.0.1:{pg.port}/lab, table clicks: no column 'user_id'"),
    ]
    for source, message in cases:
        with pytest.raises(OutcomeError) as info:
            load_warehouse(source)
        assert str(info.value).startswith(message), str(info.value)
        assert READER_PASSWORD not in str(info.value)
    with pytest.raises(OutcomeError, match="no column 'plan'"):
        load_warehouse(duck, segment="plan")
    with pytest.raises(OutcomeError, match="is not a column name"):
        load_warehouse(duck, segment='platform"; DROP TABLE clicks; --')
