"""The experiment workflow: the functions the CLI and the studio both call, so neither holds logic the
other lacks. Each step is one function: track the arms, ingest outcomes, analyse and log, export, roll back.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.report import html_report  # noqa: F401 - the studio reads it from here
from analysis.results import AnalysisResult
from lab.errors import LabError
from lab.experiments import registry, tracking
from lab.experiments.analyses import FileAnalysis, LoggedAnalysis, analyze_and_log, analyze_file  # noqa: F401
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


def _no_files_for_a_source(exp: Experiment) -> None:
    if exp.source is not None:
        raise LabError(f"experiment {exp.key}", f"reads its outcomes from {exp.source.shown}, not from files",
                       "load the rows into its impressions and clicks tables, or drop source: from the spec")


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: the files added (or already there), the files refused with why, the analysis after."""

    added: list[IngestResult]
    refused: list[tuple[str, LabError]]
    result: AnalysisResult | None


def ingest_files(experiments: ExperimentLibrary, exp: Experiment, paths: list[Path]) -> IngestReport:
    """The one ingest rule, for the CLI and the studio alike: each file is validated and stored on its own (all
    of it or none of it), so one bad day does not block the other 13; every refused file is reported with
    every bad row. Then each arm's MLflow metrics are updated once (one step per stored file). MLflow is only
    touched once the store holds the new files, so it never counts data the store lacks; a failure there
    leaves the store updated and a rerun logs the same figures."""
    _no_files_for_a_source(exp)
    if not paths:
        raise LabError("outcomes", "no files given", "name one or more counts or events files")
    store = OutcomeStore(exp.key)
    added: list[IngestResult] = []
    refused: list[tuple[str, LabError]] = []
    for path in paths:
        try:
            added.append(store.ingest(exp, path))
        except LabError as exc:
            refused.append((Path(path).name, exc))
    if not added or all(r.duplicate for r in added):
        return IngestReport(added, refused, None)
    result, _ = analyze_experiment(exp, store)
    track(experiments, exp, previews=False)
    tracking.log_arm_metrics(exp.key, result, step=added[-1].files_in_store)
    return IngestReport(added, refused, result)


def ingest_and_track(experiments: ExperimentLibrary, exp: Experiment, paths: list[Path]
                     ) -> tuple[list[IngestResult], AnalysisResult]:
    """``ingest_files`` for callers that need every file in: the first refused file's error is raised (the good
    files are in the store by then, as the CLI and the studio do it)."""
    report = ingest_files(experiments, exp, paths)
    if report.refused:
        raise report.refused[0][1]
    result = report.result or analyze_experiment(exp, OutcomeStore(exp.key))[0]
    return report.added, result


# A draft has no result of its own to ship; a shipped experiment may ship again (a forced override after review).
EXPORTABLE = ("running", "stopped", "shipped")


def export(experiments: ExperimentLibrary, key: str, arm: str | None = None, force: bool = False,
           reason: str | None = None, out: Path | None = None) -> registry.ExportResult:
    """Ship the winner (or, forced with a reason, another arm): registry alias ``production`` + bundle.

    Refused when the analysis found a sample ratio mismatch or no winner, unless forced with a reason, which
    is recorded on the prompt version and in the bundle.
    """
    reason = check_free_text(reason, "--reason", REASON_MAX)  # one rule for free text, before any work
    exp = experiments.load(key)
    if force and not (reason and reason.strip()):
        raise LabError("export", "--force needs --reason", "say why the analysis is overridden; it is recorded")
    if exp.status not in EXPORTABLE:
        raise LabError(f"export {key}", f"refused: the experiment is {exp.status}; only a running or stopped "
                       "experiment (or one already shipped) can be exported: its result is what ships",
                       "start it and collect outcomes first" if exp.status == "draft" else
                       "export from a running or stopped experiment")
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
          reason: str | None, out: Path | None) -> registry.ExportResult:
    """The export's steps, ordered so that an interruption leaves the old production or the new one.

    Register the prompt version and write its bundle under its own name (both harmless if orphaned), move the
    alias (the commit point), derive ``production.json`` from it, log the export run, set the status last. A
    failure after the commit moves the alias back (if the server still answers) and ``production.json`` with it.
    """
    mlflow = tracking.configure()
    key, chosen, name = exp.key, variant.id, registry.prompt_name(exp.scenario)
    previous = registry.production_version(name)
    with contextlib.suppress(LabError):  # repair what an interrupted export left, if that bundle is here
        registry.sync_production(exp.scenario, previous)
    production = registry.bundle_dir(exp.scenario) / "production.json"
    before = production.read_text(encoding="utf-8") if production.is_file() else None
    tags = {"experiment": key, "arm": chosen, "variant_version": variant.version,
            "content_hash": variant.content_hash, "decision": decision.headline, "forced": str(forced).lower(),
            registry.PREVIOUS: str(previous) if previous is not None else ""}
    if forced:
        tags["force_reason"] = reason.strip()
    pv = mlflow.genai.register_prompt(name=name, template=variant.prompt_template,
                                      commit_message=f"{key}: {decision.headline}" + (" (forced)" if forced else ""),
                                      tags=tags)
    version = int(pv.version)
    bundle = registry.make_bundle(variant, key, decision, forced, reason, name, version)
    registry.write_bundle(exp.scenario, version, bundle)
    eid = tracking.experiment_id(key)
    registry.move_alias(name, version)  # the commit point
    try:
        production = registry.sync_production(exp.scenario, version)
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
    return registry.ExportResult(exp.scenario, chosen, name, version, previous, str(Path(out) if out else production),
                                   forced, decision.headline)


