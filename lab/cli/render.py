"""One rank-up video from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lab.cli.common import _finite, _int_in, _new_file, _print_json, add, read_arg
from lab.library.events import parse_event
from lab.library.versions import resolve_variant


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


def register(sub: Any) -> None:
    """Add this group's commands to the top-level subparsers."""
    from lab.render.backends import BACKENDS

    p = add(sub, "render", cmd_render, "render one rank-up video: background, exact overlay, encode")
    p.add_argument("--variant", required=True, help="variant id in the library, or a YAML path")
    p.add_argument("--event", required=True, help="event JSON, @FILE or -")
    p.add_argument("--out", required=True, help="output .mp4 (poster, contact sheet and JSON sidecar go beside it)")
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--level", type=_int_in(0), help="degrade level (default: chosen from GPU memory and --budget)")
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), help="background seed (default: the variant's)")
    p.add_argument("--budget", type=_finite(0), help="latency budget in seconds for choosing a degrade level")
    p.add_argument("--device", help="cuda, cuda:N or cpu; wan refuses to run without CUDA unless given cpu here")
