"""Each area of the studio through its served API (``gradio_client`` against a launched app): Library, Design,
Compare, Experiments, Analysis, Ship. One app per module over private copies of the libraries and a private
data folder; the calls go through the same queue and handlers as the page."""

import json
import re
import shutil
from pathlib import Path

import pytest

from lab.config import LabConfig
from lab.experiments import tracking, workflow
from lab.experiments.spec import ExperimentLibrary
from lab.library.schema import with_changes
from lab.library.versions import VariantLibrary
from lab.render.encode import probe
from lab.studio.handlers import ALL_SEGMENTS
from tests.conftest import REPO, free_port

KEY = workflow.DEMO_KEY


class Page:
    """One browser session's worth of state: component values as the page would hold them."""

    def __init__(self, client, demo):
        self.client, self.demo, self.values = client, demo, {}

    def comp(self, elem_id=None, label=None):
        (found,) = [b for b in self.demo.blocks.values()
                    if (elem_id and getattr(b, "elem_id", None) == elem_id)
                    or (label and getattr(b, "label", None) == label)]
        return found

    def call(self, api_name, **given):
        """Call an endpoint with the page's values, ``given`` overriding by elem_id; returns outputs by elem_id
        (or label) and remembers them."""
        (fn,) = [f for f in self.demo.fns.values() if f.api_name == api_name]
        by_id = {self.comp(elem_id=k)._id if not k.startswith("label:") else self.comp(label=k[6:])._id: v
                 for k, v in given.items()}
        inputs = [c for c in fn.inputs if not c.skip_api]
        self.values.update(by_id)
        args = [self.values.get(c._id, c.value) for c in inputs]
        out = self.client.predict(*args, api_name=f"/{api_name}")
        outputs = [c for c in fn.outputs if not c.skip_api]
        out = out if len(outputs) > 1 else [out]
        shown, self.raw = {}, {}
        for c, v in zip(outputs, out, strict=True):
            self.raw[c.elem_id or c.label] = v
            if isinstance(v, dict) and v.get("__type__") == "update":
                v = v.get("value", self.values.get(c._id))
            self.values[c._id] = v
            shown[c.elem_id or c.label] = v
        return shown


def rows(table):
    return table["data"] if isinstance(table, dict) else table


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from gradio_client import Client

    from lab.studio.app import build_demo, launch_options

    tmp = tmp_path_factory.mktemp("studio-api")
    shutil.copytree(REPO / "variants", tmp / "variants", ignore=shutil.ignore_patterns(".lock"))
    shutil.copytree(REPO / "experiments", tmp / "experiments")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HIGHLIGHT_LAB_HOME", str(tmp / "home"))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
        cfg = LabConfig(variants_dir=tmp / "variants", experiments_dir=tmp / "experiments", port=free_port())
        demo = build_demo(cfg)
        demo.queue()
        demo.launch(server_name="127.0.0.1", server_port=cfg.port, prevent_thread_lock=True, quiet=True,
                    **launch_options(cfg.variants_dir))
        try:
            yield Page(Client(f"http://127.0.0.1:{cfg.port}/", verbose=False), demo), cfg
        finally:
            demo.close()


def test_library_lists_variants_with_their_arms_and_clones(app):
    page, cfg = app
    table = rows(page.call("library")["library-table"])
    by_id = {r[0]: r for r in table}
    v3 = VariantLibrary(cfg.variants_dir).load("v3-rival-ghost")
    assert by_id["v3-rival-ghost"][1:4] == ["rank_up", "rival_ghost_exit", v3.version]
    pinned = next(a.version for a in ExperimentLibrary(cfg.experiments_dir, VariantLibrary(cfg.variants_dir))
                  .load(KEY).arms if a.variant == "v3-rival-ghost")  # the arm pins a saved version, maybe not current
    assert by_id["v3-rival-ghost"][6] == f"{KEY}@{pinned}" and by_id["comeback-replay"][6] == ""

    out = page.call("clone", **{"label:Clone variant": "v3-rival-ghost", "label:New id": "v4-ghost-copy"})
    assert "v4-ghost-copy" in [r[0] for r in rows(out["library-table"])]
    clone = VariantLibrary(cfg.variants_dir).load("v4-ghost-copy")
    assert clone.prompt_template == v3.prompt_template and VariantLibrary(cfg.variants_dir).is_recorded(clone)
    # A refused clone says why in the tab's message area, as text, and leaves the table as it was (finding 8).
    bad = page.call("clone", **{"label:Clone variant": "v3-rival-ghost", "label:New id": "v4-ghost-copy"})
    assert "already exists" in bad["library-msg"]
    assert page.raw["library-table"] == {"__type__": "update"}  # not sent: the page keeps its table


