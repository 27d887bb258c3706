"""The evaluator: rules compiled once, then three passes per event, written for speed.

Maintainer's notes
------------------
This is the hot path (DESIGN.md §7: 50,000 events a second for a 50-rule program), so it
trades a little elegance for fewer allocations and calls:

* Each rule is compiled to a :class:`CompiledRule` holding its compiled conditions and every
  constant it needs (cap keys' scopes, labels, reason codes). The verdicts of the outcomes
  that end a rule early (disabled, outside its window, condition false, duplicate day, error)
  are built once, at compile time, and shared by every evaluation.
* Exact values in a rule's arithmetic are ints, or ``(numerator, denominator)`` pairs with a
  positive denominator, not necessarily reduced. :class:`fractions.Fraction` normalises with a
  gcd on every operation, which alone cost more than the rest of a rule; pairs cost a few
  integer operations. The steps keep the raw values, and :class:`~pointkit.rules.Decision`
  turns them into Fractions when it builds the explanations.
* Awards, counters and streaks the evaluation built from checked values are made without
  running the converters again (:func:`_award`, :func:`_counter`, :func:`_streak`).
* What does not depend on the event is looked up once: each cap's constants sit in one row
  (``CompiledRule.cap_rows``) unpacked at once, and the condition each rule's explanation
  traces is the kind's (``KindPlan.conditions``).

The order of the passes, checks and arithmetic is documented on
:class:`~pointkit.rules.RuleSet`; the property tests hold this module to it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final, TypeAlias, final

from pointkit import limits
from pointkit._values import Money
from pointkit.rules._analysis import split_window
from pointkit.rules._attributes import MISSING, Missing
from pointkit.rules._decision import Award, Decision, Reason, Status, StepOp
from pointkit.rules._effects import Cap, Fixed, Rate, limit_for
from pointkit.rules._state import Counter, CounterKey, RuleState, Streak, once_key


if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date

    from pointkit._values import Rounding
    from pointkit.rules._compile import CompiledCondition
    from pointkit.rules._conditions import Condition
    from pointkit.rules._decision import StepRecord, Verdict
    from pointkit.rules._events import Event
    from pointkit.rules._facts import Facts
    from pointkit.rules._lean import LeanEvaluator
    from pointkit.rules._rules import Rule
    from pointkit.rules._state import StateKeys


__all__ = ["CompiledRule", "KindPlan", "Raw", "evaluate_plan", "raw_round"]

Raw: TypeAlias = "int | tuple[int, int]"
"""An exact value in a rule's arithmetic: an int, or ``(numerator, denominator)``."""

_DAY: Final = timedelta(days=1)
_ZERO: Final = Counter()
_ZERO_POINTS: Final = (Reason.ZERO_POINTS,)
_LEFT: Final = "{} left"
_LEFT_ALL_OR_NOTHING: Final = "{} left, all or nothing"
_PARTS: Final = ("tax", "shipping", "paid_with_points")
_GOODS_ONLY: Final = frozenset({"goods"})
_TIER: Final = "tier"
_TIER_LABEL: Final = f"x {_TIER}"


# Enum members read as module constants: an attribute of an Enum class costs ~70 ns a read.
_REASON_ALREADY_TODAY: Final = Reason.ALREADY_TODAY
_REASON_BUDGET_EXHAUSTED: Final = Reason.BUDGET_EXHAUSTED
_REASON_CONDITION_FALSE: Final = Reason.CONDITION_FALSE
_REASON_CURRENCY_MISMATCH: Final = Reason.CURRENCY_MISMATCH
_REASON_GROUP_LOST: Final = Reason.GROUP_LOST
_REASON_KIND_DISABLED: Final = Reason.KIND_DISABLED
_REASON_MISSING_FACT: Final = Reason.MISSING_FACT
_REASON_ONCE_PER_VALUE: Final = Reason.ONCE_PER_VALUE
_REASON_OUTSIDE_WINDOW: Final = Reason.OUTSIDE_WINDOW
_REASON_POINTS_OVERFLOW: Final = Reason.POINTS_OVERFLOW
_REASON_RULE_DISABLED: Final = Reason.RULE_DISABLED
_REASON_STREAK_PAST_DAY: Final = Reason.STREAK_PAST_DAY
_STATUS_AWARDED: Final = Status.AWARDED
_STATUS_BUDGET_EXHAUSTED: Final = Status.BUDGET_EXHAUSTED
_STATUS_CAPPED: Final = Status.CAPPED
_STATUS_DISABLED: Final = Status.DISABLED
_STATUS_DUPLICATE: Final = Status.DUPLICATE
_STATUS_ERROR: Final = Status.ERROR
_STATUS_NOT_ELIGIBLE: Final = Status.NOT_ELIGIBLE
_STATUS_OUTSIDE_WINDOW: Final = Status.OUTSIDE_WINDOW
_STATUS_PARTIALLY_AWARDED: Final = Status.PARTIALLY_AWARDED
_STEPOP_ADD: Final = StepOp.ADD
_STEPOP_BASE: Final = StepOp.BASE
_STEPOP_LIMIT: Final = StepOp.LIMIT
_STEPOP_MULTIPLY: Final = StepOp.MULTIPLY
_STEPOP_ROUND: Final = StepOp.ROUND


