"""Instants at the ends of the calendar: refused with a pointkit error, or handled; never a crash.

A datetime holds the years 1 to 9999. An aware instant near either end may have no UTC form
(9999-12-31T23:59-14:00), no local time in the program's zone (9999-12-31T20:00Z is in the year
10000 in Shanghai), or lead to one that has none (a hold that would run out in the year 10000, a
review date after 9999). Every public entry point refuses such an instant with a PointkitError
that names the argument, before it writes anything, or succeeds where the result exists.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from pointkit import FixedClock, MemoryStorage, Money, limits
from pointkit.exceptions import InvalidArgumentError, PointkitError
from pointkit.expiry import (
    EndOfPeriod,
    ExpiryPolicy,
    FixedDates,
    Inactivity,
    RollingDays,
    RollingMonths,
    expiring_within,
)
from pointkit.ledger import Earn, Transaction
from pointkit.pricing import SeededRandom, liability
from pointkit.program import Program, ProgramConfig, config_from_toml
from pointkit.reports import daily_report
from pointkit.rules import (
    Event,
    MemberContext,
    RuleSet,
    RuleState,
    anniversary_events,
    birthday_events,
)
from pointkit.testing import snapshot
from pointkit.tiers import (
    CalendarYear,
    DowngradePolicy,
    ReviewEveryMonths,
    ReviewYearlyOn,
)
from pointkit.tiers import RollingMonths as RollingMonthsWindow


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
EAST = timezone(timedelta(hours=14))
WEST = timezone(timedelta(hours=-14))
FIRST = datetime.min.replace(tzinfo=UTC)
LAST = datetime.max.replace(tzinfo=UTC)
LATE = datetime(9999, 12, 31, 23, tzinfo=UTC)
HOLD_MAX = limits.HOLD_TIMEOUT_SECONDS_MAX

# Shanghai is 8 hours east (8:05:43 of local mean time in the year 1), Etc/GMT-14 14 hours east
# and Etc/GMT+12 12 hours west all year round: each end of the calendar is near in one of them.
ZONES = ("Asia/Shanghai", "Etc/GMT-14", "Etc/GMT+12", "UTC")

# datetime.min and max in UTC and 14 hours either way (the widest offsets in use), and instants
# in the years 1 and 9999 that have no local time in some zone.
EXTREMES = (
    LAST,
    datetime.max.replace(tzinfo=WEST),
    datetime.max.replace(tzinfo=EAST),
    FIRST,
    datetime.min.replace(tzinfo=WEST),
    datetime.min.replace(tzinfo=EAST),
    datetime(9999, 12, 31, 20, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, tzinfo=WEST),
    datetime(1, 1, 1, 1, tzinfo=EAST),
    datetime(1, 1, 1, 5, tzinfo=UTC),
)

# Clocks in late 9999 and early in the year 1.
CLOCKS = (
    LATE,
    datetime(9999, 12, 31, 10, tzinfo=UTC),
    datetime(9999, 1, 1, tzinfo=UTC),
    LAST,
    FIRST,
    datetime(1, 1, 1, 13, tzinfo=UTC),
    datetime(1, 1, 3, tzinfo=UTC),
)


@functools.cache
def config(zone: str, *, expiry: bool) -> ProgramConfig:
    """The packaged points mall in *zone*, with its expiry policy or with points that never expire."""
    text = MALL.read_text(encoding="utf-8")
    packaged = 'zone = "Asia/Shanghai"'
    assert 1 == text.count(packaged)
    built = config_from_toml(text.replace(packaged, f'zone = "{zone}"'))
    return built if expiry else attrs.evolve(built, expiry=None)


def mall(
    zone: str, *, expiry: bool, at: datetime, storage: Storage | None = None
) -> tuple[Program, FixedClock]:
    """A fresh points mall in *zone*, a program of its own, with a clock that shows *at*."""
    clock = FixedClock(at)
    chosen = MemoryStorage() if storage is None else storage
    own = attrs.evolve(config(zone, expiry=expiry), id=f"edge-{uuid.uuid4().hex[:8]}")
    return Program(own, storage=chosen, clock=clock), clock


def state(program: Program) -> tuple[object, ...]:
    """Everything the storage holds for *program*: points, records and tiers."""
    return snapshot(program.ledger.storage, program.ledger.program, audit=("records", "tiers"))


def refused_or_done(program: Program, name: str, command: Callable[[], object]) -> object:
    """Run *command*: it succeeds, or raises a PointkitError and leaves the storage unchanged.

    Any other exception (an OverflowError, a ValueError of the datetime module) fails the test.
    """
    before = state(program)
    try:
        return command()
    except PointkitError as error:
        refusal = error
    except Exception as error:
        error.add_note(f"raised by {name}")
        raise
    assert before == state(program), f"{name}: {refusal!r} left the storage changed"
    return None


def seed(program: Program) -> dict[str, object]:
    """Give the mall a balance, an earn, two holds, two redemptions and an order to act on."""
    now = program.clock.now()
    ledger = program.ledger
    seeds: dict[str, Callable[[], object]] = {
        "gift": lambda: program.adjust("bob", 50_000, key="seed-gift", reason="seed balance"),
        "earn": lambda: ledger.earn("ann", 5_000, key="seed-earn"),
        "hold": lambda: ledger.reserve("bob", 100, key="seed-hold", timeout_seconds=HOLD_MAX),
        "hold-2": lambda: ledger.reserve("bob", 100, key="seed-hold-2", timeout_seconds=HOLD_MAX),
        "coupon": lambda: program.redeem("bob", "coupon", key="seed-coupon"),
        "watch": lambda: program.redeem("bob", "watch", key="seed-watch"),
        "order": lambda: program.record(
            Event.purchase(
                "seed-order", "ann", now, amount=Money(8_800, "CNY"), order_id="seed-order"
            )
        ),
    }
    return {
        name: refused_or_done(program, f"seed {name}", command) for name, command in seeds.items()
    }


def commands(program: Program, seeded: dict[str, object]) -> dict[str, Callable[[], object]]:
    """Every command of the ledger and the program, sent at the clock's time."""
    now = program.clock.now()
    ledger = program.ledger
    earned, hold, other = (seeded[name] for name in ("earn", "hold", "hold-2"))
    found: dict[str, Callable[[], object]] = {
        "earn": lambda: ledger.earn("ann", 100, key="earn"),
        "adjust": lambda: program.adjust("bob", 10, key="adjust-up", reason="goodwill"),
        "adjust down": lambda: program.adjust("bob", -10, key="adjust-down", reason="abuse"),
        "reserve": lambda: ledger.reserve("bob", 10, key="hold", timeout_seconds=3_600),
        "reserve longest": lambda: ledger.reserve(
            "bob", 10, key="hold-long", timeout_seconds=HOLD_MAX
        ),
        "reserve linked": lambda: ledger.run_linked(
            lambda link: link.reserve("bob", 10, key="hold-linked", timeout_seconds=3_600)
        ),
        "redeem": lambda: ledger.redeem("bob", 10, key="spend"),
        "transfer": lambda: program.transfer("bob", "ann", 100, key="give"),
        "redeem offer": lambda: program.redeem("bob", "coupon", key="coupon"),
        "fulfil": lambda: program.fulfil("seed-coupon", key="fulfil"),
        "cancel": lambda: program.cancel("seed-watch", key="cancel"),
        "draw": lambda: program.draw(
            "bob", "wheel", draw_id="D1", minor=False, random=SeededRandom(1)
        ),
        "convert": lambda: program.convert("bob", "points-to-miles", 1_000, key="convert"),
        "record sign-in": lambda: program.record(Event.sign_in("sign-in", "bob", now)),
        "record purchase": lambda: program.record(
            Event.purchase("order", "ann", now, amount=Money(880, "CNY"), order_id="order")
        ),
        "refund event": lambda: program.refund_event("seed-order", key="refund-order"),
        "review tier": lambda: program.review_tier("ann"),
        "set tier": lambda: program.set_tier("bob", "silver"),
        "tier status": lambda: program.tier_status("ann"),
        "run expiry": program.run_expiry,
        "upcoming expiries": lambda: program.upcoming_expiries("bob", timedelta(days=30)),
        "expiring": lambda: program.expiring(timedelta(days=30)),
    }
    if isinstance(earned, Transaction):
        found["reverse"] = lambda: program.reverse(str(earned.id), 10, key="undo")
    if isinstance(hold, Transaction):
        found["capture"] = lambda: ledger.capture(hold.id, key="capture")
    if isinstance(other, Transaction):
        found["release"] = lambda: ledger.release(other.id, key="release")
    return found


