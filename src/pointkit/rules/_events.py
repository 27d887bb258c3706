"""Events: what members do, as typed immutable values, and the schemas each kind follows.

Maintainer's notes
------------------
An :class:`Event` is the one input of rule evaluation besides the member's state. Its
attributes are typed values (int, Decimal, Money, str, bool, aware datetime, date, a tuple of
str, a tuple of :class:`Line`), never floats, kept as sorted ``(name, value)`` pairs so that two
equal events compare, hash and serialise equal whatever order the attributes were given in.

Which attributes a kind carries is data too: an :class:`EventSchema` per kind, held by an
:class:`EventRegistry` with the built-in kinds and any the host registers. Rule sets check their
conditions against the schemas when they are built, and every event against its schema when it
is evaluated, so a misspelt attribute is found once, at the boundary, not as a silently false
condition. Two built-in kinds carry cross-field checks a schema cannot state (a purchase's tax,
shipping and points payment fit in its amount; a review's rating is 1 to 5); they run in
:meth:`EventRegistry.validate` too, so an event built without the helper constructors is held to
the same rules.

The value codec (:func:`encode_value`, :func:`decode_value`) lives here because events and
condition constants share it: ints, bools and strings are themselves in JSON, every other type
is a one-key object (``{"decimal": "1.50"}``, ``{"date": "2026-03-01"}``) or, for money,
``{"amount": "10.00", "currency": "CNY"}``.
"""

from __future__ import annotations

import calendar
import decimal
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, TypeVar, final

import attrs

from pointkit import limits
from pointkit._localtime import resolve
from pointkit._validate import check_aware, check_int, check_text, check_zone, type_name
from pointkit._values import MemberId, Money, MoneyCurrency
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError


if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo


