"""Rules events: values, helper constructors, schemas, the registry, scheduled events, state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest

from pointkit import MemberId, Money, MoneyCurrency
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    LimitExceededError,
    NaiveDatetimeError,
)
from pointkit.rules import (
    BUILTIN_KINDS,
    MISSING,
    Counter,
    Event,
    EventRegistry,
    EventSchema,
    FieldSpec,
    Line,
    MemberContext,
    RuleState,
    StateKeys,
    Streak,
    anniversary_events,
    birthday_events,
    decode_value,
    encode_value,
)


if TYPE_CHECKING:
    from collections.abc import Callable


AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
CNY = "CNY"


class Call:
    """A deferred call, so a table can hold calls with arguments of the wrong type."""

    def __init__(self, factory: Callable[..., object], *args: object, **kwargs: object) -> None:
        self.factory, self.args, self.kwargs = factory, args, kwargs

    def __call__(self) -> object:
        return self.factory(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        shown = [repr(arg) for arg in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{name}({', '.join(shown)})"[:120]


def call(factory: Callable[..., object], *args: object, **kwargs: object) -> Call:
    """Defer a call; its repr names the test case."""
    return Call(factory, *args, **kwargs)


def call_id(value: object) -> str | None:
    """Name a table row by its call."""
    return repr(value) if isinstance(value, Call) else None


def cny(amount: str | int) -> Money:
    """Yuan."""
    return Money(amount, CNY)


# -- events ---------------------------------------------------------------------------------------


def test_event_is_canonical() -> None:
    """An event keeps its instant in UTC and its attributes sorted, whatever order they came in."""
    east = timezone(timedelta(hours=8))
    first = Event(
        "e-1", "game_won", "alice", datetime(2026, 3, 1, 20, tzinfo=east), {"b": 1, "a": "x"}
    )
    second = Event("e-1", "game_won", MemberId("alice"), AT, [("a", "x"), ("b", 1)])
    assert first == second
    assert hash(first) == hash(second)
    assert (("a", "x"), ("b", 1)) == first.attributes
    assert AT == first.at
    assert UTC == first.at.tzinfo


def test_event_get_returns_missing_for_absent_attributes() -> None:
    """get() returns the value, or MISSING (whose repr says so) for an attribute not carried."""
    event = Event.share("s-1", "alice", AT)
    assert MISSING is event.get("channel")
    assert "MISSING" == repr(MISSING)
    assert "wechat" == Event.share("s-2", "alice", AT, channel="wechat").get("channel")


def test_event_attribute_values_are_normalised() -> None:
    """Lists become tuples, datetimes UTC, ints plain ints; every value type is accepted."""
    lines = [Line("p", "books", cny(5))]
    event = Event(
        "e-1",
        "custom",
        "alice",
        AT,
        {
            "count": 3,
            "ratio": Decimal("1.50"),
            "paid": cny(9),
            "label": "gold",
            "flag": True,
            "when": datetime(2026, 3, 1, 20, tzinfo=timezone(timedelta(hours=8))),
            "day": date(2026, 3, 1),
            "tags": ["a", "b"],
            "lines": lines,
            "none_yet": [],
        },
    )
    assert ("a", "b") == event.get("tags")
    assert tuple(lines) == event.get("lines")
    assert () == event.get("none_yet")
    assert AT == event.get("when")
    assert Decimal("1.50") == event.get("ratio")


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            call(Event, "e-1", "tip", "alice", AT, {"amount": 1.5}),
            ArgumentTypeError,
            "attributes['amount']=1.5 must be an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line, not float; floats are refused: use Decimal or Money",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"amount": None}),
            ArgumentTypeError,
            "attributes['amount']=None must be an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line, not NoneType",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"tags": ["a", 1]}),
            ArgumentTypeError,
            "attributes['tags'][1]=1 must be a str (or every item a Line), not int",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"tags": ["a"] * 257}),
            LimitExceededError,
            "attributes['tags'] has 257 items, over limits.EVENT_STRINGS_MAX (256)",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"n": 2**63}),
            LimitExceededError,
            "attributes['n']=9223372036854775808 is over limits.POINTS_MAX (9223372036854775807)",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"x": Decimal("NaN")}),
            InvalidArgumentError,
            "attributes['x']=Decimal('NaN') must be a finite Decimal",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"x": Decimal("1E+40")}),
            LimitExceededError,
            "attributes['x']=Decimal('1E+40') needs more than limits.MONEY_DIGITS_MAX (28) digits",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"x": " padded"}),
            InvalidArgumentError,
            "attributes['x']=' padded' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"x": datetime(2026, 1, 1)}),  # noqa: DTZ001 - the naive input is the point
            NaiveDatetimeError,
            "attributes['x']=datetime.datetime(2026, 1, 1, 0, 0) is naive; give it a time zone, e.g. .replace(tzinfo=UTC)",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"Amount": 1}),
            InvalidArgumentError,
            "attributes key='Amount' must be lower-case letters, digits and underscores, starting with a letter",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {"local_date": 1}),
            InvalidArgumentError,
            "attributes key='local_date' is reserved for facts of every event ('at', 'id', 'kind', 'local_date', 'local_hour', 'local_weekday', 'member')",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, [("a", 1), ("a", 2)]),
            InvalidArgumentError,
            "attributes['a'] is given twice",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, [("a", 1, 2)]),
            ArgumentTypeError,
            "attributes entry ('a', 1, 2) must be a (name, value) pair",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, "a=1"),
            ArgumentTypeError,
            "attributes='a=1' must be a mapping of name to value, not str",
        ),
        (
            call(Event, "e-1", "tip", "alice", AT, {f"a{i}": i for i in range(33)}),
            LimitExceededError,
            "attributes has 33 entries, over limits.EVENT_ATTRIBUTES_MAX (32)",
        ),
        (
            call(Event, "", "tip", "alice", AT),
            InvalidArgumentError,
            "id='' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(Event, "k" * 201, "tip", "alice", AT),
            LimitExceededError,
            "id is 201 characters long, over limits.IDEMPOTENCY_KEY_LENGTH_MAX (200)",
        ),
        (
            call(Event, "e-1", "Tip", "alice", AT),
            InvalidArgumentError,
            "kind='Tip' must be lower-case letters, digits and underscores, starting with a letter",
        ),
        (
            call(Event, "e-1", "t" * 65, "alice", AT),
            LimitExceededError,
            "kind is 65 characters long, over limits.EVENT_NAME_LENGTH_MAX (64)",
        ),
        (
            call(Event, "e-1", "tip", "alice", datetime(2026, 1, 1)),  # noqa: DTZ001 - the naive input is the point
            NaiveDatetimeError,
            "at=datetime.datetime(2026, 1, 1, 0, 0) is naive; give it a time zone, e.g. .replace(tzinfo=UTC)",
        ),
        (
            call(Event, "e-1", "tip", " alice", AT),
            InvalidArgumentError,
            "member=' alice' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(Line, "p", "books", cny(-1)),
            InvalidArgumentError,
            "amount=-1.00 CNY must not be negative",
        ),
        (call(Line, "p", "books", 5), ArgumentTypeError, "amount=5 must be Money, not int"),
        (
            call(Line, "p", "books", cny(1), 0),
            InvalidArgumentError,
            "quantity=0 must be an int from 1 to 9223372036854775807",
        ),
        (
            call(Line, "", "books", cny(1)),
            InvalidArgumentError,
            "product='' must be non-empty, without leading or trailing whitespace",
        ),
    ],
    ids=call_id,
)
def test_each_event_error(make: Call, error: type[Exception], message: str) -> None:
    """Each bad event or line is refused with a message naming the field, value and what is valid."""
    with pytest.raises(error) as caught:
        make()
    assert message == str(caught.value)
    assert error is type(caught.value)


# -- built-in kinds -------------------------------------------------------------------------------


def test_purchase_carries_its_parts() -> None:
    """A purchase carries amount, order id, lines and parts; empty lines are left out."""
    lines = (Line("p1", "books", cny(60)), Line("p2", "toys", cny(40), quantity=2))
    event = Event.purchase(
        "o-1",
        "alice",
        AT,
        amount=cny(110),
        order_id="o-1",
        lines=lines,
        paid_with_points=cny(20),
        tax=cny(6),
        shipping=cny(4),
    )
    assert "purchase" == event.kind
    assert (
        ("amount", cny(110)),
        ("lines", lines),
        ("order_id", "o-1"),
        ("paid_with_points", cny(20)),
        ("shipping", cny(4)),
        ("tax", cny(6)),
    ) == event.attributes
    bare = Event.purchase("o-2", "alice", AT, amount=cny(10), order_id="o-2")
    assert MISSING is bare.get("lines")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            call(Event.purchase, "o", "a", AT, amount=cny(-1), order_id="o"),
            "amount=-1.00 CNY must not be negative",
        ),
        (
            call(Event.purchase, "o", "a", AT, amount=cny(10), order_id="o", tax=cny(11)),
            "tax=11.00 CNY must not be more than amount (10.00 CNY)",
        ),
        (
            call(Event.purchase, "o", "a", AT, amount=cny(10), order_id="o", tax=Money(1, "USD")),
            "tax=1.00 USD must be in the amount's currency (CNY)",
        ),
        (
            call(Event.purchase, "o", "a", AT, amount=cny(10), order_id="o", shipping=cny(-1)),
            "shipping=-1.00 CNY must not be negative",
        ),
        (
            call(
                Event.purchase,
                "o",
                "a",
                AT,
                amount=cny(10),
                order_id="o",
                tax=cny(4),
                shipping=cny(4),
                paid_with_points=cny(4),
            ),
            "paid_with_points, tax and shipping add up to 12.00 CNY, more than amount (10.00 CNY)",
        ),
        (
            call(
                Event.purchase,
                "o",
                "a",
                AT,
                amount=cny(10),
                order_id="o",
                lines=[Line("p", "c", Money(1, "USD"))],
            ),
            "lines[0].amount=1.00 USD must be in the amount's currency (CNY)",
        ),
        (
            call(Event.review, "r", "a", AT, length=3, rating=6),
            "rating=6 must be an int from 1 to 5",
        ),
        (
            call(Event.review, "r", "a", AT, length=-1, rating=5),
            "length=-1 must not be negative",
        ),
        (call(Event.anniversary, "n", "a", AT, years=0), "years=0 must be at least 1"),
    ],
    ids=call_id,
)
def test_each_builtin_kind_check(make: Call, message: str) -> None:
    """The built-in kinds' own checks refuse parts that do not fit, with a clear message."""
    with pytest.raises(InvalidArgumentError) as caught:
        make()
    assert message == str(caught.value)


