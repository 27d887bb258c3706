"""Rules properties: invariants I1, I4, I5, I6, I7, I9, I10, I11 and the pure parts of I2 and I8."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointkit import Money, round_fraction
from pointkit._localtime import wall
from pointkit._values import ROUNDING_MODES
from pointkit.exceptions import ArgumentTypeError
from pointkit.rules import (
    All,
    Any,
    Arith,
    Between,
    BetweenHours,
    Bonus,
    Cap,
    Compare,
    Condition,
    Const,
    Counter,
    Decision,
    During,
    Event,
    Fact,
    Fixed,
    In,
    Line,
    MemberContext,
    Multiplier,
    Not,
    OnMonthDays,
    OnWeekdays,
    Rate,
    Rule,
    RuleSet,
    RuleState,
    Status,
    StepOp,
    StreakLadder,
    clawback,
    compile_condition,
    period_key,
    ruleset_from_json,
    ruleset_to_json,
)
from pointkit.rules._evaluate import raw_round


if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Sequence

    from pointkit.rules import RuleExplanation


CNY = "CNY"
START = datetime(2026, 3, 6, tzinfo=UTC)  # a Friday; sequences cross the New York DST change
ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]
KINDS = ("share", "sign_in", "purchase", "review")

# -- strategies -----------------------------------------------------------------------------------

money_amounts = st.integers(0, 200_000).map(lambda cents: Money.from_minor_units(cents, CNY))
factors = st.fractions(min_value=0, max_value=3, max_denominator=4)
roundings = st.sampled_from(ROUNDING_MODES)
tiers = st.sampled_from(["gold", "silver", "normal"])
compare_ops = st.sampled_from([">", ">=", "<", "<=", "==", "!="])

_ANY_KIND: list[st.SearchStrategy[Condition]] = [
    st.sets(st.integers(1, 7), min_size=1).map(OnWeekdays),
    st.sets(st.integers(1, 31), min_size=1, max_size=10).map(OnMonthDays),
    st.tuples(st.integers(0, 23), st.integers(1, 24))
    .filter(lambda pair: pair[0] != pair[1])
    .map(lambda pair: BetweenHours(*pair)),
    st.sets(tiers, min_size=1).map(lambda names: In(Fact("member.tier"), names)),
    st.sampled_from(["fail", "pass", "error"]).map(
        lambda missing: In(Fact("member.tags"), ["vip"], on_missing=missing)  # type: ignore[arg-type]
    ),
]
_LEAVES: dict[str, st.SearchStrategy[Condition]] = {
    "purchase": st.one_of(
        *_ANY_KIND,
        st.builds(
            lambda op, low: Compare(Fact("event.amount"), op, low), compare_ops, money_amounts
        ),
        st.builds(
            lambda low, width: Between(Fact("event.amount"), low, low + Money(width, CNY)),
            money_amounts,
            st.integers(1, 500),
        ),
        st.just(
            Compare(
                Arith("/", Fact("event.amount"), Fact("event.lines.count")), ">", Money(10, CNY)
            )
        ),
    ),
    "review": st.one_of(
        *_ANY_KIND,
        st.integers(0, 60).map(lambda length: Compare(Fact("event.length"), ">", length)),
        st.sets(st.integers(1, 5), min_size=1).map(
            lambda ratings: In(Fact("event.rating"), ratings)
        ),
    ),
    "share": st.one_of(*_ANY_KIND),
    "sign_in": st.one_of(*_ANY_KIND),
}


def _shaped(shape: str, picked: list[Condition]) -> Condition:
    if len(picked) == 1:
        return Not(picked[0]) if shape == "not" else picked[0]
    if shape == "any":
        return Any(picked)
    return Not(All(picked)) if shape == "not" else All(picked)


CONDITIONS: dict[str, st.SearchStrategy[Condition]] = {
    kind: st.builds(
        _shaped,
        st.sampled_from(["all", "any", "not", "one"]),
        st.lists(leaves, min_size=1, max_size=3),
    )
    for kind, leaves in _LEAVES.items()
}


def conditions_for(kind: str) -> st.SearchStrategy[Condition]:
    """A condition that type-checks for events of *kind*."""
    return CONDITIONS[kind]


counted_parts = st.sets(
    st.sampled_from(["goods", "tax", "shipping", "paid_with_points"]), min_size=1
)
rates = st.builds(
    lambda points, per, rounding, counts: Rate(
        points, per=Money(per, CNY), rounding=rounding, counts=counts
    ),
    st.integers(1, 5),
    st.integers(1, 20),
    roundings,
    counted_parts,
)
fixed = st.builds(
    lambda points, rounding: Fixed(points, rounding=rounding),
    st.integers(-20, 60).filter(bool),
    roundings,
)
ladders = st.builds(
    lambda rewards, repeat: StreakLadder(rewards, repeat=repeat),
    st.lists(st.integers(0, 20), min_size=1, max_size=6),
    st.sampled_from(["last", "cycle"]),
)
rule_caps = st.sets(st.sampled_from(["day", "week", "month", "lifetime"]), max_size=2).flatmap(
    lambda periods: st.tuples(
        *(
            st.builds(
                lambda points, tasks, period=period: Cap(period, points=points, tasks=tasks),
                st.none() | st.integers(60, 300),
                st.integers(1, 8),
            )
            for period in sorted(periods)
        )
    )
)
program_caps = st.sets(st.sampled_from(["day", "week", "month"]), max_size=2).flatmap(
    lambda periods: st.tuples(
        *(
            st.builds(
                lambda points, tasks, period=period: Cap(period, points=points, tasks=tasks),
                st.none() | st.integers(60, 400),
                st.integers(1, 12),
            )
            for period in sorted(periods)
        )
    )
)
GROUP_NAMES = ("first_group", "max_group", "stack_group")


def _rule(kind: str) -> st.SearchStrategy[Rule]:
    effects = st.one_of(rates, fixed) if kind == "purchase" else fixed
    return st.builds(
        lambda effect, when, bonuses, multipliers, **options: Rule(
            "rule",
            (kind,),
            effect,
            when,
            bonuses=bonuses,
            multipliers=[Multiplier(f"m{i}", f, w) for i, (f, w) in enumerate(multipliers)],
            **options,
        ),
        effects,
        st.none() | CONDITIONS[kind],
        st.lists(
            st.builds(
                lambda points, when, multiplied: Bonus(points, when, multiplied=multiplied),
                st.integers(-5, 15).filter(bool),
                CONDITIONS[kind],
                st.booleans(),
            ),
            max_size=1,
        ),
        st.lists(st.tuples(factors, st.none() | CONDITIONS[kind]), max_size=2),
        tier_multiplier=st.booleans(),
        caps=rule_caps,
        at_cap=st.sampled_from(["partial", "nothing"]),
        budget=st.none() | st.just("launch"),
        group=st.none() | st.sampled_from(GROUP_NAMES),
        priority=st.integers(-2, 2),
        streak=ladders | st.none() if kind == "sign_in" else st.none(),
    )


RULES = st.one_of(*(_rule(kind) for kind in KINDS))


@st.composite
def programs(draw: st.DrawFn) -> RuleSet:
    """A valid rule set of up to eight rules."""
    rules = [
        attrs.evolve(rule, name=f"rule{index:02d}")
        for index, rule in enumerate(draw(st.lists(RULES, min_size=1, max_size=8)))
    ]
    return RuleSet(
        rules,
        zone=draw(st.sampled_from(ZONES)),
        multipliers=draw(st.sampled_from(["multiply", "add", "max"])),
        groups={"first_group": "first", "max_group": "max", "stack_group": "stack"},
        budgets={"launch": draw(st.integers(50, 2_000))},
        caps=draw(program_caps),
    )


def _event(kind: str) -> st.SearchStrategy[Callable[[str, datetime], Event]]:
    if kind == "purchase":
        return st.builds(
            lambda amount, shares, lines: (
                lambda key, at: Event.purchase(
                    key,
                    "alice",
                    at,
                    amount=amount,
                    order_id=key,
                    lines=[
                        Line(f"p{n}", category, Money(price, CNY))
                        for n, (category, price) in enumerate(lines)
                    ],
                    **{
                        name: Money.from_minor_units(amount.minor_units * share // 400, CNY)
                        for name, share in shares.items()
                    },
                )
            ),
            money_amounts,
            st.dictionaries(
                st.sampled_from(["tax", "shipping", "paid_with_points"]), st.integers(0, 100)
            ),
            st.lists(st.tuples(st.sampled_from(["books", "toys"]), st.integers(0, 99)), max_size=3),
        )
    if kind == "review":
        return st.builds(
            lambda length, rating: (
                lambda key, at: Event.review(key, "alice", at, length=length, rating=rating)
            ),
            st.integers(0, 60),
            st.integers(1, 5),
        )
    if kind == "share":
        return st.just(lambda key, at: Event.share(key, "alice", at))
    return st.just(lambda key, at: Event.sign_in(key, "alice", at))


EVENT_MAKERS = st.one_of(*(_event(kind) for kind in KINDS))


def events(count: int = 25) -> st.SearchStrategy[list[Event]]:
    """Events of the program kinds over a fortnight, in time order."""
    return st.lists(
        st.tuples(st.integers(0, 14 * 24 * 60), EVENT_MAKERS), min_size=1, max_size=count
    ).map(
        lambda pairs: [
            make(f"e-{index}", START + timedelta(minutes=offset))
            for index, (offset, make) in enumerate(sorted(pairs, key=lambda pair: pair[0]))
        ]
    )


members = st.builds(
    MemberContext,
    tier=st.none() | tiers,
    tags=st.sets(st.sampled_from(["vip", "new"])),
    earn_multiplier=factors,
)


def heavy() -> settings:
    """Settings for the tests that run whole programs: a quarter of the profile's examples."""
    return settings(max_examples=max(25, settings().max_examples // 4))


def run(
    rules: RuleSet, sequence: Sequence[Event], member: MemberContext
) -> tuple[list[Decision], RuleState]:
    """Evaluate *sequence* in order, applying every decision to the state."""
    state = RuleState(member)
    decisions = []
    for event in sequence:
        decision = rules.evaluate(event, state, event.at)
        decisions.append(decision)
        state = state.apply(decision)
    return decisions, state


# -- I1: caps -------------------------------------------------------------------------------------


def tally(
    rules: RuleSet, sequence: Sequence[Event], decisions: Sequence[Decision]
) -> dict[tuple[str, str], Counter]:
    """Points and tasks awarded per counter key, summed from the awards themselves."""
    earned: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for event, decision in zip(sequence, decisions, strict=True):
        day = wall(event.at, rules.zone).date()
        for award in decision.awards:
            if award.points <= 0:
                continue
            for scope in (f"rule:{award.rule}", "program"):
                for period in ("day", "week", "month", "lifetime"):
                    counted = earned[(scope, period_key(period, day))]
                    counted[0] += award.points
                    counted[1] += 1
    return {key: Counter(*counted) for key, counted in earned.items()}


@heavy()
@given(programs(), events(), members)
def test_i1_caps_are_never_exceeded(
    rules: RuleSet, sequence: list[Event], member: MemberContext
) -> None:
    """Summed per local period, no rule's awards and no member's pass their caps (I1)."""
    decisions, state = run(rules, sequence, member)
    earned = tally(rules, sequence, decisions)
    capped = [(f"rule:{rule.name}", cap) for rule in rules.rules for cap in rule.caps] + [
        ("program", cap) for cap in rules.caps
    ]
    for scope, cap in capped:
        for (key_scope, period), counted in earned.items():
            if key_scope == scope and period.startswith(cap.period):
                points, tasks = cap.points, cap.tasks  # the programs drawn have no tier limits
                assert isinstance(points, int | None)
                assert isinstance(tasks, int | None)
                assert points is None or counted.points <= points
                assert tasks is None or counted.tasks <= tasks
                assert counted == state.counter((scope, period))


@heavy()
@given(programs(), events(), members)
def test_budgets_are_never_overspent(
    rules: RuleSet, sequence: list[Event], member: MemberContext
) -> None:
    """Applied in turn, decisions never take a budget past its total (the pure part of I2)."""
    decisions, state = run(rules, sequence, member)
    paid = sum(
        award.points
        for decision in decisions
        for award in decision.awards
        if rules.rule(award.rule).budget == "launch" and award.points > 0
    )
    assert paid == state.budget_used("launch")
    assert paid <= dict(rules.budgets)["launch"]


# -- I4 and I7: determinism and order independence ------------------------------------------------


@heavy()
@given(programs(), events(count=8), members, st.randoms(use_true_random=False))
def test_i4_i7_same_inputs_same_bytes_in_any_declaration_order(
    rules: RuleSet, sequence: list[Event], member: MemberContext, shuffler: random.Random
) -> None:
    """Equal inputs give equal decisions and identical JSON, whatever the rules' order (I4, I7)."""
    shuffled = list(rules.rules)
    shuffler.shuffle(shuffled)
    permuted = RuleSet(
        shuffled,
        zone=rules.zone,
        multipliers=rules.multipliers,
        groups=dict(rules.groups),
        budgets=dict(rules.budgets),
        caps=rules.caps,
    )
    reloaded = ruleset_from_json(ruleset_to_json(rules))
    state = RuleState(member)
    for event in sequence:
        decision = rules.evaluate(event, state, event.at)
        again = rules.evaluate(event, state, event.at)
        assert decision == again
        assert again.to_json() == decision.to_json()
        assert decision == permuted.evaluate(event, state, event.at)
        assert decision.to_json() == permuted.evaluate(event, state, event.at).to_json()
        assert decision.to_json() == reloaded.evaluate(event, state, event.at).to_json()
        state = state.apply(decision)


# -- I5: monotonicity -----------------------------------------------------------------------------


@given(
    st.integers(1, 5),
    st.integers(1, 2_000),
    st.sampled_from(ROUNDING_MODES),
    st.lists(money_amounts, min_size=2, max_size=6),
    st.fractions(min_value=1, max_value=5, max_denominator=8),
)
def test_i5_rates_grow_with_the_amount_and_multipliers(
    points: int, per_cents: int, rounding: str, amounts: list[Money], multiplier: Fraction
) -> None:
    """A higher amount never lowers a rate's award; a multiplier of at least 1 never lowers it (I5)."""
    rate = Rate(points, per=Money.from_minor_units(per_cents, CNY), rounding=rounding)
    rules = RuleSet([Rule("spend", ("purchase",), rate)], zone="UTC")
    plain, boosted = (
        RuleState(MemberContext()),
        RuleState(MemberContext(earn_multiplier=multiplier)),
    )
    at = START
    earned = []
    for amount in sorted(amounts, key=lambda money: money.amount):
        event = Event.purchase("o", "a", at, amount=amount, order_id="o")
        base = rules.evaluate(event, plain, at).total()
        assert rules.evaluate(event, boosted, at).total() >= base
        earned.append(base)
    assert sorted(earned) == earned


# -- I6: explanations add up ----------------------------------------------------------------------


def replay(explained: RuleExplanation) -> int | Fraction:
    """Apply a trail's steps in order, checking each recorded result."""
    value: int | Fraction = 0
    for step in explained.trail:
        if step.op is StepOp.BASE:
            value = step.value
        elif step.op is StepOp.ADD:
            value += step.value
        elif step.op is StepOp.MULTIPLY:
            value *= step.value
        elif step.op is StepOp.ROUND:
            assert round_fraction(Fraction(value), rounding=step.note) == step.value  # type: ignore[arg-type]
            value = step.value
        else:
            value = min(value, step.value)
        assert value == step.result
    return value


PAYING = {Status.AWARDED, Status.PARTIALLY_AWARDED}


@heavy()
@given(programs(), events(count=12), members)
def test_i6_explanations_add_up(
    rules: RuleSet, sequence: list[Event], member: MemberContext
) -> None:
    """Replaying each trail gives the rule's points; every non-award has a reason (I6)."""
    decisions, _ = run(rules, sequence, member)
    for decision in decisions:
        awarded = {award.rule: award.points for award in decision.awards}
        for explained in decision.explanations:
            result = replay(explained)
            if explained.trail:
                assert result == explained.points
            else:
                assert 0 == explained.points
            assert awarded.get(explained.rule, 0) == explained.points
            assert (explained.status in PAYING) or 0 == explained.points
            if explained.status is not Status.AWARDED:
                assert explained.reasons
            if explained.status is Status.PARTIALLY_AWARDED:
                assert explained.points > 0


# -- I9: streaks ----------------------------------------------------------------------------------


@given(
    st.sampled_from(ZONES),
    st.lists(st.integers(0, 20 * 24 * 60), min_size=1, max_size=40),
    st.lists(st.integers(0, 30), min_size=1, max_size=7),
)
def test_i9_streaks_count_local_days_once_and_reset_on_a_missed_day(
    zone: str, offsets: list[int], rewards: list[int]
) -> None:
    """A streak moves at most once per local day and starts over exactly after a missed day (I9)."""
    ladder = StreakLadder(rewards)
    rules = RuleSet(
        [Rule("sign_in", ("sign_in",), Fixed(1), streak=ladder, tier_multiplier=False)], zone=zone
    )
    program_zone = ZoneInfo(zone)
    sequence = [
        Event.sign_in(f"s-{i}", "a", START + timedelta(minutes=m))
        for i, m in enumerate(sorted(offsets))
    ]
    decisions, _ = run(rules, sequence, MemberContext())
    last: date | None = None
    length = 0
    for event, decision in zip(sequence, decisions, strict=True):
        day = wall(event.at, program_zone).date()
        if last == day:
            assert Status.DUPLICATE is decision.explanation("sign_in").status
            assert () == decision.streaks
            continue
        length = length + 1 if last is not None and (day - last).days == 1 else 1
        last = day
        assert 1 + ladder.reward(length) == decision.total()
        assert (("sign_in", (day, length)),) == tuple(
            (name, (streak.last_day, streak.length)) for name, streak in decision.streaks
        )


# -- I10: no floats -------------------------------------------------------------------------------

FLOAT_TAKERS: list[Callable[[float], object]] = [
    lambda value: Event("e", "tip", "a", START, {"x": value}),
    Const,  # type: ignore[list-item]
    lambda value: Compare(Fact("event.amount"), ">", value),
    lambda value: In(Fact("event.rating"), [value]),  # type: ignore[list-item]
    Fixed,  # type: ignore[list-item]
    lambda value: Rate(value, per=Money(1, CNY), rounding="floor"),  # type: ignore[arg-type]
    lambda value: Multiplier("m", value),  # type: ignore[arg-type]
    lambda value: Bonus(value, OnWeekdays([1])),  # type: ignore[arg-type]
    lambda value: Cap("day", points=value),  # type: ignore[arg-type]
    lambda value: StreakLadder((value,)),  # type: ignore[arg-type]
    lambda value: MemberContext(earn_multiplier=value),  # type: ignore[arg-type]
    Counter,  # type: ignore[list-item]
    lambda value: clawback(10, 0, value),  # type: ignore[arg-type]
    lambda value: Event.review("r", "a", START, length=value, rating=5),  # type: ignore[arg-type]
    lambda value: OnWeekdays([value]),  # type: ignore[list-item]
    lambda value: BetweenHours(value, 5),  # type: ignore[arg-type]
]


@given(st.sampled_from(FLOAT_TAKERS), st.floats(allow_nan=True, allow_infinity=True))
def test_i10_floats_are_refused_everywhere(take: Callable[[float], object], value: float) -> None:
    """Every constructor that takes a number refuses a float as a type error (I10)."""
    with pytest.raises(ArgumentTypeError):
        take(value)


# -- I11: half-open windows -----------------------------------------------------------------------


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.integers(1, 10**9),
    st.sampled_from(ZONES),
)
def test_i11_windows_include_their_start_and_exclude_their_end(
    start: datetime, micros: int, zone: str
) -> None:
    """An event at a window's start is inside, one at its end is outside (I11)."""
    end = start + timedelta(microseconds=micros)
    window = compile_condition(During(start, end), zone)
    member = MemberContext()

    def inside(at: datetime) -> bool:
        return window.check(Event.sign_in("s", "a", at), member)

    assert inside(start)
    assert inside(end - timedelta(microseconds=1))
    assert not inside(end)
    assert not inside(start - timedelta(microseconds=1))


@given(st.integers(-1000, 1000), st.integers(1, 50), st.integers(-1100, 1100))
def test_i11_ranges_are_half_open(low: int, width: int, value: int) -> None:
    """Between holds for low <= value < high, exactly (I11)."""
    condition = compile_condition(Between(Fact("event.length"), low, low + width), "UTC")
    event = Event("e", "score", "a", START, {"length": value})
    assert (low <= value < low + width) == condition.check(event, MemberContext())


# -- consistency of the compiled paths ------------------------------------------------------------


@given(
    st.sampled_from(KINDS).flatmap(lambda kind: st.tuples(CONDITIONS[kind], st.just(kind))),
    events(count=3),
    members,
    st.sampled_from(ZONES),
)
def test_check_and_explain_agree(
    case: tuple[Condition, str], sequence: list[Event], member: MemberContext, zone: str
) -> None:
    """The fast check and the explained trace of a condition always give the same answer."""
    condition, kind = case
    compiled = compile_condition(condition, zone)
    for event in sequence:
        if event.kind != kind:
            continue
        outcome = compiled.outcome(event, member)
        trace = compiled.explain(event, member)
        assert (outcome is True) == trace.passed
        assert (outcome is True) == compiled.check(event, member)


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6), st.sampled_from(ROUNDING_MODES))
def test_raw_rounding_matches_round_fraction(
    numerator: int, denominator: int, rounding: str
) -> None:
    """The evaluator's integer rounding is round_fraction's, for every mode."""
    expected = round_fraction(Fraction(numerator, denominator), rounding=rounding)  # type: ignore[arg-type]
    assert expected == raw_round(numerator, denominator, rounding)  # type: ignore[arg-type]