# -- exact arithmetic on raw values -----------------------------------------------------------


def _raw(numerator: int, denominator: int) -> Raw:
    return numerator // denominator if numerator % denominator == 0 else (numerator, denominator)


def _times(value: Raw, numerator: int, denominator: int) -> Raw:
    if type(value) is int:
        return value * numerator if denominator == 1 else _raw(value * numerator, denominator)
    top, bottom = value  # type: ignore[misc]  # a pair here
    return _raw(top * numerator, bottom * denominator)


def _plus(value: Raw, points: int) -> Raw:
    if type(value) is int:
        return value + points
    top, bottom = value  # type: ignore[misc]  # a pair here
    return _raw(top + points * bottom, bottom)


def raw_round(numerator: int, denominator: int, rounding: Rounding) -> int:  # noqa: PLR0911 - one answer per mode
    """Round ``numerator / denominator`` (a positive denominator) as :func:`round_fraction` does."""
    floor, remainder = divmod(numerator, denominator)
    if remainder == 0:
        return floor
    ceiling = floor + 1
    positive = numerator > 0
    if rounding == "floor":
        return floor
    if rounding == "ceiling":
        return ceiling
    if rounding == "down":
        return floor if positive else ceiling
    if rounding == "up":
        return ceiling if positive else floor
    twice = 2 * remainder
    if twice != denominator:
        return floor if twice < denominator else ceiling
    if rounding == "half_even":
        return floor if floor % 2 == 0 else ceiling
    if rounding == "half_up":
        return ceiling if positive else floor
    return floor if positive else ceiling


# The slots of the frozen values evaluation makes, set directly: what their generated
# __init__ does after its converters, which would only check ints evaluation made from checked
# ones again.
_new: Final = object.__new__
_set_counter_points: Final = Counter.__dict__["points"].__set__
_set_counter_tasks: Final = Counter.__dict__["tasks"].__set__
_set_award_rule: Final = Award.__dict__["rule"].__set__
_set_award_currency: Final = Award.__dict__["currency"].__set__
_set_award_points: Final = Award.__dict__["points"].__set__


# Every field of Decision, in order (a test holds this to attrs.fields(Decision)).
_DECISION_SLOTS: Final = (
    "event",
    "awards",
    "counters",
    "budgets",
    "streaks",
    "coupons",
    "_verdicts",
    "_facts",
    "_conditions",
    "_explained",
)
_DECISION_SETTERS: Final = tuple(Decision.__dict__[name].__set__ for name in _DECISION_SLOTS)
(
    _set_event,
    _set_awards,
    _set_counters,
    _set_budgets,
    _set_streaks,
    _set_coupons,
    _set_verdicts,
    _set_facts,
    _set_conditions,
    _set_explained,
) = _DECISION_SETTERS


def _decision(
    event: Event,
    awards: tuple[Award, ...],
    counters: tuple[tuple[CounterKey, Counter], ...],
    budgets: tuple[tuple[str, int], ...],
    streaks: tuple[tuple[str, Streak], ...],
    coupons: tuple[tuple[str, str], ...],
    verdicts: tuple[Verdict, ...],
    facts: Facts,
    conditions: tuple[CompiledCondition | None, ...],
) -> Decision:
    """The decision ``Decision(...)`` makes of these, its explanations not made yet."""
    decision = _new(Decision)
    _set_event(decision, event)
    _set_awards(decision, awards)
    _set_counters(decision, counters)
    _set_budgets(decision, budgets)
    _set_streaks(decision, streaks)
    _set_coupons(decision, coupons)
    _set_verdicts(decision, verdicts)
    _set_facts(decision, facts)
    _set_conditions(decision, conditions)
    _set_explained(decision, None)
    return decision


