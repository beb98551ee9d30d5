"""Ship the winner: register its template in MLflow's prompt registry under alias ``production`` and
write the production bundle (everything a worker needs to render it). Roll back by moving the alias.

Export is refused when the analysis found a sample ratio mismatch or no winner, unless forced with a
reason, which is recorded on the prompt version and in the bundle.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import config, tracking
from lab.errors import LabError
from lab.experiments import ExperimentLibrary
from lab.outcomes import OutcomeStore, analyze_experiment
from lab.storage import atomic_write_text
from lab.variants import Variant, parse_variant

BUNDLE_FORMAT = "highlight-lab/production-bundle@1"
ALIAS = "production"
PREVIOUS = "highlight_lab.previous_production"


def prompt_name(scenario: str) -> str:
    return f"highlight_lab_{scenario}"


def bundle_dir(scenario: str) -> Path:
    return config.data_dir() / "exports" / scenario


@dataclass(frozen=True)
class ExportResult:
    scenario: str
    arm: str
    prompt_name: str
    prompt_version: int
    previous_version: int | None
    bundle: str
    forced: bool
    decision: str


def _production_version(name: str) -> int | None:
    mlflow = tracking.configure()
    try:
        return int(mlflow.MlflowClient().get_prompt_version_by_alias(name, ALIAS).version)
    except Exception:  # no prompt, or no alias yet
        return None


def export(experiments: ExperimentLibrary, key: str, arm: str | None = None, force: bool = False,
           reason: str | None = None, out: Path | None = None) -> ExportResult:
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

    mlflow = tracking.configure()
    name = prompt_name(exp.scenario)
    previous = _production_version(name)
    tags = {"experiment": key, "arm": chosen, "variant_version": variant.version,
            "content_hash": variant.content_hash, "decision": decision.headline, "forced": str(forced).lower(),
            PREVIOUS: str(previous) if previous is not None else ""}
    if forced:
        tags["force_reason"] = reason.strip()
    pv = mlflow.genai.register_prompt(name=name, template=variant.prompt_template,
                                      commit_message=f"{key}: {decision.headline}" + (" (forced)" if forced else ""),
                                      tags=tags)
    mlflow.genai.set_prompt_alias(name, alias=ALIAS, version=pv.version)

    bundle = make_bundle(variant, exp.key, decision, forced, reason, name, int(pv.version))
    text = json.dumps(bundle, ensure_ascii=False, indent=2)
    folder = bundle_dir(exp.scenario)
    atomic_write_text(folder / f"v{pv.version}.json", text)
    atomic_write_text(folder / "production.json", text)
    if out:
        atomic_write_text(Path(out), text)
    with mlflow.start_run(experiment_id=tracking.experiment_id(key), run_name=f"export {chosen}"):
        mlflow.set_tags({tracking.KIND: "export", tracking.ARM: chosen, "highlight_lab.forced": str(forced).lower()})
        mlflow.log_dict(bundle, "production_bundle.json")
    if exp.status in ("running", "stopped"):
        if exp.status == "running":
            experiments.set_status(key, "stopped")
        experiments.set_status(key, "shipped")
    return ExportResult(exp.scenario, chosen, name, int(pv.version), previous,
                        str(Path(out) if out else folder / "production.json"), forced, decision.headline)


def make_bundle(variant: Variant, key: str, decision: Any, forced: bool, reason: str | None, name: str,
                version: int) -> dict[str, Any]:
    d = variant.to_dict()
    return {
        "format": BUNDLE_FORMAT,
        "scenario": variant.scenario,
        "prompt": {"name": name, "version": version, "alias": ALIAS},
        "template": variant.prompt_template,
        "negative_prompt": variant.negative_prompt,
        "style": variant.style,
        "cta": d["cta"],
        "brand": d["brand"],
        "effects": d["effects"],
        "generation": d["generation"],
        "degrade": d["degrade"],
        "variant": {"id": variant.id, "version": variant.version, "content_hash": variant.content_hash,
                    "definition": d},
        "experiment": key,
        "decision": {"action": decision.action, "arm": decision.arm, "headline": decision.headline,
                     "reasons": list(decision.reasons)},
        "forced": forced,
        "force_reason": reason.strip() if forced and reason else None,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def variant_from_bundle(bundle: dict[str, Any]) -> Variant:
    """The exact variant a bundle ships, checked against its content hash."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise LabError("bundle", f"format {bundle.get('format')!r} is not {BUNDLE_FORMAT}")
    variant = parse_variant(bundle["variant"]["definition"], "bundle")
    if variant.content_hash != bundle["variant"]["content_hash"]:
        raise LabError("bundle", "its variant does not match its content hash", "re-export it")
    return variant


def rollback(scenario: str) -> tuple[int, int]:
    """Move ``production`` back to the version it pointed at before the last export; returns (from, to)."""
    mlflow = tracking.configure()
    name = prompt_name(scenario)
    current = _production_version(name)
    if current is None:
        raise LabError(f"rollback {scenario}", f"prompt {name} has no production version")
    pv = mlflow.genai.load_prompt(f"prompts:/{name}/{current}")
    previous = (pv.tags or {}).get(PREVIOUS) or ""
    if not previous:
        raise LabError(f"rollback {scenario}", f"version {current} was the first production version",
                       "there is nothing earlier to roll back to")
    mlflow.genai.set_prompt_alias(name, alias=ALIAS, version=int(previous))
    folder = bundle_dir(scenario)
    saved = folder / f"v{previous}.json"
    if saved.exists():
        atomic_write_text(folder / "production.json", saved.read_text(encoding="utf-8"))
    return current, int(previous)
