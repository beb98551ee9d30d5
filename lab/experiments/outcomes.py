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
import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from analysis.engine import analyze
from analysis.ingest import (
    COUNT_COLUMNS,
    EVENT_COLUMNS,
    Dataset,
    OutcomeError,
    Source,
    as_count,
    connect,
    count_rows,
    detect_kind,
    event_exprs,
    load,
    open_source,
)
from analysis.options import Options
from analysis.results import AnalysisResult
from analysis.statistics import ArmData
from lab import config
from lab.errors import LabError
from lab.experiments import privacy
from lab.experiments.spec import Experiment
from lab.storage import atomic_path, atomic_write_bytes, atomic_write_text, file_lock

KEY_COLUMNS = ("event_id", "impression_id")  # an events file's own id for each impression, first found wins
SUFFIX = {"counts": ".csv", "events": ".parquet"}


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
class _Prepared:
    """A validated input, ready to store: what to keep of it and under which digest."""

    path: Path
    bytes_sha: str
    kind: str
    digest: str = ""
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    src: Source | None = None
    key: str | None = None  # the event id column, if any
    counts_csv: bytes = b""
    duplicate_of: dict[str, Any] | None = None


def _sql_path(path: Path) -> str:
    """A path the code chose itself (never an input) as a strictly quoted SQL literal."""
    text = str(Path(path).resolve())
    if any(ord(ch) < 32 for ch in text):
        raise LabError(text, "the store path holds a control character", "use a plain folder for HIGHLIGHT_LAB_HOME")
    return "'" + text.replace("'", "''") + "'"


