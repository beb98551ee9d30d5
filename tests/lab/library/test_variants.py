import copy

import pytest
import yaml

from lab.errors import VariantError
from lab.library.events import SCENARIOS, parse_event, sample_event
from lab.library.schema import parse_variant, with_changes
from lab.library.templates import template_variables
from lab.library.versions import VariantLibrary
from lab.render.styles import STYLES
from tests.conftest import REPO, SENTINEL_NAME

V3 = yaml.safe_load((REPO / "variants" / "v3-rival-ghost.yaml").read_text(encoding="utf-8"))


def changed(path: str, value):
    data = copy.deepcopy(V3)
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[key]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


def error(data) -> str:
    with pytest.raises(VariantError) as info:
        parse_variant(data, "v3.yaml")
    return str(info.value)


def test_the_shipped_library_covers_the_seed():
    lib = VariantLibrary(REPO / "variants")
    variants = {v.id: v for v in lib.load_all()}
    arms = {
        "v1-fast-sprint": ("fast_sprint", "View full leaderboard", "查看完整榜单"),
        "v2-slow-motion": ("slow_motion_celebration", "Share my glory", "分享我的荣耀"),
        "v3-rival-ghost": ("rival_ghost_exit", "I'll overtake!", "我要反超！"),  # full-width ！ (issue 11)
    }
    for vid, (style, en, zh) in arms.items():
        assert (variants[vid].style, variants[vid].cta["en"], variants[vid].cta["zh-CN"]) == (style, en, zh)
    assert {v.scenario for v in variants.values()} == set(SCENARIOS)
    for v in variants.values():
        assert (v.brand.primary, v.brand.logo_corner, v.brand.font) == ("#4CAF50", "bottom_right", "Roboto")
        assert lib.is_recorded(v), f"{v.id} has no saved version"
        assert v.warnings == ()
    assert {"shield_hold", "fireworks_welcome"} <= {v.style for v in variants.values()}


def test_canonical_form_round_trips_and_hash_is_stable():
    v = parse_variant(V3, "v3")
    again = parse_variant(yaml.safe_load(v.to_yaml()), "again")
    assert again == v and again.content_hash == v.content_hash and len(v.version) == 12


def test_any_content_change_changes_the_hash():
    v = parse_variant(V3, "v3")
    assert with_changes(v, cta__en="Catch me!").content_hash != v.content_hash
    assert with_changes(v, generation__seed=1).content_hash != v.content_hash


def test_prompt_uses_only_public_fields():
    v = parse_variant(V3, "v3")
    event = parse_event({"event": "rank_up", "user": SENTINEL_NAME, "user_id": "u-secret-9", "old_rank": 7,
                         "new_rank": 3, "rival": "Rivalname Q", "challenge": "Spring 10K"})
    prompt = v.prompt_for(event)
    assert "#3" in prompt and "Spring 10K" in prompt
    for secret in (SENTINEL_NAME, "Zyxwq", "u-secret-9", "Rivalname"):
        assert secret not in prompt


@pytest.mark.parametrize("var", ["user", "rival", "user_id"])
def test_personal_variables_are_refused_with_the_reason(var):
    assert error(changed("prompt.template", f"{{{{{var}}}}} climbs to #{{{{new_rank}}}}")) == (
        f"v3.yaml: prompt.template: uses {{{{{var}}}}} at character 1 (line 1, column 1), which is personal data; "
        "names and ids never reach the model; "
        "the overlay draws them exactly on top of the background, so describe the scene without them"
    )


def test_personal_variables_are_refused_in_the_negative_prompt_too():
    assert error(changed("prompt.negative", "{{ user }}")).startswith(
        "v3.yaml: prompt.negative: uses {{user}} at character 1 (line 1, column 1), which is personal data"
    )


def test_unknown_variables_are_refused_with_the_allowed_list():
    assert error(changed("prompt.template", "to #{{rank}}")) == (
        "v3.yaml: prompt.template: uses unknown variable {{rank}} at character 5 (line 1, column 5); a rank_up template may use {{old_rank}}, "
        "{{new_rank}}, {{rank_delta}}, {{challenge}}, {{style}}, {{brand_primary}}, {{brand_accent}}"
    )


def test_first_entry_has_no_old_rank_to_use():
    data = changed("scenario", "first_entry")
    data["prompt"]["template"] = "from #{{old_rank}}"
    assert error(data).startswith("v3.yaml: prompt.template: uses unknown variable {{old_rank}} at character 7 (line 1, column 7); "
                              "a first_entry")


