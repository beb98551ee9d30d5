"""The PM's journey, end to end on a real MLflow sqlite store: simulate the seed's three arms for 14
days, ingest, analyse, ship V3, export it under alias `production`, load the prompt back by alias and
render a video from the exported bundle. Plus forced export, rollback, SRM refusal and privacy."""

import json

import pytest

from lab.errors import LabError
from lab.experiments import tracking
from lab.experiments.outcomes import OutcomeStore, analyze_experiment
from lab.experiments.registry import prompt_name, variant_from_bundle
from lab.experiments.simulate import simulate
from lab.experiments.workflow import export, rollback, track
from lab.library.events import parse_event
from lab.render.encode import probe
from lab.render.pipeline import render
from tests.conftest import REPO, SENTINEL_NAME

KEY = "seed-v1-v2-v3"
TRUE = {"v1-fast-sprint": 0.23, "v2-slow-motion": 0.31, "v3-rival-ghost": 0.38}


def run_journey(lab_env, tmp_path, daily=3000, previews=False):
    """14 days of traffic that reach the plan's 6,582 users per arm (a fixed-horizon test is read only then)."""
    exp = lab_env.load(KEY)
    lab_env.set_status(KEY, "running")
    track(lab_env, exp, previews=previews)
    store = OutcomeStore(KEY)
    days = simulate(exp, TRUE, daily=daily, days=14, out_dir=tmp_path / "sim", users_per_day=2.0)
    for step, f in enumerate(days, start=1):
        store.ingest(exp, f)
        result, _ = analyze_experiment(exp, store)
        tracking.log_arm_metrics(KEY, result, step=step)
    return exp, store, result


def test_simulate_ingest_analyse_ship_export_and_render(lab_env, tmp_path):
    exp, store, result = run_journey(lab_env, tmp_path, previews=True)
    assert min(v.units for v in result.variants) >= exp.planned_n_per_arm()
    assert (result.decision.action, result.decision.arm) == ("ship", "v3-rival-ghost")
    assert result.srm.ok and result.unit == "user"

    mlflow = tracking.configure()
    runs = mlflow.search_runs(experiment_names=[tracking.experiment_name(KEY)])
    arms = runs[runs["tags.highlight_lab.kind"] == "arm"].set_index("tags.highlight_lab.arm")
    assert set(arms.index) == set(TRUE)
    assert arms.loc["v3-rival-ghost", "params.style"] == "rival_ghost_exit"
    assert arms.loc["v3-rival-ghost", "params.cta.zh-CN"] == "我要反超!"
    assert arms.loc["v3-rival-ghost", "metrics.ctr"] == pytest.approx(0.38, abs=0.02)
    history = mlflow.MlflowClient().get_metric_history(arms.loc["v3-rival-ghost", "run_id"], "impressions")
    assert [m.step for m in history] == list(range(1, 15))  # updated as outcomes arrived
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(arms.loc["v1-fast-sprint", "run_id"],
                                                                     "preview")}
    assert {"preview/preview.mp4", "preview/preview.poster.png", "preview/preview.contact.png"} <= artifacts

    shipped = export(lab_env, KEY)
    assert (shipped.arm, shipped.prompt_version, shipped.previous_version, shipped.forced) == ("v3-rival-ghost", 1,
                                                                                              None, False)
    assert lab_env.load(KEY).status == "shipped"
    prompt = mlflow.genai.load_prompt(f"prompts:/{prompt_name('rank_up')}@production")
    bundle = json.loads(open(shipped.bundle, encoding="utf-8").read())
    assert prompt.template == bundle["template"] and bundle["style"] == "rival_ghost_exit"
    assert bundle["cta"]["zh-CN"] == "我要反超!" and bundle["decision"]["arm"] == "v3-rival-ghost"
    variant = variant_from_bundle(bundle)
    event = parse_event({"event": "rank_up", "user": "小明", "old_rank": 5, "new_rank": 2, "locale": "zh-CN"})
    r = render(variant, event, tmp_path / "prod.mp4", backend="motion", logo_root=REPO / "variants")
    assert probe(tmp_path / "prod.mp4")["frames"] == 97 and r.prompt == variant.prompt_for(event)


