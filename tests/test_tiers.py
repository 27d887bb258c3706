"""Tier ladders: configuration, windows, reviews, evaluation, manual changes and progress."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from pointkit import MemberId, limits
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    InvalidArgumentError,
    LimitExceededError,
    NaiveDatetimeError,
)
from pointkit.tiers import (
    Benefits,
    CalendarYear,
    DowngradePolicy,
    Lifetime,
    NoReview,
    QualificationWindow,
    QualifyingMetric,
    ReviewEveryMonths,
    ReviewSchedule,
    ReviewYearlyOn,
    RollingMonths,
    Tier,
    TierChange,
    TierChangeReason,
    TierLadder,
    TierProgress,
    TierState,
)


if TYPE_CHECKING:
    from collections.abc import Callable


SHANGHAI = ZoneInfo("Asia/Shanghai")
JOINED = TierChangeReason.JOINED
UPGRADE = TierChangeReason.UPGRADE
DOWNGRADE = TierChangeReason.DOWNGRADE
GRACE_STARTED = TierChangeReason.GRACE_STARTED
GRACE_CANCELLED = TierChangeReason.GRACE_CANCELLED
MANUAL = TierChangeReason.MANUAL


def sh(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """An instant given as Shanghai wall time (it compares equal to the same instant in UTC)."""
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def iso(text: str | None) -> datetime | None:
    """Parse an ISO 8601 instant, keeping None."""
    return None if text is None else datetime.fromisoformat(text)


class Call:
    """A deferred call, so a table can hold calls with arguments of the wrong type."""

    def __init__(self, factory: Callable[..., object], *args: object, **kwargs: object) -> None:
        self.factory, self.args, self.kwargs = factory, args, kwargs

    def __call__(self) -> object:
        return self.factory(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        shown = [repr(arg) for arg in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{name}({', '.join(shown)})"


def call(factory: Callable[..., object], *args: object, **kwargs: object) -> Call:
    """Defer a call; its repr names the test case."""
    return Call(factory, *args, **kwargs)


def call_id(value: object) -> str | None:
    """Name a table row by its call."""
    return repr(value) if isinstance(value, Call) else None


# "normal / silver / gold / diamond", paying 90% / 80% / 70% of the price, over a calendar year
# reviewed every 1 January.
MALL_TIERS = (
    Tier("normal", 0),
    Tier("silver", 1_000, Benefits(earn_multiplier=2, price_discount=Fraction(1, 10))),
    Tier(
        "gold",
        5_000,
        Benefits(earn_multiplier=2, price_discount=Fraction(2, 10), perks=("priority delivery",)),
    ),
    Tier(
        "diamond",
        20_000,
        Benefits(
            earn_multiplier=3,
            price_discount=Fraction(3, 10),
            perks=("priority delivery", "dedicated service", "birthday gift"),
        ),
    ),
)
NEW_YEAR = ReviewYearlyOn(((1, 1),))


def mall(
    *, grace_days: int = 0, one_step: bool = False, review: ReviewSchedule = NEW_YEAR
) -> TierLadder:
    """The points-mall ladder with the given downgrade options."""
    return TierLadder(
        MALL_TIERS,
        QualifyingMetric("points", description="points earned in the calendar year"),
        CalendarYear(),
        DowngradePolicy(review, grace_days=grace_days, one_step=one_step),
        "Asia/Shanghai",
    )


# "5,000 points = junior, 10,000 = intermediate, 20,000 = senior", for life.
SENIORITY = TierLadder(
    [
        Tier("member", 0),
        Tier("junior", 5_000),
        Tier("intermediate", 10_000),
        Tier("senior", 20_000),
    ],
    QualifyingMetric("points", description="points earned since joining"),
    Lifetime(),
    DowngradePolicy(),
    SHANGHAI,
)


def gold_since_march(**fields: object) -> TierState:
    """alice, gold since 1 March 2026, reviewed on 1 January 2027; *fields* override."""
    values: dict[str, object] = {
        "member": "alice",
        "tier": "gold",
        "since": sh(2026, 3, 1),
        "next_review": sh(2027, 1, 1),
        "grace_until": None,
        "never_downgrade": False,
    }
    values.update(fields)
    return TierState(**values)  # type: ignore[arg-type]


def change(
    at: datetime, before: str | None, after: str, reason: TierChangeReason, metric: int | None
) -> TierChange:
    """A change of alice's tier."""
    return TierChange("alice", at, before, after, reason, metric)


# -- ladders from the source material ------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (-5, "normal"),
        (0, "normal"),
        (999, "normal"),
        (1_000, "silver"),
        (4_999, "silver"),
        (5_000, "gold"),
        (19_999, "gold"),
        (20_000, "diamond"),
        (limits.POINTS_MAX, "diamond"),
    ],
)
def test_mall_ladder_tier_for(metric: int, expected: str) -> None:
    """The mall ladder gives the highest tier whose threshold the metric reaches."""
    assert expected == mall().tier_for(metric).name


@pytest.mark.parametrize(
    ("metric", "expected"),
    [(4_999, "member"), (5_000, "junior"), (10_000, "intermediate"), (20_000, "senior")],
)
def test_seniority_ladder_tier_for(metric: int, expected: str) -> None:
    """5,000 points make a junior, 10,000 an intermediate, 20,000 a senior."""
    assert expected == SENIORITY.tier_for(metric).name


def test_benefits_are_data() -> None:
    """Each tier's benefits are looked up by name or by state; 80% of the price is a 1/5 discount."""
    ladder = mall()
    assert Fraction(4, 5) == ladder.benefits("gold").price_factor
    assert Fraction(3) == ladder.benefits(gold_since_march(tier="diamond")).earn_multiplier
    assert ("priority delivery", "dedicated service", "birthday gift") == ladder.benefits(
        "diamond"
    ).perks
    assert Benefits(Fraction(1), Fraction(0), ()) == ladder.benefits("normal")
    assert ladder.tier("silver") is ladder.tiers[1]


# -- configuration errors ---------------------------------------------------------------------


