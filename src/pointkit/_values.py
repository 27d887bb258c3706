"""The base value types: points, money, currencies and ids.

Maintainer's notes
------------------
One type per meaning. ``Points`` is an ``int`` in a point currency's smallest unit and is never
mixed with ``Money``, which is a ``Decimal`` on its money currency's grid (two places for CNY, none
for JPY). Floats are rejected everywhere: ``0.1 + 0.2`` has no place in a ledger.

Every quantisation of money takes an explicit rounding mode with no default, so each call site
states which way value may leak; the docs of each caller say why its mode favours the issuer.

``Points`` subclasses ``int`` so that it goes wherever an int goes (arithmetic, formatting,
database drivers); the ledger checks bounds wherever it adds amounts, because ``int`` arithmetic
returns plain ints.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, check_text, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError


if TYPE_CHECKING:
    from typing import Self


__all__ = [
    "ROUNDING_MODES",
    "MemberId",
    "Money",
    "MoneyCurrency",
    "PointCurrency",
    "Points",
    "ProgramId",
    "Rounding",
    "round_fraction",
]

Rounding: TypeAlias = Literal["floor", "ceiling", "down", "up", "half_even", "half_up", "half_down"]
"""How to round at a quantisation: toward -inf, toward +inf, toward zero, away from zero, or to
the nearest with ties to even, away from zero, or toward zero."""

ROUNDING_MODES: Final[tuple[Rounding, ...]] = (
    "floor",
    "ceiling",
    "down",
    "up",
    "half_even",
    "half_up",
    "half_down",
)

_DECIMAL_ROUNDING: Final[dict[str, str]] = {
    "floor": decimal.ROUND_FLOOR,
    "ceiling": decimal.ROUND_CEILING,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_up": decimal.ROUND_HALF_UP,
    "half_down": decimal.ROUND_HALF_DOWN,
}


def _check_rounding(rounding: object) -> Rounding:
    if rounding not in _DECIMAL_ROUNDING:
        valid = ", ".join(repr(mode) for mode in ROUNDING_MODES)
        raise InvalidArgumentError(f"rounding={rounding!r} must be one of {valid}")
    return rounding  # type: ignore[return-value]  # membership in the table is the Literal check


def round_fraction(value: Fraction, *, rounding: Rounding) -> int:
    """Round an exact fraction to an int with an explicit mode.

    >>> from fractions import Fraction
    >>> round_fraction(Fraction(5, 2), rounding="half_even")
    2
    >>> round_fraction(Fraction(-5, 2), rounding="floor")
    -3

    Args:
        value: The fraction to round.
        rounding: The rounding mode; it has no default so every caller says which way it leaks.

    Returns:
        The rounded integer.

    Raises:
        ArgumentTypeError: If *value* is not a Fraction (or an int).
        InvalidArgumentError: If *rounding* is not a known mode.
    """
    mode = _check_rounding(rounding)
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, bool) or not isinstance(given, Fraction | int):
        raise ArgumentTypeError(f"value={given!r} must be a Fraction, not {type_name(given)}")
    value = Fraction(given)
    floor = value.numerator // value.denominator
    remainder = value - floor
    if remainder == 0:
        return floor
    ceiling = floor + 1
    toward_zero, away = (floor, ceiling) if value > 0 else (ceiling, floor)
    half = Fraction(1, 2)
    result: int
    match mode:
        case "floor":
            result = floor
        case "ceiling":
            result = ceiling
        case "down":
            result = toward_zero
        case "up":
            result = away
        case _ if remainder != half:
            result = floor if remainder < half else ceiling
        case "half_even":
            result = floor if floor % 2 == 0 else ceiling
        case "half_up":
            result = away
        case _:
            result = toward_zero
    return result


@final
class Points(int):
    """An amount of points in a point currency's smallest unit, within ``±limits.POINTS_MAX``.

    Balances may be negative (a member's debt, a system account); command amounts are checked to
    be positive where they are taken.

    >>> Points(1_000)
    Points(1000)
    >>> Points(True)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ArgumentTypeError: points=True must be an int, not bool
    >>> Points(2**63)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.LimitExceededError: points=9223372036854775808 is outside ±limits.POINTS_MAX (9223372036854775807)
    """

    __slots__ = ()

    def __new__(cls, value: int) -> Self:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArgumentTypeError(f"points={value!r} must be an int, not {type_name(value)}")
        if not -limits.POINTS_MAX <= value <= limits.POINTS_MAX:
            raise LimitExceededError(
                f"points={value!r} is outside ±limits.POINTS_MAX ({limits.POINTS_MAX})"
            )
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"Points({int(self)})"


_MEMBER_ID_DOC: Final = "1 to 128 printable characters without surrounding whitespace"


@final
class MemberId(str):
    """A member's id in the host's system: 1 to 128 printable characters.

    >>> MemberId("alice")
    MemberId('alice')
    >>> MemberId(" alice")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: member=' alice' must be non-empty, without leading or trailing whitespace
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if isinstance(value, MemberId):
            return value
        return cls.named("member", value)

    @classmethod
    def named(cls, name: str, value: object) -> Self:
        """A member id checked as the argument *name* (``sender``, ``recipient``, ...).

        Raises:
            InvalidArgumentError: Naming *name*, if *value* is not a valid member id.
        """
        if isinstance(value, MemberId):
            return cls(value)
        checked = check_text(
            name,
            value,
            max_length=limits.MEMBER_ID_LENGTH_MAX,
            limit_name="MEMBER_ID_LENGTH_MAX",
        )
        return super().__new__(cls, checked)

    def __repr__(self) -> str:
        return f"MemberId({str(self)!r})"


@final
class ProgramId(str):
    """A program's (tenant's) id: 1 to 64 printable characters.

    One storage can hold many programs; every key, balance and transaction belongs to one.
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if isinstance(value, ProgramId):
            return value
        checked = check_text(
            "program",
            value,
            max_length=limits.PROGRAM_ID_LENGTH_MAX,
            limit_name="PROGRAM_ID_LENGTH_MAX",
        )
        return super().__new__(cls, checked)

    def __repr__(self) -> str:
        return f"ProgramId({str(self)!r})"


_POINT_CODE = re.compile(r"[a-z][a-z0-9_]*\Z")


def check_point_code(name: str, value: object) -> str:
    """Return *value* if it is a point-currency code: lower-case letters, digits, underscores.

    Raises:
        ArgumentTypeError: If *value* is not a str.
        LimitExceededError: If it is longer than ``limits.CURRENCY_CODE_LENGTH_MAX``.
        InvalidArgumentError: If it does not start with a letter or holds other characters.
    """
    code = check_text(
        name,
        value,
        max_length=limits.CURRENCY_CODE_LENGTH_MAX,
        limit_name="CURRENCY_CODE_LENGTH_MAX",
    )
    if not _POINT_CODE.match(code):
        raise InvalidArgumentError(
            f"{name}={code!r} must be lower-case letters, digits and underscores, "
            "starting with a letter"
        )
    return code


def _check_point_code(value: object) -> str:
    return check_point_code("code", value)


def _check_decimals(value: object) -> int:
    return check_int(
        "decimals",
        value,
        minimum=0,
        maximum=limits.CURRENCY_DECIMALS_MAX,
        limit_name="CURRENCY_DECIMALS_MAX",
    )


@final
@attrs.frozen
class PointCurrency:
    """A point currency: a code and the number of decimal places it is shown with.

    Amounts are always integers in the currency's smallest unit; ``decimals`` only says how to
    show them (``decimals=2`` shows 1050 as ``10.50``).

    >>> miles = PointCurrency("miles")
    >>> miles.format(12_500)
    '12500 miles'
    >>> PointCurrency("Points")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: code='Points' must be lower-case letters, digits and underscores, starting with a letter

    Attributes:
        code: Lower-case identifier such as ``"points"`` or ``"tier_credits"``.
        decimals: Decimal places for display, 0 to ``limits.CURRENCY_DECIMALS_MAX``.
    """

    code: str = attrs.field(converter=_check_point_code)
    decimals: int = attrs.field(default=0, converter=_check_decimals, kw_only=True)

    def format(self, amount: int) -> str:
        """Show *amount* (in the smallest unit) with this currency's decimals and code."""
        value = Decimal(int(amount)).scaleb(-self.decimals)
        return f"{value:.{self.decimals}f} {self.code}"


# ISO 4217 (active codes as of 2025) whose minor unit is not 2.
_ISO_DECIMALS: Final[dict[str, int]] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
# ISO 4217 active codes with a minor unit of 2.
_ISO_TWO_DECIMALS: Final = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BMD",
        "BND",
        "BOB",
        "BOV",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHE",
        "CHF",
        "CHW",
        "CNY",
        "COP",
        "COU",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IRR",
        "JMD",
        "KES",
        "KGS",
        "KHR",
        "KPW",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MXV",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "USD",
        "USN",
        "UYU",
        "UZS",
        "VED",
        "VES",
        "WST",
        "XCD",
        "XCG",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)
