"""Static checks of conditions against the event schemas, before any event is evaluated.

Maintainer's notes
------------------
:class:`~pointkit.rules.RuleSet` calls these when it is built, so a misspelt fact, a
comparison of money with text, or a range that can hold nothing is reported with the rest of
the configuration's problems instead of silently never firing. Types are the comparison
families of :func:`~pointkit.rules._expressions.const_family` (``number`` covers ints and
Decimals) plus ``strings`` and ``lines`` for lists.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Final, TypeAlias, cast

from pointkit._values import Money
from pointkit.rules._conditions import (
    All,
    Any,
    Between,
    Compare,
    Condition,
    In,
    InSegment,
    Not,
)
from pointkit.rules._expressions import Const, Expr, Fact, const_family, expr_label
from pointkit.rules._facts import fact_type
from pointkit.rules._time_conditions import TIME_CONDITIONS, During


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pointkit.rules._event_schemas import EventRegistry


__all__ = ["condition_problems", "during_windows", "split_window", "statically_false"]

_FAMILIES: Final = {
    "int": "number",
    "decimal": "number",
    "money": "money",
    "str": "str",
    "bool": "bool",
    "date": "date",
    "datetime": "datetime",
    "strings": "strings",
    "lines": "lines",
}
_ORDERING: Final = frozenset({"<", "<=", ">", ">="})
_LISTS: Final = frozenset({"strings", "lines"})


class _Checker:
    """Walks one condition, collecting problems with their paths."""

    def __init__(
        self, kinds: tuple[str, ...], registry: EventRegistry, segments: Sequence[str] | None
    ) -> None:
        self.kinds = kinds
        self.registry = registry
        self.segments = segments
        self.problems: list[str] = []

    def segment(self, node: InSegment, path: str) -> None:
        if self.segments is None:
            self.problems.append(
                f"{path}.name: {node.name!r} names a segment, but no segments are declared "
                "(RuleSet(segments=...), [[segments]] in a programme file)"
            )
        elif node.name not in self.segments:
            valid = ", ".join(repr(name) for name in self.segments) or "none declared"
            self.problems.append(
                f"{path}.name: {node.name!r} is not a segment; segments are {valid}"
            )

    def expr(self, expr: Expr, path: str) -> str | None:
        if isinstance(expr, Fact):
            found, problem = fact_type(expr.path, self.kinds, self.registry)
            if problem is not None:
                self.problems.append(f"{path}: {problem}")
            return None if found is None else _FAMILIES[found]
        if isinstance(expr, Const):
            return const_family(expr.value)
        left = self.expr(expr.left, f"{path}.left")
        right = self.expr(expr.right, f"{path}.right")
        if left is None or right is None:
            return None
        result = _arith_type(expr.op, left, right)
        if result is None:
            self.problems.append(
                f"{path}: cannot compute {left} {expr.op} {right} ({expr_label(expr)})"
            )
        return result

    def condition(self, node: Condition, path: str) -> None:  # noqa: C901, PLR0912 - one branch per node type
        if isinstance(node, All | Any):
            for index, child in enumerate(node.conditions):
                self.condition(child, f"{path}.conditions[{index}]")
        elif isinstance(node, Not):
            self.condition(node.condition, f"{path}.condition")
        elif isinstance(node, InSegment):
            self.segment(node, path)
        elif isinstance(node, Compare):
            left = self.expr(node.left, f"{path}.left")
            right = self.expr(node.right, f"{path}.right")
            if left is None or right is None:
                return
            label = f"{expr_label(node.left)} {node.op} {expr_label(node.right)}"
            if left != right:
                self.problems.append(f"{path}: cannot compare {left} with {right} ({label})")
            elif left in _LISTS:
                self.problems.append(
                    f"{path}: cannot compare {left} ({label}); use In to look for values in a list"
                )
            elif left == "bool" and node.op in _ORDERING:
                self.problems.append(
                    f"{path}: {node.op!r} does not order bool values ({label}); use '==' or '!='"
                )
        elif isinstance(node, In):
            found = self.expr(node.expr, f"{path}.expr")
            wanted = const_family(node.values[0])
            if found is None:
                return
            label = expr_label(node.expr)
            if (
                found == "lines"
                or (found == "strings" and wanted != "str")
                or (found not in _LISTS and found != wanted)
            ):
                self.problems.append(
                    f"{path}: cannot look for {wanted} values in {found} ({label})"
                )
        elif isinstance(node, Between):
            found = self.expr(node.expr, f"{path}.expr")
            low = self.expr(node.low, f"{path}.low")
            high = self.expr(node.high, f"{path}.high")
            if found is None or low is None or high is None:
                return
            label = expr_label(node.expr)
            if found in _LISTS or found == "bool":
                self.problems.append(f"{path}: cannot range over {found} ({label})")
            elif not found == low == high:
                self.problems.append(
                    f"{path}: cannot range {found} ({label}) between {low} and {high}"
                )


def _arith_type(op: str, left: str, right: str) -> str | None:
    if left == right == "number":
        return "number"
    if op in {"+", "-"}:
        return "money" if left == right == "money" else None
    if op == "*":
        if {left, right} == {"money", "number"}:
            return "money"
        return None
    if left == "money" and right == "number":
        return "money"
    if left == right == "money":
        return "number"
    return None


def condition_problems(
    condition: Condition,
    path: str,
    kinds: tuple[str, ...],
    registry: EventRegistry,
    segments: Sequence[str] | None = None,
) -> list[str]:
    """Return the problems of *condition* for events of *kinds*, each prefixed by its path.

    *segments* are the names :class:`~pointkit.rules.InSegment` may use (``None``: none are
    declared, so any use is a problem).
    """
    checker = _Checker(kinds, registry, segments)
    checker.condition(condition, path)
    return checker.problems


def _constant_order(low: object, high: object) -> bool | None:
    """Return whether ``low < high`` for two constants of one kind, or ``None`` if unknown."""
    if const_family(low) != const_family(high) or const_family(low) == "bool":
        return None
    if isinstance(low, Money) and isinstance(high, Money):
        if low.currency != high.currency:
            return None
        return low.amount < high.amount
    return bool(_COMPARE["<"](low, high))


_Op: TypeAlias = "Callable[[object, object], bool]"
_COMPARE: Final[dict[str, _Op]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": cast("_Op", operator.lt),
    "<=": cast("_Op", operator.le),
    ">": cast("_Op", operator.gt),
    ">=": cast("_Op", operator.ge),
}


def statically_false(condition: Condition) -> str | None:  # noqa: C901, PLR0911 - one answer per node type
    """Return why *condition* can never hold whatever the event, or ``None`` if it may hold.

    Only what is certain from the tree alone: a range whose constant low end is not below its
    high end, a comparison of two constants that is false, and ``All``/``Any`` built of them.
    """
    if isinstance(condition, Between):
        if isinstance(condition.low, Const) and isinstance(condition.high, Const):
            low, high = condition.low.value, condition.high.value
            if _constant_order(low, high) is False:
                return (
                    f"the range's low end {expr_label(condition.low)} is not below "
                    f"its high end {expr_label(condition.high)}"
                )
        return None
    if isinstance(condition, Compare):
        if isinstance(condition.left, Const) and isinstance(condition.right, Const):
            left, right = condition.left.value, condition.right.value
            if const_family(left) == const_family(right) and not (
                isinstance(left, Money)
                and isinstance(right, Money)
                and left.currency != right.currency
            ):
                label = f"{expr_label(condition.left)} {condition.op} {expr_label(condition.right)}"
                if not _COMPARE[condition.op](left, right):
                    return f"{label} compares two constants and is false"
        return None
    if isinstance(condition, All):
        for child in condition.conditions:
            reason = statically_false(child)
            if reason is not None:
                return reason
        return None
    if isinstance(condition, Any):
        reasons = [statically_false(child) for child in condition.conditions]
        if all(reason is not None for reason in reasons):
            return reasons[0]
        return None
    return None


def during_windows(condition: Condition | None) -> list[During]:
    """Return the :class:`During` windows the condition requires (its top-level conjuncts)."""
    if isinstance(condition, During):
        return [condition]
    if isinstance(condition, All):
        return [window for child in condition.conditions for window in during_windows(child)]
    return []


def split_window(condition: Condition | None) -> tuple[Condition | None, Condition | None]:
    """Split *condition* into its time conjuncts and the rest: ``(window, rest)``.

    A rule whose window fails is ``outside_window``; one whose rest fails is ``not_eligible``.
    The window is checked first.
    """
    if condition is None:
        return None, None
    if isinstance(condition, TIME_CONDITIONS):
        return condition, None
    if not isinstance(condition, All):
        return None, condition
    window = [child for child in condition.conditions if isinstance(child, TIME_CONDITIONS)]
    rest = [child for child in condition.conditions if not isinstance(child, TIME_CONDITIONS)]
    return _joined(window), _joined(rest)


def _joined(conditions: Sequence[Condition]) -> Condition | None:
    if not conditions:
        return None
    if len(conditions) == 1:
        return conditions[0]
    return All(conditions)