def test_helpers_build_every_builtin_kind() -> None:
    """Each helper builds its kind with its attributes, and each passes the default registry."""
    events = [
        Event.purchase("1", "a", AT, amount=cny(1), order_id="o"),
        Event.sign_in("2", "a", AT),
        Event.share("3", "a", AT, channel="weibo"),
        Event.invite("4", "a", AT, invitee="bob"),
        Event.invitee_registered("5", "a", AT, invitee="bob"),
        Event.review("6", "a", AT, length=21, rating=4, product="sku-1"),
        Event.profile_completed("7", "a", AT),
        Event.registration("8", "a", AT),
        Event.birthday("9", "a", AT),
        Event.anniversary("10", "a", AT, years=2),
    ]
    registry = EventRegistry.default()
    for event in events:
        registry.validate(event)
    assert sorted(BUILTIN_KINDS) == sorted(event.kind for event in events)
    assert "bob" == events[4].get("invitee")
    assert "sku-1" == events[5].get("product")


# -- schemas and the registry ---------------------------------------------------------------------

GAME = EventSchema(
    "game_won", {"score": FieldSpec("int"), "mode": FieldSpec("str", required=False)}
)


def test_registry_registers_new_kinds_immutably() -> None:
    """register() returns a new registry; the default one is unchanged."""
    default = EventRegistry.default()
    registry = default.register(GAME)
    assert "game_won" in registry.kinds
    assert "game_won" not in default.kinds
    assert (GAME,) == registry.schemas
    assert GAME == registry.schema("game_won")
    assert FieldSpec("int") == GAME.field("score")
    assert GAME.field("level") is None
    assert ("mode", "score") == GAME.names
    assert EventRegistry() == default


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            call(EventRegistry.default().register, EventSchema("purchase")),
            InvalidArgumentError,
            "kind='purchase' is a built-in event kind; give your kind another name",
        ),
        (
            call(EventRegistry.default().register(GAME).register, GAME),
            InvalidArgumentError,
            "kind='game_won' is already registered",
        ),
        (
            call(EventRegistry, ["game_won"]),
            ArgumentTypeError,
            "schemas item 'game_won' must be an EventSchema, not str",
        ),
        (
            call(EventRegistry, "game_won"),
            ArgumentTypeError,
            "schemas='game_won' must be an iterable of EventSchema, not str",
        ),
        (
            call(EventRegistry, [EventSchema(f"k{i}") for i in range(247)]),
            LimitExceededError,
            "a registry of 257 kinds is over limits.EVENT_KINDS_MAX (256)",
        ),
        (
            call(EventRegistry.default().schema, "tip"),
            InvalidArgumentError,
            "kind='tip' is not a registered event kind; registered kinds are 'anniversary', 'birthday', 'invite', 'invitee_registered', 'profile_completed', 'purchase', 'registration', 'review', 'share', 'sign_in'",
        ),
        (
            call(FieldSpec, "float"),
            InvalidArgumentError,
            "type='float' must be one of 'int', 'decimal', 'money', 'str', 'bool', 'datetime', 'date', 'strings', 'lines'",
        ),
        (
            call(FieldSpec, "int", required=1),
            ArgumentTypeError,
            "required=1 must be a bool, not int",
        ),
        (
            call(EventSchema, "game", {"kind": FieldSpec("str")}),
            InvalidArgumentError,
            "fields key='kind' is reserved for facts of every event ('at', 'id', 'kind', 'local_date', 'local_hour', 'local_weekday', 'member')",
        ),
        (
            call(EventSchema, "game", {"score": "int"}),
            ArgumentTypeError,
            "fields['score']='int' must be a FieldSpec, not str",
        ),
        (
            call(EventSchema, "game", [("a", FieldSpec("int")), ("a", FieldSpec("int"))]),
            InvalidArgumentError,
            "fields['a'] is given twice",
        ),
        (
            call(EventSchema, "game", "score"),
            ArgumentTypeError,
            "fields='score' must be a mapping of name to FieldSpec, not str",
        ),
        (
            call(EventSchema, "game", [("a", FieldSpec("int"), 1)]),
            ArgumentTypeError,
            "fields entry ('a', FieldSpec(type='int', required=True), 1) must be a (name, FieldSpec) pair",
        ),
        (
            call(EventSchema, "game", {f"a{i}": FieldSpec("int") for i in range(33)}),
            LimitExceededError,
            "fields has 33 entries, over limits.EVENT_ATTRIBUTES_MAX (32)",
        ),
    ],
    ids=call_id,
)
def test_each_registry_error(make: Call, error: type[Exception], message: str) -> None:
    """Each bad schema or registry is refused, naming what is wrong and what is valid."""
    with pytest.raises(error) as caught:
        make()
    assert message == str(caught.value)


