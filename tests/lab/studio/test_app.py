"""The studio app: built from a config (no import-time libraries), wired by name, and its Analyse button
logs the same MLflow analysis run as ``highlight-lab experiments analyze KEY``."""

import shutil

import pytest

from lab.config import LabConfig
from lab.errors import LabError
from lab.experiments import tracking, workflow
from lab.experiments.simulate import simulate
from lab.studio import forms
from lab.studio.app import ANALYSED, LOADED, Handlers, build_demo
from tests.conftest import REPO, free_port

KEY = "seed-v1-v2-v3"
TRUE_CTR = {"v1-fast-sprint": 0.23, "v2-slow-motion": 0.31, "v3-rival-ghost": 0.38}


def by_elem_id(demo, elem_id):
    (found,) = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id]
    return found


def choices(dropdown):
    return [value for _, value in dropdown.choices]


def copy_variants(dest, keep):
    shutil.copytree(REPO / "variants", dest, ignore=shutil.ignore_patterns(".lock"))
    for path in dest.glob("*.yaml"):
        if path.stem not in keep:
            path.unlink()
    return LabConfig(variants_dir=dest, experiments_dir=REPO / "experiments")


def analysis_runs(key):
    mlflow = tracking.configure()
    return mlflow.search_runs(experiment_names=[tracking.experiment_name(key)],
                              filter_string=f"tags.`{tracking.KIND}` = 'analysis'")


@pytest.fixture
def ingested(lab_env, tmp_path):
    exp = lab_env.load(KEY)
    paths = simulate(exp, TRUE_CTR, daily=600, days=3, out_dir=tmp_path / "sim")
    workflow.ingest_and_track(lab_env, exp, paths)
    return lab_env


def test_each_demo_lists_its_own_folder(tmp_path):
    a = build_demo(copy_variants(tmp_path / "a", {"v1-fast-sprint", "v2-slow-motion"}))
    b = build_demo(copy_variants(tmp_path / "b", {"comeback-replay"}))
    assert choices(by_elem_id(a, "variant")) == ["v1-fast-sprint", "v2-slow-motion"]
    assert by_elem_id(a, "variant").value == "v1-fast-sprint"
    assert choices(by_elem_id(b, "variant")) == ["comeback-replay"]
    assert by_elem_id(b, "variant").value == "comeback-replay"


def test_load_fills_every_named_output(tmp_path):
    h = Handlers.from_config(copy_variants(tmp_path / "v", {"v3-rival-ghost"}))
    loaded = h.load_variant("v3-rival-ghost")
    assert set(loaded) == set(LOADED) and set(forms.FORM) <= set(loaded)
    assert loaded["cta_zh"] == "我要反超！" and loaded["width"] == 864
    with pytest.raises(LabError, match="not found"):
        h.load_variant("no-such-variant")


def test_analyse_logs_the_same_run_as_the_cli(ingested):
    assert analysis_runs(KEY).empty
    shown = Handlers(ingested.variants, ingested).analyze(KEY)
    assert set(shown) == set(ANALYSED)
    (run_id,) = analysis_runs(KEY)["run_id"]
    assert run_id in shown["analysis_run"]

    cli = workflow.analyze_and_log(ingested, KEY)  # what `highlight-lab experiments analyze KEY` runs
    runs = analysis_runs(KEY).set_index("run_id")
    assert set(runs.index) == {run_id, cli.run_id}
    decisions = runs["tags.highlight_lab.decision"]
    assert decisions[run_id] == decisions[cli.run_id] == cli.result.decision.headline
    # The heading names the experiment the decision was made for.
    assert shown["decision"].startswith(f"### {KEY}: {cli.result.decision.headline}")
    assert [row[0] for row in shown["ctr_table"]["data"]] == list(TRUE_CTR)


def test_a_queued_change_keeps_its_last_trigger_and_each_table_click_runs_in_order(tmp_path):
    """A queued event fired by a value change keeps its last trigger (Gradio's "once" dropped a change made while
    one ran: the registry of an experiment picked during a load). A table click carries its row, so each click
    runs, one at a time, in order ("once" dropped a second click; "always_last" reruns the first click's row)."""
    demo = build_demo(copy_variants(tmp_path / "v", {"v1-fast-sprint", "v3-rival-ghost"}))
    checked = set()
    for fn in demo.fns.values():
        kinds = {event for _, event in fn.targets}
        if fn.fn is None or not fn.queue or not kinds & {"change", "input", "select"}:  # a page load fires once
            continue
        if "select" in kinds:
            assert (fn.trigger_mode, fn.concurrency_limit) == ("multiple", 1), fn.api_name
        else:
            assert fn.trigger_mode == "always_last", (fn.api_name, kinds, fn.trigger_mode)
        checked.add(fn.api_name)
    assert {"load_variant", "registry", "pick_row"} <= checked


