"""Events: what members do, as typed immutable values, with a constructor per built-in kind.

Maintainer's notes
------------------
An :class:`Event` is the one input of rule evaluation besides the member's state. Its
attributes are typed values (int, Decimal, Money, str, bool, aware datetime, date, a tuple of
str, a tuple of :class:`~pointkit.rules._attributes.Line`), never floats, kept as sorted
``(name, value)`` pairs so that two equal events compare, hash and serialise equal whatever
order the attributes were given in.

Three built-in kinds carry cross-field checks a schema cannot state (a purchase's tax, shipping
and points payment fit in its amount; a review's rating is 1 to 5; an anniversary is at least a
year); they live here beside the constructors that run them, and
:meth:`~pointkit.rules._event_schemas.EventRegistry.validate` runs them too, so an event built
without the helper constructors is held to the same rules.

The rest of the event machinery is split by job: the attribute values and their checks in
``_attributes``, the value codec in ``_codec``, the schemas and the registry in
``_event_schemas``, the birthday and anniversary events in ``_scheduled``.
:func:`~pointkit.rules._codec.show_value` is re-exported here for the code that imports it from
this module.

Building an event is on every host's hot path, so the converters take a quick test first and
fall back to the full checks for anything else (which then give the same value or the error):
text that :func:`~pointkit._validate.check_text` would return as it is, a UTC instant, kind and
attribute names already checked in this process, and a dict of plain values (bools, ints in
range, Money, text). The quick tests accept nothing the full checks refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_text, type_name
from pointkit._values import MemberId, Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.rules._attributes import (
    MISSING,
    AttributeValue,
    Line,
    Missing,
    _named_pairs,
    check_kind,
    check_value,
)
from pointkit.rules._codec import decode_value, encode_value, show_value


if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = [
    "Event",
    "show_value",  # re-exported from _codec: tests import it from here
]


def _plain_text(value: object, max_length: int) -> bool:
    """Whether *value* passes :func:`check_text` as it is (a quick test for the usual case).

    A printable str has no whitespace but the space, so a str that prints, is not too long
    and neither starts nor ends with a space is non-blank text without surrounding whitespace.
    """
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    )


_ID_LENGTH_MAX: Final = limits.IDEMPOTENCY_KEY_LENGTH_MAX


def _to_id(value: str) -> str:
    if _plain_text(value, limits.IDEMPOTENCY_KEY_LENGTH_MAX):
        return value
    return check_text(
        "id",
        value,
        max_length=limits.IDEMPOTENCY_KEY_LENGTH_MAX,
        limit_name="IDEMPOTENCY_KEY_LENGTH_MAX",
    )


# Kinds and attribute names already checked (exact strs only): an event's names are checked
# once per process, not once per event. Bounded, so odd input cannot grow them for ever.
_CHECKED_KINDS: Final[set[str]] = set()
_CHECKED_NAMES: Final[set[str]] = set()
_CHECKED_MAX: Final = 4_096


def _to_kind(value: str) -> str:
    if type(value) is str and value in _CHECKED_KINDS:
        return value
    checked = check_kind("kind", value)
    if type(value) is str and len(_CHECKED_KINDS) < _CHECKED_MAX:
        _CHECKED_KINDS.add(checked)
    return checked


def _to_member(value: str) -> MemberId:
    if type(value) is not MemberId and _plain_text(value, limits.MEMBER_ID_LENGTH_MAX):
        # What MemberId(value) makes of text its check passes as it is, without the calls.
        member = _MEMBERS.get(value)
        if member is None:
            if len(_MEMBERS) >= _CHECKED_MAX:
                _MEMBERS.clear()
            member = _MEMBERS[value] = str.__new__(MemberId, value)
        return member
    return MemberId(value)


# Member ids made from plain text (exact strs only): a member's events share one MemberId.
# Bounded, and cleared when full, so ids seen once cannot grow it for ever.
_MEMBERS: Final[dict[str, MemberId]] = {}

# Attribute text values that passed the quick test (exact strs only): the same few categories
# and channels come back event after event. Bounded and cleared when full, like _MEMBERS.
_PLAIN_TEXTS: Final[set[str]] = set()


def _to_at(value: datetime) -> datetime:
    # The usual case, a UTC instant, is already what the check would return.
    if type(value) is datetime and value.tzinfo is UTC:
        return value
    return check_aware("at", value)


Attributes: TypeAlias = tuple[tuple[str, AttributeValue], ...]


def _to_attributes(
    value: Mapping[str, object] | Iterable[tuple[str, object]],
) -> Attributes:
    if type(value) is dict and len(value) <= limits.EVENT_ATTRIBUTES_MAX:
        checked = _quick_attributes(value)
        if checked is not None:
            return checked
    attributes = _named_pairs("attributes", value, what="value", check=check_value)
    if len(_CHECKED_NAMES) < _CHECKED_MAX:
        _CHECKED_NAMES.update(name for name, _ in attributes)
    return attributes


def _quick_attributes(value: dict[object, object]) -> Attributes | None:
    """The attributes of a dict of names checked before to plain values, or ``None``.

    Plain values are bools, ints within ``limits.POINTS_MAX``, Money and text that passes
    :func:`check_text` as it is: :func:`check_value` returns each of them unchanged. Anything
    else goes through the full checks (``None``), which give the same result or the error.
    """
    points_max = limits.POINTS_MAX
    text_max = limits.EVENT_TEXT_LENGTH_MAX
    for name, item in value.items():
        if type(name) is not str or name not in _CHECKED_NAMES:
            return None
        kind = type(item)
        if kind is Money or kind is bool:
            continue
        if kind is int:
            if -points_max <= item <= points_max:  # type: ignore[operator]  # an int here
                continue
            return None
        if kind is str:
            if item in _PLAIN_TEXTS:
                continue
            if _plain_text(item, text_max):
                if len(_PLAIN_TEXTS) >= _CHECKED_MAX:
                    _PLAIN_TEXTS.clear()
                _PLAIN_TEXTS.add(item)  # type: ignore[arg-type]  # a str here
                continue
        return None
    # The names are distinct, so the pairs sort by name alone.
    return tuple(sorted(value.items()))  # type: ignore[arg-type]  # names and values checked


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

    def __init__(
        self,
        id: str,  # noqa: A002 - the event's field is called id
        kind: str,
        member: MemberId | str,
        at: datetime,
        attributes: Mapping[str, object] | Iterable[tuple[str, object]] = (),
    ) -> None:
        # What attrs would generate, checks in field order, with the slots set directly. The
        # usual values pass the converters' quick tests here, without the calls: plain text
        # for the id, a kind checked before, a member seen before, a UTC instant.
        if not (
            type(id) is str
            and 0 < len(id) <= _ID_LENGTH_MAX
            and id.isprintable()
            and id[0] != " "
            and id[-1] != " "
        ):
            id = _to_id(id)  # noqa: A001 - the checked id
        _set_id(self, id)
        _set_kind(self, kind if type(kind) is str and kind in _CHECKED_KINDS else _to_kind(kind))
        known = _MEMBERS.get(member) if type(member) is str else None
        _set_member(self, _to_member(member) if known is None else known)
        _set_at(self, at if type(at) is datetime and at.tzinfo is UTC else _to_at(at))
        # A dict of plain values is checked as a copy, which then holds the values by name.
        quick = type(attributes) is dict and len(attributes) <= limits.EVENT_ATTRIBUTES_MAX
        values: dict[object, object] = attributes.copy() if quick else {}  # type: ignore[union-attr]  # a dict when quick
        checked = _quick_attributes(values) if quick else None
        if checked is None:
            checked = _to_attributes(attributes)
            values = dict(checked)
        _set_attributes(self, checked)
        _set_values(self, MappingProxyType(values))

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
            ArgumentTypeError: If *lines* is not an iterable of lines.
            InvalidArgumentError: If an amount is negative, in another currency, or the parts
                do not fit in the amount.
        """
        attributes: dict[str, object] = {"amount": amount, "order_id": order_id}
        given_lines: object = lines  # checked at run time whatever the annotation says
        if isinstance(given_lines, str | bytes) or not isinstance(given_lines, Iterable):
            raise ArgumentTypeError(
                f"lines={lines!r} must be an iterable of Line, not {type_name(lines)}"
            )
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


_set_id: Final = Event.__dict__["id"].__set__
_set_kind: Final = Event.__dict__["kind"].__set__
_set_member: Final = Event.__dict__["member"].__set__
_set_at: Final = Event.__dict__["at"].__set__
_set_attributes: Final = Event.__dict__["attributes"].__set__
_set_values: Final = Event.__dict__["_values"].__set__


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


_CROSS_CHECKS: Final[dict[str, Callable[[Event], None]]] = {
    "purchase": _check_purchase,
    "review": _check_review,
    "anniversary": _check_anniversary,
}
"""The checks of the built-in kinds a schema cannot state, run by the registry too."""
