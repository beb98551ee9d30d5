"""Highlight Lab studio (Gradio): the whole loop in the browser, design → compare → experiment → decide → ship.

Laid out like Gradio's own demos: plain functions first (``Handlers``: every one calls the same lab code as
the CLI, ``lab.experiments.workflow`` or a library function, and returns its values keyed by name), then the
layout (``build_demo``), then the wiring at its end. Nothing here is built at import time: ``build_demo(cfg)``
opens the libraries ``cfg`` names, so one process can hold studios over different folders. Run:
``highlight-lab studio`` (or ``python -m lab.app``).

Components are wired by name, never by position: the layout keeps one mapping from names to components;
events take their inputs as a set (the function receives one dict keyed by component) and return a dict
keyed by component. Everything a user typed is shown as text: tables are ``gr.Dataframe`` cells, and any
user text inside Markdown goes through ``text()``.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls to third-party services

import functools  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable, Iterator, Mapping  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from analysis.power import plan  # noqa: E402
from analysis.report import ctr_figure, lift_over_time_figure  # noqa: E402
from lab import config  # noqa: E402
from lab.errors import LabError, VersionConflict  # noqa: E402
from lab.experiments import tracking, workflow  # noqa: E402
from lab.experiments.spec import ExperimentLibrary  # noqa: E402
from lab.library.events import SCENARIOS, sample_event  # noqa: E402
from lab.library.schema import with_changes  # noqa: E402
from lab.library.variant import MAX_LEVEL, Variant  # noqa: E402
from lab.library.versions import VariantLibrary  # noqa: E402
from lab.render.backends import BACKENDS  # noqa: E402
from lab.render.styles import STYLES  # noqa: E402
from lab.storage import atomic_write_text  # noqa: E402
from lab.studio import forms  # noqa: E402

# Soft's fonts are LocalFont (served by the studio itself); the browser test checks that no request leaves
# 127.0.0.1.
THEME = gr.themes.Soft(primary_hue="green")
# Choices derived from the code that defines them ("auto" first, as the renderer's default).
BACKEND_CHOICES = ["auto", *sorted(b for b in BACKENDS if b != "auto")]
MODEL_BACKENDS = ("wan", "tiny-wan")  # backends that run a diffusion model: one at a time (the GPU slot)
LEVEL_CHOICES = ["auto"] + [str(i) for i in range(MAX_LEVEL + 1)]
STYLE_CHOICES = list(STYLES)
LOCALES = ["en", "zh-CN"]
SLOTS = 4  # variants compared side by side
ERROR_CAP = 20  # bad outcome files listed at most

# The names of what each handler reads and returns, beyond the form's fields (``forms.FORM``).
EVENT = ("user", "old_rank", "new_rank", "rival", "challenge", "locale")  # the made-up preview event
FIELD_ERRORS = tuple(f"err_{name}" for name in (*forms.FORM, "form", "event"))
CLEARED = ("video", "poster", "sheet", "render_info", "sidecar")  # a preview that no longer matches the form
LOADED = (*forms.FORM, *EVENT, "orientation", "size", "base_version", "variant_info", "history", "prompt",
          *CLEARED, *FIELD_ERRORS, "conflict")
CHECKED = ("prompt", *CLEARED, *FIELD_ERRORS)
RENDERED = ("video", "poster", "sheet", "prompt", "render_info", "sidecar")
SAVED = ("base_version", "variant_info", "save_info", "history", "conflict", "library_table")
COMPARED = tuple(f"cmp_{kind}_{i}" for i in range(SLOTS) for kind in ("video", "info", "prompt"))
EXP_SHOWN = ("exp_overview", "sim_ctr")
ANALYSED = ("decision", "srm_banner", "plan_banner", "ctr_plot", "lift_plot", "ctr_table", "segments_table",
            "guardrails_table", "report_file", "analysis_run")
SHIPPED = ("ship_info", "registry_table", "bundle_file")

# The one slot a diffusion-model render holds: a GPU renders one video at a time.
GPU_SLOT = threading.Semaphore(1)


def text(value: Any) -> str:
    """User text safe inside Markdown: HTML escaped and Markdown's specials backslash-escaped."""
    return re.sub(r"([\\`*_\[\]|~])", r"\\\1", html.escape(str(value), quote=False))


class RenderSteps:
    """A render's ``progress(done, total)`` as labelled progress: denoising steps of a model background, then the
    frames composited on the CPU (the pipeline's order); ``report(fraction, desc)`` gets each update.

    A model render starts in steps; the count starting again (after the steps reached their total) means frames.
    A motion render, or a model background from the cache, reports only frames.
    """

    def __init__(self, report: Callable[[float, str], None], model: bool, label: str = "") -> None:
        self.report, self.unit, self.label = report, "denoising step" if model else "frame", label
        self.last = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        if self.unit != "frame" and (done <= self.last[0] or total != self.last[1] and self.last[0] == self.last[1]
                                     and self.last[0]):
            self.unit = "frame"
        self.last = (done, total)
        self.report(done / max(total, 1), f"{self.label}{self.unit} {done}/{total}")


def _row_part(name: str, line: str) -> str:
    """A bad-row line without the server's upload path: "row 3, column clicks: …" (the file is named above)."""
    return re.sub(r"\S*/" + re.escape(name), name, line).removeprefix(f"{name}: ")