def ladder_args(**overrides: object) -> dict[str, object]:
    """The mall ladder's arguments, with *overrides*."""
    args: dict[str, object] = {
        "tiers": MALL_TIERS,
        "metric": QualifyingMetric("points"),
        "window": CalendarYear(),
        "downgrade": DowngradePolicy(NEW_YEAR),
        "zone": "Asia/Shanghai",
    }
    args.update(overrides)
    return args


MANY_TIERS = [Tier(f"t{index}", index) for index in range(limits.TIERS_MAX + 1)]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"tiers": []}, "tiers: must hold at least one tier"),
        ({"tiers": "gold"}, "tiers: 'gold' must be a sequence of Tier, not str"),
        ({"tiers": MANY_TIERS}, "tiers: 101 tiers is over limits.TIERS_MAX (100)"),
        (
            {"tiers": [Tier("silver", 100)]},
            "tiers[0].threshold: 100 must be 0, so that every member has a tier",
        ),
        (
            {"tiers": [Tier("a", 0), Tier("b", 9), Tier("c", 9)]},
            "tiers[2].threshold: 9 must be greater than tiers[1].threshold (9)",
        ),
        (
            {"tiers": [Tier("a", 0), Tier("b", 20), Tier("c", 10)]},
            "tiers[2].threshold: 10 must be greater than tiers[1].threshold (20)",
        ),
        (
            {"tiers": [Tier("a", 0), Tier("b", 1), Tier("b", 2)]},
            "tiers[2].name: 'b' is already the name of tiers[1]",
        ),
        ({"tiers": [Tier("a", 0), "gold"]}, "tiers[1]: 'gold' must be a Tier, not str"),
        ({"metric": "points"}, "metric: 'points' must be a QualifyingMetric, not str"),
        (
            {"window": 12},
            "window: 12 must be Lifetime(), RollingMonths(months) or CalendarYear(), not int",
        ),
        ({"downgrade": None}, "downgrade: None must be a DowngradePolicy, not NoneType"),
        (
            {"downgrade": DowngradePolicy(grace_days=30)},
            "downgrade.grace_days: 30 has no effect, as downgrade.review is NoReview() and nobody goes down; choose a review schedule",
        ),
        (
            {"downgrade": DowngradePolicy(one_step=True)},
            "downgrade.one_step: True has no effect, as downgrade.review is NoReview() and nobody goes down; choose a review schedule",
        ),
        (
            {"zone": "Mars/Olympus"},
            "zone: 'Mars/Olympus' is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'",
        ),
        ({"zone": 8}, "zone: 8 must be an IANA time zone name or a ZoneInfo, not int"),
    ],
)
def test_each_configuration_error(overrides: dict[str, object], problem: str) -> None:
    """Each problem of a ladder is named with its field, its value and what is valid."""
    with pytest.raises(ConfigurationError) as caught:
        TierLadder(**ladder_args(**overrides))  # type: ignore[arg-type]
    assert (problem,) == caught.value.problems
    assert f"TierLadder has 1 problem:\n  - {problem}" == str(caught.value)


def test_every_configuration_error_is_listed_at_once() -> None:
    """A ladder with many problems reports all of them in one error, in field order."""
    with pytest.raises(ConfigurationError) as caught:
        TierLadder(
            [Tier("silver", 10), "gold", Tier("gold", 10), Tier("silver", 5)],  # type: ignore[list-item]
            "points",  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            DowngradePolicy(grace_days=7, one_step=True),
            "Nowhere/Special",
        )
    assert (
        "TierLadder has 10 problems:\n"
        "  - tiers[0].threshold: 10 must be 0, so that every member has a tier\n"
        "  - tiers[1]: 'gold' must be a Tier, not str\n"
        "  - tiers[2].threshold: 10 must be greater than tiers[0].threshold (10)\n"
        "  - tiers[3].threshold: 5 must be greater than tiers[2].threshold (10)\n"
        "  - tiers[3].name: 'silver' is already the name of tiers[0]\n"
        "  - metric: 'points' must be a QualifyingMetric, not str\n"
        "  - window: None must be Lifetime(), RollingMonths(months) or CalendarYear(), not NoneType\n"
        "  - downgrade.grace_days: 7 has no effect, as downgrade.review is NoReview() and nobody goes down; choose a review schedule\n"
        "  - downgrade.one_step: True has no effect, as downgrade.review is NoReview() and nobody goes down; choose a review schedule\n"
        "  - zone: 'Nowhere/Special' is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'"
    ) == str(caught.value)
    assert 10 == len(caught.value.problems)
    assert isinstance(caught.value, ValueError)


