"""The prompt template language and its privacy rule: ``{{name}}`` placeholders, names from an allow-list.

Names, ids and avatars never reach a model: the overlay draws them exactly on top of the background.
"""

from __future__ import annotations

import re

from lab.errors import VariantError

# MLflow's prompt registry syntax: {{ name }}, whitespace inside the braces allowed.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

PERSONAL_VARIABLES = ("user", "rival", "user_id", "name", "avatar", "event_id")
# The non-personal variables each scenario can fill; first entries have no old rank.
SCENARIO_VARIABLES: dict[str, tuple[str, ...]] = {
    "rank_up": ("old_rank", "new_rank", "rank_delta", "challenge", "style", "brand_primary", "brand_accent"),
    "defend": ("old_rank", "new_rank", "rank_delta", "challenge", "style", "brand_primary", "brand_accent"),
    "first_entry": ("new_rank", "challenge", "style", "brand_primary", "brand_accent"),
}


def template_variables(template: str) -> list[str]:
    """Names used as ``{{name}}`` in a template, in order of first use."""
    seen: list[str] = []
    for name in PLACEHOLDER_RE.findall(template):
        if name not in seen:
            seen.append(name)
    return seen


def check_template(template: str, scenario: str, where: str) -> None:
    """Refuse personal or unknown variables: names are drawn by the overlay, never sent to the model."""
    allowed = SCENARIO_VARIABLES[scenario]
    for name in template_variables(template):
        if name in PERSONAL_VARIABLES:
            raise VariantError(
                where,
                f"uses {{{{{name}}}}}, which is personal data",
                "names and ids never reach the model; the overlay draws them exactly on top of the "
                "background, so describe the scene without them",
            )
        if name not in allowed:
            raise VariantError(
                where,
                f"uses unknown variable {{{{{name}}}}}",
                f"a {scenario} template may use {', '.join('{{' + v + '}}' for v in allowed)}",
            )
    stray = PLACEHOLDER_RE.sub("", template)
    if "{{" in stray or "}}" in stray:
        raise VariantError(where, "has an unbalanced '{{' or '}}'", "write variables as {{new_rank}}")


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
