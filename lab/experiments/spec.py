"""Experiment specs (``experiments/<key>.yaml``): which pinned variants compete, with what traffic.

The planned sample size is not written in the spec: it is derived from the spec's ``plan`` block
(baseline CTR and the smallest lift worth detecting) by the power calculator, so it cannot drift.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from analysis.options import MODES
from lab.errors import ExperimentError, LabError, excerpt
from lab.library.events import ID_MAX, SCENARIOS
from lab.library.freetext import HYPOTHESIS_MAX, check_free_text
from lab.library.schema import ID_RE, Fields, check_id, load_yaml, read_text
from lab.library.variant import Variant
from lab.library.versions import VariantLibrary
from lab.storage import atomic_write_text, file_lock

if TYPE_CHECKING:  # a spec with `source:` imports it; listing specs stays light
    from analysis.warehouse.source import WarehouseSource

STATUSES = ("draft", "running", "stopped", "shipped")
SPEC_FIELDS = ("key", "hypothesis", "scenario", "status", "arms", "primary_metric", "guardrails", "alpha", "mode",
               "seed", "plan", "segments", "source", "cuped")
NEXT_STATUS = {"draft": ("running",), "running": ("stopped",), "stopped": ("running", "shipped"), "shipped": ()}
VERSION_RE = re.compile(r"[0-9a-f]{12}")  # fullmatch, like ID_RE
WEIGHT_TOLERANCE = 1e-6
SEGMENT_RE = re.compile(r"[a-z_][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class Arm:
    variant: str
    version: str
    weight: float


@dataclass(frozen=True)
class SamplePlan:
    baseline: float
    mde_rel: float
    power: float = 0.8


@dataclass(frozen=True)
class Experiment:
    key: str
    hypothesis: str
    scenario: str
    arms: tuple[Arm, ...]
    plan: SamplePlan
    primary_metric: str = "ctr"
    guardrails: tuple[str, ...] = ()
    alpha: float = 0.05
    mode: str = "fixed"
    seed: str = ""  # hashing seed for assignment; the key when empty
    status: str = "draft"
    segments: tuple[str, ...] = ()  # columns of the outcome files the store keeps, to break results down by
    source: WarehouseSource | None = None  # outcome tables in a database, analysed there instead of the store
    cuped: bool = False  # regression-adjust with the pre_clicks / pre_impressions columns

    @property
    def hash_seed(self) -> str:
        return self.seed or self.key

    @property
    def arm_ids(self) -> list[str]:
        return [a.variant for a in self.arms]

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(a.weight for a in self.arms)

    @property
    def control(self) -> str:
        return self.arms[0].variant

    def assign(self, user_id: str) -> tuple[str | None, str | None, float]:
        """The arm a user gets (None outside coverage), its pinned version, and the user's hash."""
        from lab.experiments.assignment import assign

        arm, h = assign(self.hash_seed, user_id, self.arm_ids, self.weights)
        version = next((a.version for a in self.arms if a.variant == arm), None)
        return arm, version, h

    def planned_n_per_arm(self) -> int:
        from analysis.power import power_plan as power_plan

        return power_plan(self.plan.baseline, mde_rel=self.plan.mde_rel, alpha=self.alpha, power=self.plan.power,
                          arms=len(self.arms)).n_per_arm

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "hypothesis": self.hypothesis,
            "scenario": self.scenario,
            "status": self.status,
            "arms": [{"variant": a.variant, "version": a.version, "weight": a.weight} for a in self.arms],
            "primary_metric": self.primary_metric,
            "guardrails": list(self.guardrails),
            "alpha": self.alpha,
            "mode": self.mode,
            "seed": self.seed,
            "plan": {"baseline": self.plan.baseline, "mde_rel": self.plan.mde_rel, "power": self.plan.power},
        } | ({"segments": list(self.segments)} if self.segments else {}) | (
            {"source": {"url": self.source.url, "impressions": self.source.impressions,
                        "clicks": self.source.clicks}} if self.source else {}) | ({"cuped": True} if self.cuped else {})


