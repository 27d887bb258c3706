"""Rules evaluation: the source material's examples, statuses, reasons, limits and configuration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from pointkit import Money, limits
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    InvalidArgumentError,
    NaiveDatetimeError,
)
from pointkit.rules import (
    All,
    Any,
    Arith,
    Between,
    Bonus,
    Cap,
    Compare,
    Const,
    Counter,
    Decision,
    During,
    Event,
    EventRegistry,
    EventSchema,
    Fact,
    FieldSpec,
    Fixed,
    In,
    Line,
    MemberContext,
    Multiplier,
    Not,
    OnDates,
    OnMonthDays,
    OnWeekdays,
    Rate,
    Reason,
    Rule,
    RuleSet,
    RuleState,
    StateKeys,
    Status,
    Step,
    StepOp,
    Streak,
    StreakLadder,
    clawback,
    refund_fraction,
)


if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


SH = "Asia/Shanghai"


class Call:
    """A deferred call, so a table can hold calls with arguments of the wrong type."""

    def __init__(self, factory: Callable[..., object], *args: object, **kwargs: object) -> None:
        self.factory, self.args, self.kwargs = factory, args, kwargs

    def __call__(self) -> object:
        return self.factory(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        shown = [repr(arg) for arg in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{name}({', '.join(shown)})"[:120]


def call(factory: Callable[..., object], *args: object, **kwargs: object) -> Call:
    """Defer a call; its repr names the test case."""
    return Call(factory, *args, **kwargs)


SHANGHAI = ZoneInfo(SH)
CNY = "CNY"
PER_10_YUAN = Rate(1, per=Money(10, CNY), rounding="floor")
NATIONAL_DAY = date(2026, 10, 1)


def cny(amount: str | int) -> Money:
    """Yuan."""
    return Money(amount, CNY)


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """An instant given as Shanghai wall time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


MONDAY = date(2026, 3, 2)
NOON = local(MONDAY)


def program(*rules: Rule, **options: object) -> RuleSet:
    """A Shanghai program of *rules*."""
    return RuleSet(rules, zone=SH, **options)  # type: ignore[arg-type]


def purchase(amount: str | int, *, at: datetime = NOON, key: str = "o-1", **parts: object) -> Event:
    """A purchase of *amount* yuan."""
    return Event.purchase(key, "alice", at, amount=cny(amount), order_id=key, **parts)  # type: ignore[arg-type]


def run(
    rules: RuleSet, events: Iterable[Event], member: MemberContext | None = None
) -> tuple[list[Decision], RuleState]:
    """Evaluate *events* in turn, applying each decision to the state, as a ledger would."""
    state = RuleState(member or MemberContext())
    decisions = []
    for event in events:
        decision = rules.evaluate(event, state, event.at)
        decisions.append(decision)
        state = state.apply(decision)
    return decisions, state


def points(decisions: Iterable[Decision]) -> list[int]:
    """The points of each decision."""
    return [decision.total() for decision in decisions]


def trail(decision: Decision, rule: str) -> list[tuple[str, str]]:
    """A rule's trail as ``(label, result)`` text."""
    return [(step.label, str(step.result)) for step in decision.explanation(rule).trail]


def verdict(decision: Decision, rule: str) -> tuple[Status, tuple[Reason, ...], int]:
    """A rule's status, reasons and points."""
    explained = decision.explanation(rule)
    return explained.status, explained.reasons, explained.points


# -- the source material's examples -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0.00", 0), ("9.99", 0), ("10.00", 1), ("88.80", 8), ("99.99", 9), ("100.00", 10)],
)
def test_one_point_per_ten_yuan_floor(amount: str, expected: int) -> None:
    """1 point per 10 yuan, rounded down: 88.80 yuan earns 8."""
    decision = program(Rule("spend", ("purchase",), PER_10_YUAN)).evaluate(
        purchase(amount), RuleState(MemberContext()), NOON
    )
    assert expected == decision.total()


def test_what_counts_toward_the_amount_is_declared() -> None:
    """Goods only by default; tax, shipping and the points payment count when declared."""
    order = purchase("130.00", tax=cny(10), shipping=cny(10), paid_with_points=cny(10))
    counts_all = Rate(
        1,
        per=Money(10, CNY),
        rounding="floor",
        counts={"goods", "tax", "shipping", "paid_with_points"},
    )
    counts_tax = Rate(1, per=Money(10, CNY), rounding="floor", counts={"goods", "tax"})
    rules = program(
        Rule("goods", ("purchase",), PER_10_YUAN),
        Rule("everything", ("purchase",), counts_all),
        Rule("with_tax", ("purchase",), counts_tax),
        Rule(
            "tax_only", ("purchase",), Rate(1, per=Money(1, CNY), rounding="floor", counts={"tax"})
        ),
    )
    decision = rules.evaluate(order, RuleState(MemberContext()), NOON)
    assert [("everything", 13), ("goods", 10), ("tax_only", 10), ("with_tax", 11)] == [
        (award.rule, award.points) for award in decision.awards
    ]
    assert "100.00 CNY (goods) / 10.00 CNY x 1" == decision.explanation("goods").trail[0].note
    assert (
        "130.00 CNY (goods+paid_with_points+shipping+tax) / 10.00 CNY x 1"
        == decision.explanation("everything").trail[0].note
    )


def test_silver_earns_double() -> None:
    """A silver member (tier earn multiplier 2) earns double, unless the rule opts out."""
    rules = program(
        Rule("spend", ("purchase",), PER_10_YUAN),
        Rule("flat", ("purchase",), Fixed(5), tier_multiplier=False),
    )
    silver = MemberContext(tier="silver", earn_multiplier=2)
    decision = rules.evaluate(purchase("88.00"), RuleState(silver), NOON)
    assert [("flat", 5), ("spend", 17)] == [(award.rule, award.points) for award in decision.awards]
    assert [("base", "44/5"), ("x tier", "88/5"), ("rounding (floor)", "17")] == trail(
        decision, "spend"
    )


def sign_ins(*days: date, hour: int = 9) -> list[Event]:
    """A sign-in on each local day."""
    return [
        Event.sign_in(f"s-{index}", "alice", local(day, hour)) for index, day in enumerate(days)
    ]


STREAK = Rule("sign_in", ("sign_in",), Fixed(0), streak=StreakLadder((1, 2, 3, 5, 10)))


