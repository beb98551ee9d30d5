"""The outcome store of an experiment: every ingested file, validated, pseudonymised and kept once.

``<data>/outcomes/<key>/`` holds ``counts/<digest>.csv`` or ``events/<digest>.parquet`` and
``manifest.json``. The manifest is the only source of truth: the analysis reads exactly the files it
lists. An ingest validates every input first, then writes the data files, then lists them all in one
atomic manifest write; a killed ingest leaves unlisted files that the next ingest removes.

A file's digest is the SHA-256 of its parsed, normalised rows (not its bytes), so the same rows with
other formatting count once; events with an ``event_id`` (or ``impression_id``) column are also
de-duplicated by that id across ingests. Only the columns the lab knows are stored (user ids replaced
by salted hashes); any other column is dropped and named in the result.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from analysis.engine import analyze
from analysis.ingest import Dataset, OutcomeError
from analysis.ingest.prepare import Prepared, Schema, prepare, read_once, stored_dataset, write_events
from analysis.options import Options
from analysis.results import AnalysisResult
from lab import config
from lab.errors import LabError
from lab.experiments import privacy
from lab.experiments.spec import Experiment
from lab.storage import atomic_path, atomic_write_bytes, atomic_write_text, file_lock

SUFFIX = {"counts": ".csv", "events": ".parquet"}
WORK_PREFIX = ".normalise-"  # a file's Parquet copy while it is validated; removed after, or by clean_orphans


@dataclass(frozen=True)
class IngestResult:
    file: str
    sha256: str  # of the file's normalised rows, not of its bytes
    kind: str
    rows: int
    duplicate: bool
    skipped: dict[str, int]
    files_in_store: int
    dropped: tuple[str, ...] = ()  # columns of the input the store does not keep


@dataclass
class _Input:
    """One input on its way in: its preparation, or the manifest entry it duplicates."""

    prep: Prepared
    duplicate_of: dict[str, Any] | None = None


def schema_of(exp: Experiment) -> Schema:
    """What the experiment accepts, for the ingest layer (which knows nothing of specs)."""
    return Schema(exp.key, tuple(exp.arm_ids), tuple(exp.segments), tuple(exp.guardrails))


class OutcomeStore:
    def __init__(self, key: str, root: Path | None = None) -> None:
        self.key = key
        self.root = Path(root or config.outcomes_dir(key))

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> list[dict[str, Any]]:
        """The listed files, oldest first: the only record of what the store holds."""
        if not self.manifest_path.exists():
            return []
        try:
            entries = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise LabError(str(self.manifest_path), "is not valid JSON",
                           "restore it from a backup; the data files it lists are beside it") from None
        if not isinstance(entries, list) or not all(isinstance(m, dict) and "sha256" in m and "kind" in m
                                                    for m in entries):
            raise LabError(str(self.manifest_path), "is not a list of ingested files", "restore it from a backup")
        return entries

    def data_path(self, entry: dict[str, Any]) -> Path:
        """Where a listed file's data is; it must lie inside the store."""
        rel = entry.get("path") or f"{entry['kind']}/{entry['sha256']}{SUFFIX.get(entry['kind'], '')}"
        path = (self.root / str(rel)).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise LabError(str(self.manifest_path), f"lists {rel!r}, outside the store", "restore it from a backup")
        return path

    def kind(self) -> str | None:
        entries = self.manifest()
        return entries[0]["kind"] if entries else None

    def clean_orphans(self) -> list[Path]:
        """Remove what a killed ingest left behind: temporary files and data files the manifest does not list."""
        listed = {self.data_path(m) for m in self.manifest()}
        removed = []
        for folder in (self.root / "counts", self.root / "events"):
            if folder.is_dir():
                removed += [p for p in folder.iterdir() if p.is_file() and p.resolve() not in listed]
        if self.root.is_dir():
            removed += [p for p in self.root.glob(".manifest.json.*.tmp") if p.is_file()]
            for work in self.root.glob(f"{WORK_PREFIX}*"):
                shutil.rmtree(work, ignore_errors=True)
        for p in removed:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        return removed

    def ingest(self, exp: Experiment, path: Path | str) -> IngestResult:
        """Validate ``path`` against the experiment's arms and add it to the store, once."""
        return self.ingest_together(exp, [Path(path)])[0]

    def ingest_together(self, exp: Experiment, paths: list[Path]) -> list[IngestResult]:
        """Add several files all or nothing: validate every one, store them all, then list them in one write."""
        paths = [Path(p) for p in paths]
        if not paths:
            raise LabError("outcomes", "no files given", "name one or more counts or events files")
        nothing = "nothing was added to the store" + (
            f" (the {len(paths)} files are added together or not at all)" if len(paths) > 1 else "")
        with file_lock(self.root.parent / f".{self.key}.lock"):
            self.clean_orphans()
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=self.root) as work:
                inputs = self._prepare_all(exp, paths, Path(work), nothing)
                return self._store(exp, self.manifest(), inputs, nothing)

    def _prepare_all(self, exp: Experiment, paths: list[Path], work: Path, nothing: str) -> list[_Input]:
        """Validate every input (each from its own Parquet copy under ``work``) before anything is stored."""
        manifest = self.manifest()
        by_digest = {m["sha256"]: m for m in manifest}
        by_bytes = {m["bytes_sha256"]: m for m in manifest if m.get("bytes_sha256")}
        kind = manifest[0]["kind"] if manifest else None
        inputs: list[_Input] = []
        for i, path in enumerate(paths):
            try:
                item = self._prepare(exp, path, work / str(i), by_bytes, by_digest)
            except OutcomeError as exc:
                total = len(exc.errors) + exc.more
                raise LabError("outcomes", str(exc), nothing + (
                    f"; the file has {total:,} bad rows in all" if total > 1 else ""), details=exc.lines()) from None
            prep = item.prep
            if kind and prep.kind != kind and item.duplicate_of is None:
                held = f"experiment {exp.key} already holds {kind}" if manifest else f"{paths[0]} is {kind}"
                raise LabError("outcomes", f"{path} is a {prep.kind} file but {held}",
                               f"ingest one kind per experiment; {nothing}")
            kind = kind or prep.kind
            if item.duplicate_of is None:
                by_digest[prep.digest] = {"sha256": prep.digest, "kind": prep.kind, "rows": prep.rows,
                                          "skipped": prep.skipped}
            inputs.append(item)
        return inputs

    @staticmethod
    def _prepare(exp: Experiment, path: Path, work: Path, by_bytes: dict[str, Any], by_digest: dict[str, Any]
                 ) -> _Input:
        """One input: a file already stored byte for byte is known at once; else it is validated and digested."""
        bytes_sha, first = read_once(path)
        if bytes_sha in by_bytes:
            m = by_bytes[bytes_sha]
            return _Input(Prepared(path, bytes_sha, m["kind"], m["sha256"]), duplicate_of=m)
        work.mkdir()
        prep = prepare(path, first, bytes_sha, schema_of(exp), work)
        return _Input(prep, by_digest.get(prep.digest))

    def _store(self, exp: Experiment, manifest: list[dict[str, Any]], inputs: list[_Input],
               nothing: str) -> list[IngestResult]:
        """Write every new data file, then list them all at once; on failure remove what this call wrote."""
        entries: list[dict[str, Any]] = []
        written: list[Path] = []
        outcome: list[tuple[Prepared, bool, int, dict[str, int]]] = []
        keyed = [self.data_path(m) for m in manifest if m.get("event_ids")]
        now = dt.datetime.now(dt.UTC).isoformat()
        try:
            for item in inputs:
                prep = item.prep
                if item.duplicate_of is not None:
                    m = item.duplicate_of
                    outcome.append((prep, True, int(m.get("rows", 0)), dict(m.get("skipped", {}))))
                    continue
                rel = f"{prep.kind}/{prep.digest}{SUFFIX[prep.kind]}"
                dest = self.root / rel
                skipped = dict(prep.skipped)
                if prep.kind == "counts":
                    atomic_write_bytes(dest, prep.counts_csv)
                    stored = prep.rows
                else:
                    stored = self._write_events(exp, prep, dest, keyed)
                    if prep.rows - stored:
                        skipped["already ingested (same event id)"] = prep.rows - stored
                    if stored == 0:
                        outcome.append((prep, True, 0, skipped))
                        continue
                    if prep.key:
                        keyed.append(dest)
                written.append(dest)
                entries.append({"sha256": prep.digest, "bytes_sha256": prep.bytes_sha, "file": prep.path.name,
                                "path": rel, "kind": prep.kind, "rows": stored, "skipped": skipped,
                                "dropped": list(prep.dropped), "event_ids": bool(prep.key), "ingested_at": now})
                outcome.append((prep, False, stored, skipped))
            if entries:
                atomic_write_text(self.manifest_path, json.dumps(manifest + entries, indent=1))
        except duckdb.Error as exc:
            self._remove(written)
            raise LabError("outcomes", f"could not store the data ({str(exc).splitlines()[0]})", nothing) from None
        except BaseException:
            self._remove(written)
            raise
        total = len(manifest) + len(entries)
        return [IngestResult(p.path.name, p.digest, p.kind, rows, dup, skipped, total, p.dropped)
                for p, dup, rows, skipped in outcome]

    @staticmethod
    def _write_events(exp: Experiment, prep: Prepared, dest: Path, keyed: list[Path]) -> int:
        """The events' kept columns, ids salted, written atomically; 0 (and no file) when none is new."""
        try:
            with atomic_path(dest, suffix=".parquet.tmp") as tmp:
                stored = write_events(prep, schema_of(exp), tmp, privacy.salt(), keyed)
                if stored == 0:
                    raise _NothingNew  # leaves no file behind
        except _NothingNew:
            return 0
        return stored

    @staticmethod
    def _remove(paths: list[Path]) -> None:
        for p in paths:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def dataset(self, exp: Experiment) -> Dataset:
        """Everything the manifest lists, aggregated; files it does not list are never read."""
        entries = self.manifest()
        if not entries:
            raise LabError(f"experiment {exp.key}", "has no outcomes yet",
                           f"ingest some with `highlight-lab outcomes ingest --experiment {exp.key} FILE`")
        try:
            return stored_dataset(entries[0]["kind"], [self.data_path(m) for m in entries], schema_of(exp),
                                  cuped=exp.cuped)
        except OutcomeError as exc:
            raise LabError(f"outcomes of {exp.key}", str(exc), "the store does not match the experiment's arms; "
                           "restore it or start a new experiment") from None


