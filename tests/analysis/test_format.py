"""One result formatter (analysis.format): every interval labelled with the result's own level, in the CLI's
text and in the HTML report alike."""

import re

from analysis.engine import analyze
from analysis.format import level, lines, tables
from analysis.options import Options
from analysis.report import html_report
from analysis.statistics import ArmData, ProportionStatistic

ARMS = [ArmData("v1", ProportionStatistic(5000, 1150)), ArmData("v2", ProportionStatistic(5000, 1300))]


def test_levels():
    assert [level(a) for a in (0.05, 0.1, 0.01, 0.005)] == ["95 %", "90 %", "99 %", "99.5 %"]


def test_alpha_0_1_labels_every_interval_90_percent_in_text_and_report():
    result = analyze(ARMS, Options(alpha=0.1))
    labels = [c for t in tables(result).values() for c in t.columns if "CI" in c]
    assert labels and all(c.endswith("90 % CI") for c in labels)
    text = "\n".join(lines(result))
    page = html_report(result, ARMS)
    for shown in (text, page):
        assert "90 % CI" in shown
        assert not re.search(r"9[59] % (CI|interval)", shown)
    assert "CTR by variant (90 % intervals)" in page


def test_the_cli_prints_the_formatter(tmp_path, capsys):
    from lab.cli import main

    p = tmp_path / "c.csv"
    p.write_text("variant,impressions,clicks\nv1,5000,1150\nv2,5000,1300\n")
    assert main(["analyze", str(p), "--alpha", "0.1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1:] == lines(analyze(ARMS, Options(alpha=0.1)))
