"""One ARM=value parser (lab.experiments.spec.parse_arm_values) for --ctr, --arms and the studio's true CTRs."""

import pytest

from lab.cli import main
from lab.errors import LabError
from lab.experiments.spec import parse_arm_values


def test_a_list_is_read_in_order():
    assert parse_arm_values(" a=0.2, b = 0.3 ", "--ctr", 0, 1, "x") == {"a": 0.2, "b": 0.3}


@pytest.mark.parametrize("text, what", [
    ("", "--ctr: is empty"),
    ("a=0.2,", "--ctr: '' is not ARM=NUMBER"),
    ("a", "--ctr: 'a' is not ARM=NUMBER"),
    ("=0.2", "--ctr: '=0.2' is not ARM=NUMBER"),
    ("a=nan", "--ctr: 'a=nan' is not ARM=NUMBER"),
    ("a=1.5", "--ctr: 'a=1.5': the number must be from 0 to 1"),
    ("a=0.1,a=0.2", "--ctr: arm 'a' is given twice"),
])
def test_bad_lists_are_refused_the_same_way(text, what):
    with pytest.raises(LabError) as info:
        parse_arm_values(text, "--ctr", 0, 1, "--ctr v1=0.23")
    assert str(info.value).startswith(what)


def test_a_weight_of_zero_is_refused_where_the_low_end_is_open():
    with pytest.raises(LabError, match="the number must be above 0 up to 1"):
        parse_arm_values("a=0,b=1", "--arms", 0, 1, "x", include_low=False)


@pytest.mark.parametrize("argv, message", [
    (["simulate", "--experiment", "seed-v1-v2-v3", "--ctr", "v1-fast-sprint=0.2,v1-fast-sprint=0.3", "--out", "x"],
     "error: --ctr: arm 'v1-fast-sprint' is given twice; give each arm once"),
    (["experiments", "create", "k", "--scenario", "rank_up", "--arms", "v1-fast-sprint=abc", "--baseline", "0.2"],
     "error: --arms: 'v1-fast-sprint=abc' is not ARM=NUMBER; e.g. --arms v1-fast-sprint=0.5,v2-slow-motion=0.5"),
    (["experiments", "create", "k", "--scenario", "rank_up", "--arms", "v1-fast-sprint=0,v2-slow-motion=1",
      "--baseline", "0.2"], "error: --arms: 'v1-fast-sprint=0': the number must be above 0 up to 1"),
])
def test_the_cli_uses_the_one_parser(lab_env, capsys, argv, message):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().startswith(message)