def _undo_ship(name: str, previous: int | None, production: Path, before: str | None) -> None:
    """Move the alias back after a failed export, and ``production.json`` with it; if the server is gone with
    the alias moved, ``production.json`` already matches the new version and stays."""
    from mlflow.exceptions import MlflowException
    from requests import RequestException

    try:
        registry.move_alias(name, previous)
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
        name = registry.prompt_name(scenario)
        current = registry.production_version(name)
        if current is None:
            raise LabError(f"rollback {scenario}", f"prompt {name} has no production version")
        pv = mlflow.genai.load_prompt(f"prompts:/{name}/{current}")
        previous = (pv.tags or {}).get(registry.PREVIOUS) or ""
        if not previous:
            raise LabError(f"rollback {scenario}", f"version {current} was the first production version",
                           "there is nothing earlier to roll back to")
        if not registry.bundle_path(scenario, int(previous)).is_file():
            raise LabError(f"rollback {scenario}", f"the bundle of version {previous} is not on this machine",
                           "nothing was changed; roll back where it was exported, or export that arm again")
        registry.move_alias(name, int(previous))  # the commit point
        registry.sync_production(scenario, int(previous))
        return current, int(previous)


# -- the steps the studio's Library, Experiments and Ship areas call (the CLI mirrors them) ----------


def library_table(experiments: ExperimentLibrary, refused: list[LabError] | None = None) -> list[dict[str, Any]]:
    """One row per variant: id, scenario, style, current version, last saved (when, by whom), the arms it is in.

    ``arms`` names each experiment that pins the variant (``key@version``), read from every valid spec. With
    ``refused`` given, a variant that cannot be read (a broken file, a link out of the library) is left out of
    the rows and its error appended there; without it, the first such error is raised.
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
    for variant_id in variants.ids():
        try:
            v = variants.load(variant_id)
            history = variants.history(v.id)
        except LabError as exc:
            if refused is None:
                raise
            refused.append(exc)
            continue
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
    original = variants.load(source)
    copy = with_changes(original, id=new_id, title=copy_title(original.title))
    variants.save(copy, base=None, author=author, note=f"cloned from {source}")
    return variants.load(new_id)


COPY_MARK = " (copy)"


def copy_title(title: str) -> str:
    """A clone's title says it is a copy, within the title limit (a long title is shortened to make room)."""
    from lab.library.freetext import TITLE_MAX

    room = TITLE_MAX - len(COPY_MARK)
    return (title if len(title) <= room else title[:room - 1].rstrip() + "…") + COPY_MARK


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
    from lab.render.backends import availability

    return availability()


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
    with tracking.reachable():
        return _versions(scenario)


def _versions(scenario: str) -> list[dict[str, Any]]:
    mlflow = tracking.configure()
    name = registry.prompt_name(scenario)
    current = registry.production_version(name)
    if current is None:
        return []
    rows = []
    from mlflow.exceptions import MlflowException

    version = 1
    while True:
        try:
            pv = mlflow.genai.load_prompt(f"prompts:/{name}/{version}")
        except MlflowException as exc:
            if tracking.no_answer(exc):  # a server that did not answer is not the end of the list
                raise
            break
        tags = pv.tags or {}
        rows.append({"version": version, "production": version == current, "arm": tags.get("arm", ""),
                     "experiment": tags.get("experiment", ""), "variant_version": tags.get("variant_version", ""),
                     "decision": tags.get("decision", ""), "forced": tags.get("forced", "false") == "true",
                     "reason": tags.get("force_reason", "")})
        version += 1
    return rows[::-1]


def bundle_path(scenario: str) -> Path | None:
    """The production bundle file for a scenario, when something was exported."""
    path = registry.bundle_dir(scenario) / "production.json"
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
