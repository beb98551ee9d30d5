"""One entry point, ``analyze``: sufficient statistics in, a typed result and a decision out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy import stats as sps

from analysis import bayesian, frequentist, sequential
from analysis.power import plan as power_plan
from analysis.statistics import ProportionStatistic, Statistic

CORRECTIONS = ("holm", "bh", "none")
MODES = ("fixed", "sequential")


@dataclass(frozen=True)
class ArmData:
    """One arm's data: the CTR statistic and lower-is-better guardrail counts (per impression)."""

    variant: str
    stat: Statistic
    guardrails: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    control: str | None = None
    alpha: float = 0.05
    correction: str = "holm"
    weights: tuple[float, ...] | None = None  # planned traffic split; equal when None
    mode: str = "fixed"
    sequential_tuning: float = sequential.DEFAULT_TUNING
    mde_rel: float = 0.10  # the smallest relative lift worth shipping, for "keep running" estimates
    power: float = 0.8
    draws: int = bayesian.DEFAULT_DRAWS
    seed: int = 0

    def check(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {self.correction!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mde_rel <= 0:
            raise ValueError(f"the minimum detectable lift must be positive, got {self.mde_rel}")


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
    abs_diff_ci_low: float
    abs_diff_ci_high: float
    rel_lift: float | None
    rel_lift_ci_low: float | None
    rel_lift_ci_high: float | None
    z: float
    p_value: float
    p_value_adjusted: float
    significant: bool
    chance_to_win: float | None
    segment: str | None = None
    notes: tuple[str, ...] = ()


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
    action: str  # ship | keep_running | no_difference | invalid_srm
    arm: str | None
    more_units_per_arm: int | None
    reasons: tuple[str, ...]
    unit: str = "impression"

    @property
    def headline(self) -> str:
        if self.action == "ship":
            return f"ship {self.arm}"
        if self.action == "keep_running":
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


def analyze(arms: Sequence[ArmData], options: Options = Options(),
            segments: dict[str, Sequence[ArmData]] | None = None, notes: Sequence[str] = ()) -> AnalysisResult:
    """Analyse an A/B/n test of CTR. The first arm is the control unless ``options.control`` names one."""
    options.check()
    if len(arms) < 2:
        raise ValueError(f"an experiment needs at least 2 arms, got {len(arms)}")
    names = [a.variant for a in arms]
    if len(set(names)) != len(names):
        raise ValueError(f"arm names must be unique, got {names}")
    control = options.control or names[0]
    if control not in names:
        raise ValueError(f"control {control!r} is not one of the arms: {', '.join(names)}")
    if options.weights is not None and len(options.weights) != len(arms):
        raise ValueError(f"{len(options.weights)} weights given for {len(arms)} arms")
    ordered = [a for a in arms if a.variant == control] + [a for a in arms if a.variant != control]
    notes = list(notes)
    unit = ordered[0].stat.unit
    variance_method = (
        "binomial over impressions (pooled two-proportion z-test)" if unit == "impression"
        else "delta method for a per-user ratio metric (user = unit of randomisation)"
    )

    variants = tuple(_variant_result(a, options.alpha) for a in arms)
    for v in variants:
        if v.impressions == 0:
            notes.append(f"{v.variant} has no impressions")
    omnibus = frequentist.omnibus_chi2([a.stat for a in ordered])
    comparisons = _compare_all(ordered, options)
    weights = options.weights or tuple(1.0 for _ in arms)
    srm = frequentist.srm_test([a.stat.n for a in arms], weights)
    bayes = bayesian.best_arm(names, [a.stat for a in arms], options.draws, options.seed)
    guardrails = _guardrails(ordered, options)

    seg_results: list[ComparisonResult] = []
    heterogeneity: list[HeterogeneityResult] = []
    if segments:
        seg_results, heterogeneity = _segments(segments, control, options)

    decision = decide(ordered, comparisons, srm, guardrails, options)
    return AnalysisResult(
        unit=unit,
        variance_method=variance_method,
        mode=options.mode,
        alpha=options.alpha,
        correction=options.correction,
        control=control,
        variants=variants,
        omnibus=omnibus,
        comparisons=tuple(comparisons),
        bayes=bayes,
        srm=srm,
        guardrails=tuple(guardrails),
        segments=tuple(seg_results),
        heterogeneity=tuple(heterogeneity),
        decision=decision,
        notes=tuple(notes) + tuple(n for c in comparisons for n in (f"{c.variant}: {x}" for x in c.notes)),
        sequential_tuning=options.sequential_tuning if options.mode == "sequential" else None,
    )


def _variant_result(arm: ArmData, alpha: float) -> VariantResult:
    low, high, _ = frequentist.mean_interval(arm.stat, alpha)
    return VariantResult(arm.variant, arm.stat.n, arm.stat.impressions, arm.stat.clicks, arm.stat.mean, low, high)


def _compare_all(ordered: Sequence[ArmData], options: Options, segment: str | None = None,
                 adjust: bool = True) -> list[ComparisonResult]:
    control = ordered[0]
    raw = []
    for arm in ordered[1:]:
        c = frequentist.compare(control.stat, arm.stat, options.alpha)
        lo, hi = c.abs_diff_ci
        p = c.p_value
        if options.mode == "sequential":
            n = control.stat.n + arm.stat.n
            seq = sequential.sequential_diff(c.abs_diff, arm.stat.var_mean + control.stat.var_mean, n,
                                             options.alpha, options.sequential_tuning)
            (lo, hi), p = seq.ci, seq.p_value
        g = bayesian.gaussian_lift(control.stat, arm.stat, options.alpha)
        raw.append((arm, c, lo, hi, p, g))
    adjusted = frequentist.adjust_p_values([r[4] for r in raw], options.correction if adjust else "none")
    out = []
    for (arm, c, lo, hi, p, g), p_adj in zip(raw, adjusted, strict=True):
        rel_lo, rel_hi = c.rel_lift_ci if c.rel_lift_ci else (None, None)
        if options.mode == "sequential" and c.rel_lift is not None:
            half = sequential.halfwidth(frequentist.lift_variance(control.stat, arm.stat),
                                        control.stat.n + arm.stat.n, options.alpha, options.sequential_tuning)
            rel_lo, rel_hi = c.rel_lift - half, c.rel_lift + half
        out.append(ComparisonResult(
            variant=arm.variant, control=control.variant, abs_diff=c.abs_diff, abs_diff_ci_low=lo,
            abs_diff_ci_high=hi, rel_lift=c.rel_lift, rel_lift_ci_low=rel_lo, rel_lift_ci_high=rel_hi, z=c.z,
            p_value=p, p_value_adjusted=p_adj, significant=p_adj < options.alpha,
            chance_to_win=g.chance_to_win if g else None, segment=segment, notes=c.notes,
        ))
    return out


def _guardrails(ordered: Sequence[ArmData], options: Options) -> list[GuardrailResult]:
    """Lower-is-better counts per impression; a one-sided 'worse' test, corrected like the CTR tests."""
    control = ordered[0]
    rows = []
    for metric in sorted(control.guardrails):
        for arm in ordered[1:]:
            if metric not in arm.guardrails:
                continue
            c = ProportionStatistic(control.stat.impressions, control.guardrails[metric])
            t = ProportionStatistic(arm.stat.impressions, arm.guardrails[metric])
            comp = frequentist.compare(c, t, options.alpha)
            p_worse = float(sps.norm.sf(comp.z)) if comp.se > 0 else 1.0
            rows.append((metric, arm.variant, t.mean, c.mean, p_worse))
    adjusted = frequentist.adjust_p_values([r[4] for r in rows], options.correction)
    return [GuardrailResult(m, v, control.variant, rate, crate, p, pa, pa < options.alpha)
            for (m, v, rate, crate, p), pa in zip(rows, adjusted, strict=True)]


def _segments(segments: dict[str, Sequence[ArmData]], control: str, options: Options
              ) -> tuple[list[ComparisonResult], list[HeterogeneityResult]]:
    """Per-segment comparisons, corrected across all segments and arms, plus Cochran's Q per arm."""
    raw: list[ComparisonResult] = []
    variance: dict[tuple[str, str], float] = {}  # (segment, arm) -> variance of the difference
    for name in sorted(segments):
        arms = segments[name]
        if not any(a.variant == control for a in arms):
            continue
        ordered = [a for a in arms if a.variant == control] + [a for a in arms if a.variant != control]
        raw.extend(_compare_all(ordered, options, segment=name, adjust=False))
        for arm in ordered[1:]:
            variance[(name, arm.variant)] = arm.stat.var_mean + ordered[0].stat.var_mean
    adjusted = frequentist.adjust_p_values([r.p_value for r in raw], options.correction)
    results = [ComparisonResult(**{**asdict(r), "p_value_adjusted": pa, "significant": pa < options.alpha})
               for r, pa in zip(raw, adjusted, strict=True)]
    het = []
    for variant in sorted({r.variant for r in results}):
        rows = [r for r in results if r.variant == variant]
        weights, diffs = [], []
        for r in rows:
            # Fixed-horizon variance even in sequential mode: Cochran's Q is not an always-valid test.
            var = variance[(r.segment, r.variant)]
            if var > 0:
                weights.append(1 / var)
                diffs.append(r.abs_diff)
        if len(diffs) < 2:
            continue
        mean = sum(w * d for w, d in zip(weights, diffs, strict=True)) / sum(weights)
        q = sum(w * (d - mean) ** 2 for w, d in zip(weights, diffs, strict=True))
        df = len(diffs) - 1
        p = float(sps.chi2.sf(q, df))
        het.append(HeterogeneityResult(variant, q, df, p, p < options.alpha))
    return results, het


def decide(ordered: Sequence[ArmData], comparisons: Sequence[ComparisonResult], srm: frequentist.SampleRatio,
           guardrails: Sequence[GuardrailResult], options: Options) -> Decision:
    """ship / keep running / no meaningful difference / invalid, with the reasons in plain words."""
    control = ordered[0].variant
    if not srm.ok:
        return Decision("invalid_srm", None, None, (
            f"sample ratio mismatch: exposures {list(srm.observed)} differ from the planned split "
            f"(chi-square p = {srm.p_value:.2g} < {frequentist.SRM_THRESHOLD}); assignment or logging is broken, "
            "so no result can be trusted until it is fixed",
        ))
    harmed = {g.variant for g in guardrails if g.worse}
    reasons = [f"{g.variant} makes {g.metric} worse ({g.rate:.2%} vs {g.control_rate:.2%}, adjusted p = "
               f"{g.p_value_adjusted:.2g}), so it cannot be recommended" for g in guardrails if g.worse]
    winners = [c for c in comparisons if c.significant and c.abs_diff > 0 and c.variant not in harmed]
    if winners:
        ctr = {a.variant: a.stat.mean for a in ordered}
        # Highest CTR; ties go to the stronger evidence, then the name, so arm order never matters.
        best = max(winners, key=lambda c: (ctr[c.variant], -c.p_value_adjusted, c.variant))
        lift = f"{best.rel_lift:+.1%}" if best.rel_lift is not None else f"{best.abs_diff:+.2%} (absolute)"
        reasons.insert(0, f"{best.variant} beats {control}: CTR {ctr[best.variant]:.2%} vs {ctr[control]:.2%}, "
                          f"lift {lift}, adjusted p = {best.p_value_adjusted:.2g} < {options.alpha} "
                          f"({options.correction} correction, {options.mode} analysis)")
        stat = {a.variant: a.stat for a in ordered}
        for other in (c for c in winners if c is not best):
            head = frequentist.compare(stat[other.variant], stat[best.variant], options.alpha)
            verdict = "significantly" if head.p_value < options.alpha else "but not significantly"
            reasons.append(f"{other.variant} also beats {control}; {best.variant} is {verdict} better than "
                           f"{other.variant} (p = {head.p_value:.2g}, uncorrected)")
        return Decision("ship", best.variant, None, tuple(reasons))
    losers = [c for c in comparisons if c.significant and c.abs_diff < 0]
    if comparisons and len(losers) == len(comparisons):
        reasons.insert(0, f"every other arm has a significantly lower CTR than {control}")
        return Decision("ship", control, None, tuple(reasons))
    baseline = ordered[0].stat.mean
    unit = ordered[0].stat.unit
    n_min = min(a.stat.n for a in ordered)
    if 0 < baseline < 1 and baseline * (1 + options.mde_rel) < 1:
        needed = power_plan(baseline, mde_rel=options.mde_rel, alpha=options.alpha, power=options.power,
                            arms=len(ordered)).n_per_arm
    else:
        needed = None
    if needed is not None and n_min < needed:
        more = needed - n_min
        reasons.insert(0, f"no arm differs significantly from {control} yet; detecting a {options.mde_rel:.0%} "
                          f"relative lift on a {baseline:.2%} baseline with {options.power:.0%} power needs "
                          f"{needed:,} {unit}s per arm and the smallest arm has {n_min:,}")
        return Decision("keep_running", None, more, tuple(reasons), unit=ordered[0].stat.unit)
    reasons.insert(0, f"no arm differs significantly from {control}, and with {n_min:,} {unit}s per arm a "
                      f"{options.mde_rel:.0%} relative lift would have been detected with {options.power:.0%} power")
    return Decision("no_difference", None, None, tuple(reasons))
