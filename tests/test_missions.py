"""Missions and badges: definitions, progress, completions once per period, rewards, replay, audit."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointkit import FixedClock, Ledger, MemoryStorage, Money
from pointkit.campaigns import (
    Badge,
    CountGoal,
    DaysGoal,
    Mission,
    MissionBook,
    MissionReward,
    SumGoal,
)
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    IdempotencyConflictError,
    InvalidArgumentError,
)
from pointkit.features import Missions, audit_program
from pointkit.program._config_missions import read_mission_book
from pointkit.program._config_reader import ConfigReader
from pointkit.rules import Compare, Event, Fact
from races import race


if TYPE_CHECKING:
    from pointkit.ledger import Linked, Storage, WriteUnit


START = datetime(2026, 3, 5, 4, 0, tzinfo=UTC)
ZONE = "Asia/Shanghai"


def _shop(**options: object) -> Mission:
    return Mission(
        "shop-3",
        "Three purchases this month",
        CountGoal({"purchase"}, 3, label="purchases"),
        MissionReward(points=200),
        period="month",
        times=None,
        **options,  # type: ignore[arg-type]
    )


def _purchase(event_id: str, at: datetime, amount: str = "100.00", code: str = "CNY") -> Event:
    return Event.purchase(event_id, "alice", at, amount=Money(amount, code), order_id=event_id)


class FakeIssuer:
    """A coupon issuer that hands out numbered codes, once per source."""

    def __init__(self) -> None:
        self.issued: dict[str, str] = {}

    def issue_on(self, link: Linked, coupon: str, member: str, *, source: str) -> str:
        """Issue a code in *link* (the unit is only checked to be open)."""
        del link, member
        return self.issued.setdefault(source, f"{coupon}-{len(self.issued) + 1}")

    def revoke_in(self, unit: WriteUnit, code: str, *, now: datetime) -> None:
        """Missions never revoke: a completion is not undone."""
        raise AssertionError(f"{code} revoked in {unit} at {now}")


def _audit(ledger: Ledger) -> None:
    with ledger.storage.reading(ledger.program) as unit:
        audit_program(unit, now=ledger.clock.now())


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2026-03-05 12:00 in Shanghai."""
    return FixedClock(START)


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own."""
    return Ledger(any_storage, clock=clock, program=f"missions-{uuid.uuid4().hex[:8]}")


def test_a_monthly_mission_completes_once_a_month_and_says_so(
    ledger: Ledger, clock: FixedClock
) -> None:
    """The third purchase completes it with 200 points; the fourth does not; April starts over."""
    missions = Missions(ledger, MissionBook([_shop()], zone=ZONE))
    texts = [missions.observe(_purchase(f"o{n}", clock.now())).texts[0] for n in range(4)]
    assert [
        "1 of 3 purchases this month: in progress",
        "2 of 3 purchases this month: in progress",
        "3 of 3 purchases this month: completed, 200 points",
        "3 of 3 purchases this month: not counted: completed this month already",
    ] == texts
    assert 200 == ledger.balance("alice").available
    clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    for n in range(3):
        missions.observe(_purchase(f"april-{n}", clock.now()))
    assert 400 == ledger.balance("alice").available
    (progress,) = missions.progress("alice")
    assert ("month:2026-04", 3, 1, 2, "completed") == (
        progress.period,
        progress.progress,
        progress.completions,
        progress.total,
        progress.state,
    )
    _audit(ledger)


def test_the_same_event_observed_twice_counts_once(ledger: Ledger, clock: FixedClock) -> None:
    """A replay returns the recorded outcome and writes nothing; other content is a conflict."""
    missions = Missions(ledger, MissionBook([_shop()], zone=ZONE))
    event = _purchase("o1", clock.now())
    first = missions.observe(event)
    again = missions.observe(event)
    assert (False, True, first.explanations) == (first.replayed, again.replayed, again.explanations)
    assert 1 == missions.progress("alice")[0].progress
    with pytest.raises(IdempotencyConflictError):
        missions.observe(_purchase("o1", clock.now(), amount="5.00"))
    _audit(ledger)


def test_concurrent_observations_of_one_member_complete_once(ledger: Ledger) -> None:
    """Six events of one member observed at once complete a 3-event mission twice, no more."""
    book = MissionBook(
        [Mission("r", "Reviews", CountGoal({"review"}, 3), MissionReward(points=10), times=2)],
        zone=ZONE,
    )
    missions = Missions(ledger, book)
    at = ledger.clock.now()
    events = [Event(f"r{n}", "review", "alice", at) for n in range(6)]
    race([partial(missions.observe, event) for event in events])
    assert (20, 2) == (ledger.balance("alice").available, missions.progress("alice")[0].total)
    _audit(ledger)


def test_days_goals_count_distinct_local_days(ledger: Ledger) -> None:
    """Two sign-ins on one Shanghai day count once; 23:30 UTC is the next local day."""
    book = MissionBook(
        [
            Mission(
                "signin-2",
                "Sign in on 2 days",
                DaysGoal({"sign_in"}, 2),
                MissionReward(points=5),
                period="month",
            )
        ],
        zone=ZONE,
    )
    missions = Missions(ledger, book)
    day = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)
    first = missions.observe(Event.sign_in("s1", "alice", day))
    same = missions.observe(Event.sign_in("s2", "alice", day + timedelta(hours=10)))
    next_day = missions.observe(Event.sign_in("s3", "alice", day + timedelta(hours=22, minutes=30)))
    assert [
        "1 of 2 days this month: in progress",
        "1 of 2 days this month: not counted: 2026-03-05 was counted already",
        "2 of 2 days this month: completed, 5 points",
    ] == [first.texts[0], same.texts[0], next_day.texts[0]]
    _audit(ledger)


def test_sum_goals_add_money_in_their_currency_only(ledger: Ledger, clock: FixedClock) -> None:
    """Spending 500 CNY in a week completes; a USD purchase does not count."""
    book = MissionBook(
        [
            Mission(
                "spend",
                "Spend 500 yuan this week",
                SumGoal({"purchase"}, "amount", Money(500, "CNY"), label="spent"),
                MissionReward(points=50),
                period="week",
            )
        ],
        zone=ZONE,
    )
    missions = Missions(ledger, book)
    texts = [
        missions.observe(_purchase("a", clock.now(), "300.00")).texts[0],
        missions.observe(_purchase("b", clock.now(), "900.00", "USD")).texts[0],
        missions.observe(_purchase("c", clock.now(), "250.00")).texts[0],
    ]
    assert [
        "300.00 CNY of 500.00 CNY spent this week: in progress",
        "300.00 CNY of 500.00 CNY spent this week: not counted: amount is in USD, not CNY",
        "500.00 CNY of 500.00 CNY spent this week: completed, 50 points",
    ] == texts
    assert 55_000 == missions.progress("alice")[0].progress
    _audit(ledger)


def test_conditions_are_the_rules_conditions(ledger: Ledger, clock: FixedClock) -> None:
    """A purchase under 100 CNY does not count, and the explanation names the condition."""
    goal = CountGoal(
        {"purchase"}, 2, Compare(Fact("event.amount"), ">=", Money(100, "CNY")), "big purchases"
    )
    book = MissionBook([Mission("big", "Big", goal, MissionReward(points=1))], zone=ZONE)
    # A pickled book (what a worker process gets) compiles its conditions again.
    again: MissionBook = pickle.loads(pickle.dumps(book))  # noqa: S301 - our own bytes
    assert (again.missions, again.badges, repr(again)) == (book.missions, book.badges, repr(book))
    missions = Missions(ledger, again)
    small = missions.observe(_purchase("a", clock.now(), "99.00")).explanations[0]
    assert ("not_counted", "condition") == (small.status, small.reason)
    assert (
        "0 of 2 big purchases in all: not counted: the condition event.amount >= 100.00 CNY did not hold"
        == small.text
    )


def test_lifetime_missions_complete_at_each_multiple_up_to_times(
    ledger: Ledger, clock: FixedClock
) -> None:
    """Review 2 products, up to 2 times: completions at 2 and 4 reviews, none at 6."""
    book = MissionBook(
        [
            Mission(
                "rev",
                "Reviews",
                CountGoal({"review"}, 2, label="reviews"),
                MissionReward(points=10),
                times=2,
            )
        ],
        zone=ZONE,
    )
    missions = Missions(ledger, book)
    made = [
        len(missions.observe(Event(f"r{n}", "review", "alice", clock.now())).transactions)
        for n in range(6)
    ]
    assert [0, 1, 0, 1, 0, 0] == made
    assert ("done", 20) == (missions.progress("alice")[0].state, ledger.balance("alice").available)


def test_events_outside_the_window_do_not_count(ledger: Ledger, clock: FixedClock) -> None:
    """An event before starts_at is explained as outside the window."""
    missions = Missions(
        ledger, MissionBook([_shop(starts_at=START + timedelta(days=1))], zone=ZONE)
    )
    explanation = missions.observe(_purchase("early", clock.now())).explanations[0]
    assert ("not_counted", "window") == (explanation.status, explanation.reason)
    assert "not_started" == missions.progress("alice")[0].state


def test_badges_from_missions_and_from_their_own_goals(ledger: Ledger, clock: FixedClock) -> None:
    """A mission gives its badge once; a badge's own goal shows progress, then when it was earned."""
    book = MissionBook(
        [
            Mission(
                "shop-1",
                "First purchase",
                CountGoal({"purchase"}, 1),
                MissionReward(badge="shopper"),
                period="month",
                times=None,
            )
        ],
        [
            Badge("shopper", "Shopper"),
            Badge("regular", "Regular", CountGoal({"sign_in"}, 2, label="sign-ins")),
        ],
        zone=ZONE,
    )
    missions = Missions(ledger, book)
    assert ("shopper",) == missions.observe(_purchase("a", clock.now())).badges
    missions.observe(Event.sign_in("s1", "alice", clock.now()))
    before = missions.badges("alice")[1]
    clock.advance(timedelta(hours=1))
    earned = missions.observe(Event.sign_in("s2", "alice", clock.now()))
    assert ("2 of 2 sign-ins for badge regular: earned, badge regular",) == earned.texts
    clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    assert () == missions.observe(_purchase("b", clock.now())).badges
    shopper, regular = missions.badges("alice")
    assert (False, 1, 2) == (before.earned, before.progress, before.target)
    assert (True, START, "mission:shop-1:1") == (shopper.earned, shopper.earned_at, shopper.source)
    assert (True, START + timedelta(hours=1), "goal") == (
        regular.earned,
        regular.earned_at,
        regular.source,
    )
    _audit(ledger)


