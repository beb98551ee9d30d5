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
