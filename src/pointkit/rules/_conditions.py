"""Conditions: a typed tree of frozen values (no ``eval``), compiled to closures.

Maintainer's notes
------------------
A condition is data: comparisons, membership, ranges and local-time tests combined with
:class:`All`, :class:`Any` and :class:`Not`, over expressions (:class:`Fact`, :class:`Const`,
:class:`Arith`). :func:`compile_condition` turns a tree into two functions once: ``check``, the
fast path that allocates nothing but its result, and ``explain``, which rebuilds the same
decision as a :class:`ConditionTrace` with the observed values. Both share one set of rules, and
a property test holds them to the same answers.

Evaluation never raises. Each comparison has three outcomes: passed, failed, or error; an error
comes only from a missing fact under ``on_missing="error"``. ``All`` and ``Any`` decide in
declaration order, like ``and``/``or``: the first child that is not passed (for ``All``) or not
failed (for ``Any``) decides, error included; ``Not`` keeps an error an error. Everything else
that cannot be compared fails the comparison with a reason in the trace: a missing fact under
``on_missing="fail"`` (``missing_fact``), a division by zero (``division_by_zero``), amounts in
two currencies (``currency_mismatch``) or values of two types (``type_mismatch``).

Arithmetic is exact: ints, Decimals and money amounts become Fractions, so ``amount / 3 * 3``
equals ``amount``; money only combines with money of its own currency, and with plain numbers
by ``*`` and ``/``.

Every node counts its size and depth (expressions included) when it is built, so a tree over
``limits.CONDITION_NODES_MAX`` or ``limits.CONDITION_DEPTH_MAX`` is refused at once and every
walk over a tree is bounded.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, cast, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, check_zone, type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._events import (
    FEB29_POLICIES,
    MISSING,
    Event,
    Feb29,
    check_value,
    show_value,
)
from pointkit.rules._facts import Facts, check_path, fact_getter
from pointkit.rules._state import MemberContext


if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo


__all__ = [
    "ARITH_OPS",
    "COMPARE_OPS",
    "CONDITION_TYPES",
    "TIME_CONDITIONS",
    "All",
    "Any",
    "Arith",
    "ArithOp",
    "Between",
    "BetweenHours",
    "Compare",
    "CompareOp",
    "CompiledCondition",
    "Condition",
    "ConditionTrace",
    "Const",
    "ConstValue",
    "During",
    "Expr",
    "Fact",
    "In",
    "Not",
    "OnDates",
    "OnMissing",
    "OnMonthDays",
    "OnWeekdays",
    "compile_condition",
    "const_family",
    "expr_label",
]

OnMissing: TypeAlias = Literal["fail", "pass", "error"]
"""What a comparison does when a fact it reads is missing: fail, pass, or make the rule's
status ``error``."""

CompareOp: TypeAlias = Literal["==", "!=", "<", "<=", ">", ">="]
"""A comparison operator."""

ArithOp: TypeAlias = Literal["+", "-", "*", "/"]
"""An arithmetic operator."""

COMPARE_OPS: Final[tuple[CompareOp, ...]] = ("==", "!=", "<", "<=", ">", ">=")
ARITH_OPS: Final[tuple[ArithOp, ...]] = ("+", "-", "*", "/")
_ON_MISSING: Final = ("fail", "pass", "error")

ConstValue: TypeAlias = int | Decimal | Money | str | bool | date | datetime
"""A constant's value: an int, Decimal, Money, str, bool, date or aware datetime."""


# -- sizes ------------------------------------------------------------------------------------


def _measure(node: object, children: tuple[object, ...]) -> None:
    size = 1 + sum(child._size for child in children)  # type: ignore[attr-defined]  # noqa: SLF001 - every node of this module has one
    depth = 1 + max((child._depth for child in children), default=0)  # type: ignore[attr-defined]  # noqa: SLF001
    if size > limits.CONDITION_NODES_MAX:
        raise LimitExceededError(
            f"the condition has {size} nodes, over limits.CONDITION_NODES_MAX "
            f"({limits.CONDITION_NODES_MAX})"
        )
    if depth > limits.CONDITION_DEPTH_MAX:
        raise LimitExceededError(
            f"the condition is {depth} deep, over limits.CONDITION_DEPTH_MAX "
            f"({limits.CONDITION_DEPTH_MAX})"
        )
    object.__setattr__(node, "_size", size)
    object.__setattr__(node, "_depth", depth)


def _size_field() -> int:
    return attrs.field(init=False, eq=False, repr=False, hash=False)  # type: ignore[no-any-return]


# -- expressions ------------------------------------------------------------------------------


def _to_path(value: str) -> str:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, str):
        raise ArgumentTypeError(f"path={given!r} must be a str, not {type_name(given)}")
    problem = check_path(given)
    if problem is not None:
        raise InvalidArgumentError(f"path={given!r} {problem}")
    return given


