"""The review notebook runs top to bottom on a real store, so it cannot rot."""

import nbformat
from nbclient import NotebookClient

from analysis.report import html_report
from lab.experiments import tracking
from lab.experiments.outcomes import analyze_experiment
from tests.conftest import REPO
from tests.lab.test_journey import KEY, run_journey


def test_the_notebook_reproduces_the_logged_analysis(lab_env, tmp_path):
    exp, store, _ = run_journey(lab_env, tmp_path)
    result, data = analyze_experiment(exp, store)
    tracking.log_analysis(KEY, result, html_report(result, data.arms, data.daily), {"rows": data.rows})
    nb = nbformat.read(REPO / "notebooks" / "experiment_review.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO / "notebooks")}})
    client.execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "ship v3-rival-ghost" in outputs
    assert "matches the logged analysis: ship v3-rival-ghost" in outputs
    last = nb.cells[-1].outputs
    assert any("ctr" in str(o.get("data", {}).get("text/plain", "")) for o in last)