def instant_commands(program: Program, at: datetime) -> dict[str, Callable[[], object]]:
    """The commands that take an instant, given *at*."""
    ledger = program.ledger
    tag = at.isoformat()
    return {
        "earn expires_at": lambda: ledger.earn("ann", 1, key=f"expires-{tag}", expires_at=at),
        "earn available_at": lambda: ledger.earn("ann", 1, key=f"pending-{tag}", available_at=at),
        "earn_many": lambda: ledger.earn_many(
            [
                Earn(member="ann", amount=1, key=f"many-{tag}"),
                Earn(member="bob", amount=1, key=f"many2-{tag}", expires_at=at),
            ]
        ),
        "record sign-in at": lambda: program.record(Event.sign_in(f"sign-in-{tag}", "bob", at)),
        "record purchase at": lambda: program.record(
            Event.purchase(f"o-{tag}", "ann", at, amount=Money(880, "CNY"), order_id=f"o-{tag}")
        ),
    }


@pytest.mark.parametrize("expiry", [True, False], ids=["expiry", "no-expiry"])
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("now", CLOCKS, ids=lambda now: now.isoformat())
def test_every_command_refuses_or_succeeds_at_the_ends_of_the_calendar(
    now: datetime, zone: str, *, expiry: bool
) -> None:
    """With the clock in late 9999 or the year 1, each command refuses cleanly or succeeds."""
    program, clock = mall(zone, expiry=expiry, at=min(START, now))
    seeded = seed(program)
    clock.set(now)
    for name, command in commands(program, seeded).items():
        refused_or_done(program, name, command)
    for at in EXTREMES:
        for name, command in instant_commands(program, at).items():
            refused_or_done(program, f"{name} {at.isoformat()}", command)
    program.audit()