def test_analyse_through_the_served_app(ingested):
    from gradio_client import Client

    cfg = LabConfig(variants_dir=ingested.variants.root, experiments_dir=ingested.root, port=free_port())
    demo = build_demo(cfg)
    demo.launch(server_name="127.0.0.1", server_port=cfg.port, prevent_thread_lock=True, quiet=True,
                ssr_mode=False)
    try:
        client = Client(f"http://127.0.0.1:{cfg.port}/", verbose=False)
        # The loaded form reaches the components named for its fields (outputs in the event's order).
        (load,) = [f for f in demo.fns.values() if f.api_name == "load_variant"]
        shown = [o.elem_id for o in load.outputs if not o.skip_api]  # a gr.State is not sent to clients
        values = dict(zip(shown, client.predict("v3-rival-ghost", api_name="/load_variant"), strict=True))
        v3 = ingested.variants.load("v3-rival-ghost")
        assert values["cta-en"] == v3.cta["en"] and values["template"] == v3.prompt_template

        out = client.predict(KEY, api_name="/analyze_experiment")
        (run_id,) = analysis_runs(KEY)["run_id"]
        assert any(isinstance(o, str) and run_id in o for o in out)
    finally:
        demo.close()


def test_lab_errors_become_tab_messages_as_text():
    from lab.errors import LabError
    from lab.studio.common import power
    from lab.studio.wiring import message_for

    with pytest.raises(LabError, match="Choose one or more outcome files first"):
        Handlers.ingest_files(None, "any", None)
    with pytest.raises(LabError, match="arms must be a whole number from 2 to 100"):
        power(0.23, 0.1, 0.05, 0.8, 0, 5000)
    assert "per arm" in power(0.23, 0.1, 0.05, 0.8, 3, 5000)
    # Markup in a refusal is shown as its characters (finding 9), flags in the studio's words (finding 10).
    shown = message_for(LabError("clone", "'<img src=x>' is not a valid id"))
    assert "<img" not in shown and "&lt;img" in shown
    said = message_for(LabError("export", "--force needs --reason", "say why"))
    assert "force reason" not in said.lower() and "Force needs a Reason" in said


def test_compare_on_the_cpu_reports_frames_up_to_the_total(lab_env, tmp_path):
    from lab.studio.common import RenderSteps

    h = Handlers.from_config(copy_variants(tmp_path / "v", {"v1-fast-sprint"}))
    seen = []
    event = {"user": "", "old_rank": 3, "new_rank": 2, "rival": "", "challenge": "", "locale": "en"}
    outs = list(h.compare(["v1-fast-sprint"], event, "landscape", "motion", "4",
                          progress=lambda value, desc: seen.append((value, desc))))
    assert outs[-1]["cmp_video_0"]
    frames = [d for _, d in seen if "frame" in d]
    assert frames[0] == "v1-fast-sprint: compositing frame 1/49"
    assert frames[-1] == "v1-fast-sprint: compositing frame 49/49"
    assert len(frames) == 49 and not any("denoising" in d or "decoding" in d for _, d in seen)
    assert seen[-1][1] == "v1-fast-sprint: encoding the video"  # after the last frame, not stuck at 49/49
    fractions = [v[0] for v, d in seen if "frame" in d]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    # A model render: its steps, its decode, its frames, then encoding, each labelled (the pipeline's stages).
    from lab.render.background import DECODE, ENCODE, FRAME, STEP

    labels = []
    steps = RenderSteps(lambda f, d: labels.append(d))
    for done, total, stage in [(1, 2, STEP), (2, 2, STEP), (0, 1, DECODE), (1, 3, FRAME), (3, 3, FRAME),
                               (0, 1, ENCODE)]:
        steps(done, total, stage)
    assert labels == ["denoising step 1/2", "denoising step 2/2", "decoding the background (VAE)",
                      "compositing frame 1/3", "compositing frame 3/3", "encoding the video"]


def test_no_studio_file_over_500_lines_and_no_function_over_100():
    """Issue 18's split stays split: each studio module and function is small enough to read."""
    import ast

    from tests.conftest import REPO

    long_files, long_functions = [], []
    for path in sorted((REPO / "lab" / "studio").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if len(source.splitlines()) > 500:
            long_files.append(path.name)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 100:
                long_functions.append(f"{path.relative_to(REPO)}:{node.name}")
    assert long_files == [] and long_functions == []