SINCE = sh(2026, 3, 1)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            call(Benefits, earn_multiplier=1.5),
            ArgumentTypeError,
            "earn_multiplier=1.5 must be a Fraction or an int, not float",
        ),
        (
            call(Benefits, earn_multiplier=True),
            ArgumentTypeError,
            "earn_multiplier=True must be a Fraction or an int, not bool",
        ),
        (
            call(Benefits, earn_multiplier=-1),
            InvalidArgumentError,
            "earn_multiplier=Fraction(-1, 1) must not be negative",
        ),
        (
            call(Benefits, earn_multiplier=101),
            LimitExceededError,
            "earn_multiplier=Fraction(101, 1) is over limits.TIER_EARN_MULTIPLIER_MAX (100)",
        ),
        (
            call(Benefits, price_discount=0.1),
            ArgumentTypeError,
            "price_discount=0.1 must be a Fraction or an int, not float",
        ),
        (
            call(Benefits, price_discount=1),
            InvalidArgumentError,
            "price_discount=Fraction(1, 1) must be at least 0 and less than 1 (Fraction(1, 10) pays 90% of the price)",
        ),
        (
            call(Benefits, price_discount=Fraction(-1, 10)),
            InvalidArgumentError,
            "price_discount=Fraction(-1, 10) must be at least 0 and less than 1 (Fraction(1, 10) pays 90% of the price)",
        ),
        (
            call(Benefits, perks="vip lounge"),
            ArgumentTypeError,
            "perks='vip lounge' must be a tuple of str, not str",
        ),
        (
            call(Benefits, perks=("gift", "gift")),
            InvalidArgumentError,
            "perks[1]='gift' is listed twice",
        ),
        (
            call(Benefits, perks=(" gift",)),
            InvalidArgumentError,
            "perks[0]=' gift' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(Benefits, perks=[f"p{i}" for i in range(33)]),
            LimitExceededError,
            "perks has 33 perks, over limits.TIER_PERKS_MAX (32)",
        ),
        (
            call(Tier, "", 0),
            InvalidArgumentError,
            "name='' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(Tier, "x" * 65, 0),
            LimitExceededError,
            "name is 65 characters long, over limits.TIER_NAME_LENGTH_MAX (64)",
        ),
        (
            call(Tier, "gold", -1),
            InvalidArgumentError,
            "threshold=-1 must be an int from 0 to 9223372036854775807",
        ),
        (
            call(Tier, "gold", 5000.0),
            ArgumentTypeError,
            "threshold=5000.0 must be an int, not float",
        ),
        (
            call(Tier, "gold", 0, "double"),
            ArgumentTypeError,
            "benefits='double' must be Benefits, not str",
        ),
        (
            call(QualifyingMetric, "Points"),
            InvalidArgumentError,
            "currency='Points' must be lower-case letters, digits and underscores, starting with a letter",
        ),
        (
            call(QualifyingMetric, "points", description=" x"),
            InvalidArgumentError,
            "description=' x' must be non-empty, without leading or trailing whitespace",
        ),
        (call(RollingMonths, 0), InvalidArgumentError, "months=0 must be an int from 1 to 120"),
        (
            call(RollingMonths, 121),
            LimitExceededError,
            "months=121 is over limits.TIER_WINDOW_MONTHS_MAX (120)",
        ),
        (call(ReviewEveryMonths, 0), InvalidArgumentError, "months=0 must be an int from 1 to 120"),
        (
            call(ReviewEveryMonths, 121),
            LimitExceededError,
            "months=121 is over limits.TIER_REVIEW_MONTHS_MAX (120)",
        ),
        (
            call(ReviewYearlyOn, "01-01"),
            ArgumentTypeError,
            "dates='01-01' must be a tuple of (month, day) pairs, not str",
        ),
        (
            call(ReviewYearlyOn, ()),
            InvalidArgumentError,
            "dates=() must hold at least one (month, day) pair",
        ),
        (
            call(ReviewYearlyOn, ((1,),)),
            ArgumentTypeError,
            "dates[0]=(1,) must be a (month, day) pair of ints",
        ),
        (
            call(ReviewYearlyOn, ((13, 1),)),
            InvalidArgumentError,
            "dates[0] month=13 must be an int from 1 to 12",
        ),
        (
            call(ReviewYearlyOn, ((4, 31),)),
            InvalidArgumentError,
            "dates[0]=(4, 31) is not a day of every year: month 4 has days 1 to 30 in a common year",
        ),
        (
            call(ReviewYearlyOn, ((7, 1), (7, 1))),
            InvalidArgumentError,
            "dates[1]=(7, 1) is listed twice",
        ),
        (
            call(ReviewYearlyOn, tuple((m, d) for m in range(1, 8) for d in (1, 15))),
            LimitExceededError,
            "dates has 14 dates, over limits.TIER_REVIEW_DATES_MAX (12)",
        ),
        (
            call(DowngradePolicy, "yearly"),
            ArgumentTypeError,
            "review='yearly' must be NoReview(), ReviewEveryMonths(months) or ReviewYearlyOn(dates), not str",
        ),
        (
            call(DowngradePolicy, NEW_YEAR, grace_days=-1),
            InvalidArgumentError,
            "grace_days=-1 must be an int from 0 to 730",
        ),
        (
            call(DowngradePolicy, NEW_YEAR, grace_days=731),
            LimitExceededError,
            "grace_days=731 is over limits.TIER_GRACE_DAYS_MAX (730)",
        ),
        (
            call(DowngradePolicy, NEW_YEAR, one_step=1),
            ArgumentTypeError,
            "one_step=1 must be a bool, not int",
        ),
        (
            call(TierState, "alice", "gold", datetime(2026, 3, 1), None, None),  # noqa: DTZ001 - naive on purpose
            NaiveDatetimeError,
            "since=datetime.datetime(2026, 3, 1, 0, 0) is naive; give it a time zone, e.g. .replace(tzinfo=UTC)",
        ),
        (
            call(TierState, "alice", "gold", SINCE, SINCE, None),
            InvalidArgumentError,
            "next_review=2026-02-28T16:00:00+00:00 must be after since (2026-02-28T16:00:00+00:00)",
        ),
        (
            call(TierState, "alice", "gold", SINCE, None, SINCE),
            InvalidArgumentError,
            "grace_until=2026-02-28T16:00:00+00:00 must be after since (2026-02-28T16:00:00+00:00)",
        ),
        (
            call(TierState, "alice", "gold", SINCE, None, sh(2027, 1, 1), never_downgrade=True),
            InvalidArgumentError,
            "grace_until=2026-12-31T16:00:00+00:00 must be None when never_downgrade is True: a member who never goes down has no grace",
        ),
        (
            call(TierState, "alice", "gold", SINCE, None, None, "yes"),
            ArgumentTypeError,
            "never_downgrade='yes' must be a bool, not str",
        ),
        (
            call(TierState, " alice", "gold", SINCE, None, None),
            InvalidArgumentError,
            "member=' alice' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(TierState, "alice", "", SINCE, None, None),
            InvalidArgumentError,
            "tier='' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(TierChange, "alice", SINCE, None, "gold", "promoted", 1),
            InvalidArgumentError,
            "reason='promoted' must be one of 'joined', 'upgrade', 'downgrade', 'grace_started', 'grace_cancelled', 'manual'",
        ),
        (
            call(TierChange, "alice", SINCE, "", "gold", "upgrade", 1),
            InvalidArgumentError,
            "from_tier='' must be non-empty, without leading or trailing whitespace",
        ),
        (
            call(TierChange, "alice", SINCE, None, "gold", "joined", 1.5),
            ArgumentTypeError,
            "metric=1.5 must be an int, not float",
        ),
    ],
    ids=call_id,
)
def test_each_value_error(make: Callable[[], object], error: type[Exception], message: str) -> None:
    """Every value is checked at construction; the message names the field and what is valid."""
    with pytest.raises(error) as caught:
        make()
    assert message == str(caught.value)