_MONEY_CODE = re.compile(r"[A-Z]{3}\Z")


def _check_money_code(code: str) -> str:
    value: object = code  # checked at run time whatever the annotation says
    if not isinstance(value, str):
        raise ArgumentTypeError(f"code={value!r} must be a str, not {type_name(value)}")
    if not _MONEY_CODE.match(value):
        raise InvalidArgumentError(f"code={value!r} must be three upper-case letters, like 'CNY'")
    return value


@final
@attrs.frozen
class MoneyCurrency:
    """A money currency: an ISO 4217-style code and its number of decimal places.

    ``MoneyCurrency.iso("CNY")`` knows the minor unit of every active ISO 4217 code; build one
    directly for anything else.

    >>> MoneyCurrency.iso("JPY")
    MoneyCurrency(code='JPY', decimals=0)
    >>> MoneyCurrency.iso("XYZ")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: code='XYZ' is not an active ISO 4217 currency; build MoneyCurrency('XYZ', decimals=...) for it

    Attributes:
        code: Three upper-case letters.
        decimals: Decimal places of the currency's grid (2 for CNY, 0 for JPY, 3 for KWD).
    """

    code: str = attrs.field(converter=_check_money_code)
    decimals: int = attrs.field(converter=_check_decimals, kw_only=True)

    @classmethod
    def iso(cls, code: str) -> MoneyCurrency:
        """Return the ISO 4217 currency *code* with its standard minor unit.

        Raises:
            InvalidArgumentError: If *code* is not an active ISO 4217 code.
        """
        code = _check_money_code(code)
        if code in _ISO_DECIMALS:
            return cls(code, decimals=_ISO_DECIMALS[code])
        if code in _ISO_TWO_DECIMALS:
            return cls(code, decimals=2)
        raise InvalidArgumentError(
            f"code={code!r} is not an active ISO 4217 currency; "
            f"build MoneyCurrency({code!r}, decimals=...) for it"
        )