REGISTRY = EventRegistry.default().register(GAME)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            Event("e", "tip", "a", AT),
            "kind='tip' is not a registered event kind; registered kinds are 'anniversary', 'birthday', 'game_won', 'invite', 'invitee_registered', 'profile_completed', 'purchase', 'registration', 'review', 'share', 'sign_in'",
        ),
        (
            Event("e", "game_won", "a", AT, {"score": 1, "level": 3}),
            "attributes['level']=3 is not an attribute of 'game_won' events, whose attributes are 'mode', 'score'",
        ),
        (
            Event("e", "sign_in", "a", AT, {"streak": 3}),
            "attributes['streak']=3 is not an attribute of 'sign_in' events, whose attributes are none",
        ),
        (
            Event("e", "game_won", "a", AT, {"mode": "duel"}),
            "attributes['score'] is missing: 'game_won' events require it (an int)",
        ),
        (
            Event("e", "game_won", "a", AT, {"score": "10"}),
            "attributes['score']='10' must be an int for 'game_won' events, not str",
        ),
        (
            Event("e", "game_won", "a", AT, {"score": True}),
            "attributes['score']=True must be an int for 'game_won' events, not bool",
        ),
        (
            Event("e", "purchase", "a", AT, {"amount": Decimal(10), "order_id": "o"}),
            "attributes['amount']=Decimal('10') must be Money for 'purchase' events, not Decimal",
        ),
        (
            Event("e", "purchase", "a", AT, {"amount": cny(10), "order_id": "o", "tax": cny(20)}),
            "tax=20.00 CNY must not be more than amount (10.00 CNY)",
        ),
        (
            Event("e", "review", "a", AT, {"length": 1, "rating": 0}),
            "rating=0 must be an int from 1 to 5",
        ),
        (
            Event("e", "purchase", "a", AT, {"amount": cny(1), "order_id": "o", "lines": ("x",)}),
            "attributes['lines']=('x',) must be a tuple of Line for 'purchase' events, not tuple",
        ),
    ],
    ids=lambda value: value.kind if isinstance(value, Event) else None,
)
def test_each_schema_violation(event: Event, message: str) -> None:
    """validate() names the kind, the attribute, its value and what is valid."""
    with pytest.raises(InvalidArgumentError) as caught:
        REGISTRY.validate(event)
    assert message == str(caught.value)