def test_edge_instants_round_trip_through_storage(any_storage: Storage) -> None:
    """Holds and lots due at the calendar's last instant are stored, read back and audited."""
    program, clock = mall(
        "UTC", expiry=False, at=datetime(9999, 12, 31, tzinfo=UTC), storage=any_storage
    )
    program.ledger.earn("ann", 100, key="late", expires_at=LAST)
    hold = program.ledger.reserve("ann", 40, key="hold", timeout_seconds=86_399)
    clock.set(datetime(9999, 12, 31, 12, tzinfo=UTC))
    expected = (LAST, LAST - timedelta(microseconds=999_999), 60)
    assert expected == (
        program.lots("ann")[0].expires_at,
        program.hold(hold.id).expires_at,
        program.upcoming_expiries("ann", timedelta(days=1))[0].points,
    )
    program.audit()


# fmt: off
PROGRAM_REFUSALS = [
    ("reserve", "Asia/Shanghai", LATE, lambda p: p.ledger.reserve("bob", 10, key="h", timeout_seconds=3_600), "timeout_seconds=3600 is out of range at 9999-12-31T23:00:00+00:00: the deadline it sets would fall after the year 9999"),
    ("linked reserve", "Asia/Shanghai", LATE, lambda p: p.ledger.run_linked(lambda link: link.reserve("bob", 10, key="h", timeout_seconds=3_600)), "timeout_seconds=3600 is out of range at 9999-12-31T23:00:00+00:00: the deadline it sets would fall after the year 9999"),
    ("offer hold", "UTC", datetime(9999, 12, 31, 23, 30, tzinfo=UTC), lambda p: p.redeem("bob", "coupon", key="c"), "timeout_seconds=3600 is out of range at 9999-12-31T23:30:00+00:00: the deadline it sets would fall after the year 9999"),
    ("offer day", "Asia/Shanghai", LATE, lambda p: p.redeem("bob", "coupon", key="c"), "now=9999-12-31T23:00:00+00:00 is out of range: its local time in Asia/Shanghai would fall outside the years 1 to 9999"),
    ("draw day", "Asia/Shanghai", LATE, lambda p: p.draw("bob", "wheel", draw_id="D1", minor=False, random=SeededRandom(1)), "now=9999-12-31T23:00:00+00:00 is out of range: its local time in Asia/Shanghai would fall outside the years 1 to 9999"),
    ("conversion month", "Asia/Shanghai", LATE, lambda p: p.convert("bob", "points-to-miles", 1_000, key="c"), "now=9999-12-31T23:00:00+00:00 is out of range: its local time in Asia/Shanghai would fall outside the years 1 to 9999"),
    ("sign-in window", "Asia/Shanghai", LATE, lambda p: p.record(Event.sign_in("s", "bob", LATE)), "now=9999-12-31T23:00:00+00:00 is out of range: the dates it needs fall outside the years 1 to 9999"),
    ("sign-in review", "Asia/Shanghai", datetime(9999, 12, 31, 10, tzinfo=UTC), lambda p: p.record(Event.sign_in("s", "bob", datetime(9999, 12, 31, 10, tzinfo=UTC))), "after=9999-12-31T10:00:00+00:00 is out of range: the dates it needs fall outside the years 1 to 9999"),
    ("sign-in year 1", "Asia/Shanghai", FIRST, lambda p: p.record(Event.sign_in("s", "bob", FIRST)), "now=0001-01-01T00:00:00+00:00 is out of range: the dates it needs fall outside the years 1 to 9999"),
    ("purchase local", "Asia/Shanghai", START, lambda p: p.record(Event.purchase("o", "bob", datetime(9999, 12, 31, 20, tzinfo=UTC), amount=Money(880, "CNY"), order_id="o")), "event.at=9999-12-31T20:00:00+00:00 is out of range: its local time in Asia/Shanghai would fall outside the years 1 to 9999"),
    ("set tier", "Asia/Shanghai", LATE, lambda p: p.set_tier("bob", "gold"), "after=9999-12-31T23:00:00+00:00 is out of range: the dates it needs fall outside the years 1 to 9999"),
    ("review tier", "UTC", LAST, lambda p: p.review_tier("bob"), "now=9999-12-31T23:59:59.999999+00:00 is out of range: a window that includes it would end after the year 9999"),
    ("earn expiry", "Asia/Shanghai", START, lambda p: p.ledger.earn("ann", 1, key="e", expires_at=datetime(9999, 12, 31, 23, 59, tzinfo=WEST)), "expires_at=9999-12-31T23:59:00-14:00 is out of range: in UTC it would fall outside the years 1 to 9999"),
    ("earn pending", "Asia/Shanghai", START, lambda p: p.ledger.earn("ann", 1, key="e", available_at=datetime.min.replace(tzinfo=EAST)), "available_at=0001-01-01T00:00:00+14:00 is out of range: in UTC it would fall outside the years 1 to 9999"),
]
# fmt: on