def test_values_are_canonical() -> None:
    """Ints become Fractions, lists tuples, review dates are sorted, instants UTC, reasons enums."""
    assert Benefits(Fraction(2), Fraction(0), ("a", "b")) == Benefits(2, 0, ["a", "b"])
    assert ((1, 1), (7, 1)) == ReviewYearlyOn([[7, 1], [1, 1]]).dates
    state = TierState("alice", "gold", SINCE, None, None)
    assert UTC == state.since.tzinfo
    assert MemberId("alice") == state.member
    assert UPGRADE == TierChange("alice", SINCE, "silver", "gold", "upgrade", 7).reason
    assert "" == QualifyingMetric("points").description


def test_change_reasons_are_stable() -> None:
    """The stored values of TierChangeReason never change (golden)."""
    assert [
        "joined",
        "upgrade",
        "downgrade",
        "grace_started",
        "grace_cancelled",
        "manual",
    ] == [reason.value for reason in TierChangeReason]


# -- windows and review schedules ---------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "zone", "now", "start", "end"),
    [
        (Lifetime(), "Asia/Shanghai", "2026-05-15T08:00:00+00:00", None, None),
        (
            RollingMonths(12),
            "Asia/Shanghai",
            "2026-05-15T08:00:00+00:00",
            "2025-05-31T16:00:00+00:00",
            "2026-05-31T16:00:00+00:00",
        ),
        (
            RollingMonths(1),
            "UTC",
            "2026-03-31T23:59:59+00:00",
            "2026-03-01T00:00:00+00:00",
            "2026-04-01T00:00:00+00:00",
        ),
        (
            RollingMonths(3),
            "UTC",
            "2026-01-01T00:00:00+00:00",
            "2025-11-01T00:00:00+00:00",
            "2026-02-01T00:00:00+00:00",
        ),
        (
            RollingMonths(2),
            "America/New_York",
            "2026-03-10T12:00:00+00:00",
            "2026-02-01T05:00:00+00:00",
            "2026-04-01T04:00:00+00:00",
        ),
        (
            CalendarYear(),
            "Asia/Shanghai",
            "2026-05-15T08:00:00+00:00",
            "2025-12-31T16:00:00+00:00",
            "2026-12-31T16:00:00+00:00",
        ),
        (
            CalendarYear(),
            "Asia/Shanghai",
            "2025-12-31T16:00:00+00:00",
            "2025-12-31T16:00:00+00:00",
            "2026-12-31T16:00:00+00:00",
        ),
        (
            CalendarYear(),
            "Asia/Shanghai",
            "2025-12-31T15:59:59+00:00",
            "2024-12-31T16:00:00+00:00",
            "2025-12-31T16:00:00+00:00",
        ),
    ],
)
def test_window_bounds(
    window: QualificationWindow, zone: str, now: str, start: str | None, end: str | None
) -> None:
    """Windows start at local midnight, on the 1st or on 1 January, and end at now (golden)."""
    instant = datetime.fromisoformat(now)
    assert (iso(start), instant) == window.bounds(instant, zone)
    assert iso(end) == window.period_end(instant, zone)


@pytest.mark.parametrize(
    ("schedule", "zone", "since", "at", "after", "until"),
    [
        (NoReview(), "UTC", "2026-01-31T12:00:00+00:00", "2026-05-01T00:00:00+00:00", None, None),
        (
            ReviewEveryMonths(1),
            "UTC",
            "2026-01-31T12:00:00+00:00",
            "2026-02-01T00:00:00+00:00",
            "2026-02-28T12:00:00+00:00",
            None,
        ),
        (
            ReviewEveryMonths(1),
            "UTC",
            "2026-01-31T12:00:00+00:00",
            "2026-03-31T12:00:00+00:00",
            "2026-04-30T12:00:00+00:00",
            "2026-03-31T12:00:00+00:00",
        ),
        (
            ReviewEveryMonths(12),
            "Asia/Shanghai",
            "2024-02-29T04:00:00+00:00",
            "2025-03-01T00:00:00+00:00",
            "2026-02-28T04:00:00+00:00",
            "2025-02-28T04:00:00+00:00",
        ),
        (
            ReviewEveryMonths(5),
            "UTC",
            "2020-01-15T00:00:00+00:00",
            "2026-01-01T00:00:00+00:00",
            "2026-04-15T00:00:00+00:00",
            "2025-11-15T00:00:00+00:00",
        ),
        (
            ReviewEveryMonths(1),
            "America/New_York",
            "2026-02-08T07:30:00+00:00",
            "2026-02-08T07:30:00+00:00",
            "2026-03-08T07:00:00+00:00",  # 02:30 is in the gap: the gap's end, 03:00 EDT
            None,
        ),
        (
            ReviewYearlyOn(((1, 1), (7, 1))),
            "Asia/Shanghai",
            "2020-01-01T00:00:00+00:00",
            "2026-05-15T00:00:00+00:00",
            "2026-06-30T16:00:00+00:00",
            "2025-12-31T16:00:00+00:00",
        ),
        (
            NEW_YEAR,
            "Asia/Shanghai",
            "2020-01-01T00:00:00+00:00",
            "2025-12-31T16:00:00+00:00",
            "2026-12-31T16:00:00+00:00",
            "2025-12-31T16:00:00+00:00",
        ),
        (
            ReviewYearlyOn(((12, 31),)),
            "UTC",
            "2020-01-01T00:00:00+00:00",
            "2026-06-01T00:00:00+00:00",
            "2026-12-31T00:00:00+00:00",
            "2025-12-31T00:00:00+00:00",
        ),
    ],
)
def test_review_schedules(
    schedule: ReviewSchedule, zone: str, since: str, at: str, after: str | None, until: str | None
) -> None:
    """The next review strictly after an instant, and the last one at or before it (golden).

    Reviews from a tier's start clamp to month ends without drifting; a review in the
    spring-forward gap (02:30 New York on 8 March 2026) is read with the offset before the gap.
    """
    start = datetime.fromisoformat(since)
    instant = datetime.fromisoformat(at)
    assert iso(after) == schedule.next_after(start, instant, zone)
    assert iso(until) == schedule.latest_until(start, instant, zone)


