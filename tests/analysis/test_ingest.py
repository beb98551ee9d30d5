"""Outcome files: counts and events, CSV / Parquet / JSON lines, bad rows named by row and column."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from analysis.engine import analyze
from analysis.ingest import OutcomeError, load
from analysis.statistics import ProportionStatistic, RatioStatistic


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error(path, **kw) -> str:
    with pytest.raises(OutcomeError) as info:
        load(path, **kw)
    return str(info.value)


def test_counts_csv_with_guardrails(tmp_path):
    p = write(tmp_path, "c.csv", "variant,impressions,clicks,dismissals\nv1,1000,230,40\nv3,1000,380,35\n")
    data = load(p)
    assert data.kind == "counts"
    assert [(a.variant, a.stat, a.guardrails) for a in data.arms] == [
        ("v1", ProportionStatistic(1000, 230), {"dismissals": 40}),
        ("v3", ProportionStatistic(1000, 380), {"dismissals": 35}),
    ]


def test_counts_with_segments_sum_to_the_total(tmp_path):
    p = write(tmp_path, "c.csv", "variant,segment,impressions,clicks\nv1,ios,500,100\nv1,android,500,130\n"
                                 "v3,ios,500,200\nv3,android,500,180\n")
    data = load(p, segment="segment")
    assert [a.stat for a in data.arms] == [ProportionStatistic(1000, 230), ProportionStatistic(1000, 380)]
    assert set(data.segments) == {"ios", "android"}


@pytest.mark.parametrize("body, message", [
    ("variant,impressions,clicks\nv1,100,120\n", "row 1, column clicks: 120 clicks is more than 100 impressions"),
    ("variant,impressions,clicks\nv1,100,20\nv2,-5,0\n", "row 2, column impressions: -5 is negative; counts cannot be"),
    ("variant,impressions,clicks\nv1,100,2.5\n", "row 1, column clicks: '2.5' is not a whole number"),
    ("variant,impressions,clicks\nv1,100,abc\n", "row 1, column clicks: 'abc' is not a whole number"),
    ("variant,impressions,clicks\nv1,100,\n", "row 1, column clicks: is empty; give a whole number"),
    ("variant,impressions,clicks\nv1,100,20\nv1,50,5\n",
     "row 2, column variant: variant 'v1' already appeared in row 1; give one row per variant"),
    ("variant,impressions,clicks,dismissals\nv1,100,20,101\n",
     "row 1, column dismissals: 101 is more than 100 impressions"),
])
def test_bad_counts_name_row_and_column(tmp_path, body, message):
    p = write(tmp_path, "c.csv", body)
    assert error(p) == f"{p}: {message}"


def test_unknown_variant_is_refused_against_the_arms(tmp_path):
    p = write(tmp_path, "c.csv", "variant,impressions,clicks\nv1,100,20\nv4,100,30\n")
    assert error(p, variants=["v1", "v2"]) == (
        f"{p}: row 2, column variant: unknown variant 'v4'; the experiment's arms are v1, v2"
    )


def test_missing_columns_and_empty_files(tmp_path):
    p = write(tmp_path, "c.csv", "variant,clicks\nv1,3\n")
    assert error(p) == (
        f"{p}: missing columns: a counts file needs variant, impressions, clicks (missing impressions); an events "
        "file needs user_id, variant, timestamp, clicked (missing user_id, timestamp, clicked); found variant, clicks"
    )
    empty = write(tmp_path, "e.csv", "")
    assert error(empty) == f"{empty}: the file is empty; it needs a header and at least one row"
    header = write(tmp_path, "h.csv", "variant,impressions,clicks\n")
    assert error(header) == f"{header}: has a header but no rows"
    assert error(tmp_path / "nope.csv") == f"{tmp_path / 'nope.csv'}: no such file"
    odd = write(tmp_path, "x.xlsx", "a")
    assert error(odd) == f"{odd}: unknown file type '.xlsx'; use .csv, .parquet or .jsonl"


def events_frame(rng, users=3000, days=7, ctrs=(0.23, 0.31, 0.38)):
    rows = []
    start = dt.datetime(2026, 11, 1)
    for u in range(users):
        arm = u % len(ctrs)
        for _ in range(rng.integers(1, 5)):
            ts = start + dt.timedelta(seconds=int(rng.integers(0, days * 86400)))
            rows.append((f"u{u}", f"v{arm + 1}", ts, int(rng.random() < ctrs[arm]), "ios" if u % 2 else "android"))
    return pd.DataFrame(rows, columns=["user_id", "variant", "timestamp", "clicked", "platform"])


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_events_in_every_format_give_the_same_per_user_statistics(tmp_path, fmt):
    df = events_frame(np.random.default_rng(1))
    path = tmp_path / f"events.{fmt}"
    if fmt == "parquet":
        df.to_parquet(path)
    elif fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.assign(timestamp=df.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%S")).to_json(path, orient="records",
                                                                                     lines=True)
    data = load(path)
    assert data.kind == "events" and data.rows == len(df)
    per_user = df.groupby(["variant", "user_id"]).clicked.agg(["sum", "count"]).reset_index()
    for arm in data.arms:
        u = per_user[per_user.variant == arm.variant]
        c, n = u["sum"].to_numpy(), u["count"].to_numpy()
        assert arm.stat == RatioStatistic(len(u), int(c.sum()), float((c * c).sum()), int(n.sum()),
                                          float((n * n).sum()), float((c * n).sum()))
    result = analyze(data.arms)
    assert result.unit == "user" and "delta method" in result.variance_method
    assert sum(d["impressions"] for d in data.daily) == len(df)


def test_events_window_skips_and_reports(tmp_path):
    df = events_frame(np.random.default_rng(2))
    path = tmp_path / "e.parquet"
    df.to_parquet(path)
    start, end = dt.datetime(2026, 11, 2), dt.datetime(2026, 11, 6)
    data = load(path, start=start, end=end)
    outside = int(((df.timestamp < start) | (df.timestamp >= end)).sum())
    assert data.skipped == {"outside the experiment window": outside}
    assert sum(a.stat.impressions for a in data.arms) == len(df) - outside


def test_users_in_two_arms_are_noted(tmp_path):
    p = write(tmp_path, "e.csv", "user_id,variant,timestamp,clicked\nu1,v1,2026-11-01 10:00:00,1\n"
                                 "u1,v2,2026-11-01 11:00:00,0\nu2,v2,2026-11-01 12:00:00,1\n")
    assert load(p).notes == ["1 users appear in more than one arm: assignment is not per user, or ids collide; "
                             "their impressions count in every arm they saw"]


@pytest.mark.parametrize("arms, crossing", [(3, False), (3, True), (12, False), (12, True)])
def test_each_arm_counts_its_own_rows_of_a_user_whoever_crossed(tmp_path, arms, crossing):
    """Per user (and arm): the per-user query sums users per mask of the arms seen, and scans again with a
    pair of counts per arm only when someone crossed; both must give pandas' per-(arm, user) figures."""
    rng = np.random.default_rng(arms + crossing)
    n = 6000
    uid = rng.integers(0, 900, n)
    arm = np.where(rng.random(n) < (0.05 if crossing else 0), rng.integers(0, arms, n), uid % arms)
    ts = pd.Timestamp("2026-11-01") + pd.to_timedelta(rng.integers(0, 10 * 86400, n), unit="s")
    df = pd.DataFrame({"user_id": [f"u{u}" for u in uid], "variant": [f"arm{a:02d}" for a in arm],
                       "timestamp": ts, "clicked": (rng.random(n) < 0.3).astype(int)})
    path = tmp_path / "e.parquet"
    df.to_parquet(path)
    start, end = dt.datetime(2026, 11, 2), dt.datetime(2026, 11, 9)
    data = load(path, start=start, end=end)
    inside = df[(df.timestamp >= start) & (df.timestamp < end)]
    per_user = inside.groupby(["variant", "user_id"]).clicked.agg(["sum", "count"]).reset_index()
    assert [a.variant for a in data.arms] == sorted(inside.variant.unique())
    for a in data.arms:
        u = per_user[per_user.variant == a.variant]
        c, n_ = u["sum"].to_numpy(), u["count"].to_numpy()
        assert a.stat == RatioStatistic(len(u), int(c.sum()), float((c * c).sum()), int(n_.sum()),
                                        float((n_ * n_).sum()), float((c * n_).sum()))
    crossed = int((inside.groupby("user_id").variant.nunique() > 1).sum())
    assert crossing == (crossed > 0)
    assert data.notes == ([f"{crossed} users appear in more than one arm: assignment is not per user, or ids "
                           "collide; their impressions count in every arm they saw"] if crossed else [])


