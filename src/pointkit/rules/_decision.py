"""What an evaluation decides: awards, state increments, and an explanation per rule.

Maintainer's notes
------------------
A :class:`Decision` is what the ledger stores with an event (as :meth:`Decision.to_json`) and
returns when the event is sent again, so its JSON is deterministic: sorted keys, no
whitespace, exact values (Fractions as ``"75/2"`` strings, money as
``{"amount": ..., "currency": ...}``).

The explanation of each rule (:class:`RuleExplanation`) is decided during evaluation and kept
as plain tuples. The explanation objects are made the first time :attr:`Decision.explanations`
is read, and each one's parts that cost most are built the first time they are read: its
condition trace (which the compiled condition rebuilds from the same event and member, once per
condition an event) and its trail of :class:`Step` objects. :meth:`RuleExplanation.to_dict`
writes an unread trail straight from the record, giving the data the Steps would give.
Evaluation thus pays for the decision, not for objects a caller may never look at; equality
covers every field of every explanation except the traces, which are a pure function of the
rule set, the event and the member. An explanation compares, hashes and prints by all its
attributes, built or not, so a lazy one equals one made in full.

The trail of a rule adds up: start from nothing, apply each :class:`Step` by its
:class:`StepOp`, and the last result is the rule's points.
"""

from __future__ import annotations

import enum
import json
import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, TypeAlias, final

import attrs


if TYPE_CHECKING:
    from pointkit.rules._compile import CompiledCondition
    from pointkit.rules._conditions import ConditionTrace
    from pointkit.rules._events import Event
    from pointkit.rules._facts import Facts
    from pointkit.rules._state import Counter, CounterKey, Streak


__all__ = [
    "Award",
    "Decision",
    "Reason",
    "RuleExplanation",
    "Status",
    "Step",
    "StepOp",
    "StepRecord",
    "Verdict",
    "number_to_json",
]


class Status(enum.StrEnum):
    """What happened to one rule for one event. The values are stored: they never change."""

    AWARDED = "awarded"
    """The rule awarded its full points (a negative award is a deduction)."""
    PARTIALLY_AWARDED = "partially_awarded"
    """A cap or the budget cut the award to what was left."""
    NOT_ELIGIBLE = "not_eligible"
    """The rule's condition failed, it came to zero points, or it lost its group."""
    CAPPED = "capped"
    """A cap left nothing (or the award did not fit and the rule is all-or-nothing)."""
    BUDGET_EXHAUSTED = "budget_exhausted"
    """The budget left nothing (or the award did not fit and the rule is all-or-nothing)."""
    OUTSIDE_WINDOW = "outside_window"
    """A time condition of the rule (During, OnWeekdays, ...) failed."""
    DUPLICATE = "duplicate"
    """The rule's streak already counted the event's local day (or a later one), or the rule
    already awarded the event's value of its ``once_per`` attribute."""
    DISABLED = "disabled"
    """The rule, or the event's kind, is disabled."""
    ERROR = "error"
    """The rule could not decide: a missing fact under ``on_missing="error"``, an amount in
    another currency than the rate's, or an award past ``limits.POINTS_MAX``."""