def _counter(points: int, tasks: int) -> Counter:
    counter = _new(Counter)
    _set_counter_points(counter, points)
    _set_counter_tasks(counter, tasks)
    return counter


def _award(rule: str, currency: str, points: int) -> Award:
    award = _new(Award)
    _set_award_rule(award, rule)
    _set_award_currency(award, currency)
    _set_award_points(award, points)
    return award


def _streak(day: object, length: int) -> Streak:
    streak = object.__new__(Streak)
    object.__setattr__(streak, "last_day", day)
    object.__setattr__(streak, "length", length)
    return streak


# -- compiled rules ---------------------------------------------------------------------------


@final
class _CompiledCap:
    __slots__ = (
        "period",
        "plain",
        "points",
        "points_label",
        "points_reason",
        "prefix",
        "scope",
        "tasks",
        "tasks_label",
        "tasks_reason",
        "tiered",
    )

    def __init__(self, cap: Cap, scope: str, *, program: bool) -> None:
        self.period = cap.period
        self.points = cap.points
        self.tasks = cap.tasks
        self.scope = scope
        kind = "program" if program else "rule"
        prefix = "program cap" if program else "cap"
        if cap.name is not None:
            # A named cap keeps its own counter and says its name in the trail.
            kind, prefix, self.scope = "named", f"cap {cap.name}", f"cap:{cap.name}"
        self.points_reason = Reason(f"{kind}_cap_points_{cap.period}")
        self.tasks_reason = Reason(f"{kind}_cap_tasks_{cap.period}")
        self.prefix = prefix
        self.points_label = f"{prefix} {cap.points}/{cap.period}"
        self.tasks_label = f"{prefix} {cap.tasks} tasks/{cap.period}"
        # A tier-dependent cap: its limits and labels are the member's tier's, per evaluation.
        self.tiered = type(cap.points) is tuple or type(cap.tasks) is tuple
        self.plain: tuple[int | None, int | None, str, str] = (
            limit_for(cap.points, None),
            limit_for(cap.tasks, None),
            self.points_label,
            self.tasks_label,
        )

    def limits_for(self, tier: str | None) -> tuple[int | None, int | None, str, str]:
        """Return the point and task limits, and their labels, for a member of *tier*."""
        points, tasks = limit_for(self.points, tier), limit_for(self.tasks, tier)
        shown = "no tier" if tier is None else tier
        return (
            points,
            tasks,
            f"{self.prefix} {points}/{self.period} ({shown})",
            f"{self.prefix} {tasks} tasks/{self.period} ({shown})",
        )


@final
class Pending:
    """A rule that passed its checks, between the passes of one evaluation."""

    __slots__ = ("index", "once", "reasons", "rule", "status", "steps", "streak", "value")

    def __init__(
        self,
        rule: CompiledRule,
        steps: list[StepRecord],
        value: int,
        streak: Streak | None,
        status: Status | None,
        reasons: tuple[Reason, ...],
    ) -> None:
        self.rule = rule
        self.steps = steps
        self.value = value
        self.streak = streak
        self.status = status  # None while the rule may still award
        self.reasons = reasons
        self.index = 0  # the rule's place among the event's explanations
        self.once: str | None = None  # the once_per key an award of this rule uses up


_Entry: TypeAlias = "Pending | tuple[Verdict, CompiledCondition | None]"
_CapRow: TypeAlias = (
    "tuple[_CompiledCap, str, str, bool, int | None, int | None, str, str, Reason, Reason]"
)
_Compile: TypeAlias = "Callable[[Condition], CompiledCondition]"
_Trees: TypeAlias = """tuple[
    Condition | None,
    Condition | None,
    tuple[Condition, ...],
    tuple[Condition | None, ...],
    tuple[Condition, ...],
]"""