def test_validate_refuses_a_non_event() -> None:
    """validate() takes only events."""
    with pytest.raises(ArgumentTypeError) as caught:
        REGISTRY.validate("event")  # type: ignore[arg-type]
    assert "event='event' must be an Event, not str" == str(caught.value)


def test_every_field_type_validates() -> None:
    """An event carrying one attribute of each schema type passes its schema."""
    types = {
        "i": ("int", 1),
        "d": ("decimal", Decimal("1.5")),
        "m": ("money", cny(1)),
        "s": ("str", "x"),
        "b": ("bool", False),
        "t": ("datetime", AT),
        "y": ("date", date(2026, 1, 1)),
        "g": ("strings", ("x",)),
        "l": ("lines", (Line("p", "c", cny(1)),)),
    }
    schema = EventSchema("every", {name: FieldSpec(kind) for name, (kind, _) in types.items()})  # type: ignore[arg-type]
    event = Event("e", "every", "a", AT, {name: value for name, (_, value) in types.items()})
    EventRegistry([schema]).validate(event)
    with pytest.raises(InvalidArgumentError) as caught:
        EventRegistry([schema]).validate(attrs_evolve(event, y=AT))
    assert (
        "attributes['y']=datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc) "
        "must be a date for 'every' events, not datetime"
    ) == str(caught.value)


