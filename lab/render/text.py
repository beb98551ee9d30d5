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


def ink_size(text: str, size: int, bold: bool = True) -> tuple[int, int]:
    """Width and height of the ink of ``text`` (its letters, from the top of the tallest to the bottom of the
    lowest): the box a reader, or OCR, finds."""
    top, bottom, width = 0, 0, 0
    for part, f in runs(text, bold):
        font = _pil_font(f.path, f.index, size)
        x0, y0, x1, y1 = font.getbbox(part, anchor="ls")
        top, bottom = min(top, y0), max(bottom, y1)
        width += int(font.getlength(part))
    return width, bottom - top


def fit(text: str, size: int, max_width: int, bold: bool = True) -> str:
    """``text`` as is if it fits, else cut and ended with an ellipsis."""
    if text_width(text, size, bold) <= max_width:
        return text
    chars = list(text)
    while chars and text_width("".join(chars) + "…", size, bold) > max_width:
        chars.pop()
    return "".join(chars).rstrip() + "…"


def draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int,
              fill: tuple[int, ...], bold: bool = True, anchor: str = "ls", stroke: int = 0,
              stroke_fill: tuple[int, ...] | None = None) -> tuple[int, int, int, int]:
    """Draw text at ``xy`` (anchor: l/m/r horizontally, s = baseline or m = middle vertically), with an
    optional outline ``stroke`` px wide: text over a moving background is legible against its outline."""
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
        draw.text((x, y), part, font=font, fill=fill, anchor="ls", stroke_width=stroke, stroke_fill=stroke_fill)
        x += font.getlength(part)
    return int(left), int(y - ascent), int(x), int(y + descent)


def text_image(text: str, size: int, fill: tuple[int, int, int, int], bold: bool = True, pad: int = 2,
               stroke: int = 0, stroke_fill: tuple[int, int, int, int] | None = None) -> Image.Image:
    """Text on a transparent canvas just big enough for it (and its outline)."""
    base = _pil_font(font_chain(bold)[0].path, 0, size)
    ascent, descent = base.getmetrics()
    pad += stroke
    w = text_width(text, size, bold) + 2 * pad
    h = ascent + descent + 2 * pad
    img = Image.new("RGBA", (w + (w & 1), h + (h & 1)), (0, 0, 0, 0))
    draw_text(ImageDraw.Draw(img), (pad, pad + ascent), text, size, fill, bold, stroke=stroke, stroke_fill=stroke_fill)
    return img


# -- legibility (WCAG 2.x) ---------------------------------------------------------------------

AA = 4.5  # WCAG AA contrast for body text; every text element is held to it, large or not
INK = (17, 20, 28)  # the dark text colour used where white fails on a brand colour


def relative_luminance(rgb: tuple[int, ...]) -> float:
    """WCAG relative luminance of an sRGB colour (0 black .. 1 white)."""
    def lin(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = rgb[:3]
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast_ratio(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """WCAG contrast ratio, 1 .. 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def over(fill: tuple[int, ...], backdrop: tuple[int, int, int]) -> tuple[int, int, int]:
    """A translucent RGBA fill composited over an opaque backdrop."""
    a = (fill[3] if len(fill) > 3 else 255) / 255
    return tuple(int(round(f * a + b * (1 - a))) for f, b in zip(fill[:3], backdrop, strict=True))  # type: ignore


def worst_contrast(text: tuple[int, ...], fill: tuple[int, ...]) -> float:
    """Contrast of ``text`` on ``fill`` when the fill is translucent: the worse of a black and a white backdrop."""
    return min(contrast_ratio(text, over(fill, (0, 0, 0))), contrast_ratio(text, over(fill, (255, 255, 255))))


def ink_for(fill: tuple[int, ...], preferred: tuple[int, int, int, int] = (255, 255, 255, 255)
            ) -> tuple[tuple[int, int, int, int], str | None]:
    """The text colour for ``fill``: ``preferred`` where it meets AA, else dark ink (the fix is returned)."""
    if worst_contrast(preferred, fill) >= AA:
        return preferred, None
    ratio = worst_contrast(preferred, fill)
    return (*INK, 255), f"text {preferred[:3]} on {tuple(fill[:3])} is {ratio:.2f}:1, below {AA}:1: drawn in dark ink"