def designer_message(exc: LabError) -> str:
    """A refusal in a designer's words: what, and the fix unless it names a CLI flag or a command."""
    fix = exc.fix or ""
    what = exc.what
    if "--" in fix or "highlight-lab" in fix:
        fix = ""
    if "--" in what:
        what = what.replace("--", "")
    return text(what[0].upper() + what[1:]) + (f". {text(fix[0].upper() + fix[1:])}." if fix else ".")


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

    # library

    def library(self) -> dict[str, Any]:
        """The variants table (``workflow.library_table``)."""
        rows = workflow.library_table(self.experiments)
        return {"library_table": [[r["id"], r["scenario"], r["style"], r["version"], r["saved_at"], r["author"],
                                   ", ".join(r["arms"])] for r in rows]}

    def clone(self, source: str, new_id: str, author: str) -> dict[str, Any]:
        """Copy a variant under a new id (``workflow.clone_variant``)."""
        if not source:
            raise LabError("", "Pick the variant to clone first")
        v = workflow.clone_variant(self.variants, source, new_id, author=author or None)
        return {**self.library(), "library_info": f"Cloned {text(source)} as **{text(v.id)}** (version `{v.version}`)."}

    def history_rows(self, variant_id: str) -> list[list[str]]:
        return [[h.short, h.saved_at[:19].replace("T", " "), h.author or "", h.note or ""]
                for h in self.variants.history(variant_id)]

    def diff_pair(self, variant_id: str, a: str, b: str) -> dict[str, Any]:
        """Two versions' YAML side by side (older left) and their unified diff."""
        old, new = self.variants.load_version(variant_id, a), self.variants.load_version(variant_id, b)
        hist = {h.short: h.saved_at for h in self.variants.history(variant_id)}
        if hist.get(old.version, "") > hist.get(new.version, ""):
            old, new = new, old
        return {"diff_old": old.to_yaml(), "diff_new": new.to_yaml(),
                "diff_title": f"`{old.version}` (left) → `{new.version}` (right)",
                "diff_text": self.variants.diff(variant_id, old.version, new.version) or "(no difference)"}

    # design

    def load_variant(self, variant_id: str) -> dict[str, Any]:
        """Fill the form from the current version; remember that version as the base of the edit."""
        v = self.variants.load(variant_id)
        sample = sample_event(v.scenario)
        form = forms.variant_form(v)
        event = {"user": sample.user, "old_rank": sample.old_rank, "new_rank": sample.new_rank,
                 "rival": sample.rival or "", "challenge": sample.challenge or "", "locale": sample.locale}
        return {**form, **event, "orientation": forms.orientation_of(v.generation.width, v.generation.height),
                "size": forms.size_label(v.generation.width, v.generation.height), "base_version": v.version,
                "variant_info": self.header(v), "history": self.history_rows(variant_id),
                "prompt": v.prompt_for(sample), **dict.fromkeys(CLEARED), **dict.fromkeys(FIELD_ERRORS, ""),
                "conflict": False}

    def header(self, v: Variant) -> str:
        hist = self.variants.history(v.id)
        last = next((h for h in hist if h.hash == v.content_hash), None)
        by = f" · saved {last.saved_at[:16].replace('T', ' ')}" + (f" by {text(last.author)}" if last and
                                                                    last.author else "") if last else ""
        return (f"**{v.id}** · {v.scenario} · version `{v.version}`{by}"
                + ("" if last else " · unsaved hand edit"))

    def form_values(self, form: Mapping[str, Any], orientation: str | None = None, size: str | None = None
                    ) -> dict[str, Any]:
        """The form's fields, with the picked size (``W×H``) as width and height."""
        out = dict(form)
        if size:
            out["width"], out["height"] = forms.parse_size(size)
        return out

    def check(self, variant_id: str, form: Mapping[str, Any], event: Mapping[str, Any], size: str | None = None
              ) -> dict[str, Any]:
        """The prompt for the sample event as the form stands, or each error beside its field.

        Any change clears the preview: the video on screen always belongs to the form on screen.
        """
        base = self.variants.load(variant_id)
        try:
            values = self.form_values(form, size=size)
        except LabError as exc:
            return {"prompt": "", **dict.fromkeys(CLEARED), **dict.fromkeys(FIELD_ERRORS, ""),
                    "err_width": designer_message(exc)}
        c = forms.check_form(base, values, {name: event[name] for name in EVENT})
        errors = {f"err_{k}": f"⚠ {text(v)}" for k, v in c.errors.items()}
        return {"prompt": c.prompt, **dict.fromkeys(CLEARED), **dict.fromkeys(FIELD_ERRORS, ""), **errors}

    def edited(self, variant_id: str, form: Mapping[str, Any], size: str | None = None) -> Variant:
        """The current version of ``variant_id`` with the form's fields (names as in ``forms.FORM``)."""
        try:
            return forms.apply_form(self.variants.load(variant_id), self.form_values(form, size=size))
        except ValueError as exc:  # a number field that is not a number
            raise LabError("form", str(exc)) from None

    def preview(self, variant_id: str, form: Mapping[str, Any], event: Mapping[str, Any], backend: str,
                level: Any, size: str | None = None, progress: Any = None) -> dict[str, Any]:
        """Render the edited variant on a made-up event (``event`` keyed by ``EVENT``)."""
        v = self.edited(variant_id, form, size=size)
        p, cached = self.render(v, event, backend, level, progress)
        sc = p.sidecar
        return {"video": p.video, "poster": p.poster, "sheet": p.contact_sheet, "prompt": sc["prompt"],
                "render_info": self.summary(sc, cached), "sidecar": json.dumps(sc, indent=2, ensure_ascii=False)}

    def render(self, v: Variant, event: Mapping[str, Any], backend: str, level: Any, progress: Any = None
               ) -> tuple[forms.Preview, bool]:
        """One preview through the per-process cache; a model render waits for the GPU slot."""
        unavailable = workflow.backend_availability().get(backend)
        if unavailable:
            raise LabError("background", f"{backend} cannot run here: {unavailable}", "pick motion or auto")
        try:
            e = forms.preview_event(v.scenario, **{name: event[name] for name in EVENT})
        except ValueError as exc:
            raise LabError("preview event", str(exc)) from None
        lvl = None if level in (None, "", "auto") else int(level)
        if backend in MODEL_BACKENDS:
            with GPU_SLOT:
                return forms.cached_preview(v, e, backend=backend, level=lvl, logo_root=self.variants.root,
                                            progress=progress)
        return forms.cached_preview(v, e, backend=backend, level=lvl, logo_root=self.variants.root,
                                    progress=progress)

    @staticmethod
    def summary(sc: Mapping[str, Any], cached: bool = False) -> str:
        out = (f"{sc['backend']} background · level {sc['level']} ({text(sc['level_reason'])}) · "
               f"{sc['width']}×{sc['height']} · {sc['frames']} frames · "
               f"cache {'hit' if sc['cache_hit'] else 'miss'} · {sc['seconds']:.2f} s"
               + (" · **same preview as before (instant)**" if cached else ""))
        if sc["random_weights"]:
            out += " · **random weights: the background is noise by design**"
        for w in sc["warnings"]:
            out += f"\n\n⚠ {text(w)}"
        return out

    def upload_logo(self, file: Any) -> dict[str, Any]:
        """Store an uploaded logo in the library's assets (``workflow.save_logo``)."""
        if not file:
            raise LabError("", "Choose an image first")
        rel = workflow.save_logo(self.variants, Path(file))
        return {"logo": rel, "logo_info": f"Logo stored as `{rel}` in the library; save the variant to keep it."}

    def save(self, variant_id: str, form: Mapping[str, Any], base_version: str, author: str, note: str,
             size: str | None = None) -> dict[str, Any]:
        """Save the edit as a new version on top of ``base_version``; a conflict offers two ways out."""
        v = self.edited(variant_id, form, size=size)
        current = self.variants.load(variant_id)
        if current.content_hash == v.content_hash and current.version == base_version \
                and self.variants.is_recorded(current):
            return {"save_info": f"No change to save: this is version `{v.version}`.", "conflict": False,
                    "base_version": base_version, "variant_info": self.header(current),
                    "history": self.history_rows(variant_id), **self.library()}
        try:
            info = forms.save_version(self.variants, v, base_version, author, note)
        except VersionConflict:
            theirs = self.variants.load(variant_id)
            return {"save_info": f"⚠ Someone saved **{v.id}** as version `{theirs.version}` since you opened "
                                 f"version `{base_version}`. Nothing was written. Reload theirs (your edit is "
                                 "dropped) or keep yours as a copy.",
                    "conflict": True, "base_version": base_version, "variant_info": self.header(current),
                    "history": self.history_rows(variant_id), **self.library()}
        saved = self.variants.load(variant_id)
        return {"base_version": info.short, "variant_info": self.header(saved), "conflict": False,
                "save_info": f"Saved **{v.id}** as version `{info.short}`.",
                "history": self.history_rows(variant_id), **self.library()}

    def keep_copy(self, variant_id: str, form: Mapping[str, Any], author: str, note: str,
                  size: str | None = None) -> tuple[str, dict[str, Any]]:
        """Save the conflicting edit as a new variant ``<id>-copy[-N]``; returns its id and a message."""
        v = self.edited(variant_id, form, size=size)
        n, new_id = 1, f"{variant_id}-copy"
        while self.variants.path(new_id).exists():
            n += 1
            new_id = f"{variant_id}-copy-{n}"
        copy = with_changes(v, id=new_id)
        self.variants.save(copy, base=None, author=author or None,
                           note=note or f"kept as a copy after a conflict on {variant_id}")
        return new_id, {"save_info": f"Your edit is saved as a new variant **{new_id}**.", **self.library()}

    # compare

    def compare(self, slots: list[str | None], event: Mapping[str, Any], orientation: str, backend: str,
                level: Any, progress: Any = None) -> Iterator[dict[str, Any]]:
        """Render up to four variants for one event, one after another, yielding as each is ready.

        Each slot shows its video, a summary (timing, degrade level, cache hit) and the prompt sent.
        """
        chosen = [(i, s) for i, s in enumerate(slots[:SLOTS]) if s]
        if not chosen:
            raise LabError("", "Pick at least one variant to compare")
        out: dict[str, Any] = {}
        for i in range(SLOTS):
            out.update({f"cmp_video_{i}": None, f"cmp_info_{i}": "", f"cmp_prompt_{i}": ""})
        for n, (i, variant_id) in enumerate(chosen):
            v = self.variants.load(variant_id)
            w, h = v.generation.width, v.generation.height
            if forms.orientation_of(w, h) != orientation:
                v = with_changes(v, generation__width=h, generation__height=w)
            if progress is not None:
                progress((n, len(chosen)), desc=f"rendering {variant_id} ({n + 1} of {len(chosen)})")

            def report(fraction: float, desc: str, _n: int = n) -> None:
                if progress is not None:
                    progress((_n + fraction, len(chosen)), desc=desc)

            step = RenderSteps(report, backend in MODEL_BACKENDS, f"{variant_id}: ")
            p, cached = self.render(v, event, backend, level, progress=step)
            out[f"cmp_video_{i}"] = p.video
            out[f"cmp_info_{i}"] = f"**{v.id}** `{v.version}` · " + self.summary(p.sidecar, cached)
            out[f"cmp_prompt_{i}"] = p.sidecar["prompt"]
            yield dict(out)

    # experiments

    def exp_overview(self, key: str) -> dict[str, Any]:
        """Status, arms, the outcome files (SIMULATED when the simulator made them) and the MLflow runs."""
        exp = self.experiments.load(key)
        store = workflow.OutcomeStore(key)
        files = store.manifest()
        lines = [f"### {exp.key} · **{exp.status}**", text(exp.hypothesis), "",
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
        lines += ["", self.runs_markdown(key)]
        ctr = workflow.DEMO_CTR if set(exp.arm_ids) == set(workflow.DEMO_CTR) else {
            a: round(exp.plan.baseline * (1 + exp.plan.mde_rel * 2 * i), 4) for i, a in enumerate(exp.arm_ids)}
        return {"exp_overview": "\n".join(lines), "sim_ctr": ", ".join(f"{a}={c:g}" for a, c in ctr.items())}

    @staticmethod
    def runs_markdown(key: str) -> str:
        """The MLflow runs of an experiment, each with its run link (relative to the tracking server)."""
        mlflow = tracking.configure()
        try:
            runs = mlflow.search_runs(experiment_names=[tracking.experiment_name(key)], max_results=12,
                                      order_by=["start_time DESC"])
        except mlflow.exceptions.MlflowException:
            return "MLflow: no runs yet."
        if runs.empty:
            return "MLflow: no runs yet."
        exp_id = tracking.experiment_id(key)
        lines = [f"**MLflow runs** (experiment `{tracking.experiment_name(key)}`; open with `mlflow ui` "
                 "on this machine):", "", "| run | kind | link |", "|---|---|---|"]
        for _, r in runs.iterrows():
            kind = r.get(f"tags.{tracking.KIND}") or "arm"
            name = r.get("tags.mlflow.runName") or ""
            lines.append(f"| {text(name)} | {text(kind)} | [#/experiments/{exp_id}/runs/{r['run_id'][:8]}…]"
                         f"(http://127.0.0.1:5000/#/experiments/{exp_id}/runs/{r['run_id']}) |")
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
        good, errors, _ = workflow.ingest_many(self.experiments, exp, [Path(f) for f in files])
        # The page names the file, never the server's upload folder.
        bad = [(name, re.sub(r"\S*/" + re.escape(name), name, exc.what).removeprefix(f"{name}: "))
               for name, exc in errors]
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
                    lines += [f"- {text(_row_part(name, row))}" for row in rows]
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

    def analyse(self, key: str, record: bool = True) -> dict[str, Any]:
        """Analyse the stored outcomes and log the analysis as an MLflow run, as
        ``highlight-lab experiments analyze KEY`` does (both call ``workflow.analyze_and_log``).

        ``record=False`` (opening the page) shows the same analysis without logging a run, and says so."""
        if not record:
            if not workflow.OutcomeStore(key).manifest():
                return {"decision": "No outcomes yet: upload them or simulate a demo on the Experiments tab.",
                        **dict.fromkeys(ANALYSED[1:]), "srm_banner": "", "plan_banner": "", "analysis_run": ""}
            exp = self.experiments.load(key)
            result, data = workflow.analyze_experiment(exp, workflow.OutcomeStore(key))
            done = workflow.LoggedAnalysis(result, data, workflow.html_report(result, data.arms, data.daily,
                                                                               title=f"A/B analysis: {key}"), "")
        else:
            done = workflow.analyze_and_log(self.experiments, key)
        result, exp = done.result, self.experiments.load(key)
        sim = " · SIMULATED data" if workflow.is_simulated(key) else ""
        md = f"### {text(result.decision.headline)}{sim}\n" + "\n".join(f"- {text(r)}" for r in result.decision.reasons)
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
        table = [[v.variant, v.units, v.impressions, v.clicks, f"{v.ctr:.2%}", f"{v.ci_low:.2%} – {v.ci_high:.2%}",
                  f"{result.bayes.p_best[v.variant]:.1%}"] for v in result.variants]
        segs = [[c.segment or "", c.variant, f"{c.rel_lift:+.1%}" if c.rel_lift is not None else "",
                 f"{c.p_value_adjusted:.3g}"] for c in result.segments]
        guards = [[g.metric, g.variant, f"{g.rate:.2%}", f"{g.control_rate:.2%}", f"{g.p_value_adjusted:.3g}",
                   "worse" if g.worse else "ok"] for g in result.guardrails]
        report = config.data_dir() / "reports" / f"{key}-{done.run_id[:12] or 'latest'}.html"
        atomic_write_text(report, done.report_html)
        run = (f"Logged as MLflow run `{done.run_id}` in experiment `{tracking.experiment_name(key)}`." if record
               else "Read on opening the page (not logged); press **Analyse** to record it as an MLflow run.")
        return {"decision": md, "srm_banner": srm, "plan_banner": plan_md, "ctr_plot": ctr_figure(result),
                "lift_plot": lift_over_time_figure(result, done.data.daily), "ctr_table": table,
                "segments_table": segs, "guardrails_table": guards, "report_file": str(report),
                "analysis_run": run}

    # ship

    def registry(self, key: str) -> dict[str, Any]:
        """The prompt registry's versions for the experiment's scenario and the production bundle."""
        scenario = self.experiments.load(key).scenario
        rows = workflow.production_versions(scenario)
        table = [[r["version"], "● production" if r["production"] else "", r["arm"], r["experiment"],
                  r["variant_version"], r["decision"], r["reason"] if r["forced"] else ""] for r in rows]
        bundle = workflow.production_bundle(scenario)
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
    """The one place a ``LabError`` becomes the message the page shows (in the user's words, no flags)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LabError as exc:
            raise gr.Error(str(exc).replace("--", ""), duration=None) from None

    return wrapper


def shows_errors_gen(fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """``shows_errors`` for a handler that yields as it goes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield from fn(*args, **kwargs)
        except LabError as exc:
            raise gr.Error(str(exc).replace("--", ""), duration=None) from None

    return wrapper


CSS = """
.banner {padding: 12px 16px; border-radius: 8px; font-weight: 600; margin: 6px 0;}
.banner-red {background: #c62828; color: #fff;}
.banner-amber {background: #fff3cd; color: #5d4300; border: 1px solid #e0b100;}
.field-error {color: #c62828; font-size: 0.9em; min-height: 0;}
.field-error p {margin: 0;}
.unavailable {opacity: 0.45; cursor: not-allowed;}
"""

# Restart every compared video at 0 and play them together.
SYNC_PLAY = """() => { const vs = [...document.querySelectorAll('#compare video')];
  vs.forEach(v => { v.pause(); v.currentTime = 0; v.loop = true; v.muted = true; });
  Promise.all(vs.map(v => v.play().catch(() => null))); }"""


# -- layout ----------------------------------------------------------------------------------


def build_demo(cfg: config.LabConfig) -> gr.Blocks:
    """The studio over the libraries ``cfg`` names."""
    h = Handlers.from_config(cfg)
    variant_ids, exp_keys = h.variants.ids(), h.experiments.keys()
    availability = workflow.backend_availability()
    unavailable = {k: v for k, v in availability.items() if v}
    backend_choices = [(b if b not in unavailable else f"{b} (unavailable: {unavailable[b]})", b)
                       for b in BACKEND_CHOICES]
    first = variant_ids[0] if variant_ids else None
    first_exp = workflow.DEMO_KEY if workflow.DEMO_KEY in exp_keys else (exp_keys[0] if exp_keys else None)

    with gr.Blocks(title="Highlight Lab") as demo:
        gr.Markdown("# Highlight Lab\nDesign the celebration videos pushed when a user climbs a leaderboard, "
                    "A/B test them on click-through, ship the winner.")
        # Background choices this machine cannot run are greyed out and cannot be picked (reason in the label).
        gr.HTML("<style>" + "".join(f'.backend label:has(input[value="{b}"]) {{opacity: .45; pointer-events: none;}}'
                                    for b in unavailable) + "</style>", padding=False, elem_id="unavailable-css")
        base_version = gr.State("")
        history_picks = gr.State([])
        conflict = gr.State(False)
        with gr.Tabs() as tabs:
            with gr.Tab("Library", id="library"):
                gr.Markdown("Click a row to edit that variant.")
                library_table = gr.Dataframe(
                    headers=["id", "scenario", "style", "version", "last saved", "by", "arms it is in"],
                    interactive=False, wrap=True, elem_id="library-table")
                with gr.Row():
                    clone_src = gr.Dropdown(variant_ids, value=first, label="Clone variant", scale=2)
                    clone_id = gr.Textbox(label="New id", placeholder="e.g. v4-neon-burst", scale=2)
                    clone_btn = gr.Button("Clone", scale=1, elem_id="clone")
                library_info = gr.Markdown(elem_id="library-info")
            with gr.Tab("Design", id="design"):
                with gr.Row():
                    with gr.Column(scale=5):
                        variant_id = gr.Dropdown(variant_ids, value=first, label="Variant", elem_id="variant")
                        variant_info = gr.Markdown(elem_id="variant-info")
                        title = gr.Textbox(label="Title", elem_id="title")
                        err_title = gr.Markdown(elem_classes="field-error")
                        style = gr.Dropdown(STYLE_CHOICES, label="Animation style")
                        err_style = gr.Markdown(elem_classes="field-error")
                        template = gr.Textbox(label="Prompt template: {{new_rank}}, {{old_rank}}, {{challenge}}, "
                                              "…; never names", lines=4, elem_id="template")
                        err_template = gr.Markdown(elem_classes="field-error", elem_id="err-template")
                        negative = gr.Textbox(label="Negative prompt", lines=2)
                        err_negative = gr.Markdown(elem_classes="field-error")
                        with gr.Row():
                            cta_en = gr.Textbox(label="Button text (English)", elem_id="cta-en")
                            cta_zh = gr.Textbox(label="Button text (Chinese)")
                        err_cta_en = gr.Markdown(elem_classes="field-error", elem_id="err-cta-en")
                        err_cta_zh = gr.Markdown(elem_classes="field-error")
                        with gr.Row():
                            primary = gr.ColorPicker(label="Brand colour", elem_id="primary")
                            accent = gr.ColorPicker(label="Accent colour")
                            particles = gr.Checkbox(label="Particles")
                            intensity = gr.Slider(0, 1, step=0.05, label="Intensity")
                        err_primary = gr.Markdown(elem_classes="field-error")
                        err_accent = gr.Markdown(elem_classes="field-error")
                        err_particles = gr.Markdown(elem_classes="field-error")
                        err_intensity = gr.Markdown(elem_classes="field-error")
                        with gr.Row():
                            orientation = gr.Radio(list(forms.ORIENTATIONS), label="Orientation",
                                                   elem_id="orientation")
                            size = gr.Dropdown(forms.size_choices("landscape"), label="Size (what the model makes)",
                                               elem_id="size")
                            duration = gr.Number(label="Seconds", minimum=0.5, maximum=10)
                            seed = gr.Number(label="Seed", precision=0)
                        err_width = gr.Markdown(elem_classes="field-error")
                        err_height = gr.Markdown(elem_classes="field-error")
                        err_duration_s = gr.Markdown(elem_classes="field-error")
                        err_seed = gr.Markdown(elem_classes="field-error")
                        with gr.Row():
                            logo = gr.Textbox(label="Logo (in the library's assets)", interactive=False)
                            logo_upload = gr.UploadButton("Upload logo", file_types=[".png", ".jpg", ".jpeg"])
                            font = gr.Dropdown(list(forms.FONTS), label="Font")
                        logo_info = gr.Markdown()
                        err_logo = gr.Markdown(elem_classes="field-error")
                        err_font = gr.Markdown(elem_classes="field-error")
                        err_form = gr.Markdown(elem_classes="field-error")
                    with gr.Column(scale=6):
                        gr.Markdown("**Sample event** (made up: names are drawn by the overlay, never sent to a "
                                    "model)")
                        with gr.Row():
                            user = gr.Textbox(label="Name", elem_id="user")
                            rival = gr.Textbox(label="Rival")
                            locale = gr.Dropdown(LOCALES, label="Locale")
                        with gr.Row():
                            old_rank = gr.Number(label="Old rank", precision=0)
                            new_rank = gr.Number(label="New rank", precision=0)
                            challenge = gr.Textbox(label="Challenge")
                        err_event = gr.Markdown(elem_classes="field-error", elem_id="err-event")
                        prompt = gr.Textbox(label="Prompt the model gets (live)", lines=3, interactive=False,
                                            elem_id="prompt")
                        with gr.Row():
                            backend = gr.Radio(backend_choices, value="auto", label="Background",
                                               elem_classes="backend")
                            level = gr.Dropdown(LEVEL_CHOICES, value="auto", label="Degrade level", elem_id="level")
                        with gr.Row():
                            render_btn = gr.Button("Render preview", variant="primary", elem_id="render")
                            render_gpu_btn = gr.Button("Render preview (model)", variant="primary", visible=False,
                                                       elem_id="render-gpu")
                            cancel_btn = gr.Button("Cancel", elem_id="cancel-render")
                        video = gr.Video(label="Preview", autoplay=True, loop=True, elem_id="video")
                        render_info = gr.Markdown(elem_id="render-info")
                        with gr.Row():
                            poster = gr.Image(label="End card (poster)", type="filepath")
                            sheet = gr.Image(label="Contact sheet", type="filepath")
                        with gr.Accordion("Sidecar JSON", open=False):
                            sidecar = gr.Code(language="json")
                with gr.Row():
                    author = gr.Textbox(label="Your name (for the history)", elem_id="author")
                    note = gr.Textbox(label="What changed", elem_id="note")
                    save_btn = gr.Button("Save as new version", elem_id="save", variant="primary")
                save_info = gr.Markdown(elem_id="save-info")
                with gr.Row(visible=False) as conflict_row:
                    reload_btn = gr.Button("Reload theirs", elem_id="reload-theirs")
                    copy_btn = gr.Button("Keep mine as a copy", elem_id="keep-copy")
                gr.Markdown("**History**: click two rows to see them side by side.")
                history = gr.Dataframe(headers=["version", "saved", "by", "note"], interactive=False, wrap=True,
                                       elem_id="history")
                diff_title = gr.Markdown(elem_id="diff-title")
                with gr.Row():
                    diff_old = gr.Code(language="yaml", label="Older", elem_id="diff-old")
                    diff_new = gr.Code(language="yaml", label="Newer", elem_id="diff-new")
                with gr.Accordion("Unified diff", open=False):
                    diff_text = gr.Code(language=None, elem_id="diff-text")
            with gr.Tab("Compare", id="compare-tab"):
                gr.Markdown("Up to four variants on one sample event, all playing in sync.")
                with gr.Row():
                    cmp_slots = [gr.Dropdown([""] + variant_ids, value=v, label=f"Variant {i + 1}",
                                             elem_id=f"cmp-slot-{i}")
                                 for i, v in enumerate((variant_ids[3:6] + [""] * SLOTS)[:SLOTS])]
                with gr.Row():
                    c_user = gr.Textbox("小明", label="Name", elem_id="cmp-user")
                    c_rival = gr.Textbox("Bob", label="Rival")
                    c_old = gr.Number(7, label="Old rank", precision=0)
                    c_new = gr.Number(3, label="New rank", precision=0)
                    c_challenge = gr.Textbox("Weekly 5K", label="Challenge")
                    c_locale = gr.Dropdown(LOCALES, value="zh-CN", label="Locale")
                with gr.Row():
                    c_orientation = gr.Radio(list(forms.ORIENTATIONS), value="landscape", label="Orientation",
                                             elem_id="cmp-orientation")
                    c_backend = gr.Radio(backend_choices, value="motion", label="Background", elem_classes="backend")
                    c_level = gr.Dropdown(LEVEL_CHOICES, value="auto", label="Degrade level", elem_id="cmp-level")
                with gr.Row():
                    compare_btn = gr.Button("Render side by side", variant="primary", elem_id="compare-btn")
                    compare_gpu_btn = gr.Button("Render side by side (model)", variant="primary", visible=False)
                    cmp_cancel = gr.Button("Cancel", elem_id="cancel-compare")
                    sync_btn = gr.Button("Play all in sync", elem_id="sync")
                cmp = {}
                with gr.Row(elem_id="compare"):
                    for i in range(SLOTS):
                        with gr.Column(min_width=220):
                            cmp[f"cmp_video_{i}"] = gr.Video(label=f"Variant {i + 1}", autoplay=True, loop=True,
                                                             elem_id=f"cmp-video-{i}")
                            cmp[f"cmp_info_{i}"] = gr.Markdown(elem_id=f"cmp-info-{i}")
                            cmp[f"cmp_prompt_{i}"] = gr.Textbox(label="Prompt sent", lines=3, interactive=False,
                                                                elem_id=f"cmp-prompt-{i}")
            with gr.Tab("Experiments", id="experiments"):
                exp_key = gr.Dropdown(exp_keys, value=first_exp, label="Experiment", elem_id="exp-key")
                exp_overview = gr.Markdown(elem_id="exp-overview")
                with gr.Row():
                    start_btn = gr.Button("Start (running)", elem_id="start")
                    stop_btn = gr.Button("Stop", elem_id="stop")
                with gr.Row():
                    outcome_files = gr.File(label="Outcome files (counts or events: CSV, Parquet, JSON lines)",
                                            type="filepath", file_count="multiple", elem_id="outcome-files")
                    with gr.Column():
                        ingest_btn = gr.Button("Upload and validate", elem_id="ingest")
                        sim_ctr = gr.Textbox(label="Simulator: true CTR per arm", elem_id="sim-ctr")
                        with gr.Row():
                            sim_daily = gr.Number(3000, label="Per day", precision=0)
                            sim_days = gr.Number(14, label="Days", precision=0)
                        sim_btn = gr.Button("Simulate a demo (SIMULATED data)", elem_id="simulate")
                ingest_info = gr.Markdown(elem_id="ingest-info")
                with gr.Accordion("New experiment", open=True):
                    with gr.Row():
                        new_key = gr.Textbox(label="Key", placeholder="e.g. cta-copy-test", elem_id="new-key")
                        new_scenario = gr.Dropdown(list(SCENARIOS), value="rank_up", label="Scenario")
                    new_arms = gr.CheckboxGroup(variant_ids, label="Variants (the first is the control)",
                                                elem_id="new-arms")
                    with gr.Row():
                        new_weights = gr.Textbox(label="Weights (blank: even)", placeholder="0.5, 0.5",
                                                 elem_id="new-weights")
                        new_baseline = gr.Number(0.23, label="Baseline CTR", elem_id="new-baseline")
                        new_mde = gr.Number(0.10, label="Smallest lift worth detecting (relative)")
                        new_daily = gr.Number(5000, label="Daily traffic", precision=0)
                    plan_info = gr.Markdown(elem_id="plan-info")
                    create_btn = gr.Button("Create draft", variant="primary", elem_id="create")
                    create_info = gr.Markdown(elem_id="create-info")
            with gr.Tab("Analysis", id="analysis"):
                analysis_exp = gr.Markdown(elem_id="analysis-exp")
                analyze_btn = gr.Button("Analyse", variant="primary", elem_id="analyse")
                srm_banner = gr.HTML(elem_id="srm-banner")
                plan_banner = gr.HTML(elem_id="plan-banner")
                decision = gr.Markdown(elem_id="decision")
                ctr_table = gr.Dataframe(headers=["variant", "units", "impressions", "clicks", "CTR", "95 % CI",
                                                  "P(best)"], interactive=False)
                with gr.Row():
                    ctr_plot = gr.Plot(label="CTR with 95 % intervals")
                    lift_plot = gr.Plot(label="Lift over time, with the sequential (always-valid) bounds")
                with gr.Row():
                    segments_table = gr.Dataframe(headers=["segment", "variant", "lift", "adjusted p"],
                                                  interactive=False, label="Segments")
                    guardrails_table = gr.Dataframe(headers=["metric", "variant", "rate", "control", "adjusted p",
                                                             "verdict"], interactive=False, label="Guardrails")
                report_file = gr.File(label="HTML report", elem_id="report-file")
                analysis_run = gr.Markdown(elem_id="analysis-run")
            with gr.Tab("Ship", id="ship"):
                ship_exp = gr.Markdown(elem_id="ship-exp")
                with gr.Row():
                    export_arm = gr.Textbox(label="Arm (blank: the winner)")
                    force = gr.Checkbox(label="Force (override the analysis)")
                    reason = gr.Textbox(label="Reason (required to force)")
                with gr.Row():
                    export_btn = gr.Button("Export to production", variant="primary", elem_id="export")
                    rollback_btn = gr.Button("Roll back", elem_id="rollback")
                ship_info = gr.Markdown(elem_id="ship-info")
                registry_table = gr.Dataframe(headers=["version", "production", "arm", "experiment",
                                                       "variant version", "decision", "forced because"],
                                              interactive=False, elem_id="registry")
                bundle_file = gr.File(label="Production bundle", elem_id="bundle-file")

        # -- wiring by name ------------------------------------------------------------------
        form = {"title": title, "style": style, "template": template, "negative": negative, "cta_en": cta_en,
                "cta_zh": cta_zh, "primary": primary, "accent": accent, "particles": particles,
                "intensity": intensity, "duration_s": duration, "seed": seed, "logo": logo, "font": font}
        event = {"user": user, "old_rank": old_rank, "new_rank": new_rank, "rival": rival, "challenge": challenge,
                 "locale": locale}
        errors = {"err_title": err_title, "err_style": err_style, "err_template": err_template,
                  "err_negative": err_negative, "err_cta_en": err_cta_en, "err_cta_zh": err_cta_zh,
                  "err_primary": err_primary, "err_accent": err_accent, "err_particles": err_particles,
                  "err_intensity": err_intensity, "err_width": err_width, "err_height": err_height,
                  "err_duration_s": err_duration_s, "err_seed": err_seed, "err_logo": err_logo, "err_font": err_font,
                  "err_form": err_form, "err_event": err_event}
        named = {**form, **event, **errors, **cmp, "orientation": orientation, "size": size,
                 "base_version": base_version, "variant_info": variant_info, "history": history, "video": video,
                 "poster": poster, "sheet": sheet, "prompt": prompt, "render_info": render_info, "sidecar": sidecar,
                 "save_info": save_info, "conflict": conflict, "library_table": library_table,
                 "library_info": library_info, "logo_info": logo_info, "diff_old": diff_old, "diff_new": diff_new,
                 "diff_text": diff_text, "diff_title": diff_title, "exp_overview": exp_overview, "sim_ctr": sim_ctr,
                 "ingest_info": ingest_info, "create_info": create_info, "decision": decision,
                 "srm_banner": srm_banner, "plan_banner": plan_banner, "ctr_plot": ctr_plot, "lift_plot": lift_plot,
                 "ctr_table": ctr_table, "segments_table": segments_table, "guardrails_table": guardrails_table,
                 "report_file": report_file, "analysis_run": analysis_run, "ship_info": ship_info,
                 "registry_table": registry_table, "bundle_file": bundle_file}
        assert set(forms.FORM) - {"width", "height"} <= set(form) and set(FIELD_ERRORS) <= set(errors)

        def components(names: tuple[str, ...]) -> set[Any]:
            return {named[n] for n in names if n in named} | ({conflict_row} if "conflict" in names else set())

        def values_of(values: dict[Any, Any], group: dict[str, Any]) -> dict[str, Any]:
            return {name: values[comp] for name, comp in group.items()}

        def shown(out: dict[str, Any]) -> dict[Any, Any]:
            res = {named[name]: value for name, value in out.items() if name in named}
            if "conflict" in out:
                res[conflict_row] = gr.update(visible=bool(out["conflict"]))
            return res

        @shows_errors
        def show_library() -> dict[Any, Any]:
            return shown(h.library())

        @shows_errors
        def clone(values: dict[Any, Any]) -> dict[Any, Any]:
            out = h.clone(values[clone_src], values[clone_id], values[author])
            ids = h.variants.ids()
            return {**shown(out), clone_src: gr.update(choices=ids), variant_id: gr.update(choices=ids),
                    new_arms: gr.update(choices=ids), **{s: gr.update(choices=[""] + ids) for s in cmp_slots}}

        def pick_row(data: Any, evt: gr.SelectData) -> Any:
            row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            vid = data.iloc[row, 0] if hasattr(data, "iloc") else data[row][0]
            return gr.update(value=vid), gr.Tabs(selected="design")

        @shows_errors
        def pick_history(values: dict[Any, Any], evt: gr.SelectData) -> dict[Any, Any]:
            data = values[history]
            row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            short = data.iloc[row, 0] if hasattr(data, "iloc") else data[row][0]
            picks = [p for p in values[history_picks] if p != short][-1:] + [short]
            out: dict[Any, Any] = {history_picks: picks}
            if len(picks) == 2:
                out.update(shown(h.diff_pair(values[variant_id], picks[0], picks[1])))
            else:
                out[diff_title] = f"Picked `{short}`: click a second row to compare."
            return out

        @shows_errors
        def load_variant(variant: str) -> dict[Any, Any]:
            if not variant:
                return gr.skip()
            out = h.load_variant(variant)
            return {**shown(out), size: gr.update(choices=forms.size_choices(out["orientation"]), value=out["size"]),
                    history_picks: [], diff_old: "", diff_new: "", diff_text: "", diff_title: "", save_info: "",
                    logo_info: ""}

        @shows_errors
        def check(values: dict[Any, Any]) -> dict[Any, Any]:
            if not values[variant_id]:
                return gr.skip()
            return shown(h.check(values[variant_id], values_of(values, form), values_of(values, event),
                                 size=values[size]))

        def pick_orientation(values: dict[Any, Any]) -> dict[Any, Any]:
            current = values[size] or ""
            try:
                w, hgt = forms.parse_size(current)
            except LabError:
                w, hgt = 864, 480
            if forms.orientation_of(w, hgt) != values[orientation]:
                w, hgt = hgt, w
            choices = forms.size_choices(values[orientation])
            label = forms.size_label(w, hgt)
            return {size: gr.update(choices=choices, value=label if label in choices else choices[0])}

        @shows_errors
        def preview(values: dict[Any, Any], progress: gr.Progress = gr.Progress()) -> dict[Any, Any]:
            def report(fraction: float, desc: str) -> None:
                progress(fraction, desc=desc)

            step = RenderSteps(report, values[backend] in MODEL_BACKENDS)
            return shown(h.preview(values[variant_id], values_of(values, form), values_of(values, event),
                                   backend=values[backend], level=values[level], size=values[size], progress=step))

        @shows_errors
        def upload_logo(file: Any) -> dict[Any, Any]:
            return shown(h.upload_logo(file))

        @shows_errors
        def save(values: dict[Any, Any]) -> dict[Any, Any]:
            return shown(h.save(values[variant_id], values_of(values, form), base_version=values[base_version],
                                author=values[author], note=values[note], size=values[size]))

        @shows_errors
        def reload_theirs(variant: str) -> dict[Any, Any]:
            out = load_variant(variant)
            out[save_info] = "Reloaded the latest version; your edit was dropped."
            return out

        @shows_errors
        def keep_copy(values: dict[Any, Any]) -> dict[Any, Any]:
            new_id, out = h.keep_copy(values[variant_id], values_of(values, form), values[author], values[note],
                                      size=values[size])
            ids = h.variants.ids()
            return {**shown(out), variant_id: gr.update(choices=ids, value=new_id),
                    conflict_row: gr.update(visible=False),
                    clone_src: gr.update(choices=ids), new_arms: gr.update(choices=ids),
                    **{s: gr.update(choices=[""] + ids) for s in cmp_slots}}

        @shows_errors_gen
        def compare(values: dict[Any, Any], progress: gr.Progress = gr.Progress()) -> Iterator[dict[Any, Any]]:
            ev = {"user": values[c_user], "old_rank": values[c_old], "new_rank": values[c_new],
                  "rival": values[c_rival], "challenge": values[c_challenge], "locale": values[c_locale]}
            for out in h.compare([values[s] for s in cmp_slots], ev, values[c_orientation], values[c_backend],
                                 values[c_level], progress=progress):
                yield shown(out)

        def clear_compare() -> dict[Any, Any]:
            return {c: None if k.startswith("cmp_video") else "" for k, c in cmp.items()}

        def backend_buttons(choice: str) -> tuple[Any, Any]:
            model = choice in MODEL_BACKENDS
            return gr.update(visible=not model), gr.update(visible=model)

        @shows_errors
        def show_experiment(key: str) -> dict[Any, Any]:
            return shown(h.exp_overview(key)) if key else gr.skip()

        def experiment_label(key: str) -> str:
            return (f"Experiment **{key}** (pick another on the Experiments tab)" if key
                    else "No experiment: create one on the Experiments tab.")

        @shows_errors
        def status_to(key: str, status: str) -> dict[Any, Any]:
            return shown(h.set_status(key, status))

        @shows_errors
        def ingest(values: dict[Any, Any]) -> dict[Any, Any]:
            return shown(h.ingest_files(values[exp_key], values[outcome_files]))

        @shows_errors
        def simulate(values: dict[Any, Any]) -> dict[Any, Any]:
            return shown(h.simulate(values[exp_key], values[sim_ctr], values[sim_daily], values[sim_days]))

        def plan_live(values: dict[Any, Any]) -> str:
            try:
                pairs = h.arm_weights(values[new_arms] or [], values[new_weights])
                return power(values[new_baseline], values[new_mde], 0.05, 0.8, len(pairs), values[new_daily] or 0)
            except LabError as exc:
                return f"⚠ {designer_message(exc)}"
            except (TypeError, ValueError):
                return "⚠ Baseline, lift and traffic must be numbers."

        @shows_errors
        def create(values: dict[Any, Any]) -> dict[Any, Any]:
            out = h.create_experiment(values[new_key], values[new_scenario], values[new_arms] or [],
                                      values[new_weights], values[new_baseline], values[new_mde])
            key = (values[new_key] or "").strip()
            return {**shown(out), exp_key: gr.update(choices=h.experiments.keys(), value=key)}

        @shows_errors
        def analyse(key: str) -> dict[Any, Any]:
            return shown(h.analyse(key))

        @shows_errors
        def analyse_quietly(key: str) -> dict[Any, Any]:
            return shown(h.analyse(key, record=False)) if key else gr.skip()

        @shows_errors
        def show_registry(key: str) -> dict[Any, Any]:
            return shown(h.registry(key)) if key else gr.skip()

        @shows_errors
        def export_winner(values: dict[Any, Any]) -> dict[Any, Any]:
            return shown(h.export(values[exp_key], arm=values[export_arm], force=values[force],
                                  reason=values[reason]))

        @shows_errors
        def rollback(key: str) -> dict[Any, Any]:
            return shown(h.rollback(key))

        # Saves, analysis and CPU renders share one group; a model render holds the one GPU slot in its own.
        cpu = {"concurrency_id": "cpu", "concurrency_limit": 4}
        gpu = {"concurrency_id": "gpu", "concurrency_limit": 1}
        live = {"queue": False, "show_progress": "hidden", "api_visibility": "undocumented"}
        typing = {**live, "trigger_mode": "always_last"}  # the last keystroke's answer is the one shown
        hidden = {"api_visibility": "undocumented"}

        demo.load(show_library, None, components(("library_table",)), api_name="library")
        library_table.select(pick_row, library_table, [variant_id, tabs], **hidden)
        clone_btn.click(clone, {clone_src, clone_id, author}, {*components(("library_table", "library_info")),
                                                                clone_src, variant_id, new_arms, *cmp_slots},
                        api_name="clone", **cpu)
        history.select(pick_history, {history, history_picks, variant_id},
                       {history_picks, diff_old, diff_new, diff_text, diff_title}, **hidden)
        loaded = components(LOADED) | {size, history_picks, diff_old, diff_new, diff_text, diff_title, save_info,
                                       logo_info}
        variant_id.change(load_variant, variant_id, loaded, api_name="load_variant")
        demo.load(load_variant, variant_id, loaded, **hidden)
        checked = {variant_id, size, *form.values(), *event.values()}
        # No check on page load: load_variant fills the prompt itself, and a check racing it would read an
        # empty form and show errors nobody made.
        for comp in (*form.values(), *event.values(), size):
            comp.input(check, checked, components(CHECKED), **{**typing, **({"api_name": "check"}
                                                                             if comp is template else {})})
        orientation.input(pick_orientation, {orientation, size}, size, **live).then(
            check, checked, components(CHECKED), **live)
        backend.change(backend_buttons, backend, [render_btn, render_gpu_btn], **live)
        render_inputs = {variant_id, backend, level, size, *form.values(), *event.values()}
        r_cpu = render_btn.click(preview, render_inputs, components(RENDERED), api_name="preview", **cpu)
        r_gpu = render_gpu_btn.click(preview, render_inputs, components(RENDERED), api_name="preview_model", **gpu)
        cancel_btn.click(None, cancels=[r_cpu, r_gpu])
        logo_upload.upload(upload_logo, logo_upload, {logo, logo_info}, **cpu).then(
            check, checked, components(CHECKED), **live)
        save_btn.click(save, {variant_id, base_version, author, note, size, *form.values()},
                       components(SAVED), api_name="save", **cpu)
        reload_btn.click(reload_theirs, variant_id, loaded | {conflict_row}, **cpu)
        copy_btn.click(keep_copy, {variant_id, author, note, size, *form.values()},
                       {save_info, library_table, variant_id, conflict_row, clone_src, new_arms, *cmp_slots}, **cpu)

        compare_inputs = {*cmp_slots, c_user, c_rival, c_old, c_new, c_challenge, c_locale, c_orientation, c_backend,
                          c_level}
        c_cpu = compare_btn.click(compare, compare_inputs, components(COMPARED), api_name="compare", **cpu)
        c_gpu = compare_gpu_btn.click(compare, compare_inputs, components(COMPARED), api_name="compare_model", **gpu)
        for ev in (c_cpu, c_gpu):
            ev.then(None, js=SYNC_PLAY)
        cmp_cancel.click(None, cancels=[c_cpu, c_gpu])
        sync_btn.click(None, js=SYNC_PLAY)
        c_backend.change(backend_buttons, c_backend, [compare_btn, compare_gpu_btn], **live)
        for comp in compare_inputs - {c_backend}:
            comp.input(clear_compare, None, set(cmp.values()), **typing)

        exp_key.change(show_experiment, exp_key, components(EXP_SHOWN), api_name="experiment")
        for label in (analysis_exp, ship_exp):
            gr.on([demo.load, exp_key.change], experiment_label, exp_key, label, **live)
        demo.load(show_experiment, exp_key, components(EXP_SHOWN), **hidden)
        start_btn.click(functools.partial(status_to, status="running"), exp_key, components(EXP_SHOWN),
                        api_name="start", **cpu)
        stop_btn.click(functools.partial(status_to, status="stopped"), exp_key, components(EXP_SHOWN),
                       api_name="stop", **cpu)
        ingest_btn.click(ingest, {exp_key, outcome_files}, components((*EXP_SHOWN, "ingest_info")),
                         api_name="ingest", **cpu)
        sim_btn.click(simulate, {exp_key, sim_ctr, sim_daily, sim_days}, components((*EXP_SHOWN, "ingest_info")),
                      api_name="simulate", **cpu)
        plan_inputs = {new_arms, new_weights, new_baseline, new_mde, new_daily}
        for comp in plan_inputs:
            comp.change(plan_live, plan_inputs, plan_info, **typing)
        demo.load(plan_live, plan_inputs, plan_info, api_name="power", **live)
        create_btn.click(create, {new_key, new_scenario, *plan_inputs}, {*components((*EXP_SHOWN, "create_info")),
                                                                         exp_key}, api_name="create_experiment", **cpu)
        analyze_btn.click(analyse, exp_key, components(ANALYSED), api_name="analyze_experiment", **cpu)
        exp_key.change(show_registry, exp_key, components(SHIPPED[1:]), api_name="registry")
        demo.load(show_registry, exp_key, components(SHIPPED[1:]), **hidden)
        demo.load(analyse_quietly, exp_key, components(ANALYSED), **hidden, **cpu)
        export_btn.click(export_winner, {exp_key, export_arm, force, reason}, components(SHIPPED), api_name="export",
                         **cpu).then(show_experiment, exp_key, components(EXP_SHOWN), **hidden)
        rollback_btn.click(rollback, exp_key, components(SHIPPED), api_name="rollback", **cpu)
    return demo


def launch_options() -> dict[str, Any]:
    """How the studio is served wherever it is launched (theme, styles, no server-side rendering)."""
    return {"theme": THEME, "css": CSS, "ssr_mode": False, "share": False}


def launch(cfg: config.LabConfig | None = None, demo_data: bool = True, auth: tuple[str, str] | None = None,
           **kwargs: Any) -> None:
    """Build the studio for ``cfg`` (default: the environment) and serve it on ``cfg.host``:``cfg.port``.

    On a fresh data folder it first gives the seed experiment a simulated 14-day run (``workflow.ensure_demo``),
    so a newcomer opens a ready demo.
    """
    cfg = cfg or config.LabConfig.from_env()
    config.data_dir().mkdir(parents=True, exist_ok=True)
    if demo_data:
        variants = VariantLibrary(cfg.variants_dir)
        workflow.ensure_demo(ExperimentLibrary(cfg.experiments_dir, variants))
    demo = build_demo(cfg)
    demo.queue(default_concurrency_limit=4)
    print(f"Highlight Lab studio: http://{cfg.host}:{cfg.port}/ (library {cfg.variants_dir})", flush=True)
    demo.launch(server_name=cfg.host, server_port=cfg.port, allowed_paths=[str(config.data_dir())], auth=auth,
                quiet=True, **launch_options(), **kwargs)


if __name__ == "__main__":
    launch()
