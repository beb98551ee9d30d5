"""The ``highlight-lab`` command: the same functions the studio and the tests call.

Bad input exits with status 2 and one line on stderr that says where, what and what to do.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lab import config
from lab.errors import LabError, excerpt
from lab.library.events import EVENT_MAX_CHARS, parse_event
from lab.library.versions import VariantLibrary, resolve_variant, validate_paths

EXIT_BAD_INPUT = 2


def read_arg(value: str) -> str:
    """A JSON argument given inline, as ``@FILE``, or as ``-`` for standard input."""
    if value == "-":
        try:
            raw = sys.stdin.buffer.read(EVENT_MAX_CHARS * 4 + 1)
            if len(raw) > EVENT_MAX_CHARS * 4:
                raise LabError("standard input", f"is over {EVENT_MAX_CHARS * 4:,} bytes; a rank event is far smaller",
                               "send one event")
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LabError("standard input", f"is not UTF-8 text (byte {exc.start + 1})",
                           "send the event as UTF-8 JSON") from None
    if value.startswith("@"):
        path = Path(value[1:])
        fix = "give @PATH to a UTF-8 JSON file"
        try:
            with path.open("rb") as f:
                raw = f.read(EVENT_MAX_CHARS * 4 + 1)  # UTF-8 takes at most 4 bytes a character
            if len(raw) > EVENT_MAX_CHARS * 4:
                raise LabError(str(path), f"is over {EVENT_MAX_CHARS * 4:,} bytes; a rank event is far smaller", fix)
            return raw.decode("utf-8")
        except FileNotFoundError:
            raise LabError(str(path), "no such file", "give @PATH to an existing JSON file") from None
        except IsADirectoryError:
            raise LabError(str(path), "is a folder, not a file", fix) from None
        except UnicodeDecodeError as exc:
            raise LabError(str(path), f"is not UTF-8 text (byte {exc.start + 1})", fix) from None
        except OSError as exc:
            raise LabError(str(path), f"cannot be read ({exc.strerror})", fix) from None
    return value


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as a ``LabError``: one line and exit 2, like every other error."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise LabError(self.prog, message, f"see `{self.prog} --help`")


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{excerpt(text)} is not a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be a whole number {span}, got {excerpt(value)}")
        return value

    return parse


def _finite(low: float | None = None, high: float | None = None, open_low: bool = True) -> Callable[[str], float]:
    """An argparse type: a finite number (nan and inf refused), optionally within (low, high)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{excerpt(text)} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {excerpt(text)}")
        too_low = low is not None and (value <= low if open_low else value < low)
        if too_low or (high is not None and value >= high):
            span = " and ".join(x for x in (f"{'above' if open_low else 'at least'} {low:g}" if low is not None
                                            else "", f"below {high:g}" if high is not None else "") if x)
            raise argparse.ArgumentTypeError(f"must be {span}, got {excerpt(text)}")
        return value

    return parse


def _new_file(text: str, flag: str, suffix: str | None = None) -> Path:
    """An output path whose folder exists and which is not itself a folder (nothing is created for it)."""
    path = Path(text)
    if suffix and path.suffix.lower() != suffix:
        raise LabError(flag, f"{excerpt(text, 200)} does not end in {suffix}", f"give a path such as out{suffix}")
    if path.is_dir():
        raise LabError(flag, f"{excerpt(text, 200)} is a folder", "give a file path inside it")
    if not path.parent.is_dir():
        raise LabError(flag, f"folder {excerpt(str(path.parent), 200)} does not exist", "create it first")
    return path


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False))


# -- variants ----------------------------------------------------------------------------


def cmd_variants_list(args: argparse.Namespace) -> int:
    rows = VariantLibrary(args.dir).summaries()
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print(f"no variants in {args.dir}")
        return 0
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        mark = "" if r["recorded"] else "  (unsaved edit)"
        print(f"{r['id']:<{width}}  {r['version']}  {r['scenario']:<11}  {r['style']:<23}  {r['cta_en']}{mark}")
    return 0


