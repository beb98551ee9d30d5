"""Read outcome files into sufficient statistics, refusing bad rows with the row and column named.

Two shapes are accepted, as CSV, Parquet or JSON lines:

- **counts**: one row per variant (and segment): ``variant, impressions, clicks`` plus optional
  lower-is-better guardrail counts (``dismissals``, ``optouts``, ...) and a ``segment`` column;
- **events**: one row per impression: ``user_id, variant, timestamp, clicked`` (0/1) plus optional
  segment columns and, for CUPED, ``pre_clicks, pre_impressions``. DuckDB aggregates them out of core.

Row numbers in messages count data rows from 1 (the header is not a row). The modules, by idea:
``source`` (DuckDB and the positional ``Source``), ``csvfile`` (what Python checks in a CSV), ``counts``,
``events``, ``read`` (``load``), ``normalise`` (a file once to Parquet, for the outcome store), ``dataset``.
"""

from analysis.ingest.counts import as_count, count_rows, load_counts
from analysis.ingest.dataset import COUNT_COLUMNS, EVENT_COLUMNS, PRE_COLUMNS, Dataset
from analysis.ingest.errors import ERROR_CAP, OutcomeError
from analysis.ingest.events import event_exprs, load_events
from analysis.ingest.read import load
from analysis.ingest.source import Source, columns_of, connect, detect_kind, open_source

__all__ = ["COUNT_COLUMNS", "ERROR_CAP", "EVENT_COLUMNS", "PRE_COLUMNS", "Dataset", "OutcomeError", "Source",
           "as_count", "columns_of", "connect", "count_rows", "detect_kind", "event_exprs", "load", "load_counts",
           "load_events", "open_source"]