@final
class CompiledRule:
    """A rule ready to evaluate: conditions compiled, constants and early verdicts precomputed."""

    __slots__ = (
        "after_bonuses",
        "at_cap_partial",
        "base_round",
        "before_bonuses",
        "budget",
        "budget_label",
        "budget_total",
        "campaigns",
        "cap_rows",
        "caps",
        "coupon",
        "currency",
        "done",
        "enabled",
        "fixed",
        "group",
        "kinds",
        "ladder",
        "limited",
        "mode",
        "name",
        "once",
        "priority",
        "rate",
        "rest",
        "round_label",
        "rounding",
        "scope",
        "streak",
        "tier_multiplier",
        "trees",
        "whole",
        "window",
    )

    def __init__(
        self,
        rule: Rule,
        compile_: _Compile,
        *,
        mode: str,
        program_caps: tuple[Cap, ...],
        budgets: dict[str, int],
        groups: dict[str, str],
        base_round: bool = False,
    ) -> None:
        self.name = rule.name
        self.base_round = base_round
        # (attribute, program-wide?) of a once_per limit.
        self.once: tuple[str, bool] | None = None
        if rule.once_per is not None:
            self.once = (rule.once_per.attribute, rule.once_per.scope == "program")
        self.priority = rule.priority
        self.kinds = frozenset(rule.kinds)
        self.enabled = rule.enabled
        self.currency = rule.currency
        self.coupon = rule.coupon
        window, rest = split_window(rule.when)
        # The compiled conditions' test closures, called directly on the hot path.
        self.window = None if window is None else _fast(compile_(window))
        self.rest = None if rest is None else _fast(compile_(rest))
        self.whole = None if rule.when is None else compile_(rule.when)
        effect = rule.effect
        self.rounding: Rounding = effect.rounding
        self.round_label = f"rounding ({effect.rounding})"
        self.fixed: StepRecord | None = None
        if isinstance(effect, Fixed):
            points = effect.points
            self.fixed = (_STEPOP_BASE, "base", points, points, f"fixed {points}")
        # (counted parts, or None for the goods alone, multiply by, divide by, currency code,
        # its places, the base step's note's tail)
        self.rate: tuple[frozenset[str] | None, int, int, str, int, str] | None = None
        if isinstance(effect, Rate):
            per_numerator, per_denominator = effect.per.amount.as_integer_ratio()
            per = effect.per.currency
            self.rate = (
                None if effect.counts == _GOODS_ONLY else effect.counts,
                per_denominator * effect.points,
                per_numerator,
                per.code,
                per.decimals,
                f"({'+'.join(sorted(effect.counts))}) / {effect.per} x {effect.points}",
            )
        self.before_bonuses = tuple(
            (bonus.points, _fast(compile_(bonus.when)))
            for bonus in rule.bonuses
            if bonus.multiplied
        )
        self.after_bonuses = tuple(
            (bonus.points, _fast(compile_(bonus.when)))
            for bonus in rule.bonuses
            if not bonus.multiplied
        )
        # The condition trees behind the closures above, for evaluators that write them out:
        # (window, rest, bonuses before, campaign multipliers, bonuses after).
        self.trees: _Trees = (
            window,
            rest,
            tuple(bonus.when for bonus in rule.bonuses if bonus.multiplied),
            tuple(multiplier.when for multiplier in rule.multipliers),
            tuple(bonus.when for bonus in rule.bonuses if not bonus.multiplied),
        )
        self.campaigns = tuple(
            (
                (
                    multiplier.name,
                    multiplier.factor,
                    multiplier.factor.numerator,
                    multiplier.factor.denominator,
                    _fraction_raw(multiplier.factor),
                ),
                None if multiplier.when is None else _fast(compile_(multiplier.when)),
                f"x {multiplier.name}",
            )
            for multiplier in rule.multipliers
        )
        self.tier_multiplier = rule.tier_multiplier
        self.mode = mode
        self.scope = f"rule:{rule.name}"
        self.caps = tuple(
            _CompiledCap(cap, self.scope, program=False) for cap in rule.caps
        ) + tuple(
            _CompiledCap(cap, "program", program=True)
            for cap in program_caps
            if rule.counted_by(cap)
        )
        # Each cap's constants in one row, unpacked at once on the hot path: the cap, its
        # scope and period, whether it is tiered, its limits and labels, and its reasons.
        self.cap_rows: tuple[_CapRow, ...] = tuple(
            (
                cap,
                cap.scope,
                cap.period,
                cap.tiered,
                *cap.plain,
                cap.points_reason,
                cap.tasks_reason,
            )
            for cap in self.caps
        )
        self.at_cap_partial = rule.at_cap == "partial"
        self.limited = bool(self.caps) or rule.budget is not None or self.once is not None
        self.budget = rule.budget
        self.budget_label = f"budget {rule.budget}"
        self.budget_total = 0 if rule.budget is None else budgets[rule.budget]
        self.group: tuple[str, str] | None = None
        if rule.group is not None and groups[rule.group] != "stack":
            self.group = (rule.group, groups[rule.group])
        self.streak = rule.streak
        self.ladder = (
            "" if rule.streak is None else "ladder " + "/".join(map(str, rule.streak.rewards))
        )
        done: dict[Reason, tuple[Verdict, CompiledCondition | None]] = {}
        for status, reason in _EARLY:
            trace = None if status is _STATUS_DISABLED else self.whole
            done[reason] = ((self.name, status, (reason,), (), 0), trace)
        self.done = done

    def decide(self, facts: Facts, state: RuleState, tier: tuple[int, int]) -> _Entry:  # noqa: C901, PLR0912 - the documented order, one function on the hot path
        """Pass 1: this rule on its own, up to its rounded award."""
        if self.window is not None and self.window(facts) is not True:
            return self.done[_REASON_OUTSIDE_WINDOW]
        rest = self.rest
        if rest is not None:
            outcome = rest(facts)
            if outcome is not True:
                reason = _REASON_CONDITION_FALSE if outcome is False else _REASON_MISSING_FACT
                return self.done[reason]
        day_length = 0
        if self.streak is not None:
            day = facts.local_date()
            before = state.streak(self.name)
            if before is not None and before.last_day >= day:
                past = before.last_day > day
                return self.done[_REASON_STREAK_PAST_DAY if past else _REASON_ALREADY_TODAY]
            day_length = (
                before.length + 1 if before is not None and before.last_day == day - _DAY else 1
            )
        value: Raw
        steps: list[StepRecord]
        if self.fixed is not None:
            steps = [self.fixed]
            value = self.fixed[2]
        else:
            steps = []
            based = self._rate_base(facts, steps)
            if type(based) is Reason:
                return self.done[based]
            value = based  # type: ignore[assignment]  # not a Reason here
        if self.base_round and type(value) is not int:
            value = raw_round(value[0], value[1], self.rounding)  # type: ignore[index]  # a pair
            label = f"rounding base ({self.rounding})"
            steps.append((_STEPOP_ROUND, label, value, value, self.rounding))
        if self.streak is not None:
            reward = self.streak.reward(day_length)
            value = _plus(value, reward)
            steps.append((_STEPOP_ADD, f"streak day {day_length}", reward, value, self.ladder))
        for points, condition in self.before_bonuses:
            if condition(facts) is True:
                value = _plus(value, points)
                steps.append((_STEPOP_ADD, "bonus", points, value, "multiplied"))
        if self.campaigns or (self.tier_multiplier and tier != (1, 1)):
            if self.mode == "multiply":
                value = self._multiply_each(value, facts, steps, tier)
            else:
                value = self._multiply(value, facts, steps, tier)
        for points, condition in self.after_bonuses:
            if condition(facts) is True:
                value = _plus(value, points)
                steps.append((_STEPOP_ADD, "bonus", points, value, ""))
        if type(value) is not int:
            value = raw_round(value[0], value[1], self.rounding)  # type: ignore[index]  # a pair
            steps.append((_STEPOP_ROUND, self.round_label, value, value, self.rounding))
        if not -limits.POINTS_MAX <= value <= limits.POINTS_MAX:
            return self.done[_REASON_POINTS_OVERFLOW]
        streak = None if self.streak is None else _streak(facts.local_date(), day_length)
        # A rule that issues a coupon fires with no points; any other awards nothing.
        if value == 0 and self.coupon is None:
            return Pending(self, steps, 0, streak, _STATUS_NOT_ELIGIBLE, _ZERO_POINTS)
        if self.once is not None and (value > 0 or self.coupon is not None):
            return self._once(facts, state, steps, value, streak)
        return Pending(self, steps, value, streak, None, ())

    def _once(
        self,
        facts: Facts,
        state: RuleState,
        steps: list[StepRecord],
        value: int,
        streak: Streak | None,
    ) -> _Entry:
        """The once_per limit: nothing if the event's value was awarded before."""
        attribute, program = self.once  # type: ignore[misc]  # a once_per rule here
        seen = facts.values.get(attribute, MISSING)
        if isinstance(seen, Missing):
            return self.done[_REASON_MISSING_FACT]
        key = once_key(self.name, seen)
        used = state.budget_used(key) if program else state.counter((key, "lifetime")).tasks
        if used > 0:
            label = f"once per {attribute}"
            note = ("{} was already awarded", key.split(":", 2)[2])
            steps.append((_STEPOP_LIMIT, label, 0, 0, note))
            return Pending(self, steps, 0, None, _STATUS_DUPLICATE, (_REASON_ONCE_PER_VALUE,))
        pending = Pending(self, steps, value, streak, None, ())
        pending.once = key
        return pending

    def _rate_base(self, facts: Facts, steps: list[StepRecord]) -> Raw | Reason:
        counts, multiply, divide, code, places, tail = self.rate  # type: ignore[misc]  # a Rate rule here
        values = facts.values
        amount = values.get("amount", MISSING)
        if type(amount) is not Money:
            return _REASON_MISSING_FACT
        currency = amount.currency
        if currency.code != code or currency.decimals != places:
            return _REASON_CURRENCY_MISMATCH
        goods = amount.amount
        parts: dict[str, Decimal] = {}
        for name in _PARTS:
            part = values.get(name, MISSING)
            if type(part) is Money:
                if part.currency.code != code or part.currency.decimals != places:
                    return _REASON_CURRENCY_MISMATCH
                parts[name] = part.amount
                goods -= part.amount
        if counts is None:
            counted = goods
        else:
            counted = Decimal(0)
            for part_name in counts:
                counted += goods if part_name == "goods" else parts.get(part_name, Decimal(0))
        numerator, denominator = counted.as_integer_ratio()
        value = _raw(numerator * multiply, denominator * divide)
        steps.append((_STEPOP_BASE, "base", value, value, ("{} {} {}", counted, code, tail)))
        return value

    def _multiply_each(
        self, value: Raw, facts: Facts, steps: list[StepRecord], tier: tuple[int, int]
    ) -> Raw:
        """The ``multiply`` mode: factor by factor, a step each, as :meth:`_multiply` does."""
        if self.tier_multiplier and tier != (1, 1):
            numerator, denominator = tier
            value = _times(value, numerator, denominator)
            steps.append((_STEPOP_MULTIPLY, _TIER_LABEL, _raw(*tier), value, ""))
        for (_, _, numerator, denominator, raw), condition, label in self.campaigns:
            if condition is None or condition(facts) is True:
                value = _times(value, numerator, denominator)
                steps.append((_STEPOP_MULTIPLY, label, raw, value, ""))
        return value

    def _multiply(
        self, value: Raw, facts: Facts, steps: list[StepRecord], tier: tuple[int, int]
    ) -> Raw:
        # Each factor: (name, Fraction, numerator, denominator, the step's raw value).
        factors: list[tuple[str, Fraction, int, int, Raw]] = []
        if self.tier_multiplier and tier != (1, 1):
            numerator, denominator = tier
            factors.append(
                (_TIER, facts.member.earn_multiplier, numerator, denominator, _raw(*tier))
            )
        for campaign, condition, _ in self.campaigns:
            if condition is None or condition(facts) is True:
                factors.append(campaign)
        if not factors:
            return value
        if self.mode == "multiply" or len(factors) == 1:
            for name, _, numerator, denominator, raw in factors:
                value = _times(value, numerator, denominator)
                steps.append((_STEPOP_MULTIPLY, f"x {name}", raw, value, ""))
            return value
        fractions = [factor for _, factor, _, _, _ in factors]
        if self.mode == "add":
            combined = max(Fraction(0), 1 + sum(factor - 1 for factor in fractions))
        else:
            combined = max(fractions)
        value = _times(value, combined.numerator, combined.denominator)
        note = ", ".join(f"{name} {factor}" for name, factor, _, _, _ in factors)
        label = f"x multipliers ({self.mode})"
        steps.append((_STEPOP_MULTIPLY, label, _fraction_raw(combined), value, note))
        return value