def _bytes_sha(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError:
        raise OutcomeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise OutcomeError(f"{path}: is a folder, not a file") from None
    except PermissionError:
        raise OutcomeError(f"{path}: cannot be read (permission denied)") from None


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
        for p in removed:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        return removed

    def ingest(self, exp: Experiment, path: Path | str) -> IngestResult:
        """Validate ``path`` against the experiment's arms and add it to the store, once."""
        return self.ingest_many(exp, [Path(path)])[0]

    def ingest_many(self, exp: Experiment, paths: list[Path]) -> list[IngestResult]:
        """Add several files all or nothing: validate every one, store them all, then list them in one write."""
        paths = [Path(p) for p in paths]
        if not paths:
            raise LabError("outcomes", "no files given", "name one or more counts or events files")
        nothing = "nothing was added to the store" + (
            f" (the {len(paths)} files are added together or not at all)" if len(paths) > 1 else "")
        with file_lock(self.root.parent / f".{self.key}.lock"):
            self.clean_orphans()
            manifest = self.manifest()
            by_digest = {m["sha256"]: m for m in manifest}
            by_bytes = {m["bytes_sha256"]: m for m in manifest if m.get("bytes_sha256")}
            kind = manifest[0]["kind"] if manifest else None
            prepared: list[_Prepared] = []
            for path in paths:
                try:
                    prep = self._prepare(exp, path, by_bytes, by_digest)
                except OutcomeError as exc:
                    total = len(exc.errors) + exc.more
                    raise LabError("outcomes", str(exc), nothing + (
                        f"; the file has {total:,} bad rows in all" if total > 1 else ""),
                        details=exc.lines()) from None
                if kind and prep.kind != kind and prep.duplicate_of is None:
                    held = f"experiment {exp.key} already holds {kind}" if manifest else f"{paths[0]} is {kind}"
                    raise LabError("outcomes", f"{path} is a {prep.kind} file but {held}",
                                   f"ingest one kind per experiment; {nothing}")
                kind = kind or prep.kind
                if prep.duplicate_of is None:
                    by_digest[prep.digest] = {"sha256": prep.digest, "kind": prep.kind, "rows": prep.rows,
                                              "skipped": prep.skipped}
                prepared.append(prep)
            return self._store(exp, manifest, prepared, nothing)

    def _store(self, exp: Experiment, manifest: list[dict[str, Any]], prepared: list[_Prepared],
               nothing: str) -> list[IngestResult]:
        """Write every new data file, then list them all at once; on failure remove what this call wrote."""
        entries: list[dict[str, Any]] = []
        written: list[Path] = []
        outcome: list[tuple[_Prepared, bool, int, dict[str, int]]] = []
        keyed = [self.data_path(m) for m in manifest if m.get("event_ids")]
        now = dt.datetime.now(dt.UTC).isoformat()
        try:
            for prep in prepared:
                if prep.duplicate_of is not None:
                    m = prep.duplicate_of
                    outcome.append((prep, True, int(m.get("rows", 0)), dict(m.get("skipped", {}))))
                    continue
                rel = f"{prep.kind}/{prep.digest}{SUFFIX[prep.kind]}"
                dest = self.root / rel
                skipped = dict(prep.skipped)
                if prep.kind == "counts":
                    atomic_write_bytes(dest, prep.counts_csv)
                    stored = prep.rows
                else:
                    stored = self._store_events(exp, prep, dest, keyed)
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
    def _remove(paths: list[Path]) -> None:
        for p in paths:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def _prepare(self, exp: Experiment, path: Path, by_bytes: dict[str, Any], by_digest: dict[str, Any]
                 ) -> _Prepared:
        """Validate one input and compute what the store keeps of it and its content digest."""
        bytes_sha = _bytes_sha(path)
        if bytes_sha in by_bytes:
            m = by_bytes[bytes_sha]
            return _Prepared(path, bytes_sha, m["kind"], m["sha256"], duplicate_of=m)
        src = open_source(path)
        cols = src.columns
        kind = detect_kind(cols) or "counts"  # a file with neither set of columns fails in load()
        labels = ("segment", *exp.segments)
        if kind == "counts":
            allowed = set(COUNT_COLUMNS) | set(labels) | set(exp.guardrails)
            extra = [c for c in cols if c not in allowed]
            if extra:
                shown = extra[0] if len(extra[0]) <= 60 else extra[0][:59] + "…"
                raise OutcomeError(f"{path}: column {shown!r} is not a metric of experiment {exp.key} "
                                   f"(guardrails: {', '.join(exp.guardrails) or 'none'})")
        dataset = load(path, variants=exp.arm_ids, labels=exp.segments)
        prep = _Prepared(path, bytes_sha, kind, rows=dataset.rows, skipped=dataset.skipped, src=src)
        if kind == "counts":
            keep = [c for c in (*COUNT_COLUMNS, *exp.guardrails, *labels) if c in cols]
            prep.counts_csv, prep.digest = _canonical_counts(src, keep, labels)
        else:
            prep.key = next((c for c in KEY_COLUMNS if c in cols), None)
            keep = [*EVENT_COLUMNS, *([prep.key] if prep.key else []), *(g for g in exp.guardrails if g in cols),
                    *(s for s in exp.segments if s in cols)]
            prep.digest = _events_digest(src, keep, prep.key)
        prep.dropped = tuple(c for c in cols if c not in keep)
        if prep.digest in by_digest:
            prep.duplicate_of = by_digest[prep.digest]
        return prep

    def _store_events(self, exp: Experiment, prep: _Prepared, dest: Path, keyed: list[Path]) -> int:
        """Copy the kept columns of the events, user ids replaced by salted hashes (DuckDB, out of core).

        Columns are selected by position; only names from the spec (checked by its schema) are written
        as output names. Rows whose event id is already stored, or repeated in the file, are left out.
        Returns the number of rows stored.
        """
        src = prep.src
        assert src is not None
        e = event_exprs(src)
        select = [f"substr(sha256($salt || {e['user_id']}), 1, 20) AS user_id", f"{e['variant']} AS variant",
                  f"{e['timestamp']} AS timestamp", f"{e['clicked']} AS clicked"]
        if prep.key:
            select.append(f"CAST({src.col(prep.key)} AS VARCHAR) AS event_id")
        select += [f'TRY_CAST({src.col(g)} AS BIGINT) AS "{g}"' for g in exp.guardrails if g in src.columns]
        select += [f'CAST({src.col(s)} AS VARCHAR) AS "{s}"' for s in exp.segments if s in src.columns]
        query = f"SELECT {', '.join(select)} FROM {src.table()}"
        if prep.key:
            seen = ""
            if keyed:
                seen = ("AND NOT EXISTS (SELECT 1 FROM read_parquet($keyed, union_by_name=true) AS old "
                        "WHERE old.event_id = new.event_id)")
            query = (f"SELECT * FROM ({query}) AS new WHERE event_id IS NULL OR (TRUE {seen}) "
                     "QUALIFY event_id IS NULL OR row_number() OVER (PARTITION BY event_id) = 1")
        try:
            with atomic_path(dest, suffix=".parquet.tmp") as tmp:
                con = connect(read=[*src.paths, *keyed], write=[tmp])
                try:
                    stored = src.run(con, f"COPY ({query}) TO {_sql_path(tmp)} (FORMAT parquet, USE_TMP_FILE false)",
                                     {"salt": privacy.salt(), "keyed": [str(p) for p in keyed]}).fetchone()[0]
                finally:
                    con.close()
                if stored == 0:
                    raise _NothingNew  # leaves no file behind
        except _NothingNew:
            return 0
        return int(stored)

    def dataset(self, exp: Experiment) -> Dataset:
        """Everything the manifest lists, aggregated; files it does not list are never read."""
        entries = self.manifest()
        if not entries:
            raise LabError(f"experiment {exp.key}", "has no outcomes yet",
                           f"ingest some with `highlight-lab outcomes ingest --experiment {exp.key} FILE`")
        files = [self.data_path(m) for m in entries]
        try:
            if entries[0]["kind"] == "events":
                return load(files, variants=exp.arm_ids)
            pooled: dict[str, ArmData] = {}
            rows = 0
            for file in files:
                part = load(file, variants=exp.arm_ids, labels=exp.segments)
                rows += part.rows
                for arm in part.arms:
                    pooled[arm.variant] = pooled[arm.variant] + arm if arm.variant in pooled else arm
        except OutcomeError as exc:
            raise LabError(f"outcomes of {exp.key}", str(exc), "the store does not match the experiment's arms; "
                           "restore it or start a new experiment") from None
        return Dataset("counts", [pooled[v] for v in exp.arm_ids], rows=rows)


class _NothingNew(Exception):
    """Every event of the file was already stored: the temporary file is discarded."""


def _canonical_counts(src: Source, keep: list[str], labels: tuple[str, ...]) -> tuple[bytes, str]:
    """The counts as the lab writes them (kept columns, one canonical row order) and the digest of that."""
    names, rows = count_rows(src)
    out = []
    for i, values in enumerate(rows, start=1):
        rec = dict(zip(names, values, strict=True))
        row = []
        for c in keep:
            if c == "variant" or c in labels:
                row.append("" if rec[c] is None else str(rec[c]).strip())
            else:
                row.append(str(as_count(rec[c], f"{src.name}: row {i}, column {c}")))
        out.append(row)
    out.sort()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keep)
    writer.writerows(out)
    data = buffer.getvalue().encode("utf-8")
    return data, hashlib.sha256(b"counts\n" + data).hexdigest()


