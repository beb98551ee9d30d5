"""MLflow tracking: an experiment per A/B test, a run per arm, a run per analysis and per export.

Embedded by default (a sqlite store and an artifact folder under the lab's data folder, no server);
``MLFLOW_TRACKING_URI`` points it at a team's server instead. Nothing personal is logged: outcome files
keep only salted hashes of user ids, and names never reach MLflow.

A server that does not answer makes a command fail within seconds, not minutes: ``configure`` bounds MLflow's
own HTTP timeout and retries from ``lab.config``, and ``reachable`` checks the server first and turns a
connection failure into one ``MlflowUnavailable`` line.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from lab import config
from lab.errors import LabError

KIND = "highlight_lab.kind"
ARM = "highlight_lab.arm"
# MLflow collects usage telemetry unless told not to; the lab calls no third-party service.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def tracking_uri() -> str:
    return config.tracking_uri()


def is_embedded() -> bool:
    return tracking_uri().startswith("sqlite:")


class MlflowUnavailable(LabError):
    """The MLflow server did not answer within the lab's timeout and retries; local state is untouched."""

    def __init__(self, uri: str, command: str = "the command") -> None:
        self.uri = uri
        super().__init__("", f"MLflow at {uri} is not answering",
                         f"nothing local was lost; run {command} again when it is back")

    def rerun(self, command: str) -> MlflowUnavailable:
        """The same error, naming the command to run again (the CLI knows it)."""
        return MlflowUnavailable(self.uri, command)


def shown_uri() -> str:
    """The tracking URI without any user or password in it, fit for an error message."""
    parts = urllib.parse.urlsplit(tracking_uri())
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def attempt_timeout_s() -> int:
    """Seconds one HTTP attempt may wait: ``HIGHLIGHT_LAB_MLFLOW_TIMEOUT`` bounds a whole MLflow call, its
    retries included, so a server that accepts requests and never answers them costs that long, not a multiple."""
    return max(1, config.mlflow_timeout_s() // (config.mlflow_retries() + 1))


def _bound_http() -> None:
    """MLflow reads these on every request; by default it retries for minutes, the lab for seconds."""
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(attempt_timeout_s())
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(config.mlflow_retries())
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = str(config.mlflow_backoff())
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"] = "0"


def answers() -> bool:
    """Whether the tracking server answers at all (any HTTP status counts); always True for the embedded store."""
    uri = tracking_uri()
    if not uri.startswith(("http://", "https://")):
        return True
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=config.mlflow_ping_s()):
            return True
    except urllib.error.HTTPError:
        return True  # it answered, if only with an error status
    except (urllib.error.URLError, OSError, ValueError):
        return False


def no_answer(exc: BaseException) -> bool:
    """Whether an error came from a request the server never answered (timed out, connection lost or refused),
    looking through the exceptions it was raised from: MLflow wraps those in a plain ``MlflowException``."""
    from requests import ConnectionError as LostConnection
    from requests import Timeout

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (Timeout, LostConnection, TimeoutError, ConnectionError)):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_server() -> bool:
    return tracking_uri().startswith(("http://", "https://"))


_depth = threading.local()
F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def reachable() -> Iterator[None]:
    """Check the server before a step and turn a lost connection during it into ``MlflowUnavailable``.

    Nested uses check once (the outermost). A request that timed out is ``MlflowUnavailable`` even when the
    server still answers its health check (a half-alive server); any other MLflow error is re-raised.
    """
    outer = getattr(_depth, "n", 0) == 0
    if outer and not answers():  # before importing mlflow: a server that is down costs no import time
        raise MlflowUnavailable(shown_uri())
    from mlflow.exceptions import MlflowException
    from requests import RequestException

    _depth.n = getattr(_depth, "n", 0) + 1
    try:
        yield
    except (MlflowException, RequestException, OSError) as exc:
        if outer and _is_server() and (no_answer(exc) or not answers()):
            raise MlflowUnavailable(shown_uri()) from None
        raise
    finally:
        _depth.n -= 1


