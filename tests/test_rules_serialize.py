"""Rules documents: dict, JSON and TOML round trips, loading problems with paths, the JSON Schema."""

from __future__ import annotations

import json
import pickle
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given

from pointkit import Money, MoneyCurrency, limits
from pointkit.exceptions import ConfigurationError, LimitExceededError
from pointkit.rules import (
    All,
    Any,
    Arith,
    Between,
    BetweenHours,
    Bonus,
    Cap,
    Compare,
    Const,
    During,
    EventRegistry,
    EventSchema,
    Fact,
    FieldSpec,
    Fixed,
    In,
    Multiplier,
    Not,
    OnDates,
    OnMonthDays,
    OnWeekdays,
    Rate,
    Rule,
    RuleSet,
    StreakLadder,
    condition_from_dict,
    condition_to_dict,
    effect_from_dict,
    effect_to_dict,
    rule_from_dict,
    rule_to_dict,
    rules_json_schema,
    ruleset_from_dict,
    ruleset_from_json,
    ruleset_from_toml,
    ruleset_to_dict,
    ruleset_to_json,
    ruleset_to_toml,
)
from pointkit.rules._toml_writer import toml_string as _toml_string
from test_rules_properties import heavy, programs


CNY = "CNY"
GAME = EventSchema(
    "game_won", {"score": FieldSpec("int"), "mode": FieldSpec("str", required=False)}
)


def cny(amount: str | int) -> Money:
    """Yuan."""
    return Money(amount, CNY)