__all__ = [
    "BUILTIN_KINDS",
    "FEB29_POLICIES",
    "FIELD_TYPES",
    "MISSING",
    "RESERVED_ATTRIBUTES",
    "AttributeValue",
    "Event",
    "EventRegistry",
    "EventSchema",
    "Feb29",
    "FieldSpec",
    "FieldType",
    "Line",
    "Missing",
    "anniversary_events",
    "birthday_events",
    "check_kind",
    "check_name",
    "check_value",
    "decode_money",
    "decode_value",
    "encode_money",
    "encode_value",
    "falls_on",
    "show_value",
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

FieldType: TypeAlias = Literal[
    "int", "decimal", "money", "str", "bool", "datetime", "date", "strings", "lines"
]
"""The type of an event attribute in a schema: ``strings`` is a tuple of str (tags),
``lines`` a tuple of :class:`Line` (order lines)."""

FIELD_TYPES: Final[tuple[FieldType, ...]] = (
    "int",
    "decimal",
    "money",
    "str",
    "bool",
    "datetime",
    "date",
    "strings",
    "lines",
)

Feb29: TypeAlias = Literal["feb28", "mar1"]
"""Where a 29 February birthday or anniversary falls in a year without one."""

FEB29_POLICIES: Final[tuple[Feb29, ...]] = ("feb28", "mar1")

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


# -- events -----------------------------------------------------------------------------------

AttributeValue: TypeAlias = (
    int | Decimal | Money | str | bool | datetime | date | tuple[str, ...] | tuple[Line, ...]
)
"""A value an event attribute may hold (never a float)."""


def _to_id(value: str) -> str:
    return check_text(
        "id",
        value,
        max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
        limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
    )


def _to_kind(value: str) -> str:
    return check_kind("kind", value)


def _to_member(value: str) -> MemberId:
    return MemberId(value)


def _to_at(value: datetime) -> datetime:
    return check_aware("at", value)


Attributes: TypeAlias = tuple[tuple[str, AttributeValue], ...]


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


def _to_attributes(
    value: Mapping[str, object] | Iterable[tuple[str, object]],
) -> Attributes:
    return _named_pairs("attributes", value, what="value", check=check_value)


@final
@attrs.frozen
class Event:
    """Something a member did, as rules see it: a kind, an instant and typed attributes.

    Build the built-in kinds with the helper constructors (:meth:`purchase`, :meth:`sign_in`,
    ...); host-defined kinds directly. The id is the idempotency key: the ledger records each
    event id once.

    >>> from datetime import UTC, datetime
    >>> event = Event.review("r-1", "alice", datetime(2026, 3, 1, 12, tzinfo=UTC), length=42, rating=5)
    >>> event.get("rating"), event.get("product")
    (5, MISSING)
    >>> Event("e-1", "tip", "alice", datetime(2026, 3, 1, tzinfo=UTC), {"amount": 1.5})
    Traceback (most recent call last):
    ...
    pointkit.exceptions.ArgumentTypeError: attributes['amount']=1.5 must be an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line, not float; floats are refused: use Decimal or Money

    Attributes:
        id: The event's id and idempotency key: 1 to ``limits.IDEMPOTENCY_KEY_LENGTH_MAX``
            printable characters.
        kind: The event's kind (``"purchase"``), lower-case letters, digits and underscores.
        member: The member who did it.
        at: When it happened, in UTC (an aware datetime in any zone is converted).
        attributes: ``(name, value)`` pairs sorted by name; a mapping is accepted.
    """

    id: str = attrs.field(converter=_to_id)
    kind: str = attrs.field(converter=_to_kind)
    member: MemberId = attrs.field(converter=_to_member)
    at: datetime = attrs.field(converter=_to_at)
    attributes: Attributes = attrs.field(default=(), converter=_to_attributes)
    _values: Mapping[str, AttributeValue] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_values", MappingProxyType(dict(self.attributes)))

    def get(self, name: str) -> AttributeValue | Missing:
        """Return the value of attribute *name*, or :data:`MISSING` if the event has none."""
        return self._values.get(name, MISSING)

    def to_dict(self) -> dict[str, object]:
        """Return the event as JSON-ready data (see :func:`encode_value` for the values)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "member": str(self.member),
            "at": self.at.isoformat(),
            "attributes": {name: encode_value(value) for name, value in self.attributes},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Event:
        """Build an event from :meth:`to_dict`'s data.

        Raises:
            InvalidArgumentError: If the data is not an event's (the message names the field).
        """
        if not isinstance(data, Mapping):
            raise ArgumentTypeError(f"event={data!r} must be a mapping, not {type_name(data)}")
        expected = {"id", "kind", "member", "at", "attributes"}
        if set(data) != expected:
            raise InvalidArgumentError(
                f"event has fields {sorted(data)}, expected {sorted(expected)}"
            )
        at = data["at"]
        if not isinstance(at, str):
            raise ArgumentTypeError(f"at={at!r} must be an ISO 8601 string")
        try:
            instant = datetime.fromisoformat(at)
        except ValueError:
            raise InvalidArgumentError(f"at={at!r} is not an ISO 8601 instant") from None
        attributes = data["attributes"]
        if not isinstance(attributes, Mapping):
            raise ArgumentTypeError(f"attributes={attributes!r} must be a mapping")
        return cls(
            data["id"],  # type: ignore[arg-type]  # the converters check it
            data["kind"],  # type: ignore[arg-type]
            data["member"],  # type: ignore[arg-type]
            instant,
            {
                str(name): decode_value(f"attributes[{name!r}]", value)
                for name, value in attributes.items()
            },
        )

    # -- built-in kinds ---------------------------------------------------------------------

    @classmethod
    def purchase(
        cls,
        id: str,  # noqa: A002 - the event's field is called id
        member: MemberId | str,
        at: datetime,
        *,
        amount: Money,
        order_id: str,
        lines: Iterable[Line] = (),
        paid_with_points: Money | None = None,
        tax: Money | None = None,
        shipping: Money | None = None,
    ) -> Event:
        """A purchase: the order's total, its id, and optionally its lines and parts.

        *amount* is what the order cost in total, tax, shipping and the part paid with points
        included; a :class:`~pointkit.rules.Rate` declares which parts count. Every money
        amount is in *amount*'s currency, and tax, shipping and the points payment together
        fit in the amount. Lines need not add up to the amount. Empty *lines* are left out, so
        ``event.lines.count`` is missing rather than 0 for an order sent without its lines.

        >>> from datetime import UTC, datetime
        >>> from pointkit import Money
        >>> Event.purchase("o-1", "alice", datetime(2026, 3, 1, tzinfo=UTC), amount=Money(100, "CNY"), order_id="o-1", tax=Money(120, "CNY"))
        Traceback (most recent call last):
        ...
        pointkit.exceptions.InvalidArgumentError: tax=120.00 CNY must not be more than amount (100.00 CNY)

        Raises:
            InvalidArgumentError: If an amount is negative, in another currency, or the parts
                do not fit in the amount.
        """
        attributes: dict[str, object] = {"amount": amount, "order_id": order_id}
        checked_lines = tuple(lines)
        if checked_lines:
            attributes["lines"] = checked_lines
        parts = {"paid_with_points": paid_with_points, "tax": tax, "shipping": shipping}
        attributes.update({name: part for name, part in parts.items() if part is not None})
        event = cls(id, "purchase", member, at, attributes)
        _check_purchase(event)
        return event

    @classmethod
    def sign_in(cls, id: str, member: MemberId | str, at: datetime) -> Event:  # noqa: A002
        """A daily sign-in (check-in)."""
        return cls(id, "sign_in", member, at)

    @classmethod
    def share(
        cls,
        id: str,  # noqa: A002
        member: MemberId | str,
        at: datetime,
        *,
        channel: str | None = None,
    ) -> Event:
        """A share, optionally naming the channel (``"wechat"``)."""
        attributes = {} if channel is None else {"channel": channel}
        return cls(id, "share", member, at, attributes)

    @classmethod
    def invite(
        cls,
        id: str,  # noqa: A002
        member: MemberId | str,
        at: datetime,
        *,
        invitee: str,
    ) -> Event:
        """An invitation sent by *member* to *invitee* (the invitee's id or contact)."""
        return cls(id, "invite", member, at, {"invitee": invitee})

    @classmethod
    def invitee_registered(
        cls,
        id: str,  # noqa: A002
        member: MemberId | str,
        at: datetime,
        *,
        invitee: str,
    ) -> Event:
        """*invitee*, invited by *member*, registered: the event that pays the inviter."""
        return cls(id, "invitee_registered", member, at, {"invitee": invitee})

    @classmethod
    def review(
        cls,
        id: str,  # noqa: A002
        member: MemberId | str,
        at: datetime,
        *,
        length: int,
        rating: int,
        product: str | None = None,
    ) -> Event:
        """A review of *length* characters with a *rating* of 1 to 5, optionally of a product.

        Raises:
            InvalidArgumentError: If the length is negative or the rating is not 1 to 5.
        """
        attributes: dict[str, object] = {"length": length, "rating": rating}
        if product is not None:
            attributes["product"] = product
        event = cls(id, "review", member, at, attributes)
        _check_review(event)
        return event

    @classmethod
    def profile_completed(cls, id: str, member: MemberId | str, at: datetime) -> Event:  # noqa: A002
        """The member completed their profile."""
        return cls(id, "profile_completed", member, at)

    @classmethod
    def registration(cls, id: str, member: MemberId | str, at: datetime) -> Event:  # noqa: A002
        """The member registered (the new-member gift)."""
        return cls(id, "registration", member, at)

    @classmethod
    def birthday(cls, id: str, member: MemberId | str, at: datetime) -> Event:  # noqa: A002
        """The member's birthday; :func:`birthday_events` emits these on the day."""
        return cls(id, "birthday", member, at)

    @classmethod
    def anniversary(
        cls,
        id: str,  # noqa: A002
        member: MemberId | str,
        at: datetime,
        *,
        years: int,
    ) -> Event:
        """The member's *years*-th anniversary of joining; see :func:`anniversary_events`.

        Raises:
            InvalidArgumentError: If *years* is less than 1.
        """
        event = cls(id, "anniversary", member, at, {"years": years})
        _check_anniversary(event)
        return event


def _check_purchase(event: Event) -> None:  # noqa: C901 - one check per part
    values = event._values  # noqa: SLF001 - this module's own class
    amount = values["amount"]  # the schema check has made it Money
    if type(amount) is not Money:
        raise ArgumentTypeError(f"amount={amount!r} must be Money, not {type_name(amount)}")
    total = amount.amount
    if total < 0:
        raise InvalidArgumentError(f"amount={amount!s} must not be negative")
    parts = Decimal(0)
    for name in _PURCHASE_PARTS:
        part = values.get(name)
        if type(part) is not Money:
            continue
        if part.currency != amount.currency:
            raise InvalidArgumentError(
                f"{name}={part!s} must be in the amount's currency ({amount.currency.code})"
            )
        if part.amount < 0:
            raise InvalidArgumentError(f"{name}={part!s} must not be negative")
        if part.amount > total:
            raise InvalidArgumentError(f"{name}={part!s} must not be more than amount ({amount!s})")
        parts += part.amount
    if parts > total:
        raise InvalidArgumentError(
            f"paid_with_points, tax and shipping add up to {parts} {amount.currency.code}, "
            f"more than amount ({amount!s})"
        )
    lines = values.get("lines")
    if type(lines) is tuple:
        for index, line in enumerate(lines):
            if type(line) is Line and line.amount.currency != amount.currency:
                raise InvalidArgumentError(
                    f"lines[{index}].amount={line.amount!s} must be in the amount's currency "
                    f"({amount.currency.code})"
                )


_PURCHASE_PARTS: Final = ("paid_with_points", "tax", "shipping")


_RATING_MAX: Final = 5


def _check_review(event: Event) -> None:
    rating = event.get("rating")
    if isinstance(rating, int) and not 1 <= rating <= _RATING_MAX:
        raise InvalidArgumentError(f"rating={rating!r} must be an int from 1 to 5")
    length = event.get("length")
    if isinstance(length, int) and length < 0:
        raise InvalidArgumentError(f"length={length!r} must not be negative")


def _check_anniversary(event: Event) -> None:
    years = event.get("years")
    if isinstance(years, int) and years < 1:
        raise InvalidArgumentError(f"years={years!r} must be at least 1")


# -- schemas ----------------------------------------------------------------------------------


def _to_field_type(value: FieldType) -> FieldType:
    if value not in FIELD_TYPES:
        valid = ", ".join(repr(kind) for kind in FIELD_TYPES)
        raise InvalidArgumentError(f"type={value!r} must be one of {valid}")
    return value


def _to_required(value: bool) -> bool:  # noqa: FBT001 - a converter takes the value as it is
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"required={value!r} must be a bool, not {type_name(value)}")
    return value


@final
@attrs.frozen
class FieldSpec:
    """The type of one attribute of an event kind, and whether every event must carry it.

    Attributes:
        type: One of ``int``, ``decimal``, ``money``, ``str``, ``bool``, ``datetime``,
            ``date``, ``strings`` (a tuple of str) and ``lines`` (a tuple of :class:`Line`).
        required: Whether events of the kind must carry the attribute.
    """

    type: FieldType = attrs.field(converter=_to_field_type)
    required: bool = attrs.field(default=True, converter=_to_required)


def _to_schema_kind(value: str) -> str:
    return check_kind("kind", value)


def _check_field_spec(name: str, value: object) -> FieldSpec:
    if not isinstance(value, FieldSpec):
        raise ArgumentTypeError(f"{name}={value!r} must be a FieldSpec, not {type_name(value)}")
    return value


def _to_fields(
    value: Mapping[str, FieldSpec] | Iterable[tuple[str, FieldSpec]],
) -> tuple[tuple[str, FieldSpec], ...]:
    return _named_pairs("fields", value, what="FieldSpec", check=_check_field_spec)


@final
@attrs.frozen
class EventSchema:
    """The attributes events of one kind carry.

    >>> schema = EventSchema("game_won", {"score": FieldSpec("int"), "mode": FieldSpec("str", required=False)})
    >>> schema.field("score")
    FieldSpec(type='int', required=True)

    Attributes:
        kind: The kind, lower-case letters, digits and underscores.
        fields: ``(name, FieldSpec)`` pairs sorted by name; a mapping is accepted.
    """

    kind: str = attrs.field(converter=_to_schema_kind)
    fields: tuple[tuple[str, FieldSpec], ...] = attrs.field(default=(), converter=_to_fields)

    def field(self, name: str) -> FieldSpec | None:
        """Return the spec of attribute *name*, or ``None`` if the kind has no such attribute."""
        for field_name, spec in self.fields:
            if field_name == name:
                return spec
        return None

    @property
    def names(self) -> tuple[str, ...]:
        """The attribute names, sorted."""
        return tuple(name for name, _ in self.fields)


def _money(required: bool = True) -> FieldSpec:  # noqa: FBT001, FBT002 - a table helper
    return FieldSpec("money", required=required)


def _text(required: bool = True) -> FieldSpec:  # noqa: FBT001, FBT002 - a table helper
    return FieldSpec("str", required=required)


_BUILTIN_SCHEMAS: Final = (
    EventSchema("anniversary", {"years": FieldSpec("int")}),
    EventSchema("birthday"),
    EventSchema("invite", {"invitee": _text()}),
    EventSchema("invitee_registered", {"invitee": _text()}),
    EventSchema("profile_completed"),
    EventSchema(
        "purchase",
        {
            "amount": _money(),
            "order_id": _text(),
            "lines": FieldSpec("lines", required=False),
            "paid_with_points": _money(required=False),
            "tax": _money(required=False),
            "shipping": _money(required=False),
        },
    ),
    EventSchema("registration"),
    EventSchema(
        "review",
        {"length": FieldSpec("int"), "rating": FieldSpec("int"), "product": _text(required=False)},
    ),
    EventSchema("share", {"channel": _text(required=False)}),
    EventSchema("sign_in"),
)

BUILTIN_KINDS: Final = frozenset(schema.kind for schema in _BUILTIN_SCHEMAS)
"""The kinds every registry holds."""

_CROSS_CHECKS: Final = {
    "purchase": _check_purchase,
    "review": _check_review,
    "anniversary": _check_anniversary,
}

# Event values are canonical (check_value makes ints int, text str, instants datetime, ...), so
# a field's type is its value's exact type; lists are tuples of one item type.
_TYPE_OF: Final[dict[str, tuple[type, type | None]]] = {
    "int": (int, None),
    "decimal": (Decimal, None),
    "money": (Money, None),
    "str": (str, None),
    "bool": (bool, None),
    "datetime": (datetime, None),
    "date": (date, None),
    "strings": (tuple, str),
    "lines": (tuple, Line),
}
_TYPE_WORDS: Final = {
    "int": "an int",
    "decimal": "a Decimal",
    "money": "Money",
    "str": "a str",
    "bool": "a bool",
    "datetime": "an aware datetime",
    "date": "a date",
    "strings": "a tuple of str",
    "lines": "a tuple of Line",
}


def _to_custom(value: Iterable[EventSchema]) -> tuple[EventSchema, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
        raise ArgumentTypeError(
            f"schemas={given!r} must be an iterable of EventSchema, not {type_name(given)}"
        )
    schemas: dict[str, EventSchema] = {}
    for schema in given:
        if not isinstance(schema, EventSchema):
            raise ArgumentTypeError(
                f"schemas item {schema!r} must be an EventSchema, not {type_name(schema)}"
            )
        if schema.kind in BUILTIN_KINDS:
            raise InvalidArgumentError(
                f"kind={schema.kind!r} is a built-in event kind; give your kind another name"
            )
        if schema.kind in schemas:
            raise InvalidArgumentError(f"kind={schema.kind!r} is already registered")
        schemas[schema.kind] = schema
    if len(schemas) + len(BUILTIN_KINDS) > limits.EVENT_KINDS_MAX:
        raise LimitExceededError(
            f"a registry of {len(schemas) + len(BUILTIN_KINDS)} kinds is over "
            f"limits.EVENT_KINDS_MAX ({limits.EVENT_KINDS_MAX})"
        )
    return tuple(sorted(schemas.values(), key=lambda schema: schema.kind))


_Validator: TypeAlias = tuple[
    dict[str, tuple[FieldSpec, type, "type | None"]],
    frozenset[str],
    "Callable[[Event], None] | None",
]


def _compile_schema(schema: EventSchema) -> _Validator:
    fields = {name: (spec, *_TYPE_OF[spec.type]) for name, spec in schema.fields}
    required = frozenset(name for name, spec in schema.fields if spec.required)
    return (fields, required, _CROSS_CHECKS.get(schema.kind))


@final
@attrs.frozen
class EventRegistry:
    """The event kinds a program knows: the built-in kinds plus the host's own.

    A registry is immutable: :meth:`register` returns a new one.

    >>> registry = EventRegistry.default().register(EventSchema("game_won", {"score": FieldSpec("int")}))
    >>> "game_won" in registry.kinds, "purchase" in registry.kinds
    (True, True)
    >>> registry.register(EventSchema("purchase"))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: kind='purchase' is a built-in event kind; give your kind another name

    The built-in kinds and their attributes (``?`` marks an optional one):

    ========================  =================================================================
    kind                      attributes
    ========================  =================================================================
    ``purchase``              amount (money), order_id (str), lines? (lines),
                              paid_with_points? (money), tax? (money), shipping? (money)
    ``sign_in``               none
    ``share``                 channel? (str)
    ``invite``                invitee (str)
    ``invitee_registered``    invitee (str)
    ``review``                length (int), rating (int, 1 to 5), product? (str)
    ``profile_completed``     none
    ``registration``          none
    ``birthday``              none
    ``anniversary``           years (int, at least 1)
    ========================  =================================================================

    Attributes:
        schemas: The host's own schemas, sorted by kind (the built-in ones are always there).
    """

    schemas: tuple[EventSchema, ...] = attrs.field(default=(), converter=_to_custom)
    _validators: Mapping[str, _Validator] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        validators = {
            schema.kind: _compile_schema(schema) for schema in (*_BUILTIN_SCHEMAS, *self.schemas)
        }
        object.__setattr__(self, "_validators", MappingProxyType(validators))

    @classmethod
    def default(cls) -> EventRegistry:
        """Return the registry of the built-in kinds only."""
        return _DEFAULT

    def register(self, schema: EventSchema) -> EventRegistry:
        """Return a new registry that also holds *schema*'s kind.

        Raises:
            ArgumentTypeError: If *schema* is not an EventSchema.
            InvalidArgumentError: If its kind is built in or already registered.
            LimitExceededError: If the registry would hold over ``limits.EVENT_KINDS_MAX`` kinds.
        """
        return EventRegistry((*self.schemas, schema))

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind, built-in and registered, sorted."""
        return tuple(sorted(self._validators))

    def schema(self, kind: str) -> EventSchema:
        """Return the schema of *kind*.

        Raises:
            InvalidArgumentError: If no such kind is registered; the message lists the kinds.
        """
        for schema in (*_BUILTIN_SCHEMAS, *self.schemas):
            if schema.kind == kind:
                return schema
        raise self._unknown(kind)

    def _unknown(self, kind: object) -> InvalidArgumentError:
        valid = ", ".join(repr(name) for name in self.kinds)
        return InvalidArgumentError(
            f"kind={kind!r} is not a registered event kind; registered kinds are {valid}"
        )

    def validate(self, event: Event) -> None:
        """Check *event* against its kind's schema (and the built-in kinds' own checks).

        Raises:
            ArgumentTypeError: If *event* is not an Event.
            InvalidArgumentError: Naming the kind, the attribute, its value and what is valid,
                for an unknown kind, an unknown attribute, a missing required attribute or a
                value of the wrong type.
        """
        given: object = event  # checked at run time whatever the annotation says
        if not isinstance(given, Event):
            raise ArgumentTypeError(f"event={given!r} must be an Event, not {type_name(given)}")
        validator = self._validators.get(given.kind)
        if validator is None:
            raise self._unknown(given.kind)
        fields, required, cross = validator
        seen = 0
        for name, value in given.attributes:
            entry = fields.get(name)
            if entry is None:
                known = ", ".join(repr(field) for field in sorted(fields)) or "none"
                raise InvalidArgumentError(
                    f"attributes[{name!r}]={value!r} is not an attribute of {given.kind!r} "
                    f"events, whose attributes are {known}"
                )
            spec, kind, item = entry
            if type(value) is not kind or (
                item is not None and value and type(value[0]) is not item  # type: ignore[index]
            ):
                raise InvalidArgumentError(
                    f"attributes[{name!r}]={value!r} must be {_TYPE_WORDS[spec.type]} for "
                    f"{given.kind!r} events, not {type_name(value)}"
                )
            if spec.required:
                seen += 1
        if seen != len(required):
            present = {name for name, _ in given.attributes}
            missing = sorted(required - present)
            raise InvalidArgumentError(
                f"attributes[{missing[0]!r}] is missing: {given.kind!r} events require it "
                f"({_TYPE_WORDS[fields[missing[0]][0].type]})"
            )
        if cross is not None:
            cross(given)


_DEFAULT: Final = EventRegistry()


# -- scheduled events -------------------------------------------------------------------------


def falls_on(month: int, day: int, on: date, feb29: Feb29) -> bool:
    """Whether the yearly date *month*/*day* falls on *on*, with 29 February moved by *feb29*.

    In a year without 29 February, a 29 February date falls on 28 February (``"feb28"``) or
    on 1 March (``"mar1"``).
    """
    if month == 2 and day == 29 and not calendar.isleap(on.year):  # noqa: PLR2004 - 29 February
        return (on.month, on.day) == ((2, 28) if feb29 == "feb28" else (3, 1))
    return (on.month, on.day) == (month, day)


def _check_feb29(value: object) -> Feb29:
    if value not in FEB29_POLICIES:
        raise InvalidArgumentError(f"feb29={value!r} must be 'feb28' or 'mar1'")
    return value


def _check_date(name: str, value: object) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ArgumentTypeError(f"{name}={value!r} must be a date, not {type_name(value)}")
    return value


def _dated_members(
    members: Iterable[tuple[MemberId | str, date]], name: str
) -> Iterator[tuple[MemberId, date]]:
    given: Iterable[object] = members  # checked at run time whatever the annotation says
    for index, pair in enumerate(given):
        if not isinstance(pair, tuple) or len(pair) != 2:  # noqa: PLR2004 - a pair
            raise ArgumentTypeError(f"members[{index}]={pair!r} must be a (member, {name}) pair")
        yield MemberId(pair[0]), _check_date(f"members[{index}] {name}", pair[1])


def birthday_events(
    members: Iterable[tuple[MemberId | str, date]],
    on: date,
    *,
    zone: str | ZoneInfo,
    feb29: Feb29,
) -> Iterator[Event]:
    """Emit the birthday events due on the local date *on*, for a daily scheduled job.

    Each member whose birthday falls on *on* gets a ``birthday`` event with the id
    ``f"birthday:{member}:{on.year}"``, so running the job twice on a day (or on two machines)
    awards once: the ledger records each id once. The event's instant is the start of *on* in
    *zone* (after a spring-forward gap, the first instant of the day). Members are read lazily;
    a member listed twice gets the same event twice, which the ledger records once.

    >>> from datetime import date
    >>> [event.id for event in birthday_events([("ann", date(2000, 2, 29)), ("bob", date(1990, 3, 1))], date(2027, 2, 28), zone="Asia/Shanghai", feb29="feb28")]
    ['birthday:ann:2027']

    Args:
        members: ``(member, birthday)`` pairs; the birthday's year is ignored.
        on: The local date to emit for.
        zone: The program's time zone.
        feb29: Where 29 February birthdays fall in other years: ``"feb28"`` or ``"mar1"``.

    Returns:
        An iterator over the events, in the order of *members*.

    Raises:
        ArgumentTypeError: If *on* is not a date, or (while iterating) a pair is malformed.
        InvalidArgumentError: If *zone* or *feb29* is invalid.
    """
    day = _check_date("on", on)
    program_zone = check_zone("zone", zone)
    policy = _check_feb29(feb29)
    at = resolve(datetime.combine(day, time()), program_zone)

    def emit() -> Iterator[Event]:
        for member, birthday in _dated_members(members, "birthday"):
            if falls_on(birthday.month, birthday.day, day, policy):
                yield Event.birthday(f"birthday:{member}:{day.year}", member, at)

    return emit()


def anniversary_events(
    members: Iterable[tuple[MemberId | str, date]],
    on: date,
    *,
    zone: str | ZoneInfo,
    feb29: Feb29,
) -> Iterator[Event]:
    """Emit the anniversary events due on the local date *on*, for a daily scheduled job.

    Like :func:`birthday_events`, from each member's local join date: a member who joined on
    *on*'s month and day in an earlier year gets an ``anniversary`` event with ``years`` the
    number of years since joining and the id ``f"anniversary:{member}:{on.year}"``.

    >>> from datetime import date
    >>> [event.get("years") for event in anniversary_events([("ann", date(2024, 2, 29))], date(2025, 3, 1), zone="UTC", feb29="mar1")]
    [1]

    Raises:
        ArgumentTypeError: If *on* is not a date, or (while iterating) a pair is malformed.
        InvalidArgumentError: If *zone* or *feb29* is invalid.
    """
    day = _check_date("on", on)
    program_zone = check_zone("zone", zone)
    policy = _check_feb29(feb29)
    at = resolve(datetime.combine(day, time()), program_zone)

    def emit() -> Iterator[Event]:
        for member, joined in _dated_members(members, "join date"):
            years = day.year - joined.year
            if years >= 1 and falls_on(joined.month, joined.day, day, policy):
                yield Event.anniversary(f"anniversary:{member}:{day.year}", member, at, years=years)

    return emit()


# -- the value codec --------------------------------------------------------------------------


def encode_money(value: Money) -> dict[str, object]:
    """Return money as ``{"amount": "10.00", "currency": "CNY"}`` (plus ``decimals`` off ISO)."""
    data: dict[str, object] = {"amount": str(value.amount), "currency": value.currency.code}
    try:
        iso = MoneyCurrency.iso(value.currency.code)
    except InvalidArgumentError:
        iso = None
    if iso != value.currency:
        data["decimals"] = value.currency.decimals
    return data


def decode_money(name: str, data: object) -> Money:
    """Return the money :func:`encode_money` encoded.

    Raises:
        InvalidArgumentError: If *data* is not encoded money (the message names *name*).
    """
    if not isinstance(data, Mapping) or not {"amount", "currency"} <= set(data) <= {
        "amount",
        "currency",
        "decimals",
    }:
        raise InvalidArgumentError(
            f"{name}={data!r} must be money, like {{'amount': '10.00', 'currency': 'CNY'}}"
        )
    amount, code = data["amount"], data["currency"]
    if not isinstance(amount, str):
        raise ArgumentTypeError(f"{name}.amount={amount!r} must be a decimal string like '10.00'")
    try:
        if "decimals" in data:
            currency = MoneyCurrency(code, decimals=data["decimals"])
        else:
            currency = MoneyCurrency.iso(code)
        return Money(amount, currency)
    except InvalidArgumentError as error:
        raise type(error)(f"{name}: {error}") from None


def encode_value(value: AttributeValue) -> object:
    """Return an attribute or constant value as JSON-ready data.

    Ints, bools and str are themselves; a tuple of str is a list; a tuple of lines is a list of
    ``{"product", "category", "amount", "quantity"}`` objects; money is
    ``{"amount": "10.00", "currency": "CNY"}``; a Decimal is ``{"decimal": "1.50"}``, a date
    ``{"date": "2026-03-01"}`` and a datetime ``{"datetime": "2026-03-01T00:00:00+00:00"}``.
    """
    result: object
    if isinstance(value, bool | int | str):
        result = value
    elif isinstance(value, Decimal):
        result = {"decimal": str(value)}
    elif isinstance(value, Money):
        result = encode_money(value)
    elif isinstance(value, datetime):
        result = {"datetime": value.isoformat()}
    elif isinstance(value, date):
        result = {"date": value.isoformat()}
    else:
        result = [
            item
            if isinstance(item, str)
            else {
                "product": item.product,
                "category": item.category,
                "amount": encode_money(item.amount),
                "quantity": item.quantity,
            }
            for item in value
        ]
    return result


def _decode_line(name: str, data: Mapping[str, object]) -> Line:
    if set(data) != {"product", "category", "amount", "quantity"}:
        raise InvalidArgumentError(
            f"{name}={dict(data)!r} must be a line with product, category, amount and quantity"
        )
    return Line(
        data["product"],  # type: ignore[arg-type]  # the converters check it
        data["category"],  # type: ignore[arg-type]
        decode_money(f"{name}.amount", data["amount"]),
        data["quantity"],  # type: ignore[arg-type]
    )


def _decode_tagged(name: str, data: Mapping[str, object]) -> AttributeValue:
    if len(data) == 1:
        ((tag, text),) = data.items()
        if tag in {"decimal", "date", "datetime"} and isinstance(text, str):
            try:
                if tag == "decimal":
                    return check_value(name, Decimal(text))
                if tag == "date":
                    return date.fromisoformat(text)
                return check_value(name, datetime.fromisoformat(text))
            except (decimal.InvalidOperation, ValueError):
                raise InvalidArgumentError(f"{name}={dict(data)!r} is not a valid {tag}") from None
    if "amount" in data:
        return decode_money(name, data)
    raise InvalidArgumentError(
        f"{name}={dict(data)!r} must be an int, a bool, a str, a list, money "
        "{'amount': ..., 'currency': ...}, or one of {'decimal': ...}, {'date': ...}, "
        "{'datetime': ...}"
    )


def decode_value(name: str, data: object) -> AttributeValue:
    """Return the value :func:`encode_value` encoded.

    Raises:
        InvalidArgumentError: If *data* is not an encoded value (the message names *name*);
            floats are refused.
    """
    if isinstance(data, bool | int | str):
        return check_value(name, data)
    if isinstance(data, Mapping):
        return _decode_tagged(name, data)
    if isinstance(data, list | tuple):
        items = [
            _decode_line(f"{name}[{index}]", item) if isinstance(item, Mapping) else item
            for index, item in enumerate(data)
        ]
        return check_value(name, items)
    return check_value(name, data)


_SHOWN: Final[dict[type, Callable[[object], str]]] = {
    int: str,
    Decimal: str,
    str: repr,
    bool: lambda value: "true" if value else "false",
    Money: str,
    date: lambda value: value.isoformat(),  # type: ignore[attr-defined]
    datetime: lambda value: value.isoformat(),  # type: ignore[attr-defined]
}


def show_value(value: object) -> str:
    """Return *value* as explanations show it: money ``88.00 CNY``, text quoted, dates ISO."""
    shown = _SHOWN.get(type(value))
    if shown is not None:
        return shown(value)
    result: str
    if value is MISSING:
        result = "missing"
    elif isinstance(value, bool):
        result = "true" if value else "false"
    elif isinstance(value, str):
        result = repr(str(value))
    elif isinstance(value, datetime | date):
        result = value.isoformat()
    elif isinstance(value, tuple | frozenset):
        items = sorted(value) if isinstance(value, frozenset) else value
        if items and isinstance(items[0], Line):
            result = f"{len(items)} line{'s' if len(items) != 1 else ''}"
        else:
            result = "[" + ", ".join(show_value(item) for item in items) + "]"
    else:
        result = str(value)
    return result