def test_sign_in_streak_ladder() -> None:
    """Consecutive days earn 1, 2, 3, 5, 10, then 10 a day; a missed day starts again at 1."""
    days = [MONDAY + timedelta(days=offset) for offset in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
    decisions, state = run(program(STREAK), sign_ins(*days))
    assert [1, 2, 3, 5, 10, 10, 10, 1, 2] == points(decisions)
    assert Streak(days[-1], 2) == state.streak("sign_in")
    assert [("base", "0"), ("streak day 7", "10")] == trail(decisions[6], "sign_in")
    assert "ladder 1/2/3/5/10" == decisions[0].explanation("sign_in").trail[1].note


def test_a_second_sign_in_the_same_local_day_is_a_duplicate() -> None:
    """The streak counts once per local day: a second sign-in that day is a duplicate."""
    morning, evening = local(MONDAY, 0, 5), local(MONDAY, 23, 55)
    events = [Event.sign_in("s-1", "alice", morning), Event.sign_in("s-2", "alice", evening)]
    decisions, state = run(program(STREAK), events)
    assert [1, 0] == points(decisions)
    assert (Status.DUPLICATE, (Reason.ALREADY_TODAY,), 0) == verdict(decisions[1], "sign_in")
    assert () == decisions[1].streaks
    assert Streak(MONDAY, 1) == state.streak("sign_in")
    late = rules_state_evaluate(
        program(STREAK), Event.sign_in("s-0", "alice", local(MONDAY - timedelta(days=1))), state
    )
    assert (Status.DUPLICATE, (Reason.STREAK_PAST_DAY,), 0) == verdict(late, "sign_in")


def rules_state_evaluate(rules: RuleSet, event: Event, state: RuleState) -> Decision:
    """Evaluate one event on a state, at the event's instant."""
    return rules.evaluate(event, state, event.at)


def test_a_cycling_ladder_starts_over() -> None:
    """With repeat='cycle' the ladder starts again after its last step."""
    rule = Rule("sign_in", ("sign_in",), Fixed(0), streak=StreakLadder((1, 2, 3), repeat="cycle"))
    days = [MONDAY + timedelta(days=offset) for offset in range(7)]
    decisions, _ = run(program(rule), sign_ins(*days))
    assert [1, 2, 3, 1, 2, 3, 1] == points(decisions)


def test_share_fifty_and_invitee_registration_a_hundred() -> None:
    """A share earns 50; an invite that leads to a registration earns the inviter another 100."""
    rules = program(
        Rule("share", ("share",), Fixed(50)),
        Rule("invite", ("invitee_registered",), Fixed(100)),
    )
    events = [
        Event.share("s-1", "alice", NOON, channel="wechat"),
        Event.invite("i-1", "alice", NOON, invitee="bob"),
        Event.invitee_registered("r-1", "alice", NOON, invitee="bob"),
    ]
    decisions, _ = run(rules, events)
    assert [50, 0, 100] == points(decisions)
    assert () == decisions[1].explanations


@pytest.mark.parametrize(("length", "expected"), [(0, 5), (20, 5), (21, 10), (500, 10)])
def test_review_five_and_five_more_over_twenty_characters(length: int, expected: int) -> None:
    """A review earns 5, and another 5 when it is over 20 characters long."""
    rules = program(
        Rule(
            "review",
            ("review",),
            Fixed(5),
            bonuses=(Bonus(5, Compare(Fact("event.length"), ">", 20)),),
        )
    )
    review = Event.review("r-1", "alice", NOON, length=length, rating=5)
    decision = rules.evaluate(review, RuleState(MemberContext()), NOON)
    assert expected == decision.total()


def test_at_most_fifteen_tasks_a_day() -> None:
    """The 16th awarded task of a day gets nothing (program_cap_tasks_day); the next day resets."""
    rules = program(Rule("share", ("share",), Fixed(1)), caps=(Cap("day", tasks=15),))
    events = [Event.share(f"s-{index}", "alice", local(MONDAY, 8, index)) for index in range(16)]
    events.append(Event.share("s-next", "alice", local(MONDAY + timedelta(days=1), 8)))
    decisions, state = run(rules, events)
    assert [1] * 15 + [0, 1] == points(decisions)
    assert (Status.CAPPED, (Reason.PROGRAM_CAP_TASKS_DAY,), 0) == verdict(decisions[15], "share")
    assert [("base", "1"), ("program cap 15 tasks/day", "0")] == trail(decisions[15], "share")
    assert "15 tasks done, none left" == decisions[15].explanation("share").trail[1].note
    assert Counter(15, 15) == state.counter(("program", "day:2026-03-02"))


def test_at_most_a_hundred_points_a_day_partially() -> None:
    """A member earns at most 100 points a day: the award that passes the cap is cut to fit."""
    rules = program(Rule("share", ("share",), Fixed(30)), caps=(Cap("day", points=100),))
    events = [Event.share(f"s-{index}", "alice", local(MONDAY, 8, index)) for index in range(5)]
    decisions, state = run(rules, events)
    assert [30, 30, 30, 10, 0] == points(decisions)
    assert (Status.PARTIALLY_AWARDED, (Reason.PROGRAM_CAP_POINTS_DAY,), 10) == verdict(
        decisions[3], "share"
    )
    assert [("base", "30"), ("program cap 100/day", "10")] == trail(decisions[3], "share")
    assert "10 left" == decisions[3].explanation("share").trail[1].note
    assert (Status.CAPPED, (Reason.PROGRAM_CAP_POINTS_DAY,), 0) == verdict(decisions[4], "share")
    assert Counter(100, 4) == state.counter(("program", "day:2026-03-02"))


def test_all_or_nothing_at_the_cap() -> None:
    """With at_cap='nothing' an award that does not fit gets nothing, and a smaller one still fits."""
    rules = program(
        Rule("share", ("share",), Fixed(40), at_cap="nothing", priority=1),
        Rule("small", ("share",), Fixed(5)),
        caps=(Cap("day", points=100),),
    )
    events = [Event.share(f"s-{index}", "alice", local(MONDAY, 8, index)) for index in range(3)]
    decisions, _ = run(rules, events)
    assert [45, 45, 5] == points(decisions)
    assert (Status.CAPPED, (Reason.PROGRAM_CAP_POINTS_DAY,), 0) == verdict(decisions[2], "share")
    assert (
        Step(StepOp.LIMIT, "program cap 100/day", 0, 0, "10 left, all or nothing")
        == decisions[2].explanation("share").trail[1]
    )


def test_holiday_double_points() -> None:
    """A holiday multiplier doubles the base on the listed local dates only."""
    rule = Rule(
        "spend",
        ("purchase",),
        PER_10_YUAN,
        multipliers=(Multiplier("holiday", 2, OnDates([NATIONAL_DAY])),),
    )
    rules = program(rule)
    on = rules.evaluate(
        purchase("100", at=local(NATIONAL_DAY, 0, 0)),
        RuleState(MemberContext()),
        local(NATIONAL_DAY, 1),
    )
    before = rules.evaluate(
        purchase("100", at=local(NATIONAL_DAY, 0, 0) - timedelta(seconds=1)),
        RuleState(MemberContext()),
        local(NATIONAL_DAY, 1),
    )
    assert (20, 10) == (on.total(), before.total())
    assert [("base", "10"), ("x holiday", "20")] == trail(on, "spend")


def test_member_day_every_eighth() -> None:
    """A member-day rule fires on the 8th, 18th and 28th of each month, local time."""
    rule = Rule("member_day", ("sign_in",), Fixed(8), OnMonthDays([8, 18, 28]))
    days = [
        date(2026, 3, 7),
        date(2026, 3, 8),
        date(2026, 3, 18),
        date(2026, 3, 28),
        date(2026, 3, 29),
    ]
    decisions, _ = run(program(rule), sign_ins(*days))
    assert [0, 8, 8, 8, 0] == points(decisions)
    assert (Status.OUTSIDE_WINDOW, (Reason.OUTSIDE_WINDOW,), 0) == verdict(
        decisions[0], "member_day"
    )


# -- multipliers ----------------------------------------------------------------------------------

CAMPAIGNS = (
    Multiplier("holiday", 2, OnDates([NATIONAL_DAY])),
    Multiplier("app", Fraction(3, 2)),
    Multiplier("weekend", 3, OnWeekdays([6, 7])),
)


@pytest.mark.parametrize(
    ("mode", "expected", "steps"),
    [
        ("multiply", 60, [("base", "10"), ("x tier", "20"), ("x holiday", "40"), ("x app", "60")]),
        ("add", 35, [("base", "10"), ("x multipliers (add)", "35")]),
        ("max", 20, [("base", "10"), ("x multipliers (max)", "20")]),
    ],
)
def test_multipliers_combine_as_declared(
    mode: str, expected: int, steps: list[tuple[str, str]]
) -> None:
    """x2 tier, x2 holiday and x1.5 app multiply to x6, add to x3.5, or give the largest, x2."""
    rules = program(
        Rule("spend", ("purchase",), PER_10_YUAN, multipliers=CAMPAIGNS), multipliers=mode
    )
    member = MemberContext(earn_multiplier=2)
    decision = rules.evaluate(
        purchase("100", at=local(NATIONAL_DAY)), RuleState(member), local(NATIONAL_DAY)
    )
    assert expected == decision.total()
    assert steps == trail(decision, "spend")


def test_multipliers_below_one_add_down_to_zero_at_least() -> None:
    """In add mode factors below one subtract, but the combined factor never goes below zero."""
    rule = Rule("spend", ("purchase",), PER_10_YUAN, multipliers=(Multiplier("penalty", 0),))
    rules = program(rule, multipliers="add")
    decision = rules.evaluate(
        purchase("100"), RuleState(MemberContext(earn_multiplier=Fraction(1, 2))), NOON
    )
    assert (Status.NOT_ELIGIBLE, (Reason.ZERO_POINTS,), 0) == verdict(decision, "spend")
    assert [("base", "10"), ("x multipliers (add)", "0")] == trail(decision, "spend")
    assert "tier 1/2, penalty 0" == decision.explanation("spend").trail[1].note


def test_multiplied_bonus_joins_the_base() -> None:
    """A bonus declared multiplied is added before the multipliers; the others after them."""
    rule = Rule(
        "review",
        ("review",),
        Fixed(5),
        bonuses=(
            Bonus(5, Compare(Fact("event.length"), ">", 20), multiplied=True),
            Bonus(1, Compare(Fact("event.rating"), "==", 5)),
        ),
    )
    review = Event.review("r-1", "alice", NOON, length=30, rating=5)
    decision = program(rule).evaluate(
        review, RuleState(MemberContext(earn_multiplier=Fraction(3, 2))), NOON
    )
    assert 16 == decision.total()
    assert [("base", "5"), ("bonus", "10"), ("x tier", "15"), ("bonus", "16")] == trail(
        decision, "review"
    )


def test_a_fractional_fixed_award_is_rounded_down_by_default() -> None:
    """Fixed points under a fractional multiplier round with the effect's mode (floor by default)."""
    rules = program(
        Rule("floor", ("share",), Fixed(5)),
        Rule("half_up", ("share",), Fixed(5, rounding="half_up")),
        Rule("deduct", ("share",), Fixed(-5)),
    )
    decision = rules.evaluate(
        Event.share("s", "a", NOON), RuleState(MemberContext(earn_multiplier=Fraction(3, 2))), NOON
    )
    assert [("deduct", -8), ("floor", 7), ("half_up", 8)] == [
        (award.rule, award.points) for award in decision.awards
    ]


# -- groups, budgets, deductions ------------------------------------------------------------------


def signup_rules(mode: str) -> RuleSet:
    """Three signup gifts in one group."""
    return program(
        Rule("gift_a", ("registration",), Fixed(5), group="signup", priority=1),
        Rule("gift_b", ("registration",), Fixed(50), group="signup"),
        Rule("gift_c", ("registration",), Fixed(20), group="signup", priority=1),
        Rule("always", ("registration",), Fixed(1)),
        groups={"signup": mode},
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("first", [("always", 1), ("gift_a", 5)]),
        ("max", [("always", 1), ("gift_b", 50)]),
        ("stack", [("always", 1), ("gift_a", 5), ("gift_c", 20), ("gift_b", 50)]),
    ],
)
def test_stacking_groups(mode: str, expected: list[tuple[str, int]]) -> None:
    """first: highest priority, ties by name; max: the largest award; stack: all of them."""
    registration = Event.registration("r-1", "alice", NOON)
    decision = signup_rules(mode).evaluate(registration, RuleState(MemberContext()), NOON)
    assert expected == sorted(
        ((award.rule, award.points) for award in decision.awards), key=lambda pair: pair[1]
    )


