"""The Design tab: the variant as a form with live checks on every input event (typing, paste, IME), a preview
render that belongs to the form on screen, saving with conflicts, and the history side by side."""

from __future__ import annotations

from typing import Any

import gradio as gr

from lab.render.backends import uses_gpu
from lab.render.styles import MOTION_KNOBS
from lab.studio import forms
from lab.studio.common import CANCELS, LEVEL_CHOICES, LOCALES, STYLE_CHOICES, Choice, RankNumber, RenderSteps
from lab.studio.handlers import CHECKED, EVENT, FIELD_ERRORS, LOADED, RENDERED, SAVED
from lab.studio.tabs import PICKERS, pickers
from lab.studio.wiring import Choices, Ui, Visible

FORM_FIELDS = tuple(n for n in forms.FORM if n not in ("width", "height"))  # the size picker holds both
MOTION_FIELDS = tuple(f"motion_{key}" for key in MOTION_KNOBS)
# What the frame strip is drawn from: the picture's knobs, not the text fields (a keystroke draws nothing).
STRIP_FIELDS = ("style", "primary", "accent", "particles", "intensity", "orientation", "size", "duration_s", "seed",
                *MOTION_FIELDS)
ERROR_AREAS = {"err_template": "err-template", "err_cta_en": "err-cta-en", "err_event": "err-event",
               "err_duration_s": "err-duration-s"}


def error(ui: Ui, name: str) -> None:
    ui.add(name, gr.Markdown(elem_classes="field-error", elem_id=ERROR_AREAS.get(name, name.replace("_", "-"))))


def form_column(ui: Ui, variant_ids: list[str]) -> None:
    ui.add("variant", Choice(variant_ids, value=variant_ids[0] if variant_ids else None, label="Variant",
                                  elem_id="variant"))
    ui.add("variant_info", gr.Markdown(elem_id="variant-info"))
    ui.add("title", gr.Textbox(label="Title", elem_id="title"))
    error(ui, "err_title")
    ui.add("style", Choice(STYLE_CHOICES, label="Animation style", elem_id="style"))
    error(ui, "err_style")
    ui.add("template", gr.Textbox(label="Prompt template: {{new_rank}}, {{old_rank}}, {{challenge}}, …; never names",
                                  lines=4, elem_id="template"))
    error(ui, "err_template")
    ui.add("negative", gr.Textbox(label="Negative prompt", lines=2, elem_id="negative"))
    error(ui, "err_negative")
    with gr.Row():
        ui.add("cta_en", gr.Textbox(label="Button text (English)", elem_id="cta-en"))
        ui.add("cta_zh", gr.Textbox(label="Button text (Chinese)", elem_id="cta-zh"))
    error(ui, "err_cta_en")
    error(ui, "err_cta_zh")
    with gr.Row():
        ui.add("primary", gr.ColorPicker(label="Brand colour", elem_id="primary"))
        ui.add("accent", gr.ColorPicker(label="Accent colour", elem_id="accent"))
        ui.add("particles", gr.Checkbox(label="Particles", elem_id="particles"))
        ui.add("intensity", gr.Slider(0, 1, step=0.05, label="Intensity", elem_id="intensity"))
    for name in ("err_primary", "err_accent", "err_particles", "err_intensity"):
        error(ui, name)
    with gr.Row():
        ui.add("orientation", gr.Radio(list(forms.ORIENTATIONS), label="Orientation", elem_id="orientation"))
        ui.add("size", Choice(forms.size_choices("landscape"), label="Size (what the model makes)",
                                   elem_id="size"))
        # No minimum or maximum here: the range is the schema's, checked with the form, its error beside it.
        ui.add("duration_s", gr.Number(label="Seconds (0.5 to 10)", elem_id="duration-s"))
        ui.add("seed", gr.Number(label="Seed", precision=0, elem_id="seed"))
    for name in ("err_width", "err_height", "err_duration_s", "err_seed"):
        error(ui, name)
    with gr.Row():
        ui.add("logo", gr.Textbox(label="Logo (in the library's assets)", interactive=False, elem_id="logo"))
        ui.add("logo_upload", gr.UploadButton("Upload logo", file_types=[".png", ".jpg", ".jpeg"]))
        ui.add("font", Choice(list(forms.FONTS), label="Font", elem_id="font"))
    ui.add("logo_info", gr.Markdown())
    for name in ("err_logo", "err_font", "err_form"):
        error(ui, name)
    motion_knobs(ui)


