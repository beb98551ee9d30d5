"""The decision policy: ship, keep running, no meaningful difference, or invalid, with reasons in plain words."""

from __future__ import annotations

from collections.abc import Sequence

from analysis import frequentist
from analysis.options import Options
from analysis.power import power_plan
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
    early = _before_the_plan(ordered, comparisons, options)
    if early is not None:
        return early
    harmed = {g.variant for g in guardrails if g.worse}
    reasons = [f"{g.variant} makes {g.metric} worse ({g.rate:.2%} vs {g.control_rate:.2%}, adjusted p = "
               f"{g.p_value_adjusted:.2g}), so it cannot be recommended" for g in guardrails if g.worse]
    # With CUPED every figure below is the regression-adjusted one (ComparisonResult.decisive), and the
    # reasons say so.
    adjusted = any(c.cuped is not None for c in comparisons)
    winners = [c for c in comparisons if c.decisive[0] and c.decisive[1] > 0 and c.variant not in harmed]
    if winners:
        ctr = {a.variant: a.stat.mean for a in ordered}
        # Highest CTR; ties go to the stronger evidence, then the name, so arm order never matters.
        best = max(winners, key=lambda c: (ctr[c.variant], -(c.decisive[2] or 0.0), c.variant))
        _, diff, p_adj, rel = best.decisive
        lift = f"{rel:+.1%}" if rel is not None else f"{diff:+.2%} (absolute)"
        how = (f"CUPED-adjusted with pre-period clicks and impressions, variance reduced by "
               f"{best.cuped.variance_reduction:.0%}; " if best.cuped is not None else "")
        reasons.insert(0, f"{best.variant} beats {control}: CTR {ctr[best.variant]:.2%} vs {ctr[control]:.2%}, "
                          f"lift {lift}, adjusted p = {p_adj:.2g} < {options.alpha} "
                          f"({how}{options.correction} correction, {options.mode} analysis)")
        stat = {a.variant: a.stat for a in ordered}
        for other in (c for c in winners if c is not best):
            head = frequentist.compare(stat[other.variant], stat[best.variant], options.alpha)
            if head.p_value is None:
                continue
            verdict = "significantly" if head.p_value < options.alpha else "but not significantly"
            reasons.append(f"{other.variant} also beats {control}; {best.variant} is {verdict} better than "
                           f"{other.variant} (p = {head.p_value:.2g}, uncorrected, not adjusted)")
        return Decision("ship", best.variant, None, tuple(reasons))
    losers = [c for c in comparisons if c.decisive[0] and c.decisive[1] < 0]
    if comparisons and len(losers) == len(comparisons):
        reasons.insert(0, f"every other arm has a significantly lower CTR than {control}"
                          + (" (CUPED-adjusted)" if adjusted else ""))
        return Decision("ship", control, None, tuple(reasons))
    if adjusted:
        reasons.append("the comparisons are CUPED-adjusted with pre-period clicks and impressions")
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


def _needed_per_arm(ordered: Sequence[ArmData], options: Options) -> int | None:
    """Units per arm the test needs: the plan's figure, else one from the observed control CTR."""
    if options.planned_n_per_arm is not None:
        return options.planned_n_per_arm
    baseline = ordered[0].stat.mean
    if 0 < baseline < 1 and baseline * (1 + options.mde_rel) < 1:
        return power_plan(baseline, mde_rel=options.mde_rel, alpha=options.alpha, power=options.power,
                          arms=len(ordered)).n_per_arm
    return None


def _before_the_plan(ordered: Sequence[ArmData], comparisons: Sequence[ComparisonResult], options: Options
                     ) -> Decision | None:
    """"Keep running" while a result would claim more than the data hold: no data at all, a fixed-horizon test
    read before its planned sample size, or a comparison with zero variance. None when none of these holds."""
    control = ordered[0].variant
    unit = ordered[0].stat.unit
    n_min = min(a.stat.n for a in ordered)
    needed = _needed_per_arm(ordered, options)
    more = needed - n_min if needed is not None and needed > n_min else None
    empty = [a.variant for a in ordered if a.stat.n == 0]
    if empty:
        verb = "has" if len(empty) == 1 else "have"
        whom = "no arm has any" if len(empty) == len(ordered) else f"{', '.join(empty)} {verb} no"
        return Decision("keep_running", None, more, (
            f"there is no data: {whom} {unit}s yet, so nothing can be compared and no power statement is made",
        ), unit=unit, detail="no data yet")
    planned = options.planned_n_per_arm
    if options.mode == "fixed" and planned is not None and n_min < planned:
        reasons = [
            f"this is a fixed-horizon test planned for {planned:,} {unit}s per arm and the smallest arm has "
            f"{n_min:,}; its result is read only once the plan is reached",
            "reading a fixed-horizon test early inflates false positives: every look before the planned sample "
            "size is one more chance for noise to cross the significance line",
            "to look at the data as they arrive, analyse in sequential mode (mode: sequential in the experiment "
            "spec, or --mode sequential): its confidence sequences stay valid at every look",
        ]
        ahead = [c for c in comparisons if c.decisive[0]]
        if ahead:
            reasons.append("an arm looks different from " + control + " at this early look ("
                           + ", ".join(f"{c.variant}: adjusted p = {c.decisive[2]:.2g}" for c in ahead)
                           + "); that is not acted on")
        return Decision("keep_running", None, planned - n_min, tuple(reasons), unit=unit,
                        detail=f"{n_min:,} of {planned:,} {unit}s per arm")
    thin = [c for c in comparisons if not c.enough_data]
    if thin:
        reasons = [f"not enough data for {c.variant} vs {control}: an arm has zero variance (no clicks, or every "
                   f"one clicked; {c.variant} has {next(a.stat.n for a in ordered if a.variant == c.variant):,} "
                   f"{unit}s), so its lift interval, chance to win and sequential p-value are withheld"
                   for c in thin]
        reasons.append("the decision does not rest on a comparison without variance; keep collecting data")
        return Decision("keep_running", None, more, tuple(reasons), unit=unit, detail="not enough data")
    return None