def test_clone_title_says_copy_and_the_author_is_never_a_blank_by(app):
    """A clone's title says it is a copy (within the title limit); with the Author field (Design tab) blank the
    clone says "author unknown" instead of a blank "by", and with it filled the clone is signed."""
    from lab.experiments.workflow import copy_title
    from lab.library.freetext import TITLE_MAX

    page, cfg = app
    lib = VariantLibrary(cfg.variants_dir)
    src = lib.load("comeback-replay")
    out = page.call("clone", **{"label:Clone variant": "comeback-replay", "label:New id": "comeback-anon",
                                "author": ""})
    clone = VariantLibrary(cfg.variants_dir).load("comeback-anon")
    assert clone.title == f"{src.title} (copy)" and "(copy)" in out["library-info"]
    assert "author unknown" in out["library-info"]
    assert {r[0]: r for r in rows(out["library-table"])}["comeback-anon"][5] == "(unknown)"
    assert "author unknown" in page.call("load_variant", variant="comeback-anon")["variant-info"]
    signed = page.call("clone", **{"label:Clone variant": "comeback-replay", "label:New id": "comeback-dana",
                                   "author": "dana"})
    assert "by dana" in signed["library-info"] and VariantLibrary(cfg.variants_dir).history("comeback-dana")[
        0].author == "dana"
    long = copy_title("x" * TITLE_MAX)
    assert len(long) == TITLE_MAX and long.endswith("… (copy)")


def test_design_live_prompt_errors_save_no_change_and_conflict(app):
    page, cfg = app
    loaded = page.call("load_variant", variant="v1-fast-sprint")
    assert loaded["template"] and loaded["size"] == "864×480" and loaded["orientation"] == "landscape"
    checked = page.call("check", template="Sprint to #{{new_rank}} from #{{old_rank}}, golden arrow")
    assert checked["prompt"] == "Sprint to #2 from #3, golden arrow"
    # A name in the template: the error sits beside the template, in plain words, and the prompt is cleared.
    checked = page.call("check", template="{{user}} sprints to #{{new_rank}}")
    assert "personal data" in checked["err-template"] and checked["prompt"] == ""
    assert "--" not in checked["err-template"] and "/" not in checked["err-template"]
    assert checked["video"] is None

    note = "<img src=x onerror=alert(1)> | a pipe"
    shipped = len(VariantLibrary(cfg.variants_dir).history("v1-fast-sprint"))
    saved = page.call("save", template="Sprint to #{{new_rank}}, golden arrow", author="dana", note=note)
    lib = VariantLibrary(cfg.variants_dir)
    v1 = lib.load("v1-fast-sprint")
    assert v1.prompt_template == "Sprint to #{{new_rank}}, golden arrow"
    assert f"`{v1.version}`" in saved["variant-info"] and f"`{v1.version}`" in saved["save-info"]
    assert rows(saved["history"])[0] == [v1.version, lib.history(v1.id)[0].saved_at[:19].replace("T", " "),
                                         "dana", note]  # the note comes back as the very characters typed
    again = page.call("save", template="Sprint to #{{new_rank}}, golden arrow", author="dana", note="again")
    assert again["save-info"].startswith("No change to save") and len(lib.history(v1.id)) == shipped + 1

    lib.save(with_changes(v1, cta__en="Someone else's"), base=v1.version, author="someone")
    clash = page.call("save", template="Sprint to #{{new_rank}} in gold", author="dana", note="mine")
    assert "Nothing was written" in clash["save-info"]
    assert lib.load("v1-fast-sprint").cta["en"] == "Someone else's"


