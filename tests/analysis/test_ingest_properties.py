"""Property tests for outcome files: whatever the columns, values, encoding or truncation, a CSV, Parquet or
JSON-lines file either loads or raises ``OutcomeError`` naming the file. No other exception escapes
(``tests/lab/experiments/test_outcome_properties.py`` does the same for the lab's store). Seeded for CI (``derandomize``)."""

import csv
import io
import json
import math
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.ingest import Dataset, OutcomeError, load

ARMS = ["v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost"]
KNOWN = ["variant", "impressions", "clicks", "dismissals", "segment", "user_id", "timestamp", "clicked",
         "event_id", "platform", "email"]
COUNTS = ["variant", "impressions", "clicks"]
EVENTS = ["user_id", "variant", "timestamp", "clicked"]

odd_text = st.text(alphabet=st.sampled_from(list('ab,"\'\n\r\t;é小👍\x00\u200b-_ ')), max_size=12)
EVIL = """clicked" AS VARCHAR) AS "x", (SELECT content FROM read_text('/etc/hostname')) AS "leak" --"""
column_name = st.one_of(st.sampled_from(KNOWN), odd_text, st.just(EVIL))
cell = st.one_of(
    st.sampled_from(ARMS), st.integers(-5, 10), st.integers(0, 10**20), st.sampled_from(["0", "1", "2", "yes", ""]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["2026-11-01 10:00:00", "2026-11-01T10:00:00",
                                                                     "yesterday", "2026-13-45"]),
    odd_text, st.none(), st.booleans(),
)


GOOD = {
    "variant": st.sampled_from(ARMS), "impressions": st.integers(100, 1000), "clicks": st.integers(0, 100),
    "dismissals": st.integers(0, 50), "user_id": st.sampled_from(["u1", "u2", "u3", "用户4"]),
    "timestamp": st.sampled_from(["2026-11-01 10:00:00", "2026-11-02T08:30:00"]), "clicked": st.integers(0, 1),
    "segment": st.sampled_from(["ios", "android"]), "platform": st.sampled_from(["ios", "web"]),
}


@st.composite
def table(draw):
    """Column names (often a valid counts or events header, sometimes not) and rows of cells."""
    base = draw(st.sampled_from([COUNTS, EVENTS, COUNTS + ["dismissals"], EVENTS + ["platform"], []]))
    clean = draw(st.booleans())  # half the files are well formed, so the loading path is exercised too
    extra = draw(st.lists(st.sampled_from(["email", "segment", "platform", 'note "q"', EVIL]) if clean else column_name,
                          max_size=2))
    names = base + [c for c in extra if not (clean and c in base)]
    if draw(st.booleans()):
        names = draw(st.permutations(names))
    good = st.tuples(*(GOOD.get(n, odd_text) for n in names)).map(list)
    bad = st.lists(cell, min_size=len(names), max_size=len(names))
    rows = draw(st.lists(good, min_size=1, max_size=6) if clean else st.lists(st.one_of(good, bad), max_size=6))
    return names, rows


def csv_bytes(draw, names, rows) -> bytes:
    buffer = io.StringIO()
    if draw(st.booleans()):
        writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
        writer.writerow(names)
        writer.writerows(["" if v is None else v for v in r] for r in rows)
        text = buffer.getvalue()
    else:  # naive joins: unbalanced quotes, stray commas
        text = "\n".join(",".join("" if v is None else str(v) for v in r) for r in [names, *rows]) + "\n"
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def jsonl_bytes(names, rows) -> bytes:
    def clean(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return "".join(json.dumps(dict(zip(names, map(clean, r), strict=False))) + "\n" for r in rows).encode()


def parquet_bytes(names, rows) -> bytes:
    columns = {}
    for name in dict.fromkeys(names):  # a repeated name keeps its first column
        i = names.index(name)
        values = [r[i] for r in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int} and all(v is None or abs(v) < 2**63 for v in values):
            columns[name] = pa.array(values, pa.int64())
        elif kinds <= {float, int} and kinds:
            columns[name] = pa.array([None if v is None else float(v) for v in values], pa.float64())
        elif kinds == {bool}:
            columns[name] = pa.array(values, pa.bool_())
        else:
            columns[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    sink = io.BytesIO()
    pq.write_table(pa.table(columns) if columns else pa.table({"x": pa.array([], pa.int64())}), sink)
    return sink.getvalue()


@st.composite
def outcome_file(draw):
    names, rows = draw(table())
    fmt = draw(st.sampled_from(["csv", "parquet", "jsonl"]))
    data = {"csv": lambda: csv_bytes(draw, names, rows), "jsonl": lambda: jsonl_bytes(names, rows),
            "parquet": lambda: parquet_bytes(names, rows)}[fmt]()
    if data and draw(st.integers(0, 5)) == 0:  # truncated mid-file
        data = data[: draw(st.integers(len(data) // 2, len(data) - 1))]
    return fmt, data


def write(folder: str, fmt: str, data: bytes) -> Path:
    path = Path(folder) / f"outcomes.{fmt}"
    path.write_bytes(data)
    return path


@settings(derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcome_file(), st.booleans())
def test_any_outcome_file_loads_or_names_itself_in_an_outcome_error(file, against_arms):
    fmt, data = file
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, fmt, data)
        try:
            result = load(path, variants=ARMS if against_arms else None)
        except OutcomeError as exc:
            assert str(path) in str(exc)
        else:
            assert isinstance(result, Dataset) and result.rows > 0
