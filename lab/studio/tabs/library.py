"""The Library tab: every variant with the arms it is in; click a row to edit it, or clone one."""

from __future__ import annotations

from typing import Any

import gradio as gr

from lab.studio.common import Choice
from lab.studio.tabs import PICKERS, pickers
from lab.studio.wiring import Ui


def layout(ui: Ui, variant_ids: list[str]) -> None:
    gr.Markdown("Click a row to edit that variant.")
    ui.add("library_msg", gr.Markdown(elem_id="library-msg", elem_classes="tab-message"))
    ui.add("library_table", gr.Dataframe(
        headers=["id", "scenario", "style", "version", "last saved", "by", "arms it is in"],
        interactive=False, wrap=True, elem_id="library-table"))
    ui.add("library_refused", gr.Markdown(elem_id="library-refused", elem_classes="tab-message"))
    with gr.Row():
        ui.add("clone_src", Choice(variant_ids, value=variant_ids[0] if variant_ids else None,
                                        label="Clone variant", scale=2, elem_id="clone-src"))
        ui.add("clone_id", gr.Textbox(label="New id", placeholder="e.g. v4-neon-burst", scale=2, elem_id="clone-id"))
        ui.add("clone_btn", gr.Button("Clone", scale=1, elem_id="clone"))
    ui.add("library_info", gr.Markdown(elem_id="library-info"))


def wire(ui: Ui, h: Any, demo: gr.Blocks, cpu: dict[str, Any], hidden: dict[str, Any]) -> None:
    ui.on(demo.load, lambda v: h.library(), (), ("library_table", "library_refused"), "library_msg",
          api_name="library")

    def clone(v: dict[str, Any]) -> dict[str, Any]:
        from lab.errors import LabError

        if not v["clone_src"]:
            raise LabError("", "pick the variant to clone first")
        out = h.clone(v["clone_src"], v["clone_id"], v["author"])
        return {**out, **pickers(h, v)}

    ui.on(ui["clone_btn"].click, clone, ("clone_src", "clone_id", "author", *PICKERS),
          ("library_table", "library_refused", "library_info", *PICKERS), "library_msg", api_name="clone", **cpu)

    def pick_row(v: dict[str, Any], select: Any) -> dict[str, Any]:
        row = select.index[0] if isinstance(select.index, (list, tuple)) else select.index
        data = v["library_table"]
        vid = data.iloc[row, 0] if hasattr(data, "iloc") else data[row][0]
        return {"variant": vid, "tabs": gr.Tabs(selected="design")}

    ui.on(ui["library_table"].select, pick_row, ("library_table",), ("variant", "tabs"), **hidden)
