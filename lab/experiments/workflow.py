"""The experiment workflow: the functions the CLI and the studio both call, so neither holds logic the
other lacks. Each step is one function: track the arms, ingest outcomes, analyse and log, export, roll back.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.engine import analyze
from analysis.ingest import Dataset, OutcomeError, load
from analysis.options import Options
from analysis.report import html_report
from analysis.results import AnalysisResult
from lab.errors import LabError
from lab.experiments import export as export_mod
from lab.experiments import tracking
from lab.experiments.outcomes import IngestResult, OutcomeStore, analyze_experiment
from lab.experiments.spec import Experiment, ExperimentLibrary
from lab.library.events import sample_event
from lab.library.freetext import REASON_MAX, check_free_text
from lab.library.variant import Variant
from lab.storage import atomic_write_text


def preview_maker(logo_root: Path | None) -> tracking.PreviewMaker:
    """Render a variant's sample event on the motion backend: the preview an arm's MLflow run carries."""

    def make(variant: Variant, folder: Path) -> list[str]:
        from lab.render.pipeline import render

        r = render(variant, sample_event(variant.scenario), folder / "preview.mp4", backend="motion",
                   logo_root=logo_root)
        return [p for p in (r.path, r.poster, r.contact_sheet, r.sidecar) if p]

    return make


def track(experiments: ExperimentLibrary, exp: Experiment, previews: bool = True) -> dict[str, str]:
    """Make sure each arm has its MLflow run (params, variant YAML, and a preview video unless ``previews`` is off)."""
    maker = preview_maker(experiments.variants.root) if previews else None
    return tracking.track_arms(exp, experiments.pinned_variants(exp), preview=maker)


def ingest_and_track(experiments: ExperimentLibrary, exp: Experiment, paths: list[Path]
                     ) -> tuple[list[IngestResult], AnalysisResult]:
    """Add outcome files to the store (all or nothing), then update each arm's MLflow metrics (one step per
    stored file). MLflow is only touched once the store holds the new files, so it never counts data the
    store lacks; a failure there leaves the store updated and a rerun logs the same figures."""
    store = OutcomeStore(exp.key)
    results = store.ingest_many(exp, list(paths))
    result, _ = analyze_experiment(exp, store)
    track(experiments, exp, previews=False)
    tracking.log_arm_metrics(exp.key, result, step=results[-1].files_in_store)
    return results, result


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
        track(experiments, exp, previews=False)
        run_id = tracking.log_analysis(exp.key, result, page, {"kind": data.kind, "rows": data.rows,
                                                               "skipped": data.skipped})
    return LoggedAnalysis(result, data, page, run_id)


@dataclass(frozen=True)
class FileAnalysis:
    """An analysis of one outcome file, outside any experiment (``highlight-lab analyze FILE``)."""

    result: AnalysisResult
    data: Dataset
    file: str

    def to_dict(self) -> dict[str, Any]:
        out = self.result.to_dict()
        out["input"] = {"file": self.file, "kind": self.data.kind, "rows": self.data.rows,
                        "skipped": self.data.skipped}
        return out


def analyze_file(path: Path, options: Options, segment: str | None = None, start: Any = None, end: Any = None,
                 report: Path | None = None) -> FileAnalysis:
    """Analyse a counts or events file with the given options; optionally write the HTML report."""
    try:
        data = load(Path(path), segment=segment, start=start, end=end)
        result = analyze(data.arms, options, segments=data.segments or None, notes=data.all_notes())
    except (OutcomeError, ValueError) as exc:
        raise LabError("analyze", str(exc)) from None
    if report is not None:
        page = html_report(result, data.arms, data.daily, title=f"A/B analysis: {path}")
        atomic_write_text(Path(report), page)
    return FileAnalysis(result, data, str(path))


def export(experiments: ExperimentLibrary, key: str, arm: str | None = None, force: bool = False,
           reason: str | None = None, out: Path | None = None) -> export_mod.ExportResult:
    """Ship the winner (or, forced with a reason, another arm): registry alias ``production`` + bundle.

    Refused when the analysis found a sample ratio mismatch or no winner, unless forced with a reason, which
    is recorded on the prompt version and in the bundle.
    """
    reason = check_free_text(reason, "--reason", REASON_MAX)  # one rule for free text, before any work
    exp = experiments.load(key)
    if force and not (reason and reason.strip()):
        raise LabError("export", "--force needs --reason", "say why the analysis is overridden; it is recorded")
    if arm is not None and arm not in exp.arm_ids:
        raise LabError("--arm", f"{arm!r} is not an arm of {key}", f"arms: {', '.join(exp.arm_ids)}")
    result, _ = analyze_experiment(exp, OutcomeStore(key))
    decision = result.decision
    if decision.action == "invalid_srm" and not force:
        raise LabError(f"export {key}", "refused: the analysis found a sample ratio mismatch "
                       f"(p = {result.srm.p_value:.2g})", "fix assignment or logging; or --force --reason")
    if decision.action != "ship" and not force:
        raise LabError(f"export {key}", f"refused: the analysis says '{decision.headline}', not a winner",
                       "keep the test running; or --force --arm ARM --reason TEXT")
    chosen = arm or (decision.arm if decision.action == "ship" else None)
    if chosen is None:
        raise LabError("export", "there is no winner to export", "name the arm to ship with --arm")
    if decision.action == "ship" and chosen != decision.arm and not force:
        raise LabError(f"export {key}", f"refused: the analysis ships {decision.arm}, not {chosen}",
                       "export the winner; or --force --reason")
    forced = decision.action != "ship" or chosen != decision.arm
    variant = experiments.variants.load_version(chosen, next(a.version for a in exp.arms if a.variant == chosen))
    with tracking.reachable():
        return _ship(experiments, exp, variant, decision, forced, reason, out)


def _ship(experiments: ExperimentLibrary, exp: Experiment, variant: Variant, decision: Any, forced: bool,
          reason: str | None, out: Path | None) -> export_mod.ExportResult:
    """The export's steps, ordered so that an interruption leaves the old production or the new one.

    Register the prompt version and write its bundle under its own name (both harmless if orphaned), move the
    alias (the commit point), derive ``production.json`` from it, log the export run, set the status last. A
    failure after the commit moves the alias back (if the server still answers) and ``production.json`` with it.
    """
    mlflow = tracking.configure()
    key, chosen, name = exp.key, variant.id, export_mod.prompt_name(exp.scenario)
    previous = export_mod.production_version(name)
    with contextlib.suppress(LabError):  # repair what an interrupted export left, if that bundle is here
        export_mod.sync_production(exp.scenario, previous)
    production = export_mod.bundle_dir(exp.scenario) / "production.json"
    before = production.read_text(encoding="utf-8") if production.is_file() else None
    tags = {"experiment": key, "arm": chosen, "variant_version": variant.version,
            "content_hash": variant.content_hash, "decision": decision.headline, "forced": str(forced).lower(),
            export_mod.PREVIOUS: str(previous) if previous is not None else ""}
    if forced:
        tags["force_reason"] = reason.strip()
    pv = mlflow.genai.register_prompt(name=name, template=variant.prompt_template,
                                      commit_message=f"{key}: {decision.headline}" + (" (forced)" if forced else ""),
                                      tags=tags)
    version = int(pv.version)
    bundle = export_mod.make_bundle(variant, key, decision, forced, reason, name, version)
    export_mod.write_bundle(exp.scenario, version, bundle)
    eid = tracking.experiment_id(key)
    export_mod.move_alias(name, version)  # the commit point
    try:
        production = export_mod.sync_production(exp.scenario, version)
        run_tags = {tracking.KIND: "export", tracking.ARM: chosen, "highlight_lab.forced": str(forced).lower(),
                    "highlight_lab.prompt_version": str(version)}
        with tracking.run(eid, f"export {chosen}", run_tags) as (client, run_id):
            client.log_dict(run_id, bundle, "production_bundle.json")
    except BaseException:
        _undo_ship(name, previous, production, before)
        raise
    if exp.status in ("running", "stopped"):
        if exp.status == "running":
            experiments.set_status(key, "stopped")
        experiments.set_status(key, "shipped")
    if out:
        atomic_write_text(Path(out), production.read_text(encoding="utf-8"))
    return export_mod.ExportResult(exp.scenario, chosen, name, version, previous, str(Path(out) if out else production),
                                   forced, decision.headline)


def _undo_ship(name: str, previous: int | None, production: Path, before: str | None) -> None:
    """Move the alias back after a failed export, and ``production.json`` with it; if the server is gone with
    the alias moved, ``production.json`` already matches the new version and stays."""
    from mlflow.exceptions import MlflowException
    from requests import RequestException

    try:
        export_mod.move_alias(name, previous)
    except (MlflowException, RequestException, OSError, LabError):
        return
    if before is None:
        production.unlink(missing_ok=True)
    else:
        atomic_write_text(production, before)


def rollback(scenario: str) -> tuple[int, int]:
    """Move ``production`` back to the version it pointed at before the last export; returns (from, to).

    Only a missing prompt or alias is "no production version"; a server that does not answer is an error.
    The bundle of the earlier version must be here before the alias moves, so production.json can follow it.
    """
    with tracking.reachable():
        mlflow = tracking.configure()
        name = export_mod.prompt_name(scenario)
        current = export_mod.production_version(name)
        if current is None:
            raise LabError(f"rollback {scenario}", f"prompt {name} has no production version")
        pv = mlflow.genai.load_prompt(f"prompts:/{name}/{current}")
        previous = (pv.tags or {}).get(export_mod.PREVIOUS) or ""
        if not previous:
            raise LabError(f"rollback {scenario}", f"version {current} was the first production version",
                           "there is nothing earlier to roll back to")
        if not export_mod.bundle_path(scenario, int(previous)).is_file():
            raise LabError(f"rollback {scenario}", f"the bundle of version {previous} is not on this machine",
                           "nothing was changed; roll back where it was exported, or export that arm again")
        export_mod.move_alias(name, int(previous))  # the commit point
        export_mod.sync_production(scenario, int(previous))
        return current, int(previous)


# -- the steps the studio's Library, Experiments and Ship areas call (the CLI mirrors them) ----------


def library_table(experiments: ExperimentLibrary) -> list[dict[str, Any]]:
    """One row per variant: id, scenario, style, current version, last saved (when, by whom), the arms it is in.

    ``arms`` names each experiment that pins the variant (``key@version``), read from every valid spec.
    """
    variants = experiments.variants
    pinned: dict[str, list[str]] = {}
    for key in experiments.keys():
        try:
            exp = experiments.load(key)
        except LabError:
            continue  # a broken spec is reported by `experiments validate`, not by a listing
        for a in exp.arms:
            pinned.setdefault(a.variant, []).append(f"{key}@{a.version}")
    rows = []
    for v in variants.load_all():
        history = variants.history(v.id)
        last = next((h for h in history if h.hash == v.content_hash), None)
        rows.append({"id": v.id, "scenario": v.scenario, "style": v.style, "version": v.version,
                     "saved_at": last.saved_at[:19].replace("T", " ") if last else "unsaved hand edit",
                     "author": (last.author or "") if last else "", "arms": pinned.get(v.id, [])})
    return rows


def clone_variant(variants: Any, source: str, new_id: str, author: str | None = None) -> Variant:
    """Copy a variant's current version under a new id and save it as that variant's first version."""
    from lab.library.schema import check_id, with_changes

    new_id = check_id((new_id or "").strip(), "new variant id")
    if variants.path(new_id).exists():
        raise LabError("new variant id", f"{new_id!r} already exists", "choose another id")
    copy = with_changes(variants.load(source), id=new_id)
    variants.save(copy, base=None, author=author, note=f"cloned from {source}")
    return variants.load(new_id)


def save_logo(variants: Any, upload: Path) -> str:
    """Store an uploaded logo in the library's ``assets/`` under its content hash; returns the relative path.

    The same rules as every asset (``lab.library.assets``: PNG, JPEG or WebP within the size caps, decoded
    whole, a decompression bomb refused); it is stored as PNG, and its name is never the uploader's.
    """
    import hashlib
    import io

    from lab.library import assets
    from lab.storage import atomic_write_bytes

    with Path(upload).open("rb") as handle:
        data = handle.read(assets.ASSET_MAX_BYTES + 1)
    with assets.decode_image(data, "the file", "logo", LabError) as img:  # decoded whole, truncation refused
        png = io.BytesIO()
        img.convert("RGBA").save(png, format="PNG")
    rel = f"{assets.ASSETS_DIR}/logo-{hashlib.sha256(png.getvalue()).hexdigest()[:12]}.png"
    atomic_write_bytes(Path(variants.root) / rel, png.getvalue())
    assets.resolve_asset(Path(variants.root), rel, "logo")  # the stored file passes the one asset check
    return rel


def backend_availability() -> dict[str, str | None]:
    """Each background backend's name and why it cannot run here (None: it can), without loading a model."""
    import importlib.util

    from lab import config
    from lab.render.backends import BACKENDS, gpu_available

    has = {m: importlib.util.find_spec(m) is not None for m in ("torch", "diffusers")}
    out: dict[str, str | None] = {}
    for name in BACKENDS:
        if name in ("auto", "motion"):
            out[name] = None
        elif not (has["torch"] and has["diffusers"]):
            out[name] = "needs torch and diffusers (pip install -e '.[gpu]')"
        elif name == "tiny-wan":
            out[name] = None
        elif not gpu_available():
            out[name] = "no CUDA GPU on this machine"
        elif config.wan_model_dir() is None:
            out[name] = f"no local Wan2.2 weights (set {config.ENV_WAN_MODEL})"
        else:
            out[name] = None
    return out


