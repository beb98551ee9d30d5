"""What the outcome store keeps of a file: validated against an experiment, its kept columns, and the digest
of its normalised rows. Everything here works from the file's Parquet copy (``normalise``).

A file's digest is the SHA-256 of its parsed, normalised rows (not its bytes), so the same rows with other
formatting count once. Only the columns the lab knows are kept (user ids replaced by salted hashes); any
other column is dropped and named.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analysis.ingest.counts import as_count, count_rows
from analysis.ingest.dataset import COUNT_COLUMNS, EVENT_COLUMNS, PRE_COLUMNS
from analysis.ingest.errors import OutcomeError, excerpt
from analysis.ingest.events import event_exprs
from analysis.ingest.normalise import read_bytes, sql_path, to_parquet
from analysis.ingest.read import load
from analysis.ingest.source import Source, connect, detect_kind, open_source

KEY_COLUMNS = ("event_id", "impression_id")  # an events file's own id for each impression, first found wins


@dataclass(frozen=True)
class Schema:
    """What an experiment accepts: its arms, the segment columns it keeps and its guardrail counts."""

    name: str
    arms: tuple[str, ...]
    segments: tuple[str, ...] = ()
    guardrails: tuple[str, ...] = ()


@dataclass
class Prepared:
    """A validated input, ready to store: what to keep of it and under which digest."""

    path: Path
    bytes_sha: str
    kind: str = ""
    digest: str = ""
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    src: Source | None = None
    key: str | None = None  # the event id column, if any
    counts_csv: bytes = b""


def read_once(path: Path) -> tuple[str, bytes]:
    """The SHA-256 of a file's bytes and its first line: the one read Python makes of it."""
    return read_bytes(Path(path))


def prepare(path: Path, first: bytes, bytes_sha: str, schema: Schema, folder: Path) -> Prepared:
    """Validate ``path`` against ``schema`` from its Parquet copy in ``folder``, and compute what is kept."""
    src = to_parquet(Path(path), first, folder)
    cols = src.columns
    detected = detect_kind(cols)
    kind = detected or "counts"  # a file with neither set of columns fails in load(), naming what is missing
    labels = ("segment", *schema.segments)
    if detected == "counts":
        allowed = set(COUNT_COLUMNS) | set(labels) | set(schema.guardrails)
        extra = [c for c in cols if c not in allowed]
        if extra:
            raise OutcomeError(f"{path}: column {excerpt(extra[0])!r} is not a metric of experiment {schema.name} "
                               f"(guardrails: {', '.join(schema.guardrails) or 'none'})")
    dataset = load(src, variants=schema.arms, labels=schema.segments)
    prep = Prepared(Path(path), bytes_sha, kind, rows=dataset.rows, skipped=dataset.skipped, src=src)
    if kind == "counts":
        keep = [c for c in (*COUNT_COLUMNS, *schema.guardrails, *labels) if c in cols]
        prep.counts_csv, prep.digest = _canonical_counts(src, keep, labels)
    else:
        prep.key = next((c for c in KEY_COLUMNS if c in cols), None)
        keep = [*EVENT_COLUMNS, *([prep.key] if prep.key else []), *(g for g in schema.guardrails if g in cols),
                *(s for s in schema.segments if s in cols), *(p for p in PRE_COLUMNS if p in cols)]
        prep.digest = _events_digest(src, keep)
    prep.dropped = tuple(c for c in cols if c not in keep)
    return prep


def write_events(prep: Prepared, schema: Schema, dest: Path, salt: str, keyed: Sequence[Path]) -> int:
    """Copy the kept columns of the events to ``dest`` (Parquet), user ids replaced by salted hashes.

    Columns are selected by position; only names from the schema (checked by the spec) are written as output
    names. Rows whose event id is already in ``keyed`` files, or repeated in the file, are left out. Returns
    the number of rows written; writes nothing (and no file) when that is 0.
    """
    src = prep.src
    assert src is not None
    e = event_exprs(src)
    select = [f"substr(sha256($salt || {e['user_id']}), 1, 20) AS user_id", f"{e['variant']} AS variant",
              f"{e['timestamp']} AS timestamp", f"{e['clicked']} AS clicked"]
    if prep.key:
        select.append(f"CAST({src.col(prep.key)} AS VARCHAR) AS event_id")
    select += [f'TRY_CAST({src.col(g)} AS BIGINT) AS "{g}"' for g in schema.guardrails if g in src.columns]
    select += [f'CAST({src.col(s)} AS VARCHAR) AS "{s}"' for s in schema.segments if s in src.columns]
    select += [f'{e[p]} AS "{p}"' for p in PRE_COLUMNS if p in src.columns]
    query = f"SELECT {', '.join(select)} FROM {src.table()}"
    if prep.key:
        seen = ""
        if keyed:
            seen = ("AND NOT EXISTS (SELECT 1 FROM read_parquet($keyed, union_by_name=true) AS old "
                    "WHERE old.event_id = new.event_id)")
        query = (f"SELECT * FROM ({query}) AS new WHERE event_id IS NULL OR (TRUE {seen}) "
                 "QUALIFY event_id IS NULL OR row_number() OVER (PARTITION BY event_id) = 1")
    con = connect(read=[*src.paths, *keyed], write=[dest])
    try:
        stored = src.run(con, f"COPY ({query}) TO {sql_path(dest)} (FORMAT parquet, USE_TMP_FILE false)",
                         {"salt": salt, "keyed": [str(p) for p in keyed]}).fetchone()[0]
    finally:
        con.close()
    if stored == 0:
        dest.unlink(missing_ok=True)
    return int(stored)


