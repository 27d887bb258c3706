"""The lean evaluator decides as the passes do, and the local-day cache gives the local date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointkit import Money
from pointkit._values import ROUNDING_MODES
from pointkit.exceptions import InvalidArgumentError
from pointkit.rules import (
    All,
    Any,
    Between,
    BetweenHours,
    Bonus,
    Cap,
    Compare,
    Condition,
    Const,
    Decision,
    Event,
    EventRegistry,
    EventSchema,
    Fact,
    FieldSpec,
    Fixed,
    In,
    MemberContext,
    Multiplier,
    Not,
    OnWeekdays,
    Rate,
    Rule,
    RuleSet,
    RuleState,
    period_key,
)
from pointkit.rules._evaluate import evaluate_plan
from pointkit.rules._facts import Facts, local_time


if TYPE_CHECKING:
    from collections.abc import Sequence


CNY = "CNY"
START = datetime(2026, 3, 6, tzinfo=UTC)  # sequences cross the New York and Berlin DST changes
ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]
REGISTRY = EventRegistry.default().register(
    EventSchema(
        "order",
        {
            "amount": FieldSpec("money"),
            "category": FieldSpec("str"),
            "gift": FieldSpec("bool"),
            "level": FieldSpec("int", required=False),
            "tax": FieldSpec("money", required=False),
        },
    )
)

# -- strategies -----------------------------------------------------------------------------------

money = st.integers(0, 300_000).map(lambda cents: Money.from_minor_units(cents, CNY))
ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
equalities = st.sampled_from(["==", "!="])
missing = st.sampled_from(["fail", "pass", "error"])
factors = st.fractions(min_value=0, max_value=3, max_denominator=4)
leaves: st.SearchStrategy[Condition] = st.one_of(
    # Written out by the lean evaluator: an event attribute against a constant.
    st.builds(
        lambda op, value, on: Compare(Fact("event.category"), op, Const(value), on_missing=on),
        equalities,
        st.sampled_from(["books", "toys", "food"]),
        missing,
    ),
    st.builds(
        lambda op, value, on: Compare(Fact("event.level"), op, Const(value), on_missing=on),
        ops,
        st.integers(0, 5),
        missing,
    ),
    st.builds(lambda op: Compare(Fact("event.gift"), op, Const(value=True)), equalities),
    st.builds(lambda op, value: Compare(Fact("event.amount"), op, Const(value)), ops, money),
    st.builds(
        lambda op, value, on: Compare(Fact("event.tax"), op, Const(value), on_missing=on),
        ops,
        money,
        missing,
    ),
    # Called as compiled: other nodes and facts.
    st.just(In(Fact("member.tier"), ["gold"])),
    st.builds(
        lambda low, width: Between(Fact("event.amount"), low, low + Money(width, CNY)),
        money,
        st.integers(1, 900),
    ),
    st.sets(st.integers(1, 7), min_size=1).map(OnWeekdays),
    st.tuples(st.integers(0, 23), st.integers(1, 24))
    .filter(lambda pair: pair[0] != pair[1])
    .map(lambda pair: BetweenHours(*pair)),
)
conditions: st.SearchStrategy[Condition] = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(All),
        st.lists(children, min_size=1, max_size=3).map(Any),
        children.map(Not),
    ),
    max_leaves=5,
)
effects = st.one_of(
    st.builds(Fixed, st.integers(-20, 60).filter(bool)),
    st.builds(
        lambda points, per, rounding, counts: Rate(
            points, per=Money(per, CNY), rounding=rounding, counts=counts
        ),
        st.integers(1, 5),
        st.sampled_from([1, 3, 10, 7]),
        st.sampled_from(ROUNDING_MODES),
        st.sampled_from([("goods",), ("goods", "tax")]),
    ),
)
limits = st.one_of(
    st.tuples(st.integers(60, 300), st.none()),
    st.tuples(st.none(), st.integers(1, 4)),
    st.tuples(st.integers(60, 300), st.integers(1, 4)),
)
caps = st.sets(st.sampled_from(["day", "week", "month", "lifetime"]), max_size=2).flatmap(
    lambda periods: st.tuples(
        *(
            st.builds(
                lambda pair, period=period: Cap(period, points=pair[0], tasks=pair[1]), limits
            )
            for period in sorted(periods)
        )
    )
)
program_caps = st.sets(st.sampled_from(["day", "month"]), max_size=2).flatmap(
    lambda periods: st.tuples(
        *(
            st.builds(
                lambda pair, name, period=period: Cap(
                    period, points=pair[0], tasks=pair[1], name=name
                ),
                limits,
                st.none() | st.just(f"{period}_cap"),
            )
            for period in sorted(periods)
        )
    )
)
rules = st.builds(
    lambda effect, when, bonuses, multipliers, **options: Rule(
        "rule",
        ("order",),
        effect,
        when,
        bonuses=[Bonus(points, on, multiplied=multiplied) for points, on, multiplied in bonuses],
        multipliers=[Multiplier(f"m{i}", f, on) for i, (f, on) in enumerate(multipliers)],
        **options,
    ),
    effects,
    st.none() | conditions,
    st.lists(st.tuples(st.integers(-5, 15).filter(bool), conditions, st.booleans()), max_size=2),
    st.lists(st.tuples(factors, st.none() | conditions), max_size=2),
    tier_multiplier=st.booleans(),
    caps=caps,
    at_cap=st.sampled_from(["partial", "nothing"]),
    priority=st.integers(-1, 1),
    enabled=st.sampled_from([True, True, True, False]),
    group=st.none() | st.just("stacked"),
)


@st.composite
def programs(draw: st.DrawFn) -> RuleSet:
    """A rule set of up to five rules on the "order" kind, mostly of the lean shape."""
    drawn = draw(st.lists(rules, min_size=1, max_size=5))
    return RuleSet(
        [attrs.evolve(rule, name=f"rule{index}") for index, rule in enumerate(drawn)],
        zone=draw(st.sampled_from(ZONES)),
        registry=REGISTRY,
        multipliers=draw(st.sampled_from(["multiply", "add", "max"])),
        groups={"stacked": "stack"},
        caps=draw(program_caps),
    )


@st.composite
def orders(draw: st.DrawFn) -> list[Event]:
    """Orders over three weeks, in time order, some with tax and some a currency apart."""
    offsets = sorted(draw(st.lists(st.integers(0, 21 * 24 * 60), min_size=1, max_size=12)))
    made = []
    for index, offset in enumerate(offsets):
        amount = draw(money)
        attributes: dict[str, object] = {
            "amount": amount if draw(st.integers(0, 9)) else Money(amount.amount, "USD"),
            "category": draw(st.sampled_from(["books", "toys", "food"])),
            "gift": draw(st.booleans()),
        }
        if draw(st.integers(0, 3)):
            attributes["level"] = draw(st.integers(0, 5))
        if draw(st.booleans()):
            attributes["tax"] = Money.from_minor_units(amount.minor_units // 10, CNY)
        at = START + timedelta(minutes=offset)
        made.append(Event(f"o-{index}", "order", "alice", at, attributes))
    return made


members = st.builds(
    MemberContext,
    tier=st.none() | st.sampled_from(["gold", "silver"]),
    earn_multiplier=factors,
)


def general(rules: RuleSet, event: Event, state: RuleState) -> Decision:
    """The decision of the three passes, whatever evaluator the kind has."""
    rules.registry.validate(event)
    plan = rules._index[event.kind]
    facts = Facts(event, state.member, rules.zone, rules.feb29)
    return evaluate_plan(plan, event, state, facts)


def assert_same(lean: Decision, full: Decision) -> None:
    """Equal decisions, explanations (traces and trails read) and JSON."""
    assert full == lean
    assert full.to_json() == lean.to_json()
    assert full.explanations == lean.explanations
    for expected, actual in zip(full.explanations, lean.explanations, strict=True):
        assert expected.conditions == actual.conditions
        assert expected.trail == actual.trail


# -- the lean evaluator ---------------------------------------------------------------------------


@settings(max_examples=max(25, settings().max_examples // 4))
@given(programs(), orders(), members)
def test_lean_and_general_evaluators_agree(
    rules: RuleSet, sequence: Sequence[Event], member: MemberContext
) -> None:
    """Evaluated in order on a growing state, both evaluators give the same decisions."""
    state = RuleState(member)
    for event in sequence:
        lean = rules.evaluate(event, state, event.at)
        assert_same(lean, general(rules, event, state))
        state = state.apply(lean)


def test_the_strategies_reach_the_lean_evaluator() -> None:
    """The property above is not vacuous: simple rule sets get a lean evaluator."""
    spend = Rule(
        "spend",
        ("order",),
        Rate(1, per=Money(10, CNY), rounding="floor"),
        Compare(Fact("event.level"), ">=", Const(1)),
        multipliers=(Multiplier("gift", 2, Compare(Fact("event.gift"), "==", Const(value=True))),),
        bonuses=(Bonus(5, All((Compare(Fact("event.category"), "==", Const("books")),))),),
        caps=(Cap("day", points=30, tasks=2),),
        tier_multiplier=True,
    )
    rules = RuleSet([spend], zone="Asia/Shanghai", registry=REGISTRY, caps=(Cap("day", points=40),))
    assert rules._index["order"].lean is not None
    grouped = RuleSet(
        [attrs.evolve(spend, group="g"), attrs.evolve(spend, name="other", group="g")],
        zone="UTC",
        registry=REGISTRY,
        groups={"g": "first"},
    )
    assert grouped._index["order"].lean is None


@pytest.mark.parametrize(
    "attributes",
    [
        {"amount": Money(5, CNY), "category": "books", "level": 2},
        {"amount": Money(5, CNY), "category": "books", "gift": True, "level": "2"},
        {"amount": Money(5, CNY), "category": "books", "gift": 1, "level": 2},
        {"amount": Money(5, CNY), "category": "books", "gift": True, "level": 2, "tip": 1},
    ],
)
def test_the_lean_evaluator_refuses_what_validate_refuses(attributes: dict[str, object]) -> None:
    """An event that breaks its schema gets validate's own error from the lean evaluator."""
    spend = Rule("spend", ("order",), Fixed(1))
    rules = RuleSet([spend], zone="UTC", registry=REGISTRY)
    assert rules._index["order"].lean is not None
    event = Event("o-1", "order", "alice", START, attributes)
    with pytest.raises(InvalidArgumentError) as expected:
        REGISTRY.validate(event)
    with pytest.raises(InvalidArgumentError) as actual:
        rules.evaluate(event, RuleState(MemberContext()), START)
    assert str(expected.value) == str(actual.value)