def test_design_kept_copy_message_survives_the_copy_loading(app):
    """Keep mine as a copy picks the copy, and picking a variant loads it: the copy's message must stay (it was
    wiped by that load), while loading another variant later clears it."""
    page, cfg = app
    lib = VariantLibrary(cfg.variants_dir)
    page.call("load_variant", variant="v2-slow-motion")
    v2 = lib.load("v2-slow-motion")
    lib.save(with_changes(v2, cta__en="Theirs first"), base=v2.version, author="someone")
    clash = page.call("save", template="Slow {{new_rank}} mine", author="dana", note="mine")
    assert "Nothing was written" in clash["save-info"]
    kept = page.call("keep_copy")
    new_id = kept["variant"]
    assert new_id.startswith("v2-slow-motion-copy") and "saved as a new variant" in kept["save-info"]
    loaded = page.call("load_variant", variant=new_id)  # what the page's variant.change runs next
    assert f"saved as a new variant **{new_id}**" in loaded["save-info"]
    assert page.call("load_variant", variant="v1-fast-sprint")["save-info"] == ""


def test_compare_renders_each_slot_and_reuses_an_unchanged_one(app):
    page, _ = app
    given = {"cmp-slot-0": "v1-fast-sprint", "cmp-slot-1": "v3-rival-ghost", "cmp-slot-2": "", "cmp-slot-3": "",
             "cmp-user": "小明", "cmp-level": "4"}
    out = page.call("compare", **given)
    for i in (0, 1):
        video = out[f"cmp-video-{i}"]
        path = video["video"] if isinstance(video, dict) else video
        assert probe(Path(path))["frames"] == 49  # level 4: 2 s at 24 fps
        assert "level 4" in out[f"cmp-info-{i}"] and "cache" in out[f"cmp-info-{i}"]
        assert "小明" not in out[f"cmp-prompt-{i}"] and out[f"cmp-prompt-{i}"]
    assert out["cmp-video-2"] is None and out["cmp-info-2"] == ""
    again = page.call("compare", **given)
    assert all("same preview as before, reused" in again[f"cmp-info-{i}"] for i in (0, 1))
    assert not any("cache miss" in again[f"cmp-info-{i}"] for i in (0, 1))  # it said "cache miss … instant"
    portrait = page.call("compare", **{**given, "cmp-orientation": "portrait"})
    w, h = map(int, re.search(r"(\d+)×(\d+)", portrait["cmp-info-0"]).groups())
    assert w < h
    assert "reused" not in portrait["cmp-info-0"] and "rendered in" in portrait["cmp-info-0"]


def test_render_summary_says_reused_or_fresh_never_both():
    from lab.studio.handlers.design import DesignHandlers

    sc = {"backend": "motion", "level": 4, "level_reason": "fixed", "width": 864, "height": 480, "frames": 49,
          "seconds": 3.5, "random_weights": False, "warnings": [], "cache_hit": False}
    reused = DesignHandlers.summary(sc, cached=True)
    assert "reused" in reused and "miss" not in reused and "made fresh" not in reused and "3.50 s" in reused
    fresh = DesignHandlers.summary(sc)
    assert "rendered in 3.50 s" in fresh and "made fresh" in fresh and "reused" not in fresh
    assert "background from the cache" in DesignHandlers.summary({**sc, "cache_hit": True})


def test_backend_availability_names_a_reason():
    av = workflow.backend_availability()
    assert av["motion"] is None and av["auto"] is None
    if av["wan"]:
        assert "GPU" in av["wan"] or "weights" in av["wan"] or "torch" in av["wan"]