def test_coupon_rewards_go_through_the_issuer_given(ledger: Ledger, clock: FixedClock) -> None:
    """A completion issues its coupon once, with the mission, member and number as the source."""
    issuer = FakeIssuer()
    book = MissionBook(
        [
            Mission(
                "one",
                "One",
                CountGoal({"purchase"}, 1),
                MissionReward(coupon="c10"),
                period="day",
                times=None,
            )
        ],
        zone=ZONE,
    )
    missions = Missions(ledger, book, coupons=issuer)
    outcome = missions.observe(_purchase("a", clock.now()))
    assert (("one", "c10-1"),) == outcome.coupons
    assert {"mission:one:alice:1": "c10-1"} == issuer.issued
    with pytest.raises(InvalidArgumentError, match="rewards a coupon"):
        Missions(ledger, book)


def test_observe_on_commits_with_the_link_or_not_at_all(ledger: Ledger, clock: FixedClock) -> None:
    """Progress counted in a link that fails is rolled back with the link's points."""
    missions = Missions(ledger, MissionBook([_shop()], zone=ZONE))
    with ledger.linked() as link:
        link.earn("alice", 10, key="earn-1")
        missions.observe_on(link, _purchase("a", clock.now()))

    def failing() -> None:
        with ledger.linked() as link:
            missions.observe_on(link, _purchase("b", clock.now()))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing()
    assert (10, 1) == (ledger.balance("alice").available, missions.progress("alice")[0].progress)
    assert missions.outcome("b") is None
    _audit(ledger)


