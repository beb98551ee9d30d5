"""The Ship tab: export the picked experiment's winner (or a forced arm with a reason) and roll back."""

from __future__ import annotations

from typing import Any

import gradio as gr

from lab.studio.handlers import EXP_SHOWN, SHIPPED
from lab.studio.tabs.analysis import label
from lab.studio.wiring import Ui


def layout(ui: Ui) -> None:
    ui.add("ship_exp", gr.Markdown(elem_id="ship-exp"))
    ui.add("ship_msg", gr.Markdown(elem_id="ship-msg", elem_classes="tab-message"))
    with gr.Row():
        ui.add("export_arm", gr.Textbox(label="Arm (blank: the winner)", elem_id="export-arm"))
        ui.add("force", gr.Checkbox(label="Force (override the analysis)", elem_id="force"))
        ui.add("reason", gr.Textbox(label="Reason (required to force)", elem_id="reason"))
    with gr.Row():
        ui.add("export_btn", gr.Button("Export to production", variant="primary", elem_id="export"))
        ui.add("rollback_btn", gr.Button("Roll back", elem_id="rollback"))
    ui.add("ship_info", gr.Markdown(elem_id="ship-info"))
    ui.add("registry_table", gr.Dataframe(headers=["version", "production", "arm", "experiment", "variant version",
                                                   "decision", "forced because"], interactive=False,
                                          elem_id="registry"))
    ui.add("bundle_file", gr.File(label="Production bundle", elem_id="bundle-file"))


def wire(ui: Ui, h: Any, demo: gr.Blocks, cpu: dict[str, Any], hidden: dict[str, Any]) -> None:
    def registry(v: dict[str, Any]) -> Any:
        key = v["exp_key"]
        if not key:
            return {"ship_exp": label(None), "ship_info": "", "registry_table": [], "bundle_file": None}
        out = h.registry(key)
        info = "" if out["registry_table"] else ("Nothing exported yet for this scenario: analyse the experiment, "
                                                 "start it, then export its winner here.")
        return {**out, "ship_exp": label(key), "ship_info": info}

    ui.on([demo.load, ui["exp_key"].change], registry, ("exp_key",), (*SHIPPED, "ship_exp"), "ship_msg",
          api_name="registry", **hidden)

    def export(v: dict[str, Any]) -> dict[str, Any]:
        out = h.export(v["exp_key"], arm=v["export_arm"], force=v["force"], reason=v["reason"])
        return {**out, **h.exp_overview(v["exp_key"])}

    ui.on(ui["export_btn"].click, export, ("exp_key", "export_arm", "force", "reason"), (*SHIPPED, *EXP_SHOWN),
          "ship_msg", api_name="export", **cpu)
    ui.on(ui["rollback_btn"].click, lambda v: h.rollback(v["exp_key"]), ("exp_key",), SHIPPED, "ship_msg",
          api_name="rollback", **cpu)