def test_experiments_live_plan_checks_the_weights_as_create_does(app):
    """Weights 0.7/0.2 are refused as you type, beside the weights field, with the rule Create applies."""
    page, _ = app
    arms = ["v1-fast-sprint", "v2-slow-motion"]
    plan = page.call("power", **{"new-arms": arms, "new-weights": "0.7, 0.2", "new-baseline": 0.23})
    assert "sum to 0.9, not 1" in plan["err-weights"] and "per arm" not in plan["plan-info"]
    plan = page.call("power", **{"new-arms": arms, "new-weights": "1.5, -0.5"})
    assert "1.5 is not a weight" in plan["err-weights"]
    created = page.call("create_experiment", **{"new-key": "weights-test", "new-arms": arms,
                                                "new-weights": "0.7, 0.2"})
    assert "sum to 0.9" in created["experiments-msg"]  # Create refuses the same weights with the same words
    plan = page.call("power", **{"new-arms": arms, "new-weights": "0.7, 0.3"})
    assert plan["err-weights"] == "" and "per arm" in plan["plan-info"]


def test_experiments_create_plan_status_simulate_and_bad_files(app, tmp_path):
    from gradio_client import handle_file

    page, cfg = app
    plan = page.call("power", **{"new-arms": ["v1-fast-sprint", "v2-slow-motion"], "new-weights": "0.5, 0.5",
                                 "new-baseline": 0.23})
    assert "per arm" in plan["plan-info"] and "days" in plan["plan-info"]
    out = page.call("create_experiment", **{"new-key": "cta-test", "new-arms": ["v2-slow-motion", "v3-rival-ghost"],
                                            "new-weights": "0.5, 0.5", "new-baseline": 0.3})
    assert "Created **cta-test**" in out["create-info"] and "draft" in out["exp-overview"]
    exp = ExperimentLibrary(cfg.experiments_dir, VariantLibrary(cfg.variants_dir)).load("cta-test")
    assert exp.arm_ids == ["v2-slow-motion", "v3-rival-ghost"] and exp.status == "draft"
    assert "running" in page.call("start", **{"exp-key": "cta-test"})["exp-overview"]

    bad1, bad2 = tmp_path / "bad1.csv", tmp_path / "bad2.csv"
    bad1.write_text("variant,impressions,clicks\nv2-slow-motion,100,5\nv3-rival-ghost,100,500\n")
    bad2.write_text("variant,impressions,clicks\nnobody,100,5\n")
    out = page.call("ingest", **{"exp-key": "cta-test", "outcome-files": [handle_file(bad1), handle_file(bad2)]})
    assert "2 files refused" in out["ingest-info"]
    assert "bad1.csv" in out["ingest-info"] and "bad2.csv" in out["ingest-info"]
    assert "row 2" in out["ingest-info"] and str(tmp_path) not in out["ingest-info"]

    many = tmp_path / "many.csv"  # three bad rows: all three are listed, so one upload fixes the file
    many.write_text("variant,impressions,clicks\nv2-slow-motion,100,500\nnobody,100,5\nv3-rival-ghost,x,5\n")
    info = page.call("ingest", **{"exp-key": "cta-test", "outcome-files": [handle_file(many)]})["ingest-info"]
    assert "many.csv, every bad row:" in info and str(tmp_path) not in info
    assert "- row 1, column clicks: 500 clicks is more than 100 impressions" in info
    assert "- row 2, column variant: unknown variant" in info
    assert "- row 3, column impressions: 'x' is not a whole number" in info

    out = page.call("simulate", **{"exp-key": "cta-test", "sim-ctr": "v2-slow-motion=0.3, v3-rival-ghost=0.36",
                                   "label:Per day": 400, "label:Days": 3})
    assert "SIMULATED" in out["ingest-info"] and "SIMULATED" in out["exp-overview"]
    assert not list(cfg.experiments_dir.glob("*.parquet"))  # simulated files live in the data folder


