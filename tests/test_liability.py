"""Liability and IFRS 15: invariant P9, the KPMG example, and buckets that add up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import FixedClock, Ledger, MemoryStorage, Money
from pointkit.exceptions import InvalidArgumentError
from pointkit.pricing import Valuation, allocate_price, liability, recognise


ONE_YUAN = Valuation(1, Money(1, "CNY"))


def test_the_kpmg_example() -> None:
    """KPMG Example 10A/10B: the exact split, then revenue as points are redeemed."""
    split = allocate_price(
        Money(100_000, "CNY"),
        goods_standalone=Money(100_000, "CNY"),
        points=10_000,
        valuation=ONE_YUAN,
        expected_redemption=Fraction(97, 100),
    )
    assert (Money("91157.70", "CNY"), Money("8842.30", "CNY")) == (split.goods, split.points)
    assert Fraction(9_700) == split.points_standalone
    # KPMG rounds the allocation to 9,000 before recognising; with it, their figures follow.
    up = recognise(Money(9_000, "CNY"), [(4_500, 9_700), (8_500, 9_900)])
    assert [Money("4175.26", "CNY"), Money("3552.01", "CNY")] == [year.recognised for year in up]
    down = recognise(Money(9_000, "CNY"), [(4_500, 9_700), (8_500, 9_200)])
    assert Money("4139.96", "CNY") == down[1].recognised


@given(
    st.integers(0, 10**10),
    st.integers(0, 10**10),
    st.integers(0, 10**7),
    st.fractions(min_value=0, max_value=1, max_denominator=1_000),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 10**6)), max_size=6),
)
def test_p9_allocation_and_recognition(
    price: int,
    goods: int,
    points: int,
    rate: Fraction,
    periods: list[tuple[int, int]],
) -> None:
    """P9: goods + points = price; revenue never passes the allocation; liability never negative."""
    if goods == 0 and (points == 0 or rate == 0):
        with pytest.raises(InvalidArgumentError):
            allocate_price(
                Money.from_minor_units(price, "CNY"),
                goods_standalone=Money.from_minor_units(goods, "CNY"),
                points=points,
                valuation=ONE_YUAN,
                expected_redemption=rate,
            )
        return
    split = allocate_price(
        Money.from_minor_units(price, "CNY"),
        goods_standalone=Money.from_minor_units(goods, "CNY"),
        points=points,
        valuation=ONE_YUAN,
        expected_redemption=rate,
    )
    assert split.price == split.goods + split.points
    redeemed = 0
    cumulative = []
    for made, expected in periods:
        redeemed += made
        cumulative.append((redeemed, expected))
    total = Money(0, "CNY")
    for period in recognise(split.points, cumulative):
        total += period.recognised
        assert total == period.cumulative <= split.points
        assert period.liability.amount >= 0
        assert split.points - period.cumulative == period.liability
        progress = min(Fraction(period.redeemed, period.expected), Fraction(1))
        exact = Fraction(split.points.amount) * progress
        assert abs(Fraction(period.cumulative.amount) - exact) <= Fraction(1, 200)


def test_liability_of_a_ledger_by_expiry_bucket() -> None:
    """Outstanding points, held ones included, valued at the reference, in buckets that add up."""
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    ledger = Ledger(MemoryStorage(), clock=clock, program=f"liability-{uuid.uuid4().hex[:8]}")
    now = clock.now()
    ledger.earn("alice", 333, key="a", expires_at=now + timedelta(days=10))
    ledger.earn("bob", 333, key="b", expires_at=now + timedelta(days=100))
    ledger.earn("carol", 334, key="c")
    ledger.reserve("alice", 100, key="h", timeout_seconds=60)
    ledger.earn("dave", 1, key="d", expires_at=now + timedelta(seconds=1))
    clock.advance(timedelta(seconds=2))
    report = liability(ledger.outstanding(), Valuation(3, Money("0.01", "CNY")), now=clock.now())
    assert [
        ("due", 1),
        ("0-30 days", 333),
        ("90-180 days", 333),
        ("never", 334),
    ] == [(b.label, b.points) for b in report.buckets if b.points]
    assert (1_001, Money("3.34", "CNY")) == (report.points, report.money)
    assert report.money == sum((b.money for b in report.buckets), Money(0, "CNY"))
    assert report.to_text().splitlines()[-1].split() == ["Total", "1,001", "3.34"]
    with pytest.raises(InvalidArgumentError, match="must be longer than the one before"):
        liability([], ONE_YUAN, now=now, buckets=[timedelta(days=30), timedelta(days=30)])