def cmd_variants_show(args: argparse.Namespace) -> int:
    lib = VariantLibrary(args.dir)
    variant = lib.load_version(args.id, args.version)
    if args.json:
        _print_json({"version": variant.version, "hash": variant.content_hash,
                     "warnings": list(variant.warnings), "variant": variant.to_dict()})
    else:
        print(f"# {variant.id} @ {variant.version}")
        for warning in variant.warnings:
            print(f"# warning: {warning}")
        print(variant.to_yaml(), end="")
    return 0


def cmd_variants_history(args: argparse.Namespace) -> int:
    lib = VariantLibrary(args.dir)
    current = lib.load(args.id)
    rows = [
        {"version": v.short, "hash": v.hash, "parent": v.parent, "saved_at": v.saved_at,
         "author": v.author, "note": v.note, "current": v.hash == current.content_hash}
        for v in lib.history(args.id)
    ]
    if args.json:
        _print_json(rows)
        return 0
    if not lib.is_recorded(current):
        print(f"{current.version}  (current file, not saved as a version)")
    for r in rows:
        mark = "* " if r["current"] else "  "
        print(f"{mark}{r['version']}  {r['saved_at']}  {r['author'] or '-'}  {r['note'] or ''}".rstrip())
    return 0


def cmd_variants_diff(args: argparse.Namespace) -> int:
    lib = VariantLibrary(args.dir)
    text = lib.diff(args.id, args.a, args.b)
    print(text if text else f"{args.id}: {args.a} and {args.b} are the same", end="" if text else "\n")
    return 0


def cmd_variants_validate(args: argparse.Namespace) -> int:
    results, errors = validate_paths([Path(p) for p in args.paths] or [args.dir])
    if args.json:
        _print_json({"ok": not errors, "files": results, "errors": errors})
    else:
        for r in results:
            if r["ok"]:
                print(f"ok    {r['path']}  ({r['id']} @ {r['version']})")
                for w in r["warnings"]:
                    print(f"      warning: {w}")
        for e in errors:
            print(f"error: {e}", file=sys.stderr)
    return EXIT_BAD_INPUT if errors else 0


def cmd_variants_save(args: argparse.Namespace) -> int:
    variant, info = VariantLibrary(args.dir).save_file(Path(args.file), base=args.base, author=args.author,
                                                      note=args.note)
    if args.json:
        _print_json({"id": variant.id, "version": info.short, "hash": info.hash, "parent": info.parent})
    else:
        print(f"saved {variant.id} @ {info.short}" + (f" (parent {info.parent[:12]})" if info.parent else ""))
    return 0


def cmd_variants_prompt(args: argparse.Namespace) -> int:
    variant = VariantLibrary(args.dir).load(args.id)
    event = parse_event(read_arg(args.event))
    prompt = variant.prompt_for(event)
    if args.json:
        _print_json({"id": variant.id, "version": variant.version, "prompt": prompt,
                     "negative_prompt": variant.negative_prompt})
    else:
        print(prompt)
    return 0


# -- events ------------------------------------------------------------------------------


def cmd_event_validate(args: argparse.Namespace) -> int:
    event = parse_event(read_arg(args.event))
    if args.json:
        _print_json({"ok": True, "event": event.event, "new_rank": event.new_rank, "old_rank": event.old_rank,
                     "rank_delta": event.rank_delta, "locale": event.locale})
    else:
        print(f"ok: {event.event} #{event.old_rank or '-'} -> #{event.new_rank} ({event.locale})")
    return 0


# -- render ------------------------------------------------------------------------------


