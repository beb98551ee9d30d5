"""The studio's plain functions (the browser test covers the page itself)."""

import pytest

from lab.errors import LabError
from lab.library.versions import VariantLibrary
from lab.studio import forms as studio
from tests.conftest import REPO, SENTINEL_NAME

V3 = VariantLibrary(REPO / "variants").load("v3-rival-ghost")


def test_form_round_trip():
    form = studio.variant_form(V3)
    assert form["cta_zh"] == "我要反超！" and form["width"] == 864
    assert studio.apply_form(V3, form) == V3
    edited = studio.apply_form(V3, {**form, "cta_en": "Catch me!", "width": 852.0})
    assert edited.cta["en"] == "Catch me!" and edited.generation.width == 852


def test_the_form_is_validated_like_a_file():
    form = studio.variant_form(V3)
    with pytest.raises(LabError, match=r"uses \{\{user\}\} at character 1 \(line 1, column 1\), which is personal data"):
        studio.apply_form(V3, {**form, "template": "{{user}} wins"})
    with pytest.raises(LabError, match="is not a colour"):
        studio.apply_form(V3, {**form, "primary": "green"})


def test_preview_event_defaults_and_validation():
    e = studio.preview_event("rank_up", "", None, None, "", "", "en")
    assert (e.user, e.old_rank, e.new_rank) == ("Alice", 3, 2)
    e = studio.preview_event("first_entry", "小明", 9, 15, "", "", "zh-CN")
    assert e.old_rank is None and e.new_rank == 15
    with pytest.raises(LabError, match="preview event: rank_up needs new_rank < old_rank"):
        studio.preview_event("rank_up", "A", 2, 5, "", "", "en")


def test_preview_files_never_carry_the_name(lab_home):
    e = studio.preview_event("rank_up", SENTINEL_NAME, 4, 2, "", "", "en")
    p = studio.render_preview(V3, e, backend="motion", level=4, logo_root=REPO / "variants")
    for path in (p.video, p.poster, p.contact_sheet):
        assert "Zyxwq" not in path
    assert "Zyxwq" not in str(p.sidecar)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("abc", 2, "Old rank: 'abc' is not a whole number"),
    (3, "two", "New rank: 'two' is not a whole number"),
    (3, 2.5, "New rank: 2.5 is not a whole number"),
])
def test_a_rank_that_is_not_a_whole_number_is_refused_in_words(old, new, message):
    """The rank fields pass bad text through to the form (``RankNumber``), which names the field."""
    with pytest.raises(LabError) as info:
        studio.preview_event("rank_up", "", old, new, "", "", "en")
    assert str(info.value).startswith(message)


def test_rank_fields_hand_bad_text_to_the_handler_instead_of_failing_inside_gradio():
    from lab.studio.common import RankNumber

    box = RankNumber(label="Old rank", precision=0)
    assert box.preprocess("abc") == "abc" and box.preprocess(3.0) == 3 and box.preprocess(None) is None


def test_an_escape_sequence_in_the_template_is_refused_like_one_in_any_text():
    form = studio.variant_form(V3)
    with pytest.raises(LabError, match=r"prompt.template: holds the control character U\+001B at position 4"):
        studio.apply_form(V3, {**form, "template": "red\x1b[31m #{{new_rank}}"})


def test_a_picker_refuses_a_value_it_does_not_offer_naming_the_field_with_the_value_escaped():
    import gradio as gr

    from lab.studio.common import Choice

    picker = Choice(["v1-fast-sprint", "v2-slow-motion"], label="Variant")
    assert picker.preprocess("v1-fast-sprint") == "v1-fast-sprint"
    with pytest.raises(gr.Error) as info:
        picker.preprocess("a\x1b[31mb")
    message = str(info.value.message)
    assert message.startswith("Variant: 'a\\x1b[31mb' is not one of the choices") and "\x1b" not in message
    assert "v2-slow-motion" not in message


def test_the_studio_s_own_components_are_drawn_with_gradio_s():
    """The page draws a component by its block name: a subclass Gradio does not know would leave it blank."""
    from lab.studio.common import Choice, RankNumber

    assert RankNumber(label="Old rank").get_block_name() == "number"
    assert Choice(["a"], label="Variant").get_block_name() == "dropdown"
