"""The same code against a real `mlflow server` on 127.0.0.1 (a free port), started and stopped here."""

import json
import urllib.request

import pytest

from lab.experiments import tracking
from lab.experiments.outcomes import OutcomeStore, analyze_experiment
from lab.experiments.registry import prompt_name
from lab.experiments.workflow import export, track
from tests.conftest import mlflow_server as start_mlflow_server

KEY = "seed-v1-v2-v3"


@pytest.fixture
def mlflow_server(tmp_path):
    url, running = start_mlflow_server(tmp_path)
    with running:
        yield url, tmp_path


def test_track_ingest_and_export_through_a_real_server(lab_env, mlflow_server, tmp_path, monkeypatch):
    url, server_dir = mlflow_server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    (tmp_path / "home" / "mlflow.db").unlink()  # lab_env's empty embedded store: none must be made below
    exp = lab_env.load(KEY)
    track(lab_env, exp, previews=False)
    counts = tmp_path / "counts.csv"
    # Past the plan's 6,582 per arm: a fixed-horizon test is not read earlier.
    counts.write_text("variant,impressions,clicks\nv1-fast-sprint,7000,1610\nv2-slow-motion,7000,2170\n"
                      "v3-rival-ghost,7000,2660\n")
    store = OutcomeStore(KEY)
    store.ingest(exp, counts)
    result, _ = analyze_experiment(exp, store)
    tracking.log_arm_metrics(KEY, result, step=1)
    lab_env.set_status(KEY, "running")
    shipped = export(lab_env, KEY)
    assert shipped.arm == "v3-rival-ghost"

    mlflow = tracking.configure()
    assert mlflow.get_tracking_uri() == url
    prompt = mlflow.genai.load_prompt(f"prompts:/{prompt_name('rank_up')}@production")
    assert prompt.template == lab_env.variants.load("v3-rival-ghost").prompt_template
    runs = mlflow.search_runs(experiment_names=[tracking.experiment_name(KEY)])
    assert set(runs["tags.highlight_lab.kind"]) == {"arm", "export"}
    # It went through the server: the server's own store holds it, not the lab's embedded sqlite.
    assert (server_dir / "server.db").stat().st_size > 0
    assert not (tmp_path / "home" / "mlflow.db").exists()
    with urllib.request.urlopen(f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name="
                                f"{tracking.experiment_name(KEY).replace('/', '%2F')}") as r:
        assert json.load(r)["experiment"]["name"] == tracking.experiment_name(KEY)
