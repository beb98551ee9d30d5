"""The one error of the ingest layer: a bad outcome file, with every bad row listed (up to a cap)."""

from __future__ import annotations

from collections.abc import Sequence

ERROR_CAP = 50  # bad rows listed one by one; past it, only their count
LABEL_MAX = 200  # characters in a variant or segment label: an id, not a document


class OutcomeError(ValueError):
    """A bad outcome file; the message names the file, row and column of the first bad row.

    ``errors`` lists every bad row found (row, column, value, reason), at most ``ERROR_CAP`` of them, and
    ``more`` counts the rest, so a user fixes the whole file in one pass instead of one row per upload.
    """

    def __init__(self, message: str, errors: Sequence[str] | None = None, more: int = 0) -> None:
        super().__init__(message)
        self.errors = list(errors) if errors else [message]
        self.more = more

    def lines(self) -> list[str]:
        """Each bad row, then "and N more" past the cap."""
        return self.errors + ([f"and {self.more:,} more"] if self.more else [])


def excerpt(text: str, limit: int = 60) -> str:
    """At most ``limit`` characters of an input value, for messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_label(text: str, where: str) -> str:
    """A variant or segment label, refused past ``LABEL_MAX`` characters (naming where and how long)."""
    if len(text) > LABEL_MAX:
        raise OutcomeError(f"{where}: {excerpt(text)!r} is {len(text):,} characters long; a variant or segment "
                           f"label has at most {LABEL_MAX}")
    return text
