"""`highlight-lab analyze` and `power` as a PM runs them."""

import json

import pytest

from tests.lab.test_cli import run


@pytest.fixture
def seed_counts(tmp_path):
    p = tmp_path / "seed.csv"
    p.write_text("variant,impressions,clicks\nv1,1000,230\nv2,1000,310\nv3,1000,380\n", encoding="utf-8")
    return p


def test_analyze_json_and_report(seed_counts, tmp_path):
    report = tmp_path / "report.html"
    proc = run("analyze", str(seed_counts), "--json", "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["decision"]["action"] == "ship" and data["decision"]["arm"] == "v3"
    assert [v["variant"] for v in data["variants"]] == ["v1", "v2", "v3"]
    assert data["input"] == {"file": str(seed_counts), "kind": "counts", "rows": 3, "skipped": {}}
    page = report.read_text(encoding="utf-8")
    assert "ship v3" in page
    assert 'src="http' not in page and "src='http" not in page  # plotly.js is embedded: nothing loads from a CDN


def test_analyze_options(seed_counts):
    data = json.loads(run("analyze", str(seed_counts), "--json", "--control", "v2", "--correction", "bh",
                          "--mode", "sequential").stdout)
    assert data["control"] == "v2" and data["correction"] == "bh" and data["mode"] == "sequential"


@pytest.mark.parametrize("args, message", [
    (["--control", "v9"], "error: analyze: control 'v9' is not one of the arms: v1, v2, v3"),
    (["--weights", "0.5,x"], "error: --weights: '0.5,x' is not a comma-separated list of numbers; e.g. --weights 0.5,0.5"),
    (["--weights", "0.5,0.5"], "error: analyze: 2 weights given for 3 arms"),
    (["--alpha", "2"], "error: analyze: alpha must be between 0 and 1, got 2.0"),
])
def test_analyze_bad_options_exit_2(seed_counts, args, message):
    proc = run("analyze", str(seed_counts), *args)
    assert proc.returncode == 2 and proc.stderr == message + "\n"


def test_analyze_bad_file_exit_2_and_names_the_row(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("variant,impressions,clicks\nv1,100,20\nv2,100,130\n", encoding="utf-8")
    proc = run("analyze", str(p))
    assert proc.returncode == 2
    assert proc.stderr == f"error: analyze: {p}: row 2, column clicks: 130 clicks is more than 100 impressions\n"


def test_power_matches_r():
    proc = run("power", "--baseline", "0.5", "--mde-abs", "0.25", "--power", "0.9", "--json")
    assert json.loads(proc.stdout)["n_per_arm"] == 77
    text = run("power", "--baseline", "0.23", "--mde-rel", "0.1", "--arms", "3", "--daily", "5000").stdout
    assert text.startswith("n_per_arm ") and "days at 5,000/day" in text


def test_power_bad_input():
    proc = run("power", "--baseline", "1.5", "--mde-abs", "0.1")
    assert proc.returncode == 2 and proc.stderr.startswith("error: power: baseline must be a number strictly between 0 and 1")


def test_analyze_events_with_a_window(tmp_path):
    p = tmp_path / "e.csv"
    rows = ["user_id,variant,timestamp,clicked"]
    for i in range(200):
        rows.append(f"u{i},{'ab'[i % 2]},2026-11-{1 + i % 10:02d} 12:00:00,{int(i % 7 == 0)}")
    p.write_text("\n".join(rows) + "\n")
    data = json.loads(run("analyze", str(p), "--json", "--start", "2026-11-03", "--end", "2026-11-09").stdout)
    assert data["input"]["skipped"] == {"outside the experiment window": 80}
    assert sum(v["impressions"] for v in data["variants"]) == 120 and data["unit"] == "user"
    bad = run("analyze", str(p), "--start", "last week")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --start: 'last week' is not a date or time")