def parse_arm_values(text: str, where: str, low: float, high: float, example: str,
                     include_low: bool = True) -> dict[str, float]:
    """``ARM=VALUE,ARM=VALUE``: the one parser for every such list (``--ctr``, ``--arms``, the studio's true CTRs).

    Each part needs a name and a finite number in ``[low, high]`` (``(low, high]`` without ``include_low``); no arm
    twice, no empty part. Errors quote an excerpt of the bad part and give ``example``.
    """
    out: dict[str, float] = {}
    parts = [p.strip() for p in (text or "").split(",")]
    if not any(parts):
        raise LabError(where, "is empty", f"e.g. {example}")
    span = f"{'from' if include_low else 'above'} {low:g} {'to' if include_low else 'up to'} {high:g}"
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name or not math.isfinite(number):
            raise LabError(where, f"{excerpt(part)} is not ARM=NUMBER", f"e.g. {example}")
        if not (low <= number <= high) or (not include_low and number == low):
            raise LabError(where, f"{excerpt(part)}: the number must be {span}", f"e.g. {example}")
        if name in out:
            raise LabError(where, f"arm {excerpt(name)} is given twice", "give each arm once")
        out[name] = number
    return out


def parse_experiment(data: Any, where: str, variants: VariantLibrary) -> Experiment:
    """Validate a spec against the schema and the variant library; errors name the key."""
    fields = Fields(data, where, error=ExperimentError, schema="experiment")
    fields.known(SPEC_FIELDS)

    def need(name: str) -> Any:
        if fields.get(name) in (None, ""):
            raise ExperimentError(f"{where}: {name}", "is required")
        return data[name]

    key = fields.str("key")
    if not ID_RE.fullmatch(key):
        raise ExperimentError(f"{where}: key", f"{excerpt(key)} is not a valid key",
                              "use lower-case letters, digits, '-' and '_'")
    need("hypothesis")
    hypothesis = check_free_text(fields.str("hypothesis", max_len=HYPOTHESIS_MAX), f"{where}: hypothesis",
                                 HYPOTHESIS_MAX, ExperimentError, multiline=True)
    scenario = fields.choice("scenario", SCENARIOS)
    status = fields.choice("status", STATUSES, default="draft")
    mode = fields.choice("mode", MODES, default="fixed")
    alpha = fields.get("alpha", 0.05)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 0.5:
        raise ExperimentError(f"{where}: alpha", f"must be a number between 0 and 0.5, got {excerpt(alpha)}")
    metric = fields.get("primary_metric", "ctr")
    if metric != "ctr":
        raise ExperimentError(f"{where}: primary_metric", f"{excerpt(metric)} is not supported", "use ctr")
    guardrails = fields.get("guardrails") or []
    if not isinstance(guardrails, list) or not all(isinstance(g, str) and re.fullmatch(r"[a-z_]+", g)
                                                   for g in guardrails):
        raise ExperimentError(f"{where}: guardrails", "must be a list of count column names such as dismissals")

    arms = _parse_arms(need("arms"), where, scenario, variants)
    plan = _parse_plan(need("plan"), where)
    seed = fields.get("seed") or ""
    if isinstance(seed, int) and not isinstance(seed, bool) and abs(seed) < 10**18:
        seed = str(seed)
    seed = check_free_text(seed, f"{where}: seed", ID_MAX, ExperimentError)
    segments = fields.get("segments") or []
    reserved = {"user_id", "variant", "timestamp", "clicked", "impressions", "clicks", "event_id", "impression_id",
                *guardrails}
    if not isinstance(segments, list) or not all(isinstance(c, str) and SEGMENT_RE.fullmatch(c) and c not in reserved
                                                 for c in segments) or len(set(segments)) != len(segments):
        raise ExperimentError(f"{where}: segments", "must be a list of distinct column names such as platform",
                              "lower-case letters, digits and '_', not an outcome or guardrail column")
    source, cuped = parse_source(fields.get("source"), where), _flag(fields.get("cuped", False), f"{where}: cuped")
    fields.done()
    return Experiment(key=key, hypothesis=hypothesis, scenario=scenario, arms=arms, plan=plan,
                      primary_metric=metric, guardrails=tuple(guardrails), alpha=float(alpha), mode=mode,
                      seed=str(seed), status=status, segments=tuple(segments), source=source, cuped=cuped)