def attrs_evolve(event: Event, **changes: object) -> Event:
    """The event with some attributes replaced."""
    values: dict[str, object] = dict(event.attributes)
    values.update(changes)
    return Event(event.id, event.kind, event.member, event.at, values)


# -- codec ----------------------------------------------------------------------------------------


def test_event_round_trips_through_its_dict() -> None:
    """to_dict() gives JSON-ready data that from_dict() turns back into an equal event."""
    event = Event(
        "e-1",
        "custom",
        "alice",
        AT,
        {
            "n": 3,
            "x": Decimal("1.50"),
            "m": cny("9.90"),
            "j": Money(5, "JPY"),
            "odd": Money("1.5", _odd_currency()),
            "s": "gold",
            "f": True,
            "t": AT,
            "d": date(2026, 3, 1),
            "g": ("a", "b"),
            "l": (Line("p", "books", cny(5), 2),),
        },
    )
    data = event.to_dict()
    assert {"decimal": "1.50"} == data["attributes"]["x"]  # type: ignore[index]
    assert {"amount": "1.5", "currency": "XPT", "decimals": 1} == data["attributes"]["odd"]  # type: ignore[index]
    assert event == Event.from_dict(data)


def _odd_currency() -> MoneyCurrency:
    return MoneyCurrency("XPT", decimals=1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"x": 1},
            "x={'x': 1} must be an int, a bool, a str, a list, money {'amount': ..., 'currency': ...}, or one of {'decimal': ...}, {'date': ...}, {'datetime': ...}",
        ),
        ({"decimal": "abc"}, "x={'decimal': 'abc'} is not a valid decimal"),
        ({"date": "2026-02-30"}, "x={'date': '2026-02-30'} is not a valid date"),
        ({"amount": 10, "currency": "CNY"}, "x.amount=10 must be a decimal string like '10.00'"),
        (
            {"amount": "1", "currency": "XXX"},
            "x: code='XXX' is not an active ISO 4217 currency; build MoneyCurrency('XXX', decimals=...) for it",
        ),
        (
            {"amount": "1", "currency": "CNY", "rate": 1},
            "x={'amount': '1', 'currency': 'CNY', 'rate': 1} must be money, like {'amount': '10.00', 'currency': 'CNY'}",
        ),
        (
            1.5,
            "x=1.5 must be an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line, not float; floats are refused: use Decimal or Money",
        ),
        (
            [{"product": "p"}],
            "x[0]={'product': 'p'} must be a line with product, category, amount and quantity",
        ),
    ],
)
def test_each_decoding_error(data: object, message: str) -> None:
    """decode_value names the value's path and what a valid encoding is."""
    with pytest.raises(InvalidArgumentError) as caught:
        decode_value("x", data)
    assert message == str(caught.value)