def test_an_event_with_optional_attributes_is_checked_in_full_and_evaluated() -> None:
    """An optional attribute takes the full check, then the lean evaluator decides."""
    spend = Rule("spend", ("order",), Rate(1, per=Money(10, CNY), rounding="floor"))
    rules = RuleSet([spend], zone="UTC", registry=REGISTRY)
    attributes = {"amount": Money(99, CNY), "category": "books", "gift": True, "level": 2}
    taxed = Event("o-2", "order", "alice", START, {**attributes, "tax": Money(9, CNY)})
    state = RuleState(MemberContext())
    decision = rules.evaluate(taxed, state, START)
    assert 9 == decision.total()  # (99 - 9) / 10
    assert_same(decision, general(rules, taxed, state))


# -- the local-day cache --------------------------------------------------------------------------


@given(
    st.sampled_from(ZONES),
    st.lists(st.integers(-3 * 24 * 3600, 400 * 24 * 3600), min_size=1, max_size=30),
)
def test_local_dates_from_the_cache_are_the_zone_s(zone_name: str, offsets: list[int]) -> None:
    """In any order, each instant's cached local date and period keys are its zone's."""
    zone = ZoneInfo(zone_name)
    member = MemberContext()
    for offset in offsets:
        at = START + timedelta(seconds=offset)
        event = Event("e", "sign_in", "alice", at)
        facts = Facts(event, member, zone, "feb28")
        day = local_time("at", at, zone).date()
        assert day == facts.local_date()
        for period in ("day", "week", "month", "lifetime"):
            assert period_key(period, day) == facts.period(period)