def test_analysis_and_ship_then_roll_back(app):
    page, cfg = app
    exps = ExperimentLibrary(cfg.experiments_dir, VariantLibrary(cfg.variants_dir))
    workflow.simulate_and_ingest(exps, KEY, workflow.DEMO_CTR, daily=3000, days=14, users_per_day=2.0)
    out = page.call("analyze_experiment", **{"exp-key": KEY})
    assert "ship v3-rival-ghost" in out["decision"].lower() or "v3-rival-ghost" in out["decision"]
    runs = tracking.configure().search_runs(experiment_names=[tracking.experiment_name(KEY)],
                                            filter_string=f"tags.`{tracking.KIND}` = 'analysis'")
    assert any(r in out["analysis-run"] for r in runs["run_id"])
    assert out["srm-banner"] in ("", None)
    # Finding 11: the seed's declared guardrail and segment are filled in from the simulated data.
    assert {(r[0], r[1]) for r in rows(out["guardrails-table"])} == {("dismissals", "v2-slow-motion"),
                                                                     ("dismissals", "v3-rival-ghost")}
    assert {r[0] for r in rows(out["segments-table"])} == {"ios", "android"}
    assert page.raw["segment-pick"]["choices"] == [[c, c] for c in ("all segments", "android", "ios")]
    report = Path(out["report-file"]).read_text(encoding="utf-8")
    assert "<html" in report.lower() and KEY in report

    page.call("start", **{"exp-key": KEY})
    shipped = page.call("export", **{"exp-key": KEY})
    table = rows(shipped["registry"])
    assert table[0][1].endswith("production") and table[0][2] == "v3-rival-ghost"
    bundle = json.loads(Path(shipped["bundle-file"]).read_text(encoding="utf-8"))
    assert bundle["experiment"] == KEY
    assert exps.load(KEY).status == "shipped"
    # A forced second export, then roll back to the first.
    exps_key = "cta-test"
    page.call("stop", **{"exp-key": exps_key})
    forced = page.call("export", **{"exp-key": exps_key, "label:Arm (blank: the winner)": "v2-slow-motion",
                                    "label:Force (override the analysis)": True,
                                    "label:Reason (required to force)": "brand asked for it"})
    assert "FORCED" in forced["ship-info"]
    back = page.call("rollback", **{"exp-key": KEY})
    assert "production is version 1 again" in back["ship-info"]
    assert [r[1] for r in rows(back["registry"])] == ["", "● production"]


def test_first_launch_demo_is_simulated_and_leaves_experiments_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("HIGHLIGHT_LAB_HOME", str(tmp_path / "home"))
    shutil.copytree(REPO / "experiments", tmp_path / "experiments")
    before = {p.name: p.read_bytes() for p in (tmp_path / "experiments").iterdir()}
    exps = ExperimentLibrary(tmp_path / "experiments", VariantLibrary(REPO / "variants"))
    done = workflow.ensure_demo(exps, daily=600, days=14)
    assert done is not None and workflow.is_simulated(KEY)
    assert len(workflow.OutcomeStore(KEY).manifest()) == 14
    assert workflow.ensure_demo(exps) is None  # the second launch finds it ready
    assert {p.name: p.read_bytes() for p in (tmp_path / "experiments").iterdir()} == before
    assert all(str(tmp_path / "home") in str(p) for p in workflow.simulated_dir(KEY).parents[:1])


def test_markdown_text_is_escaped():
    from lab.studio.app import text

    shown = text("<img src=x onerror=alert(1)> | *bold*")
    assert "<img" not in shown and "&lt;img" in shown and r"\|" in shown and r"\*bold\*" in shown


def test_logo_upload_stores_a_hashed_png_and_refuses_bad_files(app, tmp_path):
    import hashlib

    from gradio_client import handle_file
    from PIL import Image

    page, cfg = app
    page.call("load_variant", variant="v2-slow-motion")
    upload = tmp_path / "Ana's team logo.png"
    Image.new("RGBA", (64, 32), (200, 30, 30, 255)).save(upload)
    out = page.call("upload_logo", **{"label:Upload logo": handle_file(upload)})
    rel = out["logo"]
    stored = cfg.variants_dir / rel
    assert rel.startswith("assets/logo-") and "Ana" not in rel and stored.is_file()
    assert rel == f"assets/logo-{hashlib.sha256(stored.read_bytes()).hexdigest()[:12]}.png"
    with Image.open(stored) as img:
        assert img.format == "PNG" and img.size == (64, 32)
    saved = page.call("save", author="dana", note="logo")
    assert "Saved" in saved["save-info"]
    assert VariantLibrary(cfg.variants_dir).load("v2-slow-motion").brand.logo == rel

    before = sorted(p.name for p in (cfg.variants_dir / "assets").iterdir())
    text_file = tmp_path / "logo.png"
    text_file.write_text("not an image")
    huge = tmp_path / "huge.png"
    Image.new("L", (5000, 5000)).save(huge)
    for bad, said in ((text_file, "not a PNG, JPEG or WebP image"), (huge, "5000×5000 pixels")):
        message = page.call("upload_logo", **{"label:Upload logo": handle_file(bad)})["design-msg"]
        assert said in message and "4096x4096" in message and "--" not in message and "Traceback" not in message
    assert sorted(p.name for p in (cfg.variants_dir / "assets").iterdir()) == before  # nothing stored