def test_group_losers_say_who_won() -> None:
    """A rule that loses its group is not eligible, and its trail names the winner."""
    registration = Event.registration("r-1", "alice", NOON)
    decision = signup_rules("first").evaluate(registration, RuleState(MemberContext()), NOON)
    assert (Status.NOT_ELIGIBLE, (Reason.GROUP_LOST,), 0) == verdict(decision, "gift_c")
    assert (
        Step(StepOp.MULTIPLY, "group signup (first)", 0, 0, "lost to gift_a")
        == decision.explanation("gift_c").trail[-1]
    )
    assert ("gift_a", "gift_c", "always", "gift_b") == signup_rules("first").rules_for(
        "registration"
    )


def test_a_budget_is_never_overspent() -> None:
    """A campaign budget pays until it runs out: the last award is cut to what is left."""
    rules = program(Rule("launch", ("share",), Fixed(40), budget="launch"), budgets={"launch": 100})
    events = [Event.share(f"s-{index}", f"member-{index}", NOON) for index in range(4)]
    state = RuleState(MemberContext())
    awarded = []
    for event in events:
        decision = rules.evaluate(event, state, NOON)
        awarded.append(decision.total())
        state = state.apply(decision)
    assert [40, 40, 20, 0] == awarded
    assert 100 == state.budget_used("launch")
    last = rules.evaluate(events[3], RuleState(MemberContext(), budgets={"launch": 100}), NOON)
    assert (Status.BUDGET_EXHAUSTED, (Reason.BUDGET_EXHAUSTED,), 0) == verdict(last, "launch")
    assert (
        Step(StepOp.LIMIT, "budget launch", 0, 0, "0 left of 100")
        == last.explanation("launch").trail[-1]
    )


def test_rules_in_one_event_share_the_caps_and_budget() -> None:
    """Two rules of one event cannot together pass a program cap or a budget."""
    rules = program(
        Rule("a", ("share",), Fixed(60), budget="b", priority=2),
        Rule("b", ("share",), Fixed(60), budget="b", priority=1),
        Rule("c", ("share",), Fixed(60)),
        budgets={"b": 100},
        caps=(Cap("day", points=150),),
    )
    decision = rules.evaluate(Event.share("s", "a", NOON), RuleState(MemberContext()), NOON)
    assert [("a", 60), ("b", 40), ("c", 50)] == [
        (award.rule, award.points) for award in decision.awards
    ]
    assert (("program", "day:2026-03-02"), Counter(150, 3)) == decision.counters[0]
    assert (("b", 100),) == decision.budgets
    assert (Status.PARTIALLY_AWARDED, (Reason.BUDGET_EXHAUSTED,), 40) == verdict(decision, "b")


def test_deductions_pass_no_limit_and_count_nowhere() -> None:
    """An abusive review costs 20 points; deductions are neither capped nor counted."""
    rules = program(
        Rule(
            "abuse",
            ("review",),
            Fixed(-20),
            All([Compare(Fact("event.rating"), "==", 1), Compare(Fact("event.length"), "<", 5)]),
            caps=(Cap("day", points=10),),
        ),
        caps=(Cap("day", points=10, tasks=1),),
    )
    review = Event.review("r-1", "alice", NOON, length=2, rating=1)
    decision = rules.evaluate(
        review, RuleState(MemberContext(), {("program", "day:2026-03-02"): Counter(10, 1)}), NOON
    )
    assert -20 == decision.total()
    assert (Status.AWARDED, (), -20) == verdict(decision, "abuse")
    assert () == decision.counters


def test_negative_tier_free_deduction_in_another_currency() -> None:
    """Awards carry their currency; total() sums one currency."""
    rules = program(
        Rule("points", ("share",), Fixed(10)),
        Rule("credits", ("share",), Fixed(3), currency="tier_credits"),
    )
    decision = rules.evaluate(Event.share("s", "a", NOON), RuleState(MemberContext()), NOON)
    assert (10, 3, 0) == (decision.total(), decision.total("tier_credits"), decision.total("miles"))


# -- statuses and reasons -------------------------------------------------------------------------


def test_status_and_reason_values_are_stable() -> None:
    """The stored values of statuses and reasons never change."""
    assert [
        "awarded",
        "partially_awarded",
        "not_eligible",
        "capped",
        "budget_exhausted",
        "outside_window",
        "duplicate",
        "disabled",
        "error",
    ] == [str(status) for status in Status]
    expected = (
        [
            "condition_false",
            "outside_window",
            "missing_fact",
            "division_by_zero",
            "currency_mismatch",
            "type_mismatch",
            "rule_disabled",
            "kind_disabled",
            "already_today",
            "streak_past_day",
            "group_lost",
            "zero_points",
            "points_overflow",
            "budget_exhausted",
        ]
        + [
            f"{scope}_cap_{measure}_{period}"
            for scope in ("rule", "program", "named")
            for measure in ("points", "tasks")
            for period in ("day", "week", "month", "lifetime")
        ]
        + ["once_per_value"]
    )
    assert expected == [str(reason) for reason in Reason]


def one(
    rule: Rule, event: Event, state: RuleState | None = None, **options: object
) -> tuple[Status, tuple[Reason, ...], int]:
    """The verdict of *rule* alone on *event*."""
    decision = program(rule, **options).evaluate(
        event, state or RuleState(MemberContext()), event.at
    )
    return verdict(decision, rule.name)


SHARE = Event.share("s", "alice", NOON)
EMPTY = RuleState(MemberContext())


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: one(
                Rule("r", ("share",), Fixed(5), Compare(Fact("event.channel"), "==", "x")), SHARE
            ),
            (Status.NOT_ELIGIBLE, (Reason.CONDITION_FALSE,), 0),
        ),
        (
            lambda: one(
                Rule(
                    "r",
                    ("share",),
                    Fixed(5),
                    All([OnWeekdays([7]), Compare(Fact("event.channel"), "==", "x")]),
                ),
                SHARE,
            ),
            (Status.OUTSIDE_WINDOW, (Reason.OUTSIDE_WINDOW,), 0),
        ),
        (
            lambda: one(
                Rule(
                    "r",
                    ("share",),
                    Fixed(5),
                    Compare(Fact("event.channel"), "==", "x", on_missing="error"),
                ),
                SHARE,
            ),
            (Status.ERROR, (Reason.MISSING_FACT,), 0),
        ),
        (
            lambda: one(
                Rule("r", ("purchase",), PER_10_YUAN),
                Event.purchase("o", "a", NOON, amount=Money(100, "USD"), order_id="o"),
            ),
            (Status.ERROR, (Reason.CURRENCY_MISMATCH,), 0),
        ),
        (
            lambda: one(Rule("r", ("share",), Fixed(5), enabled=False), SHARE),
            (Status.DISABLED, (Reason.RULE_DISABLED,), 0),
        ),
        (
            lambda: one(
                Rule("r", ("share",), Fixed(5), enabled=False), SHARE, disabled_kinds={"share"}
            ),
            (Status.DISABLED, (Reason.KIND_DISABLED,), 0),
        ),
        (
            lambda: one(
                STREAK,
                Event.sign_in("s", "a", NOON),
                RuleState(MemberContext(), streaks={"sign_in": Streak(MONDAY, 4)}),
            ),
            (Status.DUPLICATE, (Reason.ALREADY_TODAY,), 0),
        ),
        (
            lambda: one(
                STREAK,
                Event.sign_in("s", "a", NOON),
                RuleState(
                    MemberContext(), streaks={"sign_in": Streak(MONDAY + timedelta(days=1), 4)}
                ),
            ),
            (Status.DUPLICATE, (Reason.STREAK_PAST_DAY,), 0),
        ),
        (
            lambda: verdict(
                signup_rules("max").evaluate(Event.registration("r", "a", NOON), EMPTY, NOON),
                "gift_a",
            ),
            (Status.NOT_ELIGIBLE, (Reason.GROUP_LOST,), 0),
        ),
        (
            lambda: one(Rule("r", ("purchase",), PER_10_YUAN), purchase("9.99")),
            (Status.NOT_ELIGIBLE, (Reason.ZERO_POINTS,), 0),
        ),
        (
            lambda: one(
                Rule(
                    "r",
                    ("purchase",),
                    Rate(limits.POINTS_MAX, per=Money("0.01", CNY), rounding="floor"),
                ),
                purchase("10"),
            ),
            (Status.ERROR, (Reason.POINTS_OVERFLOW,), 0),
        ),
        (
            lambda: one(
                Rule("r", ("share",), Fixed(5), budget="b"),
                SHARE,
                RuleState(MemberContext(), budgets={"b": 10}),
                budgets={"b": 10},
            ),
            (Status.BUDGET_EXHAUSTED, (Reason.BUDGET_EXHAUSTED,), 0),
        ),
        (
            lambda: one(
                Rule("r", ("share",), Fixed(5), budget="b"),
                SHARE,
                RuleState(MemberContext(), budgets={"b": 7}),
                budgets={"b": 10},
            ),
            (Status.PARTIALLY_AWARDED, (Reason.BUDGET_EXHAUSTED,), 3),
        ),
        (lambda: one(Rule("r", ("share",), Fixed(5)), SHARE), (Status.AWARDED, (), 5)),
    ],
    ids=[
        "condition_false",
        "outside_window",
        "missing_fact",
        "currency_mismatch",
        "rule_disabled",
        "kind_disabled",
        "already_today",
        "streak_past_day",
        "group_lost",
        "zero_points",
        "points_overflow",
        "budget_exhausted",
        "budget_partial",
        "awarded",
    ],
)
def test_each_reason(
    make: Callable[[], tuple[Status, tuple[Reason, ...], int]],
    expected: tuple[Status, tuple[Reason, ...], int],
) -> None:
    """Each reason code comes with its status, in one line each."""
    assert expected == make()