def _parse_arms(raw_arms: Any, where: str, scenario: str, variants: VariantLibrary) -> tuple[Arm, ...]:
    """A spec's arms: each a saved version of a known variant of the scenario, distinct, weights summing to 1."""
    if not isinstance(raw_arms, list):
        raise ExperimentError(f"{where}: arms", "must be a list of {variant, version, weight}")
    if len(raw_arms) < 2:
        raise ExperimentError(f"{where}: arms", f"has {len(raw_arms)} arm; an A/B test needs at least 2",
                              "add a control arm to compare against")
    arms = []
    for i, raw in enumerate(raw_arms):
        loc = f"{where}: arms[{i}]"
        if not isinstance(raw, dict) or set(raw) - {"variant", "version", "weight"}:
            raise ExperimentError(loc, "must have exactly variant, version and weight")
        vid = raw.get("variant")
        if not vid:
            raise ExperimentError(f"{loc}.variant", "is required")
        version = raw.get("version")
        if not version:
            raise ExperimentError(f"{loc}.version", f"variant {excerpt(vid)} is not pinned",
                                  f"pin a saved version: `highlight-lab variants history {vid}` lists them")
        version = version if isinstance(version, str) else excerpt(version)  # str() fails past 4300 digits
        if not VERSION_RE.fullmatch(version):
            raise ExperimentError(f"{loc}.version", f"{excerpt(version)} is not a 12-hex-digit version hash")
        if vid not in variants.ids():
            raise ExperimentError(f"{loc}.variant", f"unknown variant {excerpt(vid)}",
                                  f"known variants: {', '.join(variants.ids())}")
        try:
            pinned = variants.load_version(vid, version)
        except LabError:
            raise ExperimentError(f"{loc}.version", f"variant {excerpt(vid)} has no saved version {version}",
                                  f"see `highlight-lab variants history {vid}`") from None
        if pinned.scenario != scenario:
            raise ExperimentError(f"{loc}.variant", f"{excerpt(vid)} is a {pinned.scenario} variant",
                                  f"this experiment tests {scenario} events")
        weight = raw.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1:
            raise ExperimentError(f"{loc}.weight", f"must be a number in (0, 1], got {excerpt(weight)}")
        arms.append(Arm(vid, version, float(weight)))
    ids = [a.variant for a in arms]
    if len(set(ids)) != len(ids):
        dup = next(v for v in ids if ids.count(v) > 1)
        raise ExperimentError(f"{where}: arms", f"variant {excerpt(dup)} appears twice",
                              "each arm is a different variant")
    total = sum(a.weight for a in arms)
    if not math.isclose(total, 1.0, abs_tol=WEIGHT_TOLERANCE):
        raise ExperimentError(f"{where}: arms", f"weights sum to {total:g}, not 1",
                              "make the traffic weights add up to exactly 1")
    return tuple(arms)


