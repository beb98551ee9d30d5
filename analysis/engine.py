"""One entry point, ``analyze``: sufficient statistics in, a typed result and a decision out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scipy import stats as sps

from analysis import bayesian, cuped, frequentist, sequential
from analysis.decision import decide
from analysis.options import Options
from analysis.results import AnalysisResult, ComparisonResult, GuardrailResult, HeterogeneityResult, VariantResult
from analysis.statistics import ArmData, ProportionStatistic


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
    if options.cuped and any(a.cuped is None for a in arms):
        raise ValueError("CUPED needs per-user events with pre-period covariates: pre_clicks and pre_impressions "
                         "columns, or a pre-period window of the same source")
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
        lo, hi = c.abs_diff_ci or (None, None)
        p = c.p_value
        if options.mode == "sequential" and not c.enough_data:
            p = None  # the confidence sequence needs the unpooled variance, which is zero here: withheld
        elif options.mode == "sequential":
            n = control.stat.n + arm.stat.n
            seq = sequential.sequential_diff(c.abs_diff, arm.stat.var_mean + control.stat.var_mean, n,
                                             options.alpha, options.sequential_tuning)
            (lo, hi), p = seq.ci, seq.p_value
        g = bayesian.gaussian_lift(control.stat, arm.stat, options.alpha)
        adjusted = None
        if options.cuped and segment is None and control.cuped is not None and arm.cuped is not None:
            adjusted = cuped.compare(control.cuped, arm.cuped, options.alpha, options.mode, options.sequential_tuning)
        raw.append((arm, c, lo, hi, p, g, adjusted))
    method = options.correction if adjust else "none"
    adjusted_p = frequentist.adjust_p_values([r[4] for r in raw], method)
    cuped_p = frequentist.adjust_p_values([r[6].p_value if r[6] else None for r in raw], method)
    out = []
    for (arm, c, lo, hi, p, g, adj), p_adj, p_cuped in zip(raw, adjusted_p, cuped_p, strict=True):
        rel_lo, rel_hi = c.rel_lift_ci if c.rel_lift_ci else (None, None)
        if options.mode == "sequential" and c.rel_lift is not None and c.enough_data:
            half = sequential.halfwidth(frequentist.lift_variance(control.stat, arm.stat),
                                        control.stat.n + arm.stat.n, options.alpha, options.sequential_tuning)
            rel_lo, rel_hi = c.rel_lift - half, c.rel_lift + half
        if adj is not None:
            adj = replace(adj, p_value_adjusted=p_cuped,
                          significant=c.enough_data and p_cuped is not None and p_cuped < options.alpha)
        out.append(ComparisonResult(
            variant=arm.variant, control=control.variant, abs_diff=c.abs_diff, abs_diff_ci_low=lo,
            abs_diff_ci_high=hi, rel_lift=c.rel_lift, rel_lift_ci_low=rel_lo, rel_lift_ci_high=rel_hi, z=c.z,
            p_value=p, p_value_adjusted=p_adj,
            significant=c.enough_data and p_adj is not None and p_adj < options.alpha,
            chance_to_win=g.chance_to_win if g else None, segment=segment, notes=c.notes,
            enough_data=c.enough_data, cuped=adj,
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
    results = [replace(r, p_value_adjusted=pa, significant=r.enough_data and pa is not None and pa < options.alpha)
               for r, pa in zip(raw, adjusted, strict=True)]
    het = []
    for variant in sorted({r.variant for r in results}):
        rows = [r for r in results if r.variant == variant]
        weights, diffs = [], []
        for r in rows:
            # Fixed-horizon variance even in sequential mode: Cochran's Q is not an always-valid test.
            var = variance[(r.segment, r.variant)]
            if var > 0 and r.enough_data:
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
