"""Typography: Roboto with a CJK fallback, ellipsis for long names."""

from lab.render import text as tx


def test_cjk_names_have_glyphs():
    assert tx.has_cjk_font(), "fonts-noto-cjk is not installed: run make setup"
    assert tx.missing_glyphs("小明 李雷 我要反超！ José Zoë 🏃") == []
    faces = [face.path for _, face in tx.runs("Hi 小明")]
    assert "Roboto" in faces[0] and "NotoSansCJK" in faces[-1]


def test_long_names_are_ellipsised_to_fit():
    name = "Maximiliana Alexandrina Featherstonehaugh"
    fitted = tx.fit(name, 30, 200)
    assert fitted.endswith("…") and name.startswith(fitted[:-1])
    assert tx.text_width(fitted, 30) <= 200
    assert tx.fit("Bob", 30, 200) == "Bob"
    assert tx.fit("小明小明小明小明小明小明小明小明", 30, 120).endswith("…")