def rich() -> RuleSet:
    """A rule set that uses every kind of node, effect and option."""
    every_condition = All(
        [
            Compare(Fact("event.amount"), ">=", cny("99.90"), on_missing="error"),
            Compare(
                Arith("-", Fact("event.amount"), Fact("event.tax")),
                ">",
                Arith("*", cny(10), Decimal("1.5")),
            ),
            Any(
                [
                    In(Fact("member.tags"), ["vip", "new"]),
                    Not(In(Fact("member.tier"), ["normal"], on_missing="pass")),
                ]
            ),
            Between(Fact("event.lines.count"), 1, 10),
            Compare(Fact("event.local_date"), "!=", date(2026, 12, 25)),
            Compare(Fact("member.is_birthday"), "==", Const(value=False)),
            During(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
            OnWeekdays([1, 2, 3, 4, 5]),
            OnMonthDays([8, 18, 28]),
            Not(OnDates([date(2026, 10, 1), date(2026, 10, 2)])),
            BetweenHours(22, 6),
            In(
                Fact("event.amount"),
                [Money("1.5", MoneyCurrency("XPT", decimals=1))],
                on_missing="pass",
            ),
        ]
    )
    return RuleSet(
        [
            Rule(
                "spend",
                ("purchase",),
                Rate(2, per=cny(10), rounding="half_even", counts={"goods", "tax"}),
                every_condition,
                bonuses=(
                    Bonus(5, OnWeekdays([6, 7]), multiplied=True),
                    Bonus(-1, Compare(Fact("event.amount"), "<", cny(1))),
                ),
                multipliers=(
                    Multiplier("holiday", 2, OnDates([date(2026, 10, 1)])),
                    Multiplier("app", Fraction(3, 2)),
                ),
                tier_multiplier=False,
                currency="tier_credits",
                caps=(Cap("day", points=500), Cap("lifetime", tasks=1000)),
                at_cap="nothing",
                budget="launch",
                group="orders",
                priority=3,
            ),
            Rule(
                "sign_in",
                ("sign_in",),
                Fixed(0),
                streak=StreakLadder((1, 2, 3, 5, 10), repeat="cycle"),
            ),
            Rule(
                "win",
                ("game_won",),
                Fixed(7, rounding="ceiling"),
                Compare(Fact("event.score"), ">", 100),
                enabled=False,
            ),
            Rule("quiet", ("birthday",), Fixed(-3), Compare(Const("x"), "==", "x")),
        ],
        zone="Asia/Shanghai",
        multipliers="add",
        groups={"orders": "first", "unused": "max"},
        budgets={"launch": 100_000, "spare": 1},
        caps=(Cap("week", points=2_000, tasks=50),),
        registry=EventRegistry.default().register(GAME),
        disabled_kinds={"game_won"},
        feb29="mar1",
    )


def test_rich_rule_set_round_trips_through_every_format() -> None:
    """A rule set comes back equal from its dict, its JSON, its TOML and a pickle."""
    rules = rich()
    assert rules == pickle.loads(pickle.dumps(rules))  # noqa: S301 - our own bytes
    assert rules == ruleset_from_dict(ruleset_to_dict(rules))
    assert rules == ruleset_from_json(ruleset_to_json(rules))
    assert rules == ruleset_from_toml(ruleset_to_toml(rules))
    assert json.loads(ruleset_to_json(rules)) == ruleset_to_dict(rules)


def test_json_is_deterministic_and_exact() -> None:
    """JSON has sorted keys, Fractions as strings and money as amount and currency."""
    text = ruleset_to_json(rich())
    assert text == ruleset_to_json(ruleset_from_json(text))
    assert '"factor": "3/2"' in text
    assert '"per": {\n' in text
    assert "." not in re.sub(r'"[^"]*"', "", text)  # every decimal point is inside a string


@heavy()
@given(programs())
def test_generated_rule_sets_round_trip(rules: RuleSet) -> None:
    """Any valid rule set comes back equal from its dict, JSON and TOML documents and a pickle."""
    assert rules == pickle.loads(pickle.dumps(rules))  # noqa: S301 - our own bytes
    assert rules == ruleset_from_dict(ruleset_to_dict(rules))
    assert rules == ruleset_from_json(ruleset_to_json(rules))
    assert rules == ruleset_from_toml(ruleset_to_toml(rules))


def test_parts_round_trip_on_their_own() -> None:
    """Conditions, effects and rules have their own to_dict/from_dict pairs."""
    condition = rich().rules[0].when
    assert condition is not None
    assert condition == condition_from_dict(condition_to_dict(condition))
    effect = Rate(1, per=cny(10), rounding="floor")
    assert effect == effect_from_dict(effect_to_dict(effect))
    rule = rich().rules[0]
    assert rule == rule_from_dict(rule_to_dict(rule))


GOLDEN_TOML = """\
version = 1
zone = "Asia/Shanghai"
multipliers = "multiply"
feb29 = "feb28"
disabled_kinds = []
events = []

[groups]
signup = "first"

[budgets]
"launch 2026" = 100000

[[caps]]
period = "day"
points = 100
tasks = 15

[[rules]]
name = "spend"
kinds = ["purchase"]
effect = { type = "rate", points = 1, per = { amount = "10.00", currency = "CNY" }, counts = ["goods"], rounding = "floor" }
bonuses = []
multipliers = [{ name = "holiday", factor = "2", when = { type = "on_dates", dates = ["2026-10-01"] } }]
tier_multiplier = true
currency = "points"
caps = []
at_cap = "partial"
budget = "launch 2026"
priority = 0
enabled = true

[[rules]]
name = "review \\"long\\""
kinds = ["review"]
effect = { type = "fixed", points = 5, rounding = "floor" }
when = { type = "compare", left = { type = "fact", path = "event.length" }, op = ">", right = { type = "const", value = 20 }, on_missing = "fail" }
bonuses = []
multipliers = []
tier_multiplier = true
currency = "points"
caps = [{ period = "day", tasks = 3 }]
at_cap = "partial"
group = "signup"
priority = 1
enabled = true
"""


def test_toml_is_pinned() -> None:
    """The TOML of a small rule set keeps its exact text (golden), and reads back equal."""
    rules = RuleSet(
        [
            Rule(
                "spend",
                ("purchase",),
                Rate(1, per=cny(10), rounding="floor"),
                multipliers=(Multiplier("holiday", 2, OnDates([date(2026, 10, 1)])),),
                budget="launch 2026",
            ),
            Rule(
                'review "long"',
                ("review",),
                Fixed(5),
                Compare(Fact("event.length"), ">", 20),
                caps=(Cap("day", tasks=3),),
                group="signup",
                priority=1,
            ),
        ],
        zone="Asia/Shanghai",
        groups={"signup": "first"},
        budgets={"launch 2026": 100_000},
        caps=(Cap("day", points=100, tasks=15),),
    )
    assert GOLDEN_TOML == ruleset_to_toml(rules)
    assert rules == ruleset_from_toml(GOLDEN_TOML)


def test_toml_escapes_quotes_backslashes_and_control_characters() -> None:
    """Text with quotes and backslashes is written as a valid TOML string, read back the same."""
    rules = RuleSet(
        [Rule('a\\b "c"', ("share",), Fixed(1), In(Fact("event.channel"), ["we\\chat"]))],
        zone="UTC",
    )
    text = ruleset_to_toml(rules)
    assert 'name = "a\\\\b \\"c\\""' in text
    assert rules == ruleset_from_toml(text)
    assert '"\\t\\u0001\\n\\u007F"' == _toml_string("\t\x01\n\x7f")


# -- loading problems -----------------------------------------------------------------------------


def document(*rules: dict[str, object], **fields: object) -> dict[str, object]:
    """A rule-set document with *rules* and top-level *fields*."""
    return {"version": 1, "zone": "Asia/Shanghai", "rules": list(rules), **fields}


SHARE: dict[str, object] = {
    "name": "share",
    "kinds": ["share"],
    "effect": {"type": "fixed", "points": 50},
}
FACT: dict[str, object] = {"type": "fact", "path": "event.length"}


def rule(**fields: object) -> dict[str, object]:
    """A review rule document with *fields*."""
    return {
        "name": "review",
        "kinds": ["review"],
        "effect": {"type": "fixed", "points": 5},
        **fields,
    }


def compare(**fields: object) -> dict[str, object]:
    """A comparison document with *fields*."""
    return {
        "type": "compare",
        "left": FACT,
        "op": ">",
        "right": {"type": "const", "value": 20},
        **fields,
    }


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (
            document(rule(caps=[{"period": "day", "points": -5}])),
            ["rules[0].caps[0].points: -5 must be an int from 1 to 9223372036854775807"],
        ),
        (
            document(rule(colour="red")),
            [
                "rules[0].colour: unknown field; valid fields are 'name', 'kinds', 'effect', 'when', 'bonuses', 'multipliers', 'tier_multiplier', 'currency', 'caps', 'at_cap', 'budget', 'group', 'priority', 'streak', 'enabled', 'exempt_from_caps', 'once_per', 'coupon'"
            ],
        ),
        (document({"name": "x", "kinds": ["share"]}), ["rules[0].effect: missing; it is required"]),
        ({"zone": "UTC", "rules": []}, ["document.version: missing; it is required"]),
        (document(version=2), ["version: must be 1, got 2"]),
        ([], ["document: must be an object, got []"]),
        (
            document(rule(when=compare(op="=~"))),
            ["rules[0].when.op: '=~' must be one of '==', '!=', '<', '<=', '>', '>='"],
        ),
        (
            document(rule(when={"type": "matches"})),
            [
                "rules[0].when.type: must be one of 'all', 'any', 'not', 'compare', 'in', 'between', 'during', 'on_weekdays', 'on_month_days', 'on_dates', 'between_hours', 'segment', got 'matches'"
            ],
        ),
        (
            document(rule(when=compare(left={"type": "fact", "path": "member.level"}))),
            [
                "rules[0].when.left.path: 'member.level' is not a member fact; member facts are 'member.tier', 'member.tags', 'member.days_since_joining', 'member.birthday_month', 'member.is_birthday', 'member.lifetime_earned', 'member.days_since_last_activity'"
            ],
        ),
        (
            document(rule(when=compare(right={"type": "const", "value": 20.5}))),
            [
                "rules[0].when.right.value: 20.5 must be an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line, not float; floats are refused: use Decimal or Money"
            ],
        ),
        (
            document(rule(when=compare(right={"type": "const", "value": {"decimal": "x"}}))),
            ["rules[0].when.right.value: {'decimal': 'x'} is not a valid decimal"],
        ),
        (
            document(
                rule(when=compare(right={"type": "arith", "op": "^", "left": FACT, "right": FACT}))
            ),
            ["rules[0].when.right.op: '^' must be one of '+', '-', '*', '/'"],
        ),
        (
            document(rule(when={"type": "all", "conditions": [compare(), "x", {"type": "not"}]})),
            [
                "rules[0].when.conditions[1]: must be an object, got 'x'",
                "rules[0].when.conditions[2].condition: missing; it is required",
            ],
        ),
        (
            document(rule(when={"type": "all", "conditions": []})),
            ["rules[0].when.conditions: () must hold at least one condition"],
        ),
        (
            document(rule(when={"type": "any", "conditions": "x"})),
            ["rules[0].when.conditions: must be a list, got 'x'"],
        ),
        (
            document(rule(when={"type": "in", "expr": FACT, "values": [1, "2"]})),
            ["rules[0].when.values: [1, '2'] mixes number, str; give values of one type"],
        ),
        (
            document(rule(when={"type": "in", "expr": FACT, "values": [1.5]})),
            [
                "rules[0].when.values[0]: 1.5 must be an int, Decimal, Money, str, bool, aware datetime, date, or a tuple of str or of Line, not float; floats are refused: use Decimal or Money"
            ],
        ),
        (
            document(
                rule(when={"type": "between", "expr": FACT, "low": {"type": "const", "value": 1}})
            ),
            ["rules[0].when.high: missing; it is required"],
        ),
        (
            document(rule(when={"type": "during", "start": "2026-10-01", "end": "soon"})),
            [
                "rules[0].when.end: must be an ISO 8601 instant like '2026-10-01T00:00:00+08:00', got 'soon'"
            ],
        ),
        (
            document(
                rule(
                    when={
                        "type": "during",
                        "start": "2026-10-01T00:00:00",
                        "end": "2026-10-02T00:00:00+08:00",
                    }
                )
            ),
            [
                "rules[0].when.start: datetime.datetime(2026, 10, 1, 0, 0) is naive; give it a time zone, e.g. .replace(tzinfo=UTC)"
            ],
        ),
        (
            document(rule(when={"type": "during", "start": 5, "end": "2026-10-02T00:00:00+08:00"})),
            ["rules[0].when.start: must be a string, got 5"],
        ),
        (
            document(rule(when={"type": "on_weekdays", "days": [0, 8]})),
            ["rules[0].when.days: item=0 must be an int from 1 to 7"],
        ),
        (
            document(rule(when={"type": "on_dates", "dates": ["2026-02-30"]})),
            [
                "rules[0].when.dates[0]: must be an ISO 8601 date like '2026-10-01', got '2026-02-30'"
            ],
        ),
        (
            document(rule(when={"type": "between_hours", "start_hour": 9, "end_hour": 9})),
            [
                "rules[0].when: end_hour=9 must differ from start_hour (9); BetweenHours(0, 24) is the whole day"
            ],
        ),
        (
            document(
                rule(
                    effect={"type": "rate", "points": 1, "per": {"amount": "10", "currency": "CNY"}}
                )
            ),
            ["rules[0].effect.rounding: missing; it is required"],
        ),
        (
            document(
                rule(effect={"type": "rate", "points": 1, "per": "10 CNY", "rounding": "floor"})
            ),
            [
                "rules[0].effect.per: '10 CNY' must be money, like {'amount': '10.00', 'currency': 'CNY'}"
            ],
        ),
        (
            document(
                rule(
                    effect={
                        "type": "rate",
                        "points": 1,
                        "per": {"amount": "10", "currency": "CNY"},
                        "rounding": "floor",
                        "counts": ["vat"],
                    }
                )
            ),
            [
                "rules[0].effect.counts: item 'vat' must be one of 'goods', 'tax', 'shipping', 'paid_with_points'"
            ],
        ),
        (
            document(rule(effect={"type": "fixed", "points": 1.5})),
            ["rules[0].effect.points: 1.5 must be an int, not float"],
        ),
        (
            document(rule(effect={"type": "bonus", "points": 1})),
            ["rules[0].effect.type: must be one of 'fixed', 'rate', got 'bonus'"],
        ),
        (
            document(rule(multipliers=[{"name": "m", "factor": 1.5}])),
            ["rules[0].multipliers[0].factor: must be a fraction like '3/2', got 1.5"],
        ),
        (
            document(rule(multipliers=[{"name": "m", "factor": "-1"}])),
            ["rules[0].multipliers[0].factor: Fraction(-1, 1) must not be negative"],
        ),
        (
            document(rule(multipliers=[{"name": "m", "factor": "2", "when": {"type": "x"}}])),
            [
                "rules[0].multipliers[0].when.type: must be one of 'all', 'any', 'not', 'compare', 'in', 'between', 'during', 'on_weekdays', 'on_month_days', 'on_dates', 'between_hours', 'segment', got 'x'"
            ],
        ),
        (
            document(rule(bonuses=[{"points": 0, "when": compare()}])),
            ["rules[0].bonuses[0].points: 0 must not be zero: a bonus adds or takes points"],
        ),
        (
            document(rule(bonuses=[{"points": 1}])),
            ["rules[0].bonuses[0].when: missing; it is required"],
        ),
        (
            document(rule(streak={"rewards": [1, -1]})),
            ["rules[0].streak.rewards: rewards[1]=-1 must be an int from 0 to 9223372036854775807"],
        ),
        (
            document(rule(streak={"rewards": "1"})),
            ["rules[0].streak.rewards: must be a list, got '1'"],
        ),
        (
            document(rule(caps=[{"period": "day"}])),
            ["rules[0].caps[0]: Cap('day') needs points=, tasks= or both"],
        ),
        (
            document(rule(caps=[{"period": "day", "points": 5}, {"period": "day", "tasks": 5}])),
            [
                "rules[0].caps: caps[1].period='day' is already capped by caps[0]; give one cap per period with points=, tasks= or both"
            ],
        ),
        (document(rule(kinds="review")), ["rules[0].kinds: must be a list, got 'review'"]),
        (
            document(rule(name=" review")),
            ["rules[0].name: ' review' must be non-empty, without leading or trailing whitespace"],
        ),
        (document(rule(priority="high")), ["rules[0].priority: 'high' must be an int, not str"]),
        (
            document(rule(), caps=[{"period": "year", "points": 1}]),
            ["caps[0].period: 'year' must be one of 'day', 'week', 'month', 'lifetime'"],
        ),
        (
            document(rule(), events=[{"kind": "purchase", "fields": {}}]),
            ["events: kind='purchase' is a built-in event kind; give your kind another name"],
        ),
        (
            document(rule(), events=[{"kind": "game", "fields": {"score": {"type": "float"}}}]),
            [
                "events[0].fields.score.type: 'float' must be one of 'int', 'decimal', 'money', 'str', 'bool', 'datetime', 'date', 'strings', 'lines'"
            ],
        ),
        (
            document(rule(), events=[{"kind": "game", "fields": []}]),
            ["events[0].fields: must be an object, got []"],
        ),
        (
            document(rule(), disabled_kinds="review"),
            ["disabled_kinds: must be a list, got 'review'"],
        ),
        (
            document(rule(budget="launch"), budgets={"spring": 5}),
            [
                "rules[0].budget: 'launch' is not a budget of the rule set, whose budgets are 'spring'"
            ],
        ),
        (
            document(rule(), SHARE, dict(SHARE)),
            ["rules[2].name: 'share' is already the name of rules[1]"],
        ),
        (
            document(rule(when=compare(left={"type": "fact", "path": "event.amount"}))),
            [
                "rules[0].when.left: fact 'event.amount' is not an attribute of 'review' events, whose attributes are 'length', 'product', 'rating'"
            ],
        ),
    ],
)
def test_each_loading_problem(data: object, problems: list[str]) -> None:
    """Loading names every problem of a document with its path."""
    with pytest.raises(ConfigurationError) as caught:
        ruleset_from_dict(data)  # type: ignore[arg-type]
    assert problems == list(caught.value.problems)


