"""The base value types: points, money, currencies, ids and rounding."""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import (
    MemberId,
    Money,
    MoneyCurrency,
    PointCurrency,
    Points,
    ProgramId,
    limits,
    round_fraction,
)
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from strategies import (
    amounts,
    fractions,
    member_ids,
    money_currencies,
    moneys,
    point_currencies,
    points,
    program_ids,
    roundings,
)


@given(points)
def test_points_round_trip_as_int(value: Points) -> None:
    """Points are ints: equal to their int value, hashable, and Points(Points(x)) is x."""
    assert int(value) == value
    assert Points(value) == value
    assert hash(Points(int(value))) == hash(int(value))
    assert repr(value) == f"Points({int(value)})"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1.5, ArgumentTypeError),
        (1.0, ArgumentTypeError),
        (True, ArgumentTypeError),
        ("5", ArgumentTypeError),
        (Decimal(5), ArgumentTypeError),
        (limits.POINTS_MAX + 1, LimitExceededError),
        (-limits.POINTS_MAX - 1, LimitExceededError),
    ],
)
def test_points_reject(value: object, error: type[Exception]) -> None:
    """Floats, bools, strings, Decimals and out-of-range ints are not points."""
    with pytest.raises(error):
        Points(value)  # type: ignore[arg-type]


def test_points_bounds_are_inclusive() -> None:
    """±POINTS_MAX itself is a valid amount."""
    assert Points(limits.POINTS_MAX) == limits.POINTS_MAX
    assert Points(-limits.POINTS_MAX) == -limits.POINTS_MAX


@given(member_ids)
def test_member_ids_are_their_text(member: MemberId) -> None:
    """A member id is the str it was made from; making it again changes nothing."""
    assert MemberId(str(member)) == member
    assert MemberId(member) is member


@given(program_ids)
def test_program_ids_are_their_text(program: ProgramId) -> None:
    """A program id is the str it was made from."""
    assert ProgramId(str(program)) == program
    assert repr(program) == f"ProgramId({str(program)!r})"


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("", InvalidArgumentError, "member='' must be non-empty"),
        ("alice ", InvalidArgumentError, "without leading or trailing whitespace"),
        ("al\nice", InvalidArgumentError, "must contain only printable characters"),
        ("al\xa0ice", InvalidArgumentError, "must contain only printable characters"),
        ("a" * 129, LimitExceededError, "over limits.MEMBER_ID_LENGTH_MAX (128)"),
        (42, ArgumentTypeError, "member=42 must be a str, not int"),
    ],
)
def test_member_id_rejects(value: object, error: type[Exception], message: str) -> None:
    """Member ids are 1 to 128 printable characters without surrounding whitespace."""
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        MemberId(value)  # type: ignore[arg-type]


@given(point_currencies)
def test_point_currency_formats_with_its_decimals(currency: PointCurrency) -> None:
    """A point currency shows an amount with exactly its number of decimals."""
    shown = currency.format(12345)
    number, code = shown.split(" ")
    assert code == currency.code
    assert Decimal(number) == Decimal(12345).scaleb(-currency.decimals)