@pytest.mark.parametrize(
    ("thing", "expected"),
    [
        (Lifetime(), "lifetime"),
        (RollingMonths(1), "the current calendar month"),
        (RollingMonths(12), "the current and the previous 11 calendar months"),
        (RollingMonths(2), "the current and the previous 1 calendar month"),
        (CalendarYear(), "the calendar year"),
        (NoReview(), "never"),
        (ReviewEveryMonths(1), "every 1 calendar month from the tier's start"),
        (ReviewEveryMonths(12), "every 12 calendar months from the tier's start"),
        (NEW_YEAR, "yearly on 01-01"),
        (ReviewYearlyOn(((1, 1), (4, 1), (7, 1))), "yearly on 01-01, 04-01 and 07-01"),
    ],
)
def test_descriptions(thing: QualificationWindow | ReviewSchedule, expected: str) -> None:
    """Windows and schedules describe themselves for `pointkit check` (golden)."""
    assert expected == thing.describe()


@pytest.mark.parametrize(
    "compute",
    [
        call(RollingMonths(1).bounds, datetime(1, 1, 1, tzinfo=UTC), "Asia/Shanghai"),
        call(RollingMonths(1).period_end, datetime(9999, 12, 31, 23, tzinfo=UTC), "UTC"),
        call(CalendarYear().bounds, datetime(1, 1, 1, tzinfo=UTC), "Asia/Shanghai"),
        call(CalendarYear().period_end, datetime(9999, 12, 31, 23, tzinfo=UTC), "UTC"),
        call(
            ReviewEveryMonths(12).next_after,
            datetime(9999, 1, 1, tzinfo=UTC),
            datetime(9999, 6, 1, tzinfo=UTC),
            "UTC",
        ),
        call(
            ReviewEveryMonths(12).latest_until,
            datetime(9999, 1, 1, tzinfo=UTC),
            datetime(9999, 6, 1, tzinfo=UTC),
            "UTC",
        ),
        call(
            ReviewYearlyOn(((1, 1),)).next_after,
            datetime(9999, 1, 1, tzinfo=UTC),
            datetime(9999, 6, 1, tzinfo=UTC),
            "UTC",
        ),
        call(
            ReviewYearlyOn(((12, 31),)).latest_until,
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(1, 6, 1, tzinfo=UTC),
            "UTC",
        ),
        call(
            DowngradePolicy(NEW_YEAR, grace_days=30).grace_end,
            datetime(9999, 12, 31, tzinfo=UTC),
            "UTC",
        ),
    ],
    ids=call_id,
)
def test_calendar_edges_are_refused(compute: Callable[[], object]) -> None:
    """Arithmetic that would leave the years 1 to 9999 is an argument error, not a crash."""
    with pytest.raises(
        InvalidArgumentError,
        match="is out of range: the dates it needs fall outside the years 1 to 9999",
    ):
        compute()


def test_grace_counts_local_calendar_days() -> None:
    """A grace of 1 day over the spring-forward night is 23 hours long."""
    policy = DowngradePolicy(NEW_YEAR, grace_days=1)
    start = datetime(2026, 3, 7, 12, tzinfo=ZoneInfo("America/New_York"))
    assert datetime(2026, 3, 8, 16, tzinfo=UTC) == policy.grace_end(start, "America/New_York")


# -- evaluation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "tier"),
    [(0, "normal"), (1_000, "silver"), (19_999, "gold"), (20_000, "diamond")],
)
def test_new_member_joins_on_the_tier_their_metric_earns(metric: int, tier: str) -> None:
    """A member without a state joins at tier_for(metric), reviewed at the next 1 January."""
    decision = mall().evaluate("alice", None, metric, sh(2026, 3, 1, 10))
    assert TierState("alice", tier, sh(2026, 3, 1, 10), sh(2027, 1, 1), None) == decision.state
    assert (change(sh(2026, 3, 1, 10), None, tier, JOINED, metric),) == decision.changes


def test_upgrade_happens_at_once_and_may_skip_tiers() -> None:
    """A metric that earns a higher tier upgrades straight to it, whenever evaluated."""
    state = TierState("alice", "normal", sh(2026, 1, 5), sh(2027, 1, 1), None)
    decision = mall().evaluate("alice", state, 25_000, sh(2026, 3, 1, 10))
    assert TierState("alice", "diamond", sh(2026, 3, 1, 10), sh(2027, 1, 1), None) == decision.state
    assert (change(sh(2026, 3, 1, 10), "normal", "diamond", UPGRADE, 25_000),) == decision.changes


def test_upgrade_ends_a_running_grace() -> None:
    """An upgrade during a grace ends the grace; the only change is the upgrade."""
    state = gold_since_march(next_review=sh(2028, 1, 1), grace_until=sh(2027, 1, 31))
    decision = mall(grace_days=30).evaluate("alice", state, 20_000, sh(2027, 1, 10))
    assert TierState("alice", "diamond", sh(2027, 1, 10), sh(2028, 1, 1), None) == decision.state
    assert (change(sh(2027, 1, 10), "gold", "diamond", UPGRADE, 20_000),) == decision.changes


@pytest.mark.parametrize("one_step", [False, True])
def test_no_downgrade_before_the_review(one_step: bool) -> None:
    """A metric below the tier changes nothing until the review, however low it falls."""
    state = gold_since_march()
    decision = mall(one_step=one_step).evaluate("alice", state, 0, sh(2026, 12, 31, 23))
    assert state == decision.state
    assert () == decision.changes