def test_forced_export_records_the_reason_and_rollback_restores(lab_env, tmp_path):
    run_journey(lab_env, tmp_path)
    first = export(lab_env, KEY)
    with pytest.raises(LabError, match="refused: the analysis ships v3-rival-ghost, not v2-slow-motion"):
        export(lab_env, KEY, arm="v2-slow-motion")
    with pytest.raises(LabError, match="--force needs --reason"):
        export(lab_env, KEY, arm="v2-slow-motion", force=True)
    forced = export(lab_env, KEY, arm="v2-slow-motion", force=True, reason="brand review prefers V2")
    assert (forced.prompt_version, forced.previous_version, forced.forced) == (2, first.prompt_version, True)
    mlflow = tracking.configure()
    pv = mlflow.genai.load_prompt(f"prompts:/{prompt_name('rank_up')}@production")
    assert pv.version == 2 and pv.tags["force_reason"] == "brand review prefers V2" and pv.tags["forced"] == "true"
    bundle = json.loads(open(forced.bundle, encoding="utf-8").read())
    assert bundle["forced"] is True and bundle["force_reason"] == "brand review prefers V2"

    assert rollback("rank_up") == (2, 1)
    assert mlflow.genai.load_prompt(f"prompts:/{prompt_name('rank_up')}@production").version == 1
    assert json.loads(open(forced.bundle, encoding="utf-8").read())["variant"]["id"] == "v3-rival-ghost"
    with pytest.raises(LabError, match="version 1 was the first production version"):
        rollback("rank_up")
    assert mlflow.genai.load_prompt(f"prompts:/{prompt_name('rank_up')}/2").template  # kept, not deleted


def test_export_is_refused_on_srm_and_without_a_winner(lab_env, tmp_path):
    lab_env.set_status(KEY, "running")
    exp = lab_env.load(KEY)
    store = OutcomeStore(KEY)
    p = tmp_path / "srm.csv"
    p.write_text("variant,impressions,clicks\nv1-fast-sprint,20000,4600\nv2-slow-motion,10000,3100\n"
                 "v3-rival-ghost,10000,3800\n")
    store.ingest(exp, p)
    with pytest.raises(LabError, match="refused: the analysis found a sample ratio mismatch"):
        export(lab_env, KEY)
    forced = export(lab_env, KEY, arm="v3-rival-ghost", force=True, reason="SRM traced to a logging bug in v1")
    assert forced.forced

    other = OutcomeStore("flat", root=tmp_path / "flat")
    q = tmp_path / "flat.csv"
    q.write_text("variant,impressions,clicks\nv1-fast-sprint,300,69\nv2-slow-motion,300,70\nv3-rival-ghost,300,71\n")
    other.ingest(exp, q)
    result, _ = analyze_experiment(exp, other)
    assert result.decision.action == "keep_running"


def test_no_name_or_raw_user_id_reaches_mlflow(lab_env, tmp_path):
    exp = lab_env.load(KEY)
    track(lab_env, exp, previews=False)
    raw = tmp_path / "events.csv"
    rows = ["user_id,variant,timestamp,clicked"]
    for i in range(300):
        arm = list(TRUE)[i % 3]
        rows.append(f"{SENTINEL_NAME.replace(' ', '_')}-{i},{arm},2026-11-0{1 + i % 9} 10:00:00,{i % 2}")
    raw.write_text("\n".join(rows) + "\n")
    store = OutcomeStore(KEY)
    store.ingest(exp, raw)
    result, data = analyze_experiment(exp, store)
    tracking.log_arm_metrics(KEY, result, step=1)
    from analysis.report import html_report

    tracking.log_analysis(KEY, result, html_report(result, data.arms, data.daily), {"rows": data.rows})
    home = tmp_path / "home"
    needles = [SENTINEL_NAME.replace(" ", "_").encode(), b"Zyxwq"]
    for path in home.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            for n in needles:
                assert n not in blob, f"{n!r} found in {path}"
