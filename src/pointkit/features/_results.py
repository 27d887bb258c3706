"""What the features above the ledger return: event outcomes, tier status, redemptions, ...

Each is a frozen value; the transactions in them are the ledger's.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, final

import attrs

from pointkit.features._parts import defer, deferred_text


if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from pointkit._values import MemberId, Money
    from pointkit.ledger import HoldId, Transaction
    from pointkit.pricing import ConversionQuote, DrawRecord
    from pointkit.rules import Decision
    from pointkit.tiers import TierProgress, TierState


__all__ = [
    "ConversionResult",
    "DrawResult",
    "EventOutcome",
    "Redemption",
    "RedemptionRefund",
    "RedemptionStatus",
    "TierStatus",
]


@final
@attrs.frozen
class TierStatus:
    """Where a member stands on a tier ladder now, as :meth:`Tiers.status` reads it.

    Attributes:
        member: The member.
        state: The stored tier state; ``None`` until the member's first review.
        metric: The qualifying metric over the ladder's current window: points earned in the
            ladder's currency, less what was clawed back.
        progress: How far to the next tier and what keeps the current one; ``None`` until the
            first review.
    """

    member: MemberId
    state: TierState | None
    metric: int
    progress: TierProgress | None


@final
@attrs.frozen
class EventOutcome:
    """What :meth:`Earning.record` did with one event.

    Attributes:
        event_id: The event's id.
        decision: The rules' decision, with its explanations; ``None`` when the event was
            recorded before (``replayed``): then ``document`` holds the decision as recorded.
        document: The decision as JSON, exactly as recorded (or, on a dry run, as it would be).
        transactions: The ledger transactions of the awards, one per awarding rule.
        replayed: Whether the event had been recorded before and nothing was written now.
        dry_run: Whether this was a dry run: evaluated, nothing written.
    """

    event_id: str
    decision: Decision | None
    document: str
    transactions: tuple[Transaction, ...]
    replayed: bool = False
    dry_run: bool = False
    # What encodes ``document`` while it is unset (see ``deferred``); not part of the value.
    _encode: Callable[[], str] | None = attrs.field(default=None, init=False, eq=False, repr=False)

    @classmethod
    def deferred(
        cls,
        event_id: str,
        decision: Decision,
        transactions: tuple[Transaction, ...],
        *,
        encode: Callable[[], str],
    ) -> EventOutcome:
        """An outcome whose ``document`` is *decision* encoded by *encode* when first read.

        Equal to ``EventOutcome(event_id, decision, encode(), transactions)``: the same text,
        made only if something reads it (a host that keeps the document; a simulation does
        not). *encode* must return the same text whenever it is called.
        """
        outcome = cls(event_id, decision, "", transactions)
        defer(outcome, "document", encode)
        return outcome

    if not TYPE_CHECKING:  # typed attributes stay checked: only an unset text lands here

        def __getattr__(self, name: str) -> str:
            return deferred_text(self, name, "document")


class RedemptionStatus(enum.StrEnum):
    """Where an offer redemption stands: its hold's status, in the catalogue's words."""

    RESERVED = "reserved"
    """The points are held; the reward awaits fulfilment."""
    FULFILLED = "fulfilled"
    """The reward was delivered and the points spent (the hold was captured)."""
    CANCELLED = "cancelled"
    """It failed or was withdrawn; points and stock went back (the hold was released)."""
    EXPIRED = "expired"
    """Nobody fulfilled it in time; points and stock went back (the hold timed out)."""


@final
@attrs.frozen
class Redemption:
    """An offer redemption: what was taken, on which terms, and where it stands.

    Attributes:
        key: The idempotency key it was made under (the host's order id).
        offer: The offer's id.
        member: The member.
        option: The price option chosen (``"points"``, ``"bundle:0"``, ``"split"``).
        quantity: Units redeemed.
        points: Points held (and spent once fulfilled) for all units.
        cash: Cash the host collects for all units, if the option has a cash part.
        currency: The point currency.
        hold: The hold reserving the points.
        status: Where it stands now.
        refunded: Units refunded so far.
        reserved_at: When it was made.
        expires_at: When its hold times out if not fulfilled.
        replayed: Whether the command had been recorded before and nothing was written now.
    """

    key: str
    offer: str
    member: MemberId
    option: str
    quantity: int
    points: int
    cash: Money | None
    currency: str
    hold: HoldId
    status: RedemptionStatus
    refunded: int
    reserved_at: datetime
    expires_at: datetime
    replayed: bool = attrs.field(default=False, eq=False)


@final
@attrs.frozen
class RedemptionRefund:
    """What refunding units of a fulfilled redemption gave back.

    Attributes:
        key: The refund's idempotency key.
        redemption: The redemption's key.
        quantity: Units refunded by this refund.
        points: Points given back to the member (0 under ``no_points_back``).
        cash: Cash the host gives back for these units, if the option had a cash part.
        policy: The offer's refund policy, as recorded when it was redeemed.
        transaction: The reversal that gave the points back, if any.
        replayed: Whether the refund had been recorded before and nothing was written now.
    """

    key: str
    redemption: str
    quantity: int
    points: int
    cash: Money | None
    policy: str
    transaction: Transaction | None
    replayed: bool = attrs.field(default=False, eq=False)


@final
@attrs.frozen
class ConversionResult:
    """What :meth:`Conversions.convert` did: the quote and its two linked transactions.

    The debit takes the source points into the source currency's clearing account (and the fee
    into redemption); the credit gives the target points out of the target currency's clearing
    account. Both commit in one unit of work, or neither does.

    Attributes:
        quote: The conversion's quote, as executed (or, on a dry run, as it would be).
        debit: The source-currency transaction; ``None`` on a dry run.
        credit: The target-currency transaction; ``None`` on a dry run.
        replayed: Whether the conversion had been recorded before and nothing was written now.
        dry_run: Whether this was a dry run: quoted against the member's usage, nothing written.
    """

    quote: ConversionQuote
    debit: Transaction | None
    credit: Transaction | None
    replayed: bool = attrs.field(default=False, eq=False)
    dry_run: bool = False


@final
@attrs.frozen
class DrawResult:
    """What :meth:`Draws.draw` did: the draw's record and the transaction that paid for it.

    Attributes:
        record: The draw's immutable record (prize, odds, value drawn, pity, proof).
        transaction: The ``draw`` transaction: the cost in, and a points prize out.
        replayed: Whether the draw had been recorded before and nothing was written now.
    """

    record: DrawRecord
    transaction: Transaction
    replayed: bool = attrs.field(default=False, eq=False)

    @property
    def prize(self) -> str:
        """The prize won."""
        return self.record.prize
