"""The features a programme runs on one ledger, wired together from its configuration.

A :class:`~pointkit.program.Program` keeps two stacks: the live one, and the dry run's on a
storage that rolls every unit back. Both are built here, the same way, so that a dry run runs
exactly the features the live programme runs: coupons are issued by the catalogue, the lottery,
missions, earning rules and approved reviews through the one
:class:`~pointkit.features.Coupons` of the stack, and the
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
    from pointkit.features import EventObserver
    from pointkit.ledger import Ledger, Linked
    from pointkit.program._config import ProgramConfig
    from pointkit.rules import Event, MemberContext


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
        """Build every feature of *config* on *ledger*.

        Earning is given the anti-cheat guard when the programme screens events
        (``[anti_cheat]``), and the missions as an observer when it has any, so an event's
        screening, points and mission progress commit in one unit of work.
        """
        campaigns = config.campaigns
        coupons = Coupons(ledger, campaigns.coupons)
        guard = Guard(ledger, campaigns.anti_cheat, coupons=coupons)
        book = campaigns.missions or MissionBook(zone=config.zone)
        missions = Missions(ledger, book, coupons=coupons, segments=config.segments)
        observers = () if campaigns.missions is None else (_observer(missions),)
        earning = Earning(
            ledger,
            guard=None if campaigns.anti_cheat is None else guard,
            observers=observers,
            lock_currencies=missions.currencies if observers else (),
            coupons=coupons,
        )
        return cls(
            ledger=ledger,
            earning=earning,
            tiers=Tiers(ledger),
            catalogue=Catalogue(ledger, coupons=coupons),
            draws=Draws(ledger, coupons=coupons),
            conversions=Conversions(ledger),
            coupons=coupons,
            referrals=None
            if campaigns.referrals is None
            else Referrals(ledger, campaigns.referrals),
            guard=guard,
            missions=missions,
            group_buys=GroupBuys(ledger, campaigns.group_buys),
        )


def _observer(missions: Missions) -> EventObserver:
    def observe(link: Linked, event: Event, member: MemberContext) -> object:
        return missions.observe_on(link, event, member=member)

    return observe
