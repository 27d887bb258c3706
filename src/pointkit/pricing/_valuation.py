"""What a point is worth: a point currency's reference value in a money currency, exact.

Maintainer's notes
------------------
A valuation is one exact :class:`~fractions.Fraction` of a money currency per point ("1 point =
0.01 yuan", "10 points = 2 yuan"). It values liability and states how far an offer's own terms
are from it; it never prices an offer by itself, because real offers are priced on their own
terms (the source material's watch implies 0.10 yuan a point and its trip 0.20, against a
reference of 0.01). Conversions to money round only when a caller asks, with a stated mode;
:meth:`Valuation.points_for` rounds up, so a price in points never undercharges.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit._values import Money, MoneyCurrency, check_point_code, round_fraction
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError


if TYPE_CHECKING:
    from pointkit._values import Rounding


__all__ = ["Valuation", "check_fraction", "money_fraction"]


def check_fraction(
    name: str, value: object, *, minimum: Fraction | None = None, maximum: Fraction | None = None
) -> Fraction:
    """Return *value*, a Fraction or an int (never a float or a bool), as a Fraction in range.

    Raises:
        ArgumentTypeError: If *value* is a float, a bool, a str or anything else.
        InvalidArgumentError: If it is below *minimum* or above *maximum*.
    """
    if isinstance(value, bool) or not isinstance(value, Fraction | int):
        raise ArgumentTypeError(
            f"{name}={value!r} must be a Fraction or an int, not {type_name(value)}"
        )
    exact = Fraction(value)
    if minimum is not None and exact < minimum:
        raise InvalidArgumentError(f"{name}={exact} must be at least {minimum}")
    if maximum is not None and exact > maximum:
        raise InvalidArgumentError(f"{name}={exact} must be at most {maximum}")
    return exact


def money_fraction(money: Money) -> Fraction:
    """Return a money amount as an exact Fraction of its currency's unit (yuan, not fen)."""
    return Fraction(money.amount)


def _check_money(name: str, value: object) -> Money:
    if not isinstance(value, Money):
        raise ArgumentTypeError(f"{name}={value!r} must be Money, not {type_name(value)}")
    return value


@final
@attrs.frozen(init=False)
class Valuation:
    """The reference value of a point currency: *points* of it are worth *worth*.

    >>> from pointkit import Money
    >>> valuation = Valuation(10, Money("2.00", "CNY"))  # 10 points are worth 2 yuan
    >>> valuation.per_point
    Fraction(1, 5)
    >>> valuation.value(10)
    Fraction(2, 1)
    >>> valuation.to_money(3, rounding="floor")
    Money(amount=Decimal('0.60'), currency=MoneyCurrency(code='CNY', decimals=2))
    >>> valuation.points_for(Money("0.70", "CNY"))  # 3.5 points, rounded up: never undercharge
    4
    >>> Valuation(100, Money("0.00", "CNY"))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: worth=Money(amount=Decimal('0.00'), currency=MoneyCurrency(code='CNY', decimals=2)) must be more than zero

    Args:
        points: How many points, at least 1.
        worth: What they are worth together: positive money.
        currency: The point currency's code.

    Attributes:
        currency: The point currency's code.
        per_point: The money value of one point, in the money currency's unit, exact.
        money: The money currency.
    """

    currency: str
    per_point: Fraction
    money: MoneyCurrency

    def __init__(self, points: int, worth: Money, *, currency: str = "points") -> None:
        count = check_int("points", points, minimum=1, maximum=limits.POINTS_MAX)
        value = _check_money("worth", worth)
        if value.amount <= 0:
            raise InvalidArgumentError(f"worth={value!r} must be more than zero")
        code = check_point_code("currency", currency)
        self.__attrs_init__(code, money_fraction(value) / count, value.currency)

    @classmethod
    def per(
        cls, per_point: Fraction, money: MoneyCurrency | str, *, currency: str = "points"
    ) -> Valuation:
        """Build a valuation from the exact value of one point.

        >>> from fractions import Fraction
        >>> Valuation.per(Fraction(1, 100), "CNY").describe()
        '1 points = 0.01 CNY'

        Raises:
            ArgumentTypeError: If *per_point* is a float.
            InvalidArgumentError: If it is not positive.
        """
        rate = check_fraction("per_point", per_point)
        if rate <= 0:
            raise InvalidArgumentError(f"per_point={rate} must be more than zero")
        valuation = cls.__new__(cls)
        valuation.__attrs_init__(
            check_point_code("currency", currency), rate, Money(0, money).currency
        )
        return valuation

    def value(self, points: int) -> Fraction:
        """The exact money value of *points* (negative for a negative amount)."""
        count = check_int("points", points, minimum=-limits.POINTS_MAX, maximum=limits.POINTS_MAX)
        return self.per_point * count

    def to_money(self, points: int, *, rounding: Rounding) -> Money:
        """The money value of *points* on the currency's grid, rounded as the caller states.

        Liability is usually stated rounded ``"half_even"``; a payout to a member ``"floor"``.
        """
        return Money.of(self.value(points), self.money, rounding=rounding)

    def points_for(self, money: Money) -> int:
        """The fewest points worth at least *money*: rounded up, so a price never undercharges.

        Raises:
            ArgumentTypeError: If *money* is not Money.
            InvalidArgumentError: If it is in another currency or negative.
        """
        amount = self._check_same("money", money)
        if amount < 0:
            raise InvalidArgumentError(f"money={money!r} must not be negative")
        return round_fraction(amount / self.per_point, rounding="ceiling")

    def premium(self, implied_per_point: Fraction) -> Fraction:
        """How many times the reference value an offer's implied value per point is.

        >>> from fractions import Fraction
        >>> from pointkit import Money
        >>> Valuation(100, Money("1.00", "CNY")).premium(Fraction(1, 10))  # 0.10 against 0.01
        Fraction(10, 1)
        """
        return check_fraction("implied_per_point", implied_per_point) / self.per_point

    def describe(self) -> str:
        """The valuation in words, for reports: ``1 points = 0.01 CNY``."""
        for count in (1, 10, 100, 1_000, 10_000):
            units = self.per_point * count * 10**self.money.decimals
            if units.denominator == 1:
                worth = Money.from_minor_units(int(units), self.money)
                return f"{count} {self.currency} = {worth.amount} {self.money.code}"
        return f"1 {self.currency} = {self.per_point} {self.money.code}"

    def _check_same(self, name: str, money: object) -> Fraction:
        value = _check_money(name, money)
        if value.currency != self.money:
            raise InvalidArgumentError(
                f"{name}={value!r} is in {value.currency.code}; this valuation is in "
                f"{self.money.code}"
            )
        return money_fraction(value)