# -- I8 (the pure part): clawbacks ----------------------------------------------------------------


@given(st.integers(-(10**6), 10**6), st.lists(st.integers(1, 100), min_size=1, max_size=12))
def test_clawbacks_never_pass_the_award_and_reach_it_exactly(
    awarded: int, parts: list[int]
) -> None:
    """Refunds whose shares add up to 1 claw back exactly the award, never more on the way."""
    total = sum(parts)
    reversed_ = 0
    cumulative = Fraction(0)
    for part in parts:
        cumulative += Fraction(part, total)
        due = clawback(awarded, reversed_, cumulative)
        assert due * awarded >= 0
        reversed_ += due
        assert abs(reversed_) <= abs(awarded)
        assert abs(reversed_) <= abs(awarded * cumulative)
    assert awarded == reversed_


@given(money_amounts, st.integers(1, 3), st.integers(1, 2_000))
def test_exact_money_arithmetic_round_trips(amount: Money, factor: int, divisor: int) -> None:
    """Dividing an amount and multiplying it back gives the amount exactly (no binary floats)."""
    condition = compile_condition(
        Compare(
            Arith("*", Arith("/", Fact("event.amount"), divisor), divisor),
            "==",
            Fact("event.amount"),
        ),
        "UTC",
    )
    event = Event.purchase("o", "a", START, amount=amount * factor, order_id="o")
    assert condition.check(event, MemberContext())
    assert Decimal(0) <= event.get("amount").amount  # type: ignore[union-attr]
