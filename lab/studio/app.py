"""Highlight Lab studio (Gradio): design variants, preview them, save versions, read experiments.

Plain functions first, then the layout, then the wiring; every function calls the same lab code as the
CLI. Run: ``highlight-lab studio`` (or ``python -m lab.studio.app``).
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls to third-party services

import json  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from lab import config  # noqa: E402
from lab.errors import LabError  # noqa: E402
from lab.experiments.spec import ExperimentLibrary  # noqa: E402
from lab.library.variant import STYLES  # noqa: E402
from lab.library.versions import VariantLibrary  # noqa: E402
from lab.studio import forms as studio  # noqa: E402

VARIANTS = VariantLibrary(config.variants_dir())
EXPERIMENTS = ExperimentLibrary(config.experiments_dir(), VARIANTS)
FIELDS = list(studio.FORM)
# Soft's fonts are LocalFont (served by the studio itself); the browser test checks that no request leaves
# 127.0.0.1.
THEME = gr.themes.Soft(primary_hue="green")
BACKENDS = ["auto", "motion", "tiny-wan", "wan"]


def _fail(exc: LabError) -> gr.Error:
    return gr.Error(str(exc), duration=None)


# -- design --------------------------------------------------------------------------------


def load_variant(variant_id: str) -> list[Any]:
    """Fill the form from the current version; remember that version as the base of the edit."""
    try:
        v = VARIANTS.load(variant_id)
    except LabError as exc:
        raise _fail(exc) from None
    form = studio.variant_form(v)
    sample = studio.sample_event(v.scenario)
    info = f"**{v.id}** · {v.scenario} · version `{v.version}`" + ("" if VARIANTS.is_recorded(v) else
                                                                   " (unsaved hand edit)")
    return [form[f] for f in FIELDS] + [v.version, info, sample.user, sample.old_rank, sample.new_rank,
                                        sample.rival or "", sample.challenge or "", sample.locale,
                                        history_markdown(variant_id)]


def _edited(variant_id: str, values: tuple[Any, ...]) -> Any:
    base = VARIANTS.load(variant_id)
    return studio.apply_form(base, dict(zip(FIELDS, values, strict=True)))


def preview(variant_id: str, user: str, old_rank: Any, new_rank: Any, rival: str, challenge: str, locale: str,
            backend: str, level: Any, *values: Any) -> tuple[Any, ...]:
    try:
        v = _edited(variant_id, values)
        event = studio.preview_event(v.scenario, user, old_rank, new_rank, rival, challenge, locale)
        p = studio.render_preview(v, event, backend=backend, level=None if level in (None, "auto") else int(level),
                                  logo_root=VARIANTS.root)
    except (LabError, ValueError) as exc:
        raise _fail(exc if isinstance(exc, LabError) else LabError("form", str(exc))) from None
    sc = p.sidecar
    summary = (f"{sc['backend']} background · level {sc['level']} ({sc['level_reason']}) · {sc['width']}×{sc['height']}"
               f" · {sc['frames']} frames · cache {'hit' if sc['cache_hit'] else 'miss'} · {sc['seconds']:.2f} s")
    if sc["random_weights"]:
        summary += " · **random weights: the background is noise by design**"
    for w in sc["warnings"]:
        summary += f"\n\n⚠ {w}"
    return p.video, p.poster, p.contact_sheet, sc["prompt"], summary, json.dumps(sc, indent=2, ensure_ascii=False)


def save(variant_id: str, base_version: str, author: str, note: str, *values: Any) -> tuple[str, str, str]:
    try:
        v = _edited(variant_id, values)
        info = studio.save_version(VARIANTS, v, base_version, author, note)
    except LabError as exc:
        raise _fail(exc) from None
    return info.short, f"Saved **{v.id}** as version `{info.short}`.", history_markdown(variant_id)


def history_markdown(variant_id: str) -> str:
    rows = VARIANTS.history(variant_id)
    lines = ["| version | saved | author | note |", "|---|---|---|---|"]
    lines += [f"| `{h.short}` | {h.saved_at[:19].replace('T', ' ')} | {h.author or ''} | {h.note or ''} |"
              for h in rows]
    return "\n".join(lines)


def diff(variant_id: str, a: str, b: str) -> str:
    try:
        return VARIANTS.diff(variant_id, a.strip(), (b or "current").strip()) or "(no difference)"
    except LabError as exc:
        raise _fail(exc) from None


# -- experiments ---------------------------------------------------------------------------


def analyze_experiment(key: str) -> tuple[str, Any, list[list[Any]]]:
    from analysis.report import ctr_figure
    from lab.experiments.outcomes import OutcomeStore
    from lab.experiments.outcomes import analyze_experiment as run

    try:
        exp = EXPERIMENTS.load(key)
        result, _ = run(exp, OutcomeStore(key))
    except LabError as exc:
        raise _fail(exc) from None
    md = f"### {result.decision.headline}\n" + "\n".join(f"- {r}" for r in result.decision.reasons)
    md += f"\n\nUnit: **{result.unit}** ({result.variance_method}); SRM p = {result.srm.p_value:.3g}"
    table = [[v.variant, v.impressions, v.clicks, f"{v.ctr:.2%}", f"{v.ci_low:.2%} – {v.ci_high:.2%}",
              f"{result.bayes.p_best[v.variant]:.1%}"] for v in result.variants]
    return md, ctr_figure(result), table


def ingest(key: str, file: Any) -> str:
    from lab.experiments.workflow import ingest_and_track

    if file is None:
        raise gr.Error("Choose a counts or events file first.")
    try:
        (r,), result = ingest_and_track(EXPERIMENTS, EXPERIMENTS.load(key), [Path(file)])
    except LabError as exc:
        raise _fail(exc) from None
    state = "already ingested: nothing changed" if r.duplicate else f"added {r.rows:,} rows ({r.kind})"
    return f"{Path(file).name}: {state}. Decision now: **{result.decision.headline}**"


def export_winner(key: str, arm: str, force: bool, reason: str) -> str:
    from lab.experiments.workflow import export

    try:
        r = export(EXPERIMENTS, key, arm=arm or None, force=force, reason=reason or None)
    except LabError as exc:
        raise _fail(exc) from None
    return (f"Exported **{r.arm}** as `{r.prompt_name}` version {r.prompt_version} (alias production)"
            + (" — FORCED" if r.forced else "") + f". Bundle: `{r.bundle}`")


def power(baseline: float, mde_rel: float, alpha: float, power_: float, arms: int, daily: int) -> str:
    from analysis.power import plan

    try:
        p = plan(baseline, mde_rel=mde_rel, alpha=alpha, power=power_, arms=int(arms), daily=int(daily) or None)
    except ValueError as exc:
        raise gr.Error(str(exc)) from None
    return (f"**{p.n_per_arm:,} per arm** ({p.total:,} in all) to detect {p.baseline:.1%} → {p.target:.1%} "
            f"at α {p.alpha_per_comparison:.3g} per comparison with {p.power:.0%} power"
            + (f"; about **{p.days} days** at {int(daily):,} a day." if p.days else "."))


# -- layout --------------------------------------------------------------------------------

with gr.Blocks(title="Highlight Lab") as demo:
    gr.Markdown("# Highlight Lab\nDesign the celebration videos pushed when a user climbs a leaderboard, "
                "A/B test them on click-through, ship the winner.")
    base_version = gr.State("")
    with gr.Tab("Design"):
        with gr.Row():
            with gr.Column(scale=5):
                variant_id = gr.Dropdown(VARIANTS.ids(), value=VARIANTS.ids()[0] if VARIANTS.ids() else None,
                                         label="Variant", elem_id="variant")
                variant_info = gr.Markdown()
                title = gr.Textbox(label="Title")
                style = gr.Dropdown(list(STYLES), label="Animation style")
                template = gr.Textbox(label="Prompt template ({{new_rank}}, {{old_rank}}, {{challenge}}, ...; "
                                      "never names)", lines=4, elem_id="template")
                negative = gr.Textbox(label="Negative prompt", lines=2)
                with gr.Row():
                    cta_en = gr.Textbox(label="CTA (en)", elem_id="cta-en")
                    cta_zh = gr.Textbox(label="CTA (zh-CN)")
                with gr.Row():
                    primary = gr.ColorPicker(label="Brand colour")
                    accent = gr.ColorPicker(label="Accent colour")
                    particles = gr.Checkbox(label="Particles")
                    intensity = gr.Slider(0, 1, step=0.05, label="Intensity")
                with gr.Row():
                    width = gr.Number(label="Width", precision=0)
                    height = gr.Number(label="Height", precision=0)
                    duration = gr.Number(label="Seconds")
                    seed = gr.Number(label="Seed", precision=0)
            with gr.Column(scale=6):
                gr.Markdown("**Preview event** (made up: names are drawn by the overlay, never sent to a model)")
                with gr.Row():
                    user = gr.Textbox(label="Name", elem_id="user")
                    rival = gr.Textbox(label="Rival")
                    locale = gr.Dropdown(["en", "zh-CN"], label="Locale")
                with gr.Row():
                    old_rank = gr.Number(label="Old rank", precision=0)
                    new_rank = gr.Number(label="New rank", precision=0)
                    challenge = gr.Textbox(label="Challenge")
                with gr.Row():
                    backend = gr.Radio(BACKENDS, value="auto", label="Background")
                    level = gr.Dropdown(["auto", "0", "1", "2", "3", "4"], value="auto", label="Degrade level")
                render_btn = gr.Button("Render preview", variant="primary", elem_id="render")
                video = gr.Video(label="Preview", autoplay=True, loop=True, elem_id="video")
                render_info = gr.Markdown(elem_id="render-info")
                with gr.Row():
                    poster = gr.Image(label="End card (poster)", type="filepath")
                    sheet = gr.Image(label="Contact sheet", type="filepath")
                prompt = gr.Textbox(label="Prompt built for the model", lines=3, interactive=False,
                                    elem_id="prompt")
                with gr.Accordion("Sidecar JSON", open=False):
                    sidecar = gr.Code(language="json")
        with gr.Row():
            author = gr.Textbox(label="Your name (for the history)")
            note = gr.Textbox(label="What changed")
            save_btn = gr.Button("Save as new version", elem_id="save")
        save_info = gr.Markdown(elem_id="save-info")
        with gr.Accordion("History and diff", open=False):
            history = gr.Markdown()
            with gr.Row():
                diff_a = gr.Textbox(label="Older version")
                diff_b = gr.Textbox(label="Newer version", value="current")
                diff_btn = gr.Button("Diff")
            diff_out = gr.Code(language="yaml")
    with gr.Tab("Experiments"):
        exp_key = gr.Dropdown(EXPERIMENTS.keys(), value=EXPERIMENTS.keys()[0] if EXPERIMENTS.keys() else None,
                              label="Experiment")
        with gr.Row():
            outcome_file = gr.File(label="Outcome file (counts or events: CSV, Parquet, JSON lines)",
                                   type="filepath")
            ingest_btn = gr.Button("Ingest")
        ingest_info = gr.Markdown()
        analyze_btn = gr.Button("Analyse", variant="primary")
        decision = gr.Markdown()
        ctr_plot = gr.Plot()
        ctr_table = gr.Dataframe(headers=["variant", "impressions", "clicks", "CTR", "95 % CI", "P(best)"])
        with gr.Row():
            export_arm = gr.Textbox(label="Arm (blank: the winner)")
            force = gr.Checkbox(label="Force")
            reason = gr.Textbox(label="Reason (required to force)")
            export_btn = gr.Button("Export to production")
        export_info = gr.Markdown()
    with gr.Tab("Power"):
        with gr.Row():
            p_base = gr.Number(0.23, label="Baseline CTR")
            p_mde = gr.Number(0.10, label="Relative lift to detect")
            p_alpha = gr.Number(0.05, label="Alpha")
            p_power = gr.Number(0.8, label="Power")
            p_arms = gr.Number(3, label="Arms", precision=0)
            p_daily = gr.Number(5000, label="Daily traffic", precision=0)
        p_btn = gr.Button("Compute")
        p_out = gr.Markdown()

    # -- wiring ----------------------------------------------------------------------------
    form = [title, style, template, negative, cta_en, cta_zh, primary, accent, particles, intensity, width, height,
            duration, seed]
    loaded = form + [base_version, variant_info, user, old_rank, new_rank, rival, challenge, locale, history]
    variant_id.change(load_variant, variant_id, loaded)
    demo.load(load_variant, variant_id, loaded)
    render_btn.click(preview, [variant_id, user, old_rank, new_rank, rival, challenge, locale, backend, level, *form],
                     [video, poster, sheet, prompt, render_info, sidecar])
    save_btn.click(save, [variant_id, base_version, author, note, *form], [base_version, save_info, history])
    diff_btn.click(diff, [variant_id, diff_a, diff_b], diff_out)
    ingest_btn.click(ingest, [exp_key, outcome_file], ingest_info)
    analyze_btn.click(analyze_experiment, exp_key, [decision, ctr_plot, ctr_table])
    export_btn.click(export_winner, [exp_key, export_arm, force, reason], export_info)
    p_btn.click(power, [p_base, p_mde, p_alpha, p_power, p_arms, p_daily], p_out)


def launch(cfg: config.LabConfig | None = None, **kwargs: Any) -> None:
    cfg = cfg or config.LabConfig.from_env()
    config.data_dir().mkdir(parents=True, exist_ok=True)
    demo.launch(server_name=cfg.host, server_port=cfg.port,
                allowed_paths=[str(config.data_dir())], ssr_mode=False, theme=THEME, **kwargs)


if __name__ == "__main__":
    launch()