def motion_knobs(ui: Ui) -> None:
    """The variant's ``motion:`` overrides, each in its range; blank keeps the style's own beat."""
    with gr.Accordion("Motion (blank: the style's own timing)", open=False, elem_id="motion"):
        for row in (tuple(MOTION_KNOBS)[:3], tuple(MOTION_KNOBS)[3:]):
            with gr.Row():
                for key in row:
                    k = MOTION_KNOBS[key]
                    ui.add(f"motion_{key}", gr.Number(label=f"{k.help} ({k.low:g} to {k.high:g} {k.unit})",
                                                      elem_id=f"motion-{key.replace('_', '-')}"))
        for key in MOTION_KNOBS:
            error(ui, f"err_motion_{key}")


def preview_column(ui: Ui, backend_choices: list[Any]) -> None:
    gr.Markdown("**Sample event** (made up: names are drawn by the overlay, never sent to a model)")
    with gr.Row():
        ui.add("user", gr.Textbox(label="Name", elem_id="user"))
        ui.add("rival", gr.Textbox(label="Rival", elem_id="rival"))
        ui.add("locale", Choice(LOCALES, label="Locale", elem_id="locale"))
    with gr.Row():
        ui.add("old_rank", RankNumber(label="Old rank", precision=0, elem_id="old-rank"))
        ui.add("new_rank", RankNumber(label="New rank", precision=0, elem_id="new-rank"))
        ui.add("challenge", gr.Textbox(label="Challenge", elem_id="challenge"))
    error(ui, "err_event")
    ui.add("prompt", gr.Textbox(label="Prompt the model gets (live)", lines=3, interactive=False, elem_id="prompt"))
    with gr.Row():
        ui.add("backend", gr.Radio(backend_choices, value="auto", label="Background", elem_classes="backend"))
        ui.add("level", Choice(LEVEL_CHOICES, value="auto", label="Degrade level", elem_id="level"))
    with gr.Row():
        ui.add("render_btn", gr.Button("Render preview", variant="primary", elem_id="render"))
        ui.add("render_gpu_btn", gr.Button("Render preview (model)", variant="primary", visible=False,
                                           elem_id="render-gpu"))
        ui.add("cancel_btn", gr.Button("Cancel", elem_id="cancel-render"))
    # The heading sits above the strip, not on it: a label drawn over the image would hide the first beats' names.
    gr.Markdown("**Frame strip**: the beats, redrawn as the style, colours, size and motion change")
    ui.add("strip", gr.Image(show_label=False, type="pil", interactive=False,
                             elem_id="frame-strip"))
    ui.add("video", gr.Video(label="Preview", autoplay=True, loop=True, elem_id="video"))
    ui.add("render_info", gr.Markdown(elem_id="render-info"))
    with gr.Row():
        ui.add("poster", gr.Image(label="End card (poster)", type="filepath", elem_id="poster"))
        ui.add("sheet", gr.Image(label="Contact sheet (the beats)", type="filepath", elem_id="sheet"))
    with gr.Accordion("Sidecar JSON", open=False):
        ui.add("sidecar", gr.Code(language="json"))


