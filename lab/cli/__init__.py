"""The ``highlight-lab`` command: the same functions the studio and the tests call.

Bad input exits with status 2 and one line on stderr that says where, what and what to do. Each command group
lives in its own module with a ``register(subparsers)``; this one builds the parser from them and runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lab import config
from lab.cli import analyze, experiments, library, production, render, studio
from lab.cli.analyze import _floats, _when
from lab.cli.common import EXIT_BAD_INPUT, _Parser, read_arg
from lab.cli.experiments import _ctr_map
from lab.errors import LabError
from lab.library.events import EVENT_MAX_CHARS

__all__ = ["EXIT_BAD_INPUT", "_ctr_map", "_floats", "_when", "build_parser", "main", "read_arg"]

GROUPS = (library, render, analyze, experiments, production, studio)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="highlight-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
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

