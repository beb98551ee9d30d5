"""The prompt template language and its privacy rule: exactly ``{{ name }}``, names from an allow-list.

Names, ids and avatars never reach a model: the overlay draws them exactly on top of the background.
The registered text is also what MLflow's prompt registry formats after export, and MLflow renders any
text holding ``{% ... %}`` with Jinja2 (``{% set new_rank = user %}`` would put a name in the prompt), so
the language here is the intersection that no engine can read more into: ``{{ name }}`` and plain text.
"""

from __future__ import annotations

import re
import unicodedata

from lab.errors import VariantError
from lab.library.events import CHALLENGE_MAX, MAX_RANK
from lab.library.models import DEFAULT_MODEL
from lab.render.styles import STYLES

# The one placeholder form: {{ name }}, whitespace inside the braces allowed, a plain lower-case name.
PLACEHOLDER_RE = re.compile(r"\{\{[ \t]*([a-z_][a-z0-9_]*)[ \t]*\}\}")
# Any token a template engine reads: {{ }}, {% %}, {# #} (MLflow: Jinja2), in either direction.
ENGINE_TOKEN_RE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")

PERSONAL_VARIABLES = ("user", "rival", "user_id", "name", "avatar", "event_id")
# The non-personal variables each scenario can fill; first entries have no old rank.
SCENARIO_VARIABLES: dict[str, tuple[str, ...]] = {
    "rank_up": ("old_rank", "new_rank", "rank_delta", "challenge", "style", "brand_primary", "brand_accent"),
    "defend": ("old_rank", "new_rank", "rank_delta", "challenge", "style", "brand_primary", "brand_accent"),
    "first_entry": ("new_rank", "challenge", "style", "brand_primary", "brand_accent"),
}
# The longest value each variable can take, so a template's cap holds after it is filled.
VALUE_MAX = {
    "old_rank": len(str(MAX_RANK)),
    "new_rank": len(str(MAX_RANK)),
    "rank_delta": len(str(MAX_RANK)),
    "challenge": CHALLENGE_MAX,
    "style": max(len(s.replace("_", " ")) for s in STYLES),
    "brand_primary": len("#RRGGBB"),
    "brand_accent": len("#RRGGBB"),
}
# UMT5's SentencePiece tokenizer gives each character of NFKC-normalised text at most one token, plus
# the word-start piece it puts in front and the end-of-text token: text of at most (limit - 2) characters
# is never cut off by the text encoder.
PROMPT_MAX_CHARS = DEFAULT_MODEL.text_encoder_max_tokens - 2


def template_variables(template: str) -> list[str]:
    """Names used as ``{{name}}`` in a template, in order of first use."""
    seen: list[str] = []
    for name in PLACEHOLDER_RE.findall(template):
        if name not in seen:
            seen.append(name)
    return seen


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"at character {offset + 1} (line {line}, column {column})"


def check_template(template: str, scenario: str, where: str) -> None:
    """Refuse anything but plain text and ``{{ name }}`` of an allowed, non-personal variable, and any
    template that could fill past what the text encoder reads."""
    allowed = SCENARIO_VARIABLES[scenario]
    usage = f"a {scenario} template may use {', '.join('{{' + v + '}}' for v in allowed)}"
    pos = 0
    while True:
        token = ENGINE_TOKEN_RE.search(template, pos)
        if token is None:
            break
        at = _position(template, token.start())
        placeholder = PLACEHOLDER_RE.match(template, token.start())
        if placeholder is None:
            if token.group() in ("{%", "%}"):
                what = f"has a '{token.group()}' statement {at}"
            elif token.group() in ("{#", "#}"):
                what = f"has a '{token.group()}' comment {at}"
            elif token.group() == "}}":
                what = f"has a '}}}}' with no '{{{{' before it {at}"
            else:
                what = (f"has a '{{{{' that does not open a plain {{{{ name }}}} (filters, '.', '[' and expressions "
                        f"are refused) {at}")
            raise VariantError(where, what, f"the template language is exactly {{{{ name }}}}; {usage}")
        name = placeholder.group(1)
        if name in PERSONAL_VARIABLES:
            raise VariantError(
                where,
                f"uses {{{{{name}}}}} {at}, which is personal data",
                "names and ids never reach the model; the overlay draws them exactly on top of the "
                "background, so describe the scene without them",
            )
        if name not in allowed:
            raise VariantError(where, f"uses unknown variable {{{{{name}}}}} {at}", usage)
        pos = placeholder.end()
    longest = filled_length(template)
    if longest > PROMPT_MAX_CHARS:
        raise VariantError(
            where,
            f"can fill to {longest} characters; a prompt is at most {PROMPT_MAX_CHARS} characters "
            f"(the model reads {DEFAULT_MODEL.text_encoder_max_tokens} tokens and drops the rest)",
            "shorten it",
        )


def filled_length(template: str) -> int:
    """Characters of the template once filled with the longest values its variables can take (NFKC)."""
    text = unicodedata.normalize("NFKC", PLACEHOLDER_RE.sub("", template))
    return len(text) + sum(VALUE_MAX.get(m.group(1), 0) for m in PLACEHOLDER_RE.finditer(template))


def fill_template(template: str, values: dict[str, str], where: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise VariantError(where, f"template variable {{{{{name}}}}} has no value for this event")
        return values[name]

    return PLACEHOLDER_RE.sub(sub, template)


# -- what the model is told about colours and ranks --------------------------------------------------------
# A diffusion model reads "#4CAF50" as characters to draw (the negative prompt says "text, numbers"), so
# brand colours reach the prompt as words; the exact hex stays in the overlay, which draws it.
_HUES = ((10, "red"), (40, "orange"), (52, "amber"), (66, "yellow"), (90, "lime green"), (150, "green"),
         (185, "teal"), (200, "cyan"), (220, "sky blue"), (250, "blue"), (300, "purple"), (330, "magenta"),
         (350, "pink"), (360, "red"))


def colour_words(hex_colour: str) -> str:
    """A colour name for the model ("#4CAF50" -> "green", "#FFC107" -> "bright amber")."""
    import colorsys

    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    if v < 0.12:
        return "black"
    if s < 0.15:
        return "white" if v > 0.9 else "light grey" if v > 0.65 else "grey" if v > 0.35 else "dark grey"
    hue = next(name for top, name in _HUES if h * 360 < top)
    if hue in ("orange", "amber") and v < 0.6:
        return "brown"
    if v < 0.4:
        return f"dark {hue}"
    if s < 0.45 and v > 0.8:
        return f"pale {hue}"
    if s > 0.85 and v > 0.9:
        return f"bright {hue}"
    return hue


RANK_VARIABLES = ("old_rank", "new_rank", "rank_delta")
# Shown in the studio beside the prompt template: the cost of putting a rank into the prompt.
PER_RANK_NOTE = ("A prompt that uses {{new_rank}} (or {{old_rank}}, {{rank_delta}}) makes one GPU background "
                 "per rank instead of one per variant: each rank is a separate generation and cache entry. "
                 "The overlay already draws the rank exactly.")


def per_rank_note(template: str) -> str | None:
    """``PER_RANK_NOTE`` when a template's background depends on the rank, else None (for the studio)."""
    return PER_RANK_NOTE if any(v in RANK_VARIABLES for v in template_variables(template)) else None