class _NothingNew(Exception):
    """Every event of the file was already stored: the temporary file is discarded."""


def experiment_data(exp: Experiment, store: OutcomeStore) -> Dataset:
    """An experiment's outcomes, aggregated: from its ``source`` tables (inside that database) when the spec
    names one, else from everything its store lists."""
    if exp.source is None:
        return store.dataset(exp)
    from analysis.warehouse import load_warehouse

    try:
        return load_warehouse(exp.source, variants=exp.arm_ids, required=exp.segments, cuped=exp.cuped,
                              timeout_s=config.warehouse_timeout_s())
    except OutcomeError as exc:
        raise LabError(f"experiment {exp.key}", str(exc)) from None


def analysis_options(exp: Experiment) -> Options:
    """The spec's alpha, mode, weights, plan (a fixed-horizon test is not read before the plan's sample size per
    arm) and CUPED choice."""
    return Options(control=exp.control, alpha=exp.alpha, weights=exp.weights, mode=exp.mode,
                   mde_rel=exp.plan.mde_rel, power=exp.plan.power, planned_n_per_arm=exp.planned_n_per_arm(),
                   cuped=exp.cuped)


def analyze_experiment(exp: Experiment, store: OutcomeStore) -> tuple[AnalysisResult, Dataset]:
    """The experiment's analysis over its source tables or everything in its store, with the spec's options."""
    data = experiment_data(exp, store)
    try:
        return analyze(data.arms, analysis_options(exp), segments=data.segments or None,
                       notes=data.all_notes()), data
    except ValueError as exc:
        raise LabError(f"experiment {exp.key}", str(exc)) from None