def _fast(compiled: CompiledCondition) -> Callable[[Facts], bool | None]:
    """The compiled condition's test closure, to call without a method in between."""
    return compiled._test  # noqa: SLF001 - this package's own class, on the hot path


def _fraction_raw(value: Fraction | int) -> Raw:
    return _raw(value.numerator, value.denominator)


_EARLY: Final = (
    (_STATUS_DISABLED, _REASON_RULE_DISABLED),
    (_STATUS_DISABLED, _REASON_KIND_DISABLED),
    (_STATUS_OUTSIDE_WINDOW, _REASON_OUTSIDE_WINDOW),
    (_STATUS_NOT_ELIGIBLE, _REASON_CONDITION_FALSE),
    (_STATUS_ERROR, _REASON_MISSING_FACT),
    (_STATUS_ERROR, _REASON_CURRENCY_MISMATCH),
    (_STATUS_ERROR, _REASON_POINTS_OVERFLOW),
    (_STATUS_DUPLICATE, _REASON_ALREADY_TODAY),
    (_STATUS_DUPLICATE, _REASON_STREAK_PAST_DAY),
)


@final
class KindPlan:
    """The rules one event kind is evaluated against, in order, and whether it earns at all."""

    __slots__ = ("by_day", "conditions", "daily", "disabled", "enabled", "grouped", "lean", "rules")

    def __init__(self, rules: tuple[CompiledRule, ...], *, disabled: bool) -> None:
        self.rules = rules
        # The kind's lean evaluator when its rules all have the common shape (set by the rule
        # set, which knows the kind's schema), else None: the passes here decide.
        self.lean: LeanEvaluator | None = None
        self.disabled = disabled
        self.enabled = not disabled and any(rule.enabled for rule in rules)
        self.grouped = any(rule.group is not None for rule in rules)
        # What an event reads depends on its day alone unless a rule counts once per value.
        self.daily = all(rule.once is None for rule in rules if rule.enabled)
        self.by_day: dict[date, StateKeys] = {}  # RuleSet.state_keys's, when daily
        # The condition each rule's explanation traces: its whole condition, or none for a
        # disabled rule (whatever the event, so the same for every evaluation of the kind).
        self.conditions = tuple(
            rule.whole if rule.enabled and not disabled else None for rule in rules
        )


