"""Conditions: a typed tree of frozen values (no ``eval``), compiled to closures.

Maintainer's notes
------------------
A condition is data: comparisons, membership, ranges, local-time tests and segment membership
(:class:`InSegment`) combined with :class:`All`, :class:`Any` and :class:`Not`, over
expressions (:class:`Fact`, :class:`Const`, :class:`Arith`).
:func:`~pointkit.rules._compile.compile_condition` turns a tree into two functions once:
``check``, the fast path, and ``explain``, which rebuilds the same decision as a
:class:`ConditionTrace` with the observed values.

This module owns the tree: the combinators, the comparison, membership and range nodes, the
:data:`Condition` union and the trace. The rest is split by job: the expressions and the size
accounting every node shares in ``_expressions``, the local-time tests in ``_time_conditions``,
exact arithmetic in ``_exact``, and the compiler in ``_compile`` (the time tests' part in
``_compile_time``). Imports run one way, from the leaves to the compiler, never back.

Every node counts its size and depth (expressions included) when it is built, so a tree over
``limits.CONDITION_NODES_MAX`` or ``limits.CONDITION_DEPTH_MAX`` is refused at once and every
walk over a tree is bounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._expressions import (
    Const,
    ConstValue,
    Expr,
    _measure,
    _size_field,
    _to_expr,
    const_family,
)
from pointkit.rules._time_conditions import (
    BetweenHours,
    During,
    OnDates,
    OnMonthDays,
    OnWeekdays,
)


__all__ = [
    "COMPARE_OPS",
    "CONDITION_TYPES",
    "SEGMENT_NAME_LENGTH_MAX",
    "All",
    "Any",
    "Between",
    "Compare",
    "CompareOp",
    "Condition",
    "ConditionTrace",
    "In",
    "InSegment",
    "Not",
    "OnMissing",
]

OnMissing: TypeAlias = Literal["fail", "pass", "error"]
"""What a comparison does when a fact it reads is missing: fail, pass, or make the rule's
status ``error``."""

CompareOp: TypeAlias = Literal["==", "!=", "<", "<=", ">", ">="]
"""A comparison operator."""

COMPARE_OPS: Final[tuple[CompareOp, ...]] = ("==", "!=", "<", "<=", ">", ">=")
_ON_MISSING: Final = ("fail", "pass", "error")
SEGMENT_NAME_LENGTH_MAX: Final = 64
"""The longest segment name."""


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
    >>> from pointkit.rules import Fact
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


def _to_segment_name(value: str) -> str:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, str):
        raise ArgumentTypeError(f"name={given!r} must be a segment's name, not {type_name(given)}")
    if not given or len(given) > SEGMENT_NAME_LENGTH_MAX or given != given.strip():
        raise InvalidArgumentError(
            f"name={given!r} must be 1 to {SEGMENT_NAME_LENGTH_MAX} characters, without spaces "
            "around it"
        )
    return given


@final
@attrs.frozen
class InSegment:
    """Holds when the member is in the named segment (see :class:`~pointkit.rules.Segments`).

    The rule set that evaluates it holds the segments (``RuleSet(..., segments=...)``); a
    segment it does not declare is a configuration problem. A member fact the segment reads
    that is missing keeps the member out, so the condition fails.

    >>> InSegment("new-vip")
    InSegment(name='new-vip')

    Attributes:
        name: The segment's name.
    """

    name: str = attrs.field(converter=_to_segment_name)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
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
    | InSegment
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
    InSegment,
)


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
