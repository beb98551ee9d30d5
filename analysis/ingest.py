"""Read outcome files into sufficient statistics, refusing bad rows with the row and column named.

Two shapes are accepted, as CSV, Parquet or JSON lines:

- **counts**: one row per variant (and segment): ``variant, impressions, clicks`` plus optional
  lower-is-better guardrail counts (``dismissals``, ``optouts``, ...) and a ``segment`` column;
- **events**: one row per impression: ``user_id, variant, timestamp, clicked`` (0/1) plus optional
  segment columns. DuckDB aggregates them out of core, so a file larger than memory works.

Row numbers in messages count data rows from 1 (the header is not a row).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analysis.statistics import ArmData, ProportionStatistic, RatioStatistic

COUNT_COLUMNS = ("variant", "impressions", "clicks")
EVENT_COLUMNS = ("user_id", "variant", "timestamp", "clicked")


class OutcomeError(ValueError):
    """A bad outcome file; the message names the file, row and column."""


@dataclass
class Dataset:
    """What a file holds, aggregated: arms overall, arms per segment, and what was skipped and why."""

    kind: str  # counts | events
    arms: list[ArmData]
    segments: dict[str, list[ArmData]] = field(default_factory=dict)
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)  # events: per day and arm counts

    def all_notes(self) -> list[str]:
        """Notes about the data, the rows deliberately skipped included, for the analysis to report."""
        return self.notes + [f"skipped {n} rows {why}" for why, n in self.skipped.items()]


def reader(path: Path) -> str:
    """The DuckDB table function that reads ``path`` by its suffix (the path is quoted, never spliced raw)."""
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    quoted = "'" + str(path).replace("'", "''") + "'"
    if suffix in (".csv", ".csv.gz", ".tsv"):
        return f"read_csv({quoted}, header=true, all_varchar=true)"
    if suffix == ".parquet":
        return f"read_parquet({quoted})"
    if suffix in (".jsonl", ".ndjson", ".json", ".jsonl.gz"):
        return f"read_json({quoted}, format='newline_delimited')"
    raise OutcomeError(f"{path}: unknown file type {path.suffix!r}; use .csv, .parquet or .jsonl")


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET preserve_insertion_order = false")  # aggregates only; row numbers use one thread
    return con


def columns_of(path: Path) -> list[str]:
    """Column names of a file, or of a glob of files (``store/*.parquet``)."""
    path = Path(path)
    if "*" not in str(path):
        if not path.is_file():
            raise OutcomeError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise OutcomeError(f"{path}: the file is empty; it needs a header and at least one row")
    con = _connect()
    try:
        return [d[0] for d in con.execute(f"DESCRIBE SELECT * FROM {reader(path)}").fetchall()]
    except duckdb.Error as exc:
        raise OutcomeError(f"{path}: could not be read ({str(exc).splitlines()[0]})") from None
    finally:
        con.close()


def detect_kind(columns: Sequence[str]) -> str | None:
    """``events`` when the event columns are all there, else ``counts`` when the count columns are, else None."""
    if set(EVENT_COLUMNS) <= set(columns):
        return "events"
    if set(COUNT_COLUMNS) <= set(columns):
        return "counts"
    return None


def load(path: Path | str, segment: str | None = None, variants: Sequence[str] | None = None,
         start: dt.datetime | None = None, end: dt.datetime | None = None) -> Dataset:
    """Load counts or events (told apart by their columns), validated against ``variants`` if given."""
    path = Path(path)
    cols = columns_of(path)
    kind = detect_kind(cols)
    if kind == "events":
        return load_events(path, segment=segment, variants=variants, start=start, end=end)
    if kind == "counts":
        if start or end:
            raise OutcomeError(f"{path}: a counts file has no timestamps, so --start/--end cannot apply")
        return load_counts(path, segment=segment, variants=variants)
    missing_events = [c for c in EVENT_COLUMNS if c not in cols]
    missing_counts = [c for c in COUNT_COLUMNS if c not in cols]
    raise OutcomeError(
        f"{path}: missing columns: a counts file needs {', '.join(COUNT_COLUMNS)} (missing "
        f"{', '.join(missing_counts)}); an events file needs {', '.join(EVENT_COLUMNS)} (missing "
        f"{', '.join(missing_events)}); found {', '.join(cols)}"
    )


# -- counts ------------------------------------------------------------------------------


def _as_count(value: Any, path: Path, row: int, column: str) -> int:
    where = f"{path}: row {row}, column {column}"
    blank = isinstance(value, str) and not value.strip()
    if value is None or blank or (isinstance(value, float) and math.isnan(value)):
        raise OutcomeError(f"{where}: is empty; give a whole number")
    if isinstance(value, bool):
        raise OutcomeError(f"{where}: {value!r} is not a whole number")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise OutcomeError(f"{where}: {value!r} is not a whole number") from None
            if not f.is_integer():
                raise OutcomeError(f"{where}: {value!r} is not a whole number") from None
            number = int(f)
    elif isinstance(value, float):
        if not value.is_integer():
            raise OutcomeError(f"{where}: {value!r} is not a whole number")
        number = int(value)
    else:
        number = int(value)
    if number < 0:
        raise OutcomeError(f"{where}: {number} is negative; counts cannot be")
    return number


def load_counts(path: Path, segment: str | None = None, variants: Sequence[str] | None = None) -> Dataset:
    con = _connect()
    try:
        rel = con.execute(f"SELECT * FROM {reader(path)}")
        names = [d[0] for d in rel.description]
        rows = rel.fetchall()
    except duckdb.Error as exc:
        raise OutcomeError(f"{path}: could not be read ({str(exc).splitlines()[0]})") from None
    finally:
        con.close()
    if not rows:
        raise OutcomeError(f"{path}: has a header but no rows")
    if segment is not None and segment not in names:
        raise OutcomeError(f"{path}: no column {segment!r} to segment by; columns are {', '.join(names)}")
    seg_col = segment
    extra = [c for c in names if c not in COUNT_COLUMNS and c != "segment" and c != seg_col]
    known = set(variants) if variants is not None else None

    seen: dict[tuple[str, str | None], int] = {}
    overall: dict[str, ArmData] = {}
    per_segment: dict[str, dict[str, ArmData]] = {}
    for i, values in enumerate(rows, start=1):
        rec = dict(zip(names, values, strict=True))
        variant = rec["variant"]
        if variant is None or not str(variant).strip():
            raise OutcomeError(f"{path}: row {i}, column variant: is empty")
        variant = str(variant).strip()
        if known is not None and variant not in known:
            raise OutcomeError(f"{path}: row {i}, column variant: unknown variant {variant!r}; the experiment's "
                               f"arms are {', '.join(sorted(known))}")
        imps = _as_count(rec["impressions"], path, i, "impressions")
        clicks = _as_count(rec["clicks"], path, i, "clicks")
        if clicks > imps:
            raise OutcomeError(f"{path}: row {i}, column clicks: {clicks} clicks is more than {imps} impressions")
        guards = {}
        for g in extra:
            count = _as_count(rec[g], path, i, g)
            if count > imps:
                raise OutcomeError(f"{path}: row {i}, column {g}: {count} is more than {imps} impressions")
            guards[g] = count
        seg_value = str(rec[seg_col]) if seg_col else None
        key = (variant, seg_value)
        if key in seen:
            what = f"variant {variant!r}" + (f" in segment {seg_value!r}" if seg_col else "")
            raise OutcomeError(f"{path}: row {i}, column variant: {what} already appeared in row {seen[key]}; "
                               "give one row per variant" + (" and segment" if seg_col else ""))
        seen[key] = i
        arm = ArmData(variant, ProportionStatistic(imps, clicks), guards)
        overall[variant] = overall[variant] + arm if variant in overall else arm
        if seg_col:
            per_segment.setdefault(seg_value, {})[variant] = arm

    order = list(variants) if variants is not None else list(overall)
    missing = [v for v in order if v not in overall]
    if variants is not None and missing:
        raise OutcomeError(f"{path}: no rows for arm{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    arms = [overall[v] for v in order]
    segments = {s: [d[v] for v in order if v in d] for s, d in per_segment.items()}
    return Dataset("counts", arms, segments, rows=len(rows))


# -- events ------------------------------------------------------------------------------


def load_events(path: Path, segment: str | None = None, variants: Sequence[str] | None = None,
                start: dt.datetime | None = None, end: dt.datetime | None = None) -> Dataset:
    """Aggregate impression events per user, then per arm: the user is the unit of analysis.

    Two scans of the file: one groups by day and arm (the timeline, and the count of invalid rows in
    the same pass), one groups by arm and user. Typed columns (Parquet) are checked without casts.
    """
    src = reader(path)
    con = _connect()
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
        types = {name: str(kind).upper() for name, kind, *_ in described}
        variant = "variant" if types["variant"] == "VARCHAR" else "CAST(variant AS VARCHAR)"
        if segment is not None and segment not in types:
            raise OutcomeError(f"{path}: no column {segment!r} to segment by; columns are {', '.join(types)}")
        if types["clicked"] == "BOOLEAN":
            clicked, clicked_bad = "CAST(clicked AS INTEGER)", "clicked IS NULL"
        elif any(t in types["clicked"] for t in ("INT", "DECIMAL", "DOUBLE", "FLOAT")):
            clicked, clicked_bad = "CAST(clicked AS INTEGER)", "clicked IS NULL OR clicked NOT IN (0, 1)"
        else:
            clicked = "TRY_CAST(clicked AS INTEGER)"
            clicked_bad = f"{clicked} IS NULL OR {clicked} NOT IN (0, 1)"
        ts = "timestamp" if types["timestamp"].startswith(("TIMESTAMP", "DATE")) else "TRY_CAST(timestamp AS TIMESTAMP)"
        user_bad = "user_id IS NULL OR user_id = ''" if types["user_id"] == "VARCHAR" else "user_id IS NULL"
        known = list(variants) if variants is not None else None
        params = {"known": known} if known is not None else {}
        # user_id is checked on the per-user table (pass 2), so pass 1 never reads the id strings.
        checks = {
            "variant": "variant IS NULL" + ("" if known is None else " OR variant NOT IN (SELECT unnest($known))"),
            "timestamp": f"{ts} IS NULL",
            "clicked": clicked_bad,
        }
        if segment:
            checks[segment] = f'"{segment}" IS NULL'
        window = []
        if start:
            window.append(f"{ts} < TIMESTAMP '{start.isoformat(sep=' ')}'")
        if end:
            window.append(f"{ts} >= TIMESTAMP '{end.isoformat(sep=' ')}'")
        outside = " OR ".join(window) or "FALSE"

        def run(sql: str) -> duckdb.DuckDBPyConnection:
            return con.execute(sql, params if "$known" in sql else None)

        # Pass 1: the daily timeline, with invalid and out-of-window rows counted in the same scan.
        bad_counts = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in checks.values())
        by_day = run(f"""
            SELECT CAST({ts} AS DATE) AS day, {variant} AS v, count(*) AS rows,
                   count(*) FILTER (WHERE NOT ({outside})) AS n, sum({clicked}) FILTER (WHERE NOT ({outside})) AS c,
                   count(*) FILTER (WHERE {outside}) AS skipped, {bad_counts}
            FROM {src} GROUP BY ALL ORDER BY 1, 2
        """).fetchall()
        total = sum(r[2] for r in by_day)
        if total == 0:
            raise OutcomeError(f"{path}: has a header but no rows")
        bad = [sum(r[6 + i] for r in by_day) for i in range(len(checks))]
        for (column, cond), count in zip(checks.items(), bad, strict=True):
            if count:
                con.execute("SET threads = 1")  # a single-threaded scan numbers rows in file order
                row, value = run(
                    f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, CAST(\"{column}\" AS VARCHAR) AS v, * "
                    f"FROM {src}) WHERE {cond} LIMIT 1").fetchone()
                raise OutcomeError(f"{path}: row {row}, column {column}: {_explain(column, value, known)}"
                                   + (f" ({count - 1} more rows like it)" if count > 1 else ""))
        outside_rows = sum(r[5] for r in by_day)
        skipped = {"outside the experiment window": outside_rows} if outside_rows else {}
        daily = [{"day": d.isoformat(), "variant": v, "impressions": int(n), "clicks": int(c or 0)}
                 for d, v, _, n, c, *_ in by_day if n]

        # Pass 2: per user and arm, kept in memory (a few columns per user) for the per-arm sums.
        seg_expr = f'CAST("{segment}" AS VARCHAR)' if segment else "NULL"
        con.execute(f"""
            CREATE TEMP TABLE per_user AS
            SELECT {variant} AS variant, {seg_expr} AS seg, user_id, count(*) AS n, sum({clicked}) AS c
            FROM {src} WHERE NOT ({outside}) GROUP BY ALL
        """)
        missing_ids = con.execute(f"SELECT sum(n) FROM per_user WHERE {user_bad}").fetchone()[0]
        if missing_ids:
            con.execute("SET threads = 1")
            row = con.execute(f"SELECT rn FROM (SELECT row_number() OVER () AS rn, * FROM {src}) WHERE {user_bad} "
                              "LIMIT 1").fetchone()[0]
            raise OutcomeError(f"{path}: row {row}, column user_id: is empty"
                               + (f" ({missing_ids - 1} more rows like it)" if missing_ids > 1 else ""))
        sums = "count(*), sum(c), sum(c * c), sum(n), sum(n * n), sum(c * n)"
        if segment:
            agg = con.execute(f"SELECT variant, seg, {sums} FROM per_user GROUP BY variant, seg").fetchall()
            # Overall: a user seen in two segments is still one unit.
            overall_rows = con.execute(f"""SELECT variant, {sums} FROM (SELECT variant, user_id, sum(n) AS n,
                                           sum(c) AS c FROM per_user GROUP BY ALL) GROUP BY variant""").fetchall()
        else:
            agg = []
            overall_rows = con.execute(f"SELECT variant, {sums} FROM per_user GROUP BY variant").fetchall()
        # Without segments a (variant, user) pair is one row, so a user in two arms has two rows.
        distinct = "count(DISTINCT variant)" if segment else "count(*)"
        crossed = con.execute(
            f"SELECT count(*) FROM (SELECT user_id FROM per_user GROUP BY user_id HAVING {distinct} > 1)"
        ).fetchone()[0]
    except duckdb.Error as exc:
        raise OutcomeError(f"{path}: could not be read ({str(exc).splitlines()[0]})") from None
    finally:
        con.close()
    notes = []
    if crossed:
        notes.append(f"{crossed} users appear in more than one arm: assignment is not per user, or ids collide; "
                     "their impressions count in every arm they saw")

    stats = {r[0]: _ratio(r[1:]) for r in overall_rows}
    order = list(variants) if variants is not None else sorted(stats)
    missing = [v for v in order if v not in stats]
    if missing:
        raise OutcomeError(f"{path}: no impressions for arm{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
                           + (" inside the experiment window" if skipped else ""))
    arms = [ArmData(v, stats[v]) for v in order]
    segments: dict[str, list[ArmData]] = {}
    if segment:
        by_seg: dict[str, dict[str, RatioStatistic]] = {}
        for r in agg:
            by_seg.setdefault(r[1], {})[r[0]] = _ratio(r[2:])
        segments = {s: [ArmData(v, d[v]) for v in order if v in d] for s, d in by_seg.items()}
    return Dataset("events", arms, segments, rows=total, skipped=skipped, notes=notes, daily=daily)


def _ratio(r: Sequence[Any]) -> RatioStatistic:
    users, c, c2, n, n2, cn = r
    return RatioStatistic(int(users), int(c), float(c2), int(n), float(n2), float(cn))


def _explain(column: str, value: Any, known: Sequence[str] | None) -> str:
    if value is None or str(value).strip() == "":
        return "is empty"
    if column == "variant":
        return f"unknown variant {value!r}; the experiment's arms are {', '.join(sorted(known or []))}"
    if column == "clicked":
        return f"{value!r} is not 0 or 1"
    if column == "timestamp":
        return f"{value!r} is not a timestamp; use ISO 8601 such as 2026-11-25T09:30:00"
    return f"{value!r} is not valid"
