"""Highlight Lab studio (Gradio): the whole loop in the browser, design → compare → experiment → decide → ship.

Laid out like Gradio's own demos: plain functions first (``lab.studio.handlers``: every one calls the same lab
code as the CLI and returns its values keyed by name), then the layout, one module per tab (``tabs/``), then the
wiring at its end (each tab's ``wire``, through ``wiring.Ui.on``, which names inputs and outputs once). Nothing
here is built at import time: ``build_demo(cfg)`` opens the libraries ``cfg`` names, so one process can hold
studios over different folders. Run: ``highlight-lab studio`` (or ``python -m lab.app``).

Everything a user typed is shown as text: tables are ``gr.Dataframe`` cells, user text inside Markdown goes
through ``text()``, and refusals go, as text, into the tab's one message area.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls to third-party services

from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from lab import config  # noqa: E402
from lab.experiments import workflow  # noqa: E402
from lab.experiments.spec import ExperimentLibrary  # noqa: E402
from lab.library.versions import VariantLibrary  # noqa: E402
from lab.studio import serving  # noqa: E402
from lab.studio.common import BACKEND_CHOICES, CSS, text  # noqa: E402, F401 - text: the tests' escaping check
from lab.studio.handlers import ANALYSED, LOADED, Handlers  # noqa: E402, F401
from lab.studio.tabs import PICKERS, analysis, compare, design, experiments, library, pickers, ship  # noqa: E402
from lab.studio.wiring import Ui  # noqa: E402

# Soft's fonts are LocalFont (served by the studio itself); the browser test checks that no request leaves
# 127.0.0.1.
THEME = gr.themes.Soft(primary_hue="green")


def backend_choices() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Background choices, those this machine cannot run labelled with the reason."""
    unavailable = {k: v for k, v in workflow.backend_availability().items() if v}
    return ([(b if b not in unavailable else f"{b} (unavailable: {unavailable[b]})", b) for b in BACKEND_CHOICES],
            unavailable)


def build_demo(cfg: config.LabConfig) -> gr.Blocks:
    """The studio over the libraries ``cfg`` names."""
    h = Handlers.from_config(cfg)
    variant_ids, exp_keys = h.variant_ids(), h.experiment_keys()
    choices, unavailable = backend_choices()
    first_exp = workflow.DEMO_KEY if workflow.DEMO_KEY in exp_keys else (exp_keys[0] if exp_keys else None)
    ui = Ui()
    with gr.Blocks(title="Highlight Lab") as demo:
        gr.Markdown("# Highlight Lab\nDesign the celebration videos pushed when a user climbs a leaderboard, "
                    "A/B test them on click-through, ship the winner.")
        # Background choices this machine cannot run are greyed out and cannot be picked (reason in the label).
        gr.HTML("<style>" + "".join(f'.backend label:has(input[value="{b}"]) {{opacity: .45; pointer-events: none;}}'
                                    for b in unavailable) + "</style>", padding=False, elem_id="unavailable-css")
        with gr.Tabs() as tabs:
            ui.add("tabs", tabs)
            with gr.Tab("Library", id="library"):
                library.layout(ui, variant_ids)
            with gr.Tab("Design", id="design"):
                design.layout(ui, variant_ids, choices)
            with gr.Tab("Compare", id="compare-tab"):
                compare.layout(ui, variant_ids, choices)
            with gr.Tab("Experiments", id="experiments"):
                experiments.layout(ui, variant_ids, exp_keys, first_exp)
            with gr.Tab("Analysis", id="analysis"):
                analysis.layout(ui)
            with gr.Tab("Ship", id="ship"):
                ship.layout(ui)
        wire(ui, h, demo)
    return demo


def wire(ui: Ui, h: Handlers, demo: gr.Blocks) -> None:
    """Every event, by name. Saves, analysis and CPU renders share one group; a model render holds the one GPU
    slot in its own (its page shows its place in that queue)."""
    cpu = {"concurrency_id": "cpu", "concurrency_limit": 4}
    gpu = {"concurrency_id": "gpu", "concurrency_limit": 1}
    # Live checks answer a keystroke directly, not through the queue: queued, the designer journey took 46 s
    # instead of 24 (each check waits its turn). Gradio keeps the last trigger ("always_last", the wiring's
    # default for a value change) only for queued events, so unqueued answers can in principle arrive out of
    # order; each answer carries the whole form's state.
    live = {"queue": False, "show_progress": "hidden", "api_visibility": "undocumented"}
    hidden = {"api_visibility": "undocumented"}
    # The pickers as they are on disk now: a variant cloned or an experiment created after launch is offered.
    ui.on(demo.load, lambda v: pickers(h, v), PICKERS, PICKERS, api_name="choices", **live)
    library.wire(ui, h, demo, cpu, hidden)
    design.wire(ui, h, demo, cpu, gpu, live, hidden)
    compare.wire(ui, h, cpu, gpu, live)
    experiments.wire(ui, h, demo, cpu, live, hidden)
    analysis.wire(ui, h, demo, cpu, live)
    ship.wire(ui, h, demo, cpu, hidden)


def launch_options(variants_dir: Any = None) -> dict[str, Any]:
    """How the studio is served wherever it is launched: theme, styles, no server-side rendering, and (given the
    variant library) only the folders a page needs, the data folder's secrets blocked, logins throttled."""
    out: dict[str, Any] = {"theme": THEME, "css": CSS, "ssr_mode": False, "share": False}
    if variants_dir is not None:
        out.update(serving.serve_options(variants_dir))
    return out


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
    print(f"Highlight Lab studio: http://{cfg.host}:{cfg.port}/ (library {cfg.variants_dir}, experiments "
          f"{cfg.experiments_dir})", flush=True)
    demo.launch(server_name=cfg.host, server_port=cfg.port, auth=auth, quiet=True,
                **launch_options(cfg.variants_dir), **kwargs)


if __name__ == "__main__":
    launch()