def test_every_loading_problem_is_reported_at_once() -> None:
    """A document with problems in several rules reports all of them together."""
    data = document(
        rule(caps=[{"period": "day", "points": -5}], colour="red"),
        {"name": "b", "kinds": ["share"], "effect": {"type": "fixed", "points": "5"}},
        {
            "name": "c",
            "kinds": ["share"],
            "effect": {"type": "fixed", "points": 5},
            "when": {"type": "on_weekdays", "days": [9]},
        },
    )
    with pytest.raises(ConfigurationError) as caught:
        ruleset_from_dict(data)
    assert (
        "RuleSet has 4 problems:\n"
        "  - rules[0].colour: unknown field; valid fields are 'name', 'kinds', 'effect', 'when', 'bonuses', 'multipliers', 'tier_multiplier', 'currency', 'caps', 'at_cap', 'budget', 'group', 'priority', 'streak', 'enabled', 'exempt_from_caps', 'once_per', 'coupon'\n"
        "  - rules[0].caps[0].points: -5 must be an int from 1 to 9223372036854775807\n"
        "  - rules[1].effect.points: '5' must be an int, not str\n"
        "  - rules[2].when.days: item=9 must be an int from 1 to 7"
    ) == str(caught.value)


def test_deep_documents_stop_at_the_depth_limit() -> None:
    """A condition nested past CONDITION_DEPTH_MAX is refused without recursing further."""
    condition: dict[str, object] = compare()
    for _ in range(limits.CONDITION_DEPTH_MAX + 5):
        condition = {"type": "not", "condition": condition}
    with pytest.raises(ConfigurationError) as caught:
        ruleset_from_dict(document(rule(when=condition)))
    path = "rules[0].when" + ".condition" * limits.CONDITION_DEPTH_MAX
    assert [f"{path}: nests deeper than limits.CONDITION_DEPTH_MAX (16)"] == list(
        caught.value.problems
    )


