"""Analyses as the CLI and the studio ask for them: an experiment's (logged to MLflow as a run) and a single file's
or warehouse source's (``highlight-lab analyze``). ``workflow`` re-exports both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.engine import analyze
from analysis.ingest import Dataset, OutcomeError, load
from analysis.options import Options
from analysis.report import html_report
from analysis.results import AnalysisResult
from analysis.warehouse import WarehouseSource, load_warehouse
from lab.errors import LabError
from lab.experiments import tracking
from lab.experiments.outcomes import OutcomeStore, analyze_experiment
from lab.experiments.spec import ExperimentLibrary
from lab.storage import atomic_write_text


@dataclass(frozen=True)
class LoggedAnalysis:
    """An analysis of an experiment's stored outcomes, as logged to MLflow."""

    result: AnalysisResult
    data: Dataset
    report_html: str
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        out = self.result.to_dict()
        out["mlflow_run_id"] = self.run_id
        return out


def analyze_and_log(experiments: ExperimentLibrary, key: str, report: Path | None = None) -> LoggedAnalysis:
    """Analyse everything stored for experiment ``key`` and log it as an MLflow run (result JSON, HTML report).

    Every analysis is a run, whether the CLI or the studio asked for it.
    """
    exp = experiments.load(key)
    with tracking.reachable():  # a server that does not answer fails the command now, not minutes later
        result, data = analyze_experiment(exp, OutcomeStore(exp.key))
        page = html_report(result, data.arms, data.daily, title=f"A/B analysis: {exp.key}")
        if report is not None:
            atomic_write_text(Path(report), page)
        tracking.track_arms(exp, experiments.pinned_variants(exp), preview=None)
        inputs = {"kind": data.kind, "rows": data.rows, "skipped": data.skipped}
        if exp.source is not None:
            inputs |= exp.source.describe()  # the URL without user or password
        run_id = tracking.log_analysis(exp.key, result, page, inputs)
    return LoggedAnalysis(result, data, page, run_id)


@dataclass(frozen=True)
class FileAnalysis:
    """An analysis of one outcome file or one warehouse source, outside any experiment (``highlight-lab analyze``)."""

    result: AnalysisResult
    data: Dataset
    file: str
    source: dict[str, str] | None = None  # a warehouse source, as it may be shown (no credentials)

    def to_dict(self) -> dict[str, Any]:
        out = self.result.to_dict()
        where = self.source or {"file": self.file}
        out["input"] = {**where, "kind": self.data.kind, "rows": self.data.rows, "skipped": self.data.skipped}
        return out


def analyze_file(path: Path | WarehouseSource, options: Options, segment: str | None = None, start: Any = None,
                 end: Any = None, report: Path | None = None, pre_start: Any = None) -> FileAnalysis:
    """Analyse a counts or events file, or a warehouse source's tables (inside that database), with the given
    options; optionally write the HTML report."""
    from lab import config

    source = path if isinstance(path, WarehouseSource) else None
    try:
        if source is not None:
            data = load_warehouse(source, segment=segment, start=start, end=end, cuped=options.cuped,
                                  pre_start=pre_start, timeout_s=config.warehouse_timeout_s())
        else:
            data = load(Path(path), segment=segment, start=start, end=end, cuped=options.cuped, pre_start=pre_start)
        result = analyze(data.arms, options, segments=data.segments or None, notes=data.all_notes())
    except (OutcomeError, ValueError) as exc:
        raise LabError("analyze", str(exc)) from None
    shown = source.shown if source is not None else str(path)
    if report is not None:
        page = html_report(result, data.arms, data.daily, title=f"A/B analysis: {shown}")
        atomic_write_text(Path(report), page)
    return FileAnalysis(result, data, shown, source.describe() if source is not None else None)