PERIOD_KEYS = {
    "day": "day:2026-03-02",
    "week": "week:2026-W10",
    "month": "month:2026-03",
    "lifetime": "lifetime",
}


@pytest.mark.parametrize("period", ["day", "week", "month", "lifetime"])
@pytest.mark.parametrize("scope", ["rule", "program"])
@pytest.mark.parametrize("measure", ["points", "tasks"])
def test_each_cap_reason(scope: str, measure: str, period: str) -> None:
    """Each cap's reason names its scope, measure and period."""
    cap = Cap(period, **{measure: 10})  # type: ignore[arg-type]
    key = ("rule:r" if scope == "rule" else "program", PERIOD_KEYS[period])
    state = RuleState(MemberContext(), {key: Counter(10, 10)})
    options = {"caps": (cap,)} if scope == "program" else {}
    rule = Rule("r", ("share",), Fixed(5), caps=(cap,) if scope == "rule" else ())
    expected = (Status.CAPPED, (Reason(f"{scope}_cap_{measure}_{period}"),), 0)
    assert expected == one(rule, SHARE, state, **options)


def test_each_indexed_rule_is_explained_in_order() -> None:
    """An event gets one explanation per rule its kind indexes, by priority then name."""
    rules = program(
        Rule("b", ("share",), Fixed(1)),
        Rule("a", ("share",), Fixed(1)),
        Rule("z", ("share",), Fixed(1), priority=5),
        Rule("other", ("sign_in",), Fixed(1)),
    )
    decision = rules.evaluate(SHARE, EMPTY, NOON)
    assert ["z", "a", "b"] == [explained.rule for explained in decision.explanations]
    with pytest.raises(KeyError):
        decision.explanation("other")


def test_conditions_are_traced_in_explanations() -> None:
    """An explanation carries the rule's condition trace; a disabled rule's has none."""
    rules = program(
        Rule("big", ("purchase",), Fixed(10), Compare(Fact("event.amount"), ">=", cny(100))),
        Rule(
            "off",
            ("purchase",),
            Fixed(10),
            Compare(Fact("event.amount"), ">=", cny(100)),
            enabled=False,
        ),
        Rule("plain", ("purchase",), Fixed(1)),
    )
    decision = rules.evaluate(purchase("88"), EMPTY, NOON)
    big = decision.explanation("big")
    assert big.conditions is not None
    assert (False, (("event.amount", "88.00 CNY"),)) == (
        big.conditions.passed,
        big.conditions.observed,
    )
    assert decision.explanation("off").conditions is None
    assert decision.explanation("plain").conditions is None


# -- state keys and inputs ------------------------------------------------------------------------


def test_state_keys_name_exactly_what_evaluation_reads() -> None:
    """state_keys lists the counters of caps, the budgets and the streaks of enabled rules."""
    rules = program(
        Rule("spend", ("purchase",), PER_10_YUAN, caps=(Cap("week", points=500),), budget="launch"),
        Rule(
            "off",
            ("purchase",),
            Fixed(1),
            caps=(Cap("month", points=5),),
            budget="other",
            enabled=False,
        ),
        STREAK,
        caps=(Cap("day", points=100), Cap("lifetime", tasks=1000)),
        budgets={"launch": 1000, "other": 5},
    )
    assert StateKeys(
        [("program", "day:2026-03-02"), ("program", "lifetime"), ("rule:spend", "week:2026-W10")],
        ["launch"],
        [],
    ) == rules.state_keys(purchase("1"))
    assert StateKeys(
        [("program", "day:2026-03-02"), ("program", "lifetime")], [], ["sign_in"]
    ) == rules.state_keys(Event.sign_in("s", "a", NOON))
    assert StateKeys() == rules.state_keys(SHARE)


def test_state_keys_use_the_local_date() -> None:
    """Cap periods are local: 23:30 on Sunday in Shanghai is still that Sunday's day and ISO week."""
    rules = program(
        Rule("share", ("share",), Fixed(1)),
        caps=(Cap("day", points=5), Cap("week", points=20), Cap("month", points=50)),
    )
    sunday_night = Event.share("s", "a", local(date(2026, 3, 1), 23, 30))
    assert (
        ("program", "day:2026-03-01"),
        ("program", "month:2026-03"),
        ("program", "week:2026-W09"),
    ) == rules.state_keys(sunday_night).counters


def test_a_disabled_kind_reads_nothing() -> None:
    """An event of a disabled kind reads no state and earns nothing."""
    rules = program(Rule("share", ("share",), Fixed(1), enabled=False), disabled_kinds={"share"})
    assert StateKeys() == rules.state_keys(SHARE)
    assert 0 == rules.evaluate(SHARE, EMPTY, NOON).total()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda rules: rules.evaluate(SHARE, EMPTY, NOON - timedelta(seconds=1)),
            InvalidArgumentError,
            "event.at=2026-03-02T04:00:00+00:00 is after now (2026-03-02T03:59:59+00:00); events in the future are refused",
        ),
        (
            lambda rules: rules.evaluate(SHARE, EMPTY, datetime(2026, 3, 2, 12)),  # noqa: DTZ001 - the naive input is the point
            NaiveDatetimeError,
            "now=datetime.datetime(2026, 3, 2, 12, 0) is naive; give it a time zone, e.g. .replace(tzinfo=UTC)",
        ),
        (
            lambda rules: rules.evaluate("share", EMPTY, NOON),
            ArgumentTypeError,
            "event='share' must be an Event, not str",
        ),
        (
            lambda rules: rules.evaluate(SHARE, MemberContext(), NOON),
            ArgumentTypeError,
            "state=MemberContext(tier=None, tags=frozenset(), joined_at=None, birthday=None, earn_multiplier=Fraction(1, 1)) must be a RuleState, not MemberContext",
        ),
        (
            lambda rules: rules.evaluate(Event("e", "tip", "a", NOON), EMPTY, NOON),
            InvalidArgumentError,
            "kind='tip' is not a registered event kind; registered kinds are 'anniversary', 'birthday', 'invite', 'invitee_registered', 'profile_completed', 'purchase', 'registration', 'review', 'share', 'sign_in'",
        ),
        (
            lambda rules: rules.evaluate(
                Event("e", "share", "a", NOON, {"channel": 5}), EMPTY, NOON
            ),
            InvalidArgumentError,
            "attributes['channel']=5 must be a str for 'share' events, not int",
        ),
        (
            lambda rules: rules.state_keys("share"),
            ArgumentTypeError,
            "event='share' must be an Event, not str",
        ),
        (
            lambda rules: rules.state_keys(Event("e", "tip", "a", NOON)),
            InvalidArgumentError,
            "kind='tip' is not a registered event kind; registered kinds are 'anniversary', 'birthday', 'invite', 'invitee_registered', 'profile_completed', 'purchase', 'registration', 'review', 'share', 'sign_in'",
        ),
        (
            lambda rules: rules.rule("nope"),
            InvalidArgumentError,
            "name='nope' is not a rule of this rule set, whose rules are 'share'",
        ),
    ],
    ids=[
        "future event",
        "naive now",
        "not an event",
        "not a state",
        "unknown kind",
        "schema violation",
        "state_keys of not an event",
        "state_keys of an unknown kind",
        "unknown rule",
    ],
)
def test_each_evaluation_input_error(
    make: Callable[[RuleSet], object], error: type[Exception], message: str
) -> None:
    """evaluate() and state_keys() refuse bad input at the boundary; events after now are refused."""
    rules = program(Rule("share", ("share",), Fixed(1)))
    with pytest.raises(error) as caught:
        make(rules)
    assert message == str(caught.value)