@pytest.mark.parametrize("row, message", [
    ("u3,v1,2026-11-01 10:00:00,2", "row 3, column clicked: '2' is not 0 or 1"),
    ("u3,v1,yesterday,1", "row 3, column timestamp: 'yesterday' is not a timestamp; use ISO 8601 such as "
                          "2026-11-25T09:30:00"),
    (",v1,2026-11-01 10:00:00,1", "row 3, column user_id: is empty"),
    ("u3,v9,2026-11-01 10:00:00,1", "row 3, column variant: unknown variant 'v9'; the experiment's arms are v1, v2"),
])
def test_bad_event_rows_are_named(tmp_path, row, message):
    body = ("user_id,variant,timestamp,clicked\nu1,v1,2026-11-01 10:00:00,1\nu2,v2,2026-11-01 10:00:00,0\n"
            f"{row}\nu4,v1,2026-11-01 10:00:00,0\n")
    p = write(tmp_path, "e.csv", body)
    assert error(p, variants=["v1", "v2"]) == f"{p}: {message}"


def test_bad_rows_in_parquet_are_named_too(tmp_path):
    df = events_frame(np.random.default_rng(3), users=300)
    df.loc[417, "clicked"] = 7
    path = tmp_path / "e.parquet"
    df.to_parquet(path)
    assert error(path) == f"{path}: row 418, column clicked: '7' is not 0 or 1"


