"""Rules conditions: construction, facts, exact arithmetic, missing facts, local time, traces."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from pointkit import Money, MoneyCurrency
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    LimitExceededError,
    NaiveDatetimeError,
)
from pointkit.rules import (
    All,
    Any,
    Arith,
    Between,
    BetweenHours,
    Compare,
    Condition,
    ConditionTrace,
    Const,
    During,
    Event,
    Fact,
    In,
    Line,
    MemberContext,
    Not,
    OnDates,
    OnMonthDays,
    OnWeekdays,
    compile_condition,
)


if TYPE_CHECKING:
    from collections.abc import Callable


CNY = "CNY"
SHANGHAI = "Asia/Shanghai"
PASS, FAIL = True, False
NOON = datetime(2026, 3, 1, 4, tzinfo=UTC)  # 12:00 on Sunday 1 March 2026 in Shanghai


def cny(amount: str | int) -> Money:
    """Yuan."""
    return Money(amount, CNY)


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


def deep(depth: int) -> Condition:
    """A condition nested *depth* deep (a comparison is 2 deep)."""
    condition: Condition = Compare(Fact("event.rating"), "==", 5)
    for _ in range(depth - 2):
        condition = Not(condition)
    return condition


# -- construction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            call(Fact, "member.level"),
            InvalidArgumentError,
            "path='member.level' is not a member fact; member facts are 'member.tier', 'member.tags', 'member.days_since_joining', 'member.birthday_month', 'member.is_birthday', 'member.lifetime_earned', 'member.days_since_last_activity'",
        ),
        (
            call(Fact, "amount"),
            InvalidArgumentError,
            "path='amount' must be 'event.<attribute>', one of 'event.kind', 'event.local_date', 'event.local_weekday', 'event.local_hour', 'event.lines.count', 'event.lines.categories', 'event.lines.products', or a member fact",
        ),
        (
            call(Fact, "event.lines.total"),
            InvalidArgumentError,
            "path='event.lines.total' must be 'event.<attribute>', one of 'event.kind', 'event.local_date', 'event.local_weekday', 'event.local_hour', 'event.lines.count', 'event.lines.categories', 'event.lines.products', or a member fact",
        ),
        (
            call(Fact, "event." + "a" * 100),
            InvalidArgumentError,
            f"path='event.{'a' * 100}' must be at most 100 characters",
        ),
        (call(Fact, 5), ArgumentTypeError, "path=5 must be a str, not int"),
        (
            call(Const, 1.5),
            ArgumentTypeError,
            "value=1.5 must be an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line, not float; floats are refused: use Decimal or Money",
        ),
        (
            call(Const, ["a"]),
            ArgumentTypeError,
            "value=['a'] must be an int, Decimal, Money, str, bool, date or aware datetime, not list; use In for a list of values",
        ),
        (
            call(Compare, Fact("event.rating"), "=", 5),
            InvalidArgumentError,
            "op='=' must be one of '==', '!=', '<', '<=', '>', '>='",
        ),
        (
            call(Compare, Fact("event.rating"), "==", 5, on_missing="skip"),
            InvalidArgumentError,
            "on_missing='skip' must be 'fail', 'pass' or 'error'",
        ),
        (
            call(Compare, Fact("event.rating"), "==", 0.5),
            ArgumentTypeError,
            "value=0.5 must be an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line, not float; floats are refused: use Decimal or Money",
        ),
        (
            call(Arith, "%", Fact("event.rating"), 2),
            InvalidArgumentError,
            "op='%' must be one of '+', '-', '*', '/'",
        ),
        (call(All, []), InvalidArgumentError, "conditions=() must hold at least one condition"),
        (
            call(Any, "x"),
            ArgumentTypeError,
            "conditions='x' must be a sequence of conditions, not str",
        ),
        (
            call(All, [Fact("event.rating")]),
            ArgumentTypeError,
            "conditions[0]=Fact(path='event.rating') must be a condition, not Fact",
        ),
        (
            call(Not, condition=True),
            ArgumentTypeError,
            "condition=True must be a condition, not bool",
        ),
        (
            call(In, Fact("member.tier"), []),
            InvalidArgumentError,
            "values must hold at least one value",
        ),
        (
            call(In, Fact("member.tier"), "gold"),
            ArgumentTypeError,
            "values='gold' must be a collection of constants, not str",
        ),
        (
            call(In, Fact("member.tier"), ["gold", 1]),
            InvalidArgumentError,
            "values=['gold', 1] mixes number, str; give values of one type",
        ),
        (
            call(In, Fact("event.amount"), [cny(1), Money(1, "USD")]),
            InvalidArgumentError,
            "values=[Money(amount=Decimal('1.00'), currency=MoneyCurrency(code='CNY', decimals=2)), Money(amount=Decimal('1.00'), currency=MoneyCurrency(code='USD', decimals=2))] mixes currencies; give one currency",
        ),
        (
            call(In, Fact("event.rating"), range(1001)),
            LimitExceededError,
            "values has 1001 values, over limits.CONDITION_VALUES_MAX (1000)",
        ),
        (
            call(During, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)),
            InvalidArgumentError,
            "end=2026-10-01T00:00:00+00:00 must be after start (2026-10-01T00:00:00+00:00)",
        ),
        (
            call(During, datetime(2026, 10, 1), datetime(2026, 10, 2, tzinfo=UTC)),  # noqa: DTZ001 - the naive input is the point
            NaiveDatetimeError,
            "start=datetime.datetime(2026, 10, 1, 0, 0) is naive; give it a time zone, e.g. .replace(tzinfo=UTC)",
        ),
        (call(OnWeekdays, [0]), InvalidArgumentError, "days item=0 must be an int from 1 to 7"),
        (call(OnWeekdays, []), InvalidArgumentError, "days must hold at least one value"),
        (call(OnWeekdays, "67"), ArgumentTypeError, "days='67' must be a set of int, not str"),
        (call(OnMonthDays, [32]), InvalidArgumentError, "days item=32 must be an int from 1 to 31"),
        (
            call(OnDates, [NOON]),
            ArgumentTypeError,
            "dates item datetime.datetime(2026, 3, 1, 4, 0, tzinfo=datetime.timezone.utc) must be a date, not datetime",
        ),
        (call(OnDates, []), InvalidArgumentError, "dates must hold at least one date"),
        (
            call(OnDates, date(2026, 1, 1)),
            ArgumentTypeError,
            "dates=datetime.date(2026, 1, 1) must be a set of date, not date",
        ),
        (
            call(OnDates, [date(2026, 1, 1) + timedelta(days=i) for i in range(1001)]),
            LimitExceededError,
            "dates has 1001 dates, over limits.CONDITION_VALUES_MAX (1000)",
        ),
        (
            call(BetweenHours, 9, 9),
            InvalidArgumentError,
            "end_hour=9 must differ from start_hour (9); BetweenHours(0, 24) is the whole day",
        ),
        (
            call(BetweenHours, 24, 2),
            InvalidArgumentError,
            "start_hour=24 must be an int from 0 to 23",
        ),
        (call(BetweenHours, 1, 0), InvalidArgumentError, "end_hour=0 must be an int from 1 to 24"),
        (
            call(deep, 17),
            LimitExceededError,
            "the condition is 17 deep, over limits.CONDITION_DEPTH_MAX (16)",
        ),
        (
            call(All, [Compare(Fact("event.rating"), "==", i) for i in range(86)]),
            LimitExceededError,
            "the condition has 259 nodes, over limits.CONDITION_NODES_MAX (256)",
        ),
        (
            call(compile_condition, Fact("event.rating"), SHANGHAI),
            ArgumentTypeError,
            "condition=Fact(path='event.rating') must be a condition, not Fact",
        ),
        (
            call(compile_condition, OnWeekdays([1]), "Mars"),
            InvalidArgumentError,
            "zone='Mars' is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'",
        ),
        (
            call(compile_condition, OnWeekdays([1]), SHANGHAI, feb29="feb30"),
            InvalidArgumentError,
            "feb29='feb30' must be 'feb28' or 'mar1'",
        ),
        (
            call(compile_condition(OnWeekdays([1]), SHANGHAI).check, "e", MemberContext()),
            ArgumentTypeError,
            "event='e' must be an Event, not str",
        ),
        (
            call(
                compile_condition(OnWeekdays([1]), SHANGHAI).check,
                Event.sign_in("s", "a", NOON),
                None,
            ),
            ArgumentTypeError,
            "member=None must be a MemberContext, not NoneType",
        ),
    ],
    ids=call_id,
)
def test_each_condition_error(make: Call, error: type[Exception], message: str) -> None:
    """Each bad condition is refused when built, naming the field, value and what is valid."""
    with pytest.raises(error) as caught:
        make()
    assert message == str(caught.value)
    assert error is type(caught.value)


def test_deepest_allowed_condition_compiles() -> None:
    """A condition exactly CONDITION_DEPTH_MAX deep is accepted and evaluates."""
    compiled = compile_condition(deep(16), SHANGHAI)
    event = Event.review("r", "a", NOON, length=1, rating=5)
    assert compiled.check(event, MemberContext())


def test_values_are_sorted_and_unique() -> None:
    """In keeps its values sorted without repeats, so equal conditions serialise equally."""
    assert (1, 2, 3) == In(Fact("event.rating"), [3, 1, 2, 1]).values
    assert In(Fact("member.tier"), ["b", "a"]) == In(Fact("member.tier"), ("a", "b", "a"))
    assert (1, 2, 7) == OnWeekdays([7, 1, 2]).days
    assert Compare(Fact("event.rating"), ">=", Const(4)) == Compare(Fact("event.rating"), ">=", 4)


# -- evaluation and traces --------------------------------------------------------------------------

ORDER = Event.purchase(
    "o-1",
    "alice",
    NOON,
    amount=cny("120.00"),
    order_id="o-1",
    tax=cny("20.00"),
    lines=(Line("p1", "books", cny(70)), Line("p2", "toys", cny(30)), Line("p3", "books", cny(0))),
)
REVIEW = Event.review("r-1", "alice", NOON, length=42, rating=4)
SHARE = Event.share("s-1", "alice", NOON)
GOLD = MemberContext(
    tier="gold",
    tags=frozenset({"vip", "kol"}),
    joined_at=datetime(2026, 2, 1, 16, tzinfo=UTC),  # 2 February local
    birthday=date(1992, 3, 1),
)
NOBODY = MemberContext()


def leaf(
    node: str, passed: bool, *observed: tuple[str, str], reason: str | None = None
) -> ConditionTrace:
    """A leaf's trace."""
    return ConditionTrace(node, passed, observed, (), reason)


