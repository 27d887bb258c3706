"""Earning controls: rounding stage, named and tier caps, exemptions and once-per limits.

The golden lines live in pointkit/testing/_golden.py (``CONTROLS_GOLDEN``) and run through
``Earning`` on every storage adapter; the properties run the pure evaluator.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import Money, Rounding
from pointkit.exceptions import ArgumentTypeError, ConfigurationError, InvalidArgumentError
from pointkit.program import config_from_toml
from pointkit.rules import (
    Cap,
    Event,
    EventRegistry,
    EventSchema,
    FieldSpec,
    Fixed,
    MemberContext,
    Multiplier,
    OncePer,
    Rate,
    Rule,
    RuleSet,
    RuleState,
    Status,
    rules_json_schema,
    ruleset_from_dict,
    ruleset_from_json,
    ruleset_from_toml,
    ruleset_to_dict,
    ruleset_to_json,
    ruleset_to_toml,
)
from pointkit.testing._golden import CONTROL_CASES, GoldenCase, controls_rules, run_control_case


if TYPE_CHECKING:
    from pointkit.ledger import Storage
    from pointkit.rules import RoundingStage


AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
VIP = MemberContext(tier="vip", earn_multiplier=2)
_MODES: tuple[Rounding, ...] = ("floor", "ceiling", "half_up", "half_even")


@pytest.mark.parametrize("case", CONTROL_CASES, ids=str)
def test_controls_golden(case: GoldenCase, any_storage: Storage) -> None:
    """Each controls golden line ends as it states, recorded through Earning on each adapter."""
    run_control_case(any_storage, case)


def _spend(
    stage: RoundingStage, factor: Fraction = Fraction(2), rounding: Rounding = "floor"
) -> RuleSet:
    return RuleSet(
        [
            Rule(
                "spend",
                ("purchase",),
                Rate(1, per=Money(10, "CNY"), rounding=rounding),
                multipliers=(Multiplier("campaign", factor),),
                tier_multiplier=False,
            )
        ],
        zone="Asia/Shanghai",
        rounding_stage=stage,
    )


def _purchase(amount: str, event_id: str = "o1", member: str = "alice") -> Event:
    return Event.purchase(event_id, member, AT, amount=Money(amount, "CNY"), order_id=event_id)


def test_base_rounding_trail() -> None:
    """With rounding_stage="base", 88 yuan at 1 per 10 doubled is 8 then 16, trail included."""
    decision = _spend("base").evaluate(_purchase("88"), RuleState(MemberContext()), AT)
    trail = [(step.label, str(step.result)) for step in decision.explanation("spend").trail]
    assert [("base", "44/5"), ("rounding base (floor)", "8"), ("x campaign", "16")] == trail


def test_end_rounding_is_the_default() -> None:
    """Without rounding_stage, a rule set rounds once at the end (17), as before."""
    rules = RuleSet(_spend("end").rules, zone="Asia/Shanghai")
    assert "end" == rules.rounding_stage
    assert 17 == rules.evaluate(_purchase("88"), RuleState(MemberContext()), AT).total()


def test_base_rounding_rounds_again_after_a_fractional_multiplier() -> None:
    """A x3/2 multiplier after base rounding leaves a fraction, rounded once more at the end."""
    decision = _spend("base", Fraction(3, 2)).evaluate(
        _purchase("98"), RuleState(MemberContext()), AT
    )
    labels = [step.label for step in decision.explanation("spend").trail]
    assert ["base", "rounding base (floor)", "x campaign", "rounding (floor)"] == labels
    assert 13 == decision.total()


@given(
    cents=st.integers(min_value=0, max_value=10_000_000),
    factor=st.fractions(min_value=0, max_value=10, max_denominator=8),
    rounding=st.sampled_from(_MODES),
)
def test_base_rounding_never_exceeds_end_rounding_by_more_than_the_multiplier(
    cents: int, factor: Fraction, rounding: Rounding
) -> None:
    """Base rounding then multiplying differs from end rounding by at most the multiplier."""
    event = _purchase(f"{cents // 100}.{cents % 100:02d}")
    state = RuleState(MemberContext())
    base = _spend("base", factor, rounding).evaluate(event, state, AT).total()
    end = _spend("end", factor, rounding).evaluate(event, state, AT).total()
    assert abs(base - end) <= math.ceil(factor)
    if rounding == "floor":
        assert base <= end


def test_named_cap_counts_only_its_rules() -> None:
    """A named cap over share and review leaves purchases alone and keeps its own counter."""
    rules = controls_rules()
    state = RuleState(MemberContext(tier="normal"))
    for index, event in enumerate(
        [
            Event.share("s1", "alice", AT, channel="wechat"),
            Event.review("r1", "alice", AT, length=3, rating=5),
            Event.share("s2", "alice", AT, channel="wechat"),
        ]
    ):
        decision = rules.evaluate(event, state, AT)
        state = state.apply(decision)
        expected = Status.CAPPED if index == 2 else Status.AWARDED
        assert expected == decision.explanations[0].status
    assert 2 == state.counter(("cap:tasks", "day:2026-03-02")).tasks
    assert 10 == rules.evaluate(_purchase("100"), state, AT).total()


def test_exempt_rule_is_not_counted() -> None:
    """A rule exempt from the program caps adds nothing to their counters."""
    decision = controls_rules().evaluate(_purchase("100"), RuleState(MemberContext()), AT)
    assert () == decision.counters


@given(
    tiers=st.lists(st.sampled_from(["normal", "vip", "gold"]), min_size=1, max_size=30),
    awards=st.lists(st.integers(min_value=1, max_value=90), min_size=1, max_size=30),
)
def test_tier_cap_never_lets_a_member_past_their_current_limit(
    tiers: list[str], awards: list[int]
) -> None:
    """Over one shared counter, after each award the day's points are within the tier's limit."""
    limits = {"normal": 100, "vip": 200}
    rules = RuleSet(
        [Rule("give", ("top_up",), Rate(1, per=Money(1, "CNY"), rounding="floor"))],
        zone="UTC",
        caps=(Cap("day", points=limits),),
        registry=_review_with_amount(),
    )
    state = RuleState(MemberContext())
    for index, (tier, points) in enumerate(zip(tiers, awards, strict=False)):
        state = RuleState(MemberContext(tier=tier), state.counters)
        event = Event(f"e{index}", "top_up", "alice", AT, {"amount": Money(points, "CNY")})
        before = state.counter(("program", "day:2026-03-02")).points
        decision = rules.evaluate(event, state, AT)
        state = state.apply(decision)
        after = state.counter(("program", "day:2026-03-02")).points
        limit = limits.get(tier, min(limits.values()))
        assert after <= max(limit, before)
        if decision.total() > 0:
            assert after <= limit


def _review_with_amount() -> EventRegistry:
    return EventRegistry.default().register(EventSchema("top_up", {"amount": FieldSpec("money")}))


@given(
    invitees=st.lists(st.sampled_from(["bob", "carol", "dan"]), min_size=1, max_size=12),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_once_per_awards_at_most_once_per_value(invitees: list[str], seed: int) -> None:
    """Whatever the order and ids of events, once_per awards each value once per member."""
    rules = controls_rules()
    shuffled = list(invitees)
    random.Random(seed).shuffle(shuffled)  # noqa: S311 - a seeded order, not a secret
    state = RuleState(MemberContext())
    awarded: list[str] = []
    for index, invitee in enumerate(shuffled):
        at = AT + timedelta(days=index)
        event = Event.invitee_registered(f"id-{seed}-{index}", "alice", at, invitee=invitee)
        decision = rules.evaluate(event, state, at)
        state = state.apply(decision)
        if decision.total() > 0:
            awarded.append(invitee)
        else:
            assert ("once_per_value",) == tuple(map(str, decision.explanations[0].reasons))
    assert sorted(set(shuffled)) == sorted(awarded)


def test_once_per_missing_value_is_an_error() -> None:
    """A once_per attribute the event lacks is a missing fact, not a free award."""
    rules = RuleSet(
        [Rule("share", ("share",), Fixed(5), once_per="channel")],
        zone="UTC",
    )
    registry_event = Event("s1", "share", "alice", AT, {})
    decision = rules.evaluate(registry_event, RuleState(MemberContext()), AT)
    assert Status.ERROR == decision.explanations[0].status


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: Cap("day", points={}),
            InvalidArgumentError,
            "points={} must name at least one tier",
        ),
        (
            lambda: Cap("day", tasks=2, rules=("share",)),
            InvalidArgumentError,
            "Cap('day', rules=('share',)) needs a name=: a cap over named rules keeps its own counter",
        ),
        (
            lambda: Cap("day", tasks=2, name="week"),
            InvalidArgumentError,
            (
                "name='week' is a period's name, which names the unnamed cap of that period; "
                "choose another name"
            ),
        ),
        (
            lambda: Rule("share", ("share",), Fixed(5), exempt_from_caps="day"),
            ArgumentTypeError,
            "exempt_from_caps='day' must be a bool or a tuple of cap names, not str",
        ),
        (
            lambda: OncePer("invitee", scope="all"),  # type: ignore[arg-type]  # the error
            InvalidArgumentError,
            "scope='all' must be 'member' or 'program'",
        ),
        (
            lambda: Rule("share", ("share",), Fixed(5), caps=(Cap("day", tasks=1, name="t"),)),
            InvalidArgumentError,
            (
                "caps[0].name='t': a rule's caps count the rule alone and are not named; "
                "name caps of the rule set"
            ),
        ),
    ],
)
def test_each_control_part_error(make: object, error: type[Exception], message: str) -> None:
    """Each bad control names its field, its value and what is valid."""
    with pytest.raises(error) as raised:
        make()  # type: ignore[operator]  # a lambda
    assert message == str(raised.value)


def test_every_control_problem_is_reported_at_once() -> None:
    """A document with several control problems lists them all, each with its path."""
    with pytest.raises(ConfigurationError) as raised:
        ruleset_from_dict(
            {
                "version": 1,
                "zone": "UTC",
                "rounding_stage": "start",
                "caps": [{"period": "day", "tasks": 5, "name": "t", "rules": ["nope"]}],
                "rules": [
                    {
                        "name": "a",
                        "kinds": ["share"],
                        "effect": {"type": "fixed", "points": 5},
                        "once_per": "invitee",
                        "exempt_from_caps": ["week"],
                    }
                ],
            }
        )
    assert [
        "rounding_stage: 'start' must be 'base' or 'end'",
        (
            "rules[0].exempt_from_caps[0]: 'week' is not a cap of the rule set, whose caps are "
            "'t' (an unnamed cap's name is its period)"
        ),
        (
            "rules[0].once_per.attribute: 'invitee' is not an attribute of 'share' events, whose "
            "attributes are 'channel'"
        ),
        "caps[0].rules[0]: 'nope' is not a rule of the rule set, whose rules are 'a'",
    ] == list(raised.value.problems)


def test_controls_round_trip() -> None:
    """A rule set with every control round-trips through dicts, JSON and TOML."""
    rules = controls_rules()
    assert rules == ruleset_from_dict(ruleset_to_dict(rules))
    assert rules == ruleset_from_json(ruleset_to_json(rules))
    assert rules == ruleset_from_toml(ruleset_to_toml(rules))


def test_documents_without_controls_are_unchanged() -> None:
    """A rule set with no controls writes no control field, so old documents read the same."""
    data = ruleset_to_dict(RuleSet([Rule("share", ("share",), Fixed(5))], zone="UTC"))
    assert "rounding_stage" not in data
    assert {"exempt_from_caps", "once_per"}.isdisjoint(data["rules"][0])  # type: ignore[index]


def test_controls_in_the_json_schema() -> None:
    """The rules' JSON Schema declares every control field."""
    schema = rules_json_schema()
    defs = schema["$defs"]
    assert {"base", "end"} == set(schema["properties"]["rounding_stage"]["enum"])  # type: ignore[index]
    assert {"exempt_from_caps", "once_per"} <= set(defs["rule"]["properties"])  # type: ignore[index]
    assert {"name", "rules"} <= set(defs["cap"]["properties"])  # type: ignore[index]