def test_a_dry_run_shows_the_completion_and_writes_nothing(
    ledger: Ledger, clock: FixedClock
) -> None:
    """A dry run of a completing event shows it; the balance and progress stay."""
    book = MissionBook(
        [Mission("one", "One", CountGoal({"purchase"}, 1), MissionReward(points=7))], zone=ZONE
    )
    missions = Missions(ledger, book)
    outcome = missions.observe(_purchase("a", clock.now()), dry_run=True)
    assert (True, "completed") == (outcome.dry_run, outcome.explanations[0].status)
    assert (0, 0) == (ledger.balance("alice").available, missions.progress("alice")[0].progress)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CountGoal("purchase", 1), "must be a set of event kinds"),
        (lambda: CountGoal({"purchase"}, 0), "target=0"),
        (MissionReward, "gives nothing"),
        (
            lambda: Mission("a:b", "A", CountGoal({"x"}, 1), MissionReward(points=1)),
            "must not contain ':'",
        ),
        (
            lambda: Mission("a", "A", CountGoal({"x"}, 1), MissionReward(points=1), times=None),
            "lifetime mission",
        ),
        (
            lambda: MissionBook([Mission("a", "A", CountGoal({"x"}, 1), MissionReward(badge="b"))]),
            "not a declared badge",
        ),
        (
            lambda: Missions(Ledger(MemoryStorage(), clock=FixedClock(START)), "book"),  # type: ignore[arg-type]
            "must be a MissionBook",
        ),
    ],
)
def test_bad_definitions_are_refused_naming_the_field(build: object, message: str) -> None:
    """Every bad definition raises a pointkit error that names what is wrong."""
    with pytest.raises(
        (InvalidArgumentError, ArgumentTypeError, ConfigurationError), match=message
    ):
        build()  # type: ignore[operator]