class Reason(enum.StrEnum):
    """Why a rule's status is what it is: stable codes. The values are stored: they never change.

    The cap codes name the scope (``rule`` or ``program``), the measure (``points`` or
    ``tasks``) and the period: ``rule_cap_points_day`` ... ``program_cap_tasks_lifetime``;
    a named rule set cap's codes start ``named_cap_``.
    Condition traces use ``missing_fact``, ``division_by_zero``, ``currency_mismatch`` and
    ``type_mismatch`` for the leaves that could not compare.
    """

    CONDITION_FALSE = "condition_false"
    OUTSIDE_WINDOW = "outside_window"
    MISSING_FACT = "missing_fact"
    DIVISION_BY_ZERO = "division_by_zero"
    CURRENCY_MISMATCH = "currency_mismatch"
    TYPE_MISMATCH = "type_mismatch"
    RULE_DISABLED = "rule_disabled"
    KIND_DISABLED = "kind_disabled"
    ALREADY_TODAY = "already_today"
    STREAK_PAST_DAY = "streak_past_day"
    GROUP_LOST = "group_lost"
    ZERO_POINTS = "zero_points"
    POINTS_OVERFLOW = "points_overflow"
    BUDGET_EXHAUSTED = "budget_exhausted"
    RULE_CAP_POINTS_DAY = "rule_cap_points_day"
    RULE_CAP_POINTS_WEEK = "rule_cap_points_week"
    RULE_CAP_POINTS_MONTH = "rule_cap_points_month"
    RULE_CAP_POINTS_LIFETIME = "rule_cap_points_lifetime"
    RULE_CAP_TASKS_DAY = "rule_cap_tasks_day"
    RULE_CAP_TASKS_WEEK = "rule_cap_tasks_week"
    RULE_CAP_TASKS_MONTH = "rule_cap_tasks_month"
    RULE_CAP_TASKS_LIFETIME = "rule_cap_tasks_lifetime"
    PROGRAM_CAP_POINTS_DAY = "program_cap_points_day"
    PROGRAM_CAP_POINTS_WEEK = "program_cap_points_week"
    PROGRAM_CAP_POINTS_MONTH = "program_cap_points_month"
    PROGRAM_CAP_POINTS_LIFETIME = "program_cap_points_lifetime"
    PROGRAM_CAP_TASKS_DAY = "program_cap_tasks_day"
    PROGRAM_CAP_TASKS_WEEK = "program_cap_tasks_week"
    PROGRAM_CAP_TASKS_MONTH = "program_cap_tasks_month"
    PROGRAM_CAP_TASKS_LIFETIME = "program_cap_tasks_lifetime"
    NAMED_CAP_POINTS_DAY = "named_cap_points_day"
    NAMED_CAP_POINTS_WEEK = "named_cap_points_week"
    NAMED_CAP_POINTS_MONTH = "named_cap_points_month"
    NAMED_CAP_POINTS_LIFETIME = "named_cap_points_lifetime"
    NAMED_CAP_TASKS_DAY = "named_cap_tasks_day"
    NAMED_CAP_TASKS_WEEK = "named_cap_tasks_week"
    NAMED_CAP_TASKS_MONTH = "named_cap_tasks_month"
    NAMED_CAP_TASKS_LIFETIME = "named_cap_tasks_lifetime"
    ONCE_PER_VALUE = "once_per_value"


class StepOp(enum.StrEnum):
    """How a :class:`Step` changes the running value of a rule's trail."""

    BASE = "base"
    """Start: the result is the step's value."""
    ADD = "add"
    """Add the value (a streak reward, a bonus)."""
    MULTIPLY = "multiply"
    """Multiply by the value (a multiplier; 0 for a rule that lost its stacking group)."""
    ROUND = "round"
    """Round to an int: the value is the running value rounded with the mode in the note."""
    LIMIT = "limit"
    """Keep at most the value: what a cap or budget leaves (0 when an all-or-nothing award does
    not fit). Limits apply only to positive awards."""


Number: TypeAlias = Fraction | int
RawNumber: TypeAlias = "int | tuple[int, int]"


def _note(note: str | tuple[object, ...]) -> str:
    """Return a step's note: evaluation records some as ``(format, *arguments)``."""
    if type(note) is str:
        return note
    return str(note[0]).format(*note[1:])


def _number(value: RawNumber) -> Number:
    """Return an evaluation's raw value (an int or a ``(numerator, denominator)`` pair) exactly."""
    if type(value) is int:
        return value
    return Fraction(*value)  # type: ignore[misc]  # a pair


