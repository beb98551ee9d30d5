"""The Experiments, Analysis and Ship areas as plain functions (no Gradio): each calls the same lab code as the
CLI (``lab.experiments.workflow``) and returns its values keyed by name. Every result names the experiment it
was made for, so a page never shows one experiment's figures under another's name."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from analysis.format import tables
from analysis.report import ctr_figure, lift_over_time_figure
from lab import config
from lab.errors import LabError
from lab.experiments import tracking, workflow
from lab.experiments.spec import WEIGHT_TOLERANCE, ExperimentLibrary
from lab.library.versions import VariantLibrary
from lab.storage import atomic_write_text
from lab.studio.common import ERROR_CAP, row_part, text

EXP_SHOWN = ("exp_overview", "sim_ctr")
ANALYSED = ("decision", "srm_banner", "plan_banner", "ctr_plot", "lift_plot", "ctr_table", "comparisons_table",
            "cuped_info", "segments_table", "segment_pick", "guardrails_table", "report_file", "analysis_run")
SHIPPED = ("ship_info", "registry_table", "bundle_file")
ALL_SEGMENTS = "all segments"


def fmt(value: float | None, spec: str) -> str:
    """A figure that may be missing (``p_value_adjusted`` is None when withheld)."""
    return "withheld" if value is None else format(value, spec)


class ExperimentHandlers:
    """What the Experiments, Analysis and Ship buttons do, over one experiment library."""

    variants: VariantLibrary
    experiments: ExperimentLibrary

    # experiments

    def exp_overview(self, key: str) -> dict[str, Any]:
        """Status, arms, the outcome files (SIMULATED when the simulator made them) and the MLflow runs."""
        exp = self.experiments.load(key)
        store = workflow.OutcomeStore(key)
        files = store.manifest()
        lines = [f"### {text(exp.key)} · **{exp.status}**", text(exp.hypothesis), "",
                 "| arm | pinned version | weight |", "|---|---|---|"]
        lines += [f"| {a.variant} | `{a.version}` | {a.weight:.0%} |" for a in exp.arms]
        lines.append("")
        if files:
            sim = " · **SIMULATED** data (made by the simulator, not real users)" if workflow.is_simulated(key) else ""
            lines.append(f"{len(files)} outcome file{'s' if len(files) > 1 else ''}, "
                         f"{sum(m['rows'] for m in files):,} rows{sim}")
        else:
            lines.append("No outcomes yet: upload daily files, or simulate a demo.")
        lines += ["", f"Planned sample: **{exp.planned_n_per_arm():,} per arm** "
                  f"({exp.plan.baseline:.0%} baseline, +{exp.plan.mde_rel:.0%} lift, {exp.plan.power:.0%} power)."]
        lines += ["", f"Segments: {text(', '.join(exp.segments)) or 'none declared'} · guardrails: "
                  f"{text(', '.join(exp.guardrails)) or 'none declared'}"]
        lines += ["", self.runs_markdown(key)]
        ctr = workflow.DEMO_CTR if set(exp.arm_ids) == set(workflow.DEMO_CTR) else {
            a: round(exp.plan.baseline * (1 + exp.plan.mde_rel * 2 * i), 4) for i, a in enumerate(exp.arm_ids)}
        return {"exp_overview": "\n".join(lines), "sim_ctr": ", ".join(f"{a}={c:g}" for a, c in ctr.items())}

    @staticmethod
    def runs_markdown(key: str) -> str:
        """The MLflow runs of an experiment, each with its run link (relative to the tracking server); a server
        that does not answer is said in one line, and the rest of the overview still shows."""
        try:
            with tracking.reachable():
                mlflow = tracking.configure()
                try:
                    runs = mlflow.search_runs(experiment_names=[tracking.experiment_name(key)], max_results=12,
                                              order_by=["start_time DESC"])
                except mlflow.exceptions.MlflowException as exc:
                    if tracking.no_answer(exc):
                        raise
                    return "MLflow: no runs yet."
                if runs.empty:
                    return "MLflow: no runs yet."
                exp_id = tracking.experiment_id(key)
        except tracking.MlflowUnavailable as exc:
            return f"MLflow runs: {text(str(exc))}."
        server = config.tracking_uri()
        linked = re.match(r"https?://", server) is not None  # a file or SQLite store has no pages to link to
        lines = [f"**MLflow runs** (experiment `{tracking.experiment_name(key)}`"
                 + ("):" if linked else "; stored in this machine's data folder, see them with `mlflow ui`):"),
                 "", "| run | kind | id |", "|---|---|---|"]
        for _, r in runs.iterrows():
            kind = r.get(f"tags.{tracking.KIND}") or "arm"
            name = r.get("tags.mlflow.runName") or ""
            run_id = str(r["run_id"])
            shown = (f"[{run_id[:8]}…]({server.rstrip('/')}/#/experiments/{exp_id}/runs/{run_id})" if linked
                     else f"`{run_id}`")
            lines.append(f"| {text(name)} | {text(kind)} | {shown} |")
        return "\n".join(lines)

    def create_experiment(self, key: str, scenario: str, arms: list[str], weights: str, baseline: float,
                          mde_rel: float) -> dict[str, Any]:
        """Create a draft experiment from variants and weights (``workflow.create_experiment``)."""
        pairs = self.arm_weights(arms, weights)
        exp = workflow.create_experiment(self.experiments, (key or "").strip(), scenario, pairs, baseline=baseline,
                                         mde_rel=mde_rel)
        return {**self.exp_overview(exp.key), "create_info": f"Created **{exp.key}** as a draft."}

    @staticmethod
    def arm_weights(arms: list[str], weights: str) -> list[tuple[str, float]]:
        """Arms with their traffic weights; blank weights split the traffic evenly."""
        if not arms or len(arms) < 2:
            raise LabError("arms", "an experiment needs at least 2 variants", "tick two or more")
        if not (weights or "").strip():
            share = round(1 / len(arms), 6)
            ws = [share] * (len(arms) - 1) + [round(1 - share * (len(arms) - 1), 6)]
        else:
            try:
                ws = [float(w) for w in weights.split(",")]
            except ValueError:
                raise LabError("weights", f"{weights!r} is not a list of numbers", "write them as 0.5, 0.5") from None
            if len(ws) != len(arms):
                raise LabError("weights", f"{len(ws)} weights for {len(arms)} variants", "give one per variant")
            # The spec's own rules (spec._parse_arms), checked here so the live plan refuses what Create would.
            bad = next((w for w in ws if not (math.isfinite(w) and 0 < w <= 1)), None)
            if bad is not None:
                raise LabError("weights", f"{bad:g} is not a weight in (0, 1]", "give each variant a share such "
                               "as 0.5")
            if not math.isclose(sum(ws), 1.0, abs_tol=WEIGHT_TOLERANCE):
                raise LabError("weights", f"weights sum to {sum(ws):g}, not 1",
                               "make the traffic weights add up to exactly 1")
        return list(zip(arms, ws, strict=True))

    def set_status(self, key: str, status: str) -> dict[str, Any]:
        workflow.set_status(self.experiments, key, status)
        return self.exp_overview(key)

    def ingest_files(self, key: str, files: list[Any] | None) -> dict[str, Any]:
        """Validate and add each outcome file; every bad file is listed with its row and column (up to a cap),
        and the good ones are still added."""
        if not files:
            raise LabError("", "Choose one or more outcome files first")
        exp = self.experiments.load(key)
        report = workflow.ingest_files(self.experiments, exp, [Path(f) for f in files])
        good, errors = report.added, report.refused
        # The page names the file, never the server's upload folder.
        bad = [(name, row_part(name, exc.what)) for name, exc in errors]
        lines = []
        if good:
            added = [r for r in good if not r.duplicate]
            lines.append(f"Added {len(added)} file{'s' if len(added) != 1 else ''} "
                         f"({sum(r.rows for r in added):,} rows)"
                         + (f"; {len(good) - len(added)} already ingested, unchanged" if len(good) > len(added)
                            else "") + ".")
        if bad:
            lines.append(f"**{len(bad)} file{'s' if len(bad) > 1 else ''} refused** (nothing from them was added):")
            lines += [f"- {text(name)}: {text(what)}" for name, what in bad[:ERROR_CAP]]
            if len(bad) > ERROR_CAP:
                lines.append(f"- … and {len(bad) - ERROR_CAP} more")
            for name, exc in errors[:ERROR_CAP]:
                rows = exc.details
                if len(rows) > 1:  # every bad row of the file (up to the ingest cap), so one upload fixes all
                    lines.append(f"\n{text(name)}, every bad row:")
                    lines += [f"- {text(row_part(name, row))}" for row in rows]
        return {**self.exp_overview(key), "ingest_info": "\n".join(lines)}

    def simulate(self, key: str, ctr: str, daily: Any, days: Any) -> dict[str, Any]:
        """Simulated traffic for a demo, labelled SIMULATED (``workflow.simulate_and_ingest``)."""
        true_ctr = {}
        for part in (ctr or "").split(","):
            arm, _, value = part.partition("=")
            try:
                true_ctr[arm.strip()] = float(value)
            except ValueError:
                raise LabError("true CTRs", f"{part.strip()!r} is not arm=rate",
                               "write e.g. v1=0.23, v2=0.31") from None
        results, _ = workflow.simulate_and_ingest(self.experiments, key, true_ctr, daily=int(daily or 0),
                                                  days=int(days or 0))
        return {**self.exp_overview(key),
                "ingest_info": f"**SIMULATED**: added {len(results)} days of made-up traffic "
                               f"({sum(r.rows for r in results):,} rows)."}

    # analysis

    def analyze(self, key: str, record: bool = True) -> dict[str, Any]:
        """Analyse the stored outcomes and log the analysis as an MLflow run, as
        ``highlight-lab experiments analyze KEY`` does (both call ``workflow.analyze_and_log``).

        ``record=False`` (opening the page) shows the same analysis without logging a run, and says so."""
        if not record:
            if not workflow.OutcomeStore(key).manifest():
                return {**dict.fromkeys(ANALYSED), "srm_banner": "", "plan_banner": "", "analysis_run": "",
                        "cuped_info": "", "segment_pick": {"choices": [ALL_SEGMENTS], "value": ALL_SEGMENTS},
                        "decision": f"### {text(key)}: no outcomes yet\nUpload them or simulate a demo on the "
                                    "Experiments tab."}
            exp = self.experiments.load(key)
            result, data = workflow.analyze_experiment(exp, workflow.OutcomeStore(key))
            done = workflow.LoggedAnalysis(result, data, workflow.html_report(result, data.arms, data.daily,
                                                                               title=f"A/B analysis: {key}"), "")
        else:
            done = workflow.analyze_and_log(self.experiments, key)
        result, exp = done.result, self.experiments.load(key)
        sim = " · SIMULATED data" if workflow.is_simulated(key) else ""
        md = (f"### {text(key)}: {text(result.decision.headline)}{sim}\n"
              + "\n".join(f"- {text(r)}" for r in result.decision.reasons))
        md += f"\n\nUnit: **{result.unit}** ({result.variance_method}); SRM p = {result.srm.p_value:.3g}"
        srm = ("" if result.srm.ok else
               f"<div class='banner banner-red' id='srm'>Sample ratio mismatch (p = {result.srm.p_value:.2g}): "
               "the arms did not get the traffic they were planned to, so no winner can be trusted. Fix "
               "assignment or logging before reading this test.</div>")
        planned, seen = exp.planned_n_per_arm(), min(v.units for v in result.variants)
        early = exp.mode == "fixed" and seen < planned
        plan_md = (f"<div class='banner banner-amber' id='plan'>Read early: this fixed-horizon test planned "
                   f"{planned:,} per arm and has {seen:,} in its smallest arm. A result now is not final.</div>"
                   if early else "")
        shown = tables(result)  # the one formatter the CLI and the report use
        cuped = shown.get("cuped")
        cuped_md = ("**CUPED** (pre-period adjusted): " + "; ".join(
            f"{text(row[0])}: variance reduced by **{row[6]}**, lift {row[3]}" for row in cuped.rows)
            if cuped else "")
        segs = self.segment_rows(result)
        guards = [[g.metric, g.variant, f"{g.rate:.2%}", f"{g.control_rate:.2%}", fmt(g.p_value_adjusted, ".3g"),
                   "worse" if g.worse else "ok"] for g in result.guardrails]
        measured = {g.metric for g in result.guardrails}
        guards += [[g, "all arms", "", "", "", "not measured in this data"]
                   for g in exp.guardrails if g not in measured]
        if not segs and exp.segments:
            segs = [[f"{', '.join(exp.segments)}: not in this data", "", "", ""]]
        report = config.data_dir() / "reports" / f"{key}-{done.run_id[:12] or 'latest'}.html"
        atomic_write_text(report, done.report_html)
        run = (f"Logged as MLflow run `{done.run_id}` in experiment `{tracking.experiment_name(key)}`." if record
               else "Read on opening the page (not logged); press **Analyse** to record it as an MLflow run.")
        names = sorted({c.segment for c in result.segments if c.segment})
        return {"decision": md, "srm_banner": srm, "plan_banner": plan_md, "ctr_plot": ctr_figure(result),
                "lift_plot": lift_over_time_figure(result, done.data.daily),
                "ctr_table": {"headers": list(shown["variants"].columns), "data": [list(r) for r in
                                                                                  shown["variants"].rows]},
                "comparisons_table": {"headers": list(shown["comparisons"].columns),
                                      "data": [list(r) for r in shown["comparisons"].rows]},
                "cuped_info": cuped_md, "segments_table": segs,
                "segment_pick": {"choices": [ALL_SEGMENTS, *names], "value": ALL_SEGMENTS},
                "guardrails_table": guards, "report_file": str(report), "analysis_run": run}

    @staticmethod
    def segment_rows(result: Any, pick: str | None = None) -> list[list[str]]:
        """Each segment's comparisons (all, or the one segment picked)."""
        return [[c.segment or "", c.variant, fmt(c.rel_lift, "+.1%"), fmt(c.p_value_adjusted, ".3g")]
                for c in result.segments if pick in (None, ALL_SEGMENTS, c.segment)]

    # ship

    def registry(self, key: str) -> dict[str, Any]:
        """The prompt registry's versions for the experiment's scenario and the production bundle."""
        scenario = self.experiments.load(key).scenario
        rows = workflow.production_versions(scenario)
        table = [[r["version"], "● production" if r["production"] else "", r["arm"], r["experiment"],
                  r["variant_version"], r["decision"], r["reason"] if r["forced"] else ""] for r in rows]
        bundle = workflow.bundle_path(scenario)
        return {"registry_table": table, "bundle_file": str(bundle) if bundle else None}

    def export(self, key: str, arm: str, force: bool, reason: str) -> dict[str, Any]:
        """Ship the winner, or a forced arm with a reason (``workflow.export``)."""
        r = workflow.export(self.experiments, key, arm=arm or None, force=force, reason=reason or None)
        info = (f"Exported **{r.arm}** as `{r.prompt_name}` version {r.prompt_version}, now in production"
                + (" (FORCED)" if r.forced else "") + f". Experiment status: **{self.experiments.load(key).status}**.")
        return {**self.registry(key), "ship_info": info}

    def rollback(self, key: str) -> dict[str, Any]:
        """Move production back to the version before the last export (``workflow.rollback``)."""
        scenario = self.experiments.load(key).scenario
        was, now = workflow.rollback(scenario)
        return {**self.registry(key), "ship_info": f"Rolled back: production is version {now} again (was {was})."}