# -- the passes -------------------------------------------------------------------------------


def evaluate_plan(plan: KindPlan, event: Event, state: RuleState, facts: Facts) -> Decision:  # noqa: C901 - one function on the hot path
    """Run the three passes over *plan*'s rules and assemble the decision."""
    multiplier = state.member.earn_multiplier
    tier = (multiplier.numerator, multiplier.denominator)
    verdicts: list[Verdict | None] = []
    pendings: list[Pending] = []
    if plan.disabled:
        verdicts.extend(rule.done[_REASON_KIND_DISABLED][0] for rule in plan.rules)
    else:
        for rule in plan.rules:
            entry = (
                rule.decide(facts, state, tier)
                if rule.enabled
                else rule.done[_REASON_RULE_DISABLED]
            )
            if type(entry) is Pending:
                entry.index = len(verdicts)
                pendings.append(entry)
                verdicts.append(None)  # filled in once the limits are applied
            else:
                verdicts.append(entry[0])  # an early verdict
    if not pendings:
        return _decision(event, (), (), (), (), (), tuple(verdicts), facts, plan.conditions)  # type: ignore[arg-type]  # all early
    counters: dict[CounterKey, list[int]] = {}
    budgets: dict[str, int] = {}
    if plan.grouped:
        _resolve_groups(pendings)
    _apply_limits(pendings, state, facts, counters, budgets)
    awards: list[Award] = []
    streaks: list[tuple[str, Streak]] = []
    coupons: list[tuple[str, str]] = []
    for pending in pendings:
        rule = pending.rule
        status = pending.status
        paying = status is _STATUS_AWARDED or status is _STATUS_PARTIALLY_AWARDED
        points = pending.value if paying else 0
        if points:
            awards.append(_award(rule.name, rule.currency, points))
        if rule.coupon is not None and paying:
            coupons.append((rule.name, rule.coupon))
        if pending.streak is not None:
            streaks.append((rule.name, pending.streak))
        verdicts[pending.index] = (rule.name, status, pending.reasons, tuple(pending.steps), points)  # type: ignore[assignment]  # decided by now
    if len(streaks) > 1:
        streaks.sort(key=lambda pair: pair[0])
    return _decision(
        event,
        tuple(awards),
        # The keys are distinct, so the pairs sort by key alone.
        tuple([(key, _counter(count[0], count[1])) for key, count in sorted(counters.items())])
        if counters
        else (),
        tuple(sorted(budgets.items())) if budgets else (),
        tuple(streaks),
        tuple(coupons),
        tuple(verdicts),  # type: ignore[arg-type]  # every one filled in
        facts,
        plan.conditions,
    )