def create_experiment(experiments: ExperimentLibrary, key: str, scenario: str, arms: list[tuple[str, float]],
                      baseline: float, mde_rel: float, power: float = 0.8, alpha: float = 0.05,
                      mode: str = "fixed", hypothesis: str = "", guardrails: tuple[str, ...] = ()) -> Experiment:
    """Write a new draft experiment pinning each arm's current saved version; refuses an existing key.

    Validated by the same schema as a hand-written spec; nothing is written when it is refused.
    """
    import yaml

    from lab.experiments.spec import parse_experiment
    from lab.storage import file_lock

    pinned = []
    for variant_id, weight in arms:
        v = experiments.variants.load(variant_id)
        if not experiments.variants.is_recorded(v):
            raise LabError(f"arm {variant_id}", "has an unsaved hand edit", "save it as a version first")
        pinned.append({"variant": v.id, "version": v.version, "weight": float(weight)})
    data = {"key": key, "hypothesis": hypothesis or f"Which of {', '.join(a for a, _ in arms)} gets more taps",
            "scenario": scenario, "status": "draft", "arms": pinned, "primary_metric": "ctr",
            "guardrails": list(guardrails), "alpha": float(alpha), "mode": mode, "seed": key,
            "plan": {"baseline": float(baseline), "mde_rel": float(mde_rel), "power": float(power)}}
    exp = parse_experiment(data, f"experiment {key}", experiments.variants)
    with file_lock(experiments.root / ".lock"):
        if experiments.path(exp.key).exists():
            raise LabError(f"experiment {key!r}", "already exists", "choose another key")
        atomic_write_text(experiments.path(exp.key), yaml.safe_dump(exp.to_dict(), sort_keys=False,
                                                                     allow_unicode=True))
    return experiments.load(exp.key)


