"""Errors a user can act on: each says where, what was wrong, and what to do."""

from __future__ import annotations

import reprlib


class LabError(Exception):
    """Bad input or a refused operation; the CLI prints it on one line and exits 2."""

    def __init__(self, where: str, what: str, fix: str | None = None, details: list[str] | None = None) -> None:
        self.where = where
        self.what = what
        self.fix = fix
        self.details = list(details or [])  # e.g. every bad row of a file (capped); a front end may list them
        message = f"{where}: {what}" if where else what
        if fix:
            message += f"; {fix}"
        super().__init__(message)


class EventError(LabError):
    """A rank event that production cannot use."""


class VariantError(LabError):
    """A variant file that does not follow the schema."""


class VersionConflict(LabError):
    """Someone saved the variant since the version an edit was based on."""


class ExperimentError(LabError):
    """An experiment spec that cannot run as written."""


class OutOfMemory(LabError):
    """The model ran out of GPU memory at this level; the renderer retries one level down."""


def excerpt(value: object, limit: int = 40, quote: bool = True) -> str:
    """A short, escaped quote of an input value for an error message.

    Errors repeat what was typed so the user can find it, but never a whole file (``render --variant
    /etc/passwd``), a name's invisible characters or a terminal escape sequence: control characters come
    out escaped, long text is cut and its length said, deep structures are summarised.
    """
    if isinstance(value, str):
        shown = value[:limit]
        text = repr(shown) if quote else repr(shown)[1:-1]
        if len(value) > limit:
            text = (text[:-1] + "…" + text[-1]) if quote else text + "…"
            text += f" ({len(value):,} characters)"
        return text
    short = reprlib.Repr()
    short.maxlevel, short.maxdict, short.maxlist, short.maxtuple, short.maxset = 2, 4, 4, 4, 4
    short.maxstring, short.maxother, short.maxlong = limit, limit, limit
    try:
        return short.repr(value)
    except (ValueError, RecursionError):  # an int past Python's digit limit, or a self-nesting value
        return f"<{type(value).__name__}>"
