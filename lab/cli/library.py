"""The variant library, rank events and the terminal demo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lab.cli.common import EXIT_BAD_INPUT, _print_json, add, read_arg
from lab.library.events import parse_event
from lab.library.versions import VariantLibrary, validate_paths


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


def cmd_variants_clone(args: argparse.Namespace) -> int:
    from lab.experiments.workflow import clone_variant

    v = clone_variant(VariantLibrary(args.dir), args.source, args.new_id, author=args.author)
    print(f"cloned {args.source} as {v.id} @ {v.version}")
    return 0


def cmd_event_validate(args: argparse.Namespace) -> int:
    event = parse_event(read_arg(args.event))
    if args.json:
        _print_json({"ok": True, "event": event.scenario, "new_rank": event.new_rank, "old_rank": event.old_rank,
                     "rank_delta": event.rank_delta, "locale": event.locale})
    else:
        print(f"ok: {event.scenario} #{event.old_rank or '-'} -> #{event.new_rank} ({event.locale})")
    return 0


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


def register(sub: Any) -> None:
    """Add this group's commands to the top-level subparsers."""
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

    add(sub, "demo", cmd_demo, "walk through the library in the terminal", json_flag=False)
