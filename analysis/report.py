"""Plotly figures of a result and a self-contained HTML report (no CDN: nothing leaves the machine)."""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from scipy import stats

from analysis import sequential
from analysis.format import Table, level, tables
from analysis.frequentist import lift_variance
from analysis.power import n_per_arm
from analysis.results import AnalysisResult
from analysis.statistics import ArmData, ProportionStatistic

BRAND = "#4CAF50"
PALETTE = ["#607D8B", BRAND, "#FF9800", "#2196F3", "#9C27B0", "#E91E63"]


def ctr_figure(result: AnalysisResult) -> go.Figure:
    """CTR per arm with its interval at the result's level."""
    v = result.variants
    fig = go.Figure(go.Bar(
        x=[r.variant for r in v], y=[r.ctr for r in v],
        marker_color=[PALETTE[i % len(PALETTE)] for i in range(len(v))],
        error_y={"type": "data", "symmetric": False, "array": [r.ci_high - r.ctr for r in v],
                 "arrayminus": [r.ctr - r.ci_low for r in v]},
        text=[f"{r.ctr:.1%}" for r in v], textposition="outside",
    ))
    fig.update_layout(title=f"CTR by variant ({level(result.alpha)} intervals)",
                      yaxis_tickformat=".0%", template="plotly_white")
    return fig


def lift_over_time_figure(result: AnalysisResult, daily: Sequence[dict[str, Any]]) -> go.Figure:
    """Cumulative relative lift per day against the control, with the always-valid band.

    Daily points use impression-level counts (the per-user split is not kept per day)."""
    fig = go.Figure()
    cum: dict[str, list[int]] = {}
    series: dict[str, list[tuple[str, float, float, float]]] = {}
    for day, rows in itertools.groupby(sorted(daily, key=lambda d: d["day"]), key=lambda d: d["day"]):
        for d in rows:
            c = cum.setdefault(d["variant"], [0, 0])
            c[0] += d["impressions"]
            c[1] += d["clicks"]
        if result.control not in cum or cum[result.control][1] == 0:
            continue
        ctrl = ProportionStatistic(*cum[result.control])
        for variant, (n, k) in cum.items():
            if variant == result.control or n == 0:
                continue
            t = ProportionStatistic(n, k)
            lift = t.mean / ctrl.mean - 1
            half = sequential.halfwidth(lift_variance(ctrl, t), ctrl.n + t.n, result.alpha,
                                        result.sequential_tuning or sequential.DEFAULT_TUNING)
            series.setdefault(variant, []).append((day, lift, lift - half, lift + half))
    for i, (variant, pts) in enumerate(series.items(), start=1):
        color = PALETTE[i % len(PALETTE)]
        x = [p[0] for p in pts]
        fig.add_trace(go.Scatter(x=x + x[::-1], y=[p[3] for p in pts] + [p[2] for p in pts][::-1], fill="toself",
                                 fillcolor=color, opacity=0.18, line={"width": 0}, name=f"{variant} band",
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=[p[1] for p in pts], mode="lines+markers", name=variant,
                                 line={"color": color}))
    fig.add_hline(y=0, line_dash="dot", line_color="#888")
    fig.update_layout(title=f"Cumulative lift vs {result.control} ({level(result.alpha)} always-valid band)",
                      yaxis_tickformat="+.0%", template="plotly_white")
    return fig


