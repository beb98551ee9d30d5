"""Every parser, on any input: it parses, or it raises a LabError that says where and what. Nothing else escapes.

Seeds are fixed (``derandomize=True``) so CI runs the same examples every time.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab import cli
from lab.errors import LabError
from lab.experiments.spec import ExperimentLibrary, parse_experiment
from lab.library.events import FIELDS, SCENARIOS, parse_event
from lab.library.schema import load_variant_file, parse_variant
from lab.library.templates import check_template
from lab.library.versions import VariantLibrary
from tests.conftest import REPO

PROPERTY = settings(derandomize=True, max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
VARIANTS = VariantLibrary(REPO / "variants")
V3 = yaml.safe_load((REPO / "variants" / "v3-rival-ghost.yaml").read_text(encoding="utf-8"))
SPEC = yaml.safe_load((REPO / "experiments" / "seed-v1-v2-v3.yaml").read_text(encoding="utf-8"))
SCRATCH = Path(tempfile.mkdtemp(prefix="lab-property-"))  # hypothesis runs many examples per function fixture
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def parses_or_says_why(fn, *args: Any) -> Any:
    """Call ``fn``; a refusal must be a LabError with a where and a what, on one line."""
    try:
        return fn(*args)
    except LabError as exc:
        assert exc.where.strip() and exc.what.strip(), repr(exc)
        assert "\n" not in str(exc) and "\x1b" not in str(exc), repr(str(exc))
        return None


# Integers past Python's 4300-digit str() limit are tested by example below: hypothesis cannot print them.
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=60))
json_like = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
# Values that look like events: known fields, plausible and implausible values.
event_values = st.one_of(json_like, st.integers(-3, 12), st.sampled_from(SCENARIOS),
                         st.text(alphabet=st.characters(codec="utf-8"), max_size=45),
                         st.sampled_from(["Alice", "\u200b", "A\u200dB", "محمد", "\ufeff", "en", "zh-CN", "en\n"]))
event_dicts = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), event_values, max_size=9)


@PROPERTY
@given(event_dicts | json_like)
def test_events_from_any_json_value(value):
    event = parses_or_says_why(parse_event, value)
    if event is not None:
        assert event.scenario in SCENARIOS and 1 <= event.new_rank


@PROPERTY
@given(st.text(max_size=200) | event_dicts.map(lambda d: json.dumps(d, ensure_ascii=False)))
def test_events_from_any_text(text):
    parses_or_says_why(parse_event, text)


def _mutate(base: dict, draw_path: list[str], value: Any) -> dict:
    data = copy.deepcopy(base)
    target = data
    for key in draw_path[:-1]:
        if not isinstance(target.get(key), dict):
            break
        target = target[key]
    else:
        if value is ...:
            target.pop(draw_path[-1], None)
        else:
            target[draw_path[-1]] = value
    return data


VARIANT_PATHS = [p.split(".") for p in (
    "id", "title", "scenario", "style", "prompt", "prompt.template", "prompt.negative", "cta", "cta.en", "cta.zh-CN",
    "brand", "brand.primary", "brand.logo", "brand.logo_corner", "effects.intensity", "effects.particles",
    "generation.width", "generation.fps", "generation.duration_s", "generation.seed", "degrade", "extra")]
mutation_values = st.one_of(json_like, st.just(...), st.text(alphabet="{}%#| .[]_anew_rkuser", max_size=30))


@PROPERTY
@given(st.sampled_from(VARIANT_PATHS), mutation_values)
def test_mutated_variants(path, value):
    data = _mutate(V3, path, value)
    parses_or_says_why(parse_variant, data, "v3.yaml")
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except (yaml.YAMLError, ValueError, OverflowError):  # values YAML itself cannot write
        return
    file = SCRATCH / "mutated.yaml"
    file.write_text(text, encoding="utf-8")
    parses_or_says_why(load_variant_file, file)


@PROPERTY
@given(st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_variant_files_of_any_text(text):
    file = SCRATCH / "any.yaml"
    file.write_text(text, encoding="utf-8", errors="surrogatepass")
    parses_or_says_why(load_variant_file, file)


@PROPERTY
@given(st.binary(max_size=200))
def test_variant_files_of_any_bytes(data):
    file = SCRATCH / "bytes.yaml"
    file.write_bytes(data)
    parses_or_says_why(load_variant_file, file)


@PROPERTY
@given(st.lists(st.sampled_from(list("{}%# |.[]()+_-'\"\n") + ["new_rank", "user", "old_rank", "style", "x", "é",
                                                                   "\u200b", "{{", "}}", "{%", "%}"]), max_size=40
                ).map("".join)
       | st.text(max_size=600), st.sampled_from(SCENARIOS))
def test_templates(template, scenario):
    parses_or_says_why(check_template, template, scenario, "t")


SPEC_PATHS = [p.split(".") for p in ("key", "hypothesis", "scenario", "status", "arms", "primary_metric",
                                     "guardrails", "alpha", "mode", "seed", "plan", "plan.baseline",
                                     "plan.mde_rel", "plan.power", "extra")]


@st.composite
def mutated_specs(draw):
    data = _mutate(SPEC, draw(st.sampled_from(SPEC_PATHS)), draw(mutation_values))
    if draw(st.booleans()) and isinstance(data.get("arms"), list) and data["arms"] \
            and all(isinstance(a, dict) for a in data["arms"]):
        arm = dict(data["arms"][draw(st.integers(0, len(data["arms"]) - 1))])
        arm[draw(st.sampled_from(["variant", "version", "weight", "other"]))] = draw(
            json_like | st.sampled_from([float("nan"), float("inf"), -0.3, "../../x", "v1-fast-sprint\n"]))
        data["arms"] = [arm, *data["arms"][1:]]
    return data


@PROPERTY
@given(mutated_specs())
def test_mutated_experiment_specs(data):
    parses_or_says_why(parse_experiment, data, "spec.yaml", VARIANTS)


@PROPERTY
@given(st.text(max_size=300) | mutated_specs().map(lambda d: yaml.safe_dump(d, allow_unicode=True)
                                                     if _dumpable(d) else "key: x"))
def test_experiment_spec_files_of_any_yaml(text):
    folder = SCRATCH / "experiments"
    folder.mkdir(exist_ok=True)
    file = folder / "seed-v1-v2-v3.yaml"
    file.write_text(text, encoding="utf-8")
    parses_or_says_why(ExperimentLibrary(folder, VARIANTS).load_file, file)


def _dumpable(data: Any) -> bool:
    try:
        yaml.safe_dump(data)
    except (yaml.YAMLError, ValueError, OverflowError):
        return False
    return True


numbers_text = st.one_of(
    st.text(max_size=30),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    st.lists(st.floats(allow_nan=True) | st.integers(), max_size=4).map(lambda xs: ",".join(map(str, xs))),
    st.sampled_from(["nan", "inf", "-inf", "1e309", "-0", "0x10", "1_000", " 5 ", "٣", "2026-11-01",
                     "2026-02-30", "v1=0.2,v1=0.3", "=1", "a=nan"]),
)


@PROPERTY
@given(numbers_text)
def test_cli_number_parsers(text):
    parses_or_says_why(cli._floats, text, "--weights")
    parses_or_says_why(cli._ctr_map, text)
    parses_or_says_why(cli._when, text, "--start")


POWER_FLAGS = ["--baseline", "--mde-abs", "--mde-rel", "--alpha", "--power", "--arms", "--daily"]


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(POWER_FLAGS), numbers_text), min_size=1, max_size=4))
def test_power_flags_parse_and_plan_or_say_why(pairs):
    argv = ["power"] + [x for flag, value in pairs for x in (f"{flag}={value}",)]
    args = parses_or_says_why(cli.build_parser().parse_args, argv)
    if args is not None:
        with contextlib.redirect_stdout(io.StringIO()):
            parses_or_says_why(args.func, args)


RENDER_FLAGS = ["--seed", "--level", "--budget"]


@PROPERTY
@given(st.sampled_from(RENDER_FLAGS), numbers_text)
def test_render_number_flags(flag, value):
    argv = ["render", "--variant", "v1", "--event", "{}", "--out", "x.mp4", f"{flag}={value}"]
    parses_or_says_why(cli.build_parser().parse_args, argv)


@pytest.mark.parametrize("argv", [["power", "--baseline", "nan", "--mde-rel", "0.1"], ["render", "--seed", "-5"]])
def test_a_bad_flag_is_a_lab_error_not_a_system_exit(argv):
    with pytest.raises(LabError):
        cli.build_parser().parse_args(argv)


@pytest.mark.parametrize("sign", [1, -1])
def test_integers_too_long_to_print(sign):
    value = sign * 10**5000
    parses_or_says_why(parse_event, {"event": "rank_up", "user": "A", "old_rank": value, "new_rank": 1})
    parses_or_says_why(parse_variant, _mutate(V3, ["generation", "seed"], value), "v3.yaml")
    parses_or_says_why(parse_experiment, _mutate(SPEC, ["alpha"], value), "spec.yaml", VARIANTS)
    spec = copy.deepcopy(SPEC)
    spec["arms"][0]["version"] = value
    parses_or_says_why(parse_experiment, spec, "spec.yaml", VARIANTS)
    file = SCRATCH / "long-int.yaml"
    file.write_text(f"id: {'-' if sign < 0 else ''}1{'0' * 5000}\n", encoding="utf-8")
    parses_or_says_why(load_variant_file, file)