def test_deep_expressions_stop_at_the_depth_limit() -> None:
    """An arithmetic expression nested past the limit is refused too."""
    expr: dict[str, object] = FACT
    for _ in range(limits.CONDITION_DEPTH_MAX + 1):
        expr = {"type": "arith", "op": "+", "left": expr, "right": FACT}
    with pytest.raises(ConfigurationError) as caught:
        condition_from_dict(compare(left=expr))
    assert caught.value.problems
    for problem in caught.value.problems:
        assert problem.endswith("nests deeper than limits.CONDITION_DEPTH_MAX (16)")


@pytest.mark.parametrize(
    ("load", "text", "problem"),
    [
        (
            ruleset_from_json,
            "{",
            "document: is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        (
            ruleset_from_toml,
            "version = ",
            "document: is not valid TOML (Invalid value (at end of document))",
        ),
        (
            ruleset_from_json,
            '{"version": 1, "zone": "UTC", "rules": [{"name": "a", "kinds": ["share"], "effect": {"type": "fixed", "points": 1.0}}]}',
            "rules[0].effect.points: 1.0 must be an int, not float",
        ),
        (
            ruleset_from_toml,
            'version = 1\nzone = "UTC"\n[[rules]]\nname = "a"\nkinds = ["share"]\neffect = { type = "fixed", points = 1.5 }\n',
            "rules[0].effect.points: 1.5 must be an int, not float",
        ),
    ],
)
def test_text_that_does_not_parse(load: object, text: str, problem: str) -> None:
    """Text that is not JSON or TOML, or holds floats, is reported as a configuration problem."""
    with pytest.raises(ConfigurationError) as caught:
        load(text)  # type: ignore[operator]
    assert [problem] == list(caught.value.problems)


