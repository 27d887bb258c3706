"""The ledger's catalogue, exchange and lottery commands: pricing decisions, committed once.

Maintainer's notes
------------------
:mod:`pointkit.pricing` decides (which option, whether an offer is available, what a
conversion credits, which prize a value selects); these commands lock what the decision
depends on, ask it, and commit its effects in one unit of work, idempotent by key:

* ``redeem_offer`` locks the member's wallet, then the offer's stock (a budget row: wallets
  before budgets, always), checks the offer, reserves the points in a hold and records the
  redemption with its stock and per-member counter increments. Whatever resolves the hold
  afterwards decides the rest: a capture (``fulfil_redemption``) spends the points; a release
  (``cancel_redemption``, or a plain ``release``) or a timeout gives the points, the stock and
  the counts back, through :meth:`CommerceCommands._return_stock`, which the ledger calls
  from every release path. Counters are given back under the keys recorded at redemption, so
  a release on a later day returns the count of the day the redemption was made.
* ``convert`` locks both of the member's wallets and commits two linked transactions, as
  TigerBeetle and pgledger do for currency exchange: one in the source currency (the member's
  points into the source's clearing account, the fee into redemption) and one in the target
  currency (out of the target's clearing account into a new lot). Each balances in its own
  currency; both commit or neither does.
* ``draw`` locks the member's wallet, then the lottery's stock rows, reads the pity counter,
  builds the exact odds, draws one integer from the random source and commits the debit (and
  a points prize) as one ``draw`` transaction, with the stock, pity, daily count and nonce
  updates and the draw's record.

These records, counters and budgets go through the same storage protocol as earning rules'
(``save_rule_event``, ``counters``, ``lock_budgets``), under reserved ``pointkit:`` names.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit._values import MemberId, Money
from pointkit.exceptions import (
    ArgumentTypeError,
    DrawNotFoundError,
    InvalidArgumentError,
    InvariantViolation,
    NotReversibleError,
    RedemptionNotFoundError,
    ReversalExceedsOriginalError,
)
from pointkit.ledger._booking import Booking
from pointkit.ledger._command import (
    RESERVED_KEY_PREFIX,
    Envelope,
    KeyTaken,
    check_key,
    conflict,
    request,
    retrying,
)
from pointkit.ledger._records import (
    AccountKind,
    ConversionResult,
    DrawResult,
    HoldStatus,
    Redemption,
    RedemptionRefund,
    RedemptionStatus,
    TransactionKind,
    transaction_id_for,
)
from pointkit.ledger._storage import RuleEventRecord
from pointkit.pricing import (
    ConversionQuote,
    DrawRecord,
    Exchange,
    Lottery,
    Offer,
    ProvablyFair,
    RandomSource,
    SecretsRandom,
    allocate,
)


if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pointkit._values import ProgramId
    from pointkit.expiry import ExpiryPolicy
    from pointkit.ledger._records import (
        ClawbackPolicy,
        Hold,
        LedgerPolicy,
        LotId,
        RestorePolicy,
        Transaction,
        TransactionId,
    )
    from pointkit.ledger._storage import Plan, ReadUnit, Storage, WriteUnit
    from pointkit.pricing import Disclosure, Odds


__all__ = ["CommerceCommands"]


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


def _conversion_record(key: str) -> str:
    return f"{RESERVED_KEY_PREFIX}conversion:{key}"


def _conversion_credit_key(key: str) -> str:
    return f"{RESERVED_KEY_PREFIX}conversion-credit:{key}"


def _draw_record(draw_id: str) -> str:
    return f"{RESERVED_KEY_PREFIX}draw:{draw_id}"


def _nonce_counter(fair: ProvablyFair) -> tuple[str, str]:
    return (f"{RESERVED_KEY_PREFIX}fair:{fair.commitment}:{fair.client_seed}", "lifetime")


def _check_offer(offer: object) -> Offer:
    if not isinstance(offer, Offer):
        raise ArgumentTypeError(f"offer={offer!r} must be an Offer, not {type_name(offer)}")
    return offer


def _check_lottery(lottery: object) -> Lottery:
    if not isinstance(lottery, Lottery):
        raise ArgumentTypeError(f"lottery={lottery!r} must be a Lottery, not {type_name(lottery)}")
    return lottery


def _money_text(money: Money | None) -> str | None:
    return None if money is None else str(money)


def _money_of(text: object) -> Money | None:
    if text is None:
        return None
    amount, code = str(text).split(" ")
    return Money(amount, code)


def _units(total: int, quantity: int, start: int, count: int) -> int:
    """The sum of units ``[start, start + count)`` of *total* split evenly over *quantity*."""
    return sum(allocate(total, [1] * quantity)[start : start + count])


class CommerceCommands:
    """Offers, conversions and lottery draws: the :class:`~pointkit.ledger.Ledger` commands.

    A mixin of :class:`~pointkit.ledger.Ledger`; see its documentation.
    """

    if TYPE_CHECKING:
        _storage: Storage
        _program: ProgramId
        _policy: LedgerPolicy
        _expiry: ExpiryPolicy | None

        def _now(self) -> datetime: ...

        def _currency(self, currency: object) -> str: ...

        def _booking(
            self,
            unit: WriteUnit,
            key: str,
            currency: str,
            now: datetime,
            members: Sequence[MemberId],
            lot_ids: Sequence[LotId] = (),
        ) -> Booking: ...

        def _plan_reversal(
            self,
            unit: WriteUnit,
            now: datetime,
            envelope: Envelope,
            original_id: TransactionId,
            points: int | None,
            *,
            clawback: ClawbackPolicy,
            restore: RestorePolicy,
            reissue_at: datetime | None,
        ) -> Plan: ...

        def capture(
            self,
            hold: TransactionId | str,
            amount: int | None = None,
            *,
            key: str,
            reason: str | None = None,
            metadata: Mapping[str, str] | None = None,
        ) -> Transaction: ...

        def release(
            self,
            hold: TransactionId | str,
            *,
            key: str,
            reason: str | None = None,
            metadata: Mapping[str, str] | None = None,
        ) -> Transaction: ...

    def _fresh_lot(
        self, booking: Booking, member: MemberId, amount: int, source: AccountKind, now: datetime
    ) -> None:
        """Credit *amount* as a new lot that expires as the ledger's policy says for its currency."""
        expires_at, follows = None, False
        if self._expiry is not None:
            window = self._expiry.window_for(booking.currency)
            expires_at = window.expires_at(now, self._expiry.zone)
            follows = window.follows_activity
        booking.credit(
            member,
            amount,
            source=source,
            available_at=now,
            expires_at=expires_at,
            follows_activity=follows,
        )

    # -- offers -------------------------------------------------------------------------------

    def redeem_offer(
        self,
        member: str,
        offer: Offer,
        *,
        key: str,
        option: str = "points",
        quantity: int = 1,
        points: int | None = None,
        tier: str | None = None,
        timeout_seconds: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Redemption:
        """Redeem *quantity* units of *offer*: reserve the points, take the stock, count the member.

        One unit of work: the member's wallet is locked, then the offer's stock; the offer's
        window, tier gate, stock and per-member limits are checked; the points are held until
        the reward is fulfilled (:meth:`fulfil_redemption`) or fails
        (:meth:`cancel_redemption`); a hold nobody resolves times out after the offer's
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
            timeout_seconds: How long the hold waits for fulfilment; the offer's by default.
            metadata: Host data kept with the hold's transaction.

        Returns:
            The redemption, ``reserved``.

        Raises:
            InvalidArgumentError: If an argument is invalid, or the option takes no points.
            IdempotencyConflictError: If *key* was used for a different command.
            OfferUnavailableError: If the offer is not open, the tier may not redeem it, it is
                sold out, or the member reached a limit (``reason`` says which).
            InsufficientPointsError: If the member has fewer points available.
        """
        member_id = MemberId(member)
        chosen_offer = _check_offer(offer)
        code = self._currency(chosen_offer.currency)
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
            cash=_money_text(cash),
            currency=code,
            tier=tier,
            timeout_seconds=seconds,
        )

        def attempt() -> Redemption:
            now = self._now()
            with self._storage.writing(self._program) as unit:
                existing = unit.transaction_by_key(envelope.key)
                if existing is not None:
                    return self._replayed_redemption(unit, existing, envelope)
                try:
                    booking = self._booking(unit, envelope.key, code, now, [member_id])
                except KeyTaken as taken:
                    return self._replayed_redemption(unit, taken.transaction, envelope)
                stock = [] if chosen_offer.stock is None else [chosen_offer.stock_key]
                sold = unit.lock_budgets(stock).get(chosen_offer.stock_key, 0)
                keys = chosen_offer.counter_keys(now)
                counted = unit.counters(member_id, keys)
                chosen_offer.check(
                    now=now,
                    tier=tier,
                    quantity=units,
                    sold=sold,
                    used=[counted.get(counter, (0, 0))[1] for counter in keys],
                )
                expires_at = now + timedelta(seconds=seconds)
                booking.reserve(member_id, total, expires_at=expires_at)
                plan = envelope.finish(
                    booking,
                    kind=TransactionKind.RESERVE,
                    amount=total,
                    hold=booking.transaction_id,
                    hold_expires_at=expires_at,
                )
                unit.apply(plan)
                document = {
                    "key": envelope.key,
                    "offer": chosen_offer.id,
                    "option": chosen.id,
                    "quantity": units,
                    "points": total,
                    "cash": _money_text(cash),
                    "currency": code,
                    "refund": chosen_offer.refund,
                    "counters": [list(counter) for counter in keys],
                    "stock": stock[0] if stock else None,
                }
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
        self, unit: ReadUnit, existing: Transaction, envelope: Envelope
    ) -> Redemption:
        if existing.request != envelope.request:
            raise conflict(existing.key, dict(existing.request), dict(envelope.request))
        return attrs.evolve(self._redemption_of(unit, existing), replayed=True)

    def _redemption_of(self, unit: ReadUnit, reserve: Transaction) -> Redemption:
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
            cash=_money_of(document["cash"]),
            currency=document["currency"],
            hold=hold.id,
            status=_STATUS[hold.status],
            refunded=counted.get(_refunded_counter(hold.id), (0, 0))[1],
            reserved_at=hold.created_at,
            expires_at=hold.expires_at,
        )

    def _reserve_of(self, unit: ReadUnit, redemption: object) -> Transaction:
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
        with self._storage.reading(self._program) as unit:
            return self._redemption_of(unit, self._reserve_of(unit, redemption))

    def fulfil_redemption(self, redemption: str, *, key: str) -> Redemption:
        """The reward was delivered: spend the redemption's held points (capture its hold).

        Raises:
            RedemptionNotFoundError: If no offer redemption was made under *redemption*.
            HoldAlreadyReleasedError: If it was cancelled.
            HoldExpiredError: If its hold timed out.
            IdempotencyConflictError: If *key* was used for a different command.
        """
        found = self.redemption(redemption)
        self.capture(found.hold, key=key, reason=f"offer {found.offer} fulfilled")
        return self.redemption(redemption)

    def cancel_redemption(self, redemption: str, *, key: str) -> Redemption:
        """The reward failed or was withdrawn: give the points, the stock and the counts back.

        Raises:
            RedemptionNotFoundError: If no offer redemption was made under *redemption*.
            HoldAlreadyCapturedError: If it was fulfilled (refund it instead).
            HoldExpiredError: If its hold timed out (everything went back already).
            IdempotencyConflictError: If *key* was used for a different command.
        """
        found = self.redemption(redemption)
        self.release(found.hold, key=key, reason=f"offer {found.offer} cancelled")
        return self.redemption(redemption)

    def _return_stock(self, unit: WriteUnit, hold: Hold, now: datetime) -> None:
        """Give back the stock and counts of the redemption whose hold is being released.

        Called by every path that releases a hold (release, timeout); a hold that is not an
        offer redemption's has no record and nothing happens.
        """
        stored = unit.rule_event(_redemption_record(hold.id))
        if stored is None:
            return
        document = json.loads(stored)
        units = int(document["quantity"])
        unit.save_rule_event(
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

    def refund_redemption(
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
        payload = request("refund_redemption", redemption=redemption, quantity=wanted)

        def attempt() -> RedemptionRefund:
            now = self._now()
            with self._storage.writing(self._program) as unit:
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
                    plan = self._plan_reversal(
                        unit,
                        now,
                        envelope,
                        hold.resolved_by,
                        points,
                        clawback=self._policy.clawback,
                        restore="reissue" if policy == "new_expiry" else "original_expiry",
                        reissue_at=reissue_at,
                    )
                    unit.apply(plan)
                    transaction = plan.transaction
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
                                "cash": _money_text(cash),
                                "policy": policy,
                                "transaction": None if transaction is None else str(transaction.id),
                            },
                            sort_keys=True,
                        ),
                        counters=((_refunded_counter(hold.id), 0, units),),
                    )
                )
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
        if self._expiry is not None:
            return self._expiry.window_for(currency).expires_at(now, self._expiry.zone)
        return None

    def _replayed_offer_refund(
        self, unit: ReadUnit, key: str, payload: tuple[tuple[str, str], ...], seen: str
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
            cash=_money_of(document["cash"]),
            policy=document["policy"],
            transaction=None if transaction is None else attrs.evolve(transaction, replayed=True),
            replayed=True,
        )

    def offer_sold(self, offer: Offer) -> int | None:
        """How many units of *offer*'s stock are taken now (reserved or fulfilled).

        ``None`` for an offer with unlimited stock: its redemptions take no stock row, so that
        they do not all wait on one.
        """
        chosen = _check_offer(offer)
        if chosen.stock is None:
            return None
        with self._storage.reading(self._program) as unit:
            return unit.budgets([chosen.stock_key]).get(chosen.stock_key, 0)

    # -- conversions -----------------------------------------------------------------------

    def convert(
        self,
        member: str,
        exchange: Exchange,
        conversion: str,
        points: int,
        *,
        key: str,
        dry_run: bool = False,
    ) -> ConversionResult:
        """Convert *points* of *member*'s source currency with *exchange*'s *conversion*.

        One unit of work, two linked transactions (see :class:`ConversionResult`); the points
        credited in the target currency expire as the ledger's expiry policy says for it.
        Conversions are final: neither transaction can be reversed.

        Args:
            member: The member.
            exchange: The program's exchange (checked to mint no points by round trips).
            conversion: The conversion's id.
            points: Source points the member offers; they convert in whole blocks.
            key: The idempotency key.
            dry_run: Quote against the member's usage this period, and write nothing.

        Raises:
            InvalidArgumentError: If an argument is invalid or converts below the minimum.
            UnknownCurrencyError: If the ledger holds neither currency of the conversion.
            ConversionRefusedError: If the conversion is disabled or over the member's
                maximum for the period.
            InsufficientPointsError: If the member has fewer points than it debits.
            IdempotencyConflictError: If *key* was used for a different command.
        """
        member_id = MemberId(member)
        if not isinstance(exchange, Exchange):
            raise ArgumentTypeError(
                f"exchange={exchange!r} must be an Exchange, not {type_name(exchange)}"
            )
        rule = exchange.conversion(conversion)
        source, target = self._currency(rule.source), self._currency(rule.target)
        amount = check_int("points", points, minimum=1, maximum=limits.POINTS_MAX)
        envelope = Envelope.of(
            "convert",
            key=key,
            reason=f"conversion {rule.id}",
            metadata=None,
            member=member_id,
            conversion=rule.id,
            points=amount,
        )
        if dry_run:
            now = self._now()
            with self._storage.reading(self._program) as unit:
                used = self._converted(unit, member_id, rule.counter_key(now))
            return ConversionResult(rule.quote(amount, used=used), None, None, dry_run=True)

        def attempt() -> ConversionResult:
            now = self._now()
            with self._storage.writing(self._program) as unit:
                existing = unit.transaction_by_key(envelope.key)
                if existing is not None:
                    return self._replayed_conversion(unit, existing, envelope)
                wallets = unit.lock_wallets(sorted({(member_id, source), (member_id, target)}))
                taken = unit.transaction_by_key(envelope.key)
                if taken is not None:
                    return self._replayed_conversion(unit, taken, envelope)
                counter = rule.counter_key(now)
                quote = rule.quote(amount, used=self._converted(unit, member_id, counter))
                debit = Booking(
                    transaction_id=transaction_id_for(envelope.key, now),
                    key=envelope.key,
                    currency=source,
                    now=now,
                    wallets={(member_id, source): wallets[(member_id, source)]},
                    open_lots=unit.open_lots,
                )
                debit.redeem_parts(
                    member_id,
                    ((AccountKind.CLEARING, quote.converted), (AccountKind.REDEMPTION, quote.fee)),
                )
                out = envelope.finish(debit, kind=TransactionKind.CONVERSION, amount=quote.debited)
                credit_key = _conversion_credit_key(envelope.key)
                credit = Booking(
                    transaction_id=transaction_id_for(credit_key, now),
                    key=credit_key,
                    currency=target,
                    now=now,
                    wallets={(member_id, target): wallets[(member_id, target)]},
                    open_lots=unit.open_lots,
                )
                self._fresh_lot(credit, member_id, quote.credited, AccountKind.CLEARING, now)
                into = Envelope(
                    credit_key,
                    request("convert_credit", conversion=rule.id, key=envelope.key),
                    envelope.reason,
                    (("conversion", rule.id),),
                ).finish(credit, kind=TransactionKind.CONVERSION, amount=quote.credited)
                unit.apply(out)
                unit.apply(into)
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_conversion_record(envelope.key),
                        member=member_id,
                        kind="conversion",
                        at=now,
                        decision=json.dumps(_quote_document(quote), sort_keys=True),
                        counters=() if counter is None else ((counter, quote.converted, 1),),
                    )
                )
            return ConversionResult(quote, out.transaction, into.transaction)

        return retrying(attempt, envelope.request, envelope.key)

    @staticmethod
    def _converted(unit: ReadUnit, member: MemberId, counter: tuple[str, str] | None) -> int:
        if counter is None:
            return 0
        return unit.counters(member, [counter]).get(counter, (0, 0))[0]

    def _replayed_conversion(
        self, unit: ReadUnit, existing: Transaction, envelope: Envelope
    ) -> ConversionResult:
        if existing.request != envelope.request:
            raise conflict(existing.key, dict(existing.request), dict(envelope.request))
        stored = unit.rule_event(_conversion_record(existing.key))
        credit = unit.transaction_by_key(_conversion_credit_key(existing.key))
        if stored is None or credit is None:  # pragma: no cover - written in one unit
            raise InvariantViolation(f"conversion {existing.key!r} lost its record or its credit")
        return ConversionResult(
            _quote_of(json.loads(stored)),
            attrs.evolve(existing, replayed=True),
            attrs.evolve(credit, replayed=True),
            replayed=True,
        )

    # -- lotteries -------------------------------------------------------------------------

    def draw(
        self,
        member: str,
        lottery: Lottery,
        *,
        draw_id: str,
        minor: bool,
        random: RandomSource | ProvablyFair | None = None,
    ) -> DrawResult:
        """Draw once: take the cost, pick a prize with the exact odds, record it all, once.

        One unit of work: the member's wallet is locked, then the lottery's stock rows; the
        window, the minors gate and the daily limit are checked; the odds are built from the
        table, the stock left and the member's pity counter; one integer is drawn from
        *random*; the cost (and a points prize) post as one ``draw`` transaction with the
        stock, pity, daily count and the draw's record. Sending the same *draw_id* again
        returns the recorded draw and draws nothing.

        Args:
            member: The member.
            lottery: The lottery.
            draw_id: The draw's id: its idempotency key.
            minor: Whether the host knows the member to be a minor (refused while the lottery
                blocks minors). Required, so that nobody forgets to ask.
            random: Where the randomness comes from: the OS's CSPRNG by default; a
                :class:`~pointkit.pricing.ProvablyFair` for commit-reveal draws, numbered per
                member and seed pair; a seeded source only in tests.

        Raises:
            InvalidArgumentError: If an argument is invalid.
            DrawRefusedError: If the lottery is not open, the member is a minor it blocks, or
                the member reached the daily limit (``reason`` says which).
            InsufficientPointsError: If the member has fewer points than a draw costs.
            IdempotencyConflictError: If *draw_id* was used for a different command.
        """
        member_id = MemberId(member)
        chosen = _check_lottery(lottery)
        code = self._currency(chosen.currency)
        if not isinstance(minor, bool):
            raise ArgumentTypeError(f"minor={minor!r} must be a bool, not {type_name(minor)}")
        source: RandomSource | ProvablyFair = SecretsRandom() if random is None else random
        # A duck-typed check: isinstance against a runtime-checkable protocol costs more
        # than the rest of the draw's pure part.
        if not isinstance(source, ProvablyFair) and not callable(getattr(source, "below", None)):
            raise ArgumentTypeError(
                f"random={random!r} must be a RandomSource or a ProvablyFair, "
                f"not {type_name(random)}"
            )
        envelope = Envelope.of(
            "draw",
            key=draw_id,
            reason=f"lottery {chosen.id}",
            metadata=None,
            member=member_id,
            lottery=chosen.id,
            cost=chosen.cost,
            table=chosen.table_hash,
        )

        def attempt() -> DrawResult:
            now = self._now()
            with self._storage.writing(self._program) as unit:
                try:
                    booking = self._booking(unit, envelope.key, code, now, [member_id])
                except KeyTaken as taken:
                    return self._replayed_draw(unit, taken.transaction, envelope)
                daily, pity_key = chosen.daily_key(now), chosen.pity_key
                keys = [
                    counter
                    for counter in (
                        daily,
                        pity_key,
                        _nonce_counter(source) if isinstance(source, ProvablyFair) else None,
                    )
                    if counter is not None
                ]
                counted = unit.counters(member_id, keys)
                today = 0 if daily is None else counted.get(daily, (0, 0))[1]
                chosen.check_draw(now=now, minor=minor, draws_today=today)
                stock = {chosen.stock_key(prize.id): prize.id for prize in chosen.limited}
                locked = unit.lock_budgets(sorted(stock))
                sold = {prize: locked.get(name, 0) for name, prize in stock.items()}
                before = 0 if pity_key is None else counted.get(pity_key, (0, 0))[1]
                odds = chosen.odds(sold=sold, pity=before)
                proof = None
                if isinstance(source, ProvablyFair):
                    nonce = counted.get(_nonce_counter(source), (0, 0))[1]
                    proof = source.draw(nonce=nonce, bound=odds.total)
                    value = proof.value
                else:
                    value = source.below(odds.total)
                prize = chosen.prize(odds.pick(value))
                booking.redeem(member_id, chosen.cost, into=AccountKind.LOTTERY)
                if prize.points:
                    self._fresh_lot(booking, member_id, prize.points, AccountKind.LOTTERY, now)
                plan = envelope.finish(booking, kind=TransactionKind.DRAW, amount=chosen.cost)
                unit.apply(plan)
                after = chosen.pity_after(before, prize.id)
                record = DrawRecord(
                    draw_id=envelope.key,
                    lottery=chosen.id,
                    member=str(member_id),
                    at=now,
                    cost=chosen.cost,
                    prize=prize.id,
                    kind=prize.kind,
                    points_back=prize.points,
                    table_hash=chosen.table_hash,
                    odds=tuple(zip(odds.prizes, odds.weights, strict=True)),
                    value=value,
                    pity_before=before,
                    pity_after=after,
                    fairness=proof,
                    transaction=str(plan.transaction.id),
                )
                counters: list[tuple[tuple[str, str], int, int]] = []
                if daily is not None:
                    counters.append((daily, 0, 1))
                if pity_key is not None and after != before:
                    counters.append((pity_key, 0, after - before))
                if isinstance(source, ProvablyFair):
                    counters.append((_nonce_counter(source), 0, 1))
                won = chosen.stock_key(prize.id)
                unit.save_rule_event(
                    RuleEventRecord(
                        event_id=_draw_record(envelope.key),
                        member=member_id,
                        kind="lottery_draw",
                        at=now,
                        decision=record.to_json(),
                        counters=tuple(counters),
                        budgets=((won, 1),) if won in stock else (),
                    )
                )
            return DrawResult(record, plan.transaction)

        return retrying(attempt, envelope.request, envelope.key)

    def _replayed_draw(
        self, unit: ReadUnit, existing: Transaction, envelope: Envelope
    ) -> DrawResult:
        if existing.request != envelope.request:
            raise conflict(existing.key, dict(existing.request), dict(envelope.request))
        stored = unit.rule_event(_draw_record(existing.key))
        if stored is None:  # pragma: no cover - written in one unit
            raise InvariantViolation(f"draw {existing.key!r} lost its record")
        return DrawResult(
            DrawRecord.from_dict(json.loads(stored)),
            attrs.evolve(existing, replayed=True),
            replayed=True,
        )

    def draw_record(self, draw_id: str) -> DrawRecord:
        """Return the record of the draw *draw_id*.

        Raises:
            DrawNotFoundError: If no draw was recorded under that id.
        """
        name = check_key(draw_id)
        with self._storage.reading(self._program) as unit:
            stored = unit.rule_event(_draw_record(name))
        if stored is None:
            raise DrawNotFoundError(f"draw_id={name!r} was not recorded")
        return DrawRecord.from_dict(json.loads(stored))

    def lottery_sold(self, lottery: Lottery) -> dict[str, int]:
        """Units won so far of each of *lottery*'s prizes with stock."""
        chosen = _check_lottery(lottery)
        names = {chosen.stock_key(prize.id): prize.id for prize in chosen.limited}
        with self._storage.reading(self._program) as unit:
            used = unit.budgets(sorted(names))
        return {prize: used.get(name, 0) for name, prize in names.items()}

    def disclosure(self, lottery: Lottery) -> Disclosure:
        """*lottery*'s odds table as it stands now, with the stock left: publish it."""
        return _check_lottery(lottery).disclosure(sold=self.lottery_sold(lottery))

    def pity(self, member: str, lottery: Lottery) -> int:
        """*member*'s pity counter on *lottery*: draws since it last reset (0 without pity)."""
        chosen = _check_lottery(lottery)
        member_id = MemberId(member)
        if chosen.pity_key is None:
            return 0
        with self._storage.reading(self._program) as unit:
            return unit.counters(member_id, [chosen.pity_key]).get(chosen.pity_key, (0, 0))[1]

    def draw_odds(self, member: str, lottery: Lottery) -> Odds:
        """The exact odds *member*'s next draw on *lottery* would use now (a dry run)."""
        chosen = _check_lottery(lottery)
        return chosen.odds(sold=self.lottery_sold(chosen), pity=self.pity(member, chosen))

    # -- liability -------------------------------------------------------------------------

    def outstanding(self, currency: str | None = None) -> tuple[tuple[datetime | None, int], ...]:
        """Every instant open points expire at, with how many: the input of a liability report.

        Open points are the lots' remaining points, held ones included (a hold is not yet a
        redemption). Pairs come soonest first, ``None`` (never) last. This reads every lot
        of the program: run it from a reporting job.
        """
        code = self._currency(currency)
        totals: dict[datetime | None, int] = {}
        with self._storage.reading(self._program) as unit:
            for lot in unit.all_lots():
                if lot.currency == code and lot.remaining > 0:
                    totals[lot.expires_at] = totals.get(lot.expires_at, 0) + lot.remaining
        return tuple(sorted(totals.items(), key=lambda item: (item[0] is None, item[0] or _EPOCH)))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _quote_document(quote: ConversionQuote) -> dict[str, Any]:
    """A quote as JSON-ready data: exact fractions and money as strings."""
    return {
        **attrs.asdict(quote),
        "truncated": str(quote.truncated),
        "effective_ratio": str(quote.effective_ratio),
        "cash_fee": _money_text(quote.cash_fee),
    }


def _quote_of(document: Mapping[str, Any]) -> ConversionQuote:
    """The quote :func:`_quote_document` wrote."""
    return ConversionQuote(
        **{
            **document,
            "truncated": Fraction(document["truncated"]),
            "effective_ratio": Fraction(document["effective_ratio"]),
            "cash_fee": _money_of(document["cash_fee"]),
        }
    )
