"""Properties of tier ladders: monotone tiers, downgrades only when and as far as the policy allows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st

from pointkit.tiers import (
    CalendarYear,
    DowngradePolicy,
    Lifetime,
    NoReview,
    QualifyingMetric,
    ReviewEveryMonths,
    ReviewYearlyOn,
    RollingMonths,
    Tier,
    TierChangeReason,
    TierLadder,
    TierState,
)


if TYPE_CHECKING:
    from pointkit.tiers import QualificationWindow, ReviewSchedule, TierDecision

# Zones with the awkward cases: half-hour DST (Lord Howe), DST changes at midnight (Sao Paulo
# until 2019, Santiago), and a southern-hemisphere summer across the new year.
ZONES = st.sampled_from(
    [
        "UTC",
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
        "America/Santiago",
    ]
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - bounds of a strategy that adds a zone
    max_value=datetime(2060, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
metrics = st.integers(-100, 60_000)
spans = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=800))
windows: st.SearchStrategy[QualificationWindow] = st.one_of(
    st.just(Lifetime()), st.just(CalendarYear()), st.builds(RollingMonths, st.integers(1, 24))
)
schedules: st.SearchStrategy[ReviewSchedule] = st.one_of(
    st.just(NoReview()),
    st.just(ReviewYearlyOn(((1, 1),))),
    st.just(ReviewYearlyOn(((1, 1), (7, 1)))),
    st.builds(ReviewEveryMonths, st.integers(1, 24)),
)


@st.composite
def ladders(draw: st.DrawFn) -> TierLadder:
    """A valid ladder of 1 to 6 tiers with any window, schedule, grace and step policy."""
    gaps = draw(st.lists(st.integers(1, 10_000), max_size=5))
    tiers = [
        Tier(f"t{index}", threshold)
        for index, threshold in enumerate([0, *itertools.accumulate(gaps)])
    ]
    review = draw(schedules)
    reviewed = not isinstance(review, NoReview)
    policy = DowngradePolicy(
        review,
        grace_days=draw(st.integers(0, 90)) if reviewed else 0,
        one_step=draw(st.booleans()) if reviewed else False,
    )
    return TierLadder(tiers, QualifyingMetric("points"), draw(windows), policy, draw(ZONES))


@st.composite
def states(draw: st.DrawFn, ladder: TierLadder) -> TierState:
    """Any valid stored state on *ladder*, including review dates off its schedule."""
    since = draw(instants)
    never = draw(st.booleans())
    return TierState(
        "m",
        draw(st.sampled_from(ladder.tiers)).name,
        since,
        draw(st.none() | spans.map(lambda span: since + span)),
        None if never else draw(st.none() | spans.map(lambda span: since + span)),
        never,
    )


@st.composite
def situations(draw: st.DrawFn) -> tuple[TierLadder, TierState, datetime]:
    """A ladder, a state on it, and an instant at or after the state's start."""
    ladder = draw(ladders())
    state = draw(states(ladder))
    now = state.since + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1_500)))
    return ladder, state, now


def rank(ladder: TierLadder, name: str) -> int:
    """The index of the tier called *name*."""
    return [tier.name for tier in ladder.tiers].index(name)


def downgrades(decision: TierDecision) -> int:
    """How many downgrades a decision holds."""
    return sum(change.reason is TierChangeReason.DOWNGRADE for change in decision.changes)


@given(ladders(), metrics, metrics)
def test_tier_for_is_monotone(ladder: TierLadder, low: int, high: int) -> None:
    """More metric never earns a lower tier, and the tier earned is reached by the metric."""
    low, high = sorted((low, high))
    assert rank(ladder, ladder.tier_for(low).name) <= rank(ladder, ladder.tier_for(high).name)
    tier = ladder.tier_for(high)
    assert tier.threshold <= max(high, 0)


@given(situations(), metrics, metrics)
def test_evaluate_is_monotone_in_the_metric(
    situation: tuple[TierLadder, TierState, datetime], low: int, high: int
) -> None:
    """From the same state at the same instant, more metric never gives a lower tier."""
    ladder, state, now = situation
    low, high = sorted((low, high))
    for start in (state, None):
        lower = ladder.evaluate("m", start, low, now).state.tier
        higher = ladder.evaluate("m", start, high, now).state.tier
        assert rank(ladder, lower) <= rank(ladder, higher)


@given(situations(), metrics)
def test_a_downgrade_never_skips_more_steps_than_allowed(
    situation: tuple[TierLadder, TierState, datetime], metric: int
) -> None:
    """One evaluation downgrades at most once: one tier with one_step, else to the qualified tier."""
    ladder, state, now = situation
    decision = ladder.evaluate("m", state, metric, now)
    before, after = rank(ladder, state.tier), rank(ladder, decision.state.tier)
    qualified = rank(ladder, ladder.tier_for(metric).name)
    assert downgrades(decision) <= 1
    if after < before:
        expected = before - 1 if ladder.downgrade.one_step else qualified
        assert expected == after
        assert 1 == downgrades(decision)


