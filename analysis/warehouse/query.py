"""The Ibis expressions behind ``analysis.warehouse.load_warehouse``: checks, timeline, per-user and per-arm sums.

Every ``execute`` here returns an aggregate: a handful of counts, one row per day and arm, or one row per arm
(and segment). No impression row and no user id ever leaves the engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt_types

from analysis.cuped import PAIRS
from analysis.ingest.dataset import PRE_COLUMNS, Dataset
from analysis.ingest.errors import OutcomeError, excerpt
from analysis.warehouse.source import (
    CLICK_COLUMNS,
    IDENTIFIER,
    IMPRESSION_COLUMNS,
    WarehouseSource,
    arm_data,
    moments,
    ratio,
)

YEARS = (1, 9999)


def _table(con: Any, name: str) -> Any:
    schema, _, table = name.rpartition(".")
    return con.table(table, database=schema or None)


@dataclass
class Query:
    con: Any
    source: WarehouseSource
    segment: str | None
    known: list[str] | None
    start: dt.datetime | None
    end: dt.datetime | None
    required: tuple[str, ...]
    cuped: bool
    pre_start: dt.datetime | None
    imp: Any = field(init=False)
    clk: Any = field(init=False)
    pre: str = field(init=False, default="")

    def run(self) -> Dataset:
        self._open()
        repeated = int(self.imp.count().execute()) - int(self.imp.event_id.nunique().execute())
        if repeated:
            raise OutcomeError(f"{self._where('impressions', 'event_id')}: {repeated:,} rows repeat an event_id; "
                               "the lab counts one impression per event_id, so de-duplicate the table first")
        events = self._events()
        total, daily, skipped = self._timeline(events)
        if total == 0:
            raise OutcomeError(f"{self._where('impressions')}: has no rows")
        per_user = self._per_user(events)
        stats, cuped, crossed = self._per_arm(per_user)
        order = list(self.known) if self.known is not None else sorted(stats)
        missing = [v for v in order if v not in stats]
        if missing:
            raise OutcomeError(f"{self._where('impressions')}: no impressions for arm{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(missing)}" + (" inside the experiment window" if skipped else ""))
        notes = self._notes(crossed)
        segments = self._segments(per_user, order) if self.segment else {}
        return Dataset("events", arm_data(order, stats, cuped), segments, rows=total,
                       skipped={"outside the experiment window": skipped} if skipped else {}, notes=notes,
                       daily=daily)

    # -- the tables and their columns --------------------------------------------------

    def _where(self, which: str, column: str | None = None) -> str:
        name = self.source.impressions if which == "impressions" else self.source.clicks
        return f"source {self.source.shown}, table {name}" + (f", column {column}" if column else "")

    def _open(self) -> None:
        for which, name in (("impressions", self.source.impressions), ("clicks", self.source.clicks)):
            try:
                table = _table(self.con, name)
            except Exception:  # noqa: BLE001 - each engine has its own "no such table" error
                raise OutcomeError(f"source {self.source.shown}: no table {name!r}; the lab reads the impressions "
                                   "and clicks tables the production worker and the app write") from None
            setattr(self, "imp" if which == "impressions" else "clk", table)
        extra = [c for c in (self.segment, *self.required) if c]
        for column in extra:
            if not IDENTIFIER.fullmatch(column):
                raise OutcomeError(f"{self._where('impressions')}: {excerpt(column)!r} is not a column name")
        self._need("impressions", self.imp, (*IMPRESSION_COLUMNS, *extra))
        self._need("clicks", self.clk, CLICK_COLUMNS)
        if self.cuped:
            if self.pre_start is not None:
                if self.start is None or self.pre_start >= self.start:
                    raise OutcomeError(f"{self._where('impressions')}: the pre-period needs an experiment start "
                                       "after it; give --start later than --pre-start")
                self.pre = "window"
            else:
                self._need("impressions", self.imp, PRE_COLUMNS, "CUPED needs them, or a pre-period window "
                                                                 "(--pre-start with --start)")
                self.pre = "columns"
        elif self.pre_start is not None:
            raise OutcomeError(f"{self._where('impressions')}: a pre-period start is given without CUPED")
        self._types()

    def _need(self, which: str, table: Any, columns: tuple[str, ...], why: str = "") -> None:
        have = set(table.columns)
        for column in columns:
            if column not in have:
                raise OutcomeError(f"{self._where(which)}: no column {column!r}"
                                   + (f" ({why})" if why else f"; it has {excerpt(', '.join(table.columns), 200)}"))

    def _types(self) -> None:
        """A wrong type is named with the column: ids are text or integers, times are timestamps."""
        want = [("impressions", self.imp, "timestamp", ("timestamp", "date")),
                ("impressions", self.imp, "variant", ("string",)),
                ("impressions", self.imp, "user_id", ("string", "integer")),
                ("impressions", self.imp, "event_id", ("string", "integer")),
                ("clicks", self.clk, "event_id", ("string", "integer")),
                ("clicks", self.clk, "clicked_at", ("timestamp", "date"))]
        if self.pre == "columns":
            want += [("impressions", self.imp, c, ("integer",)) for c in PRE_COLUMNS]
        for which, table, column, kinds in want:
            dtype = table.schema()[column]
            if not any(getattr(dtype, f"is_{k}")() for k in kinds):
                raise OutcomeError(f"{self._where(which, column)}: is {dtype}; it must be {' or '.join(kinds)}")
        imp_id, clk_id = self.imp.schema()["event_id"], self.clk.schema()["event_id"]
        if imp_id.is_string() != clk_id.is_string():
            raise OutcomeError(f"{self._where('clicks', 'event_id')}: is {clk_id} but impressions.event_id is "
                               f"{imp_id}; give both the same type")

    # -- the expressions ------------------------------------------------------------------

    def _events(self) -> Any:
        """Impressions with ``clicked`` (its event id is among the clicks: a second click counts once)."""
        imp = self.imp
        ts = imp.timestamp.cast(dt_types.Timestamp())
        cols = {"ts": ts, "variant": imp.variant, "user_id": imp.user_id.cast("string"),
                "clicked": imp.event_id.isin(self.clk.event_id).ifelse(1, 0).cast("int64")}
        for c in dict.fromkeys([c for c in (self.segment, *self.required) if c]):
            cols[f"seg_{c}"] = imp[c].cast("string")
        if self.pre == "columns":
            cols["pc"] = imp.pre_clicks.cast("int64")
            cols["pn"] = imp.pre_impressions.cast("int64")
        return imp.select(**cols)

    def _in_window(self, e: Any) -> Any:
        """Rows inside the experiment window; None when there is no window."""
        conds = []
        if self.start is not None:
            conds.append(e.ts >= ibis.literal(self.start))
        if self.end is not None:
            conds.append(e.ts < ibis.literal(self.end))
        if not conds:
            return None
        return conds[0] & conds[1] if len(conds) == 2 else conds[0]

    def _bad(self, e: Any) -> dict[str, Any]:
        """Column -> the condition that makes a row invalid (as in an events file)."""
        variant = e.variant.isnull()
        if self.known is not None:
            variant |= ~e.variant.isin(self.known)
        if self.pre == "window":
            variant &= e.ts >= ibis.literal(self.start)
        out = {"variant": variant, "timestamp": e.ts.isnull() | ~e.ts.year().between(*YEARS),
               "user_id": e.user_id.isnull() | (e.user_id == "")}
        for c in dict.fromkeys([c for c in (*self.required, self.segment) if c]):
            out[c] = e[f"seg_{c}"].isnull() | (e[f"seg_{c}"].strip() == "")
        if self.pre == "columns":
            out["pre_clicks"] = e.pc.isnull() | (e.pc < 0)
            out["pre_impressions"] = e.pn.isnull() | (e.pn < 0)
        return out

    def _timeline(self, e: Any) -> tuple[int, list[dict[str, Any]], int]:
        """Rows per day and arm (experiment window) and every validity count: one query."""
        inside = self._in_window(e)
        bad = self._bad(e)
        counts = {f"bad_{i}": cond.ifelse(1, 0).sum() for i, cond in enumerate(bad.values())}
        if inside is not None:
            counts["skipped"] = (~inside).ifelse(1, 0).sum()
        totals = e.aggregate(rows=e.count(), **counts).to_pyarrow().to_pylist()[0]
        for i, column in enumerate(bad):
            if totals[f"bad_{i}"]:
                raise OutcomeError(f"{self._where('impressions', column)}: {int(totals[f'bad_{i}']):,} rows are "
                                   f"{self._explain(column)}")
        good = e.filter(inside) if inside is not None else e
        days = (good.group_by(day=good.ts.date(), variant=good.variant)
                .aggregate(impressions=good.count(), clicks=good.clicked.sum()).order_by(["day", "variant"]))
        daily = [{"day": r["day"].isoformat(), "variant": r["variant"], "impressions": int(r["impressions"]),
                  "clicks": int(r["clicks"] or 0)} for r in days.to_pyarrow().to_pylist()]
        return int(totals["rows"]), daily, int(totals.get("skipped") or 0)

    def _explain(self, column: str) -> str:
        if column == "variant":
            arms = ", ".join(sorted(self.known or []))
            return "empty or not an arm of the experiment" + (f" ({arms})" if arms else "")
        if column == "timestamp":
            return "empty or outside the years 1 to 9999"
        if column in PRE_COLUMNS:
            return "empty or negative"
        return "empty"

    def _per_user(self, e: Any) -> Any:
        """One row per arm and user (and segment), inside the engine; never fetched."""
        inside = self._in_window(e)
        post = e.filter(inside) if inside is not None else e
        keys = ["variant", "user_id"] + ([f"seg_{self.segment}"] if self.segment else [])
        aggs = {"n": post.count(), "c": post.clicked.sum()}
        if self.pre == "columns":
            aggs |= {"pc": post.pc.max(), "pc_lo": post.pc.min(), "pn": post.pn.max(), "pn_lo": post.pn.min()}
        per_user = post.group_by(keys).aggregate(**aggs)
        if self.pre == "window":
            pre = e.filter((e.ts >= ibis.literal(self.pre_start)) & (e.ts < ibis.literal(self.start)))
            pre = pre.group_by(pre_user=pre.user_id).aggregate(pn=pre.count(), pc=pre.clicked.sum())
            joined = per_user.left_join(pre, per_user.user_id == pre.pre_user)
            per_user = joined.select(*keys, "n", "c", pc=joined.pc.fill_null(0), pn=joined.pn.fill_null(0))
        return per_user

    def _per_arm(self, per_user: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
        users = per_user
        if self.segment:  # overall: a user seen in two segments is still one unit
            aggs = {"n": per_user.n.sum(), "c": per_user.c.sum()}
            if self.pre:
                aggs |= {"pc": per_user.pc.max(), "pn": per_user.pn.max()}
            users = per_user.group_by(["variant", "user_id"]).aggregate(**aggs)
        if self.pre == "columns":
            uneven = per_user.filter((per_user.pc != per_user.pc_lo) | (per_user.pn != per_user.pn_lo)).count()
            if int(uneven.execute()):
                raise OutcomeError(f"{self._where('impressions')}: {int(uneven.execute()):,} users have different "
                                   "pre_clicks or pre_impressions on different rows; repeat them unchanged")
        rows = users.group_by("variant").aggregate(**self._sums(users)).to_pyarrow().to_pylist()
        stats = {r["variant"]: ratio(r) for r in rows}
        cuped = {r["variant"]: moments(r) for r in rows} if self.pre else {}
        crossed = users.group_by("user_id").aggregate(k=users.variant.nunique()).filter(lambda t: t.k > 1).count()
        return stats, cuped, int(crossed.execute())

    def _sums(self, t: Any) -> dict[str, Any]:
        c, n = t.c.cast("float64"), t.n.cast("float64")
        out = {"users": t.count(), "c": t.c.sum(), "c2": (c * c).sum(), "n": t.n.sum(), "n2": (n * n).sum(),
               "cn": (c * n).sum()}
        if self.pre:
            vals = {"c": c, "n": n, "pc": t.pc.cast("float64"), "pn": t.pn.cast("float64")}
            names = tuple(vals)
            out |= {f"s_{k}": v.sum() for k, v in vals.items()}
            out |= {f"p_{names[i]}_{names[j]}": (vals[names[i]] * vals[names[j]]).sum() for i, j in PAIRS}
        return out

    def _segments(self, per_user: Any, order: list[str]) -> dict[str, list[Any]]:
        seg = f"seg_{self.segment}"
        rows = per_user.group_by([seg, "variant"]).aggregate(**{k: v for k, v in self._sums(per_user).items()
                                                                if not k.startswith(("s_", "p_"))})
        by_seg: dict[str, dict[str, Any]] = {}
        for r in rows.to_pyarrow().to_pylist():
            by_seg.setdefault(r[seg], {})[r["variant"]] = ratio(r)
        return {s: arm_data([v for v in order if v in d], d, {}) for s, d in by_seg.items()}

    def _notes(self, crossed: int) -> list[str]:
        notes = []
        if crossed:
            notes.append(f"{crossed} users appear in more than one arm: assignment is not per user, or ids collide; "
                         "their impressions count in every arm they saw")
        orphans = int(self.clk.filter(~self.clk.event_id.isin(self.imp.event_id)).count().execute())
        if orphans:
            notes.append(f"{orphans} clicks have no impression in {self.source.impressions}: left out")
        return notes
