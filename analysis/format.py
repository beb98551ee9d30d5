"""One formatter for a result: the tables the CLI, the HTML report and the studio show, labelled from alpha.

``tables(result) -> dict[str, Table]`` gives ``variants``, ``comparisons`` and (with CUPED) ``cuped``: each a
``Table(columns, rows)`` of display strings, with every interval labelled by the result's own level
(``--alpha 0.1`` → "90 % CI"). ``lines(result)`` is the plain-text form. A withheld figure shows as
``WITHHELD`` (not enough data), an undefined one as ``n/a``.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.results import AnalysisResult

WITHHELD = "withheld"


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def level(alpha: float) -> str:
    """The confidence level of ``alpha`` as a label: 0.05 → "95 %", 0.1 → "90 %", 0.005 → "99.5 %"."""
    return f"{round((1 - alpha) * 100, 4):g} %"


def _pct(x: float | None, signed: bool = False, digits: int = 2) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{digits}%}" if signed else f"{x:.{digits}%}"


def _span(lo: float | None, hi: float | None, signed: bool = False, digits: int = 2) -> str:
    if lo is None or hi is None:
        return WITHHELD
    return f"{_pct(lo, signed, digits)} – {_pct(hi, signed, digits)}"


def _p(p: float | None) -> str:
    return WITHHELD if p is None else f"{p:.3g}"


def tables(result: AnalysisResult) -> dict[str, Table]:
    """The result's tables as display strings; interval columns say their level."""
    ci = f"{level(result.alpha)} CI"
    variants = Table(("variant", "units", "impressions", "clicks", "CTR", ci, "P(best)"), tuple(
        (v.variant, f"{v.units:,}", f"{v.impressions:,}", f"{v.clicks:,}", _pct(v.ctr), _span(v.ci_low, v.ci_high),
         f"{result.bayes.p_best[v.variant]:.1%}") for v in result.variants))
    comparisons = Table(("comparison", "abs diff", f"abs diff {ci}", "lift", f"lift {ci}", "p", "adjusted p",
                         "significant"), tuple(
        (f"{c.variant} vs {c.control}", _pct(c.abs_diff, True), _span(c.abs_diff_ci_low, c.abs_diff_ci_high, True),
         _pct(c.rel_lift, True, 1), _span(c.rel_lift_ci_low, c.rel_lift_ci_high, True, 1), _p(c.p_value),
         _p(c.p_value_adjusted), "yes" if c.significant else "no" if c.enough_data else "not enough data")
        for c in result.comparisons))
    out = {"variants": variants, "comparisons": comparisons}
    adjusted = [c for c in result.comparisons if c.cuped is not None]
    if adjusted:
        out["cuped"] = Table(("comparison", "CUPED abs diff", f"abs diff {ci}", "CUPED lift", f"lift {ci}",
                              "adjusted p", "variance reduction", "theta"), tuple(
            (f"{c.variant} vs {c.control}", _pct(k.abs_diff, True), _span(k.abs_diff_ci_low, k.abs_diff_ci_high, True),
             _pct(k.rel_lift, True, 1), _span(k.rel_lift_ci_low, k.rel_lift_ci_high, True, 1),
             _p(k.p_value_adjusted), f"{k.variance_reduction:.1%}", f"{k.theta:.4g}")
            for c in adjusted if (k := c.cuped) is not None))
    return out


def lines(result: AnalysisResult) -> list[str]:
    """The plain-text form: each table aligned, then SRM, the decision with its reasons, and the notes."""
    out: list[str] = []
    for name, table in tables(result).items():
        rows = [table.columns, *table.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(len(table.columns))]
        out.append(f"{name}:")
        out += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    out.append(f"SRM p = {result.srm.p_value:.3g} ({'ok' if result.srm.ok else 'MISMATCH'})")
    out.append(f"decision: {result.decision.headline}")
    out += [f"  - {r}" for r in result.decision.reasons]
    out += [f"  note: {n}" for n in result.notes]
    return out