@pytest.mark.parametrize(
    ("one_step", "metric", "tier"),
    [
        (False, 1_500, "silver"),
        (False, 0, "normal"),
        (True, 0, "silver"),
        (True, 1_500, "silver"),
        (False, 5_000, "gold"),
    ],
)
def test_review_downgrades_to_the_qualified_tier_or_one_step(
    one_step: bool, metric: int, tier: str
) -> None:
    """At the review the member goes to the tier the metric earns, or one step down with one_step."""
    decision = mall(one_step=one_step).evaluate("alice", gold_since_march(), metric, sh(2027, 1, 1))
    if tier == "gold":
        assert gold_since_march(next_review=sh(2028, 1, 1)) == decision.state
        assert () == decision.changes
    else:
        assert TierState("alice", tier, sh(2027, 1, 1), sh(2028, 1, 1), None) == decision.state
        assert (change(sh(2027, 1, 1), "gold", tier, DOWNGRADE, metric),) == decision.changes


def test_review_starts_a_grace() -> None:
    """A review that finds the member short starts a grace; the tier stays until it ends."""
    decision = mall(grace_days=30).evaluate("alice", gold_since_march(), 100, sh(2027, 1, 1, 2))
    assert (
        gold_since_march(next_review=sh(2028, 1, 1), grace_until=sh(2027, 1, 31)) == decision.state
    )
    assert (change(sh(2027, 1, 1), "gold", "gold", GRACE_STARTED, 100),) == decision.changes


def test_requalifying_cancels_the_grace() -> None:
    """Reaching the tier's threshold during the grace cancels it at once."""
    state = gold_since_march(next_review=sh(2028, 1, 1), grace_until=sh(2027, 1, 31))
    decision = mall(grace_days=30).evaluate("alice", state, 5_000, sh(2027, 1, 20))
    assert gold_since_march(next_review=sh(2028, 1, 1)) == decision.state
    assert (change(sh(2027, 1, 20), "gold", "gold", GRACE_CANCELLED, 5_000),) == decision.changes


def test_grace_holds_the_tier_until_it_ends() -> None:
    """Before its end a grace keeps the tier; at its end the member goes down."""
    ladder = mall(grace_days=30, one_step=True)
    state = gold_since_march(next_review=sh(2028, 1, 1), grace_until=sh(2027, 1, 31))
    assert () == ladder.evaluate("alice", state, 0, sh(2027, 1, 30, 23)).changes
    decision = ladder.evaluate("alice", state, 0, sh(2027, 1, 31))
    assert TierState("alice", "silver", sh(2027, 1, 31), sh(2028, 1, 1), None) == decision.state
    assert (change(sh(2027, 1, 31), "gold", "silver", DOWNGRADE, 0),) == decision.changes


def test_a_review_during_a_grace_does_nothing() -> None:
    """A second review inside a running grace neither downgrades nor restarts the grace."""
    ladder = mall(grace_days=60, review=ReviewYearlyOn(((1, 1), (2, 1))))
    state = gold_since_march(next_review=sh(2027, 2, 1), grace_until=sh(2027, 3, 2))
    decision = ladder.evaluate("alice", state, 0, sh(2027, 2, 1, 1))
    assert (
        gold_since_march(next_review=sh(2028, 1, 1), grace_until=sh(2027, 3, 2)) == decision.state
    )
    assert () == decision.changes


def test_late_evaluation_applies_one_review_at_its_date() -> None:
    """Three missed reviews give one step down, dated at the latest review, not at now."""
    decision = mall(one_step=True).evaluate(
        "alice", gold_since_march(tier="diamond"), 0, sh(2029, 6, 1)
    )
    assert TierState("alice", "gold", sh(2029, 1, 1), sh(2030, 1, 1), None) == decision.state
    assert (change(sh(2029, 1, 1), "diamond", "gold", DOWNGRADE, 0),) == decision.changes


def test_late_evaluation_starts_and_ends_a_grace() -> None:
    """A grace a late evaluation starts may have ended already; it then downgrades at its end."""
    decision = mall(grace_days=30).evaluate("alice", gold_since_march(), 1_200, sh(2027, 5, 1))
    assert TierState("alice", "silver", sh(2027, 1, 31), sh(2028, 1, 1), None) == decision.state
    assert (
        change(sh(2027, 1, 1), "gold", "gold", GRACE_STARTED, 1_200),
        change(sh(2027, 1, 31), "gold", "silver", DOWNGRADE, 1_200),
    ) == decision.changes


def test_requalifying_after_a_missed_grace_end_cancels_it() -> None:
    """The metric given is what counts: qualified at a late evaluation, the grace is cancelled."""
    state = gold_since_march(next_review=sh(2028, 1, 1), grace_until=sh(2027, 1, 31))
    decision = mall(grace_days=30).evaluate("alice", state, 6_000, sh(2027, 3, 1))
    assert gold_since_march(next_review=sh(2028, 1, 1)) == decision.state
    assert (change(sh(2027, 3, 1), "gold", "gold", GRACE_CANCELLED, 6_000),) == decision.changes


def test_members_who_never_downgrade_keep_their_tier() -> None:
    """A VIP keeps the tier at every review; only the next review moves on."""
    state = gold_since_march(tier="diamond", never_downgrade=True)
    decision = mall(grace_days=30).evaluate("alice", state, 0, sh(2030, 1, 1))
    assert (
        gold_since_march(tier="diamond", never_downgrade=True, next_review=sh(2031, 1, 1))
        == decision.state
    )
    assert () == decision.changes


def test_anniversary_reviews_restart_with_each_tier() -> None:
    """With reviews every 12 months from the tier's start, a downgrade starts a new year."""
    ladder = mall(review=ReviewEveryMonths(12))
    joined = ladder.evaluate("alice", None, 6_000, sh(2026, 3, 1, 10)).state
    assert sh(2027, 3, 1, 10) == joined.next_review
    kept = ladder.evaluate("alice", joined, 6_000, sh(2027, 3, 1, 10)).state
    assert sh(2028, 3, 1, 10) == kept.next_review
    lowered = ladder.evaluate("alice", kept, 1_000, sh(2028, 3, 5)).state
    assert TierState("alice", "silver", sh(2028, 3, 1, 10), sh(2029, 3, 1, 10), None) == lowered