def test_encode_value_shapes() -> None:
    """Plain JSON values stay themselves; the others are one-key objects or money objects."""
    assert 3 == encode_value(3)
    assert ["a"] == encode_value(("a",))
    assert {"date": "2026-03-01"} == encode_value(date(2026, 3, 1))
    assert {"datetime": "2026-03-01T12:00:00+00:00"} == encode_value(AT)
    assert {"amount": "5.00", "currency": "CNY"} == encode_value(cny(5))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("event", "event='event' must be a mapping, not str"),
        (
            {"id": "e"},
            "event has fields ['id'], expected ['at', 'attributes', 'id', 'kind', 'member']",
        ),
        (
            {"id": "e", "kind": "k", "member": "m", "at": 1, "attributes": {}},
            "at=1 must be an ISO 8601 string",
        ),
        (
            {"id": "e", "kind": "k", "member": "m", "at": "soon", "attributes": {}},
            "at='soon' is not an ISO 8601 instant",
        ),
        (
            {"id": "e", "kind": "k", "member": "m", "at": "2026-01-01T00:00:00Z", "attributes": 1},
            "attributes=1 must be a mapping",
        ),
    ],
)
def test_each_event_dict_error(data: object, message: str) -> None:
    """from_dict() refuses data that is not an event's, naming the field."""
    with pytest.raises(InvalidArgumentError) as caught:
        Event.from_dict(data)  # type: ignore[arg-type]
    assert message == str(caught.value)


# -- scheduled events -----------------------------------------------------------------------------

MEMBERS = [
    ("leap", date(2000, 2, 29)),
    ("feb28", date(1990, 2, 28)),
    ("mar1", date(1985, 3, 1)),
]


@pytest.mark.parametrize(
    ("on", "feb29", "expected"),
    [
        (date(2027, 2, 28), "feb28", ["birthday:leap:2027", "birthday:feb28:2027"]),
        (date(2027, 3, 1), "feb28", ["birthday:mar1:2027"]),
        (date(2027, 2, 28), "mar1", ["birthday:feb28:2027"]),
        (date(2027, 3, 1), "mar1", ["birthday:leap:2027", "birthday:mar1:2027"]),
        (date(2028, 2, 28), "mar1", ["birthday:feb28:2028"]),
        (date(2028, 2, 29), "feb28", ["birthday:leap:2028"]),
        (date(2028, 3, 1), "mar1", ["birthday:mar1:2028"]),
    ],
)
def test_birthday_events_honour_the_feb29_policy(on: date, feb29: str, expected: list[str]) -> None:
    """29 February birthdays fall on 28 February or 1 March in other years, by policy."""
    events = birthday_events(MEMBERS, on, zone="Asia/Shanghai", feb29=feb29)  # type: ignore[arg-type]
    assert expected == [event.id for event in events]


def test_birthday_events_start_at_local_midnight() -> None:
    """The events' instant is the start of the local day, after a midnight DST gap if any."""
    (shanghai,) = birthday_events(
        [("a", date(1990, 3, 1))], date(2026, 3, 1), zone="Asia/Shanghai", feb29="feb28"
    )
    assert datetime(2026, 2, 28, 16, tzinfo=UTC) == shanghai.at
    assert "birthday" == shanghai.kind
    # Santiago sprang forward at 24:00 on 6 September 2025: that day began at 01:00 (-03).
    (santiago,) = birthday_events(
        [("a", date(1990, 9, 7))], date(2025, 9, 7), zone="America/Santiago", feb29="feb28"
    )
    assert datetime(2025, 9, 7, 4, tzinfo=UTC) == santiago.at


def test_anniversary_events_count_years_since_joining() -> None:
    """Anniversaries fall on the join date's month and day, from the first year on."""
    joined = [("old", date(2020, 5, 4)), ("new", date(2026, 5, 4)), ("leap", date(2024, 2, 29))]
    events = list(anniversary_events(joined, date(2026, 5, 4), zone="UTC", feb29="feb28"))
    assert [("anniversary:old:2026", 6)] == [(event.id, event.get("years")) for event in events]
    leap = list(anniversary_events(joined, date(2027, 2, 28), zone="UTC", feb29="feb28"))
    assert [3] == [event.get("years") for event in leap]


