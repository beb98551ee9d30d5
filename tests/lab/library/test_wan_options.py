"""What issue 13 adds to the library: colours in words for the model, the per-rank note for the studio, the
model's published sizes and card defaults, and the variant's model block (key visual, LoRA, cfg_steps)."""

import copy

import pytest
import yaml

from lab.errors import VariantError
from lab.library.events import sample_event
from lab.library.models import WAN22_TI2V_5B
from lab.library.schema import parse_variant
from lab.library.templates import PER_RANK_NOTE, colour_words, per_rank_note
from lab.library.versions import VariantLibrary
from tests.conftest import REPO

V3 = yaml.safe_load((REPO / "variants" / "v3-rival-ghost.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("hex_colour", "words"), [
    ("#4CAF50", "green"), ("#FFC107", "bright amber"), ("#F44336", "red"), ("#2196F3", "bright sky blue"),
    ("#9C27B0", "purple"), ("#795548", "brown"), ("#1B5E20", "dark green"), ("#000000", "black"),
    ("#FFFFFF", "white"), ("#9E9E9E", "grey"),
])
def test_colours_are_words_for_the_model(hex_colour, words):
    assert colour_words(hex_colour) == words


def test_no_shipped_prompt_holds_a_hex_colour():
    library = VariantLibrary(REPO / "variants")
    for variant_id in library.ids():
        v = library.load(variant_id)
        prompt = v.prompt_for(sample_event(v.scenario))
        assert v.brand.primary not in prompt and v.brand.accent not in prompt, variant_id
        if "{{brand_primary}}" in v.prompt_template:
            assert colour_words(v.brand.primary) in prompt


def test_the_studio_can_say_a_rank_in_the_prompt_means_one_background_per_rank():
    assert per_rank_note("Runner reaches #{{new_rank}} at dusk") == PER_RANK_NOTE
    assert "one GPU background per rank" in PER_RANK_NOTE and "{{new_rank}}" in PER_RANK_NOTE
    assert per_rank_note("Runner at dusk, {{brand_primary}} glow") is None


def test_published_sizes_and_card_defaults_live_in_the_model_spec():
    assert WAN22_TI2V_5B.published_sizes == ((1280, 704), (704, 1280))
    assert (WAN22_TI2V_5B.card_steps, WAN22_TI2V_5B.card_guidance) == (50, 5.0)
    assert WAN22_TI2V_5B.size_note(1280, 704) is None
    assert WAN22_TI2V_5B.size_note(864, 480) == "864x480 is outside the model's published sizes (1280x704, 704x1280)"


def with_model(model):
    data = copy.deepcopy(V3)
    data["model"] = model
    return data


def test_model_block_round_trips_and_leaves_old_hashes_alone():
    plain = parse_variant(V3, "v3.yaml")
    assert "model" not in plain.to_dict()
    # The version the seed experiment and the README pin still hashes to its name (load_version checks it).
    pinned = VariantLibrary(REPO / "variants").load_version("v3-rival-ghost", "1dc4e710b965")
    assert pinned.version == "1dc4e710b965" and "model" not in pinned.to_dict()
    v = parse_variant(with_model({"key_visual": "assets/key.webp", "lora": {"path": "brand/style", "scale": 0.6},
                                  "cfg_steps": 8}), "v3.yaml")
    assert (v.model.key_visual, v.model.lora.path, v.model.lora.scale, v.model.cfg_steps) == (
        "assets/key.webp", "brand/style", 0.6, 8)
    assert parse_variant(v.to_dict(), "again") == v and v.version != plain.version


@pytest.mark.parametrize(("model", "message"), [
    ({"key_visual": "../secrets.png"}, "v3.yaml: model.key_visual: '../secrets.png' is not a plain relative path"),
    ({"key_visual": "logo.png"}, "v3.yaml: model.key_visual: 'logo.png' is not a PNG, JPEG or WebP file under assets/"),
    ({"key_visual": "assets/k.gif"}, "v3.yaml: model.key_visual: 'assets/k.gif' is not a PNG, JPEG or WebP file"),
    ({"lora": {"path": "/etc/passwd"}}, "v3.yaml: model.lora.path: '/etc/passwd' is not a plain relative path"),
    ({"lora": {"scale": 0.5}}, "v3.yaml: model.lora.path: is required"),
    ({"lora": {"path": "a", "scale": 3}}, "v3.yaml: model.lora.scale: must be between 0 and 2, got 3"),
    ({"cfg_steps": 21}, "v3.yaml: model.cfg_steps: must be between 1 and 20, got 21"),
    ({"speed": 1}, "v3.yaml: model.speed: is not a known field"),
])
def test_model_block_errors_name_the_key(model, message):
    with pytest.raises(VariantError) as info:
        parse_variant(with_model(model), "v3.yaml")
    assert str(info.value).startswith(message)