def test_reload_theirs_after_a_conflict_shows_their_version_and_builds_on_it(app):
    page, cfg = app
    lib = VariantLibrary(cfg.variants_dir)
    page.call("load_variant", variant="v2-slow-motion")
    mine = lib.load("v2-slow-motion")
    theirs = lib.save(with_changes(mine, cta__en="Their words"), base=mine.version, author="someone")
    clash = page.call("save", **{"cta-en": "My words"}, author="dana", note="mine")
    assert "Nothing was written" in clash["save-info"]

    out = page.call("reload_theirs", variant="v2-slow-motion")
    assert out["cta-en"] == "Their words" and out["save-info"].startswith("Reloaded the latest version")
    assert lib.load("v2-slow-motion").version == theirs.short
    # The base moved to theirs: an edit now saves on top of it instead of clashing again.
    saved = page.call("save", template="Slow motion to #{{new_rank}}, silver glow", author="dana", note="on theirs")
    assert saved["save-info"].startswith("Saved")
    now = lib.load("v2-slow-motion")
    assert now.cta["en"] == "Their words" and now.prompt_template == "Slow motion to #{{new_rank}}, silver glow"
    assert [h.short for h in lib.history("v2-slow-motion")[:2]] == [now.version, theirs.short]


def test_a_new_page_offers_variants_and_experiments_made_after_launch(app):
    """Finding 3: the pickers are read when a page loads, so a clone made after launch opens on a new page."""
    page, cfg = app
    page.call("clone", **{"label:Clone variant": "v1-fast-sprint", "label:New id": "v4-neon-burst"})
    fresh = Page(page.client.__class__(page.client.src, verbose=False), page.demo)  # a second page
    fresh.call("choices")
    assert "v4-neon-burst" in str(fresh.raw["variant"]["choices"])
    assert "v4-neon-burst" in str(fresh.raw["clone-src"]["choices"])
    loaded = fresh.call("load_variant", variant="v4-neon-burst")
    assert "v4-neon-burst" in loaded["variant-info"]


def test_picking_another_experiment_recomputes_its_decision_and_a_draft_is_not_exported(app, tmp_path):
    """Finding 1: the decision shown is the picked experiment's, named in its heading. Finding 6: a draft is
    refused export, in words, and stays a draft."""
    from gradio_client import handle_file

    page, cfg = app
    page.call("create_experiment", **{"new-key": "srm-test", "new-arms": ["v1-fast-sprint", "v2-slow-motion"],
                                      "new-weights": "", "new-baseline": 0.23})
    refused = page.call("export", **{"exp-key": "srm-test"})
    assert "draft" in refused["ship-msg"] and "--" not in refused["ship-msg"]
    exps = ExperimentLibrary(cfg.experiments_dir, VariantLibrary(cfg.variants_dir))
    assert exps.load("srm-test").status == "draft"
    page.call("start", **{"exp-key": "srm-test"})
    srm = tmp_path / "srm.csv"
    srm.write_text("variant,impressions,clicks\nv1-fast-sprint,20000,4600\nv2-slow-motion,10000,3100\n")
    page.call("ingest", **{"exp-key": "srm-test", "outcome-files": [handle_file(srm)]})
    shown = page.call("analysis", **{"exp-key": "srm-test"})
    assert shown["decision"].startswith("### srm-test:") and "v3-rival-ghost" not in shown["decision"]
    assert "Sample ratio mismatch" in shown["srm-banner"] and "srm-test" in shown["analysis-exp"]
    assert [r[0] for r in rows(shown["ctr-table"])] == ["v1-fast-sprint", "v2-slow-motion"]
    assert rows(shown["guardrails-table"]) == []  # none declared