def _events_digest(src: Source, keep: list[str], key: str | None) -> str:
    """A digest of the kept columns' normalised rows, independent of row order and formatting.

    Each row's canonical text is hashed (MD5, 128 bits as two halves) and the hashes summed, with the
    row count: a multiset hash, computed in one scan however large the file is.
    """
    e = event_exprs(src)
    parts = [e["user_id"], e["variant"], f"CAST({e['timestamp']} AS VARCHAR)", f"CAST({e['clicked']} AS VARCHAR)"]
    parts += [f"CAST({src.col(c)} AS VARCHAR)" for c in keep[len(EVENT_COLUMNS):]]
    row = "concat_ws(chr(31), " + ", ".join(f"coalesce({p}, chr(30))" for p in parts) + ")"
    con = src.connect()
    try:
        n, lo, hi = src.run(con, f"SELECT count(*), sum(md5_number_lower({row})), sum(md5_number_upper({row})) "
                                 f"FROM {src.table()}").fetchone()
    except duckdb.Error as exc:
        raise src.error(exc) from None
    finally:
        con.close()
    return hashlib.sha256(f"events\n{','.join(keep)}\n{n}\n{lo}\n{hi}".encode()).hexdigest()


def analyze_experiment(exp: Experiment, store: OutcomeStore) -> tuple[AnalysisResult, Dataset]:
    """The experiment's analysis over everything in its store, with the spec's alpha, mode, weights and plan
    (a fixed-horizon test is not read before the plan's sample size per arm)."""
    data = store.dataset(exp)
    options = Options(control=exp.control, alpha=exp.alpha, weights=exp.weights, mode=exp.mode,
                      mde_rel=exp.plan.mde_rel, power=exp.plan.power, planned_n_per_arm=exp.planned_n_per_arm())
    return analyze(data.arms, options, segments=data.segments or None, notes=data.all_notes()), data
