"""Earning rules: events, conditions, rates, multipliers, caps, budgets, streaks and groups.

This package owns the pure earning engine. An :class:`Event` (a purchase, a sign-in, a host's
own kind checked against its :class:`EventSchema`) is evaluated by a :class:`RuleSet` against a
:class:`RuleState` snapshot (the member's context, counters, budgets and streaks) with
:meth:`RuleSet.evaluate`, which returns a :class:`Decision`: the awards, the counter, budget and
streak increments to store with them, and one :class:`RuleExplanation` per rule whose
arithmetic trail adds up to its points. Conditions are data (:class:`Compare`, :class:`In`,
:class:`During`, ...), compiled to closures; rule sets round-trip through dicts, JSON and TOML,
with a JSON Schema for rule files. Nothing here reads storage or the clock: ``now`` is passed
in, and the ledger loads and stores the state. See docs/rules.md.
"""

from pointkit.rules._attributes import MISSING, AttributeValue, Line, Missing
from pointkit.rules._codec import decode_value, encode_value
from pointkit.rules._compile import CompiledCondition, compile_condition
from pointkit.rules._conditions import (
    All,
    Any,
    Between,
    Compare,
    CompareOp,
    Condition,
    ConditionTrace,
    In,
    InSegment,
    Not,
    OnMissing,
)
from pointkit.rules._decision import (
    Award,
    Decision,
    Reason,
    RuleExplanation,
    Status,
    Step,
    StepOp,
)
from pointkit.rules._effects import (
    Bonus,
    Cap,
    CountedPart,
    Effect,
    Fixed,
    Multiplier,
    OncePer,
    OnceScope,
    Rate,
    StreakLadder,
)
from pointkit.rules._event_schemas import (
    BUILTIN_KINDS,
    EventRegistry,
    EventSchema,
    FieldSpec,
    FieldType,
)
from pointkit.rules._events import Event
from pointkit.rules._expressions import Arith, ArithOp, Const, ConstValue, Expr, Fact
from pointkit.rules._reversal import clawback, refund_fraction
from pointkit.rules._rules import AtCap, Rule
from pointkit.rules._ruleset import GroupMode, MultiplierMode, RoundingStage, RuleSet
from pointkit.rules._scheduled import Feb29, anniversary_events, birthday_events
from pointkit.rules._schema import rules_json_schema
from pointkit.rules._segments import SEGMENTS_MAX, Segment, Segments
from pointkit.rules._serialize import (
    condition_from_dict,
    condition_to_dict,
    effect_from_dict,
    effect_to_dict,
    rule_from_dict,
    rule_to_dict,
    ruleset_from_dict,
    ruleset_from_json,
    ruleset_from_toml,
    ruleset_to_dict,
    ruleset_to_json,
    ruleset_to_toml,
)
from pointkit.rules._state import (
    CapPeriod,
    Counter,
    CounterKey,
    MemberContext,
    RuleState,
    StateKeys,
    Streak,
    period_key,
)
from pointkit.rules._time_conditions import (
    BetweenHours,
    During,
    OnDates,
    OnMonthDays,
    OnWeekdays,
)


__all__ = [
    "BUILTIN_KINDS",
    "MISSING",
    "SEGMENTS_MAX",
    "All",
    "Any",
    "Arith",
    "ArithOp",
    "AtCap",
    "AttributeValue",
    "Award",
    "Between",
    "BetweenHours",
    "Bonus",
    "Cap",
    "CapPeriod",
    "Compare",
    "CompareOp",
    "CompiledCondition",
    "Condition",
    "ConditionTrace",
    "Const",
    "ConstValue",
    "CountedPart",
    "Counter",
    "CounterKey",
    "Decision",
    "During",
    "Effect",
    "Event",
    "EventRegistry",
    "EventSchema",
    "Expr",
    "Fact",
    "Feb29",
    "FieldSpec",
    "FieldType",
    "Fixed",
    "GroupMode",
    "In",
    "InSegment",
    "Line",
    "MemberContext",
    "Missing",
    "Multiplier",
    "MultiplierMode",
    "Not",
    "OnDates",
    "OnMissing",
    "OnMonthDays",
    "OnWeekdays",
    "OncePer",
    "OnceScope",
    "Rate",
    "Reason",
    "RoundingStage",
    "Rule",
    "RuleExplanation",
    "RuleSet",
    "RuleState",
    "Segment",
    "Segments",
    "StateKeys",
    "Status",
    "Step",
    "StepOp",
    "Streak",
    "StreakLadder",
    "anniversary_events",
    "birthday_events",
    "clawback",
    "compile_condition",
    "condition_from_dict",
    "condition_to_dict",
    "decode_value",
    "effect_from_dict",
    "effect_to_dict",
    "encode_value",
    "period_key",
    "refund_fraction",
    "rule_from_dict",
    "rule_to_dict",
    "rules_json_schema",
    "ruleset_from_dict",
    "ruleset_from_json",
    "ruleset_from_toml",
    "ruleset_to_dict",
    "ruleset_to_json",
    "ruleset_to_toml",
]
