"""How to analyse: the options of ``analyze``, with one definition each of the corrections and modes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from analysis import sequential

# Monte Carlo draws for the chance-to-win figure (here, not in bayesian.py, so that reading the options does
# not import scipy: light commands such as `--help` load this module).
DEFAULT_DRAWS = 200_000

Correction = Literal["holm", "bh", "none"]
Mode = Literal["fixed", "sequential"]
CORRECTIONS: tuple[Correction, ...] = get_args(Correction)
MODES: tuple[Mode, ...] = get_args(Mode)


@dataclass(frozen=True)
class Options:
    """How to analyse: the control, alpha, correction, planned split, fixed or sequential, and the power plan."""

    control: str | None = None
    alpha: float = 0.05
    correction: Correction = "holm"
    weights: tuple[float, ...] | None = None  # planned traffic split; equal when None
    mode: Mode = "fixed"
    sequential_tuning: float = sequential.DEFAULT_TUNING
    mde_rel: float = 0.10  # the smallest relative lift worth shipping, for "keep running" estimates
    power: float = 0.8
    draws: int = DEFAULT_DRAWS
    seed: int = 0
    # The plan's sample size per arm: a fixed-horizon test is not read before every arm has it.
    planned_n_per_arm: int | None = None
    # Regression-adjust the per-user CTR with pre-period covariates (analysis.cuped); the decision then uses
    # the adjusted figures.
    cuped: bool = False

    def check(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {self.correction!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.planned_n_per_arm is not None and self.planned_n_per_arm < 1:
            raise ValueError(f"the planned sample size per arm must be at least 1, got {self.planned_n_per_arm}")
        if self.mde_rel <= 0:
            raise ValueError(f"the minimum detectable lift must be positive, got {self.mde_rel}")