def test_live_check_puts_ranges_and_empty_fields_beside_the_field_in_user_words(app):
    """Findings 5 and 10: seconds out of range, an emptied CTA and a bad rank pair are field errors, live."""
    page, _ = app
    page.call("load_variant", variant="v2-slow-motion")
    out = page.call("check", **{"duration-s": 25})
    assert out["err-duration-s"] and "10" in out["err-duration-s"] and out["video"] is None
    rendered = page.call("preview", **{"duration-s": 25, "level": "4"})
    assert "Fix the fields" in rendered["design-msg"] and rendered["err-duration-s"]
    out = page.call("check", **{"duration-s": 3, "cta-en": ""})
    assert out["err-cta-en"] and "cta.en" not in out["err-cta-en"]
    out = page.call("check", **{"cta-en": "Go", "old-rank": 3, "new-rank": 5})
    assert "smaller number than the old rank" in out["err-event"] and "Rank_up" not in out["err-event"]


def test_a_half_alive_mlflow_is_one_line_in_the_tab_and_the_overview_still_shows(app, monkeypatch):
    """Finding 11: MLflow answers /health but hangs its API. The overview shows with one line for its runs, and
    an action that needs MLflow says so in the tab's message area, never a traceback."""
    from lab import config
    from tests.conftest import half_alive_server

    page, _ = app
    monkeypatch.setenv(config.ENV_MLFLOW_TIMEOUT, "2")
    monkeypatch.setenv(config.ENV_MLFLOW_RETRIES, "0")
    with half_alive_server() as (url, _calls):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        line = f"MLflow at {url} is not answering"
        shown = page.call("experiment", **{"exp-key": KEY})
        assert f"MLflow runs: {line}" in shown["exp-overview"] and "Planned sample" in shown["exp-overview"]
        back = page.call("rollback", **{"exp-key": KEY})
        msg = back["ship-msg"].strip()
        assert msg == f"⚠ {line}. Nothing local was lost; run the command again when it is back."


def test_a_declared_guardrail_or_segment_missing_from_the_data_says_so(lab_env, tmp_path):
    """Counts without a dismissals or platform column: the tables say what is not in the data, not nothing."""
    from lab.experiments.outcomes import OutcomeStore
    from lab.studio.handlers import Handlers

    counts = tmp_path / "counts.csv"
    counts.write_text("variant,impressions,clicks\nv1-fast-sprint,7000,1610\nv2-slow-motion,7000,2170\n"
                      "v3-rival-ghost,7000,2660\n")
    OutcomeStore(KEY).ingest(lab_env.load(KEY), counts)
    h = Handlers.from_config(LabConfig(variants_dir=REPO / "variants", experiments_dir=lab_env.root))
    out = h.analyze(KEY, record=False)
    assert out["guardrails_table"] == [["dismissals", "all arms", "", "", "", "not measured in this data"]]
    assert out["segments_table"] == [["platform: not in this data", "", "", ""]]
    assert out["segment_pick"]["choices"] == [ALL_SEGMENTS]