def test_segment_column_must_exist(tmp_path):
    p = write(tmp_path, "c.csv", "variant,impressions,clicks\nv1,100,20\nv2,100,30\n")
    assert error(p, segment="country") == f"{p}: no column 'country' to segment by; columns are variant, impressions, clicks"


def test_event_segments(tmp_path):
    df = events_frame(np.random.default_rng(4))
    path = tmp_path / "e.parquet"
    df.to_parquet(path)
    data = load(path, segment="platform")
    assert set(data.segments) == {"ios", "android"}
    for arm in data.arms:
        parts = [a.stat for s in data.segments.values() for a in s if a.variant == arm.variant]
        assert sum(p.impressions for p in parts) == arm.stat.impressions
    json.dumps(analyze(data.arms, segments=data.segments).to_dict(), allow_nan=False)


def raised(path, **kw) -> OutcomeError:
    with pytest.raises(OutcomeError) as info:
        load(path, **kw)
    return info.value


def test_counts_file_lists_every_bad_row(tmp_path):
    p = write(tmp_path, "c.csv", "variant,impressions,clicks\nv1,100,5\nv1,100,500\nv2,x,5\nv3,100,5\n,100,5\n")
    exc = raised(p)
    assert str(exc) == f"{p}: row 2, column clicks: 500 clicks is more than 100 impressions"
    assert exc.lines() == [f"{p}: row 2, column clicks: 500 clicks is more than 100 impressions",
                           f"{p}: row 3, column impressions: 'x' is not a whole number",
                           f"{p}: row 5, column variant: is empty"]


def test_events_file_lists_every_bad_row_in_file_order(tmp_path):
    p = write(tmp_path, "e.csv", "user_id,variant,timestamp,clicked\nu1,v1,2026-11-01T10:00:00,0\n"
                                 "u2,v1,2026-11-01T10:00:00,2\nu3,v1,yesterday,0\nu4,v9,2026-11-01T10:00:00,1\n"
                                 "u5,v2,2026-11-01T10:00:00,1\n")
    exc = raised(p, variants=["v1", "v2"])
    assert str(exc).startswith(f"{p}: row 4, column variant: unknown variant 'v9'")  # as before: first column first
    assert [line.split(": ", 2)[1] for line in exc.lines()] == [
        "row 2, column clicked", "row 3, column timestamp", "row 4, column variant"]
    assert "'2' is not 0 or 1" in exc.lines()[0] and "'yesterday' is not a timestamp" in exc.lines()[1]


@pytest.mark.parametrize("kind", ["counts", "events"])
def test_bad_rows_past_the_cap_are_counted(tmp_path, kind):
    if kind == "counts":
        body = "variant,impressions,clicks\n" + "".join(f"v{i},10,11\n" for i in range(200)) + "ok,10,1\n"
    else:
        body = "user_id,variant,timestamp,clicked\n" + "".join(
            f"u{i},v1,2026-11-01T10:00:00,{'7' if i % 2 else '0'}\n" for i in range(400))
    exc = raised(write(tmp_path, f"{kind}.csv", body))
    assert len(exc.errors) == 50 and exc.more == 150
    assert exc.lines()[-1] == "and 150 more"
    assert [int(line.split("row ")[1].split(",")[0]) for line in exc.errors] == (
        list(range(1, 51)) if kind == "counts" else list(range(2, 101, 2)))


def test_event_guardrails_are_summed_per_arm_inside_the_window(tmp_path):
    p = write(tmp_path, "e.csv", "user_id,variant,timestamp,clicked,dismissals\n"
                                 "u1,v1,2026-11-01T10:00:00,0,1\nu2,v1,2026-11-01T11:00:00,1,0\n"
                                 "u3,v3,2026-11-01T12:00:00,0,\nu4,v3,2026-11-02T12:00:00,0,1\n"
                                 "u5,v3,2026-11-03T12:00:00,0,1\n")
    data = load(p, guardrails=["dismissals"], end=dt.datetime(2026, 11, 3))
    assert [(a.variant, a.guardrails) for a in data.arms] == [("v1", {"dismissals": 1}), ("v3", {"dismissals": 1})]
    assert load(p).arms[0].guardrails == {}  # only when asked: an events file's extra columns are not counts
    result = analyze(data.arms)
    assert [(g.metric, g.variant, g.rate) for g in result.guardrails] == [("dismissals", "v3", 0.5)]


def test_a_bad_event_guardrail_count_is_named_by_row_and_column(tmp_path):
    p = write(tmp_path, "e.csv", "user_id,variant,timestamp,clicked,dismissals\n"
                                 "u1,v1,2026-11-01T10:00:00,0,1\nu2,v3,2026-11-01T11:00:00,1,-2\n")
    message = error(p, guardrails=["dismissals"])
    assert message == f"{p}: row 2, column dismissals: '-2' is not a count (a whole number of 0 or more, or empty for 0)"
    assert error(p, guardrails=["optouts"]).startswith(f"{p}: no column 'optouts'")