def test_events_in_the_past_are_evaluated() -> None:
    """A late delivery is evaluated by its own instant: a holiday purchase stays a holiday one."""
    rule = Rule(
        "spend",
        ("purchase",),
        PER_10_YUAN,
        multipliers=(Multiplier("holiday", 2, OnDates([NATIONAL_DAY])),),
    )
    late = program(rule).evaluate(
        purchase("100", at=local(NATIONAL_DAY)), EMPTY, local(NATIONAL_DAY) + timedelta(days=30)
    )
    assert 20 == late.total()


# -- the decision ---------------------------------------------------------------------------------

GOLDEN_DECISION = (
    '{"awards":[{"currency":"points","points":17,"rule":"spend"}],"budgets":[],'
    '"counters":[{"period":"day:2026-03-02","points":17,"scope":"program","tasks":1}],'
    '"event":{"at":"2026-03-02T04:00:00+00:00","attributes":{"amount":{"amount":"88.00","currency":"CNY"},'
    '"order_id":"o-1"},"id":"o-1","kind":"purchase","member":"alice"},'
    '"explanations":[{"conditions":{"children":[],"node":"event.amount >= 1000.00 CNY",'
    '"observed":[["event.amount","88.00 CNY"]],"passed":false,"reason":null},"points":0,'
    '"reasons":["condition_false"],"rule":"big_order","status":"not_eligible","trail":[]},'
    '{"conditions":{"children":[],"node":"event.amount >= 10.00 CNY",'
    '"observed":[["event.amount","88.00 CNY"]],"passed":true,"reason":null},"points":17,"reasons":[],'
    '"rule":"spend","status":"awarded","trail":[{"label":"base","note":"88.00 CNY (goods) / 10.00 CNY x 1",'
    '"op":"base","result":"44/5","value":"44/5"},{"label":"x tier","note":"","op":"multiply","result":"88/5",'
    '"value":2},{"label":"rounding (floor)","note":"floor","op":"round","result":17,"value":17},'
    '{"label":"program cap 100/day","note":"100 left","op":"limit","result":17,"value":100}]}],"streaks":[]}'
)


def golden_rules() -> RuleSet:
    """The rule set the golden decision was made with."""
    return program(
        Rule("spend", ("purchase",), PER_10_YUAN, Compare(Fact("event.amount"), ">=", cny(10))),
        Rule(
            "big_order",
            ("purchase",),
            Fixed(100),
            Compare(Fact("event.amount"), ">=", cny(1000)),
            priority=1,
        ),
        caps=(Cap("day", points=100),),
    )


def test_decision_json_is_pinned() -> None:
    """The decision the ledger stores keeps its exact bytes (golden)."""
    silver = RuleState(MemberContext(tier="silver", earn_multiplier=2))
    decision = golden_rules().evaluate(purchase("88.00"), silver, NOON)
    assert GOLDEN_DECISION == decision.to_json()


def test_decision_json_has_the_condition_trace_of_failed_rules() -> None:
    """A rule whose condition failed still shows its trace: what was observed, and why."""
    silver = RuleState(MemberContext(tier="silver", earn_multiplier=2))
    decision = golden_rules().evaluate(purchase("88.00"), silver, NOON)
    assert decision.explanation("big_order").conditions is not None
    assert decision.to_dict()["explanations"][0]["conditions"] is not None  # type: ignore[index]


def test_decisions_compare_by_value() -> None:
    """Equal inputs give equal decisions; a different state gives a different one."""
    rules = golden_rules()
    first = rules.evaluate(purchase("88.00"), EMPTY, NOON)
    second = rules.evaluate(purchase("88.00"), EMPTY, NOON)
    other = rules.evaluate(purchase("88.00"), RuleState(MemberContext(earn_multiplier=2)), NOON)
    assert first == second
    assert first != other


# -- configuration --------------------------------------------------------------------------------