def _canonical_counts(src: Source, keep: list[str], labels: tuple[str, ...]) -> tuple[bytes, str]:
    """The counts as the lab writes them (kept columns, one canonical row order) and the digest of that."""
    names, rows = count_rows(src)
    out = []
    for i, values in enumerate(rows, start=1):
        rec = dict(zip(names, values, strict=True))
        row = []
        for c in keep:
            if c == "variant" or c in labels:
                row.append("" if rec[c] is None else str(rec[c]).strip())
            else:
                row.append(str(as_count(rec[c], f"{src.name}: row {i}, column {c}")))
        out.append(row)
    out.sort()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keep)
    writer.writerows(out)
    data = buffer.getvalue().encode("utf-8")
    return data, hashlib.sha256(b"counts\n" + data).hexdigest()


def _events_digest(src: Source, keep: list[str]) -> str:
    """A digest of the kept columns' normalised rows, independent of row order and formatting.

    Each row's canonical text is hashed (MD5, 128 bits as two halves) and the hashes summed, with the
    row count: a multiset hash, computed in one scan however large the file is.
    """
    e = event_exprs(src)
    parts = [e["user_id"], e["variant"], f"CAST({e['timestamp']} AS VARCHAR)", f"CAST({e['clicked']} AS VARCHAR)"]
    parts += [f"CAST({src.col(c)} AS VARCHAR)" for c in keep[len(EVENT_COLUMNS):]]
    row = "concat_ws(chr(31), " + ", ".join(f"coalesce({p}, chr(30))" for p in parts) + ")"
    con = src.connect()
    try:
        n, lo, hi = src.run(con, f"SELECT count(*), sum(md5_number_lower({row})), sum(md5_number_upper({row})) "
                                 f"FROM {src.table()}").fetchone()
    except duckdb.Error as exc:
        raise src.error(exc) from None
    finally:
        con.close()
    return hashlib.sha256(f"events\n{','.join(keep)}\n{n}\n{lo}\n{hi}".encode()).hexdigest()


def stored_dataset(kind: str, files: Sequence[Path], schema: Schema, cuped: bool = False) -> Any:
    """Everything stored for an experiment (its files, of one kind), aggregated: broken down by its first
    declared segment and with its guardrail counts, where every stored file has that column (a file ingested
    without it would make the others' figures look like the whole)."""
    from analysis.ingest.dataset import Dataset

    columns = [set(open_source(f).columns) for f in files]
    everywhere = [c for c in (*schema.segments, *schema.guardrails) if all(c in cols for cols in columns)]
    segment = next((s for s in schema.segments if s in everywhere), None)
    if kind == "events":
        return load(list(files), segment=segment, variants=schema.arms, cuped=cuped,
                    guardrails=[g for g in schema.guardrails if g in everywhere])
    pooled: dict[str, Any] = {}
    by_segment: dict[str, dict[str, Any]] = {}
    rows = 0
    for file in files:
        part = load(file, segment=segment, variants=schema.arms, labels=schema.segments)
        rows += part.rows
        for arm in part.arms:
            pooled[arm.variant] = pooled[arm.variant] + arm if arm.variant in pooled else arm
        for seg, arms in part.segments.items():
            cell = by_segment.setdefault(seg, {})
            for arm in arms:
                cell[arm.variant] = cell[arm.variant] + arm if arm.variant in cell else arm
    segments = {s: [d[v] for v in schema.arms if v in d] for s, d in by_segment.items()}
    return Dataset("counts", [pooled[v] for v in schema.arms], segments, rows=rows)
