"""The features' domain events, written to the outbox in the unit of work that made the change.

A tier review that changes a tier writes ``tier.changed``; the catalogue writes
``redemption.reserved``, ``redemption.fulfilled``, ``redemption.cancelled`` and
``redemption.refunded``; the lottery writes ``draw.won`` for a draw that won something; the
exchange writes ``conversion.done``. The campaigns write theirs: coupons ``coupon.issued``,
``coupon.used``, ``coupon.returned`` and ``coupon.revoked``; referrals ``referral.attributed``
and ``referral.settled``; missions ``mission.completed`` and ``badge.earned``; group buys
``group_buy.opened``, ``group_buy.completed`` and ``group_buy.ended``; anti-cheat
``member.frozen``, ``member.unfrozen``, ``event.held`` and ``event.reviewed``. Each has a stable
id made from what it reports, so a unit retried after a transient failure, or a command sent
again, never writes it twice. Money is text (``"10.00 CNY"``), instants RFC 3339, as in every
event's data.
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
    "BadgeEarned",
    "ConversionDone",
    "CouponIssued",
    "CouponRevoked",
    "CouponUseChanged",
    "DrawWon",
    "GroupBuyChanged",
    "MemberFreezeChanged",
    "MissionCompleted",
    "RedemptionChanged",
    "ReferralChanged",
    "ReviewChanged",
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


@final
@attrs.frozen
class CouponIssued:
    """The data of ``coupon.issued``: a coupon was given to a member.

    Attributes:
        code: The coupon's code.
        coupon: The coupon definition's id.
        member: Its owner.
        source: What issued it (``"key:<host key>"``, ``"rule:<rule>:<event id>"``, ...).
        uses: How many times it may be used.
        issued_at: When.
        starts_at: When it becomes usable; at once if ``None``.
        ends_at: When it stops being usable; never if ``None``.
    """

    code: str
    coupon: str
    member: str
    source: str
    uses: int
    issued_at: datetime
    starts_at: datetime | None
    ends_at: datetime | None


@final
@attrs.frozen
class CouponUseChanged:
    """The data of ``coupon.used`` and ``coupon.returned``: a use made, or given back.

    Attributes:
        use: The use's key (the host's order id, say).
        code: The coupon's code.
        coupon: The coupon definition's id.
        member: The member.
        status: ``used`` or ``returned``.
        order_total: The order's total before the discount (``"300.00 CNY"``).
        discount: What the coupon took off (``"10.00 CNY"``).
        gift: The gift's item id, for a gift coupon.
        key: The key of the command: the use's, or the give-back's.
    """

    use: str
    code: str
    coupon: str
    member: str
    status: str
    order_total: str
    discount: str
    gift: str | None
    key: str


@final
@attrs.frozen
class CouponRevoked:
    """The data of ``coupon.revoked``: what issued a coupon was cancelled, so it is void.

    Attributes:
        code: The coupon's code.
        coupon: The coupon definition's id.
        member: Its owner.
        uses_revoked: The open uses it lost.
    """

    code: str
    coupon: str
    member: str
    uses_revoked: int


@final
@attrs.frozen
class ReferralChanged:
    """The data of ``referral.attributed`` and ``referral.settled``.

    Attributes:
        referrer: The member whose code was used.
        invitee: The new member.
        status: ``attributed`` or ``settled``.
        reason: Why it is (or was settled) without a reward (``repeat_identity``, a cap), or
            ``None``.
        event: The event that settled it (``None`` on attribution).
        referrer_points: Points paid to the referrer on settlement (0 otherwise).
        invitee_points: Points paid to the invitee on settlement (0 otherwise).
    """

    referrer: str
    invitee: str
    status: str
    reason: str | None
    event: str | None
    referrer_points: int
    invitee_points: int


@final
@attrs.frozen
class MissionCompleted:
    """The data of ``mission.completed``: a member completed a mission (once more).

    Attributes:
        mission: The mission's id.
        member: The member.
        number: Its number among the member's completions of the mission, from 1.
        period: The period it was completed in.
        event: The event that completed it.
        points: Points it credited (0 for none).
        currency: Their currency, if any.
        coupon: The code of the coupon it issued, if any.
        badge: The badge it gives, if any.
    """

    mission: str
    member: str
    number: int
    period: str
    event: str
    points: int
    currency: str | None
    coupon: str | None
    badge: str | None


@final
@attrs.frozen
class BadgeEarned:
    """The data of ``badge.earned``: a member earned a badge (once ever).

    Attributes:
        badge: The badge's id.
        member: The member.
        source: What earned it: ``"mission:<id>:<number>"`` or ``"goal"``.
    """

    badge: str
    member: str
    source: str


@final
@attrs.frozen
class GroupBuyChanged:
    """The data of ``group_buy.opened``, ``group_buy.completed`` and ``group_buy.ended``.

    Attributes:
        group: The group's id.
        deal: The deal's id.
        opener: The member who opened it.
        status: ``open``, ``completed``, ``cancelled``, ``expired`` or ``failed``.
        members: Its members, in the order they joined.
        size: How many members fill it.
        points: What each member pays in points.
        currency: The point currency.
        deadline: When it stops accepting members.
    """

    group: str
    deal: str
    opener: str
    status: str
    members: tuple[str, ...]
    size: int
    points: int
    currency: str
    deadline: datetime


@final
@attrs.frozen
class MemberFreezeChanged:
    """The data of ``member.frozen`` and ``member.unfrozen``.

    Attributes:
        member: The member.
        frozen: Whether they are frozen now.
        reason: Why.
        key: The command's idempotency key.
    """

    member: str
    frozen: bool
    reason: str
    key: str


@final
@attrs.frozen
class ReviewChanged:
    """The data of ``event.held`` and ``event.reviewed``: anti-cheat held an event's awards.

    Attributes:
        event: The event's id.
        member: Its member.
        rule: The velocity rule that flagged it.
        status: ``pending`` (held), ``approved`` or ``rejected``.
        reason: Why it was rejected, if it was.
        points: The points of the awards held (deductions subtracted), in any currency.
        coupons: The coupon definitions held with them.
    """

    event: str
    member: str
    rule: str
    status: str
    reason: str | None
    points: int
    coupons: tuple[str, ...]


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
