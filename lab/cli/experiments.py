"""Experiment specs, assignment, simulated traffic, outcomes, export and rollback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lab.cli.common import EXIT_BAD_INPUT, _int_in, _new_file, _print_json, add, add_exp
from lab.errors import LabError
from lab.library.versions import VariantLibrary


def _experiments(args: argparse.Namespace) -> Any:
    from lab.experiments.spec import ExperimentLibrary

    return ExperimentLibrary(args.experiments, VariantLibrary(args.dir))


def cmd_experiments_list(args: argparse.Namespace) -> int:
    lib = _experiments(args)
    rows = []
    for key in lib.keys():
        e = lib.load(key)
        rows.append({"key": e.key, "status": e.status, "scenario": e.scenario, "arms": e.arm_ids,
                     "planned_n_per_arm": e.planned_n_per_arm()})
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['key']}  {r['status']:<8} {r['scenario']:<11} {', '.join(r['arms'])}  "
                  f"(plan: {r['planned_n_per_arm']:,} per arm)")
    return 0


def cmd_experiments_validate(args: argparse.Namespace) -> int:
    lib = _experiments(args)
    paths = [Path(p) for p in args.paths] or sorted(lib.root.glob("*.yaml"))
    errors = []
    for path in paths:
        try:
            e = lib.load_file(path)
            print(f"ok    {path}  ({len(e.arms)} arms, {e.status}, plan {e.planned_n_per_arm():,} per arm)")
        except LabError as exc:
            errors.append(str(exc))
            print(f"error: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT if errors else 0


def cmd_experiments_status(args: argparse.Namespace) -> int:
    e = _experiments(args).set_status(args.key, args.status)
    print(f"{e.key}: {e.status}")
    return 0


def cmd_experiments_create(args: argparse.Namespace) -> int:
    from lab.experiments.spec import parse_arm_values
    from lab.experiments.workflow import create_experiment

    arms = list(parse_arm_values(args.arms, "--arms", 0.0, 1.0, "--arms v1-fast-sprint=0.5,v2-slow-motion=0.5",
                                 include_low=False).items())
    e = create_experiment(_experiments(args), args.key, args.scenario, arms, baseline=args.baseline,
                          mde_rel=args.mde_rel, mode=args.mode)
    print(f"{e.key}: {e.status}, {e.planned_n_per_arm():,} per arm planned")
    return 0


def cmd_experiments_demo(args: argparse.Namespace) -> int:
    from lab.experiments.workflow import DEMO_KEY, ensure_demo

    done = ensure_demo(_experiments(args))
    print(f"{DEMO_KEY}: " + (f"SIMULATED 14 days ingested; {done.result.decision.headline} (run {done.run_id})"
                             if done else "already has outcomes (or is not in this library); nothing changed"))
    return 0


def cmd_experiments_track(args: argparse.Namespace) -> int:
    from lab.experiments import tracking
    from lab.experiments.workflow import track

    lib = _experiments(args)
    exp = lib.load(args.key)
    runs = track(lib, exp, previews=not args.no_previews)
    if args.json:
        _print_json({"experiment": tracking.experiment_name(exp.key), "tracking_uri": tracking.tracking_uri(),
                     "runs": runs})
    else:
        print(f"{tracking.experiment_name(exp.key)} at {tracking.tracking_uri()}: "
              + ", ".join(f"{k} ({v[:8]})" for k, v in runs.items()))
    return 0


def cmd_experiments_analyze(args: argparse.Namespace) -> int:
    from lab.experiments.workflow import analyze_and_log

    done = analyze_and_log(_experiments(args), args.key,
                           report=_new_file(args.report, "--report") if args.report else None)
    if args.json:
        _print_json(done.to_dict())
    else:
        print(f"{args.key}: {done.result.decision.headline}")
        for r in done.result.decision.reasons:
            print(f"  - {r}")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    exp = _experiments(args).load(args.experiment)
    arm, version, h = exp.assign(args.user)
    if args.json:
        _print_json({"experiment": exp.key, "arm": arm, "version": version, "hash": h, "hash_version": 2})
    else:
        print(arm)
    return 0


def _ctr_map(text: str) -> dict[str, float]:
    from lab.experiments.spec import parse_arm_values

    return parse_arm_values(text, "--ctr", 0.0, 1.0, "--ctr v1=0.23,v2=0.31")


def cmd_simulate(args: argparse.Namespace) -> int:
    from lab.experiments.simulate import simulate

    exp = _experiments(args).load(args.experiment)
    paths = simulate(exp, _ctr_map(args.ctr), args.daily, args.days, Path(args.out), seed=args.seed)
    print(f"SIMULATED traffic (not real outcomes): {len(paths)} files in {args.out}")
    return 0


def cmd_outcomes_ingest(args: argparse.Namespace) -> int:
    from lab.experiments.workflow import ingest_files

    lib = _experiments(args)
    exp = lib.load(args.experiment)
    if bool(args.impressions) != bool(args.clicks):
        raise LabError("outcomes ingest", "--impressions and --clicks go together", "give both files")
    if args.impressions:
        from lab.production.loop import ingest_impressions

        joined, results, result = ingest_impressions(lib, exp.key, Path(args.impressions), Path(args.clicks))
        for notice in joined.notices:
            print(f"notice: {notice}", file=sys.stderr)
        print(f"joined {joined.impressions} impressions and {joined.clicks} clicks into {joined.path}")
        refused: list[Any] = []
    elif not args.files:
        raise LabError("outcomes ingest", "no files given", "give outcome files, or --impressions and --clicks")
    else:  # the one ingest rule (the studio's too): each file on its own, every refused one reported
        report = ingest_files(lib, exp, [Path(f) for f in args.files])
        results, result, refused = report.added, report.result, report.refused
    if args.json:
        _print_json([r.__dict__ for r in results])
    else:
        for r in results:
            state = "already ingested, skipped" if r.duplicate else f"added {r.rows:,} rows ({r.kind})"
            print(f"{r.file}: {state}" + "".join(f"; skipped {n} rows {w}" for w, n in r.skipped.items())
                  + (f"; dropped columns the lab does not keep: {', '.join(r.dropped)}" if r.dropped else ""))
        if result is not None:
            print(f"{exp.key}: {result.decision.headline}")
    for _, exc in refused:
        print(f"error: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT if refused else 0


def cmd_export(args: argparse.Namespace) -> int:
    from lab.experiments.workflow import export

    r = export(_experiments(args), args.experiment, arm=args.arm, force=args.force, reason=args.reason,
               out=Path(args.out) if args.out else None)
    if args.json:
        _print_json(r.__dict__)
    else:
        print(f"exported {r.arm} as {r.prompt_name} version {r.prompt_version} (alias production"
              + (f", previous {r.previous_version}" if r.previous_version else "") + f"); bundle {r.bundle}"
              + (" [FORCED]" if r.forced else ""))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from lab.experiments.registry import prompt_name
    from lab.experiments.workflow import rollback

    old, new = rollback(args.scenario)
    print(f"{prompt_name(args.scenario)}: production moved from version {old} back to {new}")
    return 0


def register(sub: Any) -> None:
    """Add this group's commands to the top-level subparsers."""
    from analysis.options import MODES
    from lab.experiments.spec import STATUSES
    from lab.library.events import SCENARIOS

    experiments = sub.add_parser("experiments", help="A/B experiment specs").add_subparsers(dest="action",
                                                                                             required=True)


    add_exp(experiments, "list", cmd_experiments_list, "list experiments with their planned sample size")
    p = add_exp(experiments, "validate", cmd_experiments_validate, "check experiment specs", json_flag=False)
    p.add_argument("paths", nargs="*")
    p = add_exp(experiments, "status", cmd_experiments_status, "move an experiment to a new status", json_flag=False)
    p.add_argument("key")
    p.add_argument("status", choices=STATUSES)
    p = add_exp(experiments, "create", cmd_experiments_create, "write a draft experiment pinning current versions",
                json_flag=False)
    p.add_argument("key")
    p.add_argument("--scenario", required=True, choices=SCENARIOS)
    p.add_argument("--arms", required=True, help="VARIANT=WEIGHT,..., the first is the control")
    p.add_argument("--baseline", type=float, required=True, help="expected control CTR, e.g. 0.23")
    p.add_argument("--mde-rel", type=float, default=0.10, help="smallest relative lift worth detecting")
    p.add_argument("--mode", choices=MODES, default="fixed")
    add_exp(experiments, "demo", cmd_experiments_demo,
            "give the seed experiment a SIMULATED 14-day run in the data folder, as the studio's first launch does",
            json_flag=False)
    p = add_exp(experiments, "track", cmd_experiments_track, "log the arms to MLflow (params, variant, preview)")
    p.add_argument("key")
    p.add_argument("--no-previews", action="store_true", help="skip rendering preview videos")
    p = add_exp(experiments, "analyze", cmd_experiments_analyze, "analyse the stored outcomes and log the analysis")
    p.add_argument("key")
    p.add_argument("--report", help="also write the HTML report here")
    p = add_exp(sub, "assign", cmd_assign, "the arm a user gets (GrowthBook-compatible hashing)")
    p.add_argument("--experiment", required=True)
    p.add_argument("--user", required=True, help="the user id (never logged)")
    p = add_exp(sub, "simulate", cmd_simulate, "write SIMULATED event files for demos and tests", json_flag=False)
    p.add_argument("--experiment", required=True)
    p.add_argument("--ctr", required=True, help="true CTR per arm, e.g. v1-fast-sprint=0.23,v2-slow-motion=0.31")
    p.add_argument("--daily", type=_int_in(1, 10_000_000), default=3000, help="impressions per day (default 3000)")
    p.add_argument("--days", type=_int_in(1, 366), default=14)
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=0)
    p.add_argument("--out", required=True, help="folder for the event files")
    outcomes = sub.add_parser("outcomes", help="experiment outcomes").add_subparsers(dest="action", required=True)
    p = add_exp(outcomes, "ingest", cmd_outcomes_ingest, "add counts or event files to an experiment (idempotent)")
    p.add_argument("--experiment", required=True)
    p.add_argument("files", nargs="*")
    p.add_argument("--impressions", help="the worker's impressions.jsonl (with --clicks)")
    p.add_argument("--clicks", help="the app's click records, JSON lines of {event_id, clicked_at}")
    p = add_exp(sub, "export", cmd_export, "ship the winner: prompt registry alias 'production' + bundle")
    p.add_argument("--experiment", required=True)
    p.add_argument("--arm", help="the arm to ship (default: the analysis's winner)")
    p.add_argument("--force", action="store_true", help="override the analysis (needs --reason)")
    p.add_argument("--reason", help="why the analysis is overridden; recorded")
    p.add_argument("--out", help="also write the bundle here")
    p = add(sub, "rollback", cmd_rollback, "move the production alias back one export", json_flag=False,
            dir_flag=False)
    p.add_argument("--scenario", required=True, choices=SCENARIOS)