def test_placeholder_syntax_follows_mlflow():
    assert template_variables("#{{ new_rank }} in {{challenge}} {{new_rank}}") == ["new_rank", "challenge"]
    assert error(changed("prompt.template", "#{{new_rank}")).startswith(
        "v3.yaml: prompt.template: has a '{{' that does not open a plain {{ name }} (filters, '.', '[' and "
        "expressions are refused) at character 2 (line 1, column 2); the template language is exactly {{ name }}"
    )


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("id", "V3 Ghost", "v3.yaml: id: 'V3 Ghost' is not a valid id; use lower-case letters, digits, '-' and '_' "
                           "(at most 64 characters)"),
        ("title", ..., "v3.yaml: title: is required"),
        ("scenario", "comeback", "v3.yaml: scenario: 'comeback' is not one of rank_up, defend, first_entry"),
        ("style", "wobble", "v3.yaml: style: 'wobble' is not one of " + ", ".join(STYLES)),
        ("prompt", ..., "v3.yaml: prompt: is required"),
        ("prompt.template", "", "v3.yaml: prompt.template: must not be empty"),
        ("cta.en", ..., "v3.yaml: cta: has no 'en' copy; add cta.en: it is the fallback locale"),
        ("cta.en", "x" * 33, "v3.yaml: cta.en: is 33 characters long; a button holds at most 32"),
        ("brand.primary", "green",
         "v3.yaml: brand.primary: 'green' is not a colour; write it as #RRGGBB, e.g. #4CAF50"),
        ("brand.logo_corner", "middle", "v3.yaml: brand.logo_corner: 'middle' is not one of top_left, top_right, "
                                        "bottom_left, bottom_right"),
        ("effects.intensity", 1.5, "v3.yaml: effects.intensity: must be between 0 and 1, got 1.5"),
        ("effects.particles", "yes", "v3.yaml: effects.particles: must be true or false, got text 'yes'"),
        ("generation.width", "864", "v3.yaml: generation.width: must be a whole number, got text '864'"),
        ("generation.fps", 0, "v3.yaml: generation.fps: must be between 1 and 60, got 0"),
        ("generation.steps", 2.5, "v3.yaml: generation.steps: must be a whole number, got a number 2.5"),
        ("generation.colour", 1, "v3.yaml: generation.colour: is not a known field; check the spelling against "
                                 "the variant schema in the README"),
        ("degrade", [{"height": 360}, {"speed": 2}], "v3.yaml: degrade[1]: speed: is not a known field; check the "
                                                     "spelling against the variant schema in the README"),
        ("degrade", [{"backend": "wan"}], "v3.yaml: degrade[0]: backend: 'wan' is not one of motion"),
    ],
)
def test_schema_errors_name_the_key(path, value, message):
    assert error(changed(path, value)) == message


def test_a_top_level_typo_is_refused():
    data = changed("id", "v3-rival-ghost")
    data["sytle"] = "fast_sprint"
    assert error(data) == (
        "v3.yaml: sytle: is not a known field; check the spelling against the variant schema in the README"
    )


def test_cta_falls_back_by_language_then_english():
    v = parse_variant(changed("cta", {"en": "Go", "zh-CN": "冲", "pt-BR": "Vai"}), "v")
    assert (v.cta_for("zh-CN"), v.cta_for("zh-TW"), v.cta_for("pt"), v.cta_for("fr")) == ("冲", "冲", "Vai", "Go")


def test_the_seeds_size_is_snapped_with_a_recorded_warning():
    data = changed("generation.width", 852)
    v = parse_variant(data, "v3")
    plan = v.generation_plan(0)
    assert (plan.size.width, plan.size.height, plan.size.frames) == (864, 480, 97)
    assert v.warnings == ("size 852x480 snapped to 864x480: Wan2.2-TI2V-5B needs width and height in multiples of 32",)


def test_degrade_ladder_levels():
    v = parse_variant(V3, "v3")
    plans = [v.generation_plan(level) for level in range(5)]
    assert [(p.size.height, p.size.frames, p.particles, p.backend) for p in plans] == [
        (480, 97, True, None),
        (352, 97, True, None),
        (352, 49, True, None),
        (352, 49, False, None),
        (352, 49, False, "motion"),
    ]
    assert plans[1].warnings[0] == "degrade level 1: 360p"
    assert "size 648x360 snapped to 640x352" in plans[1].warnings[1]
    assert plans[4].warnings[0] == "degrade level 4: 360p, 2 s, particles off, motion background"
    with pytest.raises(VariantError, match="degrade level 5 does not exist; choose 0 to 4"):
        v.generation_plan(5)


def test_every_scenario_fills_its_shipped_templates():
    for v in VariantLibrary(REPO / "variants").load_all():
        assert "{{" not in v.prompt_for(sample_event(v.scenario))
