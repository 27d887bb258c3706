"""The condition compiler: a condition tree turned, once, into a fast test and an explanation.

Maintainer's notes
------------------
:func:`compile_condition` turns a tree into two functions once: ``check``, the fast path that
allocates nothing but its result, and ``explain``, which rebuilds the same decision as a
:class:`~pointkit.rules._conditions.ConditionTrace` with the observed values. Both share one set
of rules, and a property test holds them to the same answers.

Evaluation never raises. Each comparison has three outcomes: passed, failed, or error; an error
comes only from a missing fact under ``on_missing="error"``. ``All`` and ``Any`` decide in
declaration order, like ``and``/``or``: the first child that is not passed (for ``All``) or not
failed (for ``Any``) decides, error included; ``Not`` keeps an error an error. Everything else
that cannot be compared fails the comparison with a reason in the trace: a missing fact under
``on_missing="fail"`` (``missing_fact``), a division by zero (``division_by_zero``), amounts in
two currencies (``currency_mismatch``) or values of two types (``type_mismatch``); the exact
values and their faults are ``_exact``'s, the time conditions' closures ``_compile_time``'s.
"""

from __future__ import annotations

import operator
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final, TypeAlias, cast, final

from pointkit._validate import check_zone, type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.rules._attributes import MISSING
from pointkit.rules._codec import show_value
from pointkit.rules._compile_time import _compile_time
from pointkit.rules._conditions import (
    CONDITION_TYPES,
    All,
    Any,
    Between,
    Compare,
    ConditionTrace,
    In,
    InSegment,
    Not,
)
from pointkit.rules._events import Event
from pointkit.rules._exact import _arith, _compare, _exact, _Fault, _show
from pointkit.rules._expressions import Arith, Const, Fact, const_family, expr_label
from pointkit.rules._facts import Facts, attribute_name, fact_getter
from pointkit.rules._scheduled import FEB29_POLICIES
from pointkit.rules._state import MemberContext


if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo

    from pointkit.rules._conditions import Condition
    from pointkit.rules._expressions import Expr
    from pointkit.rules._scheduled import Feb29
    from pointkit.rules._segments import Segments


__all__ = [
    "CompiledCondition",
    "compile_condition",
    "decide_one",
]

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
        attribute = attribute_name(node.left.path) if isinstance(node.left, Fact) else None
        return _compare_const(left_get, op, node.right.value, missing, attribute), explain

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


def _compare_const(  # noqa: C901 - a closure per kind of constant and fact, the hot path
    get: _Get,
    op: Callable[[object, object], bool],
    constant: object,
    missing: _Outcome,
    attribute: str | None,
) -> _Test:
    """The fast path of the commonest comparison: a fact against a constant.

    A fact that is an event attribute (*attribute*, else ``None``) is read in place, without
    its getter's call.
    """
    if isinstance(constant, Money):
        code = constant.currency.code
        places = constant.currency.decimals
        amount = constant.amount

        def test_money(facts: Facts) -> _Outcome:
            value = get(facts) if attribute is None else facts.values.get(attribute, MISSING)
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
    if attribute is not None:
        if op is operator.eq:

            def test_attribute_equal(facts: Facts) -> _Outcome:
                value = facts.values.get(attribute, MISSING)
                if value is MISSING:
                    return missing
                return type(value) in accepted and value == constant

            return test_attribute_equal

        def test_attribute(facts: Facts) -> _Outcome:
            value = facts.values.get(attribute, MISSING)
            if value is MISSING:
                return missing
            return type(value) in accepted and op(value, constant)

        return test_attribute

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