# Room for every allowed digit plus the grid's places, so quantize never runs out of precision.
_CONTEXT: Final = decimal.Context(prec=limits.MONEY_DIGITS_MAX + limits.CURRENCY_DECIMALS_MAX + 2)


def _grid(currency: MoneyCurrency) -> Decimal:
    places = currency.decimals
    return _GRIDS[places] if 0 <= places < len(_GRIDS) else Decimal(1).scaleb(-places)


_GRIDS: Final = tuple(
    Decimal(1).scaleb(-places) for places in range(limits.CURRENCY_DECIMALS_MAX + 1)
)
"""The grid of every allowed number of decimal places, made once (Decimals are immutable)."""


def _check_money_digits(amount: Decimal, currency: MoneyCurrency) -> None:
    integer_digits = max(amount.adjusted() + 1, 0) if amount else 0
    if integer_digits + currency.decimals > limits.MONEY_DIGITS_MAX:
        raise LimitExceededError(
            f"amount={amount!r} needs more than limits.MONEY_DIGITS_MAX "
            f"({limits.MONEY_DIGITS_MAX}) digits in {currency.code}"
        )


def _to_money_currency(value: MoneyCurrency | str) -> MoneyCurrency:
    if isinstance(value, MoneyCurrency):
        return value
    # Currencies are immutable: each ISO code's is built once (at most one per active code).
    currency = _ISO_CURRENCIES.get(value) if type(value) is str else None
    if currency is None:
        currency = MoneyCurrency.iso(value)
        if type(value) is str:
            _ISO_CURRENCIES[value] = currency
    return currency