def test_the_programme_file_sections_read_into_a_book() -> None:
    """``[[missions]]`` and ``[[badges]]`` read into a book; every problem is named by its path."""
    reader = ConfigReader()
    book = read_mission_book(
        reader,
        [
            {
                "id": "shop-3",
                "name": "Three purchases",
                "period": "month",
                "times": "unlimited",
                "goal": {"type": "count", "kinds": ["purchase"], "target": 3, "label": "purchases"},
                "reward": {"points": 200, "badge": "shopper"},
            },
            {
                "id": "spend",
                "name": "Spend",
                "goal": {
                    "type": "sum",
                    "kinds": ["purchase"],
                    "attribute": "amount",
                    "target": "500.00 CNY",
                },
                "reward": {"points": 1},
            },
        ],
        [
            {"id": "shopper", "name": "Shopper"},
            {
                "id": "regular",
                "name": "Regular",
                "goal": {"type": "days", "kinds": ["sign_in"], "target": 100},
            },
        ],
        ZoneInfo(ZONE),
    )
    assert ([], ("shop-3", "spend"), ("shopper", "regular")) == (
        reader.problems,
        tuple(m.id for m in book.missions) if book else (),
        tuple(b.id for b in book.badges) if book else (),
    )
    bad = ConfigReader()
    assert None is read_mission_book(
        bad,
        [
            {
                "id": "x",
                "name": "X",
                "goal": {"type": "weekly", "kinds": []},
                "reward": {"points": -1},
                "times": "often",
            }
        ],
        [{"id": "b", "nme": "B"}],
        ZoneInfo(ZONE),
    )
    assert [
        "missions[0].goal.type: must be one of 'count', 'days', 'sum', got 'weekly'",
        "missions[0].reward.points: -1 must be an int from 0 to 9223372036854775807",
    ] == bad.problems[:2]
    assert any(problem.startswith("badges[0].nme") for problem in bad.problems)


@settings(max_examples=40, deadline=None)
@given(days=st.lists(st.integers(min_value=0, max_value=89), max_size=30), target=st.integers(1, 4))
def test_completions_are_the_months_with_enough_events(days: list[int], target: int) -> None:
    """A monthly count mission completes exactly in the months with at least *target* events."""
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    ledger = Ledger(MemoryStorage(), clock=clock)
    book = MissionBook(
        [
            Mission(
                "m",
                "M",
                CountGoal({"review"}, target),
                MissionReward(points=3),
                period="month",
                times=None,
            )
        ],
        zone="UTC",
    )
    missions = Missions(ledger, book)
    for index, day in enumerate(sorted(days)):
        missions.observe(Event(f"e{index}", "review", "alice", clock.now() + timedelta(days=day)))
    months: dict[int, int] = {}
    for day in days:
        month = (clock.now() + timedelta(days=day)).month
        months[month] = months.get(month, 0) + 1
    expected = sum(1 for count in months.values() if count >= target)
    assert 3 * expected == ledger.balance("alice").available
    _audit(ledger)