@final
@attrs.frozen
class Fact:
    """A fact read from the event or the member, by dotted path.

    Paths: ``event.<attribute>`` (``event.amount``, ``event.rating``), ``event.kind``,
    ``event.lines.count``, ``event.lines.categories``, ``event.lines.products``,
    ``event.local_date``, ``event.local_weekday`` (1 is Monday), ``event.local_hour``, and
    ``member.tier``, ``member.tags``, ``member.days_since_joining`` (local days),
    ``member.birthday_month``, ``member.is_birthday``. Local facts are in the program's zone.

    >>> Fact("member.level")
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: path='member.level' is not a member fact; member facts are 'member.tier', 'member.tags', 'member.days_since_joining', 'member.birthday_month', 'member.is_birthday'

    Attributes:
        path: The fact's dotted path.
    """

    path: str = attrs.field(converter=_to_path)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, ())


def const_family(value: object) -> str:
    """Return the comparison family of a constant: number, money, str, bool, date or datetime."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | Decimal | Fraction):
        return "number"
    if isinstance(value, Money):
        return "money"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return "str"


def _to_const(value: ConstValue) -> ConstValue:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, tuple | list | set | frozenset):
        raise ArgumentTypeError(
            f"value={given!r} must be an int, Decimal, Money, str, bool, date or aware "
            f"datetime, not {type_name(given)}; use In for a list of values"
        )
    return check_value("value", given)  # type: ignore[return-value]  # sequences refused above


@final
@attrs.frozen
class Const:
    """A constant: an int, Decimal, Money, str, bool, date or aware datetime (never a float).

    Attributes:
        value: The value.
    """

    value: ConstValue = attrs.field(converter=_to_const)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, ())


def _to_expr(value: object) -> Expr:
    if isinstance(value, Fact | Const | Arith):
        return value
    return Const(value)  # type: ignore[arg-type]  # Const checks the value


def _to_arith_op(value: ArithOp) -> ArithOp:
    if value not in ARITH_OPS:
        valid = ", ".join(repr(op) for op in ARITH_OPS)
        raise InvalidArgumentError(f"op={value!r} must be one of {valid}")
    return value


@final
@attrs.frozen
class Arith:
    """Exact arithmetic over numbers and money: ``left op right``.

    Numbers combine with numbers; money adds to and subtracts from money of its currency, is
    multiplied and divided by numbers, and divided by money (giving a number). A division by
    zero fails the comparison it is in (``division_by_zero``); it never raises.
    A value that is not an expression is taken as a :class:`Const`.

    Attributes:
        op: ``+``, ``-``, ``*`` or ``/``.
        left: The left operand.
        right: The right operand.
    """

    op: ArithOp = attrs.field(converter=_to_arith_op)
    left: Expr = attrs.field(converter=_to_expr)
    right: Expr = attrs.field(converter=_to_expr)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, (self.left, self.right))


Expr: TypeAlias = Fact | Const | Arith
"""An expression: a fact, a constant or arithmetic."""


# -- conditions -------------------------------------------------------------------------------


def _to_on_missing(value: OnMissing) -> OnMissing:
    if value not in _ON_MISSING:
        raise InvalidArgumentError(f"on_missing={value!r} must be 'fail', 'pass' or 'error'")
    return value


def _to_children(value: Iterable[Condition]) -> tuple[Condition, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise ArgumentTypeError(
            f"conditions={given!r} must be a sequence of conditions, not {type_name(given)}"
        )
    children = tuple(given)
    if not children:
        raise InvalidArgumentError("conditions=() must hold at least one condition")
    for index, child in enumerate(children):
        if not isinstance(child, CONDITION_TYPES):
            raise ArgumentTypeError(
                f"conditions[{index}]={child!r} must be a condition, not {type_name(child)}"
            )
    return children


def _to_child(value: Condition) -> Condition:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, CONDITION_TYPES):
        raise ArgumentTypeError(f"condition={given!r} must be a condition, not {type_name(given)}")
    return given


@final
@attrs.frozen
class All:
    """Holds when every condition holds (decided in order, like ``and``).

    Attributes:
        conditions: One or more conditions.
    """

    conditions: tuple[Condition, ...] = attrs.field(converter=_to_children)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, self.conditions)


@final
@attrs.frozen
class Any:
    """Holds when at least one condition holds (decided in order, like ``or``).

    Attributes:
        conditions: One or more conditions.
    """

    conditions: tuple[Condition, ...] = attrs.field(converter=_to_children)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, self.conditions)


@final
@attrs.frozen
class Not:
    """Holds when its condition fails; an error stays an error.

    Attributes:
        condition: The condition to negate.
    """

    condition: Condition = attrs.field(converter=_to_child)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, (self.condition,))


def _to_compare_op(value: CompareOp) -> CompareOp:
    if value not in COMPARE_OPS:
        valid = ", ".join(repr(op) for op in COMPARE_OPS)
        raise InvalidArgumentError(f"op={value!r} must be one of {valid}")
    return value


@final
@attrs.frozen
class Compare:
    """``left op right``: two expressions compared (a :class:`Fact` on both sides for two facts).

    Money compares only with money of its currency; values of two types never compare equal.
    A value that is not an expression is taken as a :class:`Const`.

    >>> from pointkit import Money
    >>> Compare(Fact("event.amount"), ">=", Money("100", "CNY"))
    Compare(left=Fact(path='event.amount'), op='>=', right=Const(value=Money(amount=Decimal('100.00'), currency=MoneyCurrency(code='CNY', decimals=2))), on_missing='fail')

    Attributes:
        left: The left expression.
        op: ``==``, ``!=``, ``<``, ``<=``, ``>`` or ``>=``.
        right: The right expression.
        on_missing: When a fact is missing: ``"fail"`` (the default), ``"pass"``, or
            ``"error"`` (the rule's status becomes ``error``, reason ``missing_fact``).
    """

    left: Expr = attrs.field(converter=_to_expr)
    op: CompareOp = attrs.field(converter=_to_compare_op)
    right: Expr = attrs.field(converter=_to_expr)
    on_missing: OnMissing = attrs.field(default="fail", converter=_to_on_missing, kw_only=True)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, (self.left, self.right))


def _sort_key(value: object) -> tuple[object, ...]:
    if isinstance(value, Money):
        return (value.currency.code, value.amount, str(value))
    return (value, str(value))


def _to_values(value: Iterable[ConstValue]) -> tuple[ConstValue, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes | dict) or not isinstance(given, Iterable):
        raise ArgumentTypeError(
            f"values={given!r} must be a collection of constants, not {type_name(given)}"
        )
    items = [Const(item).value for item in given]
    if not items:
        raise InvalidArgumentError("values must hold at least one value")
    if len(items) > limits.CONDITION_VALUES_MAX:
        raise LimitExceededError(
            f"values has {len(items)} values, over limits.CONDITION_VALUES_MAX "
            f"({limits.CONDITION_VALUES_MAX})"
        )
    families = {const_family(item) for item in items}
    if len(families) > 1:
        raise InvalidArgumentError(
            f"values={items!r} mixes {', '.join(sorted(families))}; give values of one type"
        )
    currencies = {item.currency for item in items if isinstance(item, Money)}
    if len(currencies) > 1:
        raise InvalidArgumentError(f"values={items!r} mixes currencies; give one currency")
    unique: list[ConstValue] = []
    for item in sorted(items, key=_sort_key):
        if not unique or unique[-1] != item:
            unique.append(item)
    return tuple(unique)


@final
@attrs.frozen
class In:
    """The expression's value is one of *values* (a list fact shares at least one of them).

    For a list fact (``member.tags``, ``event.lines.categories``) the condition holds when the
    list and *values* have a value in common.

    Attributes:
        expr: The expression.
        values: The values, of one type, sorted and without repeats.
        on_missing: When a fact is missing; see :class:`Compare`.
    """

    expr: Expr = attrs.field(converter=_to_expr)
    values: tuple[ConstValue, ...] = attrs.field(converter=_to_values)
    on_missing: OnMissing = attrs.field(default="fail", converter=_to_on_missing, kw_only=True)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, (self.expr,))


@final
@attrs.frozen
class Between:
    """``low <= expr < high``: a half-open range, the low end in, the high end out.

    Attributes:
        expr: The expression.
        low: The lowest value inside the range.
        high: The first value above the range.
        on_missing: When a fact is missing; see :class:`Compare`.
    """

    expr: Expr = attrs.field(converter=_to_expr)
    low: Expr = attrs.field(converter=_to_expr)
    high: Expr = attrs.field(converter=_to_expr)
    on_missing: OnMissing = attrs.field(default="fail", converter=_to_on_missing, kw_only=True)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, (self.expr, self.low, self.high))


def _to_start(value: datetime) -> datetime:
    return check_aware("start", value)


def _to_end(value: datetime) -> datetime:
    return check_aware("end", value)


@final
@attrs.frozen
class During:
    """The event happened in ``[start, end)``: the start in, the end out.

    >>> from datetime import UTC, datetime
    >>> During(datetime(2026, 10, 8, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: end=2026-10-01T00:00:00+00:00 must be after start (2026-10-08T00:00:00+00:00)

    Attributes:
        start: The first instant inside, in UTC.
        end: The first instant after, in UTC.
    """

    start: datetime = attrs.field(converter=_to_start)
    end: datetime = attrs.field(converter=_to_end)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        if not self.end > self.start:
            raise InvalidArgumentError(
                f"end={self.end.isoformat()} must be after start ({self.start.isoformat()})"
            )
        _measure(self, ())


def _int_set(name: str, value: object, low: int, high: int) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ArgumentTypeError(f"{name}={value!r} must be a set of int, not {type_name(value)}")
    items = tuple(
        sorted({check_int(f"{name} item", item, minimum=low, maximum=high) for item in value})
    )
    if not items:
        raise InvalidArgumentError(f"{name} must hold at least one value")
    return items


def _to_weekdays(value: Iterable[int]) -> tuple[int, ...]:
    return _int_set("days", value, 1, 7)


def _to_month_days(value: Iterable[int]) -> tuple[int, ...]:
    return _int_set("days", value, 1, 31)


@final
@attrs.frozen
class OnWeekdays:
    """The event's local weekday is one of *days* (1 is Monday, 7 is Sunday): weekend doubles.

    Attributes:
        days: Weekdays, 1 to 7, sorted.
    """

    days: tuple[int, ...] = attrs.field(converter=_to_weekdays)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, ())


@final
@attrs.frozen
class OnMonthDays:
    """The event's local day of the month is one of *days*: member days ("every 8th").

    Day 31 matches only months that have one.

    Attributes:
        days: Days of the month, 1 to 31, sorted.
    """

    days: tuple[int, ...] = attrs.field(converter=_to_month_days)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, ())


def _to_dates(value: Iterable[date]) -> tuple[date, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes | date) or not isinstance(given, Iterable):
        raise ArgumentTypeError(f"dates={given!r} must be a set of date, not {type_name(given)}")
    items: set[date] = set()
    for item in given:
        if isinstance(item, datetime) or not isinstance(item, date):
            raise ArgumentTypeError(f"dates item {item!r} must be a date, not {type_name(item)}")
        items.add(item)
    if not items:
        raise InvalidArgumentError("dates must hold at least one date")
    if len(items) > limits.CONDITION_VALUES_MAX:
        raise LimitExceededError(
            f"dates has {len(items)} dates, over limits.CONDITION_VALUES_MAX "
            f"({limits.CONDITION_VALUES_MAX})"
        )
    return tuple(sorted(items))


@final
@attrs.frozen
class OnDates:
    """The event's local date is one of *dates*: holidays.

    Attributes:
        dates: Local dates, sorted.
    """

    dates: tuple[date, ...] = attrs.field(converter=_to_dates)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, ())


_DAY_HOURS: Final = 24


def _to_start_hour(value: int) -> int:
    return check_int("start_hour", value, minimum=0, maximum=_DAY_HOURS - 1)


def _to_end_hour(value: int) -> int:
    return check_int("end_hour", value, minimum=1, maximum=_DAY_HOURS)


@final
@attrs.frozen
class BetweenHours:
    """The event's local hour is in ``[start_hour, end_hour)``, past midnight if need be.

    When *end_hour* is not after *start_hour* the range wraps: ``BetweenHours(22, 2)`` is
    22:00 to 01:59.

    >>> BetweenHours(9, 9)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: end_hour=9 must differ from start_hour (9); BetweenHours(0, 24) is the whole day

    Attributes:
        start_hour: The first local hour inside, 0 to 23.
        end_hour: The first local hour after, 1 to 24.
    """

    start_hour: int = attrs.field(converter=_to_start_hour)
    end_hour: int = attrs.field(converter=_to_end_hour)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        if self.start_hour == self.end_hour:
            raise InvalidArgumentError(
                f"end_hour={self.end_hour} must differ from start_hour ({self.start_hour}); "
                "BetweenHours(0, 24) is the whole day"
            )
        _measure(self, ())


Condition: TypeAlias = (
    All
    | Any
    | Not
    | Compare
    | In
    | Between
    | During
    | OnWeekdays
    | OnMonthDays
    | OnDates
    | BetweenHours
)
"""Any condition node."""

CONDITION_TYPES: Final = (
    All,
    Any,
    Not,
    Compare,
    In,
    Between,
    During,
    OnWeekdays,
    OnMonthDays,
    OnDates,
    BetweenHours,
)
TIME_CONDITIONS: Final = (During, OnWeekdays, OnMonthDays, OnDates, BetweenHours)
"""The conditions on the event's instant: a rule failing one is ``outside_window``."""


# -- traces -----------------------------------------------------------------------------------


@final
@attrs.frozen
class ConditionTrace:
    """Why a condition passed or failed: the node, its result, what it saw, its children.

    Attributes:
        node: The node as text (``"event.amount >= 100.00 CNY"``, ``"all"``).
        passed: Whether it held.
        observed: ``(fact or expression, value)`` pairs as text, for both sides of a
            comparison of two facts.
        children: The children's traces, for ``all``, ``any`` and ``not``.
        reason: Why a leaf could not compare: ``missing_fact``, ``division_by_zero``,
            ``currency_mismatch`` or ``type_mismatch``; ``None`` otherwise.
    """

    node: str
    passed: bool
    observed: tuple[tuple[str, str], ...] = ()
    children: tuple[ConditionTrace, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Return the trace as JSON-ready data."""
        return {
            "node": self.node,
            "passed": self.passed,
            "observed": [list(pair) for pair in self.observed],
            "children": [child.to_dict() for child in self.children],
            "reason": self.reason,
        }


# -- exact values -----------------------------------------------------------------------------


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


# -- compiling --------------------------------------------------------------------------------

_Outcome: TypeAlias = bool | None
_Test: TypeAlias = "Callable[[Facts], _Outcome]"
_Explain: TypeAlias = "Callable[[Facts], tuple[ConditionTrace, _Outcome]]"
_Get: TypeAlias = "Callable[[Facts], object]"
_Observe: TypeAlias = "Callable[[Facts, list[tuple[str, str]]], object]"

_Op: TypeAlias = "Callable[[object, object], bool]"
_OPS: Final[dict[str, _Op]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": cast("_Op", operator.lt),
    "<=": cast("_Op", operator.le),
    ">": cast("_Op", operator.gt),
    ">=": cast("_Op", operator.ge),
}
_MISSING_OUTCOME: Final[dict[str, _Outcome]] = {"fail": False, "pass": True, "error": None}
_FAMILY_TYPES: Final[dict[str, frozenset[type]]] = {
    "bool": frozenset({bool}),
    "number": frozenset({int, Decimal}),
    "str": frozenset({str}),
    "date": frozenset({date}),
    "datetime": frozenset({datetime}),
}


def _show(value: object) -> str:
    if isinstance(value, Fraction):
        return _show_fraction(value)
    return show_value(value) if not isinstance(value, _Amount) else str(value)


def expr_label(expr: Expr, *, top: bool = True) -> str:
    """Return *expr* as text: the path of a fact, the value of a constant."""
    if isinstance(expr, Fact):
        return expr.path
    if isinstance(expr, Const):
        return show_value(expr.value)
    text = f"{expr_label(expr.left, top=False)} {expr.op} {expr_label(expr.right, top=False)}"
    return text if top else f"({text})"


def _compile_expr(expr: Expr) -> tuple[_Get, _Observe]:
    if isinstance(expr, Fact):
        get = fact_getter(expr.path)
        path = expr.path

        def observe_fact(facts: Facts, seen: list[tuple[str, str]]) -> object:
            value = get(facts)
            seen.append((path, _show(value)))
            return value

        return get, observe_fact
    if isinstance(expr, Const):
        constant: object = expr.value

        def get_const(facts: Facts) -> object:  # noqa: ARG001 - the getter signature
            return constant

        def observe_const(facts: Facts, seen: list[tuple[str, str]]) -> object:  # noqa: ARG001
            return constant

        return get_const, observe_const
    op = expr.op
    left_get, left_observe = _compile_expr(expr.left)
    right_get, right_observe = _compile_expr(expr.right)
    label = expr_label(expr)

    def get_arith(facts: Facts) -> object:
        left = _exact(left_get(facts))
        right = _exact(right_get(facts))
        if left is MISSING or right is MISSING:
            return MISSING
        return _arith(op, left, right)

    def observe_arith(facts: Facts, seen: list[tuple[str, str]]) -> object:
        left = _exact(left_observe(facts, seen))
        right = _exact(right_observe(facts, seen))
        if left is MISSING or right is MISSING:
            return MISSING
        value = _arith(op, left, right)
        seen.append((label, _show(value)))
        return value

    return get_arith, observe_arith


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


def _leaf_explain(
    label: str,
    on_missing: str,
    observers: tuple[_Observe, ...],
    decide: Callable[[tuple[object, ...]], bool],
    *,
    exact: bool,
) -> _Explain:
    missing_outcome = _MISSING_OUTCOME[on_missing]

    def explain(facts: Facts) -> tuple[ConditionTrace, _Outcome]:
        seen: list[tuple[str, str]] = []
        try:
            values = tuple([observe(facts, seen) for observe in observers])
            if any(value is MISSING for value in values):
                trace = ConditionTrace(
                    label, missing_outcome is True, tuple(seen), (), "missing_fact"
                )
                return trace, missing_outcome
            if exact:
                values = tuple(_exact(value) for value in values)
            passed = decide(values)
        except _Fault as fault:
            return ConditionTrace(label, False, tuple(seen), (), fault.reason), False  # noqa: FBT003
        return ConditionTrace(label, passed, tuple(seen)), passed

    return explain


def decide_one(op: _Op, constant: object) -> Callable[[object], bool]:
    """Return the decision of ``value op constant`` for a present value (may raise a fault)."""

    def decide(value: object) -> bool:
        return _compare(op, value, constant)

    return decide


def _fact_explain(
    label: str, path: str, get: _Get, on_missing: str, decide: Callable[[object], bool]
) -> _Explain:
    """Return the explanation of a leaf that reads one fact: the commonest case.

    It gives :func:`_leaf_explain`'s answers without its general machinery.
    """
    missing = _MISSING_OUTCOME[on_missing]

    def explain(facts: Facts) -> tuple[ConditionTrace, _Outcome]:
        value = get(facts)
        seen = ((path, _show(value)),)
        if value is MISSING:
            return ConditionTrace(label, missing is True, seen, (), "missing_fact"), missing
        try:
            passed = decide(value)
        except _Fault as fault:
            return ConditionTrace(label, False, seen, (), fault.reason), False  # noqa: FBT003
        return ConditionTrace(label, passed, seen), passed

    return explain


def _compile_compare(node: Compare) -> tuple[_Test, _Explain]:
    op = _OPS[node.op]
    missing = _MISSING_OUTCOME[node.on_missing]
    exact = isinstance(node.left, Arith) or isinstance(node.right, Arith)
    left_get, left_observe = _compile_expr(node.left)
    right_get, right_observe = _compile_expr(node.right)
    label = f"{expr_label(node.left)} {node.op} {expr_label(node.right)}"

    def decide(values: tuple[object, ...]) -> bool:
        return _compare(op, values[0], values[1])

    explain = _leaf_explain(
        label, node.on_missing, (left_observe, right_observe), decide, exact=exact
    )
    if not exact and isinstance(node.right, Const):
        if isinstance(node.left, Fact):
            explain = _fact_explain(
                label, node.left.path, left_get, node.on_missing, decide_one(op, node.right.value)
            )
        return _compare_const(left_get, op, node.right.value, missing), explain

    def test(facts: Facts) -> _Outcome:
        try:
            left = left_get(facts)
            right = right_get(facts)
            if left is MISSING or right is MISSING:
                return missing
            if exact:
                return _compare(op, _exact(left), _exact(right))
            return _compare(op, left, right)
        except _Fault:
            return False

    return test, explain


def _compare_const(
    get: _Get, op: Callable[[object, object], bool], constant: object, missing: _Outcome
) -> _Test:
    """The fast path of the commonest comparison: a fact against a constant."""
    if isinstance(constant, Money):
        code = constant.currency.code
        places = constant.currency.decimals
        amount = constant.amount

        def test_money(facts: Facts) -> _Outcome:
            value = get(facts)
            if value is MISSING:
                return missing
            if type(value) is not Money:
                return False
            currency = value.currency
            if currency.code != code or currency.decimals != places:
                return False
            return op(value.amount, amount)

        return test_money
    accepted = _FAMILY_TYPES[const_family(constant)]

    def test(facts: Facts) -> _Outcome:
        value = get(facts)
        if value is MISSING:
            return missing
        return type(value) in accepted and op(value, constant)

    return test


def _compile_in(node: In) -> tuple[_Test, _Explain]:
    exact = isinstance(node.expr, Arith)
    get, observe = _compile_expr(node.expr)
    missing = _MISSING_OUTCOME[node.on_missing]
    values = frozenset(_exact(value) for value in node.values) if exact else frozenset(node.values)
    is_bool = isinstance(node.values[0], bool)
    label = f"{expr_label(node.expr)} in [{', '.join(show_value(v) for v in node.values)}]"

    def member(value: object) -> bool:
        if isinstance(value, tuple | frozenset):
            return not values.isdisjoint(value)
        if (type(value) is bool) is not is_bool:
            return False
        return value in values

    def test(facts: Facts) -> _Outcome:
        try:
            value = get(facts)
        except _Fault:
            return False
        if value is MISSING:
            return missing
        return member(value)

    def decide(found: tuple[object, ...]) -> bool:
        return member(found[0])

    if isinstance(node.expr, Fact):
        return test, _fact_explain(label, node.expr.path, get, node.on_missing, member)
    return test, _leaf_explain(label, node.on_missing, (observe,), decide, exact=exact)


def _compile_between(node: Between) -> tuple[_Test, _Explain]:
    exact = any(isinstance(part, Arith) for part in (node.expr, node.low, node.high))
    get, observe = _compile_expr(node.expr)
    low_get, low_observe = _compile_expr(node.low)
    high_get, high_observe = _compile_expr(node.high)
    missing = _MISSING_OUTCOME[node.on_missing]
    label = f"{expr_label(node.low)} <= {expr_label(node.expr)} < {expr_label(node.high)}"

    def decide(values: tuple[object, ...]) -> bool:
        value, low, high = values
        return _compare(_OPS["<="], low, value) and _compare(_OPS["<"], value, high)

    def test(facts: Facts) -> _Outcome:
        try:
            values: tuple[object, ...] = (get(facts), low_get(facts), high_get(facts))
            if any(value is MISSING for value in values):
                return missing
            if exact:
                values = tuple(_exact(value) for value in values)
            return decide(values)
        except _Fault:
            return False

    explain = _leaf_explain(
        label, node.on_missing, (observe, low_observe, high_observe), decide, exact=exact
    )
    if not exact and isinstance(node.low, Const) and isinstance(node.high, Const):
        return _between_consts(get, node.low.value, node.high.value, missing), explain
    return test, explain


def _between_consts(get: _Get, low: object, high: object, missing: _Outcome) -> _Test:
    """The fast path of the commonest range: a fact between two constants of one type."""
    family = const_family(low)
    if family != const_family(high) or (
        isinstance(low, Money) and isinstance(high, Money) and low.currency != high.currency
    ):
        return lambda facts: missing if get(facts) is MISSING else False
    if isinstance(low, Money) and isinstance(high, Money):
        code, places = low.currency.code, low.currency.decimals
        low_amount, high_amount = low.amount, high.amount

        def test_money(facts: Facts) -> _Outcome:
            value = get(facts)
            if value is MISSING:
                return missing
            if type(value) is not Money:
                return False
            currency = value.currency
            if currency.code != code or currency.decimals != places:
                return False
            return low_amount <= value.amount < high_amount

        return test_money
    accepted = _FAMILY_TYPES.get(family, frozenset())

    def test(facts: Facts) -> _Outcome:
        value = get(facts)
        if value is MISSING:
            return missing
        return type(value) in accepted and low <= value < high  # type: ignore[operator]

    return test


def _time_explain(
    label: str, fact: str, read: Callable[[Facts], object], holds: Callable[[object], bool]
) -> _Explain:
    def explain(facts: Facts) -> tuple[ConditionTrace, _Outcome]:
        value = read(facts)
        passed = holds(value)
        return ConditionTrace(label, passed, ((fact, show_value(value)),)), passed

    return explain


def _join(items: Iterable[object]) -> str:
    return ", ".join(show_value(item) for item in items)


def _compile_time(node: object) -> tuple[_Test, _Explain]:
    """Time conditions; each test reads the local time once, with no call in between."""
    if isinstance(node, During):
        return _during(node)
    if isinstance(node, OnWeekdays):
        weekdays = frozenset(node.days)

        def on_weekdays(facts: Facts) -> _Outcome:
            return facts.local().isoweekday() in weekdays

        explain = _time_explain(
            f"on weekdays {_join(node.days)}",
            "event.local_weekday",
            lambda facts: facts.local().isoweekday(),
            weekdays.__contains__,
        )
        return on_weekdays, explain
    if isinstance(node, OnMonthDays):
        month_days = frozenset(node.days)

        def on_month_days(facts: Facts) -> _Outcome:
            return facts.local_date().day in month_days

        explain = _time_explain(
            f"on month days {_join(node.days)}",
            "event.local_date",
            lambda facts: facts.local_date(),
            lambda day: day.day in month_days,  # type: ignore[attr-defined]
        )
        return on_month_days, explain
    if isinstance(node, OnDates):
        dates = frozenset(node.dates)

        def on_dates(facts: Facts) -> _Outcome:
            return facts.local_date() in dates

        explain = _time_explain(
            f"on dates {_join(node.dates)}",
            "event.local_date",
            lambda facts: facts.local_date(),
            dates.__contains__,
        )
        return on_dates, explain
    if isinstance(node, BetweenHours):
        return _hours(node)
    raise AssertionError("unreachable")  # every condition type is handled


def _during(node: During) -> tuple[_Test, _Explain]:
    start, end = node.start, node.end

    def during(facts: Facts) -> _Outcome:
        return start <= facts.event.at < end

    explain = _time_explain(
        f"during [{start.isoformat()}, {end.isoformat()})",
        "event.at",
        lambda facts: facts.event.at,
        lambda at: start <= at < end,  # type: ignore[operator]
    )
    return during, explain


def _hours(node: BetweenHours) -> tuple[_Test, _Explain]:
    start_hour, end_hour = node.start_hour, node.end_hour
    wraps = end_hour <= start_hour

    def holds(hour: object) -> bool:
        if wraps:
            return hour >= start_hour or hour < end_hour  # type: ignore[operator]
        return start_hour <= hour < end_hour  # type: ignore[operator]

    def between_hours(facts: Facts) -> _Outcome:
        hour = facts.local().hour
        if wraps:
            return hour >= start_hour or hour < end_hour
        return start_hour <= hour < end_hour

    explain = _time_explain(
        f"between hours {start_hour} and {end_hour}",
        "event.local_hour",
        lambda facts: facts.local().hour,
        holds,
    )
    return between_hours, explain


def _compile_junction(
    conditions: tuple[Condition, ...], node: str, *, neutral: bool
) -> tuple[_Test, _Explain]:
    """All (*neutral* True) or Any (False): the first child outcome that is not neutral decides."""
    compiled = [_compile(child) for child in conditions]
    tests = tuple(test for test, _ in compiled)
    explains = tuple(explain for _, explain in compiled)

    def test(facts: Facts) -> _Outcome:
        for child in tests:
            outcome = child(facts)
            if outcome is not neutral:
                return outcome
        return neutral

    def explain(facts: Facts) -> tuple[ConditionTrace, _Outcome]:
        traces = []
        decided: _Outcome = neutral
        for child in explains:
            trace, outcome = child(facts)
            traces.append(trace)
            if decided is neutral and outcome is not neutral:
                decided = outcome
        return ConditionTrace(node, decided is True, (), tuple(traces)), decided

    if len(tests) == 1:
        return tests[0], explain
    return test, explain


def _compile_all(node: All) -> tuple[_Test, _Explain]:
    return _compile_junction(node.conditions, "all", neutral=True)


def _compile_any(node: Any) -> tuple[_Test, _Explain]:
    return _compile_junction(node.conditions, "any", neutral=False)


def _compile_not(node: Not) -> tuple[_Test, _Explain]:
    child_test, child_explain = _compile(node.condition)

    def test(facts: Facts) -> _Outcome:
        outcome = child_test(facts)
        return None if outcome is None else not outcome

    def explain(facts: Facts) -> tuple[ConditionTrace, _Outcome]:
        trace, outcome = child_explain(facts)
        negated = None if outcome is None else not outcome
        return ConditionTrace("not", negated is True, (), (trace,)), negated

    return test, explain


def _compile(node: Condition) -> tuple[_Test, _Explain]:
    if isinstance(node, Compare):
        return _compile_compare(node)
    if isinstance(node, All):
        return _compile_all(node)
    if isinstance(node, Any):
        return _compile_any(node)
    if isinstance(node, Not):
        return _compile_not(node)
    if isinstance(node, In):
        return _compile_in(node)
    if isinstance(node, Between):
        return _compile_between(node)
    return _compile_time(node)


def _to_feb29(value: object) -> Feb29:
    if value not in FEB29_POLICIES:
        raise InvalidArgumentError(f"feb29={value!r} must be 'feb28' or 'mar1'")
    return value


@final
class CompiledCondition:
    """A condition compiled for one time zone: :meth:`check` fast, :meth:`explain` in full.

    Build it with :func:`compile_condition`.
    """

    __slots__ = ("_explain", "_test", "condition", "feb29", "zone")

    def __init__(self, condition: Condition, zone: ZoneInfo, feb29: Feb29) -> None:
        self.condition = condition
        self.zone = zone
        self.feb29 = feb29
        self._test, self._explain = _compile(condition)

    def _facts(self, event: Event, member: MemberContext) -> Facts:
        given_event: object = event  # checked at run time whatever the annotation says
        given_member: object = member
        if not isinstance(given_event, Event):
            raise ArgumentTypeError(f"event={event!r} must be an Event, not {type_name(event)}")
        if not isinstance(given_member, MemberContext):
            raise ArgumentTypeError(
                f"member={member!r} must be a MemberContext, not {type_name(member)}"
            )
        return Facts(event, member, self.zone, self.feb29)

    def check(self, event: Event, member: MemberContext) -> bool:
        """Return whether the condition holds for *event* and *member* (an error is ``False``)."""
        return self._test(self._facts(event, member)) is True

    def outcome(self, event: Event, member: MemberContext) -> bool | None:
        """Return ``True``, ``False``, or ``None`` for an error (a missing fact under ``"error"``)."""
        return self._test(self._facts(event, member))

    def explain(self, event: Event, member: MemberContext) -> ConditionTrace:
        """Return the condition's trace for *event* and *member*: every node, what it saw."""
        return self._explain(self._facts(event, member))[0]

    def trace_facts(self, facts: Facts) -> ConditionTrace:
        """Return the trace for prepared facts."""
        return self._explain(facts)[0]

    def __repr__(self) -> str:
        return f"CompiledCondition({self.condition!r}, zone={self.zone.key!r})"


def compile_condition(
    condition: Condition, zone: str | ZoneInfo, *, feb29: Feb29 = "feb28"
) -> CompiledCondition:
    """Compile *condition* for the program's *zone*.

    >>> from datetime import UTC, datetime
    >>> from pointkit import Money
    >>> from pointkit.rules import Event, MemberContext
    >>> big = compile_condition(Compare(Fact("event.amount"), ">=", Money(100, "CNY")), "Asia/Shanghai")
    >>> event = Event.purchase("o-1", "alice", datetime(2026, 3, 1, tzinfo=UTC), amount=Money("88.00", "CNY"), order_id="o-1")
    >>> big.check(event, MemberContext())
    False
    >>> big.explain(event, MemberContext())
    ConditionTrace(node='event.amount >= 100.00 CNY', passed=False, observed=(('event.amount', '88.00 CNY'),), children=(), reason=None)

    Args:
        condition: The condition tree.
        zone: The program's IANA time zone: local facts and time conditions use it.
        feb29: Where 29 February birthdays fall in other years (``member.is_birthday``).

    Returns:
        The compiled condition.

    Raises:
        ArgumentTypeError: If *condition* is not a condition.
        InvalidArgumentError: If *zone* or *feb29* is invalid.
    """
    given: object = condition  # checked at run time whatever the annotation says
    if not isinstance(given, CONDITION_TYPES):
        raise ArgumentTypeError(f"condition={given!r} must be a condition, not {type_name(given)}")
    return CompiledCondition(given, check_zone("zone", zone), _to_feb29(feb29))
