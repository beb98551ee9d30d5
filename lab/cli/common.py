"""What every command group shares: argument types, JSON input, the two ``add`` helpers, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import config
from lab.errors import LabError, excerpt
from lab.library.events import EVENT_MAX_CHARS

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



def add(parent: Any, name: str, func: Callable[[argparse.Namespace], int], help: str,
        json_flag: bool = True, dir_flag: bool = True) -> argparse.ArgumentParser:
    """A subcommand with its function, ``--json`` and ``--dir`` unless told otherwise."""
    p = parent.add_parser(name, help=help, description=help)
    p.set_defaults(func=func)
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON for scripts")
    if dir_flag:
        p.add_argument("--dir", type=Path, default=config.variants_dir(),
                       help="variant library folder (default: $HIGHLIGHT_LAB_VARIANTS or ./variants)")
    return p


def add_exp(parent: Any, name: str, func: Any, help: str, json_flag: bool = True) -> argparse.ArgumentParser:
    """A subcommand that also reads the experiment specs folder (``--experiments``)."""
    p = add(parent, name, func, help, json_flag=json_flag)
    p.add_argument("--experiments", type=Path, default=config.experiments_dir(),
                   help="experiment specs folder (default: $HIGHLIGHT_LAB_EXPERIMENTS or ./experiments)")
    return p