def cmd_render(args: argparse.Namespace) -> int:
    _new_file(args.out, "--out", ".mp4")
    variant, root = resolve_variant(args.variant, args.dir)
    event = parse_event(read_arg(args.event))
    from lab.render.pipeline import render

    result = render(variant, event, Path(args.out), backend=args.backend, level=args.level, seed=args.seed,
                    latency_budget_s=args.budget, logo_root=root, device=args.device)
    if args.json:
        _print_json(result.to_dict())
    else:
        print(f"{result.path}: {result.width}x{result.height}, {result.frames} frames at {result.fps} fps, "
              f"{result.backend} background (level {result.level}, cache {'hit' if result.cache_hit else 'miss'}), "
              f"{result.seconds:.2f} s")
        for w in result.warnings:
            print(f"  warning: {w}")
        if result.random_weights:
            print("  note: tiny-wan has random weights; its background is noise by design")
    return 0


# -- analysis ----------------------------------------------------------------------------


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
    from analysis.power import plan

    try:
        p = plan(args.baseline, mde_abs=args.mde_abs, mde_rel=args.mde_rel, alpha=args.alpha, power=args.power,
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


# -- experiments, tracking, export -------------------------------------------------------


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
    from lab.experiments.export import prompt_name
    from lab.experiments.workflow import rollback

    old, new = rollback(args.scenario)
    print(f"{prompt_name(args.scenario)}: production moved from version {old} back to {new}")
    return 0


# -- production --------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    """Render rank events: in process (``--events``), sent to Celery (``--events --broker``), or a worker."""
    broker = args.broker or config.broker_url()
    if args.celery:
        from lab.production.celery_app import start_worker

        start_worker(broker, concurrency=args.concurrency, pool=args.pool)
        return 0
    if not args.events:
        raise LabError("worker", "nothing to do", "give --events FILE (or - for stdin), or --celery to start a worker")
    from lab.production.embedded import read_lines

    if broker:
        if args.out:
            raise LabError("--out", "Celery workers write to their own output store, not the sender's",
                           "set HIGHLIGHT_LAB_OUTPUT_URL where the workers run, and drop --out here")
        from lab.production.celery_app import configure, enqueue

        configure(broker)
        print(f"sent {enqueue(read_lines(args.events))} events to {broker}")
        return 0
    from lab.production.embedded import run_batch
    from lab.production.settings import WorkerSettings

    settings = WorkerSettings.from_env(output_url=args.out, backend=args.backend, level=args.level,
                                       webhook_url=args.webhook, variants_dir=args.dir.resolve())
    total = None if args.events == "-" else sum(1 for _ in read_lines(args.events))
    summary = run_batch(read_lines(args.events), settings, workers=args.workers, total=total,
                        progress=None if args.json else sys.stderr)
    if args.json:
        _print_json(summary.to_dict())
    else:
        c = summary.counts
        print(f"{summary.rendered} videos in {summary.seconds:.1f}s ({summary.videos_per_s:.1f} videos/s, "
              f"{summary.workers} processes); already done {c['duplicate']}, in progress elsewhere {c['busy']}, "
              f"invalid {c['invalid']}, failed {c['failed']}, push failed {c['push_failed']}")
        print(f"latency p50 {summary.percentile(50):.2f}s, p95 {summary.percentile(95):.2f}s; "
              f"output {settings.output_url}; ledger {settings.state_dir}")
        for reason in summary.reasons:
            print(f"  {reason}")
    return 0


# -- demo --------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """Walk through the library: each variant, its CTA and the prompt that would reach the model."""
    from lab.library.events import sample_event

    lib = VariantLibrary(args.dir)
    print(f"Highlight Lab: {len(lib.ids())} variants in {args.dir}\n")
    for variant in lib.load_all():
        event = sample_event(variant.scenario)
        plan = variant.generation_plan(0)
        print(f"{variant.id} @ {variant.version}  [{variant.scenario} / {variant.style}]")
        print(f"  CTA       {variant.cta_for('en')} | {variant.cta_for('zh-CN')}")
        print(f"  size      {plan.size.width}x{plan.size.height}, {plan.size.frames} frames at {plan.size.fps} fps")
        print(f"  prompt    {variant.prompt_for(event)}\n")
    return 0


def cmd_studio(args: argparse.Namespace) -> int:
    """Open the browser studio (Gradio) on this machine."""
    from lab.app import launch

    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not (sep and user and password):
            raise LabError("--auth", "expected USER:PASSWORD", "e.g. --auth dana:s3cret")
        auth = (user, password)
    launch(config.LabConfig.from_env(variants=args.dir, host=args.host, port=args.port), demo_data=not args.no_demo,
           auth=auth)
    return 0


def cmd_variants_clone(args: argparse.Namespace) -> int:
    from lab.experiments.workflow import clone_variant

    v = clone_variant(VariantLibrary(args.dir), args.source, args.new_id, author=args.author)
    print(f"cloned {args.source} as {v.id} @ {v.version}")
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


# -- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from analysis.options import CORRECTIONS, MODES
    from lab.experiments.spec import STATUSES
    from lab.library.events import SCENARIOS
    from lab.render.backends import BACKENDS

    parser = _Parser(prog="highlight-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(parent: Any, name: str, func: Callable[[argparse.Namespace], int], help: str,
            json_flag: bool = True, dir_flag: bool = True) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON for scripts")
        if dir_flag:
            p.add_argument("--dir", type=Path, default=config.variants_dir(),
                           help="variant library folder (default: $HIGHLIGHT_LAB_VARIANTS or ./variants)")
        return p

    variants = sub.add_parser("variants", help="the variant library").add_subparsers(dest="action", required=True)
    add(variants, "list", cmd_variants_list, "list the variants")
    p = add(variants, "show", cmd_variants_show, "print a variant (current or a saved version)")
    p.add_argument("id")
    p.add_argument("--version", default="current", help="a saved version hash (7+ hex digits) or 'current'")
    p = add(variants, "history", cmd_variants_history, "list the saved versions of a variant")
    p.add_argument("id")
    p = add(variants, "clone", cmd_variants_clone, "copy a variant under a new id (its first version)",
            json_flag=False)
    p.add_argument("source")
    p.add_argument("new_id")
    p.add_argument("--author")
    p = add(variants, "diff", cmd_variants_diff, "show what changed between two versions", json_flag=False)
    p.add_argument("id")
    p.add_argument("a", help="older version (hash prefix)")
    p.add_argument("b", nargs="?", default="current", help="newer version (default: current)")
    p = add(variants, "validate", cmd_variants_validate, "check variant files or folders")
    p.add_argument("paths", nargs="*", help="files or folders (default: the library)")
    p = add(variants, "save", cmd_variants_save, "save an edited variant file as a new version")
    p.add_argument("file", help="the edited YAML; the library's own <id>.yaml records a hand edit")
    p.add_argument("--base", help="version your edit started from (required when the variant exists)")
    p.add_argument("--author")
    p.add_argument("--note")
    p = add(variants, "prompt", cmd_variants_prompt, "print the prompt a variant sends to the model for an event")
    p.add_argument("id")
    p.add_argument("--event", required=True, help="event JSON, @FILE or -")

    events = sub.add_parser("event", help="rank events").add_subparsers(dest="action", required=True)
    p = add(events, "validate", cmd_event_validate, "check a rank event payload", dir_flag=False)
    p.add_argument("event", help="event JSON, @FILE or -")

    p = add(sub, "render", cmd_render, "render one rank-up video: background, exact overlay, encode")
    p.add_argument("--variant", required=True, help="variant id in the library, or a YAML path")
    p.add_argument("--event", required=True, help="event JSON, @FILE or -")
    p.add_argument("--out", required=True, help="output .mp4 (poster, contact sheet and JSON sidecar go beside it)")
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--level", type=_int_in(0), help="degrade level (default: chosen from GPU memory and --budget)")
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), help="background seed (default: the variant's)")
    p.add_argument("--budget", type=_finite(0), help="latency budget in seconds for choosing a degrade level")
    p.add_argument("--device", help="cuda, cuda:N or cpu; wan refuses to run without CUDA unless given cpu here")
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
    # Ranges are checked by analysis.power.plan, which the studio calls too; here only "a finite number".
    p.add_argument("--baseline", type=_finite(), required=True, help="control CTR, e.g. 0.23")
    mde = p.add_mutually_exclusive_group(required=True)
    mde.add_argument("--mde-abs", type=_finite(), help="absolute lift to detect, e.g. 0.02")
    mde.add_argument("--mde-rel", type=_finite(), help="relative lift to detect, e.g. 0.1")
    p.add_argument("--alpha", type=_finite(), default=0.05)
    p.add_argument("--power", type=_finite(), default=0.8)
    p.add_argument("--arms", type=_int_in(2, 100), default=2)
    p.add_argument("--daily", type=_int_in(1), help="daily traffic over all arms, for the number of days")

    experiments = sub.add_parser("experiments", help="A/B experiment specs").add_subparsers(dest="action",
                                                                                             required=True)

    def add_exp(parent: Any, name: str, func: Any, help: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = add(parent, name, func, help, json_flag=json_flag)
        p.add_argument("--experiments", type=Path, default=config.experiments_dir(),
                       help="experiment specs folder (default: $HIGHLIGHT_LAB_EXPERIMENTS or ./experiments)")
        return p

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

    p = add(sub, "worker", cmd_worker, "render rank events into per-user videos (in process or on Celery)")
    p.add_argument("--events", help="JSON-lines file of rank events, or - for stdin")
    p.add_argument("--out", help="output store: a folder or fsspec URL (default: $HIGHLIGHT_LAB_OUTPUT_URL)")
    p.add_argument("--broker", help="Celery broker, e.g. redis://127.0.0.1:6379/0 (default: $HIGHLIGHT_LAB_BROKER)")
    p.add_argument("--celery", action="store_true", help="start a Celery worker on the broker")
    p.add_argument("--concurrency", type=_int_in(1), default=1, help="processes of a Celery worker (default 1)")
    p.add_argument("--pool", choices=("prefork", "solo"), default="prefork", help="Celery pool (default prefork)")
    p.add_argument("--workers", type=_int_in(1), help="processes of the embedded pool (default: one per core)")
    p.add_argument("--backend", choices=BACKENDS, help="background backend (default: $HIGHLIGHT_LAB_WORKER_BACKEND)")
    p.add_argument("--level", type=_int_in(0), help="fixed degrade level (default: chosen per render)")
    p.add_argument("--webhook", help="push hook URL (default: $HIGHLIGHT_LAB_WEBHOOK_URL)")
    p = add(sub, "studio", cmd_studio, "open the browser studio", json_flag=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=_int_in(1, 65535), help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--auth", help="USER:PASSWORD required to open the studio")
    p.add_argument("--no-demo", action="store_true", help="do not simulate the seed experiment's demo data")
    add(sub, "demo", cmd_demo, "walk through the library in the terminal", json_flag=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        for arg in sys.argv[1:] if argv is None else argv:  # the longest real argument is an inline event
            if len(arg) > EVENT_MAX_CHARS:
                raise LabError(parser.prog, f"an argument is {len(arg):,} characters long; the limit is "
                               f"{EVENT_MAX_CHARS:,}", "pass long input as @FILE")
        args = parser.parse_args(argv)
        config.check_command(" ".join(w for w in (getattr(args, "command", None), getattr(args, "action", None)) if w))
        return args.func(args)
    except LabError as exc:
        from lab.experiments.tracking import MlflowUnavailable

        if isinstance(exc, MlflowUnavailable):  # name the command to run again: its words, not its values
            words = [getattr(args, a) for a in ("command", "action") if isinstance(getattr(args, a, None), str)]
            exc = exc.rerun(" ".join(["highlight-lab", *words]))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