@pytest.mark.parametrize(
    ("zone", "now", "command", "message"),
    [row[1:] for row in PROGRAM_REFUSALS],
    ids=[row[0] for row in PROGRAM_REFUSALS],
)
def test_program_refusals_name_the_argument_and_write_nothing(
    zone: str, now: datetime, command: Callable[[Program], object], message: str
) -> None:
    """Each refusal at a calendar edge is an InvalidArgumentError with its message (golden)."""
    program, clock = mall(zone, expiry=False, at=min(START, now))
    program.adjust("bob", 50_000, key="seed", reason="seed balance")
    clock.set(now)
    before = state(program)
    with pytest.raises(InvalidArgumentError) as raised:
        command(program)
    assert (message, before) == (str(raised.value), state(program))


def shanghai() -> ProgramConfig:
    """The packaged points mall, in its own zone."""
    return config("Asia/Shanghai", expiry=True)


def shanghai_rules() -> RuleSet:
    """The packaged points mall's earning rules."""
    rules = shanghai().rules
    assert rules is not None
    return rules


SHANGHAI_10000 = datetime(9999, 12, 31, 20, tzinfo=UTC)
"""04:00 on 1 January 10000 in Shanghai."""


# fmt: off
PURE_REFUSALS = [
    (lambda: Event.sign_in("s", "ann", datetime.max.replace(tzinfo=WEST)), "at=9999-12-31T23:59:59.999999-14:00 is out of range: in UTC it would fall outside the years 1 to 9999"),
    (lambda: Event.purchase("o", "ann", datetime.min.replace(tzinfo=EAST), amount=Money(880, "CNY"), order_id="o"), "at=0001-01-01T00:00:00+14:00 is out of range: in UTC it would fall outside the years 1 to 9999"),
    (lambda: FixedClock(datetime.max.replace(tzinfo=WEST)), "at=9999-12-31T23:59:59.999999-14:00 is out of range: in UTC it would fall outside the years 1 to 9999"),
    (lambda: FixedClock(datetime(9999, 12, 31, tzinfo=UTC)).advance(timedelta(days=1)), "by=datetime.timedelta(days=1) is out of range: from the clock's 9999-12-31T00:00:00+00:00 it would pass the year 9999"),
    (lambda: RollingDays(30).expires_at(datetime(9999, 12, 31, 23, 59, tzinfo=WEST), ZoneInfo("UTC")), "earned_at=9999-12-31T23:59:00-14:00 is out of range: in UTC it would fall outside the years 1 to 9999"),
    (lambda: shanghai_rules().evaluate(Event.sign_in("s", "ann", SHANGHAI_10000), RuleState(member=MemberContext("ann")), LAST), "event.at=9999-12-31T20:00:00+00:00 is out of range: its local time in Asia/Shanghai would fall outside the years 1 to 9999"),
    (lambda: shanghai().offer("coupon").counter_keys(SHANGHAI_10000), "now=9999-12-31T20:00:00+00:00 is out of range: its local time in Asia/Shanghai would fall outside the years 1 to 9999"),
    (lambda: shanghai().lottery("wheel").daily_key(SHANGHAI_10000), "now=9999-12-31T20:00:00+00:00 is out of range: its local time in Asia/Shanghai would fall outside the years 1 to 9999"),
    (lambda: ReviewYearlyOn(((1, 1),)).next_after(SHANGHAI_10000, SHANGHAI_10000, "Asia/Shanghai"), "after=9999-12-31T20:00:00+00:00 is out of range: the dates it needs fall outside the years 1 to 9999"),
    (lambda: ReviewEveryMonths(12).next_after(SHANGHAI_10000, SHANGHAI_10000, "Asia/Shanghai"), "since=9999-12-31T20:00:00+00:00 is out of range: the dates it needs fall outside the years 1 to 9999"),
    (lambda: ReviewYearlyOn(((12, 31),)).latest_until(FIRST, FIRST, "Etc/GMT+12"), "until=0001-01-01T00:00:00+00:00 is out of range: the dates it needs fall outside the years 1 to 9999"),
    (lambda: ReviewEveryMonths(1).latest_until(FIRST, datetime(1, 3, 1, tzinfo=UTC), "Etc/GMT+12"), "since=0001-01-01T00:00:00+00:00 is out of range: the dates it needs fall outside the years 1 to 9999"),
    (lambda: list(birthday_events([("ann", date(2000, 1, 1))], date.min, zone="Asia/Shanghai", feb29="feb28")), "on=0001-01-01 is out of range: its start in Asia/Shanghai would fall outside the years 1 to 9999 in UTC"),
    (lambda: list(anniversary_events([("ann", date(1, 1, 1))], date.min, zone="Etc/GMT-14", feb29="feb28")), "on=0001-01-01 is out of range: its start in Etc/GMT-14 would fall outside the years 1 to 9999 in UTC"),
]
# fmt: on


