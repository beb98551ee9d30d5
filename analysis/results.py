"""The typed results of ``analyze``: plain frozen dataclasses, JSON-ready through ``AnalysisResult.to_dict``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from analysis import bayesian, frequentist
from analysis.cuped import CupedResult

# What the decision policy (``analysis.decision.decide``) can conclude.
DecisionAction = Literal["ship", "keep_running", "no_difference", "invalid_srm"]


@dataclass(frozen=True)
class VariantResult:
    variant: str
    units: int
    impressions: int
    clicks: int
    ctr: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class ComparisonResult:
    variant: str
    control: str
    abs_diff: float
    abs_diff_ci_low: float | None  # None: not enough data (an arm has zero variance)
    abs_diff_ci_high: float | None
    rel_lift: float | None
    rel_lift_ci_low: float | None
    rel_lift_ci_high: float | None
    z: float
    p_value: float | None  # None: withheld (a per-user arm has zero variance)
    p_value_adjusted: float | None
    significant: bool
    chance_to_win: float | None
    segment: str | None = None
    notes: tuple[str, ...] = ()
    enough_data: bool = True  # False: an arm has zero variance; the decision never rests on this comparison
    cuped: CupedResult | None = None  # with --cuped: the regression-adjusted figures the decision uses

    @property
    def decisive(self) -> tuple[bool, float, float | None, float | None]:
        """(significant, difference, adjusted p, relative lift) the decision rests on: CUPED's when present."""
        if self.cuped is not None:
            return self.cuped.significant, self.cuped.abs_diff, self.cuped.p_value_adjusted, self.cuped.rel_lift
        return self.significant, self.abs_diff, self.p_value_adjusted, self.rel_lift


@dataclass(frozen=True)
class GuardrailResult:
    metric: str
    variant: str
    control: str
    rate: float
    control_rate: float
    p_value: float
    p_value_adjusted: float
    worse: bool


@dataclass(frozen=True)
class HeterogeneityResult:
    variant: str
    q: float
    df: int
    p_value: float
    differs: bool


@dataclass(frozen=True)
class Decision:
    action: DecisionAction
    arm: str | None
    more_units_per_arm: int | None
    reasons: tuple[str, ...]
    unit: str = "impression"
    detail: str | None = None  # for keep_running: "no data yet", "not enough data", "1,000 of 6,582 users per arm"

    @property
    def headline(self) -> str:
        if self.action == "ship":
            return f"ship {self.arm}"
        if self.action == "keep_running":
            if self.detail:
                return f"keep running ({self.detail})"
            if self.more_units_per_arm is None:
                return "keep running"
            return f"keep running (≈{self.more_units_per_arm:,} more {self.unit}s per arm)"
        return {"no_difference": "no meaningful difference", "invalid_srm": "invalid (SRM)"}[self.action]


@dataclass(frozen=True)
class AnalysisResult:
    unit: str
    variance_method: str
    mode: str
    alpha: float
    correction: str
    control: str
    variants: tuple[VariantResult, ...]
    omnibus: frequentist.ChiSquare
    comparisons: tuple[ComparisonResult, ...]
    bayes: bayesian.BestArm
    srm: frequentist.SampleRatio
    guardrails: tuple[GuardrailResult, ...]
    segments: tuple[ComparisonResult, ...]
    heterogeneity: tuple[HeterogeneityResult, ...]
    decision: Decision
    notes: tuple[str, ...]
    sequential_tuning: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: no NaN or Infinity anywhere (checked)."""
        data = asdict(self)
        data["decision"]["headline"] = self.decision.headline
        data["bayes"] = {"p_best": self.bayes.p_best, "expected_loss": self.bayes.expected_loss,
                         "draws": self.bayes.draws, "model": self.bayes.model}
        data["srm"] = {"chi2": self.srm.chi2, "p_value": self.srm.p_value, "ok": self.srm.ok,
                       "observed": list(self.srm.observed), "expected": list(self.srm.expected)}
        _check_finite(data, "result")
        return data


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} is {value}: a degenerate case was not handled")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")
