"""Pricing properties: invariants P1, P2, P6, P7, P8 and P10 (points + cash, allocation, valuation)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pointkit import Money
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from pointkit.pricing import (
    Bundle,
    PointsSplit,
    Price,
    Valuation,
    allocate,
    allocate_payment,
)
from pointkit.pricing._valuation import money_fraction


REFERENCE = Valuation(100, Money(1, "CNY"))  # 1 point = 0.01 yuan


cash_prices = st.integers(1, 10**9).map(lambda fen: Money.from_minor_units(fen, "CNY"))
rates = st.fractions(min_value=Fraction(1, 10_000), max_value=10, max_denominator=10_000).filter(
    lambda rate: rate > 0
)
shares = st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=100).filter(
    lambda share: share > 0
)
discounts = st.fractions(min_value=0, max_value=Fraction(9, 10), max_denominator=100)


@st.composite
def split_prices(draw: st.DrawFn) -> Price:
    """A cash price with a dynamic split: any rate, share, block, minimum cash."""
    cash = draw(cash_prices)
    min_cash = draw(
        st.none() | st.integers(0, cash.minor_units).map(lambda f: Money.from_minor_units(f, "CNY"))
    )
    split = PointsSplit(
        draw(rates),
        max_share=draw(shares),
        min_cash=min_cash,
        block=draw(st.sampled_from([1, 10, 100, 1_000, 5_000])),
    )
    return Price(cash=cash, split=split)


@given(split_prices(), discounts, st.data())
def test_p1_p2_splits_never_undercharge_and_overcharge_by_less_than_a_block(
    price: Price, discount: Fraction, data: st.DataObject
) -> None:
    """P1, P2: every split pays at least the price, on the grid, and over it by under a block."""
    split, cash = price.split, price.cash
    assert split is not None
    assert cash is not None
    fewest, most = price.split_range(discount=discount)
    assume(most >= 0)
    blocks = data.draw(st.integers(0, most // split.block), label="blocks")
    option = price.split_quote(blocks * split.block, discount=discount)
    assert option.cash is not None
    rate = split.per_point / (1 - discount)
    paid = option.points * rate + money_fraction(option.cash)
    assert paid >= money_fraction(cash)
    assert option.cash.amount >= 0
    assert option.cash == Money(option.cash.amount, "CNY")  # on the fen grid
    assert paid - money_fraction(cash) == option.overcharge
    assert option.overcharge < max(split.block * rate, Fraction(1, 100))
    if split.min_cash is not None:
        assert option.cash >= split.min_cash
    if option.points:
        assert option.points * rate <= money_fraction(cash) * split.max_share or (
            split.max_share == 1 and option.cash.amount == 0
        )
    assert fewest <= most or most == 0


@given(st.integers(1, 10**7), st.integers(1, 10**6), discounts)
def test_p1_fixed_options_round_discounted_points_up(
    points: int, fen: int, discount: Fraction
) -> None:
    """P1: a discounted points price rounds up, by less than one point, and says so."""
    assume(fen > 0)
    price = Price(points=points + 1, bundles=[Bundle(points, Money.from_minor_units(fen, "CNY"))])
    for option in price.options(discount=discount):
        base = points + 1 if option.kind == "points" else points
        assert option.points >= base * (1 - discount)
        assert option.points - base * (1 - discount) == option.rounded_points < 1


def test_p10_implied_values_are_compared_with_the_reference() -> None:
    """P10: the watch pays 0.10 yuan a point and the trip 0.20, against a reference of 0.01."""
    watch = Price(points=5_000, bundles=[Bundle(2_000, Money(300, "CNY"))])
    bundle = watch.option("bundle:0", reference=REFERENCE)
    assert (Fraction(1, 10), Fraction(10)) == (bundle.implied_per_point, bundle.premium)
    trip = Price(
        cash=Money(5_000, "CNY"), split=PointsSplit(Fraction(1, 5), max_share=Fraction(2, 5))
    )
    option = trip.option("split", reference=REFERENCE)
    assert (10_000, Money(3_000, "CNY")) == (option.points, option.cash)
    assert (Fraction(1, 5), Fraction(20)) == (option.implied_per_point, option.premium)


def test_block_rounding_covers_the_whole_price_and_reports_it() -> None:
    """Delta-style: 5,000-mile blocks may cover a fare past its price; the quote says by how much."""
    fare = Price(cash=Money("123.45", "USD"), split=PointsSplit(Fraction(1, 100), block=5_000))
    assert (0, 15_000) == fare.split_range()
    option = fare.split_quote(15_000)
    assert Money(0, "USD") == option.cash
    assert Fraction(2655, 100) == option.overcharge
    assert "rounding asks 26.55 USD more" in option.describe()


def test_prices_report_every_problem() -> None:
    """A price with several problems names each with its field."""
    with pytest.raises(ConfigurationError) as raised:
        Price(
            cash=Money(100, "CNY"),
            bundles=[Bundle(10, Money(100, "CNY")), Bundle(10, Money(5, "USD"))],
            split=PointsSplit(Fraction(1, 100), min_cash=Money(200, "CNY")),
        )
    assert [
        "bundles[0].cash: 100.00 CNY must be less than the cash price (100.00 CNY), or the bundle costs more than paying in cash",
        "bundles[1].cash: 5.00 USD must be in CNY, like the rest of the price",
        "split.min_cash: 200.00 CNY must not be more than the cash price (100.00 CNY)",
    ] == list(raised.value.problems)
    with pytest.raises(ConfigurationError, match="a price needs a way to pay with points"):
        Price(cash=Money(1, "CNY"))
    with pytest.raises(ConfigurationError, match="a split needs the cash price it offsets"):
        Price(split=PointsSplit(1))


def test_p7_floats_are_refused() -> None:
    """P7: no float reaches a price, a valuation or an allocation."""
    with pytest.raises(ArgumentTypeError):
        PointsSplit(0.2)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        Valuation.per(0.01, "CNY")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        allocate(10, [0.5, 0.5])  # type: ignore[list-item]
    with pytest.raises(ArgumentTypeError):
        REFERENCE.points_for(1.0)  # type: ignore[arg-type]


@given(st.integers(0, 10**12), rates)
def test_valuation_points_for_never_undercharges(fen: int, rate: Fraction) -> None:
    """A money amount priced in points is covered, by less than one point too many."""
    valuation = Valuation.per(rate, "CNY")
    money = Money.from_minor_units(fen, "CNY")
    points = valuation.points_for(money)
    assert valuation.value(points) >= money_fraction(money) > valuation.value(points - 1) or (
        fen == 0 and points == 0
    )


def test_valuation_of_the_source_material() -> None:
    """100 yuan earns 10 points worth 2 yuan: 10 points = 2 yuan, so a point is 0.20 yuan."""
    valuation = Valuation(10, Money(2, "CNY"))
    assert Fraction(1, 5) == valuation.per_point
    assert Money(2, "CNY") == valuation.to_money(10, rounding="half_even")
    assert "1 points = 0.20 CNY" == valuation.describe()
    assert "1 points = 1/3 CNY" == Valuation.per(Fraction(1, 3), "CNY").describe()
    with pytest.raises(InvalidArgumentError, match="is in USD; this valuation is in CNY"):
        valuation.points_for(Money(1, "USD"))


weights = st.lists(st.integers(0, 10**6), min_size=1, max_size=40).filter(lambda ws: sum(ws) > 0)


@given(st.integers(0, 10**12), weights)
def test_p6_allocations_sum_exactly_and_stay_within_one_unit(total: int, parts: list[int]) -> None:
    """P6: parts sum to the total, each within one unit of its exact share, zeros get zero."""
    allocated = allocate(total, parts)
    assert total == sum(allocated)
    whole = sum(parts)
    for weight, part in zip(parts, allocated, strict=True):
        assert abs(part - Fraction(total * weight, whole)) < 1
        if weight == 0:
            assert part == 0
    assert allocated == allocate(total, parts)


def test_allocation_ties_go_to_earlier_parts() -> None:
    """Largest remainder breaks ties by position, so equal inputs give equal outputs."""
    assert (1, 1, 0, 0) == allocate(2, [1, 1, 1, 1])
    assert (0, 0, 1) == allocate(1, [1, 1, Fraction(3, 2)])


@st.composite
def payments(draw: st.DrawFn) -> tuple[list[Money], int, Money, list[list[int]]]:
    """An order, a points + cash payment over it, and refunds of disjoint line groups."""
    lines = draw(
        st.lists(st.integers(0, 10**7), min_size=1, max_size=12).filter(lambda ls: sum(ls) > 0)
    )
    points = draw(st.integers(0, 10**9))
    cash = draw(st.integers(0, sum(lines)))
    order = draw(st.permutations(range(len(lines))))
    cuts = sorted(draw(st.lists(st.integers(0, len(lines)), max_size=4)))
    groups = [
        list(order[a:b]) for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True) if a < b
    ]
    return (
        [Money.from_minor_units(fen, "CNY") for fen in lines],
        points,
        Money.from_minor_units(cash, "CNY"),
        groups,
    )


@given(payments())
def test_p8_partial_refunds_never_return_more_than_was_paid(
    payment: tuple[list[Money], int, Money, list[list[int]]],
) -> None:
    """P8: refunds of lines add up to at most the payment, and all lines to exactly it."""
    lines, points, cash, groups = payment
    allocation = allocate_payment(lines, points=points, cash=cash)
    refunded: list[int] = []
    back_points, back_cash = 0, Money(0, "CNY")
    for group in groups:
        got_points, got_cash = allocation.refund(group, refunded=refunded)
        refunded += group
        back_points += got_points
        back_cash += got_cash
        assert back_points <= points
        assert back_cash <= cash
    assert (points, cash) == (back_points, back_cash)
    with pytest.raises(InvalidArgumentError, match="was refunded already"):
        allocation.refund([refunded[0]], refunded=refunded)


def test_allocation_errors_name_the_field() -> None:
    """Bad allocations are refused with the field and the value."""
    with pytest.raises(InvalidArgumentError, match=r"weights=\[0, 0\] must not all be zero"):
        allocate(5, [0, 0])
    with pytest.raises(InvalidArgumentError, match="total=-1 must be an int from 0"):
        allocate(-1, [1])
    with pytest.raises(InvalidArgumentError, match="is not in CNY, the payment's currency"):
        allocate_payment([Money(1, "USD")], points=1, cash=Money(1, "CNY"))
    with pytest.raises(InvalidArgumentError, match=r"lines\[1\]=3 is listed twice"):
        allocate_payment([Money(1, "CNY")] * 4, points=4, cash=Money(0, "CNY")).refund([3, 3])
    assert (
        Decimal("0.00")
        == allocate_payment([Money(1, "CNY")], points=1, cash=Money(0, "CNY")).lines[0].cash.amount
    )
