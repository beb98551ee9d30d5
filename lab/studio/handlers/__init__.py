"""What the studio's buttons do, as plain functions (no Gradio) over one variant library and one experiment
library: they raise ``LabError`` and return values keyed by name; the tabs show the errors and bind the names
to components. ``design`` holds Library, Design and Compare; ``experiments`` holds Experiments, Analysis, Ship."""

from __future__ import annotations

from dataclasses import dataclass

from lab import config
from lab.experiments.spec import ExperimentLibrary
from lab.library.versions import VariantLibrary
from lab.studio.handlers.design import (  # noqa: F401 - the names of each handler's values
    CHECKED,
    CLEARED,
    COMPARED,
    EVENT,
    FIELD_ERRORS,
    LOADED,
    RENDERED,
    SAVED,
    DesignHandlers,
)
from lab.studio.handlers.experiments import ALL_SEGMENTS, ANALYSED, EXP_SHOWN, SHIPPED, ExperimentHandlers  # noqa: F401


@dataclass(frozen=True)
class Handlers(DesignHandlers, ExperimentHandlers):
    """The studio's handlers over one variant library and one experiment library."""

    variants: VariantLibrary
    experiments: ExperimentLibrary

    @classmethod
    def from_config(cls, cfg: config.LabConfig) -> Handlers:
        variants = VariantLibrary(cfg.variants_dir)
        return cls(variants, ExperimentLibrary(cfg.experiments_dir, variants))

    def variant_ids(self) -> list[str]:
        """The variants a picker offers now (read from disk: a clone made on another page is there)."""
        return self.variants.ids()

    def experiment_keys(self) -> list[str]:
        return self.experiments.keys()
