"""Text drawn exactly: Roboto with a CJK fallback per character, ellipsised to fit a width."""

from __future__ import annotations

import functools
import glob
import os
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont

CJK_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto", "/usr/share/fonts/noto-cjk")
# Symbols, then emoji (Symbola: monochrome outlines, drawn in the text's colour).
FALLBACK_GLOBS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans{bold}.ttf",
                  "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")


def roboto_file(weight: str = "Bold") -> Path:
    import font_roboto

    path = Path(font_roboto.__file__).parent / "files" / f"Roboto-{weight}.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall the font-roboto package")
    return path


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int
    cmap: frozenset[int]


@functools.lru_cache(maxsize=8)
def _face(path: str, index: int = 0) -> FontFace:
    if path.endswith(".ttc"):
        font = TTCollection(path, lazy=True).fonts[index]
    else:
        font = TTFont(path, lazy=True)
    return FontFace(path, index, frozenset(font.getBestCmap() or {}))


def _cjk_file(bold: bool) -> tuple[str, int] | None:
    """Noto Sans CJK, Simplified Chinese face (the collection's index for 'SC')."""
    name = "NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"
    for d in CJK_DIRS:
        path = os.path.join(d, name)
        if os.path.isfile(path):
            coll = TTCollection(path, lazy=True)
            for i, font in enumerate(coll.fonts):
                family = font["name"].getDebugName(1) or ""
                if family.endswith("CJK SC") and "Mono" not in family:
                    return path, i
            return path, 0
    return None


@functools.lru_cache(maxsize=4)
def font_chain(bold: bool = True) -> tuple[FontFace, ...]:
    """Roboto first, then CJK, then DejaVu and Symbola: the first face that has a glyph draws it."""
    chain = [_face(str(roboto_file("Bold" if bold else "Regular")))]
    cjk = _cjk_file(bold)
    if cjk:
        chain.append(_face(*cjk))
    for pattern in FALLBACK_GLOBS:
        for path in glob.glob(pattern.format(bold="-Bold" if bold else "")):
            chain.append(_face(path))
    return tuple(chain)


def has_cjk_font() -> bool:
    return _cjk_file(True) is not None


@functools.lru_cache(maxsize=256)
def _pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=index)


# Joiners and variation selectors shape emoji sequences in colour-emoji fonts; without shaping they
# would draw as dotted boxes, so they are left out of the drawn text.
INVISIBLE = frozenset("\u200d\u200c\ufe0e\ufe0f")


def runs(text: str, bold: bool = True) -> list[tuple[str, FontFace]]:
    """Split text into runs that one face can draw; characters no face has go to the first face."""
    chain = font_chain(bold)
    out: list[tuple[str, FontFace]] = []
    for ch in text:
        if ch in INVISIBLE:
            continue
        face = next((f for f in chain if ord(ch) in f.cmap or ch.isspace()), chain[0])
        if out and out[-1][1] == face:
            out[-1] = (out[-1][0] + ch, face)
        else:
            out.append((ch, face))
    return out


def missing_glyphs(text: str, bold: bool = True) -> list[str]:
    """Characters of ``text`` that no installed face can draw (they would show as boxes)."""
    chain = font_chain(bold)
    return [ch for ch in text
            if not ch.isspace() and ch not in INVISIBLE and not any(ord(ch) in f.cmap for f in chain)]


def text_width(text: str, size: int, bold: bool = True) -> int:
    return sum(int(_pil_font(f.path, f.index, size).getlength(part)) for part, f in runs(text, bold))


def fit(text: str, size: int, max_width: int, bold: bool = True) -> str:
    """``text`` as is if it fits, else cut and ended with an ellipsis."""
    if text_width(text, size, bold) <= max_width:
        return text
    chars = list(text)
    while chars and text_width("".join(chars) + "…", size, bold) > max_width:
        chars.pop()
    return "".join(chars).rstrip() + "…"


def draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int,
              fill: tuple[int, ...], bold: bool = True, anchor: str = "ls") -> tuple[int, int, int, int]:
    """Draw text at ``xy`` (anchor: l/m/r horizontally, s = baseline or m = middle vertically)."""
    width = text_width(text, size, bold)
    x, y = xy
    if anchor[0] == "m":
        x -= width / 2
    elif anchor[0] == "r":
        x -= width
    base = _pil_font(font_chain(bold)[0].path, 0, size)
    ascent, descent = base.getmetrics()
    if anchor[1] == "m":
        y += (ascent - descent) / 2
    left = x
    for part, face in runs(text, bold):
        font = _pil_font(face.path, face.index, size)
        draw.text((x, y), part, font=font, fill=fill, anchor="ls")
        x += font.getlength(part)
    return int(left), int(y - ascent), int(x), int(y + descent)


def text_image(text: str, size: int, fill: tuple[int, int, int, int], bold: bool = True, pad: int = 2) -> Image.Image:
    """Text on a transparent canvas just big enough for it."""
    base = _pil_font(font_chain(bold)[0].path, 0, size)
    ascent, descent = base.getmetrics()
    w = text_width(text, size, bold) + 2 * pad
    h = ascent + descent + 2 * pad
    img = Image.new("RGBA", (w + (w & 1), h + (h & 1)), (0, 0, 0, 0))
    draw_text(ImageDraw.Draw(img), (pad, pad + ascent), text, size, fill, bold)
    return img