def layout(ui: Ui, variant_ids: list[str], backend_choices: list[Any]) -> None:
    ui.add("base_version", gr.State(""))
    ui.add("history_picks", gr.State([]))
    ui.add("conflict", gr.State(False))
    ui.add("kept_info", gr.State(None))  # the "kept as a copy" message, shown again when the copy loads
    ui.add("design_msg", gr.Markdown(elem_id="design-msg", elem_classes="tab-message"))
    with gr.Row():
        with gr.Column(scale=5):
            form_column(ui, variant_ids)
        with gr.Column(scale=6):
            preview_column(ui, backend_choices)
    with gr.Row():
        ui.add("author", gr.Textbox(label="Your name (for the history)", elem_id="author"))
        ui.add("note", gr.Textbox(label="What changed", elem_id="note"))
        ui.add("save_btn", gr.Button("Save as new version", elem_id="save", variant="primary"))
    ui.add("save_info", gr.Markdown(elem_id="save-info"))
    with gr.Row(visible=False) as conflict_row:
        ui.add("reload_btn", gr.Button("Reload theirs", elem_id="reload-theirs"))
        ui.add("copy_btn", gr.Button("Keep mine as a copy", elem_id="keep-copy"))
    ui.add("conflict_row", conflict_row)
    gr.Markdown("**History**: click two rows to see them side by side.")
    ui.add("history", gr.Dataframe(headers=["version", "saved", "by", "note"], interactive=False, wrap=True,
                                   elem_id="history"))
    ui.add("diff_title", gr.Markdown(elem_id="diff-title"))
    with gr.Row():
        ui.add("diff_old", gr.Code(language="yaml", label="Older", elem_id="diff-old"))
        ui.add("diff_new", gr.Code(language="yaml", label="Newer", elem_id="diff-new"))
    with gr.Accordion("Unified diff", open=False):
        ui.add("diff_text", gr.Code(language=None, elem_id="diff-text"))


def form_of(v: dict[str, Any]) -> dict[str, Any]:
    return {name: v[name] for name in FORM_FIELDS}


def event_of(v: dict[str, Any]) -> dict[str, Any]:
    return {name: v[name] for name in EVENT}


def with_conflict(out: dict[str, Any]) -> dict[str, Any]:
    """The conflict flag also shows or hides the two ways out of a conflict."""
    return {**out, "conflict_row": Visible(bool(out["conflict"]))} if "conflict" in out else out


LOADED_OUT = (*LOADED, "size", "conflict_row", "history_picks", "diff_old", "diff_new", "diff_text", "diff_title",
              "save_info", "logo_info")
FORM_IN = ("variant", "size", *FORM_FIELDS, *EVENT)


def wire_strip(ui: Ui, h: Any, demo: gr.Blocks, live: dict[str, Any]) -> None:
    """The frame strip follows the picture's knobs (and the variant picked), the last change's strip shown."""
    def strip(v: dict[str, Any]) -> Any:
        if not v["variant"]:
            return gr.skip()
        return h.strip(v["variant"], form_of(v), event_of(v), v["orientation"], size=v["size"])

    ui.on([demo.load, ui["variant"].change, *(ui[n].change for n in STRIP_FIELDS)], strip,
          ("variant", "orientation", "size", *FORM_FIELDS, *EVENT), ("strip",), "design_msg", api_name="strip",
          **live)