GAME = EventRegistry.default().register(
    EventSchema(
        "game_won", {"score": FieldSpec("int"), "prize": FieldSpec("money", required=False)}
    )
)
OCTOBER = During(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 8, tzinfo=UTC))
NOVEMBER = During(datetime(2026, 10, 7, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
KINDS = "'anniversary', 'birthday', 'invite', 'invitee_registered', 'profile_completed', 'purchase', 'registration', 'review', 'share', 'sign_in'"


@pytest.mark.parametrize(
    ("rules", "options", "problem"),
    [
        (
            [Rule("a", ("share",), Fixed(1)), Rule("a", ("sign_in",), Fixed(1))],
            {},
            "rules[1].name: 'a' is already the name of rules[0]",
        ),
        ("rules", {}, "rules: 'rules' must be a sequence of Rule, not str"),
        ([Rule("a", ("share",), Fixed(1)), "b"], {}, "rules[1]: 'b' must be a Rule, not str"),
        (
            [Rule(f"r{i}", ("share",), Fixed(1)) for i in range(1001)],
            {},
            "rules: 1001 rules is over limits.RULES_MAX (1000)",
        ),
        (
            [Rule("a", ("shares",), Fixed(1))],
            {},
            f"rules[0].kinds[0]: 'shares' is not a registered event kind; registered kinds are {KINDS}",
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), Compare(Fact("event.rating"), ">", 3))],
            {},
            "rules[0].when.left: fact 'event.rating' is not an attribute of 'purchase' events, whose attributes are 'amount', 'lines', 'order_id', 'paid_with_points', 'shipping', 'tax'",
        ),
        (
            [Rule("a", ("sign_in",), Fixed(1), Compare(Fact("event.channel"), "==", "x"))],
            {},
            "rules[0].when.left: fact 'event.channel' is not an attribute of 'sign_in' events, whose attributes are none",
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), Compare(Fact("event.amount"), ">", "100"))],
            {},
            "rules[0].when: cannot compare money with str (event.amount > '100')",
        ),
        (
            [
                Rule(
                    "a",
                    ("purchase",),
                    Fixed(1),
                    All([OnWeekdays([1]), Compare(Fact("event.amount"), ">", 100)]),
                )
            ],
            {},
            "rules[0].when.conditions[1]: cannot compare money with number (event.amount > 100)",
        ),
        (
            [
                Rule(
                    "a",
                    ("review",),
                    Fixed(1),
                    Compare(Fact("member.is_birthday"), ">", Const(value=False)),
                )
            ],
            {},
            "rules[0].when: '>' does not order bool values (member.is_birthday > false); use '==' or '!='",
        ),
        (
            [
                Rule(
                    "a",
                    ("review",),
                    Fixed(1),
                    Compare(Fact("member.tags"), "==", Fact("member.tags")),
                )
            ],
            {},
            "rules[0].when: cannot compare strings (member.tags == member.tags); use In to look for values in a list",
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), Compare(Fact("event.lines"), "==", "x"))],
            {},
            "rules[0].when.left: fact 'event.lines' holds order lines: read 'event.lines.count', 'event.lines.categories', 'event.lines.products' instead",
        ),
        (
            [Rule("a", ("review",), Fixed(1), Compare(Fact("event.lines.count"), ">", 1))],
            {},
            "rules[0].when.left: fact 'event.lines.count' is not an attribute of 'review' events, whose attributes are 'length', 'product', 'rating'",
        ),
        (
            [
                Rule(
                    "a", ("purchase", "review"), Fixed(1), Compare(Fact("event.product"), "==", "x")
                )
            ],
            {},
            "rules[0].when.left: fact 'event.product' is not an attribute of 'purchase' events, whose attributes are 'amount', 'lines', 'order_id', 'paid_with_points', 'shipping', 'tax'",
        ),
        (
            [
                Rule(
                    "a",
                    ("game_won", "purchase"),
                    Fixed(1),
                    Compare(Fact("event.amount"), ">", cny(1)),
                )
            ],
            {
                "registry": EventRegistry.default().register(
                    EventSchema("game_won", {"amount": FieldSpec("int")})
                )
            },
            "rules[0].when.left: fact 'event.amount' has different types in the rule's kinds (int, money)",
        ),
        (
            [Rule("a", ("game_won",), Fixed(1), Compare(Fact("event.lines.count"), ">", 1))],
            {
                "registry": EventRegistry.default().register(
                    EventSchema("game_won", {"lines": FieldSpec("strings")})
                )
            },
            "rules[0].when.left: fact 'event.lines.count' needs 'lines' to be order lines, not strings",
        ),
        (
            [
                Rule(
                    "a",
                    ("purchase",),
                    Fixed(1),
                    Compare(Arith("+", Fact("event.amount"), 1), ">", cny(1)),
                )
            ],
            {},
            "rules[0].when.left: cannot compute money + number (event.amount + 1)",
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), In(Fact("event.amount"), ["1"]))],
            {},
            "rules[0].when: cannot look for str values in money (event.amount)",
        ),
        (
            [Rule("a", ("review",), Fixed(1), In(Fact("member.tags"), [1]))],
            {},
            "rules[0].when: cannot look for number values in strings (member.tags)",
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), In(Fact("event.lines"), ["x"]))],
            {},
            "rules[0].when.expr: fact 'event.lines' holds order lines: read 'event.lines.count', 'event.lines.categories', 'event.lines.products' instead",
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), Between(Fact("event.amount"), cny(5), 10))],
            {},
            "rules[0].when: cannot range money (event.amount) between money and number",
        ),
        (
            [
                Rule(
                    "a",
                    ("review",),
                    Fixed(1),
                    Between(Fact("member.is_birthday"), Const(value=False), Const(value=True)),
                )
            ],
            {},
            "rules[0].when: cannot range over bool (member.is_birthday)",
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), Between(Fact("event.amount"), cny(500), cny(100)))],
            {},
            "rules[0].when: can never hold (the range's low end 500.00 CNY is not below its high end 100.00 CNY), so the rule is unreachable",
        ),
        (
            [
                Rule(
                    "a",
                    ("review",),
                    Fixed(1),
                    All([OnWeekdays([1]), Compare(Const(1), ">", Const(2))]),
                )
            ],
            {},
            "rules[0].when: can never hold (1 > 2 compares two constants and is false), so the rule is unreachable",
        ),
        (
            [
                Rule(
                    "a",
                    ("review",),
                    Fixed(1),
                    Any([Between(Fact("event.rating"), 5, 5), Between(Fact("event.rating"), 3, 1)]),
                )
            ],
            {},
            "rules[0].when: can never hold (the range's low end 5 is not below its high end 5), so the rule is unreachable",
        ),
        (
            [
                Rule(
                    "a",
                    ("review",),
                    Fixed(1),
                    bonuses=(Bonus(1, Compare(Fact("event.score"), ">", 1)),),
                )
            ],
            {},
            "rules[0].bonuses[0].when.left: fact 'event.score' is not an attribute of 'review' events, whose attributes are 'length', 'product', 'rating'",
        ),
        (
            [
                Rule(
                    "a",
                    ("review",),
                    Fixed(1),
                    multipliers=(Multiplier("m", 2, Compare(Fact("event.score"), ">", 1)),),
                )
            ],
            {},
            "rules[0].multipliers[0].when.left: fact 'event.score' is not an attribute of 'review' events, whose attributes are 'length', 'product', 'rating'",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"disabled_kinds": {"share"}},
            "rules[0]: every kind of the rule is disabled ('share'), so it can never fire; disable the rule (enabled=False) or enable one of its kinds",
        ),
        (
            [Rule("a", ("share",), Fixed(1), enabled=False)],
            {"disabled_kinds": {"shares"}},
            f"disabled_kinds: 'shares' is not a registered event kind; registered kinds are {KINDS}",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"disabled_kinds": "share"},
            "disabled_kinds: 'share' must be a set of event kinds, not str",
        ),
        (
            [Rule("a", ("share",), Fixed(0))],
            {},
            "rules[0].effect: Fixed(0) with no bonuses and no streak awards nothing",
        ),
        (
            [Rule("a", ("review",), PER_10_YUAN)],
            {},
            "rules[0].effect: Rate needs a money attribute 'amount' in 'review' events",
        ),
        (
            [
                Rule(
                    "a",
                    ("game_won",),
                    Rate(1, per=cny(1), rounding="floor", counts={"goods", "tax"}),
                )
            ],
            {
                "registry": EventRegistry.default().register(
                    EventSchema("game_won", {"amount": FieldSpec("money")})
                )
            },
            "rules[0].effect: Rate needs a money attribute 'tax' in 'game_won' events",
        ),
        (
            [Rule("a", ("share",), Fixed(1), budget="launch")],
            {"budgets": {"spring": 10}},
            "rules[0].budget: 'launch' is not a budget of the rule set, whose budgets are 'spring'",
        ),
        (
            [Rule("a", ("share",), Fixed(1), group="signup")],
            {},
            "rules[0].group: 'signup' is not a group of the rule set, whose groups are none",
        ),
        (
            [Rule("a", ("share",), Fixed(50), caps=(Cap("day", points=30),))],
            {},
            "rules[0].caps[0].points: 30 is smaller than one award of the rule (Fixed(50))",
        ),
        (
            [Rule("a", ("share",), Fixed(50))],
            {"caps": (Cap("day", points=30),)},
            "caps[0].points: 30 is smaller than one award of rules[0] ('a': Fixed(50))",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"caps": (Cap("day", points=30), Cap("day", tasks=3))},
            "caps: caps[1].period='day' is already capped by caps[0]; give one cap per period with points=, tasks= or both",
        ),
        (
            [
                Rule("a", ("share",), Fixed(1), OCTOBER, group="g", priority=1),
                Rule("b", ("share",), Fixed(2), All([NOVEMBER, OnWeekdays([1])]), group="g"),
            ],
            {"groups": {"g": "first"}},
            "rules[1].when: its During window [2026-10-07T00:00:00+00:00, 2026-11-01T00:00:00+00:00) overlaps rules[0]'s [2026-10-01T00:00:00+00:00, 2026-10-08T00:00:00+00:00) in the 'first' group 'g'; its rules' windows must not overlap",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"zone": "Mars/Olympus"},
            "zone: 'Mars/Olympus' is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"multipliers": "sum"},
            "multipliers: 'sum' must be 'multiply', 'add' or 'max'",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"groups": {"g": "all"}},
            "groups: groups['g']='all' must be 'first', 'max' or 'stack'",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"groups": ["g"]},
            "groups: ['g'] must be a mapping, not list",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"groups": {f"g{i}": "stack" for i in range(1001)}},
            "groups: 1001 entries is over limits.GROUPS_MAX (1000)",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"budgets": {"b": 0}},
            "budgets: budgets['b']=0 must be an int from 1 to 9223372036854775807",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"budgets": {" b": 5}},
            "budgets: budgets key=' b' must be non-empty, without leading or trailing whitespace",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"registry": "default"},
            "registry: 'default' must be an EventRegistry, not str",
        ),
        (
            [Rule("a", ("share",), Fixed(1))],
            {"feb29": "feb29"},
            "feb29: 'feb29' must be 'feb28' or 'mar1'",
        ),
    ],
)
def test_each_configuration_problem(
    rules: object, options: dict[str, object], problem: str
) -> None:
    """Each problem of a rule set is named with its path, its value and what is valid."""
    arguments: dict[str, object] = {"zone": SH, **options}
    with pytest.raises(ConfigurationError) as caught:
        RuleSet(rules, **arguments)  # type: ignore[arg-type]
    assert (problem,) == caught.value.problems


def test_every_problem_is_reported_at_once() -> None:
    """A rule set with many problems lists all of them in one error."""
    with pytest.raises(ConfigurationError) as caught:
        RuleSet(
            [
                Rule("a", ("shares",), Fixed(1), budget="x"),
                Rule(
                    "a", ("review",), PER_10_YUAN, Compare(Fact("event.amount"), ">", 1), group="g"
                ),
            ],
            zone="Nowhere",
            multipliers="sum",  # type: ignore[arg-type]
        )
    assert (
        "RuleSet has 8 problems:\n"
        "  - rules[1].name: 'a' is already the name of rules[0]\n"
        "  - zone: 'Nowhere' is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'\n"
        "  - multipliers: 'sum' must be 'multiply', 'add' or 'max'\n"
        f"  - rules[0].kinds[0]: 'shares' is not a registered event kind; registered kinds are {KINDS}\n"
        "  - rules[0].budget: 'x' is not a budget of the rule set, whose budgets are none\n"
        "  - rules[1].when.left: fact 'event.amount' is not an attribute of 'review' events, whose attributes are 'length', 'product', 'rating'\n"
        "  - rules[1].effect: Rate needs a money attribute 'amount' in 'review' events\n"
        "  - rules[1].group: 'g' is not a group of the rule set, whose groups are none"
    ) == str(caught.value)


def test_host_kinds_are_checked_and_evaluated() -> None:
    """A host's own kind is checked statically and its events evaluated like built-in ones."""
    rules = RuleSet(
        [
            Rule(
                "win",
                ("game_won",),
                Fixed(10),
                Compare(Fact("event.score"), ">=", 100),
                bonuses=(Bonus(5, Compare(Fact("event.prize"), ">", cny(0))),),
            )
        ],
        zone=SH,
        registry=GAME,
    )
    event = Event("g-1", "game_won", "alice", NOON, {"score": 120, "prize": cny(5)})
    assert 15 == rules.evaluate(event, EMPTY, NOON).total()


def test_describe_lists_the_rules() -> None:
    """describe() gives a line per rule, in evaluation order."""
    rules = program(
        Rule(
            "spend",
            ("purchase",),
            PER_10_YUAN,
            multipliers=(Multiplier("holiday", 2, OnDates([NATIONAL_DAY])),),
        ),
        STREAK,
        Rule(
            "review",
            ("review",),
            Fixed(5),
            Not(OnWeekdays([7])),
            bonuses=(Bonus(5, Compare(Fact("event.length"), ">", 20)),),
            priority=2,
            enabled=False,
        ),
    )
    assert (
        "review: review, 5 points (+5 bonus, conditional, disabled)\n"
        "sign_in: sign_in, 0 points (streak 1/2/3/5/10)\n"
        "spend: purchase, 1 points per 10.00 CNY (x2 holiday)"
    ) == rules.describe()
    assert STREAK is rules.rule("sign_in")