BAD_PAIRS: list[tuple[MemberId | str, date]] = ["alice"]  # type: ignore[list-item]
BAD_DATES: list[tuple[MemberId | str, date]] = [("a", "2020-01-01")]  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            call(birthday_events, [], datetime(2026, 1, 1, tzinfo=UTC), zone="UTC", feb29="feb28"),
            ArgumentTypeError,
            "on=datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc) must be a date, not datetime",
        ),
        (
            call(birthday_events, [], date(2026, 1, 1), zone="UTC", feb29="feb29"),
            InvalidArgumentError,
            "feb29='feb29' must be 'feb28' or 'mar1'",
        ),
        (
            call(anniversary_events, [], date(2026, 1, 1), zone="Mars", feb29="feb28"),
            InvalidArgumentError,
            "zone='Mars' is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'",
        ),
        (
            call(
                lambda: list(
                    birthday_events(BAD_PAIRS, date(2026, 1, 1), zone="UTC", feb29="feb28")
                )
            ),
            ArgumentTypeError,
            "members[0]='alice' must be a (member, birthday) pair",
        ),
        (
            call(
                lambda: list(
                    anniversary_events(BAD_DATES, date(2026, 1, 1), zone="UTC", feb29="feb28")
                )
            ),
            ArgumentTypeError,
            "members[0] join date='2020-01-01' must be a date, not str",
        ),
    ],
    ids=call_id,
)
def test_each_scheduled_event_error(make: Call, error: type[Exception], message: str) -> None:
    """Bad arguments to the scheduled-event helpers are refused with a clear message."""
    with pytest.raises(error) as caught:
        make()
    assert message == str(caught.value)


# -- member context and state ---------------------------------------------------------------------


def test_member_context_defaults_and_values() -> None:
    """A member context holds its facts; tags become a frozenset, instants UTC."""
    member = MemberContext(
        tier="gold",
        tags=["vip", "vip", "kol"],
        joined_at=datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
        birthday=date(1990, 2, 3),
        earn_multiplier=Fraction(3, 2),
    )
    assert frozenset({"vip", "kol"}) == member.tags
    assert datetime(2026, 1, 1, tzinfo=UTC) == member.joined_at
    assert MemberContext(None, frozenset(), None, None, Fraction(1)) == MemberContext()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            call(MemberContext, tags="vip"),
            ArgumentTypeError,
            "tags='vip' must be a set of str, not str",
        ),
        (
            call(MemberContext, tags=[f"t{i}" for i in range(257)]),
            LimitExceededError,
            "tags has 257 tags, over limits.MEMBER_TAGS_MAX (256)",
        ),
        (
            call(MemberContext, birthday=AT),
            ArgumentTypeError,
            "birthday=datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc) must be a date, not datetime",
        ),
        (
            call(MemberContext, earn_multiplier=1.5),
            ArgumentTypeError,
            "earn_multiplier=1.5 must be a Fraction or an int, not float",
        ),
        (
            call(MemberContext, earn_multiplier=-1),
            InvalidArgumentError,
            "earn_multiplier=Fraction(-1, 1) must not be negative",
        ),
        (
            call(MemberContext, earn_multiplier=101),
            LimitExceededError,
            "earn_multiplier=Fraction(101, 1) is over limits.TIER_EARN_MULTIPLIER_MAX (100)",
        ),
        (
            call(MemberContext, tier=""),
            InvalidArgumentError,
            "tier='' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(Counter, -1),
            InvalidArgumentError,
            "points=-1 must be an int from 0 to 9223372036854775807",
        ),
        (call(Counter, 0, 1.0), ArgumentTypeError, "tasks=1.0 must be an int, not float"),
        (
            call(Streak, AT, 1),
            ArgumentTypeError,
            "last_day=datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc) must be a date, not datetime",
        ),
        (
            call(Streak, date(2026, 3, 1), 0),
            InvalidArgumentError,
            "length=0 must be an int from 1 to 9223372036854775807",
        ),
        (
            call(RuleState, "alice"),
            ArgumentTypeError,
            "member='alice' must be a MemberContext, not str",
        ),
        (
            call(RuleState, MemberContext(), {"program": Counter()}),
            ArgumentTypeError,
            "counters key 'program' must be a (scope, period) pair of str, like ('program', 'day:2026-03-01')",
        ),
        (
            call(RuleState, MemberContext(), {("program", "lifetime"): 5}),
            ArgumentTypeError,
            "counters[('program', 'lifetime')]=5 must be a Counter, not int",
        ),
        (
            call(RuleState, MemberContext(), budgets={"launch": -1}),
            InvalidArgumentError,
            "budgets['launch']=-1 must be an int from 0 to 9223372036854775807",
        ),
        (
            call(RuleState, MemberContext(), budgets={1: 1}),
            ArgumentTypeError,
            "budgets key 1 must be a str, not int",
        ),
        (
            call(RuleState, MemberContext(), streaks={"sign_in": 3}),
            ArgumentTypeError,
            "streaks['sign_in']=3 must be a Streak, not int",
        ),
        (
            call(RuleState, MemberContext(), streaks={1: Streak(date(2026, 1, 1), 1)}),
            ArgumentTypeError,
            "streaks key 1 must be a str, not int",
        ),
        (
            call(RuleState, MemberContext(), counters=[("program", Counter())]),
            ArgumentTypeError,
            "counters key 'program' must be a (scope, period) pair of str, like ('program', 'day:2026-03-01')",
        ),
        (
            call(RuleState, MemberContext(), counters=[("program",)]),
            ArgumentTypeError,
            "counters entry ('program',) must be a (key, value) pair",
        ),
        (
            call(RuleState, MemberContext(), counters=5),
            ArgumentTypeError,
            "counters=5 must be a mapping, not int",
        ),
    ],
    ids=call_id,
)
def test_each_state_error(make: Call, error: type[Exception], message: str) -> None:
    """Bad member contexts and state snapshots are refused with a clear message."""
    with pytest.raises(error) as caught:
        make()
    assert message == str(caught.value)