@given(situations(), metrics)
def test_evaluate_never_downgrades_before_the_policy_allows(
    situation: tuple[TierLadder, TierState, datetime], metric: int
) -> None:
    """Before the next review and any grace end, and for never-downgrade members, no tier falls."""
    ladder, state, now = situation
    decision = ladder.evaluate("m", state, metric, now)
    due = state.next_check is not None and state.next_check <= now
    if not due or state.never_downgrade:
        assert rank(ladder, state.tier) <= rank(ladder, decision.state.tier)
        assert 0 == downgrades(decision)
    assert state.never_downgrade == decision.state.never_downgrade
    for change in decision.changes:
        if change.reason is TierChangeReason.DOWNGRADE:
            assert state.since <= change.at <= now


@given(situations(), metrics)
def test_upgrades_happen_at_once(
    situation: tuple[TierLadder, TierState, datetime], metric: int
) -> None:
    """A metric that earns a higher tier moves the member straight there, now."""
    ladder, state, now = situation
    decision = ladder.evaluate("m", state, metric, now)
    qualified = ladder.tier_for(metric)
    if rank(ladder, qualified.name) > rank(ladder, state.tier):
        assert (qualified.name, now, None) == (
            decision.state.tier,
            decision.state.since,
            decision.state.grace_until,
        )
        assert [(TierChangeReason.UPGRADE, now)] == [(c.reason, c.at) for c in decision.changes]


@given(situations(), metrics)
def test_decisions_are_consistent_and_settled(
    situation: tuple[TierLadder, TierState, datetime], metric: int
) -> None:
    """Changes chain old tier to new in time order, and evaluating again at once changes nothing."""
    ladder, state, now = situation
    decision = ladder.evaluate("m", state, metric, now)
    new = decision.state
    tiers = [state.tier, *(change.to_tier for change in decision.changes)]
    assert tiers[-1] == new.tier
    assert [change.from_tier for change in decision.changes] == tiers[:-1]
    instants_ = [change.at for change in decision.changes]
    assert sorted(instants_) == instants_
    assert state.since <= new.since <= now
    assert new.next_review is None or new.next_review > now
    if not isinstance(ladder.downgrade.review, NoReview):
        assert new.next_review is not None
    again = ladder.evaluate("m", new, metric, now)
    assert (new, ()) == (again.state, again.changes)


@given(
    ladders(),
    instants,
    st.lists(
        st.tuples(st.timedeltas(timedelta(0), timedelta(days=400)), metrics, st.integers(0, 9)),
        min_size=1,
        max_size=12,
    ),
)
def test_a_member_history_follows_the_policy(
    ladder: TierLadder, start: datetime, steps: list[tuple[timedelta, int, int]]
) -> None:
    """Along any history of evaluations and manual changes, tiers fall only when due, as far as allowed."""
    state: TierState | None = None
    now = start
    for wait, metric, action in steps:
        now += wait
        if action == 0 and state is not None:
            tier = ladder.tiers[metric % len(ladder.tiers)].name
            decision = ladder.set_tier("m", state, tier, now, never_downgrade=metric % 3 == 0)
            assert (tier, now, None) == (
                decision.state.tier,
                decision.state.since,
                decision.state.grace_until,
            )
            state = decision.state
            continue
        decision = ladder.evaluate("m", state, metric, now)
        qualified = rank(ladder, ladder.tier_for(metric).name)
        after = rank(ladder, decision.state.tier)
        if state is None:
            assert qualified == after
        else:
            before = rank(ladder, state.tier)
            if qualified > before:
                assert qualified == after
            if after < before:
                assert state.next_check is not None
                assert state.next_check <= now
                assert not state.never_downgrade
                assert (before - 1 if ladder.downgrade.one_step else qualified) == after
        state = decision.state


@given(windows, ZONES, instants)
def test_windows_end_now_and_move_forward(
    window: QualificationWindow, zone: str, now: datetime
) -> None:
    """A window starts by now, holds still until its period ends, and never moves backwards."""
    start, end = window.bounds(now, zone)
    later_start, _ = window.bounds(now + timedelta(days=40), zone)
    period_end = window.period_end(now, zone)
    assert now == end
    if start is None or later_start is None:
        assert (None, None, None) == (start, later_start, period_end)
    else:
        assert period_end is not None
        assert start <= now < period_end
        assert start <= later_start
        assert start == window.bounds(period_end - timedelta(microseconds=1), zone)[0]


@given(schedules, ZONES, instants, st.timedeltas(timedelta(0), timedelta(days=3_000)))
def test_reviews_bracket_any_instant(
    schedule: ReviewSchedule, zone: str, since: datetime, wait: timedelta
) -> None:
    """The last review at or before an instant and the first after it are adjacent reviews."""
    at = since + wait
    following = schedule.next_after(since, at, zone)
    latest = schedule.latest_until(since, at, zone)
    if isinstance(schedule, NoReview):
        assert (None, None) == (following, latest)
        return
    assert following is not None
    assert following > at
    assert following > since
    if latest is not None:
        assert latest <= at
        assert following == schedule.next_after(since, latest, zone)