def _resolve_groups(pendings: list[Pending]) -> None:
    """Pass 2: in ``first`` and ``max`` groups, keep one rule's award."""
    winners: dict[str, Pending] = {}
    grouped = False
    for pending in pendings:
        group = pending.rule.group
        if group is None or pending.status is not None:
            continue
        grouped = True
        name, mode = group
        winner = winners.get(name)
        if winner is None or (mode == "max" and pending.value > winner.value):
            winners[name] = pending
    if not grouped:
        return
    for pending in pendings:
        group = pending.rule.group
        if group is None or pending.status is not None:
            continue
        winner = winners[group[0]]
        if winner is not pending:
            pending.status = _STATUS_NOT_ELIGIBLE
            pending.reasons = (_REASON_GROUP_LOST,)
            label = f"group {group[0]} ({group[1]})"
            pending.steps.append((_STEPOP_MULTIPLY, label, 0, 0, f"lost to {winner.rule.name}"))
            pending.value = 0


def _apply_limits(  # noqa: C901, PLR0912, PLR0915 - the documented order of limits, one function on the hot path
    pendings: list[Pending],
    state: RuleState,
    facts: Facts,
    counters: dict[CounterKey, list[int]],
    budgets: dict[str, int],
) -> None:
    """Pass 3: caps and budgets, rule by rule, each seeing the awards before it."""
    stored_counters = state._counter_map  # noqa: SLF001 - same package, the hot path
    for pending in pendings:
        if pending.status is not None:
            continue
        rule = pending.rule
        desired = pending.value
        if desired < 0 or not rule.limited:
            pending.status = _STATUS_AWARDED
            continue
        allowed = desired
        # A coupon-only rule (0 points) fires unless a task cap stops it: it counts one task.
        firing = desired == 0
        reasons: tuple[Reason, ...] = ()
        emptied = _STATUS_CAPPED
        steps = pending.steps
        keys: list[CounterKey] = []
        if pending.once is not None and not rule.once[1]:  # type: ignore[index]  # a once_per rule
            keys.append((pending.once, "lifetime"))
        for (
            cap,
            scope,
            cap_period,
            tiered,
            cap_points,
            cap_tasks,
            points_label,
            tasks_label,
            points_reason,
            tasks_reason,
        ) in rule.cap_rows:
            key = (scope, facts.period(cap_period))  # type: ignore[arg-type]  # a cap's period
            keys.append(key)
            if allowed == 0 and not firing:
                continue
            if tiered:  # the member's tier's limits and labels in place of the row's
                limits_now = cap.limits_for(facts.member.tier)
                cap_points, cap_tasks, points_label, tasks_label = limits_now  # noqa: PLW2901
            stored = stored_counters.get(key, _ZERO)
            added = counters.get(key)
            if cap_tasks is not None:
                used_tasks = stored.tasks + added[1] if added else stored.tasks
                if used_tasks >= cap_tasks:
                    steps.append(
                        (_STEPOP_LIMIT, tasks_label, 0, 0, ("{} tasks done, none left", used_tasks))
                    )
                    reasons += (tasks_reason,)
                    allowed = 0
                    firing = False
                    continue
            if cap_points is not None and allowed > 0:
                used_points = stored.points + added[0] if added else stored.points
                left = cap_points - used_points if cap_points > used_points else 0
                if rule.at_cap_partial:
                    limit = left
                    note = _LEFT
                else:
                    limit = left if allowed <= left else 0
                    note = _LEFT_ALL_OR_NOTHING
                kept = limit if limit < allowed else allowed  # noqa: FURB136 - no call, hot path
                steps.append((_STEPOP_LIMIT, points_label, limit, kept, (note, left)))
                if kept < allowed:
                    reasons += (points_reason,)
                    allowed = kept
        if rule.budget is not None and allowed > 0:
            used = state.budget_used(rule.budget) + budgets.get(rule.budget, 0)
            left = max(0, rule.budget_total - used)
            limit = left if rule.at_cap_partial or allowed <= left else 0
            kept = min(allowed, limit)
            budget_note = ("{} left of {}", left, rule.budget_total)
            steps.append((_STEPOP_LIMIT, rule.budget_label, limit, kept, budget_note))
            if kept < allowed:
                reasons += (_REASON_BUDGET_EXHAUSTED,)
                allowed = kept
                if allowed == 0:
                    emptied = _STATUS_BUDGET_EXHAUSTED
        if desired == 0:
            pending.status = _STATUS_AWARDED if firing else _STATUS_CAPPED
        elif allowed == desired:
            pending.status = _STATUS_AWARDED
        elif allowed == 0:
            pending.status = emptied
        else:
            pending.status = _STATUS_PARTIALLY_AWARDED
        pending.reasons = reasons
        pending.value = allowed
        if allowed > 0 or firing:
            for key in keys:
                added = counters.get(key)
                if added is None:
                    counters[key] = [allowed, 1]
                else:
                    added[0] += allowed
                    added[1] += 1
            if rule.budget is not None and allowed > 0:
                budgets[rule.budget] = budgets.get(rule.budget, 0) + allowed
            if pending.once is not None and rule.once[1]:  # type: ignore[index]  # a once_per rule
                budgets[pending.once] = 1  # one award per value: a program budget of one
