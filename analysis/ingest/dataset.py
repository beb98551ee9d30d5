"""What an outcome source holds once aggregated: the sufficient statistics the analysis needs, nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analysis.statistics import ArmData

COUNT_COLUMNS = ("variant", "impressions", "clicks")
EVENT_COLUMNS = ("user_id", "variant", "timestamp", "clicked")
# Per-user pre-period covariates for CUPED, constant per user (analysis.cuped).
PRE_COLUMNS = ("pre_clicks", "pre_impressions")


@dataclass
class Dataset:
    """What a file or table holds, aggregated: arms overall, arms per segment, and what was skipped and why."""

    kind: str  # counts | events
    arms: list[ArmData]
    segments: dict[str, list[ArmData]] = field(default_factory=dict)
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)  # events: per day and arm counts

    def all_notes(self) -> list[str]:
        """Notes about the data, the rows deliberately skipped included, for the analysis to report."""
        return self.notes + [f"skipped {n} rows {why}" for why, n in self.skipped.items()]
