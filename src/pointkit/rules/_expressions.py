"""Expressions: the values conditions compare (facts, constants, exact arithmetic), and node sizes.

Maintainer's notes
------------------
An expression is a :class:`Fact` read from the event or the member, a :class:`Const`, or
:class:`Arith` over two expressions; conditions compare them. Constants are attribute values
(:func:`~pointkit.rules._attributes.check_value`), so a constant and an event attribute of the
same value are equal.

Every node of a condition tree, expressions included, counts its size and depth when it is
built (:func:`_measure`, here because expressions are the leaves every other node is built
on), so a tree over ``limits.CONDITION_NODES_MAX`` or ``limits.CONDITION_DEPTH_MAX`` is refused
at once and every walk over a tree is bounded.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Final, Literal, TypeAlias, final

import attrs

from pointkit import limits
from pointkit._validate import type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._attributes import check_value
from pointkit.rules._codec import show_value
from pointkit.rules._facts import check_path


__all__ = [
    "ARITH_OPS",
    "Arith",
    "ArithOp",
    "Const",
    "ConstValue",
    "Expr",
    "Fact",
    "const_family",
    "expr_label",
]

ArithOp: TypeAlias = Literal["+", "-", "*", "/"]
"""An arithmetic operator."""

ARITH_OPS: Final[tuple[ArithOp, ...]] = ("+", "-", "*", "/")

ConstValue: TypeAlias = int | Decimal | Money | str | bool | date | datetime
"""A constant's value: an int, Decimal, Money, str, bool, date or aware datetime."""


# -- sizes ------------------------------------------------------------------------------------


def _measure(node: object, children: tuple[object, ...]) -> None:
    size = 1 + sum(child._size for child in children)  # type: ignore[attr-defined]  # noqa: SLF001 - every condition node has one
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
    pointkit.exceptions.InvalidArgumentError: path='member.level' is not a member fact; member facts are 'member.tier', 'member.tags', 'member.days_since_joining', 'member.birthday_month', 'member.is_birthday', 'member.lifetime_earned', 'member.days_since_last_activity'

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


def expr_label(expr: Expr, *, top: bool = True) -> str:
    """Return *expr* as text: the path of a fact, the value of a constant."""
    if isinstance(expr, Fact):
        return expr.path
    if isinstance(expr, Const):
        return show_value(expr.value)
    text = f"{expr_label(expr.left, top=False)} {expr.op} {expr_label(expr.right, top=False)}"
    return text if top else f"({text})"
