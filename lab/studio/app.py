"""Highlight Lab studio (Gradio): design variants, preview them, save versions, read experiments.

Laid out like Gradio's own demos: plain functions first (``Handlers``: every one calls the same lab code as
the CLI, and returns its values keyed by name), then the layout (``build_demo``), then the wiring at its end.
Nothing here is built at import time: ``build_demo(cfg)`` opens the libraries ``cfg`` names, so one process
can hold studios over different folders. Run: ``highlight-lab studio`` (or ``python -m lab.app``).

Components are wired by name, never by position: the layout keeps one mapping from names (the form's field
names, ``forms.FORM``, and the others below) to components; events take their inputs as a set (the function
receives one dict keyed by component) and return a dict keyed by component.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls to third-party services

import functools  # noqa: E402
import json  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from analysis.power import plan  # noqa: E402
from analysis.report import ctr_figure  # noqa: E402
from lab import config  # noqa: E402
from lab.errors import LabError  # noqa: E402
from lab.experiments import tracking, workflow  # noqa: E402
from lab.experiments.spec import ExperimentLibrary  # noqa: E402
from lab.library.events import sample_event  # noqa: E402
from lab.library.variant import MAX_LEVEL, Variant  # noqa: E402
from lab.library.versions import VariantLibrary  # noqa: E402
from lab.render.backends import BACKENDS  # noqa: E402
from lab.render.styles import STYLES  # noqa: E402
from lab.studio import forms  # noqa: E402

# Soft's fonts are LocalFont (served by the studio itself); the browser test checks that no request leaves
# 127.0.0.1.
THEME = gr.themes.Soft(primary_hue="green")
# Choices derived from the code that defines them ("auto" first, as the renderer's default).
BACKEND_CHOICES = ["auto", *sorted(b for b in BACKENDS if b != "auto")]
LEVEL_CHOICES = ["auto"] + [str(i) for i in range(MAX_LEVEL + 1)]
STYLE_CHOICES = list(STYLES)
LOCALES = ["en", "zh-CN"]

# The names of what each handler reads and returns, beyond the form's fields (``forms.FORM``).
EVENT = ("user", "old_rank", "new_rank", "rival", "challenge", "locale")  # the made-up preview event
LOADED = (*forms.FORM, *EVENT, "base_version", "variant_info", "history")
RENDERED = ("video", "poster", "sheet", "prompt", "render_info", "sidecar")
SAVED = ("base_version", "save_info", "history")
ANALYSED = ("decision", "ctr_plot", "ctr_table", "analysis_run")


# -- plain functions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Handlers:
    """What the studio's buttons do, over one variant library and one experiment library.

    Plain functions (no Gradio): they raise ``LabError`` and return values keyed by name; ``build_demo``
    shows the errors and binds the names to components.
    """

    variants: VariantLibrary
    experiments: ExperimentLibrary

    @classmethod
    def from_config(cls, cfg: config.LabConfig) -> Handlers:
        variants = VariantLibrary(cfg.variants_dir)
        return cls(variants, ExperimentLibrary(cfg.experiments_dir, variants))

    # design

    def load_variant(self, variant_id: str) -> dict[str, Any]:
        """Fill the form from the current version; remember that version as the base of the edit."""
        v = self.variants.load(variant_id)
        sample = sample_event(v.scenario)
        info = f"**{v.id}** · {v.scenario} · version `{v.version}`" + ("" if self.variants.is_recorded(v) else
                                                                       " (unsaved hand edit)")
        return {**forms.variant_form(v), "user": sample.user, "old_rank": sample.old_rank,
                "new_rank": sample.new_rank, "rival": sample.rival or "", "challenge": sample.challenge or "",
                "locale": sample.locale, "base_version": v.version, "variant_info": info,
                "history": self.history_markdown(variant_id)}

    def edited(self, variant_id: str, form: Mapping[str, Any]) -> Variant:
        """The current version of ``variant_id`` with the form's fields (names as in ``forms.FORM``)."""
        try:
            return forms.apply_form(self.variants.load(variant_id), dict(form))
        except ValueError as exc:  # a number field that is not a number
            raise LabError("form", str(exc)) from None

    def preview(self, variant_id: str, form: Mapping[str, Any], event: Mapping[str, Any], backend: str,
                level: Any) -> dict[str, Any]:
        """Render the edited variant on a made-up event (``event`` keyed by ``EVENT``)."""
        v = self.edited(variant_id, form)
        try:
            e = forms.preview_event(v.scenario, **{name: event[name] for name in EVENT})
            p = forms.render_preview(v, e, backend=backend, level=None if level in (None, "auto") else int(level),
                                     logo_root=self.variants.root)
        except ValueError as exc:
            raise LabError("form", str(exc)) from None
        sc = p.sidecar
        summary = (f"{sc['backend']} background · level {sc['level']} ({sc['level_reason']}) · "
                   f"{sc['width']}×{sc['height']} · {sc['frames']} frames · "
                   f"cache {'hit' if sc['cache_hit'] else 'miss'} · {sc['seconds']:.2f} s")
        if sc["random_weights"]:
            summary += " · **random weights: the background is noise by design**"
        for w in sc["warnings"]:
            summary += f"\n\n⚠ {w}"
        return {"video": p.video, "poster": p.poster, "sheet": p.contact_sheet, "prompt": sc["prompt"],
                "render_info": summary, "sidecar": json.dumps(sc, indent=2, ensure_ascii=False)}

    def save(self, variant_id: str, form: Mapping[str, Any], base_version: str, author: str,
             note: str) -> dict[str, Any]:
        """Save the edit as a new version on top of ``base_version`` (a conflict if someone saved since)."""
        v = self.edited(variant_id, form)
        info = forms.save_version(self.variants, v, base_version, author, note)
        return {"base_version": info.short, "save_info": f"Saved **{v.id}** as version `{info.short}`.",
                "history": self.history_markdown(variant_id)}

    def history_markdown(self, variant_id: str) -> str:
        rows = self.variants.history(variant_id)
        lines = ["| version | saved | author | note |", "|---|---|---|---|"]
        lines += [f"| `{h.short}` | {h.saved_at[:19].replace('T', ' ')} | {h.author or ''} | {h.note or ''} |"
                  for h in rows]
        return "\n".join(lines)

    def diff(self, variant_id: str, a: str, b: str) -> str:
        return self.variants.diff(variant_id, a.strip(), (b or "current").strip()) or "(no difference)"

    # experiments

    def ingest(self, key: str, file: Any) -> str:
        """Add an outcome file and update the arms' MLflow metrics (``workflow.ingest_and_track``)."""
        if file is None:
            raise LabError("", "Choose a counts or events file first.")
        (r,), result = workflow.ingest_and_track(self.experiments, self.experiments.load(key), [Path(file)])
        state = "already ingested: nothing changed" if r.duplicate else f"added {r.rows:,} rows ({r.kind})"
        return f"{Path(file).name}: {state}. Decision now: **{result.decision.headline}**"

    def analyse(self, key: str) -> dict[str, Any]:
        """Analyse the stored outcomes and log the analysis as an MLflow run, as
        ``highlight-lab experiments analyze KEY`` does (both call ``workflow.analyze_and_log``)."""
        done = workflow.analyze_and_log(self.experiments, key)
        result = done.result
        md = f"### {result.decision.headline}\n" + "\n".join(f"- {r}" for r in result.decision.reasons)
        md += f"\n\nUnit: **{result.unit}** ({result.variance_method}); SRM p = {result.srm.p_value:.3g}"
        table = [[v.variant, v.impressions, v.clicks, f"{v.ctr:.2%}", f"{v.ci_low:.2%} – {v.ci_high:.2%}",
                  f"{result.bayes.p_best[v.variant]:.1%}"] for v in result.variants]
        run = f"Logged as MLflow run `{done.run_id}` in experiment `{tracking.experiment_name(key)}`."
        return {"decision": md, "ctr_plot": ctr_figure(result), "ctr_table": table, "analysis_run": run}

    def export(self, key: str, arm: str, force: bool, reason: str) -> str:
        """Ship the winner, or a forced arm with a reason (``workflow.export``)."""
        r = workflow.export(self.experiments, key, arm=arm or None, force=force, reason=reason or None)
        return (f"Exported **{r.arm}** as `{r.prompt_name}` version {r.prompt_version} (alias production)"
                + (" — FORCED" if r.forced else "") + f". Bundle: `{r.bundle}`")