@pytest.mark.parametrize(("compute", "message"), PURE_REFUSALS)
def test_pure_refusals_name_the_argument(compute: Callable[[], object], message: str) -> None:
    """Constructors and pure decisions refuse an edge instant with its message (golden)."""
    with pytest.raises(InvalidArgumentError) as raised:
        compute()
    assert message == str(raised.value)


def test_conversion_period_refuses_an_instant_without_a_local_date() -> None:
    """A conversion's per-month counter needs the local date, which 10000-01-01 is not."""
    exchange = shanghai().exchange
    assert exchange is not None
    with pytest.raises(InvalidArgumentError) as raised:
        exchange.conversion("points-to-miles").counter_key(SHANGHAI_10000)
    assert (
        "now=9999-12-31T20:00:00+00:00 is out of range: its local time in Asia/Shanghai would "
        "fall outside the years 1 to 9999"
    ) == str(raised.value)


def test_look_ahead_reads_stop_at_the_last_instant() -> None:
    """upcoming_expiries and expiring look past 9999 by reading to its last instant."""
    program, clock = mall("UTC", expiry=False, at=datetime(9999, 12, 31, tzinfo=UTC))
    program.ledger.earn("ann", 100, key="late", expires_at=LAST)
    clock.set(datetime(9999, 12, 31, 12, tzinfo=UTC))
    upcoming = program.upcoming_expiries("ann", timedelta(days=30))
    page = program.expiring(timedelta(days=30))
    expected = [(LAST, 100)]
    assert (expected, expected) == (
        [(entry.expires_at, entry.points) for entry in upcoming],
        [(entry.expires_at, entry.points) for entry in page.items],
    )