@pytest.mark.parametrize(
    ("zone", "instants"),
    [
        # New York's autumn fold: 01:00-02:00 repeats; midnight stays on one side.
        ("America/New_York", ["2026-11-01T03:59:59", "2026-11-01T04:00:00", "2026-11-02T04:59:59"]),
        # Lord Howe moves by half an hour; Samoa skipped 30 December 2011.
        ("Australia/Lord_Howe", ["2026-04-04T12:59:59", "2026-04-04T13:00:00", "2026-04-04T14:00"]),
        ("Pacific/Apia", ["2011-12-30T09:59:59", "2011-12-30T10:00:00", "2011-12-29T10:00:00"]),
        ("UTC", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "2026-03-01T00:00:00"]),
    ],
)
def test_local_dates_across_transitions_and_the_calendar_s_ends(
    zone: str, instants: list[str]
) -> None:
    """Days around transitions, a skipped day and the first and last days stay exact."""
    member = MemberContext()
    for text in instants:
        at = datetime.fromisoformat(text).replace(tzinfo=UTC)
        facts = Facts(Event("e", "sign_in", "alice", at), member, ZoneInfo(zone), "feb28")
        assert local_time("at", at, ZoneInfo(zone)).date() == facts.local_date()


def test_a_fraction_tier_multiplier_keeps_its_exact_steps() -> None:
    """A 3/2 tier multiplier on an odd amount: the same pair values as the passes record."""
    spend = Rule(
        "spend",
        ("order",),
        Rate(1, per=Money(3, CNY), rounding="half_even"),
        tier_multiplier=True,
        bonuses=(Bonus(1, Any((Compare(Fact("event.gift"), "==", Const(value=True)),))),),
    )
    rules = RuleSet([spend], zone="UTC", registry=REGISTRY)
    attributes = {"amount": Money("10.01", CNY), "category": "toys", "gift": True, "level": 0}
    event = Event("o-3", "order", "alice", START, attributes)
    state = RuleState(MemberContext(earn_multiplier=Fraction(3, 2)))
    lean = rules.evaluate(event, state, START)
    assert_same(lean, general(rules, event, state))
    assert any(isinstance(step.value, Fraction) for step in lean.explanations[0].trail)