def test_documents_over_the_length_limit_are_refused() -> None:
    """A document longer than RULES_DOCUMENT_LENGTH_MAX is refused before it is parsed."""
    with pytest.raises(LimitExceededError) as caught:
        ruleset_from_json(" " * (limits.RULES_DOCUMENT_LENGTH_MAX + 1))
    assert (
        "the document is 10000001 characters long, over limits.RULES_DOCUMENT_LENGTH_MAX (10000000)"
        == str(caught.value)
    )


def test_part_loaders_report_problems() -> None:
    """condition_from_dict, effect_from_dict and rule_from_dict report with their own subjects."""
    with pytest.raises(ConfigurationError) as condition:
        condition_from_dict({"type": "in", "expr": FACT})
    with pytest.raises(ConfigurationError) as effect:
        effect_from_dict({"type": "fixed"})
    with pytest.raises(ConfigurationError) as loaded_rule:
        rule_from_dict({"name": "r"})
    assert "condition has 1 problem:\n  - condition.values: missing; it is required" == str(
        condition.value
    )
    assert ("effect.points: missing; it is required",) == effect.value.problems
    assert (
        "rule.kinds: missing; it is required",
        "rule.effect: missing; it is required",
    ) == loaded_rule.value.problems


# -- the JSON Schema ------------------------------------------------------------------------------