def test_without_reviews_nobody_goes_down() -> None:
    """A ladder without reviews never lowers a tier, even when clawbacks lower the metric."""
    state = TierState("alice", "senior", sh(2026, 3, 1), None, None)
    decision = SENIORITY.evaluate("alice", state, -50, sh(2040, 1, 1))
    assert state == decision.state
    assert () == decision.changes


def test_a_stored_next_review_is_honoured() -> None:
    """A stored review date differing from the schedule (the ladder changed) still counts once."""
    state = gold_since_march(next_review=sh(2026, 9, 1))
    decision = mall().evaluate("alice", state, 0, sh(2026, 9, 2))
    assert TierState("alice", "normal", sh(2026, 9, 1), sh(2027, 1, 1), None) == decision.state


@pytest.mark.parametrize(
    ("member", "state", "now", "error", "message"),
    [
        (
            "bob",
            gold_since_march(),
            sh(2026, 4, 1),
            InvalidArgumentError,
            "member='bob' does not match state.member ('alice')",
        ),
        (
            "alice",
            gold_since_march(),
            sh(2026, 2, 1),
            InvalidArgumentError,
            "now=2026-01-31T16:00:00+00:00 is before state.since (2026-02-28T16:00:00+00:00); a tier state only moves forward",
        ),
        (
            "alice",
            gold_since_march(tier="platinum"),
            sh(2026, 4, 1),
            InvalidArgumentError,
            "state.tier='platinum' is not a tier of this ladder, whose tiers are 'normal', 'silver', 'gold', 'diamond'; move the member with set_tier",
        ),
        (
            "alice",
            "gold",
            sh(2026, 4, 1),
            ArgumentTypeError,
            "state='gold' must be a TierState or None, not str",
        ),
        (
            "alice",
            None,
            datetime(2026, 4, 1),  # noqa: DTZ001 - naive on purpose
            NaiveDatetimeError,
            "now=datetime.datetime(2026, 4, 1, 0, 0) is naive; give it a time zone, e.g. .replace(tzinfo=UTC)",
        ),
    ],
)
def test_evaluate_rejects_bad_arguments(
    member: str, state: object, now: datetime, error: type[Exception], message: str
) -> None:
    """A state of another member, from the future or on an unknown tier is refused."""
    with pytest.raises(error) as caught:
        mall().evaluate(member, state, 0, now)  # type: ignore[arg-type]
    assert message == str(caught.value)


@pytest.mark.parametrize(
    ("metric", "error", "message"),
    [
        (1.5, ArgumentTypeError, "metric=1.5 must be an int, not float"),
        (True, ArgumentTypeError, "metric=True must be an int, not bool"),
        (
            2**63,
            LimitExceededError,
            "metric=9223372036854775808 is over limits.POINTS_MAX (9223372036854775807)",
        ),
    ],
)
def test_metric_must_be_an_int_in_range(
    metric: object, error: type[Exception], message: str
) -> None:
    """The metric is an int within ±POINTS_MAX, for tier_for and evaluate alike."""
    with pytest.raises(error) as caught:
        mall().tier_for(metric)  # type: ignore[arg-type]
    assert message == str(caught.value)
    with pytest.raises(error):
        mall().evaluate("alice", None, metric, sh(2026, 1, 1))  # type: ignore[arg-type]


def test_lookups_reject_unknown_tiers() -> None:
    """tier() and benefits() name the valid tiers when asked for another."""
    valid = "'normal', 'silver', 'gold', 'diamond'"
    with pytest.raises(InvalidArgumentError) as caught:
        mall().tier("platinum")
    assert f"name='platinum' is not a tier of this ladder, whose tiers are {valid}" == str(
        caught.value
    )
    with pytest.raises(InvalidArgumentError) as caught:
        mall().benefits("platinum")
    assert (
        f"state_or_tier_name='platinum' is not a tier of this ladder, whose tiers are {valid}"
        == str(caught.value)
    )
    with pytest.raises(ArgumentTypeError) as caught:
        mall().tier(3)  # type: ignore[arg-type]
    assert "name=3 must be a str, not int" == str(caught.value)


# -- the metric's window ------------------------------------------------------------------------


def test_metric_bounds_are_the_windows_own() -> None:
    """Bounds are computed once per instant: what the window computes, whatever zone now is in."""
    ladder = mall()
    utc = datetime(2027, 2, 1, 4, tzinfo=UTC)
    local = utc.astimezone(ZoneInfo("Asia/Shanghai"))
    for now in (utc, local, utc, local):
        bounds = ladder.metric_bounds(None, now)
        assert bounds == ladder.window.bounds(now, ladder.zone) == (sh(2027, 1, 1), utc)
        assert [str(end) for end in bounds] == [
            str(end) for end in ladder.window.bounds(now, ladder.zone)
        ]


def test_metric_bounds_follow_the_due_review() -> None:
    """Before a review the metric is the current year; at or after it, the year the review closed."""
    ladder = mall()
    state = gold_since_march()
    assert (sh(2026, 1, 1), sh(2026, 12, 31, 23)) == ladder.metric_bounds(
        state, sh(2026, 12, 31, 23)
    )
    assert (sh(2026, 1, 1), sh(2027, 1, 1)) == ladder.metric_bounds(state, sh(2027, 1, 1))
    assert (sh(2028, 1, 1), sh(2029, 1, 1)) == ladder.metric_bounds(state, sh(2029, 6, 1))
    assert (sh(2027, 1, 1), sh(2027, 2, 1)) == ladder.metric_bounds(None, sh(2027, 2, 1))
    assert ladder.window_bounds(sh(2027, 2, 1)) == ladder.metric_bounds(None, sh(2027, 2, 1))
    assert (None, sh(2027, 1, 1)) == SENIORITY.metric_bounds(gold_since_march(), sh(2027, 2, 1))
    with pytest.raises(ArgumentTypeError):
        ladder.metric_bounds("alice", sh(2027, 2, 1))  # type: ignore[arg-type]


