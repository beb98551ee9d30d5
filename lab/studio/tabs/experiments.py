"""The Experiments tab: pick one, start or stop it, add outcome files or a simulated demo, create a new one with
its sample size planned live."""

from __future__ import annotations

import functools
from typing import Any

import gradio as gr

from lab.errors import LabError
from lab.library.events import SCENARIOS
from lab.studio.common import Choice, designer_message, power, text
from lab.studio.handlers import EXP_SHOWN
from lab.studio.tabs import PICKERS, pickers
from lab.studio.wiring import Ui

PLAN_IN = ("new_arms", "new_weights", "new_baseline", "new_mde", "new_daily")


def layout(ui: Ui, variant_ids: list[str], exp_keys: list[str], first_exp: str | None) -> None:
    ui.add("exp_key", Choice(exp_keys, value=first_exp, label="Experiment", elem_id="exp-key"))
    ui.add("experiments_msg", gr.Markdown(elem_id="experiments-msg", elem_classes="tab-message"))
    ui.add("exp_overview", gr.Markdown(elem_id="exp-overview"))
    with gr.Row():
        ui.add("start_btn", gr.Button("Start (running)", elem_id="start"))
        ui.add("stop_btn", gr.Button("Stop", elem_id="stop"))
    with gr.Row():
        ui.add("outcome_files", gr.File(label="Outcome files (counts or events: CSV, Parquet, JSON lines)",
                                        type="filepath", file_count="multiple", elem_id="outcome-files"))
        with gr.Column():
            ui.add("ingest_btn", gr.Button("Upload and validate", elem_id="ingest"))
            ui.add("sim_ctr", gr.Textbox(label="Simulator: true CTR per arm", elem_id="sim-ctr"))
            with gr.Row():
                ui.add("sim_daily", gr.Number(3000, label="Per day", precision=0, elem_id="sim-daily"))
                ui.add("sim_days", gr.Number(14, label="Days", precision=0, elem_id="sim-days"))
            ui.add("sim_btn", gr.Button("Simulate a demo (SIMULATED data)", elem_id="simulate"))
    ui.add("ingest_info", gr.Markdown(elem_id="ingest-info"))
    with gr.Accordion("New experiment", open=True):
        with gr.Row():
            ui.add("new_key", gr.Textbox(label="Key", placeholder="e.g. cta-copy-test", elem_id="new-key"))
            ui.add("new_scenario", Choice(list(SCENARIOS), value="rank_up", label="Scenario",
                                               elem_id="new-scenario"))
        ui.add("new_arms", gr.CheckboxGroup(variant_ids, label="Variants (the first is the control)",
                                            elem_id="new-arms"))
        with gr.Row():
            with gr.Column():
                ui.add("new_weights", gr.Textbox(label="Weights (blank: even)", placeholder="0.5, 0.5",
                                                 elem_id="new-weights"))
                ui.add("err_weights", gr.Markdown(elem_classes="field-error", elem_id="err-weights"))
            ui.add("new_baseline", gr.Number(0.23, label="Baseline CTR", elem_id="new-baseline"))
            ui.add("new_mde", gr.Number(0.10, label="Smallest lift worth detecting (relative)", elem_id="new-mde"))
            ui.add("new_daily", gr.Number(5000, label="Daily traffic", precision=0, elem_id="new-daily"))
        ui.add("plan_info", gr.Markdown(elem_id="plan-info"))
        ui.add("create_btn", gr.Button("Create draft", variant="primary", elem_id="create"))
        ui.add("create_info", gr.Markdown(elem_id="create-info"))


def wire(ui: Ui, h: Any, demo: gr.Blocks, cpu: dict[str, Any], live: dict[str, Any], hidden: dict[str, Any]
         ) -> None:
    def show(v: dict[str, Any]) -> Any:
        if not v["exp_key"]:
            return {"exp_overview": "No experiment: create one below.", "ingest_info": "", "create_info": ""}
        return {**h.exp_overview(v["exp_key"]), "ingest_info": ""}

    shown = (*EXP_SHOWN, "ingest_info")
    ui.on(ui["exp_key"].change, show, ("exp_key",), shown, "experiments_msg", api_name="experiment")
    ui.on(demo.load, show, ("exp_key",), shown, "experiments_msg", **hidden)

    def status_to(v: dict[str, Any], status: str) -> dict[str, Any]:
        return h.set_status(v["exp_key"], status)

    for button, status, api in (("start_btn", "running", "start"), ("stop_btn", "stopped", "stop")):
        ui.on(ui[button].click, functools.partial(status_to, status=status), ("exp_key",), EXP_SHOWN,
              "experiments_msg", api_name=api, **cpu)
    ui.on(ui["ingest_btn"].click, lambda v: h.ingest_files(v["exp_key"], v["outcome_files"]),
          ("exp_key", "outcome_files"), (*EXP_SHOWN, "ingest_info"), "experiments_msg", api_name="ingest", **cpu)
    ui.on(ui["sim_btn"].click, lambda v: h.simulate(v["exp_key"], v["sim_ctr"], v["sim_daily"], v["sim_days"]),
          ("exp_key", "sim_ctr", "sim_daily", "sim_days"), (*EXP_SHOWN, "ingest_info"), "experiments_msg",
          api_name="simulate", **cpu)

    def plan_live(v: dict[str, Any]) -> dict[str, str]:
        """The plan as you type; a weights error sits beside the weights (and the plan says it cannot be made)."""
        try:
            pairs = h.arm_weights(v["new_arms"] or [], v["new_weights"])
        except LabError as exc:
            where = "err_weights" if exc.where == "weights" else "plan_info"
            return {"plan_info": "", "err_weights": "", where: f"⚠ {text(designer_message(exc))}"}
        try:
            return {"err_weights": "", "plan_info": power(v["new_baseline"], v["new_mde"], 0.05, 0.8, len(pairs),
                                                          v["new_daily"] or 0)}
        except LabError as exc:
            return {"err_weights": "", "plan_info": f"⚠ {text(designer_message(exc))}"}
        except (TypeError, ValueError):
            return {"err_weights": "", "plan_info": "⚠ Baseline, lift and traffic must be numbers."}

    ui.on([ui[n].change for n in PLAN_IN], plan_live, PLAN_IN, ("plan_info", "err_weights"),
          **live)
    ui.on(demo.load, plan_live, PLAN_IN, ("plan_info", "err_weights"), api_name="power", **live)

    def create(v: dict[str, Any]) -> dict[str, Any]:
        out = h.create_experiment(v["new_key"], v["new_scenario"], v["new_arms"] or [], v["new_weights"],
                                  v["new_baseline"], v["new_mde"])
        return {**out, **pickers(h, v, experiment=(v["new_key"] or "").strip())}

    ui.on(ui["create_btn"].click, create, ("new_key", "new_scenario", *PLAN_IN, *PICKERS),
          (*EXP_SHOWN, "create_info", *PICKERS), "experiments_msg", api_name="create_experiment", **cpu)
