"""The features a programme runs on one ledger, wired together from its configuration.

A :class:`~pointkit.program.Program` keeps two stacks: the live one, and the dry run's on a
storage that rolls every unit back. Both are built here, the same way, so that a dry run runs
exactly the features the live programme runs: coupons are issued by the catalogue, the lottery
and missions through the one :class:`~pointkit.features.Coupons` of the stack, and the
anti-cheat guard is registered on every ledger (it refuses commands for frozen members).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, final

import attrs

from pointkit.campaigns import MissionBook
from pointkit.features import (
    Catalogue,
    Conversions,
    Coupons,
    Draws,
    Earning,
    GroupBuys,
    Guard,
    Missions,
    Referrals,
    Tiers,
)


if TYPE_CHECKING:
    from pointkit.ledger import Ledger
    from pointkit.program._config import ProgramConfig


__all__ = ["Stack"]


@final
@attrs.frozen
class Stack:
    """A ledger and the features on it: the live one, or the dry run's."""

    ledger: Ledger
    earning: Earning
    tiers: Tiers
    catalogue: Catalogue
    draws: Draws
    conversions: Conversions
    coupons: Coupons
    referrals: Referrals | None
    guard: Guard
    missions: Missions
    group_buys: GroupBuys

    @classmethod
    def on(cls, ledger: Ledger, config: ProgramConfig) -> Stack:
        """Build every feature of *config* on *ledger*."""
        campaigns = config.campaigns
        coupons = Coupons(ledger, campaigns.coupons)
        book = campaigns.missions or MissionBook(zone=config.zone)
        return cls(
            ledger=ledger,
            earning=Earning(ledger),
            tiers=Tiers(ledger),
            catalogue=Catalogue(ledger, coupons=coupons),
            draws=Draws(ledger, coupons=coupons),
            conversions=Conversions(ledger),
            coupons=coupons,
            referrals=None
            if campaigns.referrals is None
            else Referrals(ledger, campaigns.referrals),
            guard=Guard(ledger, campaigns.anti_cheat),
            missions=Missions(ledger, book, coupons=coupons, segments=config.segments),
            group_buys=GroupBuys(ledger, campaigns.group_buys),
        )
