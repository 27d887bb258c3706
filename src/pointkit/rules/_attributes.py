"""Attribute values: the typed values events carry and condition constants hold, and their checks.

Maintainer's notes
------------------
An event attribute is an int, Decimal, Money, str, bool, aware datetime, date, a tuple of str or
a tuple of :class:`Line`, never a float. :func:`check_value` is the one gate every such value
passes, for events and condition constants alike, and returns it in its canonical form (plain
``int`` and ``str``, datetimes in UTC, lists as tuples), so that a value's exact type is its
type and two equal values compare, hash and serialise equal. The names of kinds and
attributes are checked here too, so an event and a schema refuse the same names in the same
words. :data:`MISSING` stands for a fact an event or a member does not have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final, TypeAlias, TypeVar, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_text, type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError


if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = [
    "MISSING",
    "RESERVED_ATTRIBUTES",
    "AttributeValue",
    "Line",
    "Missing",
    "check_kind",
    "check_name",
    "check_value",
]


@final
class Missing:
    """The type of :data:`MISSING`, the value of a fact an event or a member does not have."""

    __slots__ = ()
    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()
"""What :meth:`Event.get` returns for an attribute the event does not carry."""

RESERVED_ATTRIBUTES: Final = frozenset(
    {"at", "id", "kind", "local_date", "local_hour", "local_weekday", "member"}
)
"""Names no attribute may take: conditions read them as facts of every event."""

_NAME: Final = re.compile(r"[a-z][a-z0-9_]*\Z")
_NAME_VALID: Final = "lower-case letters, digits and underscores, starting with a letter"


# -- names and values -------------------------------------------------------------------------


def check_name(name: str, value: object) -> str:
    """Return *value* if it can name an event kind or attribute (``purchase``, ``order_id``).

    Raises:
        ArgumentTypeError: If *value* is not a str.
        LimitExceededError: If it is longer than ``limits.EVENT_NAME_LENGTH_MAX``.
        InvalidArgumentError: If it is not lower-case letters, digits and underscores.
    """
    text = check_text(
        name, value, max_length=limits.EVENT_NAME_LENGTH_MAX, limit_name="EVENT_NAME_LENGTH_MAX"
    )
    if not _NAME.match(text):
        raise InvalidArgumentError(f"{name}={text!r} must be {_NAME_VALID}")
    return text


def check_kind(name: str, value: object) -> str:
    """Return *value* if it can name an event kind; see :func:`check_name`."""
    return check_name(name, value)


def _check_attribute_name(name: str, value: object) -> str:
    checked = check_name(name, value)
    if checked in RESERVED_ATTRIBUTES:
        reserved = ", ".join(repr(word) for word in sorted(RESERVED_ATTRIBUTES))
        raise InvalidArgumentError(
            f"{name}={checked!r} is reserved for facts of every event ({reserved})"
        )
    return checked


def _check_decimal(name: str, value: Decimal) -> Decimal:
    if not value.is_finite():
        raise InvalidArgumentError(f"{name}={value!r} must be a finite Decimal")
    digits = len(value.as_tuple().digits)
    if digits > limits.MONEY_DIGITS_MAX or not (
        -limits.MONEY_DIGITS_MAX <= value.adjusted() < limits.MONEY_DIGITS_MAX
    ):
        raise LimitExceededError(
            f"{name}={value!r} needs more than limits.MONEY_DIGITS_MAX "
            f"({limits.MONEY_DIGITS_MAX}) digits"
        )
    return Decimal(value)


def _check_text_value(name: str, value: object) -> str:
    return check_text(
        name, value, max_length=limits.EVENT_TEXT_LENGTH_MAX, limit_name="EVENT_TEXT_LENGTH_MAX"
    )


_VALUE_TYPES: Final = (
    "an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line"
)


def _check_sequence(name: str, value: tuple[object, ...] | list[object]) -> tuple[object, ...]:
    if all(isinstance(item, Line) for item in value):
        if len(value) > limits.EVENT_LINES_MAX:
            raise LimitExceededError(
                f"{name} has {len(value)} lines, over limits.EVENT_LINES_MAX "
                f"({limits.EVENT_LINES_MAX})"
            )
        return tuple(value)
    if len(value) > limits.EVENT_STRINGS_MAX:
        raise LimitExceededError(
            f"{name} has {len(value)} items, over limits.EVENT_STRINGS_MAX "
            f"({limits.EVENT_STRINGS_MAX})"
        )
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ArgumentTypeError(
                f"{name}[{index}]={item!r} must be a str (or every item a Line), "
                f"not {type_name(item)}"
            )
        items.append(_check_text_value(f"{name}[{index}]", item))
    return tuple(items)


def check_value(name: str, value: object) -> AttributeValue:
    """Return *value* in its canonical form if it can be an event attribute's value.

    Ints and text come back as plain ``int`` and ``str``, datetimes in UTC, lists as tuples.

    Raises:
        ArgumentTypeError: If *value* has another type; floats are refused.
        NaiveDatetimeError: If it is a datetime without a time zone.
        LimitExceededError: If it is over a limit (digits, text length, items).
        InvalidArgumentError: If it is otherwise invalid (blank text, a non-finite Decimal).
    """
    result: AttributeValue
    if isinstance(value, bool):
        result = value
    elif isinstance(value, int):
        result = check_int(
            name,
            value,
            minimum=-limits.POINTS_MAX,
            maximum=limits.POINTS_MAX,
            limit_name="POINTS_MAX",
        )
    elif isinstance(value, Decimal):
        result = _check_decimal(name, value)
    elif isinstance(value, Money):
        result = value
    elif isinstance(value, str):
        result = _check_text_value(name, value)
    elif isinstance(value, datetime):
        aware = check_aware(name, value)
        result = datetime(  # a plain datetime, whatever subclass came in
            aware.year,
            aware.month,
            aware.day,
            aware.hour,
            aware.minute,
            aware.second,
            aware.microsecond,
            tzinfo=aware.tzinfo,
        )
    elif isinstance(value, date):
        result = date(value.year, value.month, value.day)
    elif isinstance(value, tuple | list):
        result = _check_sequence(name, value)  # type: ignore[assignment]  # homogeneous by the check
    elif isinstance(value, float):
        raise ArgumentTypeError(
            f"{name}={value!r} must be {_VALUE_TYPES}, not float; "
            "floats are refused: use Decimal or Money"
        )
    else:
        raise ArgumentTypeError(f"{name}={value!r} must be {_VALUE_TYPES}, not {type_name(value)}")
    return result


# -- lines ------------------------------------------------------------------------------------


def _to_product(value: str) -> str:
    return _check_text_value("product", value)


def _to_category(value: str) -> str:
    return _check_text_value("category", value)


def _to_line_amount(value: Money) -> Money:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, Money):
        raise ArgumentTypeError(f"amount={given!r} must be Money, not {type_name(given)}")
    if given.amount < 0:
        raise InvalidArgumentError(f"amount={given!s} must not be negative")
    return given


def _to_quantity(value: int) -> int:
    return check_int(
        "quantity", value, minimum=1, maximum=limits.POINTS_MAX, limit_name="POINTS_MAX"
    )


@final
@attrs.frozen
class Line:
    """One line of a purchase: a product, its category, the line's total amount and quantity.

    >>> Line("sku-1", "books", Money("59.00", "CNY"), quantity=2)
    Line(product='sku-1', category='books', amount=Money(amount=Decimal('59.00'), currency=MoneyCurrency(code='CNY', decimals=2)), quantity=2)

    Attributes:
        product: The product's id in the host's catalogue.
        category: The product's category, as conditions see it (``event.lines.categories``).
        amount: What the line costs in total (all its units), not negative.
        quantity: How many units, at least 1.
    """

    product: str = attrs.field(converter=_to_product)
    category: str = attrs.field(converter=_to_category)
    amount: Money = attrs.field(converter=_to_line_amount)
    quantity: int = attrs.field(default=1, converter=_to_quantity)


# -- attribute values -------------------------------------------------------------------------

AttributeValue: TypeAlias = (
    int | Decimal | Money | str | bool | datetime | date | tuple[str, ...] | tuple[Line, ...]
)
"""A value an event attribute may hold (never a float)."""


_Checked = TypeVar("_Checked")


def _named_pairs(
    field: str,
    value: object,
    *,
    what: str,
    check: Callable[[str, object], _Checked],
) -> tuple[tuple[str, _Checked], ...]:
    """Check a mapping (or sequence of pairs) of attribute names to values, sorted by name.

    *what* names the values in messages ("value", "FieldSpec"); *check* checks one value.
    """
    pairs: list[object]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, tuple | list):
        pairs = list(value)
    else:
        raise ArgumentTypeError(
            f"{field}={value!r} must be a mapping of name to {what}, not {type_name(value)}"
        )
    if len(pairs) > limits.EVENT_ATTRIBUTES_MAX:
        raise LimitExceededError(
            f"{field} has {len(pairs)} entries, over limits.EVENT_ATTRIBUTES_MAX "
            f"({limits.EVENT_ATTRIBUTES_MAX})"
        )
    checked: dict[str, _Checked] = {}
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:  # noqa: PLR2004 - a pair
            raise ArgumentTypeError(f"{field} entry {pair!r} must be a (name, {what}) pair")
        name = _check_attribute_name(f"{field} key", pair[0])
        if name in checked:
            raise InvalidArgumentError(f"{field}[{name!r}] is given twice")
        checked[name] = check(f"{field}[{name!r}]", pair[1])
    return tuple(sorted(checked.items(), key=lambda item: item[0]))