def power(baseline: float, mde_rel: float, alpha: float, power_: float, arms: int, daily: int) -> str:
    """The sample size a test needs (``analysis.power.plan``)."""
    try:
        p = plan(baseline, mde_rel=mde_rel, alpha=alpha, power=power_, arms=int(arms), daily=int(daily) or None)
    except ValueError as exc:
        raise LabError("", str(exc)) from None
    return (f"**{p.n_per_arm:,} per arm** ({p.total:,} in all) to detect {p.baseline:.1%} → {p.target:.1%} "
            f"at α {p.alpha_per_comparison:.3g} per comparison with {p.power:.0%} power"
            + (f"; about **{p.days} days** at {int(daily):,} a day." if p.days else "."))


def shows_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The one place a ``LabError`` becomes the message the page shows."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LabError as exc:
            raise gr.Error(str(exc), duration=None) from None

    return wrapper


# -- layout ----------------------------------------------------------------------------------


def build_demo(cfg: config.LabConfig) -> gr.Blocks:
    """The studio over the libraries ``cfg`` names."""
    h = Handlers.from_config(cfg)
    variant_ids, exp_keys = h.variants.ids(), h.experiments.keys()

    with gr.Blocks(title="Highlight Lab") as demo:
        gr.Markdown("# Highlight Lab\nDesign the celebration videos pushed when a user climbs a leaderboard, "
                    "A/B test them on click-through, ship the winner.")
        base_version = gr.State("")
        with gr.Tab("Design"):
            with gr.Row():
                with gr.Column(scale=5):
                    variant_id = gr.Dropdown(variant_ids, value=variant_ids[0] if variant_ids else None,
                                             label="Variant", elem_id="variant")
                    variant_info = gr.Markdown()
                    title = gr.Textbox(label="Title")
                    style = gr.Dropdown(STYLE_CHOICES, label="Animation style")
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
                        locale = gr.Dropdown(LOCALES, label="Locale")
                    with gr.Row():
                        old_rank = gr.Number(label="Old rank", precision=0)
                        new_rank = gr.Number(label="New rank", precision=0)
                        challenge = gr.Textbox(label="Challenge")
                    with gr.Row():
                        backend = gr.Radio(BACKEND_CHOICES, value="auto", label="Background")
                        level = gr.Dropdown(LEVEL_CHOICES, value="auto", label="Degrade level")
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
            exp_key = gr.Dropdown(exp_keys, value=exp_keys[0] if exp_keys else None, label="Experiment")
            with gr.Row():
                outcome_file = gr.File(label="Outcome file (counts or events: CSV, Parquet, JSON lines)",
                                       type="filepath")
                ingest_btn = gr.Button("Ingest")
            ingest_info = gr.Markdown()
            analyze_btn = gr.Button("Analyse", variant="primary")
            decision = gr.Markdown()
            ctr_plot = gr.Plot()
            ctr_table = gr.Dataframe(headers=["variant", "impressions", "clicks", "CTR", "95 % CI", "P(best)"])
            analysis_run = gr.Markdown(elem_id="analysis-run")
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

        # -- wiring by name ------------------------------------------------------------------
        # The form's fields by their names in forms.FORM; every other component a handler reads or fills.
        form = {"title": title, "style": style, "template": template, "negative": negative, "cta_en": cta_en,
                "cta_zh": cta_zh, "primary": primary, "accent": accent, "particles": particles,
                "intensity": intensity, "width": width, "height": height, "duration_s": duration, "seed": seed}
        event = {"user": user, "old_rank": old_rank, "new_rank": new_rank, "rival": rival, "challenge": challenge,
                 "locale": locale}
        named = {**form, **event, "base_version": base_version, "variant_info": variant_info, "history": history,
                 "video": video, "poster": poster, "sheet": sheet, "prompt": prompt, "render_info": render_info,
                 "sidecar": sidecar, "save_info": save_info, "decision": decision, "ctr_plot": ctr_plot,
                 "ctr_table": ctr_table, "analysis_run": analysis_run}

        def components(names: tuple[str, ...]) -> set[gr.components.Component]:
            return {named[n] for n in names}

        def values_of(values: dict[Any, Any], group: dict[str, Any]) -> dict[str, Any]:
            return {name: values[comp] for name, comp in group.items()}

        def shown(out: dict[str, Any]) -> dict[Any, Any]:
            return {named[name]: value for name, value in out.items()}

        @shows_errors
        def load_variant(variant: str) -> dict[Any, Any]:
            return shown(h.load_variant(variant))

        @shows_errors
        def preview(values: dict[Any, Any]) -> dict[Any, Any]:
            return shown(h.preview(values[variant_id], values_of(values, form), values_of(values, event),
                                   backend=values[backend], level=values[level]))

        @shows_errors
        def save(values: dict[Any, Any]) -> dict[Any, Any]:
            return shown(h.save(values[variant_id], values_of(values, form), base_version=values[base_version],
                                author=values[author], note=values[note]))

        @shows_errors
        def diff(values: dict[Any, Any]) -> str:
            return h.diff(values[variant_id], a=values[diff_a], b=values[diff_b])

        @shows_errors
        def ingest(values: dict[Any, Any]) -> str:
            return h.ingest(values[exp_key], file=values[outcome_file])

        @shows_errors
        def analyze_experiment(key: str) -> dict[Any, Any]:
            return shown(h.analyse(key))

        @shows_errors
        def export_winner(values: dict[Any, Any]) -> str:
            return h.export(values[exp_key], arm=values[export_arm], force=values[force], reason=values[reason])

        @shows_errors
        def compute_power(values: dict[Any, Any]) -> str:
            return power(baseline=values[p_base], mde_rel=values[p_mde], alpha=values[p_alpha],
                         power_=values[p_power], arms=values[p_arms], daily=values[p_daily])

        variant_id.change(load_variant, variant_id, components(LOADED))
        demo.load(load_variant, variant_id, components(LOADED))
        render_btn.click(preview, {variant_id, backend, level, *form.values(), *event.values()},
                         components(RENDERED))
        save_btn.click(save, {variant_id, base_version, author, note, *form.values()}, components(SAVED))
        diff_btn.click(diff, {variant_id, diff_a, diff_b}, diff_out)
        ingest_btn.click(ingest, {exp_key, outcome_file}, ingest_info)
        analyze_btn.click(analyze_experiment, exp_key, components(ANALYSED))
        export_btn.click(export_winner, {exp_key, export_arm, force, reason}, export_info)
        p_btn.click(compute_power, {p_base, p_mde, p_alpha, p_power, p_arms, p_daily}, p_out, api_name="power")
    return demo


def launch(cfg: config.LabConfig | None = None, **kwargs: Any) -> None:
    """Build the studio for ``cfg`` (default: the environment) and serve it on ``cfg.host``:``cfg.port``."""
    cfg = cfg or config.LabConfig.from_env()
    config.data_dir().mkdir(parents=True, exist_ok=True)
    build_demo(cfg).launch(server_name=cfg.host, server_port=cfg.port, allowed_paths=[str(config.data_dir())],
                           ssr_mode=False, theme=THEME, **kwargs)


if __name__ == "__main__":
    launch()