class SchemaError(Exception):
    """A document does not match the schema."""


def validate(
    schema: dict[str, object],
    instance: object,
    root: dict[str, object] | None = None,
    path: str = "$",
) -> None:
    """Validate *instance* against the JSON Schema subset pointkit's schema uses."""
    root = root or schema
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix("#/$defs/")
        validate(root["$defs"][name], instance, root, path)  # type: ignore[index]
    check_type(schema, instance, path)
    check_value(schema, instance, path)
    if isinstance(instance, list):
        check_array(schema, instance, root, path)
    if isinstance(instance, dict):
        check_object(schema, instance, root, path)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            matches = 0
            for option in schema[key]:  # type: ignore[attr-defined]
                try:
                    validate(option, instance, root, path)
                except SchemaError:
                    continue
                matches += 1
            if matches == 0 or (key == "oneOf" and matches > 1):
                raise SchemaError(f"{path}: {matches} of the {key} options match")


TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
}


def check_type(schema: dict[str, object], instance: object, path: str) -> None:
    """The ``type`` keyword (a bool is not an integer)."""
    kind = schema.get("type")
    if kind is None:
        return
    wrong_bool = kind == "integer" and isinstance(instance, bool)
    if wrong_bool or not isinstance(instance, TYPES[str(kind)]):
        raise SchemaError(f"{path}: {instance!r} is not of type {kind}")


def check_value(schema: dict[str, object], instance: object, path: str) -> None:
    """The ``const``, ``enum``, ``pattern``, bounds and string length keywords."""
    if "const" in schema and instance != schema["const"]:
        raise SchemaError(f"{path}: {instance!r} is not {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:  # type: ignore[operator]
        raise SchemaError(f"{path}: {instance!r} is not one of {schema['enum']!r}")
    if "pattern" in schema and not re.search(str(schema["pattern"]), str(instance)):
        raise SchemaError(f"{path}: {instance!r} does not match {schema['pattern']}")
    if "minimum" in schema and instance < schema["minimum"]:  # type: ignore[operator]
        raise SchemaError(f"{path}: {instance!r} is below {schema['minimum']}")
    if "maximum" in schema and instance > schema["maximum"]:  # type: ignore[operator]
        raise SchemaError(f"{path}: {instance!r} is above {schema['maximum']}")
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10**9)
    if isinstance(instance, str) and not low <= len(instance) <= high:  # type: ignore[operator]
        raise SchemaError(f"{path}: {instance!r} has the wrong length")


def check_array(
    schema: dict[str, object], instance: list[object], root: dict[str, object], path: str
) -> None:
    """The array keywords: size, unique items and ``items``."""
    low, high = schema.get("minItems", 0), schema.get("maxItems", 10**9)
    if not low <= len(instance) <= high:  # type: ignore[operator]
        raise SchemaError(f"{path}: {len(instance)} items")
    unique = {json.dumps(item, sort_keys=True) for item in instance}
    if schema.get("uniqueItems") and len(unique) != len(instance):
        raise SchemaError(f"{path}: items repeat")
    for index, item in enumerate(instance):
        if "items" in schema:
            validate(schema["items"], item, root, f"{path}[{index}]")  # type: ignore[arg-type]


def check_object(
    schema: dict[str, object], instance: dict[str, object], root: dict[str, object], path: str
) -> None:
    """The object keywords: required and known properties, their schemas, their number."""
    missing = [key for key in schema.get("required", []) if key not in instance]  # type: ignore[attr-defined]
    if missing:
        raise SchemaError(f"{path}: {missing[0]!r} is required")
    if len(instance) > schema.get("maxProperties", 10**9):  # type: ignore[operator]
        raise SchemaError(f"{path}: too many properties")
    properties: dict[str, object] = schema.get("properties", {})  # type: ignore[assignment]
    extra = schema.get("additionalProperties", True)
    for key, value in instance.items():
        if key in properties:
            validate(properties[key], value, root, f"{path}.{key}")  # type: ignore[arg-type]
        elif extra is False:
            raise SchemaError(f"{path}: unknown property {key!r}")
        elif isinstance(extra, dict):
            validate(extra, value, root, f"{path}.{key}")


def test_schema_is_draft_2020_12() -> None:
    """The schema names its draft and describes the top-level fields."""
    schema = rules_json_schema()
    assert "https://json-schema.org/draft/2020-12/schema" == schema["$schema"]
    assert ["version", "zone", "rules"] == schema["required"]
    assert json.loads(json.dumps(schema)) == schema


