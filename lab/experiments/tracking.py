"""MLflow tracking: an experiment per A/B test, a run per arm, a run per analysis and per export.

Embedded by default (a sqlite store and an artifact folder under the lab's data folder, no server);
``MLFLOW_TRACKING_URI`` points it at a team's server instead. Nothing personal is logged: outcome files
keep only salted hashes of user ids, and names never reach MLflow.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import config

KIND = "highlight_lab.kind"
ARM = "highlight_lab.arm"
# MLflow collects usage telemetry unless told not to; the lab calls no third-party service.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def tracking_uri() -> str:
    return config.tracking_uri()


def is_embedded() -> bool:
    return tracking_uri().startswith("sqlite:")


def configure() -> Any:
    """Point MLflow (tracking and prompt registry) at the lab's store; returns the mlflow module."""
    import mlflow

    config.data_dir().mkdir(parents=True, exist_ok=True)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(config.registry_uri())
    return mlflow


def experiment_name(key: str) -> str:
    return f"highlight-lab/{key}"


def experiment_id(key: str) -> str:
    mlflow = configure()
    name = experiment_name(key)
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = config.mlflow_artifacts_dir(key).as_uri() if is_embedded() else None
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.create_experiment(name, artifact_location=location, tags={KIND: "ab-test"})
    except MlflowException as exc:  # created by a concurrent process in between
        found = mlflow.get_experiment_by_name(name)
        if found is None or exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return found.experiment_id


# -- runs --------------------------------------------------------------------------------


def variant_params(variant: Any) -> dict[str, str]:
    """What an arm shows, flattened for MLflow params (all non-personal)."""
    d = variant.to_dict()
    params = {
        "variant": variant.id,
        "version": variant.version,
        "content_hash": variant.content_hash,
        "title": variant.title,
        "scenario": variant.scenario,
        "style": variant.style,
        "prompt_template": variant.prompt_template,
        "negative_prompt": variant.negative_prompt,
        "degrade": json.dumps(d["degrade"]),
    }
    for tag, text in variant.cta.items():
        params[f"cta.{tag}"] = text
    for group in ("brand", "effects", "generation"):
        for k, v in d[group].items():
            params[f"{group}.{k}"] = str(v)
    return params


def arm_runs(key: str) -> dict[str, str]:
    """Run id per arm variant for an experiment (only arms already tracked)."""
    mlflow = configure()
    runs = mlflow.search_runs(experiment_ids=[experiment_id(key)], filter_string=f"tags.`{KIND}` = 'arm'",
                              output_format="list")
    return {r.data.tags[ARM]: r.info.run_id for r in runs}


# Renders a variant's preview into a folder and returns the files to log; the experiments workflow passes
# one in, so tracking (infrastructure) never imports the renderer (a feature).
PreviewMaker = Callable[[Any, Path], list[str]]


def track_arms(exp: Any, variants: list[Any], preview: PreviewMaker | None = None) -> dict[str, str]:
    """Make sure each arm has a run with its params, variant YAML and (optionally) a rendered preview."""
    mlflow = configure()
    eid = experiment_id(exp.key)
    existing = arm_runs(exp.key)
    for arm, variant in zip(exp.arms, variants, strict=True):
        if arm.variant in existing:
            continue
        with mlflow.start_run(experiment_id=eid, run_name=arm.variant) as run:
            mlflow.set_tags({KIND: "arm", ARM: arm.variant, "highlight_lab.weight": str(arm.weight)})
            mlflow.log_params(variant_params(variant))
            with tempfile.TemporaryDirectory() as tmp:
                yaml_path = Path(tmp) / f"{variant.id}.yaml"
                yaml_path.write_text(variant.to_yaml(), encoding="utf-8")
                mlflow.log_artifact(str(yaml_path), artifact_path="variant")
                if preview is not None:
                    for path in preview(variant, Path(tmp)):
                        mlflow.log_artifact(path, artifact_path="preview")
            existing[arm.variant] = run.info.run_id
    return existing


def log_arm_metrics(key: str, result: Any, step: int) -> None:
    """Impressions, clicks, CTR and its interval per arm, at ``step`` (one step per ingestion)."""
    mlflow = configure()
    runs = arm_runs(key)
    client = mlflow.MlflowClient()
    for v in result.variants:
        run_id = runs.get(v.variant)
        if run_id is None:
            continue
        for name, value in (("impressions", v.impressions), ("clicks", v.clicks), ("units", v.units),
                            ("ctr", v.ctr), ("ctr_ci_low", v.ci_low), ("ctr_ci_high", v.ci_high),
                            ("p_best", result.bayes.p_best.get(v.variant, 0.0))):
            client.log_metric(run_id, name, float(value), step=step)


def log_analysis(key: str, result: Any, report_html: str, inputs: dict[str, Any]) -> str:
    """One run per analysis: the JSON result, the HTML report, the decision as tags."""
    mlflow = configure()
    with mlflow.start_run(experiment_id=experiment_id(key), run_name="analysis") as run:
        mlflow.set_tags({KIND: "analysis", "highlight_lab.decision": result.decision.headline,
                         "highlight_lab.action": result.decision.action})
        mlflow.log_params({"unit": result.unit, "mode": result.mode, "alpha": result.alpha,
                           "correction": result.correction, "control": result.control})
        mlflow.log_metrics({"srm_p_value": result.srm.p_value, "omnibus_p_value": result.omnibus.p_value})
        for c in result.comparisons:
            mlflow.log_metrics({f"p_adjusted.{c.variant}": c.p_value_adjusted, f"abs_diff.{c.variant}": c.abs_diff})
        data = result.to_dict()
        data["input"] = inputs
        mlflow.log_dict(data, "analysis.json")
        mlflow.log_text(report_html, "report.html")
        return run.info.run_id
