"""Close the loop: the worker's impressions and the app's click records become per-user events of an
experiment (``user_id, variant, timestamp, clicked``), ingested like any other outcome file.

Clicks arrive as a JSON-lines file of ``{"event_id": ..., "clicked_at": ...}``: the app already batches
analytics to files, a file is replayable and content-hashed by the outcome store (ingesting it twice changes
nothing), and a render machine then needs no port open to the internet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import config
from lab.errors import LabError
from lab.experiments.spec import Experiment, ExperimentLibrary
from lab.storage import atomic_write_text

# Unicode categories refused inside an id or a name of a record: controls (newline, tab, NUL, ...), line and
# paragraph separators, and format characters (bidirectional overrides, zero-width) that change how it reads.
CONTROL = frozenset({"Cc", "Cf", "Zl", "Zp"})


@dataclass
class JoinResult:
    path: Path
    impressions: int
    clicks: int
    notices: list[str] = field(default_factory=list)


def _read(path: Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabError(str(path), f"no such {what} file") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabError(f"{path}:{number}", f"not valid JSON ({exc.msg})", "nothing was ingested") from None
        except (ValueError, RecursionError):  # a number past Python's int-string limit, or nesting too deep
            raise LabError(f"{path}:{number}", "holds a number too long to read or nesting too deep",
                           "nothing was ingested") from None
        if not isinstance(row, dict):
            raise LabError(f"{path}:{number}", "must be a JSON object", "nothing was ingested")
        rows.append((number, row))
    return rows


def _text(path: Path, number: int, row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value:
        raise LabError(f"{path}:{number}", f"{name} is missing or not text", "nothing was ingested")
    bad = next((i for i, ch in enumerate(value) if unicodedata.category(ch) in CONTROL), None)
    if bad is not None:
        raise LabError(f"{path}:{number}", f"{name} holds the control character U+{ord(value[bad]):04X} at "
                       f"position {bad + 1}", "ids are plain text (a newline or a tab is never part of one); "
                       "nothing was ingested")
    return value


def _time(path: Path, number: int, value: str, name: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise LabError(f"{path}:{number}", f"{name} {value!r} is not an ISO 8601 time", "nothing was ingested") \
            from None


def join(exp: Experiment, impressions: Path, clicks: Path, out_dir: Path | None = None) -> JoinResult:
    """Per-user events of ``exp`` from impression and click records, written (content-named) as JSON lines.

    Each value goes from a JSON record into a JSON record (``json.dumps``), never through delimited text, so
    no value can become a row, a column or a delimiter; ids with control characters are refused with their line.
    """
    shown: dict[str, dict[str, Any]] = {}
    notices: list[str] = []
    other = dup_impressions = 0
    for number, row in _read(impressions, "impressions"):
        event_id = _text(impressions, number, row, "event_id")
        for name in ("user_id", "arm", "time"):
            _text(impressions, number, row, name)
        _time(impressions, number, row["time"], "time")
        if row.get("experiment") != exp.key:
            other += 1
            continue
        if row["arm"] not in exp.arm_ids:
            raise LabError(f"{impressions}:{number}", f"arm {row['arm']!r} is not an arm of {exp.key}",
                           "nothing was ingested")
        if event_id in shown:
            dup_impressions += 1
            continue
        shown[event_id] = row
    clicked: set[str] = set()
    orphans = duplicates = 0
    for number, row in _read(clicks, "clicks"):
        event_id = _text(clicks, number, row, "event_id")
        _time(clicks, number, _text(clicks, number, row, "clicked_at"), "clicked_at")
        if event_id not in shown:
            orphans += 1
        elif event_id in clicked:
            duplicates += 1
        else:
            clicked.add(event_id)
    if other:
        notices.append(f"{other} impression(s) belong to another experiment or to none: left out")
    if dup_impressions:
        notices.append(f"{dup_impressions} duplicate impression record(s): counted once")
    if orphans:
        notices.append(f"{orphans} click(s) with no impression in {exp.key}: left out")
    if duplicates:
        notices.append(f"{duplicates} duplicate click(s): counted once")
    if not shown:
        raise LabError(str(impressions), f"holds no impressions of experiment {exp.key}", "nothing was ingested")
    lines = []
    for event_id, row in sorted(shown.items(), key=lambda kv: kv[1]["time"]):
        stamp = dt.datetime.fromisoformat(row["time"]).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        lines.append(json.dumps({"user_id": row["user_id"], "variant": row["arm"], "timestamp": stamp,
                                 "clicked": int(event_id in clicked)}, ensure_ascii=False) + "\n")
    text = "".join(lines)
    folder = Path(out_dir or config.production_dir() / "joined" / exp.key)
    path = folder / f"events-{hashlib.sha256(text.encode()).hexdigest()[:16]}.jsonl"
    atomic_write_text(path, text)
    return JoinResult(path, len(shown), len(clicked), notices)


def ingest_impressions(experiments: ExperimentLibrary, key: str, impressions: Path, clicks: Path):
    """Join, then hand the events file to ``workflow.ingest_and_track`` (store, analysis, MLflow metrics)."""
    from lab.experiments.workflow import ingest_and_track

    exp = experiments.load(key)
    joined = join(exp, Path(impressions), Path(clicks))
    results, result = ingest_and_track(experiments, exp, [joined.path])
    return joined, results, result