def _raw_to_json(value: RawNumber) -> object:
    """Return ``number_to_json(_number(value))`` without making the Fraction."""
    if type(value) is int:
        return value
    numerator, denominator = value  # type: ignore[misc]  # a pair, never a whole number
    common = math.gcd(numerator, denominator)
    return f"{numerator // common}/{denominator // common}"


def number_to_json(value: Number) -> object:
    """Return an int as itself and a Fraction as ``"numerator/denominator"`` (``"75/2"``)."""
    if isinstance(value, int):
        return value
    return f"{value.numerator}/{value.denominator}"


@final
@attrs.frozen
class Step:
    """One step of a rule's arithmetic trail.

    Attributes:
        op: How the step changes the running value.
        label: The step for people: ``"base"``, ``"x tier"``, ``"+ bonus"``, ``"cap 100/day"``.
        value: The step's operand, exact: an int or a Fraction.
        result: The running value after the step.
        note: Detail: the rate's arithmetic, the rounding mode (for ``round``), what a cap
            has left.
    """

    op: StepOp
    label: str
    value: Number
    result: Number
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """Return the step as JSON-ready data."""
        return {
            "op": str(self.op),
            "label": self.label,
            "value": number_to_json(self.value),
            "result": number_to_json(self.result),
            "note": self.note,
        }


@final
@attrs.frozen
class Award:
    """Points a rule awards (or, negative, deducts) for an event.

    Attributes:
        rule: The rule's name.
        currency: The point currency.
        points: The points, not zero.
    """

    rule: str
    currency: str
    points: int


_UNBUILT: Final = object()
"""The value of a lazy explanation's trace or trail that nobody has read yet."""


