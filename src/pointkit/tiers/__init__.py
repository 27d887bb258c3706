"""Tier ladders: qualification windows, reviews, grace, one-step downgrades, benefits and progress.

A :class:`TierLadder` places members on tiers by one qualifying metric (points earned, tier
credits, spend) over a window (:class:`Lifetime`, :class:`RollingMonths`,
:class:`CalendarYear`). Upgrades happen at once; downgrades only at reviews, after an optional
grace, by one step or to the qualifying tier, and never for members marked never-downgrade.
Everything here is pure: the host measures the metric and stores the :class:`TierState`.
See docs/tiers.md.
"""

from pointkit.tiers._ladder import Benefits, QualifyingMetric, Tier, TierLadder
from pointkit.tiers._policy import (
    CalendarYear,
    DowngradePolicy,
    Lifetime,
    NoReview,
    QualificationWindow,
    ReviewEveryMonths,
    ReviewSchedule,
    ReviewYearlyOn,
    RollingMonths,
)
from pointkit.tiers._state import (
    TierChange,
    TierChangeReason,
    TierDecision,
    TierProgress,
    TierState,
)


__all__ = [
    "Benefits",
    "CalendarYear",
    "DowngradePolicy",
    "Lifetime",
    "NoReview",
    "QualificationWindow",
    "QualifyingMetric",
    "ReviewEveryMonths",
    "ReviewSchedule",
    "ReviewYearlyOn",
    "RollingMonths",
    "Tier",
    "TierChange",
    "TierChangeReason",
    "TierDecision",
    "TierLadder",
    "TierProgress",
    "TierState",
]
