"""Experiment specs: the shipped example, every refusal, and status changes."""

import copy
import shutil

import pytest
import yaml

from lab.errors import ExperimentError, LabError
from lab.experiments.spec import ExperimentLibrary, parse_experiment
from lab.library.versions import VariantLibrary
from tests.conftest import REPO

SPEC = yaml.safe_load((REPO / "experiments" / "seed-v1-v2-v3.yaml").read_text())
VARIANTS = VariantLibrary(REPO / "variants")


def error(data) -> str:
    with pytest.raises(ExperimentError) as info:
        parse_experiment(data, "e.yaml", VARIANTS)
    return str(info.value)


def changed(**kw):
    data = copy.deepcopy(SPEC)
    for k, v in kw.items():
        if v is ...:
            data.pop(k)
        else:
            data[k] = v
    return data


def test_the_seed_experiment_is_valid_and_planned():
    exp = parse_experiment(SPEC, "e.yaml", VARIANTS)
    assert exp.arm_ids == ["v1-fast-sprint", "v2-slow-motion", "v3-rival-ghost"] and exp.control == "v1-fast-sprint"
    from analysis.power import power_plan

    assert exp.planned_n_per_arm() == power_plan(0.23, mde_rel=0.1, alpha=0.05, power=0.8, arms=3).n_per_arm


def test_weights_must_sum_to_one():
    arms = copy.deepcopy(SPEC["arms"])
    arms[0]["weight"] = 0.5
    assert error(changed(arms=arms)) == "e.yaml: arms: weights sum to 1.16, not 1; make the traffic weights add up to exactly 1"


def test_one_arm_is_refused():
    assert error(changed(arms=SPEC["arms"][:1])) == (
        "e.yaml: arms: has 1 arm; an A/B test needs at least 2; add a control arm to compare against")


def test_unpinned_and_unknown_variants():
    arms = copy.deepcopy(SPEC["arms"])
    del arms[1]["version"]
    assert error(changed(arms=arms)) == ("e.yaml: arms[1].version: variant 'v2-slow-motion' is not pinned; pin a saved "
                                         "version: `highlight-lab variants history v2-slow-motion` lists them")
    arms = copy.deepcopy(SPEC["arms"])
    arms[2]["variant"] = "v9-nope"
    assert error(changed(arms=arms)).startswith("e.yaml: arms[2].variant: unknown variant 'v9-nope'; known variants:")
    arms = copy.deepcopy(SPEC["arms"])
    arms[0]["version"] = "abcdefabcdef"
    assert error(changed(arms=arms)) == ("e.yaml: arms[0].version: variant 'v1-fast-sprint' has no saved version "
                                         "abcdefabcdef; see `highlight-lab variants history v1-fast-sprint`")


def test_an_arm_of_another_scenario_is_refused():
    arms = copy.deepcopy(SPEC["arms"])
    arms[1] = {"variant": "defend-shield", "version": VARIANTS.load("defend-shield").version, "weight": 0.33}
    assert error(changed(arms=arms)) == ("e.yaml: arms[1].variant: 'defend-shield' is a defend variant; this "
                                         "experiment tests rank_up events")


def test_other_refusals():
    assert error(changed(key="Seed Test")).startswith("e.yaml: key: 'Seed Test' is not a valid key")
    assert error(changed(status="live")) == "e.yaml: status: 'live' is not one of draft, running, stopped, shipped"
    assert error(changed(plan=...)) == "e.yaml: plan: is required"
    assert error(changed(colour="red")).startswith("e.yaml: colour: is not a known field")
    arms = copy.deepcopy(SPEC["arms"])
    arms[1]["variant"] = arms[0]["variant"]
    arms[1]["version"] = arms[0]["version"]
    assert error(changed(arms=arms)) == ("e.yaml: arms: variant 'v1-fast-sprint' appears twice; each arm is a "
                                         "different variant")


def test_status_moves_forward_only(tmp_path):
    shutil.copytree(REPO / "experiments", tmp_path / "experiments")
    lib = ExperimentLibrary(tmp_path / "experiments", VARIANTS)
    assert lib.set_status("seed-v1-v2-v3", "running").status == "running"
    with pytest.raises(LabError, match="cannot go from running to shipped; from running it can go to stopped"):
        lib.set_status("seed-v1-v2-v3", "shipped")
    lib.set_status("seed-v1-v2-v3", "stopped")
    assert lib.set_status("seed-v1-v2-v3", "shipped").status == "shipped"
    with pytest.raises(LabError, match="it can go to nothing"):
        lib.set_status("seed-v1-v2-v3", "running")