def test_schema_accepts_what_the_writer_writes() -> None:
    """The rich rule set's document, and its JSON read back, match the schema."""
    validate(rules_json_schema(), ruleset_to_dict(rich()))
    validate(rules_json_schema(), json.loads(ruleset_to_json(rich())))


@heavy()
@given(programs())
def test_schema_accepts_every_generated_document(rules: RuleSet) -> None:
    """Any valid rule set's document matches the schema."""
    validate(rules_json_schema(), ruleset_to_dict(rules))


@pytest.mark.parametrize(
    "data",
    [
        document(rule(colour="red")),
        document(rule(caps=[{"period": "day"}])),
        document(rule(effect={"type": "fixed", "points": "5"})),
        document(rule(when={"type": "compare", "left": FACT, "op": "=", "right": FACT})),
        document(rule(multipliers=[{"name": "m", "factor": "-1"}])),
        {"version": 2, "zone": "UTC", "rules": []},
        {"zone": "UTC", "rules": []},
    ],
)
def test_schema_rejects_bad_documents(data: dict[str, object]) -> None:
    """The schema rejects unknown fields, missing ones, wrong types and bad values."""
    with pytest.raises(SchemaError):
        validate(rules_json_schema(), data)
    with pytest.raises(ConfigurationError):
        ruleset_from_dict(data)