def wire(ui: Ui, h: Any, demo: gr.Blocks, cpu: dict[str, Any], gpu: dict[str, Any], live: dict[str, Any],
         hidden: dict[str, Any]) -> None:
    def load_variant(v: dict[str, Any]) -> Any:
        if not v["variant"]:
            return gr.skip()
        out = h.load_variant(v["variant"])
        # Keeping a copy picks the copy, which loads it: the copy's message stays, any other load clears it.
        kept = v.get("kept_info") or {}
        return {**with_conflict(out), "size": Choices(forms.size_choices(out["orientation"]), out["size"]),
                "history_picks": [], "diff_old": "", "diff_new": "", "diff_text": "", "diff_title": "",
                "save_info": kept.get(v["variant"], ""), "logo_info": "", "kept_info": None}

    loaded_in, loaded_out = ("variant", "kept_info"), (*LOADED_OUT, "kept_info")
    ui.on(ui["variant"].change, load_variant, loaded_in, loaded_out, "design_msg", api_name="load_variant")
    ui.on(demo.load, load_variant, loaded_in, loaded_out, "design_msg", **hidden)

    def check(v: dict[str, Any]) -> Any:
        if not v["variant"]:
            return gr.skip()
        return h.check(v["variant"], form_of(v), event_of(v), size=v["size"])

    # Every way a value changes (typing, paste, IME composition end, a picker, a program) runs the check: one
    # listener over all the fields, the last change's answer the one shown.
    fields = [ui[n] for n in ("size", *FORM_FIELDS, *EVENT)]
    ui.on([c.change for c in fields], check, FORM_IN, CHECKED, "design_msg", api_name="check",
          **live)

    def pick_orientation(v: dict[str, Any]) -> dict[str, Any]:
        try:
            w, hgt = forms.parse_size(v["size"] or "")
        except Exception:  # noqa: BLE001 - an empty picker: the default size
            w, hgt = 864, 480
        if forms.orientation_of(w, hgt) != v["orientation"]:
            w, hgt = hgt, w
        choices = forms.size_choices(v["orientation"])
        label = forms.size_label(w, hgt)
        return {"size": Choices(choices, label if label in choices else choices[0])}

    wire_strip(ui, h, demo, live)

    ui.on(ui["orientation"].input, pick_orientation, ("orientation", "size"), ("size",), **live)
    ui.on(ui["backend"].change, lambda v: {"render_btn": Visible(not uses_gpu(v["backend"])),
                                           "render_gpu_btn": Visible(uses_gpu(v["backend"]))},
          ("backend",), ("render_btn", "render_gpu_btn"), **live)

    def preview(v: dict[str, Any], session: str, progress: Any) -> dict[str, Any]:
        step = RenderSteps(lambda f, d: progress(f, desc=d), session=session)
        return h.preview(v["variant"], form_of(v), event_of(v), backend=v["backend"], level=v["level"],
                         size=v["size"], progress=step)

    render_in = (*FORM_IN, "backend", "level")
    r_cpu = ui.on(ui["render_btn"].click, preview, render_in, RENDERED, "design_msg", api_name="preview", **cpu)
    r_gpu = ui.on(ui["render_gpu_btn"].click, preview, render_in, RENDERED, "design_msg", api_name="preview_model",
                  **gpu)

    def cancel(request: gr.Request) -> str:
        CANCELS.cancel(request.session_hash or "")  # the render stops at its next step
        return "Render cancelled: nothing was kept."

    ui["cancel_btn"].click(cancel, None, ui["design_msg"], cancels=[r_cpu, r_gpu], queue=False)
    ui.on(ui["logo_upload"].upload, lambda v: h.upload_logo(v["logo_upload"]), ("logo_upload",),
          ("logo", "logo_info"), "design_msg", api_name="upload_logo", **cpu)

    def save(v: dict[str, Any]) -> dict[str, Any]:
        return with_conflict(h.save(v["variant"], form_of(v), base_version=v["base_version"], author=v["author"],
                                    note=v["note"], size=v["size"]))

    ui.on(ui["save_btn"].click, save, (*FORM_IN, "base_version", "author", "note"), (*SAVED, "conflict_row"),
          "design_msg", api_name="save", **cpu)

    def reload_theirs(v: dict[str, Any]) -> Any:
        out = load_variant(v)
        return {**out, "save_info": "Reloaded the latest version; your edit was dropped."}

    ui.on(ui["reload_btn"].click, reload_theirs, ("variant",), LOADED_OUT, "design_msg", api_name="reload_theirs",
          **cpu)

    def keep_copy(v: dict[str, Any]) -> dict[str, Any]:
        new_id, out = h.keep_copy(v["variant"], form_of(v), v["author"], v["note"], size=v["size"])
        return {**out, **pickers(h, v, variant=new_id), "conflict_row": Visible(False),
                "kept_info": {new_id: out["save_info"]}}

    ui.on(ui["copy_btn"].click, keep_copy, (*FORM_IN, "author", "note", *PICKERS),
          ("save_info", "library_table", "conflict_row", "kept_info", *PICKERS), "design_msg", api_name="keep_copy",
          **cpu)

    def pick_history(v: dict[str, Any], select: Any) -> dict[str, Any]:
        data = v["history"]
        row = select.index[0] if isinstance(select.index, (list, tuple)) else select.index
        short = data.iloc[row, 0] if hasattr(data, "iloc") else data[row][0]
        picks = [p for p in v["history_picks"] if p != short][-1:] + [short]
        if len(picks) == 2:
            return {"history_picks": picks, **h.diff_pair(v["variant"], picks[0], picks[1])}
        return {"history_picks": picks, "diff_title": f"Picked `{short}`: click a second row to compare."}

    ui.on(ui["history"].select, pick_history, ("history", "history_picks", "variant"),
          ("history_picks", "diff_old", "diff_new", "diff_text", "diff_title"), "design_msg", **hidden)


__all__ = ["FIELD_ERRORS", "layout", "wire"]
