"""Which variant a user sees: the arm of a running experiment for the event's scenario (the lab's own
GrowthBook hash, ``Experiment.assign``), otherwise the exported production bundle of that scenario."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from lab import config
from lab.errors import LabError
from lab.experiments.registry import variant_from_bundle
from lab.experiments.spec import Experiment, ExperimentLibrary
from lab.library.events import RankEvent
from lab.library.variant import Variant
from lab.library.versions import VariantLibrary

REFRESH_S = 30.0  # how stale a worker's view of the running experiments may be


@dataclass(frozen=True)
class Choice:
    variant: Variant
    experiment: str | None
    arm: str
    source: str  # "experiment" or "bundle"


class VariantChooser:
    """Loaded once per process: experiment specs refreshed every ``REFRESH_S``, bundles when their file changes."""

    def __init__(self, variants_dir: Path, experiments_dir: Path) -> None:
        self.experiments = ExperimentLibrary(experiments_dir, VariantLibrary(variants_dir))
        self._running: list[Experiment] = []
        self._loaded_at = -REFRESH_S
        self._bundles: dict[str, tuple[float, Variant, str | None]] = {}
        self._versions: dict[tuple[str, str], Variant] = {}

    def running(self, scenario: str) -> Experiment | None:
        if time.monotonic() - self._loaded_at >= REFRESH_S:
            found = []
            for key in self.experiments.keys():
                exp = self.experiments.load(key)
                if exp.status == "running":
                    found.append(exp)
            self._running, self._loaded_at = found, time.monotonic()
        return next((e for e in self._running if e.scenario == scenario), None)

    def choose(self, event: RankEvent) -> Choice:
        exp = self.running(event.scenario)
        if exp is not None and event.user_id:
            arm, version, _ = exp.assign(event.user_id)
            if arm is not None and version is not None:
                if (arm, version) not in self._versions:
                    self._versions[(arm, version)] = self.experiments.variants.load_version(arm, version)
                return Choice(self._versions[(arm, version)], exp.key, arm, "experiment")
        variant, key = self.bundle(event.scenario)
        return Choice(variant, key, variant.id, "bundle")

    def bundle(self, scenario: str) -> tuple[Variant, str | None]:
        path = config.exports_dir(scenario) / "production.json"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            raise LabError(f"scenario {scenario}", "no running experiment and no production bundle",
                           "start an experiment for it or export a winner") from None
        cached = self._bundles.get(scenario)
        if cached is None or cached[0] != mtime:
            bundle = json.loads(path.read_text(encoding="utf-8"))
            cached = (mtime, variant_from_bundle(bundle), bundle.get("experiment"))
            self._bundles[scenario] = cached
        return cached[1], cached[2]
