"""The decision policy: ship, keep running, no meaningful difference, or invalid, with reasons in plain words."""

from __future__ import annotations

from collections.abc import Sequence

from analysis import frequentist
from analysis.options import Options
from analysis.power import plan as power_plan
from analysis.results import ComparisonResult, Decision, GuardrailResult
from analysis.statistics import ArmData


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
