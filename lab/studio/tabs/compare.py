"""The Compare tab: up to four variants on one sample event, playing in sync; any change clears the videos."""

from __future__ import annotations

from typing import Any

import gradio as gr

from lab.render.backends import uses_gpu
from lab.studio.common import CANCELS, LEVEL_CHOICES, LOCALES, SLOTS, SYNC_PLAY, Choice, RankNumber
from lab.studio.handlers import COMPARED
from lab.studio.wiring import Ui, Visible

SLOT_NAMES = tuple(f"cmp_slot_{i}" for i in range(SLOTS))
EVENT_NAMES = {"user": "c_user", "rival": "c_rival", "old_rank": "c_old", "new_rank": "c_new",
               "challenge": "c_challenge", "locale": "c_locale"}
INPUTS = (*SLOT_NAMES, *EVENT_NAMES.values(), "c_orientation", "c_backend", "c_level")


def layout(ui: Ui, variant_ids: list[str], backend_choices: list[Any]) -> None:
    from lab.studio import forms

    gr.Markdown("Up to four variants on one sample event, all playing in sync.")
    ui.add("compare_msg", gr.Markdown(elem_id="compare-msg", elem_classes="tab-message"))
    with gr.Row():
        for i, v in enumerate((variant_ids[3:6] + [""] * SLOTS)[:SLOTS]):
            ui.add(f"cmp_slot_{i}", Choice([""] + variant_ids, value=v, label=f"Variant {i + 1}",
                                                elem_id=f"cmp-slot-{i}"))
    with gr.Row():
        ui.add("c_user", gr.Textbox("小明", label="Name", elem_id="cmp-user"))
        ui.add("c_rival", gr.Textbox("Bob", label="Rival", elem_id="cmp-rival"))
        ui.add("c_old", RankNumber(7, label="Old rank", precision=0, elem_id="cmp-old"))
        ui.add("c_new", RankNumber(3, label="New rank", precision=0, elem_id="cmp-new"))
        ui.add("c_challenge", gr.Textbox("Weekly 5K", label="Challenge", elem_id="cmp-challenge"))
        ui.add("c_locale", Choice(LOCALES, value="zh-CN", label="Locale", elem_id="cmp-locale"))
    with gr.Row():
        ui.add("c_orientation", gr.Radio(list(forms.ORIENTATIONS), value="landscape", label="Orientation",
                                         elem_id="cmp-orientation"))
        ui.add("c_backend", gr.Radio(backend_choices, value="motion", label="Background", elem_classes="backend"))
        ui.add("c_level", Choice(LEVEL_CHOICES, value="auto", label="Degrade level", elem_id="cmp-level"))
    with gr.Row():
        ui.add("compare_btn", gr.Button("Render side by side", variant="primary", elem_id="compare-btn"))
        ui.add("compare_gpu_btn", gr.Button("Render side by side (model)", variant="primary", visible=False))
        ui.add("cmp_cancel", gr.Button("Cancel", elem_id="cancel-compare"))
        ui.add("sync_btn", gr.Button("Play all in sync", elem_id="sync"))
    with gr.Row(elem_id="compare"):
        for i in range(SLOTS):
            with gr.Column(min_width=220):
                ui.add(f"cmp_video_{i}", gr.Video(label=f"Variant {i + 1}", autoplay=True, loop=True,
                                                  elem_id=f"cmp-video-{i}"))
                ui.add(f"cmp_info_{i}", gr.Markdown(elem_id=f"cmp-info-{i}"))
                ui.add(f"cmp_prompt_{i}", gr.Textbox(label="Prompt sent", lines=3, interactive=False,
                                                     elem_id=f"cmp-prompt-{i}"))


def wire(ui: Ui, h: Any, cpu: dict[str, Any], gpu: dict[str, Any], live: dict[str, Any]) -> None:
    def compare(v: dict[str, Any], session: str, progress: Any) -> Any:
        event = {name: v[comp] for name, comp in EVENT_NAMES.items()}
        yield from h.compare([v[s] for s in SLOT_NAMES], event, v["c_orientation"], v["c_backend"], v["c_level"],
                             progress=progress, session=session)

    c_cpu = ui.on(ui["compare_btn"].click, compare, INPUTS, COMPARED, "compare_msg", api_name="compare", **cpu)
    c_gpu = ui.on(ui["compare_gpu_btn"].click, compare, INPUTS, COMPARED, "compare_msg", api_name="compare_model",
                  **gpu)
    for ev in (c_cpu, c_gpu):
        ev.then(None, js=SYNC_PLAY)

    def cancel(request: gr.Request) -> str:
        CANCELS.cancel(request.session_hash or "")
        return "Render cancelled: nothing was kept."

    ui["cmp_cancel"].click(cancel, None, ui["compare_msg"], cancels=[c_cpu, c_gpu], queue=False)
    ui["sync_btn"].click(None, js=SYNC_PLAY)
    ui.on(ui["c_backend"].change, lambda v: {"compare_btn": Visible(not uses_gpu(v["c_backend"])),
                                             "compare_gpu_btn": Visible(uses_gpu(v["c_backend"]))},
          ("c_backend",), ("compare_btn", "compare_gpu_btn"), **live)

    def clear(v: dict[str, Any]) -> dict[str, Any]:
        return {name: None if name.startswith("cmp_video") else "" for name in COMPARED}

    ui.on([ui[n].change for n in INPUTS if n != "c_backend"], clear, (), COMPARED,
          **live)
