"""The outcome store of an experiment: every ingested file, validated, pseudonymised and kept once.

``<data>/outcomes/<key>/`` holds ``counts/<sha256>.csv`` or ``events/<sha256>.parquet`` (one file per
ingested input, named by the input's content hash, so ingesting the same file twice changes nothing)
and ``manifest.json``. Event files are stored with user ids replaced by salted hashes. A failed ingest
leaves the store exactly as it was: the input is validated first and written by rename.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.engine import analyze
from analysis.ingest import (
    COUNT_COLUMNS,
    EVENT_COLUMNS,
    Dataset,
    OutcomeError,
    columns_of,
    detect_kind,
    load,
    reader,
)
from analysis.options import Options
from analysis.results import AnalysisResult
from analysis.statistics import ArmData
from lab import config
from lab.errors import LabError
from lab.experiments import privacy
from lab.experiments.spec import Experiment
from lab.storage import atomic_path, atomic_write_bytes, atomic_write_text, file_lock


@dataclass(frozen=True)
class IngestResult:
    file: str
    sha256: str
    kind: str
    rows: int
    duplicate: bool
    skipped: dict[str, int]
    files_in_store: int


class OutcomeStore:
    def __init__(self, key: str, root: Path | None = None) -> None:
        self.key = key
        self.root = Path(root or config.outcomes_dir(key))

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> list[dict[str, Any]]:
        if not self.manifest_path.exists():
            return []
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def kind(self) -> str | None:
        if list((self.root / "events").glob("*.parquet")):
            return "events"
        if list((self.root / "counts").glob("*.csv")):
            return "counts"
        return None

    def ingest(self, exp: Experiment, path: Path | str) -> IngestResult:
        """Validate ``path`` against the experiment's arms and add it to the store, once."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise LabError(str(path), "no such file") from None
        digest = hashlib.sha256(data).hexdigest()
        with file_lock(self.root.parent / f".{self.key}.lock"):
            done = {m["sha256"]: m for m in self.manifest()}
            if digest in done:
                m = done[digest]
                return IngestResult(path.name, digest, m["kind"], m["rows"], True, m.get("skipped", {}), len(done))
            try:
                cols = columns_of(path)
                kind = detect_kind(cols) or "counts"  # a file with neither set of columns fails in load()
                allowed = set(EVENT_COLUMNS if kind == "events" else COUNT_COLUMNS) | {"segment"}
                allowed |= set(exp.guardrails) if kind == "counts" else set()
                if kind == "counts":
                    extra = [c for c in cols if c not in allowed]
                    if extra:
                        raise OutcomeError(f"{path}: column {extra[0]!r} is not a metric of experiment {exp.key} "
                                           f"(guardrails: {', '.join(exp.guardrails) or 'none'})")
                dataset = load(path, variants=exp.arm_ids)
            except OutcomeError as exc:
                raise LabError("outcomes", str(exc), "nothing was added to the store") from None
            existing = self.kind()
            if existing and existing != kind:
                raise LabError("outcomes", f"{path} is a {kind} file but experiment {exp.key} already holds "
                               f"{existing}", "ingest one kind per experiment; nothing was added")
            if kind == "events":
                self._store_events(path, digest)
            else:
                self._store_counts(data, digest)
            entry = {"sha256": digest, "file": path.name, "kind": kind, "rows": dataset.rows,
                     "skipped": dataset.skipped, "ingested_at": dt.datetime.now(dt.UTC).isoformat()}
            manifest = self.manifest() + [entry]
            atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1))
        return IngestResult(path.name, digest, kind, dataset.rows, False, dataset.skipped, len(manifest))

    def _store_counts(self, data: bytes, digest: str) -> None:
        atomic_write_bytes(self.root / "counts" / f"{digest}.csv", data)

    def _store_events(self, path: Path, digest: str) -> None:
        """Copy the events with user ids replaced by salted hashes (DuckDB, out of core)."""
        import duckdb

        dest = self.root / "events" / f"{digest}.parquet"
        cols = [c for c in columns_of(path) if c not in EVENT_COLUMNS]
        extra = "".join(f', CAST("{c}" AS VARCHAR) AS "{c}"' for c in cols)
        con = duckdb.connect(":memory:")
        try:
            with atomic_path(dest, suffix=".parquet.tmp") as tmp:
                con.execute(
                    f"""COPY (SELECT substr(sha256($salt || CAST(user_id AS VARCHAR)), 1, 20) AS user_id,
                              CAST(variant AS VARCHAR) AS variant, CAST(timestamp AS TIMESTAMP) AS timestamp,
                              CAST(clicked AS INTEGER) AS clicked{extra}
                       FROM {reader(path)}) TO '{tmp}' (FORMAT parquet)""",
                    {"salt": privacy.salt()},
                )
        finally:
            con.close()

    def dataset(self, exp: Experiment) -> Dataset:
        kind = self.kind()
        if kind is None:
            raise LabError(f"experiment {exp.key}", "has no outcomes yet",
                           f"ingest some with `highlight-lab outcomes ingest --experiment {exp.key} FILE`")
        if kind == "events":
            return load(self.root / "events" / "*.parquet", variants=exp.arm_ids)
        pooled: dict[str, ArmData] = {}
        rows = 0
        for file in sorted((self.root / "counts").glob("*.csv")):
            part = load(file, variants=exp.arm_ids)
            rows += part.rows
            for arm in part.arms:
                if arm.variant in pooled:
                    pooled[arm.variant] = pooled[arm.variant] + arm
                else:
                    pooled[arm.variant] = arm
        return Dataset("counts", [pooled[v] for v in exp.arm_ids], rows=rows)


def analyze_experiment(exp: Experiment, store: OutcomeStore) -> tuple[AnalysisResult, Dataset]:
    """The experiment's analysis over everything in its store, with the spec's alpha, mode, weights and plan
    (a fixed-horizon test is not read before the plan's sample size per arm)."""
    data = store.dataset(exp)
    options = Options(control=exp.control, alpha=exp.alpha, weights=exp.weights, mode=exp.mode,
                      mde_rel=exp.plan.mde_rel, power=exp.plan.power, planned_n_per_arm=exp.planned_n_per_arm())
    return analyze(data.arms, options, segments=data.segments or None, notes=data.all_notes()), data