def test_the_frame_strip_follows_the_motion_knobs_and_they_save_as_motion_overrides(app):
    """The Design tab's frame strip is the beat sheet of the form on screen: a motion knob changes it, a knob out
    of range is an error beside it (and no strip), and a saved knob is the variant's ``motion:`` override."""
    from PIL import Image, ImageChops

    page, cfg = app
    page.call("load_variant", variant="v2-slow-motion")
    first = Image.open(page.call("strip", orientation="landscape")["frame-strip"]).convert("RGB")
    assert first.width > first.height  # four landscape beats to a row
    moved = Image.open(page.call("strip", **{"motion-impact-s": 0.6, "motion-shake": 20})["frame-strip"]).convert("RGB")
    assert moved.size == first.size and ImageChops.difference(first, moved).getbbox() is not None
    portrait = Image.open(page.call("strip", orientation="portrait")["frame-strip"])
    assert portrait.height > first.height
    bad = page.call("check", **{"motion-impact-s": 9})
    assert "between 0.5 and 2" in bad["err-motion-impact-s"]
    assert page.call("strip", **{"motion-impact-s": 9})["frame-strip"] is None
    page.call("strip", orientation="landscape", **{"motion-impact-s": 0.6})
    page.call("save", author="dana", note="earlier impact")
    saved = VariantLibrary(cfg.variants_dir).load("v2-slow-motion").to_dict()["motion"]
    assert saved == {"impact_s": 0.6, "shake": 20.0}


def test_cancel_stops_the_render_itself_and_keeps_no_video(tmp_path, monkeypatch):
    """Finding 7 (server side): Cancel stops the render at its next progress step; the frames stop coming and
    no video is written. Without a cancel the same render runs to its last frame and writes one."""
    from lab.studio import forms
    from lab.studio.common import CANCELS, RenderCancelled, RenderSteps
    from lab.studio.handlers import Handlers

    monkeypatch.setenv("HIGHLIGHT_LAB_HOME", str(tmp_path / "home"))
    h = Handlers.from_config(LabConfig(variants_dir=REPO / "variants", experiments_dir=REPO / "experiments"))
    v = h.variants.load("v1-fast-sprint")
    form = {**forms.variant_form(v), "seed": 911}  # a seed no other test renders: not in any cache
    event = dict.fromkeys(("user", "old_rank", "new_rank", "rival", "challenge"), "") | {"locale": "en"}
    seen: list[str] = []

    def report(fraction, desc):
        seen.append(desc)
        if len(seen) == 3:
            CANCELS.cancel("page-1")  # what the Cancel button does for this page

    previews = tmp_path / "home" / "previews"
    with pytest.raises(RenderCancelled):
        h.preview("v1-fast-sprint", form, event, backend="motion", level="auto",
                  progress=RenderSteps(report, session="page-1"))
    assert len(seen) == 3 and not list(previews.glob("*.mp4"))  # stopped at the next step, nothing kept
    done: list[str] = []
    out = h.preview("v1-fast-sprint", form, event, backend="motion", level="auto",
                    progress=RenderSteps(lambda f, d: done.append(d), session="page-1"))
    total = int(done[-2].rsplit("/", 1)[1])
    assert done[-2:] == [f"compositing frame {total}/{total}", "encoding the video"]
    assert len(done) > 3 and Path(out["video"]).is_file()


def test_mlflow_links_are_absent_for_a_local_store_and_real_for_a_server(lab_env, tmp_path, monkeypatch):
    """Finding 11: a sqlite store has no pages, so runs are listed by id with how to see them; with an MLflow
    server each run links to that server's own run page, which answers."""
    import urllib.request

    from lab.studio.handlers import Handlers
    from tests.conftest import mlflow_server

    h = Handlers.from_config(LabConfig(variants_dir=REPO / "variants", experiments_dir=lab_env.root))
    workflow.track(lab_env, lab_env.load(KEY), previews=False)
    local = h.runs_markdown(KEY)
    assert "](" not in local and "http" not in local and "mlflow ui" in local
    store = tmp_path / "server"
    store.mkdir()
    url, server = mlflow_server(store)
    with server:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        workflow.track(lab_env, lab_env.load(KEY), previews=False)
        linked = h.runs_markdown(KEY)
        links = re.findall(r"\]\((http[^)]+)\)", linked)
        assert len(links) == 3 and all(link.startswith(f"{url}/#/experiments/") for link in links)
        exp_id = tracking.experiment_id(KEY)
        run_ids = set(tracking.arm_runs(KEY).values())
        assert {link.rsplit("/", 1)[1] for link in links} == run_ids
        assert all(f"/experiments/{exp_id}/runs/" in link for link in links)
        with urllib.request.urlopen(links[0].split("#")[0], timeout=30) as page:  # the server's UI answers
            assert page.status == 200
