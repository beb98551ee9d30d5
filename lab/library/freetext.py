"""Free text a person types (a title, an author, a note, an export reason, a hypothesis): one rule for all.

Such text is shown in terminals, the studio, MLflow and production bundles. It is bounded in length (checked
before anything else looks at it, so a 30 MB title costs nothing) and holds no control or format character:
no ANSI escape sequence, no bidi override, no invisible character. Joiners (U+200C, U+200D) stay, as emoji and
Persian or Indic words need them.
"""

from __future__ import annotations

import unicodedata

from lab.errors import LabError, excerpt

# Unicode categories never part of free text: controls (ANSI escapes, newlines), format characters (bidi
# overrides, invisible operators, interlinear annotation), surrogates, private use, unassigned, separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
JOINERS = frozenset("\u200c\u200d")

# The bounds, one per kind of text.
TITLE_MAX = 120  # a variant's title: a list row and a tab label
META_MAX = 500  # a saved version's author and note
REASON_MAX = 1000  # why an export overrides the analysis
HYPOTHESIS_MAX = 2000  # an experiment's hypothesis (may span lines)
LABEL_MAX = 64  # short labels such as a font name
FIX = "write it as one line of plain text (no escape sequences)"


def check_free_text(value: object, where: str, limit: int, error: type[LabError] = LabError,
                    multiline: bool = False) -> str | None:
    """``value`` when it is text within ``limit`` characters holding no control or format character, else
    ``error`` naming ``where``, the first refused character and its position. None passes through."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise error(where, f"must be text, got {excerpt(value)}")
    if len(value) > limit:
        raise error(where, f"is {len(value):,} characters long; the limit is {limit:,}", "shorten it")
    for i, ch in enumerate(value):
        if (multiline and ch == "\n") or ch in JOINERS:
            continue
        if unicodedata.category(ch) in REFUSED_CATEGORIES:
            raise error(where, f"holds the control character U+{ord(ch):04X} at position {i + 1}",
                        "write it as plain text (no escape sequences)" if multiline else FIX)
    return value