def test_once_per_short_form_reads_as_per_member() -> None:
    """once_per = "invitee" in a document is once per invitee for each member."""
    rules = ruleset_from_dict(
        {
            "version": 1,
            "zone": "UTC",
            "rules": [
                {
                    "name": "invite",
                    "kinds": ["invitee_registered"],
                    "effect": {"type": "fixed", "points": 50},
                    "once_per": "invitee",
                }
            ],
        }
    )
    assert OncePer("invitee", scope="member") == rules.rule("invite").once_per


def test_controls_from_program_config() -> None:
    """A program config's [earning] table carries every control, as a rule file does."""
    config = config_from_toml(
        """
[program]
id = "mall"
zone = "Asia/Shanghai"

[earning]
rounding_stage = "base"
caps = [
    { period = "day", points = { normal = 100, vip = 200 } },
    { name = "tasks", rules = ["share", "review"], period = "day", tasks = 15 },
]

[[earning.rules]]
name = "share"
kinds = ["share"]
effect = { type = "fixed", points = 5 }

[[earning.rules]]
name = "review"
kinds = ["review"]
effect = { type = "fixed", points = 5 }

[[earning.rules]]
name = "invite"
kinds = ["invitee_registered"]
effect = { type = "fixed", points = 50 }
once_per = "invitee"
exempt_from_caps = ["day"]
"""
    )
    rules = config.rules
    assert rules is not None
    assert "base" == rules.rounding_stage
    assert ("share", "review") == rules.caps[1].rules
    assert OncePer("invitee") == rules.rule("invite").once_per
    assert ("day",) == rules.rule("invite").exempt_from_caps
