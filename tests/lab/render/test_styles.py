"""The style table is the one place a style is defined: every style has a spec, the drawing code reads it
instead of testing style names, and the variant schema accepts exactly its styles."""

import ast
import re
from dataclasses import fields
from typing import get_args

import pytest
import yaml

from lab.errors import VariantError
from lab.library.schema import parse_variant
from lab.render import backends, motion, overlay, styles
from lab.render.styles import STYLE_SPECS, STYLES, Style, StyleSpec
from tests.conftest import REPO

V3 = yaml.safe_load((REPO / "variants" / "v3-rival-ghost.yaml").read_text(encoding="utf-8"))


def test_every_style_has_a_spec():
    assert STYLES == tuple(STYLE_SPECS) == get_args(Style)
    assert len(set(STYLES)) == len(STYLES) >= 1
    for name in STYLES:
        spec = STYLE_SPECS[name]
        assert isinstance(spec, StyleSpec)
        assert spec.move_seconds > 0
        assert spec.move_easing in overlay.EASINGS
        assert spec.banner is None or spec.banner.word in overlay.WORDS["en"]
        motion.look(name, "#336699", "#FFAA00")  # the background look resolves for every style


def test_style_specs_are_frozen():
    spec = STYLE_SPECS[STYLES[0]]
    with pytest.raises(AttributeError):
        spec.move_seconds = 9  # type: ignore[misc]
    assert {f.name for f in fields(StyleSpec)} >= {"background", "beats", "banner"}


DRAWING = sorted((REPO / "lab" / "render" / "overlay").glob("*.py")) + [
    REPO / "lab" / "render" / name for name in ("motion.py", "compositor.py", "sound.py", "strip.py")]


@pytest.mark.parametrize("path", DRAWING, ids=lambda p: p.name)
def test_drawing_code_tests_no_style_names(path):
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"style\s*[!=]=|[!=]=\s*[\"'](?:" + "|".join(STYLES) + ")[\"']", source)
    # and no style name appears as a string at all: the spec says what a style has
    strings = {n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not strings & set(STYLES)


def test_styles_imports_nothing_from_lab():
    tree = ast.parse(open(styles.__file__, encoding="utf-8").read())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.split(".")[0] == "lab"}


def test_schema_accepts_exactly_the_styles():
    for name in STYLES:
        assert parse_variant({**V3, "style": name}, "v3.yaml").style == name
    with pytest.raises(VariantError, match="is not one of " + ", ".join(STYLES)):
        parse_variant({**V3, "style": "not_a_style"}, "v3.yaml")


def test_backend_names_and_label_have_one_home():
    assert backends.BACKENDS == ("auto", *(spec.name for spec in backends.SPECS))
    assert {"motion", "wan", "wan-distilled", "tiny-wan"} <= set(backends.BACKENDS)
    for path in (REPO / "lab" / "render").glob("*.py"):
        if path.name != "backends.py":
            assert '"RANDOM WEIGHTS"' not in path.read_text(encoding="utf-8"), path.name