def guarded(fn: F) -> F:
    """Run ``fn`` inside ``reachable()``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reachable():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def configure() -> Any:
    """Point MLflow (tracking and prompt registry) at the lab's store, with bounded HTTP timeouts and retries;
    returns the mlflow module."""
    _bound_http()
    import mlflow

    config.data_dir().mkdir(parents=True, exist_ok=True)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    # mlflow.set_registry_uri also exports MLFLOW_REGISTRY_URI; a value the lab derived from the tracking URI
    # must not stick when the tracking URI changes (a server coming back on another port, a test).
    global _derived_registry
    if _derived_registry is not None and os.environ.get(config.ENV_REGISTRY_URI) == _derived_registry:
        del os.environ[config.ENV_REGISTRY_URI]
    explicit = os.environ.get(config.ENV_REGISTRY_URI)
    registry = config.registry_uri()
    mlflow.set_registry_uri(registry)
    _derived_registry = None if explicit else registry
    return mlflow


_derived_registry: str | None = None


def experiment_name(key: str) -> str:
    return f"highlight-lab/{key}"


@guarded
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


@guarded
def arm_runs(key: str) -> dict[str, str]:
    """Run id per arm variant for an experiment (only arms already tracked)."""
    mlflow = configure()
    runs = mlflow.search_runs(experiment_ids=[experiment_id(key)], filter_string=f"tags.`{KIND}` = 'arm'",
                              output_format="list")
    return {r.data.tags[ARM]: r.info.run_id for r in runs}


# Renders a variant's preview into a folder and returns the files to log; the experiments workflow passes
# one in, so tracking (infrastructure) never imports the renderer (a feature).
PreviewMaker = Callable[[Any, Path], list[str]]


@contextlib.contextmanager
def run(experiment: str, name: str, tags: dict[str, str]) -> Iterator[tuple[Any, str]]:
    """A run that ends FINISHED, or FAILED when the block raises (as far as the server still answers).

    Through the client, not MLflow's fluent active-run stack, so a run the server could not end never stays
    "active" in this process.
    """
    mlflow = configure()
    client = mlflow.MlflowClient()
    run_id = client.create_run(experiment, tags=tags, run_name=name).info.run_id
    try:
        yield client, run_id
    except BaseException as exc:
        from mlflow.exceptions import MlflowException
        from requests import RequestException

        if not no_answer(exc):  # a server that let a request time out would make this one wait as long again
            with contextlib.suppress(MlflowException, RequestException, OSError):
                client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")


@guarded
def track_arms(exp: Any, variants: list[Any], preview: PreviewMaker | None = None) -> dict[str, str]:
    """Make sure each arm has a run with its params, variant YAML and (optionally) a rendered preview."""
    from mlflow.entities import Param

    eid = experiment_id(exp.key)
    existing = arm_runs(exp.key)
    for arm, variant in zip(exp.arms, variants, strict=True):
        if arm.variant in existing:
            continue
        tags = {KIND: "arm", ARM: arm.variant, "highlight_lab.weight": str(arm.weight)}
        with run(eid, arm.variant, tags) as (client, run_id):
            client.log_batch(run_id, params=[Param(k, v) for k, v in variant_params(variant).items()])
            with tempfile.TemporaryDirectory() as tmp:
                yaml_path = Path(tmp) / f"{variant.id}.yaml"
                yaml_path.write_text(variant.to_yaml(), encoding="utf-8")
                client.log_artifact(run_id, str(yaml_path), artifact_path="variant")
                if preview is not None:
                    for path in preview(variant, Path(tmp)):
                        client.log_artifact(run_id, path, artifact_path="preview")
        existing[arm.variant] = run_id
    return existing


@guarded
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


@guarded
def log_analysis(key: str, result: Any, report_html: str, inputs: dict[str, Any]) -> str:
    """One run per analysis: the JSON result, the HTML report, the decision as tags."""
    from mlflow.entities import Metric, Param

    tags = {KIND: "analysis", "highlight_lab.decision": result.decision.headline,
            "highlight_lab.action": result.decision.action}
    with run(experiment_id(key), "analysis", tags) as (client, run_id):
        params = {"unit": result.unit, "mode": result.mode, "alpha": result.alpha, "correction": result.correction,
                  "control": result.control}
        # A warehouse source as ``describe()`` gives it: the URL without user or password, and the table names.
        params |= {k: inputs[k] for k in ("source", "impressions", "clicks") if k in inputs}
        metrics = {"srm_p_value": result.srm.p_value, "omnibus_p_value": result.omnibus.p_value}
        for c in result.comparisons:
            metrics[f"abs_diff.{c.variant}"] = c.abs_diff
            if c.p_value_adjusted is not None:  # withheld without variance: no metric rather than a made-up one
                metrics[f"p_adjusted.{c.variant}"] = c.p_value_adjusted
            if c.cuped is not None:
                params["cuped"] = "true"
                metrics[f"cuped_abs_diff.{c.variant}"] = c.cuped.abs_diff
                metrics[f"cuped_variance_reduction.{c.variant}"] = c.cuped.variance_reduction
                if c.cuped.p_value_adjusted is not None:
                    metrics[f"cuped_p_adjusted.{c.variant}"] = c.cuped.p_value_adjusted
        now = int(time.time() * 1000)
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()],
                         metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])
        data = result.to_dict()
        data["input"] = inputs
        client.log_dict(run_id, data, "analysis.json")
        client.log_text(run_id, report_html, "report.html")
    return run_id