def test_rule_state_reads_with_zero_defaults() -> None:
    """Missing counters read as zero, budgets as unused, streaks as not started."""
    day = ("program", "day:2026-03-01")
    state = RuleState(
        MemberContext(),
        counters=[(day, Counter(5, 1))],
        budgets={"launch": 7},
        streaks={"sign_in": Streak(date(2026, 3, 1), 3)},
    )
    assert Counter(5, 1) == state.counter(day)
    assert Counter() == state.counter(("program", "lifetime"))
    assert 7 == state.budget_used("launch")
    assert 0 == state.budget_used("other")
    assert Streak(date(2026, 3, 1), 3) == state.streak("sign_in")
    assert state.streak("share") is None
    assert state == RuleState(
        MemberContext(),
        {day: Counter(5, 1)},
        [("launch", 7)],
        [("sign_in", Streak(date(2026, 3, 1), 3))],
    )


def test_state_keys_are_sorted_and_unique() -> None:
    """StateKeys sorts and deduplicates what it is given."""
    keys = StateKeys(
        [("rule:b", "lifetime"), ("program", "lifetime"), ("rule:b", "lifetime")],
        ["z", "a", "z"],
        ["s"],
    )
    assert (("program", "lifetime"), ("rule:b", "lifetime")) == keys.counters
    assert ("a", "z") == keys.budgets
    assert ("s",) == keys.streaks


def test_missing_survives_pickling() -> None:
    """MISSING is a singleton, also after a pickle round trip."""
    import pickle  # noqa: PLC0415 - only this test pickles

    assert MISSING is pickle.loads(pickle.dumps(MISSING))  # noqa: S301 - our own data


def test_too_many_lines_are_refused() -> None:
    """A purchase may carry at most EVENT_LINES_MAX lines."""
    lines = [Line("p", "c", cny(1))] * 1001
    with pytest.raises(LimitExceededError) as caught:
        Event.purchase("o", "a", AT, amount=cny(1), order_id="o", lines=lines)
    assert "attributes['lines'] has 1001 lines, over limits.EVENT_LINES_MAX (1000)" == str(
        caught.value
    )


def test_purchase_amount_must_be_money() -> None:
    """The purchase helper refuses an amount that is not Money."""
    with pytest.raises(ArgumentTypeError) as caught:
        Event.purchase("o", "a", AT, amount=Decimal(5), order_id="o")  # type: ignore[arg-type]
    assert "amount=Decimal('5') must be Money, not Decimal" == str(caught.value)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (MISSING, "missing"),
        (MemberId("alice"), "'alice'"),
        (frozenset({"b", "a"}), "['a', 'b']"),
        ((Line("p", "c", cny(1)),), "1 line"),
        ((Line("p", "c", cny(1)), Line("q", "c", cny(1))), "2 lines"),
        (Fraction(1, 3), "1/3"),
        (True, "true"),
        (cny(5), "5.00 CNY"),
        (date(2026, 1, 2), "2026-01-02"),
    ],
)
def test_show_value(value: object, shown: str) -> None:
    """Explanations show values plainly: text quoted, lists bracketed, lines counted."""
    from pointkit.rules._events import show_value  # noqa: PLC0415 - a private helper

    assert shown == show_value(value)
