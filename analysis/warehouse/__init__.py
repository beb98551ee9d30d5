"""Outcome tables in a database, analysed where they live: only aggregates leave the engine.

The lab's production worker writes ``impressions`` (event_id, user_id, variant, timestamp, optional segment
columns, optional ``pre_clicks``/``pre_impressions``) and the app writes ``clicks`` (event_id, clicked_at).
One Ibis expression (the same for DuckDB, PostgreSQL and Ibis's other engines) joins them, groups per user
and then per arm inside the engine, and brings back only per-arm sums, the daily timeline and a few counts:
rows ≈ arms × days × segments. The statistics are the same functions a file goes through.

``source`` holds where the tables are and how to connect (read-only, bounded, credentials redacted);
``query`` the expressions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from analysis.ingest.dataset import Dataset
from analysis.ingest.errors import OutcomeError
from analysis.warehouse.query import Query
from analysis.warehouse.source import DEFAULT_TIMEOUT_S, WarehouseSource, _scrub, connect, has_password, redact

__all__ = ["WarehouseSource", "connect", "has_password", "load_warehouse", "redact"]


def load_warehouse(source: WarehouseSource, segment: str | None = None, variants: Sequence[str] | None = None,
                   start: dt.datetime | None = None, end: dt.datetime | None = None, required: Sequence[str] = (),
                   cuped: bool = False, pre_start: dt.datetime | None = None,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> Dataset:
    """The same ``Dataset`` an events file gives, computed inside the database."""
    con = connect(source, timeout_s)
    try:
        query = Query(con, source, segment, list(variants) if variants is not None else None, start, end,
                      tuple(required), cuped, pre_start)
        return query.run()
    except OutcomeError:
        raise
    except Exception as exc:  # noqa: BLE001 - a driver or engine error: one line, no credentials
        raise OutcomeError(f"source {source.shown}: the query failed ({_scrub(str(exc), source.url)})") from None
    finally:
        con.disconnect()
