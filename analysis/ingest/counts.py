"""Counts files: one row per variant (and segment) with ``impressions``, ``clicks`` and guardrail counts."""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from typing import Any

import duckdb

from analysis.ingest.dataset import COUNT_COLUMNS, Dataset
from analysis.ingest.errors import ERROR_CAP, OutcomeError, check_label
from analysis.ingest.errors import excerpt as _excerpt
from analysis.ingest.source import PathLike, Source, check_segment, open_source
from analysis.statistics import ArmData, ProportionStatistic


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
        if not text.isascii():  # Python's int() reads full-width and other scripts' digits: '１２' is not 12 here
            raise OutcomeError(f"{where}: {shown} is not a whole number written with the digits 0-9")
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
    check_label(variant, f"{where} variant")
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
    for c, label in zip(label_cols, cell, strict=True):
        if label is not None:
            check_label(label, f"{where} {c}")
    empty = next((c for c, v in zip(label_cols, cell, strict=True) if v is None), None)
    if empty is not None:
        raise OutcomeError(f"{where} {empty}: is empty; every row needs its {empty}")
    key = (variant, cell)
    if key in seen:
        what = f"variant {_excerpt(variant)!r}" + "".join(
            f" in {c} {_excerpt(str(v))!r}" for c, v in zip(label_cols, cell, strict=True))
        raise OutcomeError(f"{where} variant: {what} already appeared in row {seen[key]}; "
                           "give one row per variant" + (" and segment" if label_cols else ""))
    return variant, ArmData(variant, ProportionStatistic(imps, clicks), guards), key


def load_counts(path: PathLike | Sequence[PathLike] | Source, segment: str | None = None,
                variants: Sequence[str] | None = None, labels: Sequence[str] = ()) -> Dataset:
    """Counts per variant, summed over segments: a row is one (variant, segment labels) cell.

    The ``segment`` column, ``labels`` and the ``segment`` argument name label columns; every other extra
    column is a guardrail count.
    """
    src = path if isinstance(path, Source) else open_source(path)
    names, rows = count_rows(src)
    if not rows:
        raise OutcomeError(f"{src.name}: has a header but no rows")
    check_segment(src, segment)
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