def posterior_figure(result: AnalysisResult, arms: Sequence[ArmData]) -> go.Figure:
    """Posterior density of each arm's CTR (Beta for counts, normal for per-user data)."""
    fig = go.Figure()
    lo = min(max(a.stat.mean - 5 * np.sqrt(max(a.stat.var_mean, 1e-12)), 0) for a in arms)
    hi = max(min(a.stat.mean + 5 * np.sqrt(max(a.stat.var_mean, 1e-12)), 1) for a in arms)
    x = np.linspace(lo, hi, 400)
    for i, a in enumerate(arms):
        if isinstance(a.stat, ProportionStatistic):
            y = stats.beta.pdf(x, 1 + a.stat.clicks, 1 + a.stat.impressions - a.stat.clicks)
        else:
            y = stats.norm.pdf(x, a.stat.mean, np.sqrt(max(a.stat.var_mean, 1e-12)))
        p = result.bayes.p_best.get(a.variant, 0.0)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{a.variant} (P best {p:.1%})",
                                 line={"color": PALETTE[i % len(PALETTE)]}, fill="tozeroy"))
    fig.update_layout(title="Posterior CTR", xaxis_tickformat=".1%", template="plotly_white")
    return fig


def power_figure(baseline: float, alpha: float = 0.05, power: float = 0.8, arms: int = 2) -> go.Figure:
    """Units per arm needed against the relative lift to detect."""
    lifts = np.linspace(0.02, 0.5, 60)
    a = alpha / max(arms - 1, 1)
    n = [n_per_arm(baseline, min(baseline * (1 + r), 0.999), a, power) for r in lifts]
    fig = go.Figure(go.Scatter(x=lifts, y=n, mode="lines", line={"color": BRAND}))
    fig.update_layout(title=f"Sample size per arm (baseline {baseline:.1%}, power {power:.0%})",
                      xaxis_title="relative lift to detect", xaxis_tickformat=".0%", yaxis_type="log",
                      yaxis_title="units per arm", template="plotly_white")
    return fig


def figures(result: AnalysisResult, arms: Sequence[ArmData], daily: Sequence[dict[str, Any]] = ()
            ) -> dict[str, go.Figure]:
    figs = {"ctr": ctr_figure(result), "posterior": posterior_figure(result, arms)}
    if daily:
        figs["lift_over_time"] = lift_over_time_figure(result, daily)
    baseline = next(v.ctr for v in result.variants if v.variant == result.control)
    if 0 < baseline < 0.9:
        figs["power"] = power_figure(baseline, result.alpha, arms=len(arms))
    return figs


def _table_html(table: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>" for row in table.rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(result: AnalysisResult, arms: Sequence[ArmData], daily: Sequence[dict[str, Any]] = (),
                title: str = "A/B analysis") -> str:
    """One self-contained HTML page: decision, tables, figures (plotly.js embedded once)."""
    e = html.escape
    d = result.decision
    tables_html = "".join(_table_html(t) for t in tables(result).values())
    reasons = "".join(f"<li>{e(r)}</li>" for r in d.reasons)
    notes = "".join(f"<li>{e(n)}</li>" for n in result.notes)
    figs = figures(result, arms, daily)
    plots = []
    for i, fig in enumerate(figs.values()):
        plots.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0), default_height="380px"))
    colour = {"ship": BRAND, "keep_running": "#FF9800", "no_difference": "#607D8B", "invalid_srm": "#E53935"}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:Roboto,Arial,sans-serif;max-width:1000px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}}
td:first-child,th:first-child{{text-align:left}}.decision{{padding:1em;border-radius:8px;color:#fff;
background:{colour[d.action]}}}</style></head><body>
<h1>{e(title)}</h1>
<div class="decision"><h2>{e(d.headline)}</h2><ul>{reasons}</ul></div>
<p>Unit of analysis: <b>{e(result.unit)}</b> — variance: {e(result.variance_method)}. Mode: {e(result.mode)};
alpha {result.alpha}; correction {e(result.correction)}. Sample ratio check: chi-square p = {result.srm.p_value:.3g}
({'ok' if result.srm.ok else 'MISMATCH'}). Omnibus chi-square {result.omnibus.chi2:.2f} on {result.omnibus.df} df,
p = {result.omnibus.p_value:.3g}.</p>
{tables_html}
{'<h3>Notes</h3><ul>' + notes + '</ul>' if notes else ''}
{''.join(plots)}
</body></html>"""
