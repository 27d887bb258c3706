"""Liability: outstanding points valued at the reference, by expiry bucket, and IFRS 15 helpers.

Maintainer's notes
------------------
Points that give a member a material right are a separate performance obligation (IFRS 15
B39-B43). :func:`allocate_price` splits a sale's price between the goods and the points on
their relative stand-alone selling prices, the points' one being their value times the
share expected to be redeemed (the rest is breakage); it computes the split exactly and
rounds once, so the two parts sum to the price. :func:`recognise` recognises the points'
part as they are redeemed: the cumulative revenue at each period end is the allocation times
redeemed / expected redemptions, so a change of estimate moves revenue only through the
cumulative catch-up (KPMG's Revenue handbook, Example 10A/10B, after IFRS 15 IE267-IE270).

:func:`liability` values open points at the reference valuation by when they expire. Money
figures round once per report: the total is rounded half-even and split over the buckets by
largest remainder, so the buckets add up to the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Final, final

import attrs

from pointkit import limits
from pointkit._text import table
from pointkit._validate import check_aware, check_int, type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.pricing._allocation import allocate
from pointkit.pricing._valuation import Valuation, check_fraction, money_fraction


__all__ = [
    "DEFAULT_BUCKETS",
    "Liability",
    "LiabilityBucket",
    "PointsAllocation",
    "RevenuePeriod",
    "allocate_price",
    "liability",
    "recognise",
]

DEFAULT_BUCKETS: Final = (
    timedelta(days=30),
    timedelta(days=90),
    timedelta(days=180),
    timedelta(days=365),
)
"""The default bucket edges: within 30, 90, 180 and 365 days, then later, then never."""


@final
@attrs.frozen
class LiabilityBucket:
    """Outstanding points that expire within one span from now.

    Attributes:
        label: ``"due"`` (past their expiry, awaiting the expiry run), ``"0-30 days"``, ...,
            ``"over 365 days"``, or ``"never"``.
        points: The points.
        value: Their exact money value at the reference valuation.
        money: That value on the money grid; the buckets' money sums to the total's.
    """

    label: str
    points: int
    value: Fraction
    money: Money


@final
@attrs.frozen
class Liability:
    """Outstanding points and their money value at the reference valuation, by expiry.

    Attributes:
        currency: The point currency.
        as_of: The instant the buckets count from.
        valuation: The reference valuation.
        buckets: The buckets, soonest first, ``never`` last; empty ones included.
        points: All outstanding points.
        value: Their exact money value.
        money: That value rounded half-even onto the money grid.
    """

    currency: str
    as_of: datetime
    valuation: Valuation
    buckets: tuple[LiabilityBucket, ...]
    points: int
    value: Fraction
    money: Money

    def to_text(self) -> str:
        """The liability as an aligned plain-text table."""
        rows = [["Expires", "Points", self.money.currency.code]]
        rows += [[b.label, f"{b.points:,}", f"{b.money.amount:,}"] for b in self.buckets]
        rows.append(["Total", f"{self.points:,}", f"{self.money.amount:,}"])
        title = (
            f"Liability in {self.currency} at {self.valuation.describe()}, as of "
            f"{self.as_of.isoformat()}"
        )
        lines = [title, *table(rows)]
        return "\n".join(lines)


def _labels(edges: Sequence[timedelta]) -> list[str]:
    days = [edge.days for edge in edges]
    labels = ["due"]
    start = 0
    for end in days:
        labels.append(f"{start}-{end} days")
        start = end
    labels += [f"over {start} days", "never"]
    return labels


def _check_edges(edges: object) -> tuple[timedelta, ...]:
    if isinstance(edges, str | bytes) or not isinstance(edges, Sequence):
        raise ArgumentTypeError(f"buckets={edges!r} must be a sequence of timedelta")
    checked: list[timedelta] = []
    for index, edge in enumerate(edges):
        if not isinstance(edge, timedelta):
            raise ArgumentTypeError(f"buckets[{index}]={edge!r} must be a timedelta")
        if edge <= timedelta(0) or edge % timedelta(days=1):
            raise InvalidArgumentError(
                f"buckets[{index}]={edge!r} must be a positive number of whole days"
            )
        if checked and edge <= checked[-1]:
            raise InvalidArgumentError(
                f"buckets[{index}]={edge!r} must be longer than the one before"
            )
        checked.append(edge)
    return tuple(checked)


def liability(
    outstanding: Iterable[tuple[datetime | None, int]],
    valuation: Valuation,
    *,
    now: datetime,
    buckets: Sequence[timedelta] = DEFAULT_BUCKETS,
) -> Liability:
    """Value outstanding points at *valuation*, bucketed by when they expire.

    >>> from datetime import UTC, datetime, timedelta
    >>> from pointkit import Money
    >>> now = datetime(2026, 3, 1, tzinfo=UTC)
    >>> report = liability(
    ...     [(now + timedelta(days=10), 5_000), (now + timedelta(days=200), 20_000), (None, 1_000)],
    ...     Valuation(100, Money(1, "CNY")),
    ...     now=now,
    ... )
    >>> [(bucket.label, bucket.points, str(bucket.money)) for bucket in report.buckets if bucket.points]
    [('0-30 days', 5000, '50.00 CNY'), ('180-365 days', 20000, '200.00 CNY'), ('never', 1000, '10.00 CNY')]

    Args:
        outstanding: ``(expires_at, points)`` pairs: open points and when they expire
            (``None``: never), for example from :meth:`pointkit.Ledger.outstanding`.
        valuation: The reference valuation.
        now: The instant the buckets count from.
        buckets: The bucket edges, increasing whole days.

    Raises:
        InvalidArgumentError: If an argument is invalid.
    """
    if not isinstance(valuation, Valuation):
        raise ArgumentTypeError(
            f"valuation={valuation!r} must be a Valuation, not {type_name(valuation)}"
        )
    at = check_aware("now", now)
    edges = _check_edges(buckets)
    labels = _labels(edges)
    points = [0] * len(labels)
    for expires_at, amount in outstanding:
        count = check_int("points", amount, minimum=0, maximum=limits.POINTS_MAX)
        if expires_at is None:
            points[-1] += count
            continue
        left = check_aware("expires_at", expires_at) - at
        if left <= timedelta(0):
            points[0] += count
            continue
        index = next((i for i, edge in enumerate(edges) if left <= edge), len(edges))
        points[index + 1] += count
    values = [valuation.value(count) for count in points]
    total_value = sum(values, Fraction(0))
    total_money = Money.of(total_value, valuation.money, rounding="half_even")
    minor = allocate(total_money.minor_units, values) if total_value else [0] * len(values)
    return Liability(
        currency=valuation.currency,
        as_of=at,
        valuation=valuation,
        buckets=tuple(
            LiabilityBucket(label, count, value, Money.from_minor_units(units, valuation.money))
            for label, count, value, units in zip(labels, points, values, minor, strict=True)
        ),
        points=sum(points),
        value=total_value,
        money=total_money,
    )


@final
@attrs.frozen
class PointsAllocation:
    """A sale's price split between the goods and the points it awards (IFRS 15, relative SSP).

    Attributes:
        price: The transaction price.
        goods_standalone: The goods' stand-alone selling price.
        points_standalone: The points' stand-alone selling price: value times expected
            redemption, exact.
        goods: The price allocated to the goods.
        points: The price allocated to the points (the contract liability at the sale).
        goods_share: The goods' exact share of the price.
        breakage_points: Points expected never to be redeemed.
    """

    price: Money
    goods_standalone: Money
    points_standalone: Fraction
    goods: Money
    points: Money
    goods_share: Fraction
    breakage_points: Fraction


def _money(name: str, value: object) -> Money:
    if not isinstance(value, Money):
        raise ArgumentTypeError(f"{name}={value!r} must be Money, not {type_name(value)}")
    if value.amount < 0:
        raise InvalidArgumentError(f"{name}={value} must not be negative")
    return value


def allocate_price(
    price: Money,
    *,
    goods_standalone: Money,
    points: int,
    valuation: Valuation,
    expected_redemption: Fraction,
) -> PointsAllocation:
    """Allocate a sale's price between goods and points on relative stand-alone selling prices.

    >>> from fractions import Fraction
    >>> from pointkit import Money
    >>> split = allocate_price(
    ...     Money(100_000, "CNY"),
    ...     goods_standalone=Money(100_000, "CNY"),
    ...     points=10_000,
    ...     valuation=Valuation(1, Money(1, "CNY")),
    ...     expected_redemption=Fraction(97, 100),
    ... )
    >>> str(split.goods), str(split.points), split.breakage_points
    ('91157.70 CNY', '8842.30 CNY', Fraction(300, 1))

    Args:
        price: What the customer paid.
        goods_standalone: What the goods sell for alone.
        points: The points the sale awards.
        valuation: What a point is worth when redeemed.
        expected_redemption: The share of the points expected to be redeemed, in ``[0, 1]``.

    Raises:
        InvalidArgumentError: If an argument is invalid or the currencies differ.
    """
    paid = _money("price", price)
    goods = _money("goods_standalone", goods_standalone)
    count = check_int("points", points, minimum=0, maximum=limits.POINTS_MAX)
    if not isinstance(valuation, Valuation):
        raise ArgumentTypeError(f"valuation={valuation!r} must be a Valuation")
    rate = check_fraction(
        "expected_redemption", expected_redemption, minimum=Fraction(0), maximum=Fraction(1)
    )
    for name, money in (("goods_standalone", goods), ("valuation", Money(0, valuation.money))):
        if money.currency != paid.currency:
            raise InvalidArgumentError(
                f"{name} is in {money.currency.code}, the price in {paid.currency.code}"
            )
    points_ssp = valuation.value(count) * rate
    whole = money_fraction(goods) + points_ssp
    if whole == 0:
        raise InvalidArgumentError(
            "goods_standalone and the points' value are both zero: nothing to weigh"
        )
    share = money_fraction(goods) / whole
    goods_part, points_part = allocate(paid.minor_units, [share, 1 - share])
    return PointsAllocation(
        price=paid,
        goods_standalone=goods,
        points_standalone=points_ssp,
        goods=Money.from_minor_units(goods_part, paid.currency),
        points=Money.from_minor_units(points_part, paid.currency),
        goods_share=share,
        breakage_points=count * (1 - rate),
    )


@final
@attrs.frozen
class RevenuePeriod:
    """The points' revenue of one reporting period.

    Attributes:
        redeemed: Points redeemed by the period's end, cumulative.
        expected: Points expected to be redeemed in all, as estimated at the period's end.
        recognised: Revenue recognised in the period (a catch-up when the estimate changed).
        cumulative: Revenue recognised up to the period's end.
        liability: The contract liability left: allocated less cumulative revenue, never
            negative.
    """

    redeemed: int
    expected: int
    recognised: Money
    cumulative: Money
    liability: Money


def recognise(allocated: Money, periods: Sequence[tuple[int, int]]) -> tuple[RevenuePeriod, ...]:
    """Recognise the points' allocated revenue as they are redeemed, with cumulative catch-up.

    >>> from pointkit import Money
    >>> years = recognise(Money(9_000, "CNY"), [(4_500, 9_700), (8_500, 9_900)])
    >>> [str(year.recognised) for year in years]
    ['4175.26 CNY', '3552.01 CNY']

    Args:
        allocated: The price allocated to the points (:attr:`PointsAllocation.points`).
        periods: ``(redeemed so far, expected in all)`` at each period's end, in order;
            redeemed never decreases, expected is at least 1.

    Returns:
        One entry per period: cumulative revenue is ``allocated * min(redeemed / expected, 1)``
        rounded half-even, and each period recognises the change in it.

    Raises:
        InvalidArgumentError: If a period is invalid or redemptions decrease.
    """
    total = _money("allocated", allocated)
    done: list[RevenuePeriod] = []
    before = Money(0, total.currency)
    last = 0
    for index, given in enumerate(periods):
        pair: object = given  # checked at run time whatever the annotation says
        if not isinstance(pair, tuple) or len(pair) != 2:  # noqa: PLR2004 - a pair
            raise ArgumentTypeError(
                f"periods[{index}]={pair!r} must be a (redeemed, expected) pair"
            )
        redeemed = check_int(f"periods[{index}][0]", pair[0], minimum=0, maximum=limits.POINTS_MAX)
        expected = check_int(f"periods[{index}][1]", pair[1], minimum=1, maximum=limits.POINTS_MAX)
        if redeemed < last:
            raise InvalidArgumentError(
                f"periods[{index}][0]={redeemed} is below the {last} redeemed before: "
                "redemptions are cumulative"
            )
        last = redeemed
        progress = min(Fraction(redeemed, expected), Fraction(1))
        cumulative = Money.of(
            money_fraction(total) * progress, total.currency, rounding="half_even"
        )
        done.append(
            RevenuePeriod(
                redeemed=redeemed,
                expected=expected,
                recognised=cumulative - before,
                cumulative=cumulative,
                liability=total - cumulative,
            )
        )
        before = cumulative
    return tuple(done)
