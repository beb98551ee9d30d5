"""Read outcome files into sufficient statistics, refusing bad rows with the row and column named.

Two shapes are accepted, as CSV, Parquet or JSON lines:

- **counts**: one row per variant (and segment): ``variant, impressions, clicks`` plus optional
  lower-is-better guardrail counts (``dismissals``, ``optouts``, ...) and a ``segment`` column;
- **events**: one row per impression: ``user_id, variant, timestamp, clicked`` (0/1) plus optional
  segment columns. DuckDB aggregates them out of core, so a file larger than memory works.

Row numbers in messages count data rows from 1 (the header is not a row).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import decimal
import glob
import gzip
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analysis.statistics import ArmData, ProportionStatistic, RatioStatistic

COUNT_COLUMNS = ("variant", "impressions", "clicks")
EVENT_COLUMNS = ("user_id", "variant", "timestamp", "clicked")


ERROR_CAP = 50  # bad rows listed one by one; past it, only their count


class OutcomeError(ValueError):
    """A bad outcome file; the message names the file, row and column of the first bad row.

    ``errors`` lists every bad row found (row, column, value, reason), at most ``ERROR_CAP`` of them, and
    ``more`` counts the rest, so a user fixes the whole file in one pass instead of one row per upload.
    """

    def __init__(self, message: str, errors: Sequence[str] | None = None, more: int = 0) -> None:
        super().__init__(message)
        self.errors = list(errors) if errors else [message]
        self.more = more

    def lines(self) -> list[str]:
        """Each bad row, then "and N more" past the cap."""
        return self.errors + ([f"and {self.more:,} more"] if self.more else [])


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


PathLike = Path | str
Paths = PathLike | Sequence[PathLike]


def connect(read: Sequence[Path] = (), write: Sequence[Path] = (), pushdown: bool = True
            ) -> duckdb.DuckDBPyConnection:
    """The one way the lab opens DuckDB: no extension downloads or loads, no progress bar, and no file or
    network access except the files named in ``read`` and ``write`` (so a query can never reach anything else).

    ``pushdown=False`` turns DuckDB's ``type_pushdown`` off: it makes a ``TRY_CAST`` a strict cast inside the
    CSV scanner (twice as fast on valid files), which on a bad value loses its row and column ("Conversion
    Error: CSV Error on Line: N"). The loaders rerun a CSV that failed that way without it.
    """
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        # In Jupyter without ipywidgets DuckDB refuses to change any progress-bar setting; it cannot
        # draw the bar there either, so nothing reaches the output.
        pass
    con.execute("SET preserve_insertion_order = false")  # aggregates only; row numbers use one thread
    if not pushdown:
        con.execute("SET disabled_optimizers = 'type_pushdown'")
    allowed = [str(Path(p).resolve()) for p in (*read, *write)]
    con.execute("SET allowed_paths = $paths", {"paths": allowed})
    con.execute("SET enable_external_access = false")
    return con


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()


CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz")


@dataclass(frozen=True)
class Source:
    """One or more outcome files of one format, read by DuckDB with the paths as parameters.

    SQL never names a column by the file's own (untrusted) header: :meth:`col` maps a name, checked in
    Python against the header, to a positional alias ``c0``, ``c1``, ... that the code made.
    """

    paths: tuple[Path, ...]
    columns: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    pushdown: bool = True  # False after a strict CSV cast failed: rerun so the bad row can be named

    def retry_without_pushdown(self, exc: duckdb.Error) -> Source | None:
        """This source again without ``type_pushdown`` when ``exc`` is the scanner's strict cast failing."""
        if self.pushdown and isinstance(exc, duckdb.ConversionException) and self.suffix in CSV_SUFFIXES:
            return dataclasses.replace(self, pushdown=False)
        return None

    @property
    def name(self) -> str:
        """How messages name the input: the file, or the first file and how many there are."""
        if len(self.paths) == 1:
            return str(self.paths[0])
        return f"{self.paths[0]} (and {len(self.paths) - 1} more files)"

    @property
    def suffix(self) -> str:
        return _suffix(self.paths[0])

    @property
    def params(self) -> dict[str, Any]:
        return {"src": [str(p.resolve()) for p in self.paths]}

    def table(self) -> str:
        """The table function over ``$src``; its columns aliased by position once the header is known."""
        if self.suffix in CSV_SUFFIXES:
            delim = "\\t" if self.suffix == ".tsv" else ","
            fn = (f"read_csv($src, header=true, all_varchar=true, delim=E'{delim}', quote='\"', escape='\"', "
                  "strict_mode=true)")
        elif self.suffix == ".parquet":
            fn = "read_parquet($src, union_by_name=true)"
        elif self.suffix in JSON_SUFFIXES:
            fn = "read_json($src, format='newline_delimited', union_by_name=true)"
        else:
            raise OutcomeError(f"{self.paths[0]}: unknown file type {self.paths[0].suffix!r}; "
                               "use .csv, .parquet or .jsonl")
        if not self.columns:
            return fn
        return f"{fn} AS src({', '.join(f'c{i}' for i in range(len(self.columns)))})"

    def col(self, name: str) -> str:
        """The positional alias of column ``name`` (which must be one of the file's columns)."""
        return f"c{self.columns.index(name)}"

    def type_of(self, name: str) -> str:
        return self.types[self.columns.index(name)]

    def connect(self, write: Sequence[Path] = ()) -> duckdb.DuckDBPyConnection:
        return connect(read=self.paths, write=write, pushdown=self.pushdown)

    def run(self, con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
            ) -> duckdb.DuckDBPyConnection:
        """Run ``sql`` with ``$src`` and those of ``params`` it uses (DuckDB refuses unused parameters)."""
        given = {**self.params, **(params or {})}
        return con.execute(sql, {k: v for k, v in given.items() if f"${k}" in sql})

    def error(self, exc: duckdb.Error) -> OutcomeError:
        """A DuckDB error as an :class:`OutcomeError`; for CSV, the row and what is wrong with it."""
        if self.suffix in CSV_SUFFIXES:
            for path in self.paths:
                found = diagnose_csv(path)
                if found:
                    return OutcomeError(f"{path}: {found}")
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return OutcomeError(f"{self.name}: could not be read ({_excerpt(first, 200)})")


def _excerpt(text: str, limit: int = 60) -> str:
    """At most ``limit`` characters of an input value, for messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _paths(path: Paths) -> tuple[Path, ...]:
    """A file, a list of files, or a glob (expanded here, so DuckDB only ever gets named files)."""
    if isinstance(path, (str, Path)):
        text = str(path)
        if any(ch in text for ch in "*?["):
            found = tuple(Path(p) for p in sorted(glob.glob(text)))
            if not found:
                raise OutcomeError(f"{text}: no files match")
            return found
        return (Path(path),)
    found = tuple(Path(p) for p in path)
    if not found:
        raise OutcomeError("no outcome files given")
    if len({_suffix(p) for p in found}) > 1:
        raise OutcomeError(f"{found[0]}: files of different formats cannot be read together")
    return found


def open_source(path: Paths) -> Source:
    """Check the files exist and are not empty, and read their header (names and types)."""
    paths = _paths(path)
    for p in paths:
        if not p.is_file():
            raise OutcomeError(f"{p}: no such file")
        if p.stat().st_size == 0:
            raise OutcomeError(f"{p}: the file is empty; it needs a header and at least one row")
    bare = Source(paths)
    table = bare.table()  # refuses an unknown suffix before DuckDB sees the file
    con = bare.connect()
    try:
        described = bare.run(con, f"DESCRIBE SELECT * FROM {table}").fetchall()
    except duckdb.Error as exc:
        raise bare.error(exc) from None
    finally:
        con.close()
    src = Source(paths, tuple(d[0] for d in described), tuple(str(d[1]).upper() for d in described))
    if src.suffix in CSV_SUFFIXES:
        # DuckDB's sniffer may take a longer row for the header; the first record is the header.
        for p in paths:
            width = _csv_header_width(p)
            if width is not None and width != len(src.columns):
                raise OutcomeError(f"{p}: {diagnose_csv(p) or 'its rows do not match its header'}")
    return src


def _csv_header_width(path: Path) -> int | None:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            return len(next(csv.reader(handle, delimiter="\t" if _suffix(path) == ".tsv" else ",")))
    except (StopIteration, UnicodeDecodeError, csv.Error, OSError, EOFError):
        return None


def diagnose_csv(path: Path) -> str | None:
    """Find the first row of a CSV that a strict reader refuses (wrong field count, unclosed quote, bad
    UTF-8), streaming it with Python's csv module: DuckDB's own messages count lines, not rows."""
    delim = "\t" if _suffix(path) == ".tsv" else ","
    opener = gzip.open if path.suffix == ".gz" else open
    row = 0
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            records = csv.reader(handle, delimiter=delim, quotechar='"', doublequote=True, strict=True)
            try:
                header = next(records)
            except StopIteration:
                return None
            for record in records:
                if not record:
                    continue  # a blank line is not a row
                row += 1
                if len(record) != len(header):
                    return (f"row {row}: has {len(record)} fields but the header has {len(header)}; quote a value "
                            "that holds a comma")
    except UnicodeDecodeError:
        return f"row {row + 1}: is not UTF-8 text; save the file as UTF-8"
    except csv.Error as exc:
        if "end of data" in str(exc) or "EOF" in str(exc):
            return f"row {row + 1}: a quoted value is never closed (unterminated quote)"
        return f"row {row + 1}: is not valid CSV ({exc})"
    return None


def columns_of(path: Paths) -> list[str]:
    """Column names of a file, of a list of files or of a glob."""
    return list(open_source(path).columns)


def detect_kind(columns: Sequence[str]) -> str | None:
    """``events`` when the event columns are all there, else ``counts`` when the count columns are, else None."""
    if set(EVENT_COLUMNS) <= set(columns):
        return "events"
    if set(COUNT_COLUMNS) <= set(columns):
        return "counts"
    return None


def load(path: Paths, segment: str | None = None, variants: Sequence[str] | None = None,
         start: dt.datetime | None = None, end: dt.datetime | None = None, labels: Sequence[str] = ()) -> Dataset:
    """Load counts or events (told apart by their columns), validated against ``variants`` if given.

    ``labels``: columns of a counts file that name a segment (besides ``segment``), not guardrail counts.
    """
    src = open_source(path)
    cols = src.columns
    kind = detect_kind(cols)
    if kind == "events":
        return load_events(src, segment=segment, variants=variants, start=start, end=end)
    if kind == "counts":
        if start or end:
            raise OutcomeError(f"{src.name}: a counts file has no timestamps, so --start/--end cannot apply")
        return load_counts(src, segment=segment, variants=variants, labels=labels)
    missing_events = [c for c in EVENT_COLUMNS if c not in cols]
    missing_counts = [c for c in COUNT_COLUMNS if c not in cols]
    raise OutcomeError(
        f"{src.name}: missing columns: a counts file needs {', '.join(COUNT_COLUMNS)} (missing "
        f"{', '.join(missing_counts)}); an events file needs {', '.join(EVENT_COLUMNS)} (missing "
        f"{', '.join(missing_events)}); found {_excerpt(', '.join(cols), 200)}"
    )


def _check_segment(src: Source, segment: str | None) -> None:
    if segment is not None and segment not in src.columns:
        raise OutcomeError(f"{src.name}: no column {_excerpt(segment)!r} to segment by; columns are "
                           f"{_excerpt(', '.join(src.columns), 200)}")


# -- counts ------------------------------------------------------------------------------


def as_count(value: Any, where: str) -> int:
    """A non-negative whole number from a cell (text, int, float or decimal), or an error naming ``where``."""
    blank = isinstance(value, str) and not value.strip()
    if value is None or blank or (isinstance(value, float) and math.isnan(value)):
        raise OutcomeError(f"{where}: is empty; give a whole number")
    shown = _excerpt(repr(value))
    if isinstance(value, bool):
        raise OutcomeError(f"{where}: {shown} is not a whole number")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise OutcomeError(f"{where}: {shown} is not a whole number") from None
            if not f.is_integer():
                raise OutcomeError(f"{where}: {shown} is not a whole number") from None
            number = int(f)
    elif isinstance(value, (float, decimal.Decimal)):
        if not value.is_finite() if isinstance(value, decimal.Decimal) else not math.isfinite(value):
            raise OutcomeError(f"{where}: {shown} is not a whole number")
        if value != int(value):
            raise OutcomeError(f"{where}: {shown} is not a whole number")
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        raise OutcomeError(f"{where}: {shown} is not a whole number")
    if number < 0:
        raise OutcomeError(f"{where}: {number} is negative; counts cannot be")
    return number


def _label(value: Any) -> str | None:
    """A segment or variant cell as text (None when empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def count_rows(src: Source, labels: Sequence[str] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The raw rows of a counts file: (column names, rows)."""
    con = src.connect()
    try:
        rel = src.run(con, f"SELECT * FROM {src.table()}")
        rows = rel.fetchall()
    except duckdb.Error as exc:
        raise src.error(exc) from None
    finally:
        con.close()
    return list(src.columns), rows


def _count_row(rec: dict[str, Any], where: str, known: set[str] | None, extra: Sequence[str],
               label_cols: Sequence[str], seen: dict[tuple[str, tuple[str | None, ...]], int]
               ) -> tuple[str, ArmData, tuple[str, tuple[str | None, ...]]]:
    """One counts row checked: (variant, its arm data, its key), or the row's first error."""
    variant = _label(rec["variant"])
    if variant is None:
        raise OutcomeError(f"{where} variant: is empty")
    if known is not None and variant not in known:
        raise OutcomeError(f"{where} variant: unknown variant {_excerpt(variant)!r}; the experiment's "
                           f"arms are {', '.join(sorted(known))}")
    imps = as_count(rec["impressions"], f"{where} impressions")
    clicks = as_count(rec["clicks"], f"{where} clicks")
    if clicks > imps:
        raise OutcomeError(f"{where} clicks: {clicks} clicks is more than {imps} impressions")
    guards = {}
    for g in extra:
        count = as_count(rec[g], f"{where} {g}")
        if count > imps:
            raise OutcomeError(f"{where} {g}: {count} is more than {imps} impressions")
        guards[g] = count
    cell = tuple(_label(rec[c]) for c in label_cols)
    key = (variant, cell)
    if key in seen:
        what = f"variant {_excerpt(variant)!r}" + "".join(
            f" in {c} {_excerpt(str(v))!r}" for c, v in zip(label_cols, cell, strict=True))
        raise OutcomeError(f"{where} variant: {what} already appeared in row {seen[key]}; "
                           "give one row per variant" + (" and segment" if label_cols else ""))
    return variant, ArmData(variant, ProportionStatistic(imps, clicks), guards), key


def load_counts(path: Paths | Source, segment: str | None = None, variants: Sequence[str] | None = None,
                labels: Sequence[str] = ()) -> Dataset:
    """Counts per variant, summed over segments: a row is one (variant, segment labels) cell.

    The ``segment`` column, ``labels`` and the ``segment`` argument name label columns; every other extra
    column is a guardrail count.
    """
    src = path if isinstance(path, Source) else open_source(path)
    names, rows = count_rows(src)
    if not rows:
        raise OutcomeError(f"{src.name}: has a header but no rows")
    _check_segment(src, segment)
    label_cols = [c for c in names if c == "segment" or c in labels or c == segment]
    extra = [c for c in names if c not in COUNT_COLUMNS and c not in label_cols]
    known = set(variants) if variants is not None else None

    seen: dict[tuple[str, tuple[str | None, ...]], int] = {}
    overall: dict[str, ArmData] = {}
    per_segment: dict[str, dict[str, ArmData]] = {}
    bad: list[str] = []
    for i, values in enumerate(rows, start=1):
        rec = dict(zip(names, values, strict=True))
        try:
            checked = _count_row(rec, f"{src.name}: row {i}, column", known, extra, label_cols, seen)
        except OutcomeError as exc:
            bad.append(str(exc))
            continue
        seen[checked[2]] = i
        if bad:
            continue  # the file is refused: only its other bad rows matter now
        variant, arm = checked[0], checked[1]
        overall[variant] = overall[variant] + arm if variant in overall else arm
        if segment:
            seg_value = str(_label(rec[segment]))
            by_arm = per_segment.setdefault(seg_value, {})
            by_arm[variant] = by_arm[variant] + arm if variant in by_arm else arm
    if bad:
        raise OutcomeError(bad[0], bad[:ERROR_CAP], max(0, len(bad) - ERROR_CAP))

    order = list(variants) if variants is not None else list(overall)
    missing = [v for v in order if v not in overall]
    if variants is not None and missing:
        raise OutcomeError(f"{src.name}: no rows for arm{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    arms = [overall[v] for v in order]
    segments = {s: [d[v] for v in order if v in d] for s, d in per_segment.items()}
    return Dataset("counts", arms, segments, rows=len(rows))


# -- events ------------------------------------------------------------------------------


def event_exprs(src: Source) -> dict[str, str]:
    """SQL for the four event columns of ``src`` (by position), typed: variant, timestamp, clicked, user_id."""
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
    return {"variant": variant, "timestamp": ts, "clicked": clicked, "user_id": f"CAST({c('user_id')} AS VARCHAR)"}


def load_events(path: Paths | Source, segment: str | None = None, variants: Sequence[str] | None = None,
                start: dt.datetime | None = None, end: dt.datetime | None = None) -> Dataset:
    """Aggregate impression events per user, then per arm: the user is the unit of analysis.

    Two scans of the file: one groups by day and arm (the timeline, and the count of invalid rows in
    the same pass), one groups by arm and user. Typed columns (Parquet) are checked without casts.
    Columns are named by position (``src.col``), never by the file's header text.
    """
    src = path if isinstance(path, Source) else open_source(path)
    _check_segment(src, segment)
    table = src.table()
    e = event_exprs(src)
    variant, clicked, ts, user = e["variant"], e["clicked"], e["timestamp"], e["user_id"]
    known = list(variants) if variants is not None else None
    params: dict[str, Any] = {"known": known, "start": start, "end": end}
    seg_col = src.col(segment) if segment else None
    # user_id is checked on the per-user table (pass 2), so pass 1 never reads the id strings.
    checks = {
        "variant": f"{variant} IS NULL" + ("" if known is None else f" OR {variant} NOT IN (SELECT unnest($known))"),
        "timestamp": f"{ts} IS NULL",
        "clicked": f"{clicked} IS NULL",
    }
    if segment:
        checks[segment] = f"{seg_col} IS NULL"
    window = []
    if start:
        window.append(f"{ts} < CAST($start AS TIMESTAMP)")
    if end:
        window.append(f"{ts} >= CAST($end AS TIMESTAMP)")
    outside = " OR ".join(window) or "FALSE"
    user_bad = "user_id IS NULL OR user_id = ''"
    con = src.connect()
    retry: Source | None = None

    def run(sql: str) -> duckdb.DuckDBPyConnection:
        return src.run(con, sql, params)

    try:
        # Pass 1: the daily timeline, with invalid and out-of-window rows counted in the same scan.
        bad_counts = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in checks.values())
        by_day = run(f"""
            SELECT CAST({ts} AS DATE) AS day, {variant} AS v, count(*) AS rows,
                   count(*) FILTER (WHERE NOT ({outside})) AS n, sum({clicked}) FILTER (WHERE NOT ({outside})) AS c,
                   count(*) FILTER (WHERE {outside}) AS skipped, {bad_counts}
            FROM {table} GROUP BY ALL ORDER BY 1, 2
        """).fetchall()
        total = sum(r[2] for r in by_day)
        if total == 0:
            raise OutcomeError(f"{src.name}: has a header but no rows")
        bad = [sum(r[6 + i] for r in by_day) for i in range(len(checks))]
        if any(bad):
            raise _bad_event_rows(src, run, con, checks, bad, known)
        outside_rows = sum(r[5] for r in by_day)
        skipped = {"outside the experiment window": outside_rows} if outside_rows else {}
        daily = [{"day": d.isoformat(), "variant": v, "impressions": int(n), "clicks": int(c or 0)}
                 for d, v, _, n, c, *_ in by_day if n]

        # Pass 2: per user and arm, kept in memory (a few columns per user) for the per-arm sums.
        seg_expr = f"CAST({seg_col} AS VARCHAR)" if segment else "NULL"
        run(f"""
            CREATE TEMP TABLE per_user AS
            SELECT {variant} AS variant, {seg_expr} AS seg, {user} AS user_id, count(*) AS n, sum({clicked}) AS c
            FROM {table} WHERE NOT ({outside}) GROUP BY ALL
        """)
        missing_ids = con.execute(f"SELECT sum(n) FROM per_user WHERE {user_bad}").fetchone()[0]
        if missing_ids:
            con.execute("SET threads = 1")
            rows = [r[0] for r in run(f"SELECT rn FROM (SELECT row_number() OVER () AS rn, {user} AS user_id "
                                      f"FROM {table}) WHERE {user_bad} ORDER BY rn LIMIT {ERROR_CAP}").fetchall()]
            listed = [f"{src.name}: row {r}, column user_id: is empty" for r in rows]
            raise OutcomeError(listed[0] + (f" ({missing_ids - 1} more rows like it)" if missing_ids > 1 else ""),
                               listed, max(0, int(missing_ids) - len(listed)))
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
        retry = src.retry_without_pushdown(exc)
        if retry is None:
            raise src.error(exc) from None
    finally:
        con.close()
    if retry is not None:
        return load_events(retry, segment=segment, variants=variants, start=start, end=end)
    notes = []
    if crossed:
        notes.append(f"{crossed} users appear in more than one arm: assignment is not per user, or ids collide; "
                     "their impressions count in every arm they saw")

    stats = {r[0]: _ratio(r[1:]) for r in overall_rows}
    order = list(variants) if variants is not None else sorted(stats)
    missing = [v for v in order if v not in stats]
    if missing:
        raise OutcomeError(f"{src.name}: no impressions for arm{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
                           + (" inside the experiment window" if skipped else ""))
    arms = [ArmData(v, stats[v]) for v in order]
    segments: dict[str, list[ArmData]] = {}
    if segment:
        by_seg: dict[str, dict[str, RatioStatistic]] = {}
        for r in agg:
            by_seg.setdefault(r[1], {})[r[0]] = _ratio(r[2:])
        segments = {s: [ArmData(v, d[v]) for v in order if v in d] for s, d in by_seg.items()}
    return Dataset("events", arms, segments, rows=total, skipped=skipped, notes=notes, daily=daily)


def _bad_event_rows(src: Source, run: Callable[[str], duckdb.DuckDBPyConnection],
                    con: duckdb.DuckDBPyConnection, checks: dict[str, str], counts: Sequence[int],
                    known: Sequence[str] | None) -> OutcomeError:
    """The error for an events file with invalid rows: the first bad column's first row as the message (and
    how many rows share it), and every bad row in file order, up to ``ERROR_CAP``, in ``errors``."""
    con.execute("SET threads = 1")  # a single-threaded scan numbers rows in file order
    columns = list(checks)
    values = ", ".join(f"CAST({src.col(c)} AS VARCHAR) AS v{i}" for i, c in enumerate(columns))
    flags = ", ".join(f"coalesce({cond}, FALSE) AS f{i}" for i, cond in enumerate(checks.values()))
    any_bad = " OR ".join(f"f{i}" for i in range(len(columns)))
    found = run(f"SELECT rn, {', '.join(f'v{i}' for i in range(len(columns)))}, "
                f"{', '.join(f'f{i}' for i in range(len(columns)))}, count(*) OVER () AS total "
                f"FROM (SELECT row_number() OVER () AS rn, {values}, {flags} FROM {src.table()}) "
                f"WHERE {any_bad} ORDER BY rn LIMIT {ERROR_CAP}").fetchall()
    n = len(columns)
    listed: list[str] = []
    first: dict[str, str] = {}
    for r in found:
        for i, column in enumerate(columns):
            if r[1 + n + i]:
                text = f"{src.name}: row {r[0]}, column {column}: {_explain(column, r[1 + i], known)}"
                first.setdefault(column, text)
                listed.append(text)
                break  # one line per row: its first bad column
    column, count = next((c, k) for c, k in zip(columns, counts, strict=True) if k)
    message = first.get(column)
    if message is None:  # that column's first bad row is past the cap
        row, value = run(f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, CAST({src.col(column)} AS VARCHAR) "
                         f"AS v, * FROM {src.table()}) WHERE {checks[column]} LIMIT 1").fetchone()
        message = f"{src.name}: row {row}, column {column}: {_explain(column, value, known)}"
    total = int(found[0][-1]) if found else 0
    return OutcomeError(message + (f" ({count - 1} more rows like it)" if count > 1 else ""),
                        listed or [message], max(0, total - len(listed)))


def _ratio(r: Sequence[Any]) -> RatioStatistic:
    users, c, c2, n, n2, cn = r
    return RatioStatistic(int(users), int(c), float(c2), int(n), float(n2), float(cn))


def _explain(column: str, value: Any, known: Sequence[str] | None) -> str:
    if value is None or str(value).strip() == "":
        return "is empty"
    if column == "variant":
        return f"unknown variant {_excerpt(str(value))!r}; the experiment's arms are {', '.join(sorted(known or []))}"
    if column == "clicked":
        return f"{_excerpt(repr(value))} is not 0 or 1"
    if column == "timestamp":
        return f"{_excerpt(repr(value))} is not a timestamp; use ISO 8601 such as 2026-11-25T09:30:00"
    return f"{_excerpt(repr(value))} is not valid"