CASES: list[tuple[str, Condition, Event, MemberContext, bool | None, ConditionTrace]] = [
    (
        "money against a constant",
        Compare(Fact("event.amount"), ">=", cny(100)),
        ORDER,
        NOBODY,
        PASS,
        leaf("event.amount >= 100.00 CNY", PASS, ("event.amount", "120.00 CNY")),
    ),
    (
        "money in another currency fails",
        Compare(Fact("event.amount"), ">=", Money(1, "USD")),
        ORDER,
        NOBODY,
        FAIL,
        leaf(
            "event.amount >= 1.00 USD",
            FAIL,
            ("event.amount", "120.00 CNY"),
            reason="currency_mismatch",
        ),
    ),
    (
        "two facts, both observed",
        Compare(Fact("event.tax"), "<", Fact("event.amount")),
        ORDER,
        NOBODY,
        PASS,
        leaf(
            "event.tax < event.amount",
            PASS,
            ("event.tax", "20.00 CNY"),
            ("event.amount", "120.00 CNY"),
        ),
    ),
    (
        "exact money arithmetic",
        Compare(Arith("-", Fact("event.amount"), Fact("event.tax")), "==", cny(100)),
        ORDER,
        NOBODY,
        PASS,
        leaf(
            "event.amount - event.tax == 100.00 CNY",
            PASS,
            ("event.amount", "120.00 CNY"),
            ("event.tax", "20.00 CNY"),
            ("event.amount - event.tax", "100 CNY"),
        ),
    ),
    (
        "a third of the amount, three times, is the amount",
        Compare(Arith("*", Arith("/", Fact("event.amount"), 3), 3), "==", Fact("event.amount")),
        ORDER,
        NOBODY,
        PASS,
        leaf(
            "(event.amount / 3) * 3 == event.amount",
            PASS,
            ("event.amount", "120.00 CNY"),
            ("event.amount / 3", "40 CNY"),
            ("(event.amount / 3) * 3", "120 CNY"),
            ("event.amount", "120.00 CNY"),
        ),
    ),
    (
        "a ratio of money is a number",
        Compare(Arith("/", Fact("event.tax"), Fact("event.amount")), "<", Decimal("0.2")),
        ORDER,
        NOBODY,
        PASS,
        leaf(
            "event.tax / event.amount < 0.2",
            PASS,
            ("event.tax", "20.00 CNY"),
            ("event.amount", "120.00 CNY"),
            ("event.tax / event.amount", "1/6"),
        ),
    ),
    (
        "division by zero fails, never raises",
        Compare(Arith("/", Fact("event.rating"), Arith("-", Fact("event.rating"), 4)), ">", 1),
        REVIEW,
        NOBODY,
        FAIL,
        leaf(
            "event.rating / (event.rating - 4) > 1",
            FAIL,
            ("event.rating", "4"),
            ("event.rating", "4"),
            ("event.rating - 4", "0"),
            reason="division_by_zero",
        ),
    ),
    (
        "money plus a number is a type mismatch",
        Compare(Arith("+", Fact("event.amount"), 1), ">", cny(1)),
        ORDER,
        NOBODY,
        FAIL,
        leaf(
            "event.amount + 1 > 1.00 CNY",
            FAIL,
            ("event.amount", "120.00 CNY"),
            reason="type_mismatch",
        ),
    ),
    (
        "a number never equals text",
        Compare(Fact("event.rating"), "!=", "4"),
        REVIEW,
        NOBODY,
        FAIL,
        leaf("event.rating != '4'", FAIL, ("event.rating", "4"), reason="type_mismatch"),
    ),
    (
        "a bool never equals 1",
        Compare(Fact("member.is_birthday"), "==", 1),
        REVIEW,
        GOLD,
        FAIL,
        leaf(
            "member.is_birthday == 1", FAIL, ("member.is_birthday", "true"), reason="type_mismatch"
        ),
    ),
    (
        "missing fact fails by default",
        Compare(Fact("event.channel"), "==", "wechat"),
        SHARE,
        NOBODY,
        FAIL,
        leaf(
            "event.channel == 'wechat'", FAIL, ("event.channel", "missing"), reason="missing_fact"
        ),
    ),
    (
        "missing fact may pass",
        Compare(Fact("event.channel"), "==", "wechat", on_missing="pass"),
        SHARE,
        NOBODY,
        PASS,
        leaf(
            "event.channel == 'wechat'", PASS, ("event.channel", "missing"), reason="missing_fact"
        ),
    ),
    (
        "missing fact may be an error",
        Compare(Fact("member.tier"), "==", "gold", on_missing="error"),
        SHARE,
        NOBODY,
        None,
        leaf("member.tier == 'gold'", FAIL, ("member.tier", "missing"), reason="missing_fact"),
    ),
    (
        "not of a missing fact that fails holds",
        Not(Compare(Fact("event.channel"), "==", "wechat")),
        SHARE,
        NOBODY,
        PASS,
        ConditionTrace(
            "not",
            PASS,
            (),
            (
                leaf(
                    "event.channel == 'wechat'",
                    FAIL,
                    ("event.channel", "missing"),
                    reason="missing_fact",
                ),
            ),
        ),
    ),
    (
        "not of an error is an error",
        Not(Compare(Fact("event.channel"), "==", "x", on_missing="error")),
        SHARE,
        NOBODY,
        None,
        ConditionTrace(
            "not",
            FAIL,
            (),
            (
                leaf(
                    "event.channel == 'x'",
                    FAIL,
                    ("event.channel", "missing"),
                    reason="missing_fact",
                ),
            ),
        ),
    ),
    (
        "tags intersect",
        In(Fact("member.tags"), ["new", "vip"]),
        SHARE,
        GOLD,
        PASS,
        leaf("member.tags in ['new', 'vip']", PASS, ("member.tags", "['kol', 'vip']")),
    ),
    (
        "categories intersect",
        In(Fact("event.lines.categories"), ["food"]),
        ORDER,
        NOBODY,
        FAIL,
        leaf(
            "event.lines.categories in ['food']",
            FAIL,
            ("event.lines.categories", "['books', 'toys']"),
        ),
    ),
    (
        "a scalar in a list",
        In(Fact("member.tier"), ["gold", "silver"]),
        SHARE,
        GOLD,
        PASS,
        leaf("member.tier in ['gold', 'silver']", PASS, ("member.tier", "'gold'")),
    ),
    (
        "a missing scalar in a list",
        In(Fact("member.tier"), ["gold"], on_missing="error"),
        SHARE,
        NOBODY,
        None,
        leaf("member.tier in ['gold']", FAIL, ("member.tier", "missing"), reason="missing_fact"),
    ),
    (
        "arithmetic in a list",
        In(Arith("+", Fact("event.rating"), 1), [5]),
        REVIEW,
        NOBODY,
        PASS,
        leaf("event.rating + 1 in [5]", PASS, ("event.rating", "4"), ("event.rating + 1", "5")),
    ),
    (
        "between includes its low end",
        Between(Fact("event.amount"), cny(120), cny(500)),
        ORDER,
        NOBODY,
        PASS,
        leaf("120.00 CNY <= event.amount < 500.00 CNY", PASS, ("event.amount", "120.00 CNY")),
    ),
    (
        "between excludes its high end",
        Between(Fact("event.amount"), cny(100), cny(120)),
        ORDER,
        NOBODY,
        FAIL,
        leaf("100.00 CNY <= event.amount < 120.00 CNY", FAIL, ("event.amount", "120.00 CNY")),
    ),
    (
        "between over a missing fact",
        Between(Fact("event.shipping"), cny(0), cny(10)),
        ORDER,
        NOBODY,
        FAIL,
        leaf(
            "0.00 CNY <= event.shipping < 10.00 CNY",
            FAIL,
            ("event.shipping", "missing"),
            reason="missing_fact",
        ),
    ),
    (
        "between with arithmetic",
        Between(Arith("*", Fact("event.rating"), 2), 8, Fact("event.length")),
        REVIEW,
        NOBODY,
        PASS,
        leaf(
            "8 <= event.rating * 2 < event.length",
            PASS,
            ("event.rating", "4"),
            ("event.rating * 2", "8"),
            ("event.length", "42"),
        ),
    ),
    (
        "lines are counted",
        Compare(Fact("event.lines.count"), "==", 3),
        ORDER,
        NOBODY,
        PASS,
        leaf("event.lines.count == 3", PASS, ("event.lines.count", "3")),
    ),
    (
        "products are listed",
        In(Fact("event.lines.products"), ["p3"]),
        ORDER,
        NOBODY,
        PASS,
        leaf(
            "event.lines.products in ['p3']", PASS, ("event.lines.products", "['p1', 'p2', 'p3']")
        ),
    ),
    (
        "no lines means missing products",
        In(Fact("event.lines.products"), ["p1"]),
        Event.purchase("o-2", "a", NOON, amount=cny(1), order_id="o-2"),
        NOBODY,
        FAIL,
        leaf(
            "event.lines.products in ['p1']",
            FAIL,
            ("event.lines.products", "missing"),
            reason="missing_fact",
        ),
    ),
    (
        "no lines means a missing count",
        Compare(Fact("event.lines.count"), ">", 0),
        Event.purchase("o-2", "a", NOON, amount=cny(1), order_id="o-2"),
        NOBODY,
        FAIL,
        leaf(
            "event.lines.count > 0", FAIL, ("event.lines.count", "missing"), reason="missing_fact"
        ),
    ),
    (
        "the event's kind",
        Compare(Fact("event.kind"), "==", "review"),
        REVIEW,
        NOBODY,
        PASS,
        leaf("event.kind == 'review'", PASS, ("event.kind", "'review'")),
    ),
    (
        "local facts are in the program's zone",
        All(
            [
                Compare(Fact("event.local_date"), "==", date(2026, 3, 1)),
                Compare(Fact("event.local_weekday"), "==", 7),
                Compare(Fact("event.local_hour"), "==", 12),
            ]
        ),
        REVIEW,
        NOBODY,
        PASS,
        ConditionTrace(
            "all",
            PASS,
            (),
            (
                leaf("event.local_date == 2026-03-01", PASS, ("event.local_date", "2026-03-01")),
                leaf("event.local_weekday == 7", PASS, ("event.local_weekday", "7")),
                leaf("event.local_hour == 12", PASS, ("event.local_hour", "12")),
            ),
        ),
    ),
    (
        "member facts",
        All(
            [
                Compare(Fact("member.days_since_joining"), "==", 27),
                Compare(Fact("member.birthday_month"), "==", 3),
                Compare(Fact("member.is_birthday"), "==", Const(value=True)),
            ]
        ),
        REVIEW,
        GOLD,
        PASS,
        ConditionTrace(
            "all",
            PASS,
            (),
            (
                leaf("member.days_since_joining == 27", PASS, ("member.days_since_joining", "27")),
                leaf("member.birthday_month == 3", PASS, ("member.birthday_month", "3")),
                leaf("member.is_birthday == true", PASS, ("member.is_birthday", "true")),
            ),
        ),
    ),
    (
        "member facts a member does not have are missing",
        Any(
            [
                Compare(Fact("member.days_since_joining"), ">", 0),
                Compare(Fact("member.birthday_month"), ">", 0),
                Compare(Fact("member.is_birthday"), "==", Const(value=True)),
            ]
        ),
        REVIEW,
        NOBODY,
        FAIL,
        ConditionTrace(
            "any",
            FAIL,
            (),
            (
                leaf(
                    "member.days_since_joining > 0",
                    FAIL,
                    ("member.days_since_joining", "missing"),
                    reason="missing_fact",
                ),
                leaf(
                    "member.birthday_month > 0",
                    FAIL,
                    ("member.birthday_month", "missing"),
                    reason="missing_fact",
                ),
                leaf(
                    "member.is_birthday == true",
                    FAIL,
                    ("member.is_birthday", "missing"),
                    reason="missing_fact",
                ),
            ),
        ),
    ),
    (
        "all decides at the first child that is not passed",
        All(
            [
                Compare(Fact("event.rating"), "==", 1),
                Compare(Fact("member.tier"), "==", "x", on_missing="error"),
            ]
        ),
        REVIEW,
        NOBODY,
        FAIL,
        ConditionTrace(
            "all",
            FAIL,
            (),
            (
                leaf("event.rating == 1", FAIL, ("event.rating", "4")),
                leaf("member.tier == 'x'", FAIL, ("member.tier", "missing"), reason="missing_fact"),
            ),
        ),
    ),
    (
        "any decides at the first child that is not failed",
        Any(
            [
                Compare(Fact("member.tier"), "==", "x", on_missing="error"),
                Compare(Fact("event.rating"), "==", 4),
            ]
        ),
        REVIEW,
        NOBODY,
        None,
        ConditionTrace(
            "any",
            FAIL,
            (),
            (
                leaf("member.tier == 'x'", FAIL, ("member.tier", "missing"), reason="missing_fact"),
                leaf("event.rating == 4", PASS, ("event.rating", "4")),
            ),
        ),
    ),
    (
        "a window includes its start",
        During(NOON, NOON + timedelta(hours=1)),
        REVIEW,
        NOBODY,
        PASS,
        leaf(
            "during [2026-03-01T04:00:00+00:00, 2026-03-01T05:00:00+00:00)",
            PASS,
            ("event.at", "2026-03-01T04:00:00+00:00"),
        ),
    ),
    (
        "a window excludes its end",
        During(NOON - timedelta(hours=1), NOON),
        REVIEW,
        NOBODY,
        FAIL,
        leaf(
            "during [2026-03-01T03:00:00+00:00, 2026-03-01T04:00:00+00:00)",
            FAIL,
            ("event.at", "2026-03-01T04:00:00+00:00"),
        ),
    ),
    (
        "weekends",
        OnWeekdays([6, 7]),
        REVIEW,
        NOBODY,
        PASS,
        leaf("on weekdays 6, 7", PASS, ("event.local_weekday", "7")),
    ),
    (
        "member days",
        OnMonthDays([8, 18, 28]),
        REVIEW,
        NOBODY,
        FAIL,
        leaf("on month days 8, 18, 28", FAIL, ("event.local_date", "2026-03-01")),
    ),
    (
        "holidays",
        OnDates([date(2026, 3, 1), date(2026, 10, 1)]),
        REVIEW,
        NOBODY,
        PASS,
        leaf("on dates 2026-03-01, 2026-10-01", PASS, ("event.local_date", "2026-03-01")),
    ),
    (
        "hours",
        BetweenHours(9, 12),
        REVIEW,
        NOBODY,
        FAIL,
        leaf("between hours 9 and 12", FAIL, ("event.local_hour", "12")),
    ),
    (
        "hours past midnight",
        BetweenHours(22, 13),
        REVIEW,
        NOBODY,
        PASS,
        leaf("between hours 22 and 13", PASS, ("event.local_hour", "12")),
    ),
]


