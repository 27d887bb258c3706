"""Conversions on a ledger: two linked transactions through clearing accounts (P3, P4, P5)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, Ledger, PointCurrency
from pointkit.exceptions import (
    ConversionRefusedError,
    IdempotencyConflictError,
    InsufficientPointsError,
    NotReversibleError,
    UnknownCurrencyError,
)
from pointkit.expiry import ExpiryPolicy, RollingMonths
from pointkit.features import Conversions
from pointkit.ledger import AccountKind, TransactionKind
from pointkit.pricing import Conversion, ConversionBonus, Exchange


if TYPE_CHECKING:
    from pointkit.ledger import Storage


EXCHANGE = Exchange(
    [
        Conversion(
            "mall-to-miles",
            "points",
            "miles",
            Fraction(1, 3),
            block=1_000,
            fee_points=10,
            bonuses=[ConversionBonus(6_000, 500, repeat=True)],
            maximum=9_000,
            per="month",
            zone="Asia/Shanghai",
        ),
        Conversion("miles-to-mall", "miles", "points", 2),
    ]
)


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger holding points and miles, miles expiring after 12 months."""
    return Ledger(
        any_storage,
        clock=clock,
        currencies=[PointCurrency("points"), PointCurrency("miles")],
        program=f"convert-{uuid.uuid4().hex[:8]}",
        expiry=ExpiryPolicy("Asia/Shanghai", currencies={"miles": RollingMonths(12)}),
    )


@pytest.fixture
def conversions(ledger: Ledger) -> Conversions:
    """The conversions on that ledger."""
    return Conversions(ledger)


def test_p4_a_conversion_is_two_balanced_transactions_through_clearing(
    ledger: Ledger, conversions: Conversions
) -> None:
    """P4: the member's points go to clearing, miles come out of clearing; nothing else moves."""
    ledger.earn("alice", 10_000, key="e")
    result = conversions.convert("alice", EXCHANGE, "mall-to-miles", 6_500, key="c1")
    quote = result.quote
    assert (6_000, 10, 6_010, 2_000, 500, 2_500, 500) == (
        quote.converted,
        quote.fee,
        quote.debited,
        quote.base,
        quote.bonus,
        quote.credited,
        quote.leftover,
    )
    assert result.debit is not None
    assert result.credit is not None
    assert (TransactionKind.CONVERSION, "points", "miles") == (
        result.debit.kind,
        result.debit.currency,
        result.credit.currency,
    )
    assert (3_990, 2_500) == (
        ledger.balance("alice").posted,
        ledger.balance("alice", "miles").posted,
    )
    assert 6_000 == ledger.system_balance(AccountKind.CLEARING, "points").posted
    assert -2_500 == ledger.system_balance(AccountKind.CLEARING, "miles").posted
    assert 10 == ledger.system_balance(AccountKind.REDEMPTION, "points").posted
    assert ledger.lots("alice", "miles")[0].expires_at is not None
    again = conversions.convert("alice", EXCHANGE, "mall-to-miles", 6_500, key="c1")
    assert (again.replayed, again.quote, again.credit) == (True, quote, result.credit)
    with pytest.raises(IdempotencyConflictError):
        conversions.convert("alice", EXCHANGE, "mall-to-miles", 7_000, key="c1")
    with pytest.raises(NotReversibleError):
        ledger.reverse(result.debit.id, key="undo")
    ledger.audit()


def test_p5_the_monthly_maximum_holds_and_resets(
    ledger: Ledger, conversions: Conversions, clock: FixedClock
) -> None:
    """P5: a member converts at most 9,000 points a month; a dry run quotes what is left."""
    ledger.earn("alice", 100_000, key="e")
    conversions.convert("alice", EXCHANGE, "mall-to-miles", 6_000, key="c1")
    assert (
        3_000
        == conversions.convert(
            "alice", EXCHANGE, "mall-to-miles", 3_000, key="dry", dry_run=True
        ).quote.converted
    )
    with pytest.raises(ConversionRefusedError) as refused:
        conversions.convert("alice", EXCHANGE, "mall-to-miles", 4_000, key="c2")
    assert "period_maximum" == refused.value.reason
    conversions.convert("alice", EXCHANGE, "mall-to-miles", 3_000, key="c2")
    clock.advance(timedelta(days=31))
    conversions.convert("alice", EXCHANGE, "mall-to-miles", 9_000, key="c3")


def test_p3_a_round_trip_through_the_ledger_never_gains(
    ledger: Ledger, conversions: Conversions
) -> None:
    """P3: points to miles and back leave the member with fewer points than they started with."""
    ledger.earn("alice", 9_010, key="e")
    there = conversions.convert("alice", EXCHANGE, "mall-to-miles", 9_000, key="there")
    back = conversions.convert("alice", EXCHANGE, "miles-to-mall", there.quote.credited, key="back")
    assert (3_500, 7_000) == (there.quote.credited, back.quote.credited)
    assert 7_000 == ledger.balance("alice").posted
    assert 0 == ledger.balance("alice", "miles").posted
    ledger.audit()


def test_a_short_member_is_told_the_whole_amount(ledger: Ledger, conversions: Conversions) -> None:
    """A conversion short of its points and fee refuses with the whole amount, writing nothing."""
    ledger.earn("alice", 9_000, key="e")
    with pytest.raises(InsufficientPointsError, match="has 9000 points available, 9010 needed"):
        conversions.convert("alice", EXCHANGE, "mall-to-miles", 9_000, key="c")
    assert (9_000, 0) == (ledger.balance("alice").posted, ledger.balance("alice", "miles").posted)
    assert ledger.transaction_by_key("c") is None


def test_conversions_need_both_currencies(any_storage: Storage, clock: FixedClock) -> None:
    """A ledger without the target currency refuses before anything is read."""
    ledger = Ledger(any_storage, clock=clock, program=f"one-{uuid.uuid4().hex[:8]}")
    conversions = Conversions(ledger)
    with pytest.raises(UnknownCurrencyError):
        conversions.convert("alice", EXCHANGE, "mall-to-miles", 1_000, key="c")