def set_status(experiments: ExperimentLibrary, key: str, status: str) -> Experiment:
    """Move an experiment along draft → running → stopped (→ shipped by ``export``)."""
    return experiments.set_status(key, status)


def simulated_dir(key: str) -> Path:
    """Where simulated outcome files go: the lab's data folder, never the team's experiments/ folder."""
    from lab import config

    return config.data_dir() / "simulated" / key


def simulate_and_ingest(experiments: ExperimentLibrary, key: str, true_ctr: dict[str, float], daily: int = 3000,
                        days: int = 14, seed: int = 0, users_per_day: float = 0.5
                        ) -> tuple[list[IngestResult], AnalysisResult]:
    """Simulate traffic (files labelled ``simulated``) into the data folder and ingest it, for demos."""
    from lab.experiments.simulate import simulate

    exp = experiments.load(key)
    paths = simulate(exp, true_ctr, daily=daily, days=days, out_dir=simulated_dir(key), seed=seed,
                     users_per_day=users_per_day)
    return ingest_and_track(experiments, exp, paths)


def is_simulated(key: str) -> bool:
    """Whether any outcome file in the experiment's store came from the simulator (its name says so)."""
    return any(m["file"].startswith("simulated-") for m in OutcomeStore(key).manifest())


def production_versions(scenario: str) -> list[dict[str, Any]]:
    """The prompt registry's versions for a scenario, newest first, with the one alias ``production`` names."""
    mlflow = tracking.configure()
    name = export_mod.prompt_name(scenario)
    current = export_mod.production_version(name)
    if current is None:
        return []
    rows = []
    from mlflow.exceptions import MlflowException

    version = 1
    while True:
        try:
            pv = mlflow.genai.load_prompt(f"prompts:/{name}/{version}")
        except MlflowException:
            break
        tags = pv.tags or {}
        rows.append({"version": version, "production": version == current, "arm": tags.get("arm", ""),
                     "experiment": tags.get("experiment", ""), "variant_version": tags.get("variant_version", ""),
                     "decision": tags.get("decision", ""), "forced": tags.get("forced", "false") == "true",
                     "reason": tags.get("force_reason", "")})
        version += 1
    return rows[::-1]