@final
class RuleExplanation:
    """Why one rule awarded what it did for one event.

    An explanation is immutable and compares, hashes and prints by its attributes. Those an
    evaluation decides are built the first time they are read (the condition trace and the
    trail), from what it recorded; they are the same values either way.

    Attributes:
        rule: The rule's name.
        status: What happened.
        reasons: Stable reason codes; empty only for a full award.
        conditions: The trace of the rule's condition, or ``None`` when it has none or was not
            reached (a disabled rule).
        trail: The arithmetic, in order; applying the steps gives *points*.
        points: The points the rule awarded (0 when it awarded nothing).
        coupon: The coupon definition the rule issues for the event, or ``None`` (a rule
            that issues none, or one that did not fire).
    """

    # One slot, set once: [verdict, coupon, trace, trail, trace source], the trace and the
    # trail _UNBUILT until read. One list costs less to make than five frozen slots.
    __slots__ = ("_data",)

    _data: list[Any]

    def __init__(
        self,
        rule: str,
        status: Status,
        reasons: tuple[Reason, ...],
        conditions: ConditionTrace | None,
        trail: tuple[Step, ...],
        points: int,
        coupon: str | None = None,
    ) -> None:
        _set_data(self, [(rule, status, reasons, (), points), coupon, conditions, trail, None])

    def __setattr__(self, name: str, value: object) -> None:
        raise attrs.exceptions.FrozenInstanceError

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError

    @property
    def rule(self) -> str:
        """The rule's name."""
        return self._data[0][0]  # type: ignore[no-any-return]

    @property
    def status(self) -> Status:
        """What happened."""
        return self._data[0][1]  # type: ignore[no-any-return]

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Stable reason codes; empty only for a full award."""
        return self._data[0][2]  # type: ignore[no-any-return]

    @property
    def points(self) -> int:
        """The points the rule awarded (0 when it awarded nothing)."""
        return self._data[0][4]  # type: ignore[no-any-return]

    @property
    def coupon(self) -> str | None:
        """The coupon definition the rule issues for the event, or ``None``."""
        return self._data[1]  # type: ignore[no-any-return]

    @property
    def conditions(self) -> ConditionTrace | None:
        """The trace of the rule's condition, or ``None`` (built the first time it is read)."""
        data = self._data
        trace = data[2]
        if trace is _UNBUILT:
            compiled, facts, traces = data[4]
            # Rules often share a condition (a holiday calendar): each is traced once an event.
            trace = traces.get(id(compiled))
            if trace is None:
                trace = traces[id(compiled)] = compiled.trace_facts(facts)
            data[2] = trace
            data[4] = None
        return trace  # type: ignore[no-any-return]

    @property
    def trail(self) -> tuple[Step, ...]:
        """The arithmetic, in order (built the first time it is read)."""
        data = self._data
        trail = data[3]
        if trail is _UNBUILT:
            trail = data[3] = tuple(
                [
                    Step(op, label, _number(value), _number(result), _note(note))
                    for op, label, value, result, note in data[0][3]
                ]
            )
        return trail  # type: ignore[no-any-return]

    def _fields(self) -> tuple[object, ...]:
        return (
            self.rule,
            self.status,
            self.reasons,
            self.conditions,
            self.trail,
            self.points,
            self.coupon,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not RuleExplanation:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        rule, status, reasons, conditions, trail, points, coupon = self._fields()
        return (
            f"RuleExplanation(rule={rule!r}, status={status!r}, reasons={reasons!r}, "
            f"conditions={conditions!r}, trail={trail!r}, points={points!r}, coupon={coupon!r})"
        )

    def summary(self) -> str:
        """Return the outcome in a line: ``"first-order: awarded 0 points, issues coupon ten-off"``."""
        reasons = f" ({', '.join(self.reasons)})" if self.reasons else ""
        issues = "" if self.coupon is None else f", issues coupon {self.coupon}"
        return f"{self.rule}: {self.status}{reasons} {self.points} points{issues}"

    def to_dict(self) -> dict[str, object]:
        """Return the explanation as JSON-ready data (``coupon`` only when it issues one)."""
        conditions = self.conditions
        rule, status, reasons, recorded, points = self._data[0]
        built = self._data[3]
        data: dict[str, object] = {
            "rule": rule,
            "status": str(status),
            "reasons": [str(reason) for reason in reasons],
            "conditions": None if conditions is None else conditions.to_dict(),
            # An unread trail goes to data straight from the record: the same data, no Steps.
            "trail": [step.to_dict() for step in built]
            if built is not _UNBUILT
            else [
                {
                    "op": str(op),
                    "label": label,
                    "value": _raw_to_json(value),
                    "result": _raw_to_json(result),
                    "note": _note(note),
                }
                for op, label, value, result, note in recorded
            ],
            "points": points,
        }
        # Written only when set, so the stored decisions of rules without coupons keep their bytes.
        if self.coupon is not None:
            data["coupon"] = self.coupon
        return data


_set_data: Final = RuleExplanation.__dict__["_data"].__set__  # the slot's setter
_new: Final = object.__new__


StepRecord: TypeAlias = "tuple[StepOp, str, RawNumber, RawNumber, str | tuple[object, ...]]"
"""A step as evaluation records it: ``(op, label, value, result, note)``, values raw and
the note possibly ``(format, *arguments)``, both made final when explanations are built."""

Verdict: TypeAlias = tuple[str, Status, tuple[Reason, ...], tuple[StepRecord, ...], int]
"""A rule's explanation as evaluation records it: ``(rule, status, reasons, trail, points)``."""

_TraceSource: TypeAlias = "tuple[CompiledCondition, Facts, dict[int, ConditionTrace]]"
"""What a recorded explanation traces its condition from: the rule's compiled condition, the
evaluation's facts, and the traces already made for the event (shared by its explanations)."""


@final
@attrs.frozen
class Decision:
    """What evaluating one event decided: awards, explanations and the state increments.

    Store the awards, add *counters* and *budgets* to the stored state and replace the
    streaks, in one transaction (``RuleState.apply`` does the same to a snapshot).

    Attributes:
        event: The event.
        awards: Points awarded (or deducted) per rule, in evaluation order; never zero.
        counters: ``(key, increment)`` pairs to add to the member's counters, sorted by key.
        budgets: ``(budget name, points)`` to add to the budgets' use, sorted by name.
        streaks: ``(rule name, streak)``: the member's new streaks, sorted by name.
        coupons: ``(rule name, coupon definition id)``: the coupons the event's rules issue,
            one per rule that fired with a ``coupon``, in evaluation order.
    """

    event: Event
    awards: tuple[Award, ...]
    counters: tuple[tuple[CounterKey, Counter], ...]
    budgets: tuple[tuple[str, int], ...]
    streaks: tuple[tuple[str, Streak], ...]
    coupons: tuple[tuple[str, str], ...] = attrs.field(default=(), kw_only=True)
    # Working state behind explanations(): not part of the decision's value or its JSON form.
    _verdicts: tuple[Verdict, ...] = attrs.field(default=(), eq=False, repr=False, alias="verdicts")
    _facts: Facts | None = attrs.field(default=None, eq=False, repr=False, alias="facts")
    _conditions: tuple[CompiledCondition | None, ...] = attrs.field(
        default=(), eq=False, repr=False, alias="conditions"
    )

    _explained: tuple[RuleExplanation, ...] | None = attrs.field(
        init=False, default=None, eq=False, repr=False, hash=False
    )

    @property
    def explanations(self) -> tuple[RuleExplanation, ...]:
        """One explanation per rule the event's kind indexes, in evaluation order.

        Made the first time they are read; their condition traces and trails are built when
        those are first read.
        """
        explained = self._explained
        if explained is None:
            explained = self._explain()
            object.__setattr__(self, "_explained", explained)
        return explained

    def _explain(self) -> tuple[RuleExplanation, ...]:
        facts = self._facts
        traces: dict[int, ConditionTrace] = {}
        issued = dict(self.coupons) if self.coupons else None
        explained = []
        source: _TraceSource | None
        for verdict, compiled in zip(self._verdicts, self._conditions, strict=True):
            explanation = _new(RuleExplanation)
            if compiled is None or facts is None:
                trace, source = None, None
            else:
                trace, source = _UNBUILT, (compiled, facts, traces)
            coupon = None if issued is None else issued.get(verdict[0])
            _set_data(explanation, [verdict, coupon, trace, _UNBUILT, source])
            explained.append(explanation)
        return tuple(explained)

    def explanation(self, rule: str) -> RuleExplanation:
        """Return the explanation of the rule called *rule*.

        Raises:
            KeyError: If the event's kind does not index such a rule.
        """
        for explained in self.explanations:
            if explained.rule == rule:
                return explained
        raise KeyError(rule)

    def total(self, currency: str = "points") -> int:
        """Return the points awarded in *currency*, deductions subtracted."""
        total = 0
        for award in self.awards:
            if award.currency == currency:
                total += award.points
        return total

    def to_dict(self) -> dict[str, object]:
        """Return the decision as JSON-ready data (``coupons`` only when a rule issues one)."""
        data: dict[str, object] = {
            "event": self.event.to_dict(),
            "awards": [
                {"rule": award.rule, "currency": award.currency, "points": award.points}
                for award in self.awards
            ],
            "explanations": [explained.to_dict() for explained in self.explanations],
            "counters": [
                {"scope": scope, "period": period, "points": count.points, "tasks": count.tasks}
                for (scope, period), count in self.counters
            ],
            "budgets": [{"budget": name, "points": points} for name, points in self.budgets],
            "streaks": [
                {"rule": rule, "last_day": streak.last_day.isoformat(), "length": streak.length}
                for rule, streak in self.streaks
            ],
        }
        # Written only when set, so the stored decisions of rules without coupons keep their bytes.
        if self.coupons:
            data["coupons"] = [{"rule": rule, "coupon": coupon} for rule, coupon in self.coupons]
        return data

    def to_json(self) -> str:
        """Return the decision as compact JSON with sorted keys: the same decision, the same bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
