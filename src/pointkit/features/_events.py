"""The features' domain events, written to the outbox in the unit of work that made the change.

A tier review that changes a tier writes ``tier.changed``; the catalogue writes
``redemption.reserved``, ``redemption.fulfilled``, ``redemption.cancelled`` and
``redemption.refunded``; the lottery writes ``draw.won`` for a draw that won something; the
exchange writes ``conversion.done``. Each has a stable id made from what it reports, so a unit
retried after a transient failure, or a command sent again, never writes it twice.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - the records' field types are read at run time
from typing import TYPE_CHECKING, final

import attrs

from pointkit.ledger._outbox import emit_event


if TYPE_CHECKING:
    from pointkit.pricing import DrawRecord
    from pointkit.tiers import TierChange


__all__ = [
    "ConversionDone",
    "DrawWon",
    "RedemptionChanged",
    "TierChanged",
    "draw_events",
    "emit_event",
    "tier_events",
]


@final
@attrs.frozen
class TierChanged:
    """The data of ``tier.changed``: a member's tier moved (or a grace began or ended).

    Attributes:
        member: The member.
        from_tier: The tier before (``None`` on joining).
        to_tier: The tier after.
        reason: Why (``joined``, ``upgrade``, ``downgrade``, ``manual``, ``grace``, ...).
        at: When.
    """

    member: str
    from_tier: str | None
    to_tier: str
    reason: str
    at: datetime


@final
@attrs.frozen
class RedemptionChanged:
    """The data of ``redemption.*``: an offer redemption was made or moved on.

    Attributes:
        redemption: Its key (the host's order id).
        offer: The offer.
        member: The member.
        status: Where it stands: ``reserved``, ``fulfilled``, ``cancelled``, or ``refunded``.
        quantity: Units it is about (the units refunded, for a refund).
        points: Points it is about (held, spent, given back).
        cash: Cash the host collects or returns, if any (``"12.50 CNY"``).
        hold: The id of the hold behind it.
    """

    redemption: str
    offer: str
    member: str
    status: str
    quantity: int
    points: int
    cash: str | None
    hold: str


@final
@attrs.frozen
class DrawWon:
    """The data of ``draw.won``: a lottery draw won a prize (a draw that won nothing has none).

    Attributes:
        draw_id: The draw's id.
        lottery: The lottery.
        member: The member.
        prize: The prize's id.
        kind: ``goods``, ``coupon`` or ``points``.
        points_back: Points the prize credited.
        transaction: The draw's ledger transaction.
    """

    draw_id: str
    lottery: str
    member: str
    prize: str
    kind: str
    points_back: int
    transaction: str


@final
@attrs.frozen
class ConversionDone:
    """The data of ``conversion.done``: points converted from one currency into another.

    Attributes:
        key: The conversion's key.
        conversion: The conversion rule.
        member: The member.
        source: The currency debited.
        target: The currency credited.
        debited: Points taken from the source (fee included).
        credited: Points given in the target.
    """

    key: str
    conversion: str
    member: str
    source: str
    target: str
    debited: int
    credited: int


def draw_events(unit: object, record: DrawRecord) -> None:
    """Write ``draw.won`` for a draw that won something in *unit*'s outbox, if it keeps one."""
    if record.kind != "nothing":
        emit_event(
            unit,
            "draw.won",
            record.draw_id,
            record.at,
            DrawWon(
                record.draw_id, record.lottery, record.member, record.prize, record.kind,
                record.points_back, record.transaction or "",
            ),
        )  # fmt: skip


def tier_events(unit: object, changes: tuple[TierChange, ...] | list[TierChange]) -> None:
    """Write ``tier.changed`` for each of *changes* in *unit*'s outbox, if it keeps one."""
    for change in changes:
        emit_event(
            unit,
            "tier.changed",
            f"{change.member}:{change.at.isoformat()}:{change.reason}:{change.to_tier}",
            change.at,
            TierChanged(
                str(change.member), change.from_tier, change.to_tier, str(change.reason), change.at
            ),
        )