def _parse_plan(plan_raw: Any, where: str) -> SamplePlan:
    """A spec's sample-size plan: baseline CTR, the relative lift worth detecting and the power."""
    if not isinstance(plan_raw, dict) or set(plan_raw) - {"baseline", "mde_rel", "power"}:
        raise ExperimentError(f"{where}: plan", "must have baseline, mde_rel and optionally power")
    try:
        plan = SamplePlan(float(plan_raw["baseline"]), float(plan_raw["mde_rel"]), float(plan_raw.get("power", 0.8)))
    except (KeyError, TypeError, ValueError):
        raise ExperimentError(f"{where}: plan", "needs numbers for baseline and mde_rel",
                              "e.g. plan: {baseline: 0.23, mde_rel: 0.1}") from None
    if not (0 < plan.baseline < 1 and plan.mde_rel > 0 and plan.baseline * (1 + plan.mde_rel) < 1
            and 0 < plan.power < 1):
        raise ExperimentError(f"{where}: plan", "baseline must be in (0, 1), mde_rel > 0 with baseline x (1 + "
                              "mde_rel) < 1, and power in (0, 1)")
    return plan


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ExperimentError(where, f"must be true or false, got {excerpt(value)}")
    return value


def parse_source(raw: Any, where: str) -> WarehouseSource | None:
    """``source: {url, impressions, clicks}``: outcome tables in a database. A password never sits in the spec
    (a file under git): it comes from the engine's environment, such as ``PGPASSWORD``."""
    if raw is None:
        return None
    from analysis.ingest.errors import OutcomeError
    from analysis.warehouse.source import WarehouseSource, has_password

    if not isinstance(raw, dict) or set(raw) - {"url", "impressions", "clicks"} or not isinstance(raw.get("url"), str):
        raise ExperimentError(f"{where}: source", "must be {url, impressions, clicks} with url a database URL",
                              "e.g. source: {url: 'postgresql://lab@db:5432/analytics', impressions: impressions, "
                              "clicks: clicks}")
    tables = {k: raw.get(k, k) for k in ("impressions", "clicks")}
    if not all(isinstance(v, str) for v in tables.values()):
        raise ExperimentError(f"{where}: source", "impressions and clicks must be table names")
    source = WarehouseSource(raw["url"], tables["impressions"], tables["clicks"])
    if has_password(source.url):
        raise ExperimentError(f"{where}: source.url", "holds a password, and a spec is a file under version control",
                              "drop it from the URL and set PGPASSWORD (or the engine's own variable) where the "
                              "lab runs")
    try:
        source.check()
    except OutcomeError as exc:
        raise ExperimentError(f"{where}: source", str(exc)) from None
    return source


class ExperimentLibrary:
    """``experiments/<key>.yaml`` files, validated against the variant library."""

    def __init__(self, root: Path | str, variants: VariantLibrary) -> None:
        self.root = Path(root)
        self.variants = variants

    def path(self, key: str) -> Path:
        return self.root / f"{check_id(key, f'experiment {excerpt(key)}', ExperimentError)}.yaml"

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.yaml"))

    def load_file(self, path: Path) -> Experiment:
        data = load_yaml(read_text(Path(path), ExperimentError), str(path), ExperimentError)
        exp = parse_experiment(data, str(path), self.variants)
        if Path(path).stem != exp.key:
            raise ExperimentError(str(path), f"holds key {excerpt(exp.key)}", f"rename the file to {exp.key}.yaml")
        return exp

    def load(self, key: str) -> Experiment:
        if not self.path(key).exists():
            raise ExperimentError(f"experiment {excerpt(key)}", f"not found in {self.root}",
                                  f"known experiments: {', '.join(self.keys()) or 'none'}")
        return self.load_file(self.path(key))

    def pinned_variants(self, exp: Experiment) -> list[Variant]:
        return [self.variants.load_version(a.variant, a.version) for a in exp.arms]

    def set_status(self, key: str, status: str) -> Experiment:
        """Move along draft -> running -> stopped -> shipped (stopped may resume running)."""
        with file_lock(self.root / ".lock"):
            exp = self.load(key)
            if status not in NEXT_STATUS[exp.status]:
                allowed = ", ".join(NEXT_STATUS[exp.status]) or "nothing (it is final)"
                raise ExperimentError(f"experiment {excerpt(key)}", f"cannot go from {exp.status} to {status}",
                                      f"from {exp.status} it can go to {allowed}")
            data = exp.to_dict()
            data["status"] = status
            atomic_write_text(self.path(key), yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
            return self.load(key)
