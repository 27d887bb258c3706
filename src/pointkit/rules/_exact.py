"""Exact values: the arithmetic and comparison of numbers and money that conditions run on.

Maintainer's notes
------------------
Arithmetic is exact: ints, Decimals and money amounts become Fractions (money an
:class:`_Amount`, an exact amount in one currency, off the currency's grid), so
``amount / 3 * 3`` equals ``amount``; money only combines with money of its own currency, and
with plain numbers by ``*`` and ``/``. Nothing here raises an error a user sees: a value that
cannot be combined or compared raises a private :class:`_Fault` carrying the reason code the
trace shows (``division_by_zero``, ``currency_mismatch``, ``type_mismatch``), which the
compiled condition turns into a failed comparison.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final, cast, final

from pointkit._values import Money
from pointkit.rules._attributes import MISSING
from pointkit.rules._codec import show_value


if TYPE_CHECKING:
    from collections.abc import Callable


__all__: list[str] = []  # the names here are private to pointkit.rules


class _Fault(Exception):  # noqa: N818 - a private signal, not an error users see
    """A comparison cannot be made; carries the reason code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_DIVISION_BY_ZERO: Final = _Fault("division_by_zero")
_CURRENCY_MISMATCH: Final = _Fault("currency_mismatch")
_TYPE_MISMATCH: Final = _Fault("type_mismatch")


@final
class _Amount:
    """An exact amount of money off the currency's grid, as arithmetic produces."""

    __slots__ = ("code", "value")

    def __init__(self, code: str, value: Fraction) -> None:
        self.code = code
        self.value = value

    # The orderings compare values only: _compare has checked both sides are amounts in one
    # currency before it orders them.

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Amount) and (self.code, self.value) == (other.code, other.value)

    def __hash__(self) -> int:
        return hash((self.code, self.value))

    def __lt__(self, other: object) -> bool:
        return self.value < other.value  # type: ignore[attr-defined, no-any-return]

    def __le__(self, other: object) -> bool:
        return self.value <= other.value  # type: ignore[attr-defined, no-any-return]

    def __gt__(self, other: object) -> bool:
        return self.value > other.value  # type: ignore[attr-defined, no-any-return]

    def __ge__(self, other: object) -> bool:
        return self.value >= other.value  # type: ignore[attr-defined, no-any-return]

    def __str__(self) -> str:
        return f"{_show_fraction(self.value)} {self.code}"


def _show_fraction(value: Fraction) -> str:
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return str(value)
    places = max(twos, fives)
    return str(Decimal(value.numerator * 10**places // value.denominator).scaleb(-places))


def _exact(value: object) -> object:
    if value is MISSING:
        return value
    if isinstance(value, bool):
        raise _TYPE_MISMATCH
    if isinstance(value, Money):
        return _Amount(value.currency.code, Fraction(value.amount))
    if isinstance(value, Decimal):
        return Fraction(value)
    if isinstance(value, int | Fraction | _Amount):
        return value
    raise _TYPE_MISMATCH


def _arith(op: str, left: object, right: object) -> object:  # noqa: C901, PLR0911, PLR0912 - one answer per operand pair
    """Compute ``left op right`` on exact values (see :func:`_exact`); raise a :class:`_Fault`."""
    if isinstance(left, _Amount) and isinstance(right, _Amount):
        if left.code != right.code:
            raise _CURRENCY_MISMATCH
        other = right.value
        if op == "+":
            return _Amount(left.code, left.value + other)
        if op == "-":
            return _Amount(left.code, left.value - other)
        if op == "/":
            if other == 0:
                raise _DIVISION_BY_ZERO
            return left.value / other
        raise _TYPE_MISMATCH
    # Past the amounts, _exact has left only ints and Fractions.
    if isinstance(left, _Amount):
        factor = cast("int | Fraction", right)
        if op == "*":
            return _Amount(left.code, left.value * factor)
        if op == "/":
            if factor == 0:
                raise _DIVISION_BY_ZERO
            return _Amount(left.code, left.value / factor)
        raise _TYPE_MISMATCH
    if isinstance(right, _Amount):
        if op == "*":
            return _Amount(right.code, cast("int | Fraction", left) * right.value)
        raise _TYPE_MISMATCH
    first, second = cast("int | Fraction", left), cast("int | Fraction", right)
    if op == "+":
        return first + second
    if op == "-":
        return first - second
    if op == "*":
        return first * second
    if second == 0:
        raise _DIVISION_BY_ZERO
    return Fraction(first) / second


def _show(value: object) -> str:
    if isinstance(value, Fraction):
        return _show_fraction(value)
    return show_value(value) if not isinstance(value, _Amount) else str(value)


def _family(value: object) -> str:
    kind = type(value)
    if kind is bool:
        return "bool"
    if kind is int or kind is Decimal or kind is Fraction:
        return "number"
    if kind is Money or kind is _Amount:
        return "money"
    if kind is tuple or kind is frozenset:
        return "strings"
    if kind is datetime:
        return "datetime"
    if kind is date:
        return "date"
    return "str" if kind is str else "other"


def _currency(value: object) -> str:
    return value.currency.code if isinstance(value, Money) else value.code  # type: ignore[attr-defined]


def _compare(op: Callable[[object, object], bool], left: object, right: object) -> bool:
    """Compare two present values; raise :class:`_Fault` when they cannot be compared."""
    family = _family(left)
    if family != _family(right):
        raise _TYPE_MISMATCH
    if family == "money" and _currency(left) != _currency(right):
        raise _CURRENCY_MISMATCH
    try:
        return op(left, right)
    except TypeError:
        raise _TYPE_MISMATCH from None