def test_the_last_instant_earns() -> None:
    """At 9999-12-31T23:59:59.999999Z, points that never expire can still be earned."""
    program, _ = mall("UTC", expiry=False, at=LAST)
    earned = program.ledger.earn("ann", 100, key="last")
    assert (LAST, 100) == (earned.created_at, program.balance("ann").available)
    program.audit()


@pytest.mark.parametrize(("zone", "issued"), [("Etc/GMT+12", 100), ("Etc/GMT-14", 0)])
def test_daily_report_runs_to_the_last_day(zone: str, issued: int) -> None:
    """A daily report through 9999-12-31 counts the days a datetime holds, in any zone.

    Points earned at 23:00Z on 9999-12-31 were earned that day 12 hours west, and in the year
    10000 14 hours east, after the report's last day.
    """
    program, _ = mall(zone, expiry=False, at=LATE)
    program.ledger.earn("ann", 100, key="late")
    report = daily_report(program, since=date(9999, 12, 30), until=date.max)
    expected = [(date(9999, 12, 30), 0), (date.max, issued)]
    assert expected == [(row.day, row.issued) for row in report.rows]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Etc/GMT-14"])
def test_daily_report_runs_from_the_first_day(zone: str) -> None:
    """A daily report from 0001-01-01 starts at the first instant when that day began earlier."""
    program, _ = mall(zone, expiry=False, at=FIRST)
    program.ledger.earn("ann", 100, key="first")
    report = daily_report(program, since=date.min, until=date(1, 1, 2))
    expected = [(date.min, 100), (date(1, 1, 2), 0)]
    assert expected == [(row.day, row.issued) for row in report.rows]


# -- every pure entry point, with instants drawn near both ends ---------------------------------

OFFSETS = st.sampled_from(
    [UTC, EAST, WEST, timezone(timedelta(hours=8)), ZoneInfo("America/New_York")]
)
edge_instants = st.one_of(
    st.sampled_from(EXTREMES),
    st.datetimes(
        min_value=datetime(9999, 12, 30),  # noqa: DTZ001 - bounds of a strategy that adds zones
        max_value=datetime.max,  # noqa: DTZ901
        timezones=OFFSETS,
    ),
    st.datetimes(
        min_value=datetime.min,  # noqa: DTZ901
        max_value=datetime(1, 1, 2),  # noqa: DTZ001
        timezones=OFFSETS,
    ),
)
WINDOWS = (
    RollingMonths(12),
    RollingDays(30),
    EndOfPeriod("year"),
    FixedDates(((6, 30), (12, 31)), min_days=30),
    Inactivity(12),
)


