"""Where the outcome tables are, and how the lab connects to them: read-only, bounded, credentials hidden.

The lab's production worker writes ``impressions`` (event_id, user_id, variant, timestamp, optional segment
columns, optional ``pre_clicks``/``pre_impressions``) and the app writes ``clicks`` (event_id, clicked_at).
One Ibis expression (the same for DuckDB, PostgreSQL and Ibis's other engines) joins them, groups per user
and then per arm inside the engine, and brings back only per-arm sums, the daily timeline and a few counts:
rows ≈ arms × days × segments. The statistics are the same functions a file goes through.

Connections are read-only, bounded by a timeout, and opened from an allow-list of URL schemes. Table names
are checked identifiers and columns are the fixed names above (a segment name is checked too), all passed to
Ibis as identifiers, never spliced into SQL text. Credentials come from the URL or the engine's environment
(``PGPASSWORD``...) and never appear in what the lab shows: ``redact`` is the only form of the URL it prints.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.cuped import PAIRS, CupedMoments
from analysis.ingest.errors import OutcomeError, excerpt
from analysis.statistics import ArmData, RatioStatistic

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
IMPRESSION_COLUMNS = ("event_id", "user_id", "variant", "timestamp")
CLICK_COLUMNS = ("event_id", "clicked_at")
SCHEMES = ("duckdb", "postgres", "postgresql")
DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class WarehouseSource:
    """Where the outcome tables are: a database URL and the two table names (``schema.table`` allowed)."""

    url: str
    impressions: str = "impressions"
    clicks: str = "clicks"

    def check(self) -> None:
        """Refuse an unknown URL scheme or a table name that is not an identifier, before connecting."""
        scheme = urllib.parse.urlsplit(self.url).scheme.lower()
        if scheme not in SCHEMES:
            raise OutcomeError(f"source {redact(self.url)}: unknown database type {excerpt(scheme or '(none)')!r}; "
                               "use duckdb:///path/to/file.duckdb or postgresql://user@host:port/database")
        for what, name in (("impressions", self.impressions), ("clicks", self.clicks)):
            if not all(IDENTIFIER.fullmatch(part) for part in name.split(".")) or name.count(".") > 1:
                raise OutcomeError(f"source {redact(self.url)}: {what} table {excerpt(name)!r} is not a table name; "
                                   "use letters, digits and '_' (optionally schema.table)")

    @property
    def shown(self) -> str:
        return redact(self.url)

    def describe(self) -> dict[str, str]:
        """What may be logged about the source (MLflow params, sidecars): never a credential."""
        return {"source": self.shown, "impressions": self.impressions, "clicks": self.clicks}


def redact(url: str) -> str:
    """The URL without user, password or query (a query may carry a password): scheme://host:port/path."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def has_password(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return bool(parts.password) or "password" in urllib.parse.parse_qs(parts.query)


def _scrub(text: str, url: str) -> str:
    """A driver's message with any credential of ``url`` taken out."""
    parts = urllib.parse.urlsplit(url)
    for secret in (parts.password, urllib.parse.unquote(parts.password or ""), parts.username, url):
        if secret:
            text = text.replace(secret, "***")
    return excerpt(text.splitlines()[0] if text else "", 200)


def connect(source: WarehouseSource, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """A read-only Ibis connection with bounded waits; errors name the redacted URL, never a credential."""
    import ibis

    source.check()
    parts = urllib.parse.urlsplit(source.url)
    scheme = parts.scheme.lower()
    try:
        if scheme == "duckdb":
            path = Path(urllib.parse.unquote(parts.netloc + parts.path))
            if not path.is_file():
                raise OutcomeError(f"source {source.shown}: no such database file")
            con = ibis.duckdb.connect(str(path), read_only=True)
            con.raw_sql("SET autoinstall_known_extensions = false")
            con.raw_sql("SET autoload_known_extensions = false")
            con.raw_sql("SET enable_external_access = false")
            return con
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        ms = int(timeout_s * 1000)
        return ibis.postgres.connect(
            host=parts.hostname or None, port=parts.port or 5432,
            user=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else query.get("password"),
            database=parts.path.lstrip("/") or None, connect_timeout=max(1, int(min(timeout_s, 30))),
            options=f"-c default_transaction_read_only=on -c statement_timeout={ms}",
            application_name="highlight-lab")
    except OutcomeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one line without credentials
        raise OutcomeError(f"source {source.shown}: could not connect ({_scrub(str(exc), source.url)})") from None


def ratio(row: dict[str, Any]) -> RatioStatistic:
    return RatioStatistic(int(row["users"]), int(row["c"] or 0), float(row["c2"] or 0), int(row["n"] or 0),
                          float(row["n2"] or 0), float(row["cn"] or 0))


def moments(row: dict[str, Any]) -> CupedMoments:
    names = ("c", "n", "pc", "pn")
    return CupedMoments(int(row["users"]), tuple(float(row[f"s_{x}"] or 0) for x in names),  # type: ignore[arg-type]
                        tuple(float(row[f"p_{names[i]}_{names[j]}"] or 0) for i, j in PAIRS))


def arm_data(order: Sequence[str], stats: dict[str, RatioStatistic], cuped: dict[str, CupedMoments]) -> list[ArmData]:
    return [ArmData(v, stats[v], cuped=cuped.get(v)) for v in order]


