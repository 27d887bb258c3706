"""Conversions between point currencies: two linked transactions through clearing accounts.

Maintainer's notes
------------------
:meth:`Conversions.convert` locks both of the member's wallets and commits two transactions,
as TigerBeetle and pgledger do for currency exchange: one in the source currency (the member's
points into the source's clearing account, the fee into redemption) and one in the target
currency (out of the target's clearing account into a new lot). Each balances in its own
currency; both commit or neither does, with the conversion's record and period counter.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import TYPE_CHECKING, Any, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit._values import MemberId
from pointkit.exceptions import (
    ArgumentTypeError,
    InvariantViolation,
)
from pointkit.features._base import RecordsFeature, money_of, money_text
from pointkit.features._events import ConversionDone, emit_event
from pointkit.features._parts import (
    RuleEventRecord,
)
from pointkit.features._results import (
    ConversionResult,
)
from pointkit.ledger import (
    AccountKind,
    Transaction,
    TransactionKind,
)
from pointkit.ledger._envelope import (
    RESERVED_KEY_PREFIX,
    Envelope,
    conflict,
    retrying,
)
from pointkit.ledger._envelope import (
    request as _request,
)
from pointkit.pricing import (
    ConversionQuote,
    Exchange,
)


if TYPE_CHECKING:
    from collections.abc import Mapping

    from pointkit.features._parts import RecordsReading


__all__ = ["Conversions"]


def _conversion_record(key: str) -> str:
    return f"{RESERVED_KEY_PREFIX}conversion:{key}"


def _conversion_credit_key(key: str) -> str:
    return f"{RESERVED_KEY_PREFIX}conversion-credit:{key}"


@final
class Conversions(RecordsFeature):
    """Conversions between a ledger's point currencies, under an exchange's declared rates.

    Args:
        ledger: The ledger holding both currencies; its storage needs the records part.
    """

    _name = "the exchange"

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
        source, target = self._ledger.currency(rule.source), self._ledger.currency(rule.target)
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
            with self._reading() as read:
                unit = self._reader(read)
                used = self._converted(unit, member_id, rule.counter_key(now))
            return ConversionResult(rule.quote(amount, used=used), None, None, dry_run=True)

        def attempt() -> ConversionResult:
            with self._ledger.linked() as link:
                unit, now = self._writer(link), link.now
                existing = unit.transaction_by_key(envelope.key)
                if existing is not None:
                    return self._replayed_conversion(unit, existing, envelope)
                wallets = unit.lock_wallets(sorted({(member_id, source), (member_id, target)}))
                taken = unit.transaction_by_key(envelope.key)
                if taken is not None:
                    return self._replayed_conversion(unit, taken, envelope)
                counter = rule.counter_key(now)
                quote = rule.quote(amount, used=self._converted(unit, member_id, counter))
                debit = link.booking_on(
                    envelope.key, source, {(member_id, source): wallets[(member_id, source)]}
                )
                debit.redeem_parts(
                    member_id,
                    ((AccountKind.CLEARING, quote.converted), (AccountKind.REDEMPTION, quote.fee)),
                )
                out = envelope.finish(debit, kind=TransactionKind.CONVERSION, amount=quote.debited)
                credit_key = _conversion_credit_key(envelope.key)
                credit = link.booking_on(
                    credit_key, target, {(member_id, target): wallets[(member_id, target)]}
                )
                link.fresh_lot(credit, member_id, quote.credited, AccountKind.CLEARING)
                into = Envelope(
                    credit_key,
                    _request("convert_credit", conversion=rule.id, key=envelope.key),
                    envelope.reason,
                    (("conversion", rule.id),),
                ).finish(credit, kind=TransactionKind.CONVERSION, amount=quote.credited)
                link.post(out)
                link.post(into)
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
                emit_event(
                    unit,
                    "conversion.done",
                    envelope.key,
                    now,
                    ConversionDone(
                        envelope.key, rule.id, str(member_id), source, target, quote.debited,
                        quote.credited,
                    ),
                )  # fmt: skip
            return ConversionResult(quote, out.transaction, into.transaction)

        return retrying(attempt, envelope.request, envelope.key)

    @staticmethod
    def _converted(unit: RecordsReading, member: MemberId, counter: tuple[str, str] | None) -> int:
        if counter is None:
            return 0
        return unit.counters(member, [counter]).get(counter, (0, 0))[0]

    def _replayed_conversion(
        self, unit: RecordsReading, existing: Transaction, envelope: Envelope
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


def _quote_document(quote: ConversionQuote) -> dict[str, Any]:
    """A quote as JSON-ready data: exact fractions and money as strings."""
    return {
        **attrs.asdict(quote),
        "truncated": str(quote.truncated),
        "effective_ratio": str(quote.effective_ratio),
        "cash_fee": money_text(quote.cash_fee),
    }


def _quote_of(document: Mapping[str, Any]) -> ConversionQuote:
    """The quote :func:`_quote_document` wrote."""
    return ConversionQuote(
        **{
            **document,
            "truncated": Fraction(document["truncated"]),
            "effective_ratio": Fraction(document["effective_ratio"]),
            "cash_fee": money_of(document["cash_fee"]),
        }
    )
