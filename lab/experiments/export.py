"""What shipping is made of: the prompt registry entry (alias ``production``) and the production bundle
(everything a worker needs to render the winner). The decision to ship lives in ``workflow.export``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import config
from lab.errors import LabError
from lab.experiments import tracking
from lab.library.schema import parse_variant
from lab.library.variant import Variant

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


def production_version(name: str) -> int | None:
    """The version the ``production`` alias points at; None only when the prompt or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    mlflow = tracking.configure()
    try:
        return int(mlflow.MlflowClient().get_prompt_version_by_alias(name, ALIAS).version)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(exc).lower():
            return None
        raise


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