def production_bundle(scenario: str) -> Path | None:
    """The production bundle file for a scenario, when something was exported."""
    path = export_mod.bundle_dir(scenario) / "production.json"
    return path if path.exists() else None


DEMO_KEY = "seed-v1-v2-v3"
DEMO_CTR = {"v1-fast-sprint": 0.23, "v2-slow-motion": 0.31, "v3-rival-ghost": 0.38}


def ensure_demo(experiments: ExperimentLibrary, daily: int = 3000, days: int = 14) -> LoggedAnalysis | None:
    """First launch: give the seed experiment a simulated 14-day run (in the data folder) and analyse it.

    Does nothing when the seed experiment is not in this library or already has outcomes; writes nothing
    into the experiments folder.
    """
    if DEMO_KEY not in experiments.keys() or OutcomeStore(DEMO_KEY).manifest():
        return None
    exp = experiments.load(DEMO_KEY)
    if set(exp.arm_ids) != set(DEMO_CTR):
        return None
    # About one notification per user, so 14 days reach the plan's sample size: the demo shows a test read
    # when it may be read, not one stopped early.
    simulate_and_ingest(experiments, DEMO_KEY, DEMO_CTR, daily=daily, days=days, users_per_day=2.0)
    return analyze_and_log(experiments, DEMO_KEY)


def ingest_many(experiments: ExperimentLibrary, exp: Experiment, paths: list[Path]
                ) -> tuple[list[IngestResult], list[tuple[str, LabError]], AnalysisResult | None]:
    """Add each good file and list each bad one (file name, error): one bad day does not block the other 13.

    Each file is validated and stored on its own (all or nothing per file); the arms' MLflow metrics are
    updated once at the end.
    """
    store = OutcomeStore(exp.key)
    good: list[IngestResult] = []
    bad: list[tuple[str, LabError]] = []
    for path in paths:
        try:
            good.append(store.ingest(exp, path))
        except LabError as exc:
            bad.append((Path(path).name, exc))
    if not good or all(r.duplicate for r in good):
        return good, bad, None
    result, _ = analyze_experiment(exp, store)
    track(experiments, exp, previews=False)
    tracking.log_arm_metrics(exp.key, result, step=good[-1].files_in_store)
    return good, bad, result