def test_calendar_year_member_keeps_a_tier_earned_last_year() -> None:
    """Gold earned in 2026 is judged at 1 January 2027 on 2026, so it lasts through 2027."""
    ladder = mall()
    state = ladder.evaluate("alice", None, 6_000, sh(2026, 12, 30)).state
    start, end = ladder.metric_bounds(state, sh(2027, 1, 1))
    assert (sh(2026, 1, 1), sh(2027, 1, 1)) == (start, end)
    kept = ladder.evaluate("alice", state, 6_000, sh(2027, 1, 1))
    assert ("gold", sh(2028, 1, 1), ()) == (kept.state.tier, kept.state.next_review, kept.changes)


# -- manual changes -------------------------------------------------------------------------------


def test_set_tier_places_a_member_by_hand() -> None:
    """A manual change starts the tier now, ends any grace and keeps the VIP flag unless told."""
    ladder = mall(grace_days=30)
    state = gold_since_march(
        next_review=sh(2028, 1, 1), grace_until=sh(2027, 1, 31), tier="diamond"
    )
    decision = ladder.set_tier("alice", state, "silver", sh(2027, 1, 10))
    assert TierState("alice", "silver", sh(2027, 1, 10), sh(2028, 1, 1), None) == decision.state
    assert (change(sh(2027, 1, 10), "diamond", "silver", MANUAL, None),) == decision.changes
    vip = ladder.set_tier("alice", decision.state, "diamond", sh(2027, 2, 1), never_downgrade=True)
    assert (
        TierState("alice", "diamond", sh(2027, 2, 1), sh(2028, 1, 1), None, never_downgrade=True)
        == vip.state
    )
    kept = ladder.set_tier("alice", vip.state, "gold", sh(2027, 3, 1))
    assert kept.state.never_downgrade
    undone = ladder.set_tier("alice", kept.state, "gold", sh(2027, 3, 2), never_downgrade=False)
    assert not undone.state.never_downgrade


def test_set_tier_for_a_new_member_and_off_a_removed_tier() -> None:
    """A member never evaluated can be placed by hand; so can one on a tier the ladder dropped."""
    ladder = mall()
    placed = ladder.set_tier("bob", None, "gold", sh(2026, 6, 1), never_downgrade=True)
    assert (
        TierState("bob", "gold", sh(2026, 6, 1), sh(2027, 1, 1), None, never_downgrade=True)
        == placed.state
    )
    assert (TierChange("bob", sh(2026, 6, 1), None, "gold", MANUAL, None),) == placed.changes
    moved = ladder.set_tier("alice", gold_since_march(tier="platinum"), "diamond", sh(2026, 6, 1))
    assert ("platinum", "diamond") == (moved.changes[0].from_tier, moved.state.tier)
    with pytest.raises(InvalidArgumentError) as caught:
        ladder.set_tier("alice", None, "platinum", sh(2026, 6, 1))
    assert (
        "tier_name='platinum' is not a tier of this ladder, whose tiers are 'normal', 'silver', 'gold', 'diamond'"
        == str(caught.value)
    )


# -- progress -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "metric", "expected"),
    [
        (
            gold_since_march(),
            3_000,
            TierProgress(
                MALL_TIERS[2], MALL_TIERS[3], 17_000, sh(2027, 1, 1), 2_000, sh(2027, 1, 1)
            ),
        ),
        (
            gold_since_march(),
            7_000,
            TierProgress(MALL_TIERS[2], MALL_TIERS[3], 13_000, sh(2027, 1, 1), 0, sh(2027, 1, 1)),
        ),
        (
            gold_since_march(),
            25_000,
            TierProgress(MALL_TIERS[2], MALL_TIERS[3], 0, sh(2027, 1, 1), 0, sh(2027, 1, 1)),
        ),
        (
            gold_since_march(grace_until=sh(2026, 6, 1)),
            4_000,
            TierProgress(
                MALL_TIERS[2], MALL_TIERS[3], 16_000, sh(2027, 1, 1), 1_000, sh(2026, 6, 1)
            ),
        ),
        (
            gold_since_march(tier="diamond"),
            0,
            TierProgress(MALL_TIERS[3], None, 0, None, 20_000, sh(2027, 1, 1)),
        ),
        (
            gold_since_march(tier="diamond", never_downgrade=True),
            0,
            TierProgress(MALL_TIERS[3], None, 0, None, 0, None),
        ),
        (
            gold_since_march(tier="normal"),
            -10,
            TierProgress(MALL_TIERS[0], MALL_TIERS[1], 1_010, sh(2027, 1, 1), 0, None),
        ),
    ],
)
def test_progress(state: TierState, metric: int, expected: TierProgress) -> None:
    """Progress says what reaches the next tier by the year's end and what keeps this one (golden)."""
    assert expected == mall().progress(state, metric, sh(2026, 5, 15))


def test_progress_by_for_other_windows() -> None:
    """A rolling window's period ends on the 1st of next month; a lifetime one never ends."""
    rolling = TierLadder(
        MALL_TIERS,
        QualifyingMetric("tier_credits"),
        RollingMonths(12),
        DowngradePolicy(ReviewEveryMonths(12)),
        SHANGHAI,
    )
    state = rolling.evaluate("alice", None, 1_000, sh(2026, 5, 15)).state
    assert TierProgress(
        MALL_TIERS[1], MALL_TIERS[2], 3_900, sh(2026, 6, 1), 0, sh(2027, 5, 15)
    ) == rolling.progress(state, 1_100, sh(2026, 5, 20))
    senior = TierState("alice", "junior", sh(2026, 1, 1), None, None)
    assert TierProgress(
        SENIORITY.tiers[1], SENIORITY.tiers[2], 4_000, None, 0, None
    ) == SENIORITY.progress(senior, 6_000, sh(2026, 5, 1))
    with pytest.raises(ArgumentTypeError) as caught:
        SENIORITY.progress(None, 0, sh(2026, 5, 1))  # type: ignore[arg-type]
    assert "state=None must be a TierState, not NoneType" == str(caught.value)


def test_next_check_is_the_earliest_scheduled_instant() -> None:
    """A state's next check is its grace end or its next review, whichever comes first."""
    assert sh(2027, 1, 1) == gold_since_march().next_check
    assert sh(2026, 6, 1) == gold_since_march(grace_until=sh(2026, 6, 1)).next_check
    assert gold_since_march(next_review=None).next_check is None