_ISO_CURRENCIES: Final[dict[str, MoneyCurrency]] = {}


def _to_decimal(amount: Decimal | int | str) -> Decimal:
    value: object = amount  # checked at run time whatever the annotation says
    if isinstance(value, bool | float):
        raise ArgumentTypeError(
            f"amount={value!r} must be a Decimal, int or str, not {type_name(value)}"
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value)
        except decimal.InvalidOperation:
            raise InvalidArgumentError(f"amount={value!r} is not a decimal number") from None
    else:
        raise ArgumentTypeError(
            f"amount={value!r} must be a Decimal, int or str, not {type_name(value)}"
        )
    if not number.is_finite():
        raise InvalidArgumentError(f"amount={value!r} must be a finite number")
    return number


@final
@attrs.frozen(order=False)
class Money:
    """An amount of money on its currency's grid.

    The amount must already sit on the grid; to get there from anything finer, use
    :meth:`Money.of` with an explicit rounding mode.

    >>> Money("12.3", "CNY")
    Money(amount=Decimal('12.30'), currency=MoneyCurrency(code='CNY', decimals=2))
    >>> str(Money(300, "CNY") + Money("0.05", "CNY"))
    '300.05 CNY'
    >>> Money("0.125", "CNY")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: amount=Decimal('0.125') has more than 2 decimal places for CNY; use Money.of(amount, currency, rounding=...) to round it
    >>> Money.of("0.125", "CNY", rounding="half_even")
    Money(amount=Decimal('0.12'), currency=MoneyCurrency(code='CNY', decimals=2))

    Attributes:
        amount: The amount, a Decimal with exactly the currency's number of decimal places.
        currency: The money currency; a code such as ``"CNY"`` is looked up as ISO 4217.
    """

    amount: Decimal = attrs.field(converter=_to_decimal)
    currency: MoneyCurrency = attrs.field(converter=_to_money_currency)

    def __init__(self, amount: Decimal | int | str, currency: MoneyCurrency | str) -> None:
        # What attrs would generate with the converters and the checks after them, in that
        # order, the slots set directly; the usual arguments (a finite Decimal, an ISO code
        # seen before) pass the converters' quick tests here, without the calls.
        if type(amount) is not Decimal or not amount.is_finite():
            amount = _to_decimal(amount)
        money_currency = _ISO_CURRENCIES.get(currency) if type(currency) is str else None
        if money_currency is None:
            money_currency = _to_money_currency(currency)
        _check_money_digits(amount, money_currency)
        on_grid = amount.quantize(_grid(money_currency), rounding=_DOWN, context=_CONTEXT)
        if on_grid != amount:
            raise InvalidArgumentError(
                f"amount={amount!r} has more than {money_currency.decimals} decimal places "
                f"for {money_currency.code}; use Money.of(amount, currency, rounding=...) to round it"
            )
        # The canonical form has exactly the grid's places, so equal amounts compare and hash
        # equal whatever form they were given in.
        _set_money_amount(self, on_grid)
        _set_money_currency(self, money_currency)

    @classmethod
    def of(
        cls,
        amount: Decimal | int | str | Fraction,
        currency: MoneyCurrency | str,
        *,
        rounding: Rounding,
    ) -> Money:
        """Round *amount* onto *currency*'s grid with an explicit mode.

        Args:
            amount: Any exact amount: a Decimal, an int, a decimal string or a Fraction.
            currency: The money currency, or an ISO 4217 code.
            rounding: The rounding mode, stated by every caller.

        Returns:
            The money amount on the grid.

        Raises:
            ArgumentTypeError: If *amount* is a float or another unsupported type.
            InvalidArgumentError: If *rounding* is unknown or *amount* is not finite.
        """
        mode = _check_rounding(rounding)
        money_currency = _to_money_currency(currency)
        if isinstance(amount, Fraction):
            units = amount * 10**money_currency.decimals
            minor = round_fraction(units, rounding=mode)
            return cls.from_minor_units(minor, money_currency)
        exact = _to_decimal(amount)
        _check_money_digits(exact, money_currency)
        return cls(
            exact.quantize(
                _grid(money_currency), rounding=_DECIMAL_ROUNDING[mode], context=_CONTEXT
            ),
            money_currency,
        )

    @classmethod
    def from_minor_units(cls, units: int, currency: MoneyCurrency | str) -> Money:
        """Build money from an integer count of the currency's minor unit (fen, cents).

        >>> Money.from_minor_units(1999, "CNY")
        Money(amount=Decimal('19.99'), currency=MoneyCurrency(code='CNY', decimals=2))
        """
        money_currency = _to_money_currency(currency)
        bound = 10**limits.MONEY_DIGITS_MAX - 1
        checked = check_int("units", units, minimum=-bound, maximum=bound)
        return cls(Decimal(checked).scaleb(-money_currency.decimals, _CONTEXT), money_currency)

    @property
    def minor_units(self) -> int:
        """The amount as an integer count of the currency's minor unit."""
        return int(self.amount.scaleb(self.currency.decimals))

    def multiply(self, factor: Fraction | Decimal | int, *, rounding: Rounding) -> Money:
        """Multiply by an exact factor and round back onto the grid with an explicit mode.

        >>> from fractions import Fraction
        >>> Money("10.00", "CNY").multiply(Fraction(1, 3), rounding="ceiling")
        Money(amount=Decimal('3.34'), currency=MoneyCurrency(code='CNY', decimals=2))
        """
        if isinstance(factor, bool) or not isinstance(factor, Fraction | Decimal | int):
            raise ArgumentTypeError(
                f"factor={factor!r} must be a Fraction, Decimal or int, not {type_name(factor)}"
            )
        exact = Fraction(self.minor_units) * Fraction(factor)
        return Money.from_minor_units(round_fraction(exact, rounding=rounding), self.currency)

    def _same_currency(self, other: object, operation: str) -> Money:
        if not isinstance(other, Money):
            raise ArgumentTypeError(
                f"cannot {operation} Money and {type_name(other)}; both sides must be Money"
            )
        if other.currency != self.currency:
            raise InvalidArgumentError(
                f"cannot {operation} {self.currency.code} and {other.currency.code}; "
                "convert one side first"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(
            _CONTEXT.add(self.amount, self._same_currency(other, "add").amount), self.currency
        )

    def __sub__(self, other: Money) -> Money:
        other_amount = self._same_currency(other, "subtract").amount
        return Money(_CONTEXT.subtract(self.amount, other_amount), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, other: int) -> Money:
        if isinstance(other, bool) or not isinstance(other, int):
            raise ArgumentTypeError(
                f"Money can only be multiplied by an int with *; use multiply(factor, "
                f"rounding=...) for {type_name(other)}"
            )
        return Money(_CONTEXT.multiply(self.amount, Decimal(other)), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other, "compare").amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency.code}"


_DOWN: Final = decimal.ROUND_DOWN
_set_money_amount: Final = Money.__dict__["amount"].__set__
_set_money_currency: Final = Money.__dict__["currency"].__set__