# -- rule construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            call(Rule, "a", (), Fixed(1)),
            InvalidArgumentError,
            "kinds must name at least one event kind",
        ),
        (
            call(Rule, "a", ("share", "share"), Fixed(1)),
            InvalidArgumentError,
            "kinds[1]='share' is listed twice",
        ),
        (
            call(Rule, "a", ("share",), 5),
            ArgumentTypeError,
            "effect=5 must be Fixed or Rate, not int",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), "always"),
            ArgumentTypeError,
            "when='always' must be a condition, not str",
        ),
        (
            call(Rule, "a" * 65, ("share",), Fixed(1)),
            InvalidArgumentError,
            "name is 65 characters long, over limits.RULE_NAME_LENGTH_MAX (64)",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), currency="Points"),
            InvalidArgumentError,
            "currency='Points' must be lower-case letters, digits and underscores, starting with a letter",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), at_cap="some"),
            InvalidArgumentError,
            "at_cap='some' must be 'partial' or 'nothing'",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), priority=10**7),
            InvalidArgumentError,
            "priority=10000000 is over limits.RULE_PRIORITY_MAX (1000000)",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), tier_multiplier=1),
            ArgumentTypeError,
            "tier_multiplier=1 must be a bool, not int",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), enabled="yes"),
            ArgumentTypeError,
            "enabled='yes' must be a bool, not str",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), streak=(1, 2)),
            ArgumentTypeError,
            "streak=(1, 2) must be a StreakLadder or None, not tuple",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), caps=(Cap("day", points=1), Cap("day", tasks=1))),
            InvalidArgumentError,
            "caps[1].period='day' is already capped by caps[0]; give one cap per period with points=, tasks= or both",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), caps=[Cap("day", points=1)] * 9),
            InvalidArgumentError,
            "caps has 9 items, over limits.CAPS_MAX (8)",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), caps="day"),
            ArgumentTypeError,
            "caps='day' must be a tuple of Cap, not str",
        ),
        (
            call(Rule, "a", ("share",), Fixed(1), bonuses=(5,)),
            ArgumentTypeError,
            "bonuses[0]=5 must be a Bonus, not int",
        ),
        (
            call(
                Rule,
                "a",
                ("share",),
                Fixed(1),
                multipliers=(Multiplier("m", 2), Multiplier("m", 3)),
            ),
            InvalidArgumentError,
            "multipliers[1].name='m' is already the name of multipliers[0]",
        ),
        (call(Fixed, 1.0), ArgumentTypeError, "points=1.0 must be an int, not float"),
        (
            call(Fixed, 1, rounding="nearest"),
            InvalidArgumentError,
            "rounding='nearest' must be one of 'floor', 'ceiling', 'down', 'up', 'half_even', 'half_up', 'half_down'",
        ),
        (
            call(Rate, 0, per=cny(10), rounding="floor"),
            InvalidArgumentError,
            "points=0 must be an int from 1 to 9223372036854775807",
        ),
        (
            call(Rate, 1, per=cny(0), rounding="floor"),
            InvalidArgumentError,
            "per=0.00 CNY must be more than zero",
        ),
        (
            call(Rate, 1, per=10, rounding="floor"),
            ArgumentTypeError,
            "per=10 must be Money, not int",
        ),
        (
            call(Rate, 1, per=cny(10), rounding="floor", counts={"vat"}),
            InvalidArgumentError,
            "counts item 'vat' must be one of 'goods', 'tax', 'shipping', 'paid_with_points'",
        ),
        (
            call(Rate, 1, per=cny(10), rounding="floor", counts=set()),
            InvalidArgumentError,
            "counts must name at least one of 'goods', 'tax', 'shipping', 'paid_with_points'",
        ),
        (
            call(Rate, 1, per=cny(10), rounding="floor", counts="goods"),
            ArgumentTypeError,
            "counts='goods' must be a set of parts of the amount, not str",
        ),
        (
            call(Bonus, 0, OnWeekdays([1])),
            InvalidArgumentError,
            "points=0 must not be zero: a bonus adds or takes points",
        ),
        (call(Bonus, 1, None), ArgumentTypeError, "when=None must be a condition, not NoneType"),
        (
            call(Bonus, 1, OnWeekdays([1]), multiplied=1),
            ArgumentTypeError,
            "multiplied=1 must be a bool, not int",
        ),
        (
            call(Multiplier, "m", -1),
            InvalidArgumentError,
            "factor=Fraction(-1, 1) must not be negative",
        ),
        (
            call(Multiplier, "m", 1.5),
            ArgumentTypeError,
            "factor=1.5 must be a Fraction or an int, not float",
        ),
        (
            call(Multiplier, "m", 101),
            InvalidArgumentError,
            "factor=Fraction(101, 1) is over limits.RULE_MULTIPLIER_MAX (100)",
        ),
        (call(Cap, "day"), InvalidArgumentError, "Cap('day') needs points=, tasks= or both"),
        (
            call(Cap, "year", points=1),
            InvalidArgumentError,
            "period='year' must be one of 'day', 'week', 'month', 'lifetime'",
        ),
        (
            call(Cap, "day", points=-5),
            InvalidArgumentError,
            "points=-5 must be an int from 1 to 9223372036854775807",
        ),
        (
            call(Cap, "day", tasks=0),
            InvalidArgumentError,
            "tasks=0 must be an int from 1 to 9223372036854775807",
        ),
        (call(StreakLadder, ()), InvalidArgumentError, "rewards must hold at least one reward"),
        (
            call(StreakLadder, (1, -1)),
            InvalidArgumentError,
            "rewards[1]=-1 must be an int from 0 to 9223372036854775807",
        ),
        (
            call(StreakLadder, range(367)),
            InvalidArgumentError,
            "rewards has 367 steps, over limits.STREAK_LADDER_MAX (366)",
        ),
        (
            call(StreakLadder, "123"),
            ArgumentTypeError,
            "rewards='123' must be a tuple of int, not str",
        ),
        (
            call(StreakLadder, (1,), reset="weekly"),
            InvalidArgumentError,
            "reset='weekly' must be 'missed_day'",
        ),
        (
            call(StreakLadder, (1,), repeat="bounce"),
            InvalidArgumentError,
            "repeat='bounce' must be 'last' or 'cycle'",
        ),
    ],
)
def test_each_rule_part_error(make: Call, error: type[Exception], message: str) -> None:
    """Each bad rule or rule part is refused when built, naming the field and what is valid."""
    with pytest.raises(error) as caught:
        make()
    assert message == str(caught.value)


# -- reversals ------------------------------------------------------------------------------------

ORDER = Event.purchase(
    "o-1",
    "alice",
    NOON,
    amount=cny(330),
    order_id="o-1",
    tax=cny(30),
    lines=(Line("a", "books", cny(100)), Line("b", "toys", cny(200))),
)
SPEND = Rule("spend", ("purchase",), PER_10_YUAN)


@pytest.mark.parametrize(
    ("rule", "kwargs", "expected"),
    [
        (SPEND, {"lines": [0]}, Fraction(1, 3)),
        (SPEND, {"lines": [0, 1]}, Fraction(1)),
        (SPEND, {"lines": []}, Fraction(0)),
        (SPEND, {"amount": cny(150)}, Fraction(1, 2)),
        (SPEND, {"amount": cny(330)}, Fraction(1)),
        (
            Rule(
                "t", ("purchase",), Rate(1, per=cny(1), rounding="floor", counts={"goods", "tax"})
            ),
            {"amount": cny(165)},
            Fraction(1, 2),
        ),
        (Rule("f", ("purchase",), Fixed(100)), {"amount": cny(30)}, Fraction(1, 10)),
    ],
)
def test_refund_fraction(rule: Rule, kwargs: dict[str, object], expected: Fraction) -> None:
    """A refund's share of the counted amount, by amount or by lines, at most 1."""
    assert expected == refund_fraction(ORDER, rule, **kwargs)  # type: ignore[arg-type]


