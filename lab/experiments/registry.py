"""What shipping is made of: the prompt registry entry (alias ``production``) and the production bundle
(everything a worker needs to render the winner). The decision to ship lives in ``workflow.export``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import config
from lab.errors import LabError
from lab.experiments import tracking
from lab.library.schema import parse_variant
from lab.library.variant import Variant
from lab.storage import atomic_write_text

BUNDLE_FORMAT = "highlight-lab/production-bundle@1"
ALIAS = "production"
PREVIOUS = "highlight_lab.previous_production"


def prompt_name(scenario: str) -> str:
    return f"highlight_lab_{scenario}"


def bundle_dir(scenario: str) -> Path:
    return config.exports_dir(scenario)


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


def _not_found(exc: Exception) -> bool:
    """Only these mean "no such prompt or alias"; a server that does not answer is something else."""
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or (
        code == "INVALID_PARAMETER_VALUE" and "not found" in str(exc).lower())


@tracking.guarded
def production_version(name: str) -> int | None:
    """The version the ``production`` alias points at; None only when the prompt or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    mlflow = tracking.configure()
    try:
        return int(mlflow.MlflowClient().get_prompt_version_by_alias(name, ALIAS).version)
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise


def bundle_path(scenario: str, version: int) -> Path:
    """Every exported bundle is kept under its prompt version; ``production.json`` is a copy of one of them."""
    return bundle_dir(scenario) / f"v{int(version)}.json"


def write_bundle(scenario: str, version: int, bundle: dict[str, Any]) -> Path:
    """Write the bundle under its version's name: harmless if the export stops before the alias moves."""
    path = bundle_path(scenario, version)
    atomic_write_text(path, json.dumps(bundle, ensure_ascii=False, indent=2))
    return path


@tracking.guarded
def move_alias(name: str, version: int | None) -> None:
    """Point ``production`` at ``version`` (remove it for None): the commit point of an export or rollback."""
    mlflow = tracking.configure()
    if version is None:
        mlflow.MlflowClient().delete_prompt_alias(name, ALIAS)
    else:
        mlflow.MlflowClient().set_prompt_alias(name, ALIAS, int(version))


def sync_production(scenario: str, version: int | None) -> Path:
    """Make ``production.json`` the saved bundle of ``version`` (the alias's), replaced atomically; removed for
    None. It is derived from the alias, never written on its own."""
    target = bundle_dir(scenario) / "production.json"
    if version is None:
        target.unlink(missing_ok=True)
        return target
    source = bundle_path(scenario, version)
    if not source.is_file():
        raise LabError(f"exports/{scenario}", f"the bundle of version {version} ({source.name}) is not here",
                       "export that version again on this machine")
    text = source.read_text(encoding="utf-8")
    if not (target.is_file() and target.read_text(encoding="utf-8") == text):
        atomic_write_text(target, text)
    return target


def load_bundle(scenario: str) -> dict[str, Any] | None:
    """The bundle in production, verified against the alias (and ``production.json`` repaired if an interrupted
    export left it behind); None when nothing is in production."""
    version = production_version(prompt_name(scenario))
    path = sync_production(scenario, version)
    return json.loads(path.read_text(encoding="utf-8")) if version is not None else None


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