FACT_X: dict[str, object] = {"type": "fact", "path": "event.length"}


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        pytest.param(
            document(rule(multipliers=[{"name": "m", "factor": "1/0"}])),
            ["rules[0].multipliers[0].factor: must be a fraction like '3/2', got '1/0'"],
            id="zero denominator",
        ),
        pytest.param(
            document(rule(when=compare(left={"type": "fact"}))),
            ["rules[0].when.left.path: missing; it is required"],
            id="fact without path",
        ),
        pytest.param(
            document(rule(when=compare(right={"type": "const"}))),
            ["rules[0].when.right.value: missing; it is required"],
            id="const without value",
        ),
        pytest.param(
            document(rule(when=compare(left={"type": "arith", "op": "+", "left": FACT_X}))),
            ["rules[0].when.left.right: missing; it is required"],
            id="arith without right",
        ),
        pytest.param(
            document(
                rule(
                    when=compare(
                        left={"type": "arith", "op": "+", "left": {"type": "x"}, "right": FACT_X}
                    )
                )
            ),
            ["rules[0].when.left.left.type: must be one of 'fact', 'const', 'arith', got 'x'"],
            id="arith bad left",
        ),
        pytest.param(
            document(rule(when={"type": "compare", "left": FACT_X, "op": ">"})),
            ["rules[0].when.right: missing; it is required"],
            id="compare without right",
        ),
        pytest.param(
            document(rule(when=compare(left=5))),
            ["rules[0].when.left: must be an object, got 5"],
            id="compare bad left",
        ),
        pytest.param(
            document(rule(when={"type": "in", "expr": {"type": "fact"}, "values": [1]})),
            ["rules[0].when.expr.path: missing; it is required"],
            id="in bad expr",
        ),
        pytest.param(
            document(rule(when={"type": "in", "expr": FACT_X, "values": 1})),
            ["rules[0].when.values: must be a list, got 1"],
            id="in values not list",
        ),
        pytest.param(
            document(rule(when={"type": "in", "expr": FACT_X})),
            ["rules[0].when.values: missing; it is required"],
            id="in without values",
        ),
        pytest.param(
            document(
                rule(
                    when={
                        "type": "between",
                        "expr": FACT_X,
                        "low": {"type": "const", "value": 1},
                        "high": {"type": "q"},
                    }
                )
            ),
            ["rules[0].when.high.type: must be one of 'fact', 'const', 'arith', got 'q'"],
            id="between bad part",
        ),
        pytest.param(
            document(rule(when={"type": "during", "start": "2026-10-01T00:00:00+00:00"})),
            ["rules[0].when.end: missing; it is required"],
            id="during without end",
        ),
        pytest.param(
            document(rule(when={"type": "on_weekdays"})),
            ["rules[0].when.days: missing; it is required"],
            id="weekdays without days",
        ),
        pytest.param(
            document(rule(when={"type": "on_weekdays", "days": 5})),
            ["rules[0].when.days: must be a list, got 5"],
            id="weekdays days not list",
        ),
        pytest.param(
            document(rule(when={"type": "on_dates", "dates": "2026-10-01"})),
            ["rules[0].when.dates: must be a list, got '2026-10-01'"],
            id="dates not list",
        ),
        pytest.param(
            document(rule(when={"type": "on_dates"})),
            ["rules[0].when.dates: missing; it is required"],
            id="dates without dates",
        ),
        pytest.param(
            document(rule(when={"type": "on_dates", "dates": [20261001]})),
            ["rules[0].when.dates[0]: must be a string, got 20261001"],
            id="dates item not text",
        ),
        pytest.param(
            document(rule(when={"type": "between_hours", "start_hour": 1})),
            ["rules[0].when.end_hour: missing; it is required"],
            id="hours without end",
        ),
        pytest.param(
            document(rule(effect={"type": "rate", "points": 1, "rounding": "floor"})),
            ["rules[0].effect.per: missing; it is required"],
            id="rate without per",
        ),
        pytest.param(
            document(
                rule(
                    effect={
                        "type": "rate",
                        "points": 1,
                        "per": {"amount": "1", "currency": "CNY"},
                        "rounding": "floor",
                        "counts": "goods",
                    }
                )
            ),
            ["rules[0].effect.counts: must be a list, got 'goods'"],
            id="rate counts not list",
        ),
        pytest.param(
            document(rule(effect="fixed")),
            ["rules[0].effect: must be an object, got 'fixed'"],
            id="effect not object",
        ),
        pytest.param(
            document(rule(caps={"period": "day"})),
            ["rules[0].caps: must be a list, got {'period': 'day'}"],
            id="caps not list",
        ),
        pytest.param(
            document(rule(caps=["day"])),
            ["rules[0].caps[0]: must be an object, got 'day'"],
            id="cap not object",
        ),
        pytest.param(
            document(rule(caps=[{"points": 5}])),
            ["rules[0].caps[0].period: missing; it is required"],
            id="cap without period",
        ),
        pytest.param(
            document(rule(bonuses=[5])),
            ["rules[0].bonuses[0]: must be an object, got 5"],
            id="bonus not object",
        ),
        pytest.param(
            document(rule(bonuses=[{"points": 5, "when": {"type": "x"}}])),
            [
                "rules[0].bonuses[0].when.type: must be one of 'all', 'any', 'not', 'compare', 'in', 'between', 'during', 'on_weekdays', 'on_month_days', 'on_dates', 'between_hours', 'segment', got 'x'"
            ],
            id="bonus bad when",
        ),
        pytest.param(
            document(rule(bonuses=5)),
            ["rules[0].bonuses: must be a list, got 5"],
            id="bonuses not list",
        ),
        pytest.param(
            document(rule(multipliers=[{"name": "m"}])),
            ["rules[0].multipliers[0].factor: missing; it is required"],
            id="multiplier without factor",
        ),
        pytest.param(
            document(rule(streak=[1, 2])),
            ["rules[0].streak: must be an object, got [1, 2]"],
            id="streak not object",
        ),
        pytest.param(
            document(rule(streak={})),
            ["rules[0].streak.rewards: missing; it is required"],
            id="streak without rewards",
        ),
        pytest.param(
            {"version": 1, "zone": "UTC", "rules": {}},
            ["rules: must be a list, got {}"],
            id="rules not list",
        ),
        pytest.param(
            document("rule"),  # type: ignore[arg-type]
            ["rules[0]: must be an object, got 'rule'"],
            id="rule not object",
        ),
        pytest.param(
            document(rule(), events=["game"]),
            ["events[0]: must be an object, got 'game'"],
            id="event not object",
        ),
        pytest.param(
            document(rule(), events=[{"kind": "game"}]),
            ["events[0].fields: missing; it is required"],
            id="event without fields",
        ),
        pytest.param(
            document(rule(), events=[{"kind": "game", "fields": {"score": "int"}}]),
            ["events[0].fields.score: must be an object, got 'int'"],
            id="event field not object",
        ),
        pytest.param(
            document(rule(), events=[{"kind": "Game", "fields": {}}]),
            [
                "events[0].kind: 'Game' must be lower-case letters, digits and underscores, starting with a letter"
            ],
            id="bad kind name",
        ),
        pytest.param(
            document(rule(), caps="day"), ["caps: must be a list, got 'day'"], id="caps list bad"
        ),
        pytest.param(
            document(rule(), zone=5),
            ["zone: 5 must be an IANA time zone name or a ZoneInfo, not int"],
            id="zone bad",
        ),
    ],
)
def test_each_shape_problem(data: object, problems: list[str]) -> None:
    """Every shape a node, effect, rule or document can get wrong is reported with its path."""
    with pytest.raises(ConfigurationError) as caught:
        ruleset_from_dict(data)  # type: ignore[arg-type]
    assert problems == list(caught.value.problems)


def test_factors_may_be_ints_or_decimal_strings() -> None:
    """A multiplier's factor may be written as an int or a decimal string as well as a fraction."""
    for written in (2, "2", "2.0", "4/2"):
        loaded = ruleset_from_dict(document(rule(multipliers=[{"name": "m", "factor": written}])))
        assert Fraction(2) == loaded.rules[0].multipliers[0].factor


def test_text_loaders_take_text_only() -> None:
    """ruleset_from_json refuses anything but text."""
    from pointkit.exceptions import InvalidArgumentError  # noqa: PLC0415 - one test needs it

    with pytest.raises(InvalidArgumentError) as caught:
        ruleset_from_json(5)  # type: ignore[arg-type]
    assert "text must be a str, not int" == str(caught.value)