def pure_calls(zone: str, at: datetime, other: datetime) -> dict[str, Callable[[], object]]:
    """The pure entry points that take an instant, given *at* (and *other* where two are needed)."""
    built = config(zone, expiry=True)
    ladder, rules, exchange, valuation = built.tiers, built.rules, built.exchange, built.valuation
    assert ladder is not None
    assert rules is not None
    assert exchange is not None
    assert valuation is not None
    state = ladder.set_tier("ann", None, "gold", min(at, other)).state if at != other else None
    calls: dict[str, Callable[[], object]] = {
        "Event.sign_in": lambda: Event.sign_in("s", "ann", at),
        "Event.purchase": lambda: Event.purchase(
            "o", "ann", at, amount=Money(880, "CNY"), order_id="o"
        ),
        "Event.review": lambda: Event.review("r", "ann", at, length=30, rating=5),
        "evaluate": lambda: rules.evaluate(
            Event.sign_in("s", "ann", at), RuleState(member=MemberContext("ann")), LAST
        ),
        "state_keys": lambda: rules.state_keys(Event.sign_in("s", "ann", at)),
        "FixedClock": lambda: FixedClock(at),
        "FixedClock.advance": lambda: FixedClock(min(at, other)).advance(abs(at - other)),
        "ExpiryPolicy": lambda: ExpiryPolicy(zone, RollingMonths(12)).expires_at(at, "points"),
        "expiring_within": lambda: expiring_within(at, now=other, within=timedelta.max),
        "liability": lambda: liability([(at, 10), (None, 5)], valuation, now=other),
        "tier window": lambda: ladder.window_bounds(at),
        "tier metric window": lambda: ladder.metric_bounds(state, max(at, other)),
        "tier evaluate": lambda: ladder.evaluate("ann", state, 10**6, max(at, other)),
        "tier set": lambda: ladder.set_tier("ann", None, "silver", at),
        "tier progress": lambda: ladder.progress(state, 0, max(at, other)) if state else None,
        "rolling window": lambda: RollingMonthsWindow(12).period_end(at, zone),
        "calendar year": lambda: CalendarYear().bounds(at, zone),
        "every months": lambda: ReviewEveryMonths(12).next_after(other, at, zone),
        "every months until": lambda: ReviewEveryMonths(12).latest_until(other, at, zone),
        "yearly": lambda: ReviewYearlyOn(((1, 1), (12, 31))).next_after(other, at, zone),
        "yearly until": lambda: ReviewYearlyOn(((1, 1), (12, 31))).latest_until(other, at, zone),
        "grace": lambda: DowngradePolicy(ReviewYearlyOn(((1, 1),)), grace_days=30).grace_end(
            at, zone
        ),
        "offer keys": lambda: built.offer("coupon").counter_keys(at),
        "offer check": lambda: built.offer("headphones").check(
            now=at, tier=None, quantity=1, sold=0, used=[0]
        ),
        "lottery key": lambda: built.lottery("wheel").daily_key(at),
        "lottery check": lambda: built.lottery("wheel").check_draw(
            now=at, minor=False, draws_today=0
        ),
        "conversion key": lambda: exchange.conversion("points-to-miles").counter_key(at),
    }
    for window in WINDOWS:
        calls[repr(window)] = functools.partial(window.expires_at, at, ZoneInfo(zone))
    return calls


@given(zone=st.sampled_from(ZONES), at=edge_instants, other=edge_instants)
def test_pure_entry_points_refuse_or_decide_near_the_ends(
    zone: str, at: datetime, other: datetime
) -> None:
    """Constructors, windows, reviews, offers, lotteries and rules: a PointkitError or a result."""
    try:
        calls = pure_calls(zone, at, other)
    except PointkitError:
        return  # the tier state the calls share could not be made at that instant
    for name, compute in calls.items():
        note(name)
        try:
            compute()
        except PointkitError:
            continue