def _compile_junction(  # noqa: C901 - the loop and its unrolled two-child form
    conditions: tuple[Condition, ...], node: str, segments: Segments | None, *, neutral: bool
) -> tuple[_Test, _Explain]:
    """All (*neutral* True) or Any (False): the first child outcome that is not neutral decides."""
    compiled = [_compile(child, segments) for child in conditions]
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
    if len(tests) == 2:  # noqa: PLR2004 - the commonest junction, without the loop
        first, last = tests

        def test_two(facts: Facts) -> _Outcome:
            outcome = first(facts)
            if outcome is not neutral:
                return outcome
            # The last child's outcome is the junction's, neutral or not.
            return last(facts)

        return test_two, explain
    return test, explain


def _compile_not(node: Not, segments: Segments | None) -> tuple[_Test, _Explain]:
    child_test, child_explain = _compile(node.condition, segments)

    def test(facts: Facts) -> _Outcome:
        outcome = child_test(facts)
        return None if outcome is None else not outcome

    def explain(facts: Facts) -> tuple[ConditionTrace, _Outcome]:
        trace, outcome = child_explain(facts)
        negated = None if outcome is None else not outcome
        return ConditionTrace("not", negated is True, (), (trace,)), negated

    return test, explain


def _compile_segment(node: InSegment, segments: Segments | None) -> tuple[_Test, _Explain]:
    """Membership of a named segment, asked of *segments* at the event's instant."""
    name = node.name
    if segments is None:
        raise InvalidArgumentError(
            f"condition names segment {name!r}; compile it with the segments that declare it "
            "(segments=...)"
        )
    if name not in segments.names:
        valid = ", ".join(repr(known) for known in segments.names) or "none"
        raise InvalidArgumentError(f"segment={name!r} is not declared; segments are {valid}")
    contains = segments.contains
    label = f"member in segment {name!r}"

    def test(facts: Facts) -> _Outcome:
        return contains(name, facts.member, at=facts.event.at)

    def explain(facts: Facts) -> tuple[ConditionTrace, _Outcome]:
        inside = contains(name, facts.member, at=facts.event.at)
        seen = ((f"segment {name!r}", "in" if inside else "not in"),)
        return ConditionTrace(label, inside, seen), inside

    return test, explain


def _compile(node: Condition, segments: Segments | None) -> tuple[_Test, _Explain]:
    if isinstance(node, Compare):
        return _compile_compare(node)
    if isinstance(node, All):
        return _compile_junction(node.conditions, "all", segments, neutral=True)
    if isinstance(node, Any):
        return _compile_junction(node.conditions, "any", segments, neutral=False)
    if isinstance(node, Not):
        return _compile_not(node, segments)
    if isinstance(node, InSegment):
        return _compile_segment(node, segments)
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

    __slots__ = ("_explain", "_test", "condition", "feb29", "segments", "zone")

    def __init__(
        self,
        condition: Condition,
        zone: ZoneInfo,
        feb29: Feb29,
        segments: Segments | None = None,
    ) -> None:
        self.condition = condition
        self.zone = zone
        self.feb29 = feb29
        self.segments = segments
        self._test, self._explain = _compile(condition, segments)

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
    condition: Condition,
    zone: str | ZoneInfo,
    *,
    feb29: Feb29 = "feb28",
    segments: Segments | None = None,
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
        segments: The segments :class:`~pointkit.rules.InSegment` nodes are asked of; needed
            when the condition names a segment.

    Returns:
        The compiled condition.

    Raises:
        ArgumentTypeError: If *condition* is not a condition, or *segments* not Segments.
        InvalidArgumentError: If *zone* or *feb29* is invalid, or the condition names a
            segment that *segments* does not declare.
    """
    given: object = condition  # checked at run time whatever the annotation says
    if not isinstance(given, CONDITION_TYPES):
        raise ArgumentTypeError(f"condition={given!r} must be a condition, not {type_name(given)}")
    given_segments: object = segments
    if given_segments is not None and not callable(getattr(given_segments, "contains", None)):
        raise ArgumentTypeError(
            f"segments={given_segments!r} must be Segments, not {type_name(given_segments)}"
        )
    return CompiledCondition(given, check_zone("zone", zone), _to_feb29(feb29), segments)
