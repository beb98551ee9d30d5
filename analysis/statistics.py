"""Sufficient statistics per arm: everything the tests need, small enough to pool and log.

Two kinds, after GrowthBook's gbstats: a proportion over impressions (each impression is a unit),
and a ratio metric over users (clicks per impression, where the user is the unit of randomisation
and may see several notifications). Both expose ``mean`` (the CTR) and ``var_mean`` (its variance).
``ArmData`` is one arm's statistic plus its guardrail counts; like the statistics it pools with ``+``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.cuped import CupedMoments


@dataclass(frozen=True)
class ProportionStatistic:
    """``clicks`` out of ``impressions``, impressions independent (counts data)."""

    impressions: int
    clicks: int

    unit = "impression"

    @property
    def n(self) -> int:
        return self.impressions

    @property
    def mean(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def variance(self) -> float:
        """Per-unit Bernoulli variance p(1-p)."""
        p = self.mean
        return p * (1 - p)

    @property
    def var_mean(self) -> float:
        return self.variance / self.impressions if self.impressions else 0.0

    @property
    def zero_variance(self) -> bool:
        """No impressions, or every one alike (no clicks or all clicked): no spread to estimate an error from."""
        return self.impressions == 0 or self.variance <= 0

    def __add__(self, other: ProportionStatistic) -> ProportionStatistic:
        return ProportionStatistic(self.impressions + other.impressions, self.clicks + other.clicks)


@dataclass(frozen=True)
class RatioStatistic:
    """Per-user sums for CTR = sum(clicks) / sum(impressions) with users as units (delta method)."""

    users: int
    clicks: int  # sum of per-user clicks
    clicks_sq: float  # sum of per-user clicks squared
    impressions: int
    impressions_sq: float
    clicks_x_impressions: float

    unit = "user"

    @property
    def n(self) -> int:
        return self.users

    @property
    def mean(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def var_mean(self) -> float:
        """Delta-method variance of the ratio of means (sample covariances, n - 1)."""
        n = self.users
        if n < 2 or self.impressions == 0:
            return 0.0
        mu_c, mu_i = self.clicks / n, self.impressions / n
        var_c = (self.clicks_sq - self.clicks**2 / n) / (n - 1)
        var_i = (self.impressions_sq - self.impressions**2 / n) / (n - 1)
        cov = (self.clicks_x_impressions - self.clicks * self.impressions / n) / (n - 1)
        v = (var_c / mu_i**2 - 2 * mu_c * cov / mu_i**3 + mu_c**2 * var_i / mu_i**4) / n
        return max(v, 0.0)

    @property
    def zero_variance(self) -> bool:
        """Fewer than two users, or no spread in their clicks per impression."""
        return self.var_mean <= 0

    def __add__(self, other: RatioStatistic) -> RatioStatistic:
        return RatioStatistic(
            self.users + other.users,
            self.clicks + other.clicks,
            self.clicks_sq + other.clicks_sq,
            self.impressions + other.impressions,
            self.impressions_sq + other.impressions_sq,
            self.clicks_x_impressions + other.clicks_x_impressions,
        )


Statistic = ProportionStatistic | RatioStatistic


@dataclass(frozen=True)
class ArmData:
    """One arm's data: the CTR statistic, lower-is-better guardrail counts (per impression) and, for CUPED,
    the per-user moments with the pre-period covariates."""

    variant: str
    stat: Statistic
    guardrails: dict[str, int] = field(default_factory=dict)
    cuped: CupedMoments | None = None

    def __add__(self, other: ArmData) -> ArmData:
        """Pool two batches of the same arm: statistics added, guardrail counts summed over both keys."""
        if other.variant != self.variant:
            raise ValueError(f"cannot pool arm {self.variant!r} with arm {other.variant!r}")
        guards = dict(self.guardrails)
        for metric, count in other.guardrails.items():
            guards[metric] = guards.get(metric, 0) + count
        cuped = self.cuped + other.cuped if self.cuped is not None and other.cuped is not None else None
        return ArmData(self.variant, self.stat + other.stat, guards, cuped)