@pytest.mark.parametrize(
    ("code", "decimals"), [("CNY", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("USD", 2)]
)
def test_iso_minor_units(code: str, decimals: int) -> None:
    """ISO 4217 codes carry their standard minor unit."""
    assert MoneyCurrency.iso(code).decimals == decimals


@pytest.mark.parametrize("code", ["cny", "CN", "CNYY", 5])
def test_money_currency_rejects_bad_codes(code: object) -> None:
    """Money currency codes are three upper-case letters."""
    with pytest.raises(InvalidArgumentError):
        MoneyCurrency(code, decimals=2)  # type: ignore[arg-type]


def test_custom_money_currency() -> None:
    """A code outside ISO 4217 works when built with its decimals."""
    tokens = MoneyCurrency("XYZ", decimals=1)
    assert str(Money("1.5", tokens)) == "1.5 XYZ"


@given(moneys())
def test_money_round_trips_through_minor_units(money: Money) -> None:
    """Money and its count of minor units convert both ways without loss."""
    assert Money.from_minor_units(money.minor_units, money.currency) == money


@given(money_currencies, st.data())
def test_money_arithmetic_is_exact(currency: MoneyCurrency, data: st.DataObject) -> None:
    """Adding and subtracting money is exact and stays on the grid."""
    a = data.draw(moneys(currency))
    b = data.draw(moneys(currency))
    assert (a + b).minor_units == a.minor_units + b.minor_units
    assert (a - b).minor_units == a.minor_units - b.minor_units
    assert (-a).minor_units == -a.minor_units
    assert (a * 3).minor_units == 3 * a.minor_units
    assert (3 * a).minor_units == 3 * a.minor_units
    assert (a < b) == (a.minor_units < b.minor_units)
    assert (a <= b) == (a.minor_units <= b.minor_units)
    assert (a > b) == (a.minor_units > b.minor_units)
    assert (a >= b) == (a.minor_units >= b.minor_units)


def test_money_rejects_floats_and_off_grid_amounts() -> None:
    """A float is never money; an amount finer than the grid needs an explicit rounding."""
    with pytest.raises(ArgumentTypeError, match="must be a Decimal, int or str, not float"):
        Money(0.1, "CNY")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="more than 2 decimal places for CNY"):
        Money("0.001", "CNY")
    with pytest.raises(InvalidArgumentError, match="is not a decimal number"):
        Money("ten", "CNY")
    with pytest.raises(InvalidArgumentError, match="must be a finite number"):
        Money("NaN", "CNY")
    with pytest.raises(ArgumentTypeError):
        Money(object(), "CNY")  # type: ignore[arg-type]
    with pytest.raises(LimitExceededError):
        Money(10**27, "CNY")


def test_money_refuses_mixed_currencies_and_types() -> None:
    """Money only adds, subtracts and compares with money of the same currency."""
    yuan, dollars = Money(1, "CNY"), Money(1, "USD")
    with pytest.raises(InvalidArgumentError, match="cannot add CNY and USD"):
        _ = yuan + dollars
    with pytest.raises(ArgumentTypeError, match="cannot compare Money and int"):
        _ = yuan < 1  # type: ignore[operator]
    with pytest.raises(ArgumentTypeError, match="use multiply"):
        _ = yuan * Decimal("1.5")  # type: ignore[operator]


def test_money_equality_ignores_the_form_it_was_given_in() -> None:
    """Money("12.3") and Money("12.30") are the same money, with the same hash."""
    assert Money("12.3", "CNY") == Money("12.30", "CNY")
    assert hash(Money("12.3", "CNY")) == hash(Money(Decimal("12.300"), "CNY"))


class _Amount(Decimal):
    """A Decimal subclass: an amount Money accepts, by the checked path."""


@given(money_currencies, st.decimals(allow_nan=True, allow_infinity=True, places=3))
def test_money_builds_the_same_from_every_form_of_its_arguments(
    currency: MoneyCurrency, amount: Decimal
) -> None:
    """A Decimal and an ISO code take a quick path; it keeps the checked path's result or error.

    Every form of the same arguments (Decimal, Decimal subclass, text; currency or its code)
    gives equal money with the same canonical amount, or the same error.
    """
    forms: list[tuple[object, object]] = [
        (amount, currency),
        (_Amount(amount), currency),
        (str(amount), currency),
    ]
    try:
        iso = MoneyCurrency.iso(currency.code)
    except InvalidArgumentError:
        iso = None
    if iso == currency:
        forms += [(amount, currency.code), (_Amount(amount), currency.code)]
    results: set[tuple[type, str]] = set()
    for given_amount, given_currency in forms:
        try:
            made = Money(given_amount, given_currency)  # type: ignore[arg-type]
        except (InvalidArgumentError, LimitExceededError) as error:
            results.add((type(error), re.sub(r"^amount=\S+ ", "", str(error))))
        else:
            assert type(made.amount) is Decimal
            assert made.amount.as_tuple().exponent == -currency.decimals
            assert attrs.evolve(made) == made
            results.add((Money, str(made)))
    assert len(results) == 1, results


@given(fractions, roundings)
def test_round_fraction_is_within_one(value: Fraction, rounding: str) -> None:
    """Every rounding mode lands on one of the two integers around the value."""
    result = round_fraction(value, rounding=rounding)  # type: ignore[arg-type]
    assert abs(result - value) < 1


