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
