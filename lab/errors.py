"""Errors a user can act on: each says where, what was wrong, and what to do."""

from __future__ import annotations


class LabError(Exception):
    """Bad input or a refused operation; the CLI prints it on one line and exits 2."""

    def __init__(self, where: str, what: str, fix: str | None = None) -> None:
        self.where = where
        self.what = what
        self.fix = fix
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