@given(fractions)
def test_round_fraction_agrees_with_decimal(value: Fraction) -> None:
    """Each mode rounds like the decimal module's mode of the same name."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    context = decimal.Context(prec=60)
    exact = context.divide(Decimal(value.numerator), Decimal(value.denominator))
    for mode, constant in [
        ("floor", decimal.ROUND_FLOOR),
        ("ceiling", decimal.ROUND_CEILING),
        ("down", decimal.ROUND_DOWN),
        ("up", decimal.ROUND_UP),
        ("half_even", decimal.ROUND_HALF_EVEN),
        ("half_up", decimal.ROUND_HALF_UP),
        ("half_down", decimal.ROUND_HALF_DOWN),
    ]:
        expected = int(exact.quantize(Decimal(1), rounding=constant, context=context))
        assert expected == round_fraction(value, rounding=mode)  # type: ignore[arg-type]


def test_round_fraction_rejects_floats_and_unknown_modes() -> None:
    """Rounding takes an exact fraction and a known mode."""
    with pytest.raises(ArgumentTypeError):
        round_fraction(0.5, rounding="floor")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="rounding='nearest' must be one of"):
        round_fraction(Fraction(1, 2), rounding="nearest")  # type: ignore[arg-type]


@given(money_currencies, st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=1000))
def test_money_of_fraction_rounds_once(currency: MoneyCurrency, value: Fraction) -> None:
    """Money.of with a Fraction rounds the exact value onto the grid once, as asked."""
    floor = Money.of(value, currency, rounding="floor")
    ceiling = Money.of(value, currency, rounding="ceiling")
    assert Fraction(floor.minor_units, 10**currency.decimals) <= value
    assert Fraction(ceiling.minor_units, 10**currency.decimals) >= value
    assert ceiling.minor_units - floor.minor_units <= 1


@given(
    moneys(MoneyCurrency.iso("CNY")), st.fractions(min_value=0, max_value=10, max_denominator=97)
)
def test_money_multiply_brackets_the_exact_product(money: Money, factor: Fraction) -> None:
    """multiply() rounds the exact product with the given mode and nothing else."""
    exact = Fraction(money.minor_units) * factor
    low = money.multiply(factor, rounding="floor").minor_units
    high = money.multiply(factor, rounding="ceiling").minor_units
    assert low <= exact <= high
    assert high - low <= 1
    with pytest.raises(ArgumentTypeError):
        money.multiply(0.5, rounding="floor")  # type: ignore[arg-type]


def test_money_of_decimal_and_limits() -> None:
    """Money.of quantises decimals and strings, and refuses amounts over the digit limit."""
    assert Money.of(Decimal("2.345"), "CNY", rounding="half_up") == Money("2.35", "CNY")
    assert Money.of("2.345", "CNY", rounding="half_even") == Money("2.34", "CNY")
    assert Money.of(7, "JPY", rounding="floor") == Money(7, "JPY")
    with pytest.raises(LimitExceededError):
        Money.of(Decimal("1E+40"), "CNY", rounding="floor")


@given(amounts)
def test_amounts_strategy_stays_in_range(value: int) -> None:
    """The edge-biased amount strategy never leaves [1, POINTS_MAX]."""
    assert 1 <= value <= limits.POINTS_MAX


@pytest.mark.parametrize(
    "value",
    [
        PointCurrency("points"),
        MoneyCurrency.iso("CNY"),
        Money(1, "CNY"),
    ],
)
def test_value_objects_are_frozen_and_hashable(value: attrs.AttrsInstance) -> None:
    """Value objects cannot be changed in place and can key a dict."""
    field = attrs.fields(type(value))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, field, None)
    assert {value: 1}[value] == 1


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        (Fraction(5, 2), "half_up", 3),
        (Fraction(-5, 2), "half_up", -3),
        (Fraction(5, 2), "half_down", 2),
        (Fraction(-5, 2), "half_down", -2),
        (Fraction(7, 2), "half_even", 4),
        (Fraction(-7, 2), "up", -4),
        (Fraction(-7, 2), "down", -3),
        (Fraction(11, 4), "half_down", 3),
    ],
)
def test_round_fraction_ties_and_signs(value: Fraction, mode: str, expected: int) -> None:
    """Ties and negative values round as each mode's name says."""
    assert expected == round_fraction(value, rounding=mode)  # type: ignore[arg-type]


def test_point_currency_and_iso_lookups_explain_refusals() -> None:
    """Bad currency codes are refused with the rule they break."""
    with pytest.raises(InvalidArgumentError, match="lower-case letters, digits and underscores"):
        PointCurrency("1points")
    with pytest.raises(InvalidArgumentError, match="is not an active ISO 4217 currency"):
        MoneyCurrency.iso("ABC")
    with pytest.raises(LimitExceededError):
        PointCurrency("points", decimals=9)
