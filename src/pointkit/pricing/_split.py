"""Points + cash: fixed bundles and dynamic splits that never undercharge and say what a point is worth.

Maintainer's notes
------------------
A :class:`Price` is an offer's own terms, independent of the program's reference valuation:
an all-points price, an all-cash price, fixed bundles ("5,000 points, or 2,000 points + 300
yuan") and a dynamic split (points offset cash at the offer's own rate, up to a share of the
price, in blocks, leaving a minimum cash part). Every option it lists states the value per
point it implies and, given the reference valuation, how many times the reference that is, so
an operator sees that the watch pays 0.10 yuan a point against a reference of 0.01.

Rounding never undercharges. A tier discount on a points price rounds the points up; the
cash of a split rounds up to the money grid; a split in blocks that covers the whole price
rounds up to the next block (the member may spend more points than the residual price, as in
Delta's Pay with Miles), and the option reports that overcharge, which is always less than one
block's value (or one minor unit of the cash).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit._values import Money, round_fraction
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    InvalidArgumentError,
)
from pointkit.pricing._config import check_items, field
from pointkit.pricing._valuation import Valuation, check_fraction, money_fraction


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit._values import MoneyCurrency


__all__ = ["Bundle", "OptionKind", "PointsSplit", "Price", "PriceOption"]

OptionKind: TypeAlias = Literal["points", "bundle", "split", "cash"]
"""How an option pays: all points, a fixed bundle, a dynamic split, or all cash."""

_NO_DISCOUNT: Final = Fraction(0)


def _points(name: str, value: object, *, minimum: int = 1) -> int:
    return check_int(
        name, value, minimum=minimum, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
    )


def _money(name: str, value: object) -> Money:
    if not isinstance(value, Money):
        raise ArgumentTypeError(f"{name}={value!r} must be Money, not {type_name(value)}")
    if value.amount < 0:
        raise InvalidArgumentError(f"{name}={value} must not be negative")
    return value


def _bundle_points(value: int) -> int:
    return _points("points", value)


def _bundle_cash(value: Money) -> Money:
    cash = _money("cash", value)
    if cash.amount == 0:
        raise InvalidArgumentError(
            f"cash={cash} must be more than zero; an all-points price is Price(points=...)"
        )
    return cash


@final
@attrs.frozen
class Bundle:
    """A fixed points + cash option: ``Bundle(2_000, Money(300, "CNY"))``.

    Attributes:
        points: The points part, at least 1.
        cash: The cash part, more than zero.
    """

    points: int = attrs.field(converter=_bundle_points)
    cash: Money = attrs.field(converter=_bundle_cash)


def _split_rate(value: Fraction | int) -> Fraction:
    rate = check_fraction("per_point", value)
    if rate <= 0:
        raise InvalidArgumentError(f"per_point={rate} must be more than zero")
    return rate


def _split_share(value: Fraction | int) -> Fraction:
    share = check_fraction("max_share", value, maximum=Fraction(1))
    if share <= 0:
        raise InvalidArgumentError(f"max_share={share} must be more than zero and at most 1")
    return share


def _split_min_cash(value: Money | None) -> Money | None:
    return None if value is None else _money("min_cash", value)


def _split_block(value: int) -> int:
    return _points("block", value)


def _split_min_points(value: int) -> int:
    return _points("min_points", value, minimum=0)


@final
@attrs.frozen
class PointsSplit:
    """A dynamic split: points offset the cash price at the offer's own rate.

    JD's rule (100 beans a yuan, at most half of a physical order, in steps of 1,000 beans) is
    ``PointsSplit(Fraction(1, 100), max_share=Fraction(1, 2), block=1_000)``.

    Attributes:
        per_point: The money one point offsets, in the money unit, exact (``Fraction(1, 5)``:
            0.20 yuan a point).
        max_share: The largest share of the price points may pay, in ``(0, 1]``.
        min_cash: The least cash the member pays, if any.
        block: Points are used in multiples of this.
        min_points: The fewest points a split may use (a multiple of *block*); 0 lets the
            member pay all cash.
    """

    per_point: Fraction = attrs.field(converter=_split_rate)
    max_share: Fraction = attrs.field(default=Fraction(1), converter=_split_share, kw_only=True)
    min_cash: Money | None = attrs.field(default=None, converter=_split_min_cash, kw_only=True)
    block: int = attrs.field(default=1, converter=_split_block, kw_only=True)
    min_points: int = attrs.field(default=0, converter=_split_min_points, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.min_points % self.block:
            raise InvalidArgumentError(
                f"min_points={self.min_points} must be a multiple of block={self.block}"
            )


@final
@attrs.frozen
class PriceOption:
    """One way to pay for an offer, with what it implies a point is worth.

    Attributes:
        id: ``"points"``, ``"bundle:N"``, ``"split"`` or ``"cash"``: what a redemption names.
        kind: How it pays.
        points: The points to pay (after any tier discount).
        cash: The cash to pay; ``None`` when the price has no money side at all.
        implied_per_point: The money value per point the option implies: the cash it saves
            against the cash price (or, for a bundle without one, against the all-points
            price), per point; ``None`` where there is nothing to compare with.
        reference_per_point: The reference valuation's value per point, if one was given.
        premium: ``implied_per_point / reference_per_point``: 10 means a point buys ten times
            its reference value here.
        overcharge: How much more than the price the option asks, in the money unit, exact:
            the rounding of a split's cash up to the grid, or the last block of a split that
            covers the whole price. Always less than one block's value (or one minor unit).
        rounded_points: How many points rounding a discounted points price up added, below 1.
        discount: The tier discount applied to the points side.
    """

    id: str
    kind: OptionKind
    points: int
    cash: Money | None
    implied_per_point: Fraction | None
    reference_per_point: Fraction | None
    premium: Fraction | None
    overcharge: Fraction
    rounded_points: Fraction
    discount: Fraction

    def describe(self) -> str:
        """The option in words, for a catalogue or a consistency report.

        >>> from fractions import Fraction
        >>> from pointkit import Money
        >>> from pointkit.pricing import Valuation
        >>> price = Price(points=5_000, bundles=[Bundle(2_000, Money(300, "CNY"))])
        >>> for option in price.options(reference=Valuation(100, Money(1, "CNY"))):
        ...     print(option.describe())
        5000 points
        2000 points + 300.00 CNY (0.1 CNY a point, 10x the reference)
        """
        parts = []
        if self.points:
            parts.append(f"{self.points} points")
        if self.cash is not None and (self.cash.amount or not self.points):
            parts.append(str(self.cash))
        text = " + ".join(parts)
        notes = []
        if self.implied_per_point is not None and self.cash is not None and self.points:
            rate = _decimal_text(self.implied_per_point, 4)
            note = f"{rate} {self.cash.currency.code} a point"
            if self.premium is not None:
                note += f", {_decimal_text(self.premium, 2)}x the reference"
            notes.append(note)
        if self.overcharge and self.cash is not None:
            notes.append(
                f"rounding asks {_decimal_text(self.overcharge)} {self.cash.currency.code} more"
            )
        return f"{text} ({'; '.join(notes)})" if notes else text


def _decimal_text(value: Fraction, places: int = 6) -> str:
    """A fraction as a short decimal: exact when it ends within *places*, else ``~`` rounded."""
    for digits in range(places + 1):
        scaled = value * 10**digits
        if scaled.denominator == 1:
            return _digits(int(scaled), digits)
    return "~" + _digits(round_fraction(value * 10**places, rounding="half_even"), places)


def _digits(whole: int, places: int) -> str:
    sign = "-" if whole < 0 else ""
    text = str(abs(whole)).rjust(places + 1, "0")
    return f"{sign}{text[:-places]}.{text[-places:]}" if places else f"{sign}{text}"


def _check_discount(value: object) -> Fraction:
    discount = check_fraction("discount", value, minimum=Fraction(0))
    if discount >= 1:
        raise InvalidArgumentError(
            f"discount={discount} must be less than 1 (Fraction(1, 10) pays 90% of the price)"
        )
    return discount


def _check_reference(value: object) -> Valuation | None:
    if value is not None and not isinstance(value, Valuation):
        raise ArgumentTypeError(
            f"reference={value!r} must be a Valuation or None, not {type_name(value)}"
        )
    return value


@final
@attrs.frozen(init=False)
class Price:
    """An offer's price: the ways to pay for it, on the offer's own terms.

    >>> from fractions import Fraction
    >>> from pointkit import Money
    >>> trip = Price(cash=Money(5_000, "CNY"), split=PointsSplit(Fraction(1, 5), max_share=Fraction(2, 5)))
    >>> [(option.id, option.points, str(option.cash)) for option in trip.options()]
    [('split', 10000, '3000.00 CNY'), ('cash', 0, '5000.00 CNY')]
    >>> Price(points=5_000, bundles=[Bundle(6_000, Money(300, "CNY"))])
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ConfigurationError: Price has 1 problem:
      - bundles[0].points: 6000 must be less than the all-points price (5000), or the bundle costs more than paying in points

    Args:
        points: The all-points price, if points alone can pay.
        cash: The all-cash price: what the split offsets, and what implied values compare
            with; required with *split*.
        bundles: Fixed points + cash options, up to ``limits.PRICE_BUNDLES_MAX``.
        split: A dynamic split of the cash price.

    Raises:
        ConfigurationError: Listing every problem, each naming its field.
    """

    points: int | None
    cash: Money | None
    bundles: tuple[Bundle, ...]
    split: PointsSplit | None

    def __init__(
        self,
        *,
        points: int | None = None,
        cash: Money | None = None,
        bundles: Sequence[Bundle] = (),
        split: PointsSplit | None = None,
    ) -> None:
        problems: list[str] = []
        all_points = (
            None
            if points is None
            else field(problems, "points", lambda: _points("points", points), None)
        )
        all_cash = (
            None if cash is None else field(problems, "cash", lambda: _money("cash", cash), None)
        )
        checked_bundles = _price_bundles(problems, bundles)
        given_split: object = split  # checked at run time whatever the annotation says
        if given_split is not None and not isinstance(given_split, PointsSplit):
            problems.append(
                f"split: {given_split!r} must be a PointsSplit, not {type_name(given_split)}"
            )
            split = None
        if all_points is None and not checked_bundles and split is None:
            problems.append(
                "points: a price needs a way to pay with points: points, bundles or a split"
            )
        currency = None if all_cash is None else all_cash.currency
        for index, bundle in enumerate(checked_bundles):
            currency = _same_currency(problems, f"bundles[{index}].cash", bundle.cash, currency)
            if all_points is not None and bundle.points >= all_points:
                problems.append(
                    f"bundles[{index}].points: {bundle.points} must be less than the all-points "
                    f"price ({all_points}), or the bundle costs more than paying in points"
                )
            if (
                all_cash is not None
                and bundle.cash.currency == all_cash.currency
                and bundle.cash >= all_cash
            ):
                problems.append(
                    f"bundles[{index}].cash: {bundle.cash} must be less than the cash price "
                    f"({all_cash}), or the bundle costs more than paying in cash"
                )
        if split is not None:
            _price_split(problems, split, all_cash)
        if problems:
            raise ConfigurationError("Price", problems)
        self.__attrs_init__(all_points, all_cash, checked_bundles, split)

    @property
    def currency(self) -> MoneyCurrency | None:
        """The money currency of the cash side, if the price has one."""
        if self.cash is not None:
            return self.cash.currency
        return self.bundles[0].cash.currency if self.bundles else None

    def options(
        self, *, reference: Valuation | None = None, discount: Fraction = _NO_DISCOUNT
    ) -> tuple[PriceOption, ...]:
        """Every way to pay, in order: all points, the bundles, the split's most points, all cash.

        Args:
            reference: The program's reference valuation, to compare implied values with.
            discount: A tier discount on the points side, in ``[0, 1)``.
        """
        ref = _check_reference(reference)
        off = _check_discount(discount)
        found: list[PriceOption] = []
        if self.points is not None:
            found.append(self._fixed("points", "points", self.points, None, ref, off))
        found.extend(
            self._fixed(f"bundle:{index}", "bundle", bundle.points, bundle.cash, ref, off)
            for index, bundle in enumerate(self.bundles)
        )
        if self.split is not None:
            fewest, most = self.split_range(discount=off)
            if most >= max(fewest, 1):
                found.append(self.split_quote(most, reference=ref, discount=off))
        if self.cash is not None:
            found.append(
                PriceOption(
                    "cash",
                    "cash",
                    0,
                    self.cash,
                    None,
                    _rate(ref),
                    None,
                    Fraction(0),
                    Fraction(0),
                    off,
                )
            )
        return tuple(found)

    def option(
        self,
        option_id: str,
        *,
        reference: Valuation | None = None,
        discount: Fraction = _NO_DISCOUNT,
        points: int | None = None,
    ) -> PriceOption:
        """Return the option called *option_id*; for ``"split"``, using *points* points.

        Raises:
            InvalidArgumentError: If the price has no such option, or *points* is given for
                another option or does not fit the split.
        """
        if option_id == "split" and self.split is not None and points is not None:
            return self.split_quote(points, reference=reference, discount=discount)
        if points is not None:
            raise InvalidArgumentError(
                f"points={points!r} applies only to the 'split' option, not {option_id!r}"
            )
        for option in self.options(reference=reference, discount=discount):
            if option.id == option_id:
                return option
        valid = ", ".join(repr(option.id) for option in self.options())
        raise InvalidArgumentError(f"option={option_id!r} is not one of {valid}")

    def split_range(self, *, discount: Fraction = _NO_DISCOUNT) -> tuple[int, int]:
        """The fewest and most points the split may use (besides 0, all cash).

        The most is the largest multiple of the block within the share and above the minimum
        cash; when the split may cover the whole price, it may round up one block past it.

        Raises:
            InvalidArgumentError: If the price has no split.
        """
        split, cash = self._split()
        rate = split.per_point / (1 - _check_discount(discount))
        return (split.min_points, _most_points(split, cash, rate))

    def split_quote(
        self,
        points: int,
        *,
        reference: Valuation | None = None,
        discount: Fraction = _NO_DISCOUNT,
    ) -> PriceOption:
        """The split option that uses *points* points: the cash rounds up to the grid.

        >>> from fractions import Fraction
        >>> from pointkit import Money
        >>> order = Price(cash=Money("88.80", "CNY"), split=PointsSplit(Fraction(1, 100), max_share=Fraction(1, 2), block=1_000))
        >>> order.split_range()
        (0, 4000)
        >>> str(order.split_quote(4_000).cash)
        '48.80 CNY'
        >>> order.split_quote(5_000)
        Traceback (most recent call last):
        ...
        pointkit.exceptions.InvalidArgumentError: points=5000 must be a multiple of 1000 from 0 to 4000 for this split

        Raises:
            InvalidArgumentError: If the price has no split, or *points* is not a multiple of
                the block within :meth:`split_range` (0 is always allowed: all cash).
        """
        split, cash = self._split()
        ref = _check_reference(reference)
        off = _check_discount(discount)
        used = _points("points", points, minimum=0)
        fewest, most = self.split_range(discount=off)
        if used % split.block or not (used == 0 or fewest <= used <= most):
            raise InvalidArgumentError(
                f"points={used} must be a multiple of {split.block} from {fewest} to {most} "
                "for this split"
            )
        rate = split.per_point / (1 - off)
        price = money_fraction(cash)
        left = price - used * rate
        if left <= 0:
            paid, overcharge = Money(0, cash.currency), -left
        else:
            paid = Money.of(left, cash.currency, rounding="ceiling")
            overcharge = money_fraction(paid) - left
        implied = (price - money_fraction(paid)) / used if used else None
        return PriceOption(
            "split",
            "split",
            used,
            paid,
            implied,
            _rate(ref),
            _premium(implied, ref),
            overcharge,
            Fraction(0),
            off,
        )

    def _split(self) -> tuple[PointsSplit, Money]:
        if self.split is None or self.cash is None:
            raise InvalidArgumentError("this price has no split; give Price(split=..., cash=...)")
        return (self.split, self.cash)

    def _fixed(
        self,
        option_id: str,
        kind: OptionKind,
        points: int,
        cash: Money | None,
        reference: Valuation | None,
        discount: Fraction,
    ) -> PriceOption:
        exact = points * (1 - discount)
        charged = round_fraction(exact, rounding="ceiling")
        implied: Fraction | None = None
        if self.cash is not None:
            saved = money_fraction(self.cash) - (money_fraction(cash) if cash else 0)
            implied = saved / charged
        elif cash is not None and self.points is not None:
            all_points = round_fraction(self.points * (1 - discount), rounding="ceiling")
            if all_points > charged:
                implied = money_fraction(cash) / (all_points - charged)
        return PriceOption(
            option_id,
            kind,
            charged,
            cash
            if cash is not None
            else (None if self.currency is None else Money(0, self.currency)),
            implied,
            _rate(reference),
            _premium(implied, reference),
            Fraction(0),
            charged - exact,
            discount,
        )


def _rate(reference: Valuation | None) -> Fraction | None:
    return None if reference is None else reference.per_point


def _premium(implied: Fraction | None, reference: Valuation | None) -> Fraction | None:
    if implied is None or reference is None:
        return None
    return implied / reference.per_point


def _price_bundles(problems: list[str], bundles: object) -> tuple[Bundle, ...]:
    checked: list[Bundle] = []
    for index, bundle in check_items(
        problems,
        "bundles",
        bundles,
        Bundle,
        limit=limits.PRICE_BUNDLES_MAX,
        limit_name="PRICE_BUNDLES_MAX",
    ):
        if bundle in checked:
            problems.append(
                f"bundles[{index}]: {bundle.points} points + {bundle.cash} is listed twice"
            )
        else:
            checked.append(bundle)
    return tuple(checked)


def _same_currency(
    problems: list[str], name: str, money: Money, currency: MoneyCurrency | None
) -> MoneyCurrency:
    if currency is not None and money.currency != currency:
        problems.append(f"{name}: {money} must be in {currency.code}, like the rest of the price")
        return currency
    return money.currency


def _most_points(split: PointsSplit, cash: Money, rate: Fraction) -> int:
    """The most points *split* may use on *cash* at *rate* money a point.

    The largest multiple of the block within the share and above the minimum cash; when the
    split may cover the whole price, it may round up one block past it.
    """
    price = money_fraction(cash)
    offset = price * split.max_share
    if split.min_cash is not None:
        offset = min(offset, price - money_fraction(split.min_cash))
    most = round_fraction(offset / rate / split.block, rounding="floor") * split.block
    if offset == price and most * rate < price:
        most += split.block  # covers the whole price, rounding up to the next block
    return most


def _price_split(problems: list[str], split: PointsSplit, cash: Money | None) -> None:
    if cash is None:
        problems.append("cash: a split needs the cash price it offsets; give cash=Money(...)")
        return
    if split.min_cash is not None:
        if split.min_cash.currency != cash.currency:
            problems.append(
                f"split.min_cash: {split.min_cash} must be in {cash.currency.code}, like the cash price"
            )
            return
        if split.min_cash > cash:
            problems.append(
                f"split.min_cash: {split.min_cash} must not be more than the cash price ({cash})"
            )
            return
    price = money_fraction(cash)
    offset = price * split.max_share
    if split.min_cash is not None:
        offset = min(offset, price - money_fraction(split.min_cash))
    if split.min_points * split.per_point > offset and offset != price:
        problems.append(
            f"split.min_points: {split.min_points} points offset more than the split allows "
            f"({_decimal_text(offset)} {cash.currency.code})"
        )
    most = _most_points(split, cash, split.per_point)  # no discount: the most it can ever use
    if most > limits.POINTS_MAX:
        problems.append(
            f"split: its largest option takes {most} points, over limits.POINTS_MAX "
            f"({limits.POINTS_MAX}); raise per_point or lower the share"
        )