@pytest.mark.parametrize(
    ("condition", "event", "member", "outcome", "trace"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_condition_outcome_and_trace(
    condition: Condition,
    event: Event,
    member: MemberContext,
    outcome: bool | None,
    trace: ConditionTrace,
) -> None:
    """check(), outcome() and explain() agree, and the trace shows what was observed."""
    compiled = compile_condition(condition, SHANGHAI)
    assert outcome is compiled.outcome(event, member)
    assert (outcome is True) is compiled.check(event, member)
    assert trace == compiled.explain(event, member)


def test_trace_to_dict() -> None:
    """A trace turns into JSON-ready data."""
    trace = compile_condition(Not(Compare(Fact("event.rating"), ">", 3)), SHANGHAI).explain(
        REVIEW, NOBODY
    )
    assert {
        "node": "not",
        "passed": False,
        "observed": [],
        "children": [
            {
                "node": "event.rating > 3",
                "passed": True,
                "observed": [["event.rating", "4"]],
                "children": [],
                "reason": None,
            }
        ],
        "reason": None,
    } == trace.to_dict()


@pytest.mark.parametrize(
    ("feb29", "on", "expected"),
    [
        ("feb28", date(2027, 2, 28), True),
        ("feb28", date(2027, 3, 1), False),
        ("mar1", date(2027, 2, 28), False),
        ("mar1", date(2027, 3, 1), True),
        ("mar1", date(2028, 2, 29), True),
        ("mar1", date(2028, 3, 1), False),
    ],
)
def test_is_birthday_moves_29_february(feb29: str, on: date, expected: bool) -> None:
    """A 29 February birthday is on 28 February or 1 March in other years, by policy."""
    leapling = MemberContext(birthday=date(2000, 2, 29))
    at = datetime(on.year, on.month, on.day, 12, tzinfo=ZoneInfo(SHANGHAI))
    compiled = compile_condition(
        Compare(Fact("member.is_birthday"), "==", Const(value=True)),
        SHANGHAI,
        feb29=feb29,  # type: ignore[arg-type]
    )
    assert expected is compiled.check(Event.sign_in("s", "a", at), leapling)


def test_local_hour_in_the_autumn_fold_counts_from_the_first_pass() -> None:
    """Both passes of New York's repeated 01:00 hour read as local hour 1 on 1 November."""
    zone = "America/New_York"
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    compiled = compile_condition(
        All([Compare(Fact("event.local_hour"), "==", 1), OnDates([date(2026, 11, 1)])]), zone
    )
    for at in (first, second):
        assert compiled.check(Event.sign_in("s", "a", at), NOBODY)


def test_spring_forward_hours_skip_the_gap() -> None:
    """In New York's spring gap 02:00 never shows; 03:00 local follows 01:59."""
    zone = "America/New_York"
    compiled = compile_condition(BetweenHours(2, 3), zone)
    before = datetime(2026, 3, 8, 6, 59, tzinfo=UTC)  # 01:59 EST
    after = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert not compiled.check(Event.sign_in("s", "a", before), NOBODY)
    assert not compiled.check(Event.sign_in("s", "a", after), NOBODY)


def test_decimal_facts_compare_with_ints_exactly() -> None:
    """A Decimal attribute compares with an int constant exactly; money with its currency's grid."""
    event = Event("e", "score", "a", NOON, {"ratio": Decimal("0.50"), "paid": Money(5, "JPY")})
    compiled = compile_condition(
        All(
            [
                Compare(Fact("event.ratio"), "<", 1),
                Compare(Fact("event.ratio"), "==", Decimal("0.5")),
                Compare(Fact("event.paid"), "==", Money(5, MoneyCurrency("JPY", decimals=0))),
                Compare(Arith("*", Fact("event.ratio"), 2), "==", 1),
                Compare(Arith("/", 1, Fact("event.ratio")), "==", Fraction(2).numerator),
            ]
        ),
        "UTC",
    )
    assert compiled.check(event, NOBODY)


# -- every comparison path ------------------------------------------------------------------------

MIXED = Event(
    "m-1",
    "custom",
    "alice",
    NOON,
    {
        "amount": cny("30.00"),
        "tax": cny("10.00"),
        "prize": Money(5, "USD"),
        "length": 1,
        "channel": "app",
        "day": date(2026, 3, 1),
        "when": NOON,
        "due": NOON + timedelta(days=1),
        "tags": ("a", "b"),
        "lines": (Line("p", "c", cny(1)),),
        "flag": True,
    },
)
A = Fact("event.amount")
TAX = Fact("event.tax")
PRIZE = Fact("event.prize")


PATHS: list[tuple[Condition, bool, str | None]] = [
    (Compare(Arith("+", A, TAX), "==", cny(40)), PASS, None),
    (Compare(Arith("-", A, TAX), ">=", Arith("*", 2, TAX)), PASS, None),
    (Compare(Arith("/", A, TAX), "==", 3), PASS, None),
    (Compare(Arith("/", A, Arith("-", TAX, TAX)), ">", 1), FAIL, "division_by_zero"),
    (Compare(Arith("/", A, 0), ">", cny(1)), FAIL, "division_by_zero"),
    (Compare(Arith("*", A, TAX), ">", cny(1)), FAIL, "type_mismatch"),
    (Compare(Arith("+", 1, A), ">", cny(1)), FAIL, "type_mismatch"),
    (Compare(Arith("/", 1, A), ">", 1), FAIL, "type_mismatch"),
    (Compare(Arith("+", A, PRIZE), ">", cny(1)), FAIL, "currency_mismatch"),
    (Compare(Arith("*", A, 1), ">", Arith("*", PRIZE, 1)), FAIL, "currency_mismatch"),
    (Compare(Arith("*", A, 1), ">", 5), FAIL, "type_mismatch"),
    (Compare(Arith("+", Fact("event.channel"), 1), ">", 1), FAIL, "type_mismatch"),
    (Compare(Arith("+", Fact("event.day"), 1), ">", 1), FAIL, "type_mismatch"),
    (Compare(Arith("+", Fact("event.flag"), 1), ">", 1), FAIL, "type_mismatch"),
    (Compare(Arith("/", Fact("event.length"), 5), "==", Decimal("0.2")), PASS, None),
    (Compare(Arith("+", Fact("event.shipping"), TAX), ">", cny(1)), FAIL, "missing_fact"),
    (Compare(Arith("*", A, 1), ">=", cny(30)), PASS, None),
    (Compare(Arith("*", A, 1), "<=", cny(30)), PASS, None),
    (Compare(Arith("*", A, 1), "<", cny(31)), PASS, None),
    (Compare(A, ">", PRIZE), FAIL, "currency_mismatch"),
    (Compare(A, "==", PRIZE), FAIL, "currency_mismatch"),
    (Compare(A, ">", Fact("event.length")), FAIL, "type_mismatch"),
    (Compare(Fact("event.when"), "<", Fact("event.due")), PASS, None),
    (Compare(Fact("event.tags"), "==", Fact("event.tags")), PASS, None),
    (Compare(Fact("member.tags"), "<", Fact("event.tags")), FAIL, "type_mismatch"),
    (Compare(Fact("event.shipping"), "<", A, on_missing="pass"), PASS, "missing_fact"),
    (Compare(A, ">", 5), FAIL, "type_mismatch"),
    (Compare(Fact("event.length"), "==", cny(1)), FAIL, "type_mismatch"),
    (In(Arith("*", A, 1), [cny(30)]), PASS, None),
    (In(Arith("/", A, 0), [cny(30)]), FAIL, "division_by_zero"),
    (In(Fact("event.flag"), [1]), FAIL, None),
    (In(Fact("event.length"), [True]), FAIL, None),
    (Between(Arith("*", A, 1), cny(30), cny(31)), PASS, None),
    (Between(Arith("/", A, 0), cny(30), cny(31)), FAIL, "division_by_zero"),
    (Between(Fact("event.shipping"), Fact("event.tax"), A), FAIL, "missing_fact"),
    (Between(Fact("event.length"), 0, Fact("event.length")), FAIL, None),
    (Between(A, cny(1), 100), FAIL, "type_mismatch"),
    (Between(A, cny(1), Money(100, "USD")), FAIL, "currency_mismatch"),
    (Between(Fact("event.shipping"), cny(1), 100), FAIL, "missing_fact"),
    (Between(A, Money(1, "USD"), Money(100, "USD")), FAIL, "currency_mismatch"),
    (Between(Fact("event.length"), cny(1), cny(2)), FAIL, "type_mismatch"),
    (Between(Fact("event.shipping"), cny(1), cny(2)), FAIL, "missing_fact"),
    (Between(Fact("event.channel"), 1, 2), FAIL, "type_mismatch"),
    (Between(Fact("event.shipping"), 1, 2), FAIL, "missing_fact"),
    (Between(Fact("event.day"), date(2026, 3, 1), date(2026, 3, 2)), PASS, None),
    (Between(Fact("event.when"), NOON, NOON + timedelta(seconds=1)), PASS, None),
    (All([Compare(A, ">", cny(1))]), PASS, None),
    (Any([Compare(A, "<", cny(1))]), FAIL, None),
]


@pytest.mark.parametrize(
    ("condition", "outcome", "reason"),
    PATHS,
    ids=[f"{index:02d}" for index in range(len(PATHS))],
)
def test_every_comparison_path(
    condition: Condition, outcome: bool | None, reason: str | None
) -> None:
    """Each typed path of comparison gives its answer, and the trace the same answer and reason."""
    compiled = compile_condition(condition, "UTC")
    assert outcome is compiled.outcome(MIXED, NOBODY)
    trace = compiled.explain(MIXED, NOBODY)
    if trace.children:
        trace = trace.children[0]
    assert (outcome is True, reason) == (trace.passed, trace.reason)
