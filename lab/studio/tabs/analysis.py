"""The Analysis tab: the picked experiment's result, recomputed whenever the pick changes (never another
experiment's figures under its name), with its banners, tables, plots, segments and guardrails."""

from __future__ import annotations

from typing import Any

import gradio as gr

from lab.studio.common import Choice
from lab.studio.handlers import ALL_SEGMENTS, ANALYSED
from lab.studio.wiring import Choices, Ui


def layout(ui: Ui) -> None:
    ui.add("analysis_exp", gr.Markdown(elem_id="analysis-exp"))
    ui.add("analysis_msg", gr.Markdown(elem_id="analysis-msg", elem_classes="tab-message"))
    ui.add("analyze_btn", gr.Button("Analyse", variant="primary", elem_id="analyse"))
    ui.add("srm_banner", gr.HTML(elem_id="srm-banner"))
    ui.add("plan_banner", gr.HTML(elem_id="plan-banner"))
    ui.add("decision", gr.Markdown(elem_id="decision"))
    ui.add("ctr_table", gr.Dataframe(headers=["variant", "units", "impressions", "clicks", "CTR", "95 % CI",
                                              "P(best)"], interactive=False, elem_id="ctr-table"))
    ui.add("comparisons_table", gr.Dataframe(interactive=False, label="Comparisons with the control",
                                             elem_id="comparisons-table"))
    ui.add("cuped_info", gr.Markdown(elem_id="cuped-info"))
    with gr.Row():
        ui.add("ctr_plot", gr.Plot(label="CTR with intervals"))
        ui.add("lift_plot", gr.Plot(label="Lift over time, with the sequential (always-valid) bounds"))
    with gr.Row():
        with gr.Column():
            ui.add("segment_pick", Choice([ALL_SEGMENTS], value=ALL_SEGMENTS, label="Segment",
                                               elem_id="segment-pick"))
            ui.add("segments_table", gr.Dataframe(headers=["segment", "variant", "lift", "adjusted p"],
                                                  interactive=False, label="Segments", elem_id="segments-table"))
        ui.add("guardrails_table", gr.Dataframe(headers=["metric", "variant", "rate", "control", "adjusted p",
                                                         "verdict"], interactive=False, label="Guardrails",
                                                elem_id="guardrails-table"))
    ui.add("segments_all", gr.State([]))
    ui.add("report_file", gr.File(label="HTML report", elem_id="report-file"))
    ui.add("analysis_run", gr.Markdown(elem_id="analysis-run"))


def label(key: str | None) -> str:
    return (f"Experiment **{key}** (pick another on the Experiments tab)" if key
            else "No experiment: create one on the Experiments tab.")


def wire(ui: Ui, h: Any, demo: gr.Blocks, cpu: dict[str, Any], live: dict[str, Any]) -> None:
    outs = (*ANALYSED, "segments_all", "analysis_exp")

    def analyze(v: dict[str, Any], record: bool) -> Any:
        key = v["exp_key"]
        if not key:
            return {**dict.fromkeys(ANALYSED), "decision": label(None), "analysis_exp": label(None)}
        out = h.analyze(key, record=record)
        pick = out["segment_pick"]
        return {**out, "segment_pick": Choices(pick["choices"], pick["value"]), "segments_all": out["segments_table"],
                "analysis_exp": label(key)}

    ui.on(ui["analyze_btn"].click, lambda v: analyze(v, True), ("exp_key",), outs, "analysis_msg",
          api_name="analyze_experiment", **cpu)
    # Opening the page or picking another experiment reads its analysis (not logged): the tab always shows the
    # experiment it names.
    ui.on([demo.load, ui["exp_key"].change], lambda v: analyze(v, False), ("exp_key",), outs, "analysis_msg",
          api_name="analysis", trigger_mode="always_last", **cpu)

    def pick_segment(v: dict[str, Any]) -> dict[str, Any]:
        rows = v["segments_all"] or []
        pick = v["segment_pick"]
        return {"segments_table": [r for r in rows if pick in (None, ALL_SEGMENTS) or r[0] == pick]}

    ui.on(ui["segment_pick"].input, pick_segment, ("segments_all", "segment_pick"), ("segments_table",), **live)
