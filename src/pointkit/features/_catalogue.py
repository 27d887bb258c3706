"""The catalogue: offers redeemed for points, fulfilled, cancelled and refunded.

Maintainer's notes
------------------
:mod:`pointkit.pricing` decides (which option, whether an offer is available); the catalogue
locks what the decision depends on, asks it, and commits its effects in one linked unit of work,
idempotent by key. :meth:`Catalogue.redeem` locks the member's wallet, then the offer's stock (a
budget row: wallets before budgets, always), checks the offer, reserves the points in a hold and
records the redemption with its stock and per-member counter increments. Whatever resolves the
hold afterwards decides the rest: a capture (:meth:`Catalogue.fulfil`) spends the points; a
release (:meth:`Catalogue.cancel`, a plain ``ledger.release``) or a timeout gives the points,
the stock and the counts back, through the release hook the catalogue registers on its ledger
(:func:`return_stock`). Counters are given back under the keys recorded at redemption, so a
release on a later day returns the count of the day the redemption was made.

An offer whose reward is a coupon (``Offer.coupon``) issues one coupon per unit through the
:class:`~pointkit.features.CouponIssuer` the catalogue is given, on the redemption's own link,
so the coupon exists exactly when the redemption does; the catalogue never imports the coupons
feature. The codes are kept in the redemption's record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, final

import attrs

from pointkit import limits
from pointkit._validate import check_deadline, check_int, type_name
from pointkit._values import MemberId, Money
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    NotReversibleError,
    RedemptionNotFoundError,
    ReversalExceedsOriginalError,
)
from pointkit.features._base import RecordsFeature, money_of, money_text
from pointkit.features._events import RedemptionChanged, emit_event
from pointkit.features._parts import (
    RuleEventRecord,
    record_writer,
)
from pointkit.features._results import (
    Redemption,
    RedemptionRefund,
    RedemptionStatus,
)
from pointkit.ledger import (
    HoldStatus,
    Transaction,
    TransactionId,
    TransactionKind,
)
from pointkit.ledger._envelope import (
    RESERVED_KEY_PREFIX,
    Envelope,
    KeyTaken,
    check_key,
    conflict,
    retrying,
)
from pointkit.ledger._envelope import (
    request as _request,
)
from pointkit.pricing import (
    Offer,
    allocate,
)


if TYPE_CHECKING:
    from collections.abc import Mapping

    from pointkit.features._parts import RecordsReading
    from pointkit.features._rewards import CouponIssuer
    from pointkit.ledger import Hold, Ledger, Linked, WriteUnit


__all__ = ["Catalogue", "return_stock"]


_STATUS = {
    HoldStatus.OPEN: RedemptionStatus.RESERVED,
    HoldStatus.CAPTURED: RedemptionStatus.FULFILLED,
    HoldStatus.RELEASED: RedemptionStatus.CANCELLED,
    HoldStatus.EXPIRED: RedemptionStatus.EXPIRED,
}


def _redemption_record(hold: TransactionId) -> str:
    return f"{RESERVED_KEY_PREFIX}redemption:{hold}"


def _return_record(hold: TransactionId) -> str:
    return f"{RESERVED_KEY_PREFIX}redemption-return:{hold}"


def _refund_record(key: str) -> str:
    return f"{RESERVED_KEY_PREFIX}redemption-refund:{key}"


def _refunded_counter(hold: TransactionId) -> tuple[str, str]:
    return (f"{RESERVED_KEY_PREFIX}refunded:{hold}", "lifetime")


def _check_offer(offer: object) -> Offer:
    if not isinstance(offer, Offer):
        raise ArgumentTypeError(f"offer={offer!r} must be an Offer, not {type_name(offer)}")
    return offer


def _units(total: int, quantity: int, start: int, count: int) -> int:
    """The sum of units ``[start, start + count)`` of *total* split evenly over *quantity*."""
    return sum(allocate(total, [1] * quantity)[start : start + count])


@final
class Catalogue(RecordsFeature):
    """Offers on a ledger: redeem, fulfil, cancel, refund; stock never oversold.

    Making a catalogue registers its release hook on *ledger*
    (:meth:`~pointkit.ledger.Ledger.add_release_hook`), so that every release of a
    redemption's hold on that ledger — a cancel, ``ledger.release``, a timeout in
    ``ledger.expire_due`` — gives the stock and the member's counts back.

    Args:
        ledger: The ledger the points are held and spent on; its storage needs the records part.
        coupons: Issues the coupons of offers whose reward is a coupon (``Offer.coupon``).
    """

    _name = "the catalogue"

    def __init__(self, ledger: Ledger, *, coupons: CouponIssuer | None = None) -> None:
        super().__init__(ledger)
        self._coupons = coupons
        ledger.add_release_hook("catalogue", self._released)

    def _released(self, unit: WriteUnit, hold: Hold, now: datetime) -> None:
        """The release hook: give the stock and counts back, and revoke the coupons it issued."""
        codes = return_stock(unit, hold, now)
        if self._coupons is not None:
            for code in codes:
                self._coupons.revoke_in(unit, code, now=now)

    def redeem(
        self,
        member: str,
        offer: Offer,
        *,
        key: str,
        option: str = "points",
        quantity: int = 1,
        points: int | None = None,
        tier: str | None = None,
        segments: Iterable[str] | None = None,
        timeout_seconds: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Redemption:
        """Redeem *quantity* units of *offer*: reserve the points, take the stock, count the member.

        One unit of work: the member's wallet is locked, then the offer's stock; the offer's
        window, tier gate, segment gate, stock and per-member limits are checked; the points are held until
        the reward is fulfilled (:meth:`fulfil`) or fails
        (:meth:`cancel`); a hold nobody resolves times out after the offer's
        ``hold_timeout_seconds`` and gives everything back. Stock is never oversold, however
        many members redeem at once.

        Args:
            member: The member.
            offer: The offer.
            key: The idempotency key, for example the host's order id.
            option: The price option: ``"points"``, ``"bundle:N"`` or ``"split"``.
            quantity: Units, from 1 to ``limits.OFFER_QUANTITY_MAX``.
            points: For ``option="split"``: the points to use per unit (the most by default).
            tier: The member's tier, for the tier gate and the tier discount.
            segments: The names of the segments the member is in
                (:meth:`pointkit.rules.Segments.of`), for an offer's segment gate; an offer
                with a gate refuses a member whose segments are not given.
            timeout_seconds: How long the hold waits for fulfilment; the offer's by default.
            metadata: Host data kept with the hold's transaction.

        Returns:
            The redemption, ``reserved``.

        Raises:
            InvalidArgumentError: If an argument is invalid, or the option takes no points.
            IdempotencyConflictError: If *key* was used for a different command.
            OfferUnavailableError: If the offer is not open, the tier may not redeem it, the
                member is in none of its segments, it is sold out, or the member reached a
                limit (``reason`` says which).
            InsufficientPointsError: If the member has fewer points available.
        """
        member_id = MemberId(member)
        chosen_offer = _check_offer(offer)
        given: object = segments  # checked at run time whatever the annotation says
        if isinstance(given, str | bytes) or not isinstance(given, Iterable | None):
            raise ArgumentTypeError(
                f"segments={given!r} must be a collection of segment names or None, not "
                f"{type_name(given)}"
            )
        member_segments = None if segments is None else frozenset(segments)
        code = self._ledger.currency(chosen_offer.currency)
        units = check_int(
            "quantity",
            quantity,
            minimum=1,
            maximum=limits.OFFER_QUANTITY_MAX,
            limit_name="OFFER_QUANTITY_MAX",
        )
        chosen = chosen_offer.option(option, tier=tier, points=points)
        if chosen.points == 0:
            raise InvalidArgumentError(
                f"option={option!r} takes no points; the ledger redeems options paid with points"
            )
        seconds = check_int(
            "timeout_seconds",
            chosen_offer.hold_timeout_seconds if timeout_seconds is None else timeout_seconds,
            minimum=1,
            maximum=limits.HOLD_TIMEOUT_SECONDS_MAX,
            limit_name="HOLD_TIMEOUT_SECONDS_MAX",
        )
        total = chosen.points * units
        cash = None if chosen.cash is None else chosen.cash * units
        if chosen_offer.coupon is not None and self._coupons is None:
            raise InvalidArgumentError(
                f"offer={chosen_offer.id!r} rewards coupon {chosen_offer.coupon!r}; make the "
                "catalogue with a coupon issuer: Catalogue(ledger, coupons=...)"
            )
        envelope = Envelope.of(
            "redeem_offer",
            key=key,
            reason=f"offer {chosen_offer.id}",
            metadata=metadata,
            member=member_id,
            offer=chosen_offer.id,
            option=chosen.id,
            quantity=units,
            amount=total,
            cash=money_text(cash),
            currency=code,
            tier=tier,
            timeout_seconds=seconds,
        )

        def attempt() -> Redemption:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                existing = unit.transaction_by_key(envelope.key)
                if existing is not None:
                    return self._replayed_redemption(unit, existing, envelope)
                try:
                    booking = link.booking(envelope.key, code, [member_id])
                except KeyTaken as taken:
                    return self._replayed_redemption(unit, taken.transaction, envelope)
                stock = [] if chosen_offer.stock is None else [chosen_offer.stock_key]
                sold = unit.lock_budgets(stock).get(chosen_offer.stock_key, 0)
                keys = chosen_offer.counter_keys(now)
                counted = unit.counters(member_id, keys)
                chosen_offer.check(
                    now=now,
                    tier=tier,
                    segments=member_segments,
                    quantity=units,
                    sold=sold,
                    used=[counted.get(counter, (0, 0))[1] for counter in keys],
                )
                expires_at = check_deadline("timeout_seconds", now, timedelta(seconds=seconds))
                booking.reserve(member_id, total, expires_at=expires_at)
                plan = envelope.finish(
                    booking,
                    kind=TransactionKind.RESERVE,
                    amount=total,
                    hold=booking.transaction_id,
                    hold_expires_at=expires_at,
                )
                link.post(plan)
                document = {
                    "key": envelope.key,
                    "offer": chosen_offer.id,
                    "option": chosen.id,
                    "quantity": units,
                    "points": total,
                    "cash": money_text(cash),
                    "currency": code,
                    "refund": chosen_offer.refund,
                    "counters": [list(counter) for counter in keys],
                    "stock": stock[0] if stock else None,
                }
                if chosen_offer.coupon is not None and self._coupons is not None:
                    document["coupons"] = [
                        self._coupons.issue_on(
                            link,
                            chosen_offer.coupon,
                            member_id,
                            source=f"redemption:{plan.transaction.id}:{index}",
                        )
                        for index in range(units)
                    ]
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_redemption_record(plan.transaction.id),
                        member=member_id,
                        kind="offer_redemption",
                        at=now,
                        decision=json.dumps(document, sort_keys=True),
                        counters=tuple((counter, 0, units) for counter in keys),
                        budgets=tuple((name, units) for name in stock),
                    )
                )
                emit_event(
                    unit,
                    "redemption.reserved",
                    envelope.key,
                    now,
                    RedemptionChanged(
                        envelope.key, chosen_offer.id, str(member_id), "reserved", units, total,
                        money_text(cash), str(plan.transaction.id),
                    ),
                )  # fmt: skip
            return Redemption(
                key=envelope.key,
                offer=chosen_offer.id,
                member=member_id,
                option=chosen.id,
                quantity=units,
                points=total,
                cash=cash,
                currency=code,
                hold=plan.transaction.id,
                status=RedemptionStatus.RESERVED,
                refunded=0,
                reserved_at=now,
                expires_at=expires_at,
            )

        return retrying(attempt, envelope.request, envelope.key)

    def _replayed_redemption(
        self, unit: RecordsReading, existing: Transaction, envelope: Envelope
    ) -> Redemption:
        if existing.request != envelope.request:
            raise conflict(existing.key, dict(existing.request), dict(envelope.request))
        return attrs.evolve(self._redemption_of(unit, existing), replayed=True)

    def _redemption_of(self, unit: RecordsReading, reserve: Transaction) -> Redemption:
        """The redemption whose hold *reserve* created, as it stands now."""
        stored = unit.rule_event(_redemption_record(reserve.id))
        hold = unit.hold(reserve.id)
        if stored is None or hold is None:
            raise RedemptionNotFoundError(f"redemption={reserve.key!r} is not an offer redemption")
        document = json.loads(stored)
        counted = unit.counters(hold.member, [_refunded_counter(hold.id)])
        return Redemption(
            key=reserve.key,
            offer=document["offer"],
            member=hold.member,
            option=document["option"],
            quantity=document["quantity"],
            points=document["points"],
            cash=money_of(document["cash"]),
            currency=document["currency"],
            hold=hold.id,
            status=_STATUS[hold.status],
            refunded=counted.get(_refunded_counter(hold.id), (0, 0))[1],
            reserved_at=hold.created_at,
            expires_at=hold.expires_at,
        )

    def _reserve_of(self, unit: RecordsReading, redemption: object) -> Transaction:
        name = check_key(redemption)
        reserve = unit.transaction_by_key(name)
        if reserve is None or reserve.kind is not TransactionKind.RESERVE:
            raise RedemptionNotFoundError(f"redemption={name!r} was not recorded")
        return reserve

    def redemption(self, redemption: str) -> Redemption:
        """Return the redemption made under key *redemption*, as it stands now.

        Raises:
            RedemptionNotFoundError: If no offer redemption was made under that key.
        """
        with self._reading() as read:
            unit = self._reader(read)
            return self._redemption_of(unit, self._reserve_of(unit, redemption))

    def fulfil(self, redemption: str, *, key: str) -> Redemption:
        """The reward was delivered: spend the redemption's held points (capture its hold).

        Raises:
            RedemptionNotFoundError: If no offer redemption was made under *redemption*.
            HoldAlreadyReleasedError: If it was cancelled.
            HoldExpiredError: If its hold timed out.
            IdempotencyConflictError: If *key* was used for a different command.
        """
        found = self.redemption(redemption)

        def capture(link: Linked) -> None:
            link.capture(found.hold, key=key, reason=f"offer {found.offer} fulfilled")
            self._settled(link, found, "fulfilled")

        self._ledger.run_linked(capture, key=key)
        return self.redemption(redemption)

    def cancel(self, redemption: str, *, key: str) -> Redemption:
        """The reward failed or was withdrawn: give the points, the stock and the counts back.

        Raises:
            RedemptionNotFoundError: If no offer redemption was made under *redemption*.
            HoldAlreadyCapturedError: If it was fulfilled (refund it instead).
            HoldExpiredError: If its hold timed out (everything went back already).
            IdempotencyConflictError: If *key* was used for a different command.
        """
        found = self.redemption(redemption)

        def release(link: Linked) -> None:
            link.release(found.hold, key=key, reason=f"offer {found.offer} cancelled")
            self._settled(link, found, "cancelled")

        self._ledger.run_linked(release, key=key)
        return self.redemption(redemption)

    @staticmethod
    def _settled(link: Linked, found: Redemption, status: str) -> None:
        """Write the event of a redemption fulfilled or cancelled, in the link's unit."""
        emit_event(
            link.unit,
            f"redemption.{status}",
            found.key,
            link.now,
            RedemptionChanged(
                found.key, found.offer, str(found.member), status, found.quantity, found.points,
                money_text(found.cash), str(found.hold),
            ),
        )  # fmt: skip

    def refund(
        self, redemption: str, offer: Offer, *, key: str, quantity: int | None = None
    ) -> RedemptionRefund:
        """Refund *quantity* units of a fulfilled redemption, as the offer's refund policy says.

        Under ``no_points_back`` no points come back (the cash share is returned for the host
        to refund); under ``original_expiry`` the points go back into the lots they came
        from, keeping their expiry; under ``new_expiry`` they come back as new points expiring
        by the offer's ``refund_expiry`` window (or the ledger's expiry policy). The policy is
        the one recorded when the member redeemed. Partial refunds add up to at most what was
        paid: units are refunded in order, each unit's points and cash its exact share.

        Args:
            redemption: The redemption's key.
            offer: The offer (for its refund expiry window).
            key: The refund's idempotency key.
            quantity: Units to refund; all that are left if omitted.

        Raises:
            RedemptionNotFoundError: If no offer redemption was made under *redemption*.
            NotReversibleError: If it was not fulfilled (cancel it instead).
            ReversalExceedsOriginalError: If *quantity* is more than is left to refund.
            IdempotencyConflictError: If *key* was used for a different refund.
        """
        chosen_offer = _check_offer(offer)
        refund_key = check_key(key)
        wanted = (
            None
            if quantity is None
            else check_int("quantity", quantity, minimum=1, maximum=limits.OFFER_QUANTITY_MAX)
        )
        payload = _request("refund_redemption", redemption=redemption, quantity=wanted)

        def attempt() -> RedemptionRefund:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                reserve = self._reserve_of(unit, redemption)
                found = self._redemption_of(unit, reserve)
                if found.offer != chosen_offer.id:
                    raise InvalidArgumentError(
                        f"offer={chosen_offer.id!r} is not the redeemed offer {found.offer!r}"
                    )
                unit.lock_wallets([(found.member, found.currency)])
                seen = unit.rule_event(_refund_record(refund_key))
                if seen is not None:
                    return self._replayed_offer_refund(unit, refund_key, payload, seen)
                hold = unit.hold(found.hold)
                if hold is None or hold.status is not HoldStatus.CAPTURED:
                    raise NotReversibleError(
                        f"redemption={found.key!r} is {found.status.value}, not fulfilled; "
                        "only a fulfilled redemption is refunded (cancel a reserved one)"
                    )
                counted = unit.counters(found.member, [_refunded_counter(hold.id)])
                done = counted.get(_refunded_counter(hold.id), (0, 0))[1]
                left = found.quantity - done
                units = left if wanted is None else wanted
                if units == 0 or units > left:
                    raise ReversalExceedsOriginalError(
                        f"quantity={units} is more than the {left} units left to refund of "
                        f"redemption={found.key!r}"
                    )
                document = json.loads(unit.rule_event(_redemption_record(hold.id)) or "{}")
                policy = str(document["refund"])
                points = _units(hold.captured, found.quantity, done, units)
                cash = None
                if found.cash is not None:
                    minor = _units(found.cash.minor_units, found.quantity, done, units)
                    cash = Money.from_minor_units(minor, found.cash.currency)
                transaction = None
                if policy != "no_points_back" and points > 0 and hold.resolved_by is not None:
                    reissue_at = None
                    if policy == "new_expiry":
                        reissue_at = self._refund_expiry(chosen_offer, found.currency, now)
                    envelope = Envelope(
                        refund_key,
                        payload,
                        f"refund of offer {found.offer}",
                        (("offer", found.offer), ("redemption", found.key)),
                    )
                    plan = link.plan_reversal(
                        envelope,
                        hold.resolved_by,
                        points,
                        clawback=self._ledger.policy.clawback,
                        restore="reissue" if policy == "new_expiry" else "original_expiry",
                        reissue_at=reissue_at,
                    )
                    transaction = link.post(plan)
                returned = points if transaction is not None else 0
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_refund_record(refund_key),
                        member=found.member,
                        kind="offer_refund",
                        at=now,
                        decision=json.dumps(
                            {
                                "request": [list(pair) for pair in payload],
                                "redemption": found.key,
                                "quantity": units,
                                "points": returned,
                                "cash": money_text(cash),
                                "policy": policy,
                                "transaction": None if transaction is None else str(transaction.id),
                            },
                            sort_keys=True,
                        ),
                        counters=((_refunded_counter(hold.id), 0, units),),
                    )
                )
                emit_event(
                    unit,
                    "redemption.refunded",
                    refund_key,
                    now,
                    RedemptionChanged(
                        found.key, found.offer, str(found.member), "refunded", units, returned,
                        money_text(cash), str(hold.id),
                    ),
                )  # fmt: skip
            return RedemptionRefund(
                key=refund_key,
                redemption=found.key,
                quantity=units,
                points=returned,
                cash=cash,
                policy=policy,
                transaction=transaction,
            )

        return retrying(attempt, payload, refund_key)

    def _refund_expiry(self, offer: Offer, currency: str, now: datetime) -> datetime | None:
        if offer.refund_expiry is not None and offer.zone is not None:
            return offer.refund_expiry.expires_at(now, offer.zone)
        if self._ledger.expiry is not None:
            return self._ledger.expiry.window_for(currency).expires_at(
                now, self._ledger.expiry.zone
            )
        return None

    def _replayed_offer_refund(
        self, unit: RecordsReading, key: str, payload: tuple[tuple[str, str], ...], seen: str
    ) -> RedemptionRefund:
        document = json.loads(seen)
        stored = tuple(tuple(pair) for pair in document["request"])
        if stored != payload:
            raise conflict(key, dict(stored), dict(payload))
        transaction = None
        if document["transaction"] is not None:
            transaction = unit.transaction_by_key(key)
        return RedemptionRefund(
            key=key,
            redemption=document["redemption"],
            quantity=document["quantity"],
            points=document["points"],
            cash=money_of(document["cash"]),
            policy=document["policy"],
            transaction=None if transaction is None else attrs.evolve(transaction, replayed=True),
            replayed=True,
        )

    def sold(self, offer: Offer) -> int | None:
        """How many units of *offer*'s stock are taken now (reserved or fulfilled).

        ``None`` for an offer with unlimited stock: its redemptions take no stock row, so that
        they do not all wait on one.
        """
        chosen = _check_offer(offer)
        if chosen.stock is None:
            return None
        with self._reading() as read:
            unit = self._reader(read)
            return unit.budgets([chosen.stock_key]).get(chosen.stock_key, 0)

    # -- conversions -----------------------------------------------------------------------


def return_stock(unit: WriteUnit, hold: Hold, now: datetime) -> tuple[str, ...]:
    """Give back the stock and counts of the redemption whose hold is being released.

    The catalogue's release hook runs it: the ledger calls the hook from every path that
    releases a hold (release, timeout); a hold that is not an offer redemption's has no record
    and nothing happens.

    Returns:
        The codes of the coupons the redemption issued, for the hook to revoke.
    """
    records = record_writer(unit, "the catalogue")
    stored = records.rule_event(_redemption_record(hold.id))
    if stored is None:
        return ()
    document = json.loads(stored)
    units = int(document["quantity"])
    records.save_rule_event(
        RuleEventRecord(
            event_id=_return_record(hold.id),
            member=hold.member,
            kind="offer_return",
            at=now,
            decision=json.dumps({"hold": str(hold.id), "quantity": units}),
            counters=tuple(
                ((str(scope), str(period)), 0, -units) for scope, period in document["counters"]
            ),
            budgets=() if document["stock"] is None else ((str(document["stock"]), -units),),
        )
    )
    return tuple(str(code) for code in document.get("coupons", ()))
