"""Significance for an outcome file or warehouse tables, and the power plan."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from lab.cli.common import _finite, _int_in, _new_file, _print_json, add
from lab.errors import LabError, excerpt


def _floats(text: str, where: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise LabError(where, f"{excerpt(text)} is not a comma-separated list of numbers",
                       "e.g. --weights 0.5,0.5") from None
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise LabError(where, f"weights must be positive, finite numbers, got {excerpt(text)}",
                       "e.g. --weights 0.5,0.5")
    return values


def _when(text: str | None, flag: str) -> Any:
    import datetime as dt

    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise LabError(flag, f"{excerpt(text)} is not a date or time",
                       "use ISO 8601, e.g. 2026-11-01 or 2026-11-01T08:00") from None


def cmd_analyze(args: argparse.Namespace) -> int:
    from analysis.format import lines
    from analysis.options import Options
    from lab.experiments.workflow import analyze_file

    options = Options(
        control=args.control, alpha=args.alpha, correction=args.correction,
        weights=_floats(args.weights, "--weights") if args.weights else None,
        mode=args.mode, sequential_tuning=args.tuning, mde_rel=args.mde_rel, cuped=args.cuped,
    )
    done = analyze_file(_analysis_input(args), options, segment=args.segment, start=_when(args.start, "--start"),
                        end=_when(args.end, "--end"), pre_start=_when(args.pre_start, "--pre-start"),
                        report=_new_file(args.report, "--report") if args.report else None)
    result, data = done.result, done.data
    if args.json:
        _print_json(done.to_dict())
        return 0
    print(f"{done.file}: {data.kind}, {data.rows:,} rows; unit: {result.unit} ({result.variance_method})")
    for line in lines(result):
        print(line)
    return 0


def _analysis_input(args: argparse.Namespace) -> Any:
    """A file, or ``--source URL --impressions T --clicks T`` (tables analysed inside that database)."""
    if args.source is None:
        if args.file is None:
            raise LabError("analyze", "no input", "give an outcome file, or --source URL --impressions T --clicks T")
        if args.impressions or args.clicks:
            raise LabError("analyze", "--impressions and --clicks name tables of --source", "add --source URL")
        return Path(args.file)
    if args.file is not None:
        raise LabError("analyze", "give a file or --source, not both", "drop one of them")
    from analysis.warehouse import WarehouseSource

    return WarehouseSource(args.source, args.impressions or "impressions", args.clicks or "clicks")


def cmd_power(args: argparse.Namespace) -> int:
    from analysis.power import power_plan

    try:
        p = power_plan(args.baseline, mde_abs=args.mde_abs, mde_rel=args.mde_rel, alpha=args.alpha, power=args.power,
                 arms=args.arms, daily=args.daily)
    except ValueError as exc:
        raise LabError("power", str(exc)) from None
    if args.json:
        _print_json({"baseline": p.baseline, "target": p.target, "alpha": p.alpha,
                     "alpha_per_comparison": p.alpha_per_comparison, "power": p.power, "arms": p.arms,
                     "n_per_arm": p.n_per_arm, "n_per_arm_exact": p.n_per_arm_exact, "total": p.total,
                     "days": p.days})
    else:
        print(f"n_per_arm {p.n_per_arm:,} (exact {p.n_per_arm_exact:.1f}) to detect {p.baseline:.2%} -> "
              f"{p.target:.2%} at alpha {p.alpha_per_comparison:.3g} per comparison, power {p.power:.0%}; "
              f"total {p.total:,}" + (f"; {p.days} days at {args.daily:,}/day" if p.days else ""))
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the top-level subparsers."""
    from analysis.options import CORRECTIONS, MODES

    p = add(sub, "analyze", cmd_analyze, "A/B/n significance for a counts or events file, or warehouse tables",
            dir_flag=False)
    p.add_argument("file", nargs="?", help="CSV, Parquet or JSON lines: counts (variant, impressions, clicks) or "
                                           "events (user_id, variant, timestamp, clicked)")
    p.add_argument("--source", help="database URL (duckdb:///file.duckdb, postgresql://user@host:port/db; the "
                                    "password from PGPASSWORD): analysed inside it, read-only")
    p.add_argument("--impressions", help="impressions table of --source (default impressions)")
    p.add_argument("--clicks", help="clicks table of --source (default clicks)")
    p.add_argument("--cuped", action="store_true", help="regression-adjust the per-user CTR with pre-period "
                                                        "clicks and impressions (pre_clicks, pre_impressions or "
                                                        "--pre-start)")
    p.add_argument("--pre-start", help="with --cuped and --start: the pre-period is [--pre-start, --start)")
    p.add_argument("--control", help="control arm (default: the first)")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    p.add_argument("--alpha", type=_finite(), default=0.05)  # ranges: analysis.options.Options
    p.add_argument("--weights", help="planned traffic split, e.g. 0.5,0.5 (default: equal)")
    p.add_argument("--segment", help="column to break results down by")
    p.add_argument("--mode", choices=MODES, default="fixed",
                   help="sequential: always-valid intervals, safe to look at daily")
    p.add_argument("--tuning", type=_finite(0), default=5000, help="sequential tuning parameter (default 5000)")
    p.add_argument("--mde-rel", type=_finite(0), default=0.10,
                   help="smallest relative lift worth shipping, for 'keep running' (default 0.10)")
    p.add_argument("--report", help="write an HTML report here")
    p.add_argument("--start", help="experiment window start (events only; earlier rows are skipped and counted)")
    p.add_argument("--end", help="experiment window end, exclusive (events only)")
    p = add(sub, "power", cmd_power, "sample size per arm for a CTR test", dir_flag=False)
    # Ranges are checked by analysis.power.power_plan, which the studio calls too; here only "a finite number".
    p.add_argument("--baseline", type=_finite(), required=True, help="control CTR, e.g. 0.23")
    mde = p.add_mutually_exclusive_group(required=True)
    mde.add_argument("--mde-abs", type=_finite(), help="absolute lift to detect, e.g. 0.02")
    mde.add_argument("--mde-rel", type=_finite(), help="relative lift to detect, e.g. 0.1")
    p.add_argument("--alpha", type=_finite(), default=0.05)
    p.add_argument("--power", type=_finite(), default=0.8)
    p.add_argument("--arms", type=_int_in(2, 100), default=2)
    p.add_argument("--daily", type=_int_in(1), help="daily traffic over all arms, for the number of days")
