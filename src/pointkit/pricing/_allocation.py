"""Allocation: split a total over parts in proportion, exactly, so refunds add up.

Maintainer's notes
------------------
One method, largest remainder (brick/money's ``FloorToLargestRemainder``): every part gets the
floor of its exact share, and the units left over go one each to the parts with the largest
fractional remainders, earlier parts first on ties. The parts then sum to the total exactly,
each is within one unit of its exact share, a part with no weight gets nothing, and the result
depends only on the inputs, never on float noise or iteration order. The ways it goes wrong
elsewhere (tiny amounts funnelled to the first party, order-dependent float ratios, negative
remainders, a crash when the total is smaller than the number of parts) cannot happen here.

A points + cash payment over order lines is two allocations on the same weights (the lines'
money amounts): one of the points, one of the cash in minor units. Refunding lines returns
exactly their shares, so a sequence of partial refunds never returns more than was paid, and
refunding every line returns it all.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import final

import attrs

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.pricing._valuation import check_fraction


__all__ = ["LineShare", "PaymentAllocation", "allocate", "allocate_payment"]


def _check_weights(weights: object) -> list[Fraction]:
    if isinstance(weights, str | bytes) or not isinstance(weights, Sequence):
        raise ArgumentTypeError(
            f"weights={weights!r} must be a sequence of int or Fraction, not {type_name(weights)}"
        )
    if not weights:
        raise InvalidArgumentError("weights=[] must hold at least one weight")
    if len(weights) > limits.ALLOCATION_PARTS_MAX:
        raise LimitExceededError(
            f"weights has {len(weights)} parts, over limits.ALLOCATION_PARTS_MAX "
            f"({limits.ALLOCATION_PARTS_MAX})"
        )
    checked = [
        check_fraction(f"weights[{index}]", weight, minimum=Fraction(0))
        for index, weight in enumerate(weights)
    ]
    if sum(checked) == 0:
        raise InvalidArgumentError(f"weights={weights!r} must not all be zero")
    return checked


def allocate(total: int, weights: Sequence[int | Fraction]) -> tuple[int, ...]:
    """Split *total* into integer parts in proportion to *weights*, by largest remainder.

    >>> allocate(100, [1, 1, 1])
    (34, 33, 33)
    >>> allocate(1_000, [3_000, 1_500, 500])  # a points payment over three order lines
    (600, 300, 100)
    >>> allocate(1, [0, 5])
    (0, 1)

    Args:
        total: The integer total, 0 or more (points, or money in minor units).
        weights: The parts' weights: ints or Fractions, none negative, not all zero.

    Returns:
        The parts, in the order of *weights*: they sum to *total*, each is within one of its
        exact share, a zero weight gets 0, and ties go to the earlier part.

    Raises:
        ArgumentTypeError: If *total* or a weight is a float or not a number.
        InvalidArgumentError: If *total* is negative or the weights are all zero or negative.
    """
    amount = check_int("total", total, minimum=0, maximum=limits.POINTS_MAX)
    checked = _check_weights(weights)
    whole = sum(checked)
    shares = [amount * weight / whole for weight in checked]
    parts = [share.numerator // share.denominator for share in shares]
    left = amount - sum(parts)
    by_remainder = sorted(
        range(len(shares)), key=lambda index: (-(shares[index] - parts[index]), index)
    )
    for index in by_remainder[:left]:
        parts[index] += 1
    return tuple(parts)


@final
@attrs.frozen
class LineShare:
    """One order line's share of a points + cash payment.

    Attributes:
        line: The line's index in the order.
        amount: The line's money amount (its weight).
        points: The points allocated to it.
        cash: The cash allocated to it.
    """

    line: int
    amount: Money
    points: int
    cash: Money


@final
@attrs.frozen
class PaymentAllocation:
    """A points + cash payment allocated over an order's lines (see :func:`allocate_payment`).

    Attributes:
        points: The points paid in all.
        cash: The cash paid in all.
        lines: Each line's share; the shares sum to the payment exactly.
    """

    points: int
    cash: Money
    lines: tuple[LineShare, ...]

    def refund(self, lines: Sequence[int], *, refunded: Sequence[int] = ()) -> tuple[int, Money]:
        """Return ``(points, cash)`` to give back for refunding *lines*.

        >>> from pointkit import Money
        >>> paid = allocate_payment(
        ...     [Money("30.00", "CNY"), Money("15.00", "CNY"), Money("5.00", "CNY")],
        ...     points=1_000,
        ...     cash=Money("40.00", "CNY"),
        ... )
        >>> paid.refund([1])
        (300, Money(amount=Decimal('12.00'), currency=MoneyCurrency(code='CNY', decimals=2)))
        >>> paid.refund([1], refunded=[1])
        Traceback (most recent call last):
        ...
        pointkit.exceptions.InvalidArgumentError: lines[0]=1 was refunded already

        Args:
            lines: The indexes of the lines to refund now, each once.
            refunded: The lines refunded before; a line is refunded at most once, so partial
                refunds never return more than was paid.

        Raises:
            InvalidArgumentError: If a line does not exist, repeats, or was refunded before.
        """
        done = {self._index(f"refunded[{i}]", line) for i, line in enumerate(refunded)}
        points = 0
        cash = Money(0, self.cash.currency)
        seen: set[int] = set()
        for position, line in enumerate(lines):
            index = self._index(f"lines[{position}]", line)
            if index in done:
                raise InvalidArgumentError(f"lines[{position}]={index} was refunded already")
            if index in seen:
                raise InvalidArgumentError(f"lines[{position}]={index} is listed twice")
            seen.add(index)
            points += self.lines[index].points
            cash += self.lines[index].cash
        return (points, cash)

    def _index(self, name: str, value: object) -> int:
        return check_int(name, value, minimum=0, maximum=len(self.lines) - 1)


def allocate_payment(lines: Sequence[Money], *, points: int, cash: Money) -> PaymentAllocation:
    """Allocate a points + cash payment over an order's lines, in proportion to their amounts.

    >>> from pointkit import Money
    >>> paid = allocate_payment(
    ...     [Money("33.33", "CNY"), Money("33.33", "CNY"), Money("33.34", "CNY")],
    ...     points=1_000,
    ...     cash=Money("0.01", "CNY"),
    ... )
    >>> [(share.points, str(share.cash)) for share in paid.lines]
    [(333, '0.00 CNY'), (333, '0.00 CNY'), (334, '0.01 CNY')]

    Args:
        lines: Each line's money amount, 0 or more, not all 0, in one currency.
        points: The points paid for the order, 0 or more.
        cash: The cash paid, 0 or more, in the lines' currency.

    Raises:
        ArgumentTypeError: If a line or the cash is not Money.
        InvalidArgumentError: If amounts are negative, all zero, or in several currencies.
    """
    given: object = lines  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Sequence):
        raise ArgumentTypeError(f"lines={given!r} must be a sequence of Money")
    if not lines:
        raise InvalidArgumentError("lines=[] must hold at least one order line")
    paid: object = cash
    if not isinstance(paid, Money):
        raise ArgumentTypeError(f"cash={cash!r} must be Money, not {type_name(cash)}")
    if cash.amount < 0:
        raise InvalidArgumentError(f"cash={cash} must not be negative")
    weights: list[int] = []
    for index, line in enumerate(given):
        if not isinstance(line, Money):
            raise ArgumentTypeError(f"lines[{index}]={line!r} must be Money, not {type_name(line)}")
        if line.currency != cash.currency:
            raise InvalidArgumentError(
                f"lines[{index}]={line} is not in {cash.currency.code}, the payment's currency"
            )
        if line.amount < 0:
            raise InvalidArgumentError(f"lines[{index}]={line} must not be negative")
        weights.append(line.minor_units)
    if sum(weights) == 0:
        raise InvalidArgumentError("lines must not all be zero: there is nothing to weigh by")
    point_parts = allocate(points, weights)
    cash_parts = allocate(cash.minor_units, weights)
    shares = tuple(
        LineShare(index, line, part, Money.from_minor_units(minor, cash.currency))
        for index, (line, part, minor) in enumerate(
            zip(lines, point_parts, cash_parts, strict=True)
        )
    )
    return PaymentAllocation(points, cash, shares)
