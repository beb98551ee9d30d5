"""Events files: one row per impression (``user_id, variant, timestamp, clicked``), aggregated per user.

DuckDB does the work out of core, in two scans: the daily timeline (with every validity check counted in
the same pass), then one query that groups per user on a 64-bit hash of the id (a 25M-user file groups on
one integer, not a string) into a narrow row (impressions, clicks, the mask of the arms seen), and sums
those per mask, one per arm; only when a user crossed arms is the file scanned again, with a pair of
filtered counts per arm. Every aggregate state is a fixed-width integer, so past ``MEMORY_LIMIT`` DuckDB
spills instead of failing (100M rows in 1.1 GB). Only the sums leave DuckDB. Columns are named by position
(``Source.col``), never by the header. Two ids that share a 64-bit hash would count as one user: at 25M
users the chance of any such pair is about 1 in 60,000.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from analysis.cuped import PAIRS, CupedMoments
from analysis.ingest.dataset import PRE_COLUMNS, Dataset
from analysis.ingest.errors import ERROR_CAP, OutcomeError, check_label, excerpt
from analysis.ingest.source import PathLike, Source, check_segment, open_source
from analysis.statistics import ArmData, RatioStatistic

RATIO_SUMS = "count(*), sum(c), sum(c * c), sum(n), sum(n * n), sum(c * n)"


def event_exprs(src: Source) -> dict[str, str]:
    """SQL for the event columns of ``src`` (by position), typed; NULL where a value is invalid."""
    c = src.col
    variant = c("variant") if src.type_of("variant") == "VARCHAR" else f"CAST({c('variant')} AS VARCHAR)"
    kind, raw = src.type_of("clicked"), c("clicked")
    # 0 or 1, else NULL (which the checks report with the row)
    if kind == "BOOLEAN":
        clicked = f"CAST({raw} AS INTEGER)"
    elif any(t in kind for t in ("INT", "DECIMAL", "DOUBLE", "FLOAT")):
        clicked = f"(CASE WHEN {raw} IN (0, 1) THEN CAST({raw} AS INTEGER) END)"
    else:
        number = f"TRY_CAST(trim(CAST({raw} AS VARCHAR)) AS DOUBLE)"
        clicked = f"(CASE WHEN {number} IN (0, 1) THEN CAST({number} AS INTEGER) END)"
    ts_type = src.type_of("timestamp")
    ts = c("timestamp") if ts_type.startswith(("TIMESTAMP", "DATE")) else (
        f"TRY_CAST(CAST({c('timestamp')} AS VARCHAR) AS TIMESTAMP)")
    if ts_type.startswith("TIMESTAMP WITH TIME ZONE"):
        ts = f"CAST({ts} AS TIMESTAMP)"
    # Years 1-9999 only: DuckDB reads year 0 and years past 9999, which no ISO date or Python date holds. A
    # TIMESTAMP is checked by comparing (two integer comparisons, not a calendar year per row); other types
    # (DATE, TIMESTAMP_S, ...) reach years a TIMESTAMP cannot hold, so their year is taken first.
    if ts_type == "TIMESTAMP":
        ts = (f"(CASE WHEN {ts} >= TIMESTAMP '0001-01-01' AND {ts} < CAST('10000-01-01' AS TIMESTAMP) "
              f"THEN {ts} END)")
    else:
        ts = f"(CASE WHEN year({ts}) BETWEEN 1 AND 9999 THEN CAST({ts} AS TIMESTAMP) END)"
    out = {"variant": variant, "timestamp": ts, "clicked": clicked, "user_id": f"CAST({c('user_id')} AS VARCHAR)"}
    for name in PRE_COLUMNS:
        if name in src.columns:
            value = f"TRY_CAST(trim(CAST({c(name)} AS VARCHAR)) AS DOUBLE)"
            out[name] = f"(CASE WHEN {value} >= 0 AND {value} = floor({value}) THEN CAST({value} AS BIGINT) END)"
    return out


@dataclass
class _Query:
    """What one events load checks and computes, as SQL over ``src``."""

    src: Source
    segment: str | None
    known: list[str] | None
    start: dt.datetime | None
    end: dt.datetime | None
    required: tuple[str, ...]
    pre: str  # "" (no CUPED), "columns" (pre_clicks/pre_impressions) or "window" (rows in [pre_start, start))
    pre_start: dt.datetime | None = None
    guardrails: tuple[str, ...] = ()  # lower-is-better count columns, summed per arm over the window's rows
    e: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.e = event_exprs(self.src)

    @property
    def params(self) -> dict[str, Any]:
        return {"known": self.known, "start": self.start, "end": self.end, "pre_start": self.pre_start}

    def outside(self) -> str:
        """Rows outside the experiment window (skipped, and counted)."""
        ts = self.e["timestamp"]
        window = []
        if self.start:
            window.append(f"{ts} < CAST($start AS TIMESTAMP)")
        if self.end:
            window.append(f"{ts} >= CAST($end AS TIMESTAMP)")
        return " OR ".join(window) or "FALSE"

    def checks(self, users: bool = False) -> dict[str, str]:
        """Column -> the condition that makes a row invalid. ``users``: the user id check too (it reads the ids,
        so the timeline scan leaves it to the per-user scan)."""
        e, c = self.e, self.src.col
        unknown = "" if self.known is None else f" OR {e['variant']} NOT IN (SELECT unnest($known))"
        variant = f"{e['variant']} IS NULL{unknown}"
        if self.pre == "window":  # a pre-period row may carry any variant (another test, or none)
            variant = f"{e['timestamp']} >= CAST($start AS TIMESTAMP) AND ({variant})"
        out = {"variant": variant, "timestamp": f"{e['timestamp']} IS NULL", "clicked": f"{e['clicked']} IS NULL"}
        for name in dict.fromkeys((*self.required, *([self.segment] if self.segment else []))):
            out[name] = f"{c(name)} IS NULL OR trim(CAST({c(name)} AS VARCHAR)) = ''"
        if self.pre == "columns":
            for name in PRE_COLUMNS:
                out[name] = f"{e[name]} IS NULL"
        for name in self.guardrails:  # a count: empty is zero, anything else a whole number from 0
            value = f"TRY_CAST({c(name)} AS DOUBLE)"
            out[name] = (f"{c(name)} IS NOT NULL AND trim(CAST({c(name)} AS VARCHAR)) <> '' AND "
                         f"({value} IS NULL OR {value} < 0 OR {value} <> floor({value}))")
        if users:
            out["user_id"] = f"{e['user_id']} IS NULL OR {e['user_id']} = ''"
        return out


def load_events(path: PathLike | Sequence[PathLike] | Source, segment: str | None = None,
                variants: Sequence[str] | None = None, start: dt.datetime | None = None,
                end: dt.datetime | None = None, required: Sequence[str] = (), cuped: bool = False,
                pre_start: dt.datetime | None = None, guardrails: Sequence[str] = ()) -> Dataset:
    """Aggregate impression events per user, then per arm: the user is the unit of analysis.

    ``required``: segment columns that must be non-empty on every row (an experiment's declared segments).
    ``guardrails``: lower-is-better count columns (``dismissals``: how many times the row's notification was
    dismissed, usually 0 or 1), summed per arm; each must be a column of the file.
    ``cuped``: also collect each user's pre-period clicks and impressions, from the ``pre_clicks`` and
    ``pre_impressions`` columns or, with ``pre_start``, from the rows in ``[pre_start, start)``.
    """
    src = path if isinstance(path, Source) else open_source(path)
    check_segment(src, segment)
    for name in (*required, *guardrails):
        check_segment(src, name)
    plan = _Query(src, segment, list(variants) if variants is not None else None, start, end, tuple(required),
                 _pre_kind(src, cuped, start, pre_start), pre_start, tuple(dict.fromkeys(guardrails)))
    con = src.connect()
    try:
        return _load(plan, con, variants)
    except duckdb.Error as exc:
        retry = src.retry_without_pushdown(exc)
        if retry is None:
            raise src.error(exc) from None
    finally:
        con.close()
    return load_events(retry, segment, variants, start, end, required, cuped, pre_start, guardrails)


def _pre_kind(src: Source, cuped: bool, start: dt.datetime | None, pre_start: dt.datetime | None) -> str:
    if not cuped:
        if pre_start is not None:
            raise OutcomeError(f"{src.name}: a pre-period start is given without CUPED; add --cuped or drop it")
        return ""
    if pre_start is not None:
        if start is None or pre_start >= start:
            raise OutcomeError(f"{src.name}: the pre-period needs an experiment start after it; give --start "
                               "later than --pre-start")
        return "window"
    missing = [c for c in PRE_COLUMNS if c not in src.columns]
    if missing:
        raise OutcomeError(f"{src.name}: CUPED needs the columns {', '.join(PRE_COLUMNS)} (missing "
                           f"{', '.join(missing)}), or a pre-period window (--pre-start with --start)")
    return "columns"


def _load(plan: _Query, con: duckdb.DuckDBPyConnection, variants: Sequence[str] | None) -> Dataset:
    src = plan.src

    def run(sql: str, extra: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        return src.run(con, sql, {**plan.params, **(extra or {})})

    checks = plan.checks()
    total, daily, skipped_rows, bad = _timeline(plan, run, checks)
    if total == 0:
        raise OutcomeError(f"{src.name}: has a header but no rows")
    if any(bad):
        raise _bad_event_rows(src, run, con, plan.checks(users=True), dict(zip(checks, bad, strict=True)), plan.known)
    arms_seen = list(plan.known) if plan.known is not None else sorted({d["variant"] for d in daily})
    for arm in arms_seen:
        check_label(arm, f"{src.name}: variant")
    overall, crossed, cuped_rows, suspect, uneven = _per_arm(plan, run, arms_seen)
    if suspect:  # an empty or missing id hashes to hash('') or hash(NULL): only then are the ids read again
        user_check = plan.checks(users=True)["user_id"]
        empty_ids = run(f"SELECT count(*) FILTER (WHERE {user_check}) FROM {src.table()}").fetchone()[0]
        if empty_ids:
            raise _bad_event_rows(src, run, con, plan.checks(users=True), {"user_id": int(empty_ids)}, plan.known)
    if uneven:
        raise OutcomeError(f"{src.name}: {uneven:,} users have different pre_clicks or pre_impressions on "
                           "different rows; the pre-period figures are one per user, repeat them unchanged")
    skipped = {"outside the experiment window": skipped_rows} if skipped_rows else {}
    notes = []
    if crossed:
        notes.append(f"{crossed} users appear in more than one arm: assignment is not per user, or ids collide; "
                     "their impressions count in every arm they saw")
    order = list(variants) if variants is not None else sorted(overall)
    missing = [v for v in order if v not in overall]
    if missing:
        raise OutcomeError(f"{src.name}: no impressions for arm{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
                           + (" inside the experiment window" if skipped else ""))
    guards = _guardrail_sums(plan, run) if plan.guardrails else {}
    arms = [ArmData(v, overall[v], guardrails=guards.get(v, dict.fromkeys(plan.guardrails, 0)), cuped=cuped_rows.get(v))
            for v in order]
    segments = _segments(plan, run, order) if plan.segment else {}
    return Dataset("events", arms, segments, rows=total, skipped=skipped, notes=notes, daily=daily)


def _timeline(plan: _Query, run: Callable[[str], duckdb.DuckDBPyConnection], checks: dict[str, str]
              ) -> tuple[int, list[dict[str, Any]], int, list[int]]:
    """Scan 1: rows per day and arm, with invalid and out-of-window rows counted in the same pass."""
    e, outside = plan.e, plan.outside()
    bad_counts = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in checks.values())
    # Counts only (BIGINT states), and no filter at all without a window.
    inside = "" if outside == "FALSE" else f"FILTER (WHERE NOT ({outside}))"
    clicks = f"count(*) FILTER (WHERE {e['clicked']} = 1{'' if not inside else f' AND NOT ({outside})'})"
    skipped = "0" if not inside else f"count(*) FILTER (WHERE {outside})"
    # Grouped by the DATE, formatted after: formatting 100M timestamps as text would cost more than the scan.
    by_day = run(f"""
        SELECT strftime(day, '%Y-%m-%d'), * EXCLUDE (day) FROM (
            SELECT CAST({e['timestamp']} AS DATE) AS day, {e['variant']} AS v, count(*) AS rows,
                   count(*) {inside} AS n, {clicks} AS c, {skipped} AS skipped, {bad_counts}
            FROM {plan.src.table()} GROUP BY day, v) ORDER BY day, v
    """).fetchall()
    total = sum(r[2] for r in by_day)
    bad = [sum(r[6 + i] for r in by_day) for i in range(len(checks))]
    daily = [{"day": d, "variant": v, "impressions": int(n), "clicks": int(c or 0)}
             for d, v, _, n, c, *_ in by_day if n]
    return total, daily, sum(r[5] for r in by_day), bad


def _per_arm(plan: _Query, run: Callable[..., duckdb.DuckDBPyConnection], arms: list[str]
             ) -> tuple[dict[str, RatioStatistic], int, dict[str, CupedMoments], int, int]:
    """Scan 2: per user (a 64-bit hash of the id), then per arm, in one query. Returns the per-arm statistics,
    the users seen in two arms, CUPED moments, whether an empty id may be there, and how many users have
    uneven pre-period columns.

    The per-user rows are kept narrow, because they are what DuckDB holds and, past ``MEMORY_LIMIT``, spills:
    one integer key, the user's impressions and clicks, and a bit mask of the arms they saw; the users are
    then summed per mask (one group per arm), not with filtered sums per arm. A user seen in two arms counts
    in each with that arm's own rows, which the mask cannot split: only then is the file scanned again, with
    a pair of filtered counts per arm.
    """
    width = 6 + (14 if plan.pre else 0)
    row = None
    if len(arms) <= _MASK_TYPES[-1][1]:
        groups = run(_per_user_sql(plan, arms, split=False), {"arms": arms}).fetchall()
        if not any(m is not None and m.bit_count() > 1 for m, *_ in groups):
            by_mask = {m: g for m, *g in groups}
            row = []
            for i in range(len(arms)):
                row += by_mask.get(1 << i, [0] + [None] * (width - 1))[:width]
            row += [0, sum(g[-2] for g in groups), sum(g[-1] for g in groups)]
    if row is None:
        row = run(_per_user_sql(plan, arms, split=True), {"arms": arms}).fetchone()
    stats: dict[str, RatioStatistic] = {}
    moments: dict[str, CupedMoments] = {}
    for i, name in enumerate(arms):
        r = row[i * width:(i + 1) * width]
        if r[0]:
            stats[name] = _ratio(r[:6])
            if plan.pre:
                moments[name] = CupedMoments(int(r[0]), tuple(float(x or 0) for x in r[6:10]),  # type: ignore[arg-type]
                                             tuple(float(x or 0) for x in r[10:]))
    crossed, suspect, uneven = row[-3:]
    return stats, int(crossed), moments, int(suspect), int(uneven)


def _per_user_sql(plan: _Query, arms: list[str], split: bool) -> str:
    """The per-user, then per-arm query. ``split``: a pair of filtered counts per arm, summed per arm with
    filters (exact for users seen in several arms), one row. Else one pair of counts and the mask of the arms
    seen (``m``), summed per mask: one row per mask, the arm ``i`` alone being ``1 << i``."""
    e, post = plan.e, f"NOT ({plan.outside()})"
    arm = f"list_position($arms, {e['variant']})"
    clicked = f"{e['clicked']} = 1"
    where = "" if plan.outside() == "FALSE" else f"WHERE {post}"
    if plan.pre != "window":  # only the experiment's rows are read: no filter needs to say so again
        post = "TRUE"
    if split:
        cols = []
        for i in range(1, len(arms) + 1):
            cols += [f"count(*) FILTER (WHERE {post} AND {arm} = {i}) AS n{i}",
                     f"count(*) FILTER (WHERE {post} AND {arm} = {i} AND {clicked}) AS c{i}"]
    else:
        kind = next(name for name, bits in _MASK_TYPES if len(arms) <= bits)
        only = "" if post == "TRUE" else f" FILTER (WHERE {post})"
        cols = [f"count(*){only} AS n", f"count(*) FILTER (WHERE {post} AND {clicked}) AS c",
                f"bit_or(CAST(1 AS {kind}) << CAST({arm} - 1 AS {kind})){only} AS m"]
    if plan.pre == "columns":
        cols += [f"max({e['pre_clicks']}) AS pc", f"min({e['pre_clicks']}) AS pc_lo",
                 f"max({e['pre_impressions']}) AS pn", f"min({e['pre_impressions']}) AS pn_lo"]
    elif plan.pre == "window":  # each user's pre-period rows (any arm) in the same scan
        pre = f"{e['timestamp']} >= CAST($pre_start AS TIMESTAMP) AND {e['timestamp']} < CAST($start AS TIMESTAMP)"
        cols += [f"count(*) FILTER (WHERE {pre}) AS pn", f"count(*) FILTER (WHERE {pre} AND {clicked}) AS pc"]
        where = f"WHERE ({post}) OR ({pre})"
    out = []
    for i in range(1, len(arms) + 1) if split else [0]:
        c, n, has = (f"c{i}", f"n{i}", f" FILTER (WHERE n{i} > 0)") if split else ("c", "n", "")  # the arm's users
        out += [f"count(*){has}", f"sum({c}){has}", f"sum({c} * {c}){has}", f"sum({n}){has}", f"sum({n} * {n}){has}",
                f"sum({c} * {n}){has}"]
        if plan.pre:
            names = (c, n, "pc", "pn")
            out += [f"sum({x}){has}" for x in names]
            out += [f"sum(CAST({names[j]} AS DOUBLE) * {names[k]}){has}" for j, k in PAIRS]
    if split:
        in_two = " + ".join(f"CAST(n{i} > 0 AS INTEGER)" for i in range(1, len(arms) + 1))
        out.append(f"count(*) FILTER (WHERE {in_two} > 1)")
    out += ["count(*) FILTER (WHERE u IN (hash(CAST(NULL AS VARCHAR)), hash('')))",
            "count(*) FILTER (WHERE pc <> pc_lo OR pn <> pn_lo)" if plan.pre == "columns" else "0"]
    return f"""
        WITH per_user AS (SELECT hash({e['user_id']}) AS u, {', '.join(cols)} FROM {plan.src.table()}
                          {where} GROUP BY u)
        SELECT {'' if split else 'm, '}{', '.join(out)} FROM per_user {'' if split else 'GROUP BY m'}
    """


# The smallest unsigned type with a bit per arm (the mask of the arms a user saw).
_MASK_TYPES = (("UTINYINT", 8), ("USMALLINT", 16), ("UINTEGER", 32), ("UBIGINT", 64))


def _guardrail_sums(plan: _Query, run: Callable[..., duckdb.DuckDBPyConnection]) -> dict[str, dict[str, int]]:
    """Each guardrail count summed per arm over the window's rows (an empty cell counts 0)."""
    e, c = plan.e, plan.src.col
    sums = ", ".join(f"coalesce(sum(TRY_CAST({c(g)} AS DOUBLE)), 0)" for g in plan.guardrails)
    rows = run(f"SELECT {e['variant']}, {sums} FROM {plan.src.table()} WHERE NOT ({plan.outside()}) GROUP BY 1"
               ).fetchall()
    return {r[0]: {g: int(x) for g, x in zip(plan.guardrails, r[1:], strict=True)} for r in rows}


def _segments(plan: _Query, run: Callable[..., duckdb.DuckDBPyConnection], order: list[str]
              ) -> dict[str, list[ArmData]]:
    """Per segment and arm: a user counts in each segment they were seen in (scan 3, only with a segment)."""
    e, c = plan.e, plan.src.col
    rows = run(f"""
        SELECT variant, seg, {RATIO_SUMS} FROM (
            SELECT {e['variant']} AS variant, CAST({c(plan.segment)} AS VARCHAR) AS seg, hash({e['user_id']}) AS u,
                   count(*) AS n, count(*) FILTER (WHERE {e['clicked']} = 1) AS c
            FROM {plan.src.table()} WHERE NOT ({plan.outside()}) GROUP BY ALL)
        GROUP BY variant, seg
    """).fetchall()
    by_seg: dict[str, dict[str, RatioStatistic]] = {}
    for r in rows:
        if r[1] is not None:
            check_label(r[1], f"{plan.src.name}: {plan.segment}")
        by_seg.setdefault(r[1], {})[r[0]] = _ratio(r[2:])
    return {s: [ArmData(v, d[v]) for v in order if v in d] for s, d in by_seg.items()}


def _bad_event_rows(src: Source, run: Callable[[str], duckdb.DuckDBPyConnection],
                    con: duckdb.DuckDBPyConnection, checks: dict[str, str], counts: dict[str, int],
                    known: Sequence[str] | None) -> OutcomeError:
    """The error for an events file with invalid rows: the first bad column's first row as the message (and
    how many rows share it), and every bad row in file order (any column), up to ``ERROR_CAP``, in ``errors``."""
    con.execute("SET threads = 1")  # a single-threaded scan numbers rows in file order
    columns = list(checks)
    n = len(columns)
    values = ", ".join(f"CAST({src.col(c)} AS VARCHAR) AS v{i}" for i, c in enumerate(columns))
    flags = ", ".join(f"coalesce({cond}, FALSE) AS f{i}" for i, cond in enumerate(checks.values()))
    any_bad = " OR ".join(f"f{i}" for i in range(n))
    found = run(f"SELECT rn, {', '.join(f'v{i}' for i in range(n))}, {', '.join(f'f{i}' for i in range(n))}, "
                f"count(*) OVER () AS total "
                f"FROM (SELECT row_number() OVER () AS rn, {values}, {flags} FROM {src.table()}) "
                f"WHERE {any_bad} ORDER BY rn LIMIT {ERROR_CAP}").fetchall()
    listed: list[str] = []
    first: dict[str, str] = {}
    for r in found:
        for i, column in enumerate(columns):
            if r[1 + n + i]:
                text = f"{src.name}: row {r[0]}, column {column}: {_explain(column, r[1 + i], known)}"
                first.setdefault(column, text)
                listed.append(text)
                break  # one line per row: its first bad column
    column, count = next((c, k) for c, k in counts.items() if k)
    message = first.get(column)
    if message is None:  # that column's first bad row is past the cap
        row, value = run(f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, CAST({src.col(column)} AS VARCHAR) "
                         f"AS v, * FROM {src.table()}) WHERE coalesce({checks[column]}, FALSE) LIMIT 1").fetchone()
        message = f"{src.name}: row {row}, column {column}: {_explain(column, value, known)}"
    total = int(found[0][-1]) if found else 0
    return OutcomeError(message + (f" ({count - 1} more rows like it)" if count > 1 else ""),
                        listed or [message], max(0, total - len(listed)))


def _ratio(r: Sequence[Any]) -> RatioStatistic:
    users, c, c2, n, n2, cn = r
    return RatioStatistic(int(users), int(c or 0), float(c2 or 0), int(n or 0), float(n2 or 0), float(cn or 0))


def _explain(column: str, value: Any, known: Sequence[str] | None) -> str:
    if value is None or str(value).strip() == "":
        return "is empty"
    if column == "variant":
        return f"unknown variant {excerpt(str(value))!r}; the experiment's arms are {', '.join(sorted(known or []))}"
    if column == "clicked":
        return f"{excerpt(repr(value))} is not 0 or 1"
    if column == "timestamp":
        year = re.match(r"\s*([+-]?\d+)-", str(value))
        if year and not 1 <= int(year.group(1)) <= 9999:
            return f"{excerpt(repr(value))} is outside the years 1 to 9999; give the real date of the impression"
        return f"{excerpt(repr(value))} is not a timestamp; use ISO 8601 such as 2026-11-25T09:30:00"
    if column in PRE_COLUMNS:
        return f"{excerpt(repr(value))} is not a whole number of 0 or more"
    # A segment fails only when empty (above): what is left is a guardrail count.
    return f"{excerpt(repr(value))} is not a count (a whole number of 0 or more, or empty for 0)"