def test_refund_of_an_order_paid_with_points_only() -> None:
    """An order whose counted amount is zero gives a zero share."""
    order = Event.purchase("o", "a", NOON, amount=cny(10), order_id="o", paid_with_points=cny(10))
    assert Fraction(0) == refund_fraction(order, SPEND, amount=cny(10))


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            call(refund_fraction, ORDER, SPEND),
            InvalidArgumentError,
            "give exactly one of amount= and lines=",
        ),
        pytest.param(
            call(refund_fraction, ORDER, SPEND, amount=cny(1), lines=[0]),
            InvalidArgumentError,
            "give exactly one of amount= and lines=",
            id="both",
        ),
        (
            call(refund_fraction, ORDER, SPEND, amount=Money(1, "USD")),
            InvalidArgumentError,
            "amount=1.00 USD must be in the event's currency (CNY)",
        ),
        (
            call(refund_fraction, ORDER, SPEND, amount=cny(-1)),
            InvalidArgumentError,
            "amount=-1.00 CNY must not be negative",
        ),
        (
            call(refund_fraction, ORDER, SPEND, amount=1),
            ArgumentTypeError,
            "amount=1 must be Money, not int",
        ),
        (
            call(refund_fraction, ORDER, SPEND, lines=[2]),
            InvalidArgumentError,
            "lines[0]=2 must be an int from 0 to 1",
        ),
        (
            call(refund_fraction, ORDER, SPEND, lines=[1, 1]),
            InvalidArgumentError,
            "lines[1]=1 is listed twice",
        ),
        (
            call(refund_fraction, ORDER, SPEND, lines="0"),
            ArgumentTypeError,
            "lines='0' must be a sequence of line indexes",
        ),
        (
            call(refund_fraction, purchase("5"), SPEND, lines=[0]),
            InvalidArgumentError,
            "lines=[0]: event 'o-1' has no lines",
        ),
        (
            call(refund_fraction, SHARE, SPEND, amount=cny(1)),
            InvalidArgumentError,
            "event 's' (share) has no money amount to refund against",
        ),
        (
            call(refund_fraction, "o-1", SPEND, amount=cny(1)),
            ArgumentTypeError,
            "event='o-1' must be an Event, not str",
        ),
        (
            call(clawback, 10, 0, 0.5),
            ArgumentTypeError,
            "fraction=0.5 must be a Fraction or an int, not float",
        ),
        (
            call(clawback, 10, 0, Fraction(3, 2)),
            InvalidArgumentError,
            "fraction=Fraction(3, 2) must be from 0 to 1",
        ),
        (
            call(clawback, 10, 11, 1),
            InvalidArgumentError,
            "already_reversed=11 must have the sign of awarded (10) and not be more than it",
        ),
        (
            call(clawback, 10, -1, 1),
            InvalidArgumentError,
            "already_reversed=-1 must have the sign of awarded (10) and not be more than it",
        ),
        (
            call(clawback, awarded=True, already_reversed=0, fraction=1),
            ArgumentTypeError,
            "awarded=True must be an int, not bool",
        ),
    ],
)
def test_each_reversal_error(make: Call, error: type[Exception], message: str) -> None:
    """Bad refunds and clawbacks are refused with a clear message."""
    with pytest.raises(error) as caught:
        make()
    assert message == str(caught.value)


@pytest.mark.parametrize(
    ("awarded", "already", "fraction", "expected"),
    [
        (37, 0, Fraction(1, 3), 12),
        (37, 12, Fraction(2, 3), 12),
        (37, 24, Fraction(1), 13),
        (37, 0, Fraction(1), 37),
        (37, 37, Fraction(1), 0),
        (37, 20, Fraction(1, 3), 0),
        (-20, 0, Fraction(1, 2), -10),
        (-21, -10, Fraction(1), -11),
        (0, 0, Fraction(1), 0),
        (10, 0, 0, 0),
    ],
)
def test_clawback(awarded: int, already: int, fraction: Fraction, expected: int) -> None:
    """Clawbacks follow the cumulative share, rounded toward zero, never past the award."""
    assert expected == clawback(awarded, already, fraction)


def test_dst_streak_in_new_york() -> None:
    """Sign-ins on consecutive local days across the spring change keep the streak."""
    zone = ZoneInfo("America/New_York")
    rules = RuleSet([STREAK], zone="America/New_York")
    days = [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    events = [
        Event.sign_in(f"s-{i}", "a", datetime(d.year, d.month, d.day, 23, 30, tzinfo=zone))
        for i, d in enumerate(days)
    ]
    decisions, _ = run(rules, events)
    assert [1, 2, 3] == points(decisions)


def test_state_apply_adds_increments_and_replaces_streaks() -> None:
    """apply() adds counter and budget increments and stores the new streaks."""
    rules = program(
        Rule("share", ("share",), Fixed(10), budget="b", caps=(Cap("day", points=100),)),
        Rule("sign_in", ("share",), Fixed(0), streak=StreakLadder((1,))),
        budgets={"b": 1000},
    )
    state = RuleState(
        MemberContext(),
        {("rule:share", "day:2026-03-02"): Counter(5, 1)},
        {"b": 7},
        {"sign_in": Streak(MONDAY - timedelta(days=1), 3)},
    )
    decision = rules.evaluate(SHARE, state, NOON)
    after = state.apply(decision)
    assert Counter(15, 2) == after.counter(("rule:share", "day:2026-03-02"))
    assert 17 == after.budget_used("b")
    assert Streak(MONDAY, 4) == after.streak("sign_in")
    assert state.member is after.member


ORDERS = EventRegistry.default().register(
    EventSchema(
        "order",
        {"amount": FieldSpec("money", required=False), "tax": FieldSpec("money", required=False)},
    )
)


def test_rate_errors_on_host_kinds() -> None:
    """A rate on an event without its amount, or with a part in another currency, is an error."""
    rules = RuleSet([Rule("spend", ("order",), PER_10_YUAN)], zone=SH, registry=ORDERS)
    bare = Event("o-1", "order", "a", NOON)
    mixed = Event("o-2", "order", "a", NOON, {"amount": cny(100), "tax": Money(5, "USD")})
    assert (Status.ERROR, (Reason.MISSING_FACT,), 0) == verdict(
        rules.evaluate(bare, EMPTY, NOON), "spend"
    )
    assert (Status.ERROR, (Reason.CURRENCY_MISMATCH,), 0) == verdict(
        rules.evaluate(mixed, EMPTY, NOON), "spend"
    )


def test_several_streaks_move_together() -> None:
    """Two streak rules on one event both move, and the decision lists them by name."""
    rules = program(
        Rule("b_streak", ("sign_in",), Fixed(0), streak=StreakLadder((1,))),
        Rule("a_streak", ("sign_in",), Fixed(0), streak=StreakLadder((2,)), priority=1),
    )
    decision = rules.evaluate(Event.sign_in("s", "a", NOON), EMPTY, NOON)
    assert ("a_streak", "b_streak") == tuple(name for name, _ in decision.streaks)
    assert 3 == decision.total()


@pytest.mark.parametrize(
    ("rules", "problems"),
    [
        (
            [Rule("a", ("shares", "share"), Fixed(1), Compare(Fact("event.channel"), "==", "x"))],
            [
                f"rules[0].kinds[0]: 'shares' is not a registered event kind; registered kinds are {KINDS}"
            ],
        ),
        (
            [Rule("a", ("shares",), Fixed(1), Compare(Fact("event.channel"), "==", "x"))],
            [
                f"rules[0].kinds[0]: 'shares' is not a registered event kind; registered kinds are {KINDS}"
            ],
        ),
        (
            [Rule("a", ("review",), Fixed(1), Compare(Arith("+", Fact("event.score"), 1), ">", 1))],
            [
                "rules[0].when.left.left: fact 'event.score' is not an attribute of 'review' events, whose attributes are 'length', 'product', 'rating'"
            ],
        ),
        (
            [Rule("a", ("review",), Fixed(1), Between(Fact("event.score"), 1, 2))],
            [
                "rules[0].when.expr: fact 'event.score' is not an attribute of 'review' events, whose attributes are 'length', 'product', 'rating'"
            ],
        ),
        (
            [
                Rule(
                    "a",
                    ("purchase",),
                    Fixed(1),
                    Compare(Arith("*", Fact("event.amount"), Fact("event.tax")), ">", cny(1)),
                )
            ],
            ["rules[0].when.left: cannot compute money * money (event.amount * event.tax)"],
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), Compare(Arith("/", 1, Fact("event.tax")), ">", 1))],
            ["rules[0].when.left: cannot compute number / money (1 / event.tax)"],
        ),
        (
            [Rule("a", ("purchase",), Fixed(1), Compare(Arith("-", "x", 1), ">", 1))],
            ["rules[0].when.left: cannot compute str - number ('x' - 1)"],
        ),
    ],
)
def test_each_static_check_path(rules: list[Rule], problems: list[str]) -> None:
    """Static checks look inside expressions and skip kinds already reported unknown."""
    with pytest.raises(ConfigurationError) as caught:
        program(*rules)
    assert problems == list(caught.value.problems)


def test_static_checks_accept_good_arithmetic_and_constants() -> None:
    """Number and money arithmetic that type-checks, and constant comparisons that hold, pass."""
    rules = program(
        Rule(
            "a",
            ("purchase",),
            Fixed(1),
            All(
                [
                    Compare(
                        Arith("/", Fact("event.amount"), Fact("event.tax")),
                        ">",
                        Arith("+", 1, Decimal("0.5")),
                    ),
                    Compare(
                        Arith("/", Fact("event.amount"), 2), ">", Arith("*", 2, Fact("event.tax"))
                    ),
                    Compare(Const(2), ">", Const(1)),
                    Compare(Const(cny(1)), "<", Const(Money(2, "USD"))),
                    Between(Fact("event.amount"), cny(1), Money(5, "USD")),
                    Any([Between(Fact("event.amount"), cny(5), cny(1)), OnWeekdays([1])]),
                ]
            ),
        )
    )
    assert ("a",) == rules.rules_for("purchase")


def test_too_many_kinds_on_a_rule() -> None:
    """A rule may name at most EVENT_KINDS_MAX kinds."""
    from pointkit.exceptions import LimitExceededError  # noqa: PLC0415 - one test needs it

    with pytest.raises(LimitExceededError) as caught:
        Rule("a", tuple(f"k{i}" for i in range(257)), Fixed(1))
    assert "kinds has 257 kinds, over limits.EVENT_KINDS_MAX (256)" == str(caught.value)
