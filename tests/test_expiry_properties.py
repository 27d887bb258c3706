"""Expiry windows and policies: properties over instants in many zones, around DST changes."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from pointkit import _localtime, limits
from pointkit.expiry import (
    EndOfPeriod,
    ExpiryPolicy,
    ExpiryWindow,
    FixedDates,
    Inactivity,
    Never,
    RollingDays,
    RollingMonths,
    expiring_within,
)


ZONES = [
    "UTC",
    "Asia/Shanghai",  # no DST
    "Asia/Kolkata",  # +05:30, no DST
    "America/New_York",
    "Europe/Berlin",
    "Europe/Dublin",  # "negative" DST: winter time is the exception
    "America/Santiago",  # clocks change at midnight
    "America/St_Johns",  # -03:30 / -02:30
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Apia",  # skipped 30 December 2011
    "Antarctica/Troll",  # a two-hour DST shift
    "Africa/Casablanca",  # DST suspended each Ramadan: four changes a year
]
DST_ZONES = [name for name in ZONES if name not in {"UTC", "Asia/Shanghai", "Asia/Kolkata"}]
FIXED_ZONES = ["UTC", "Asia/Shanghai", "Asia/Kolkata"]

zones = st.sampled_from(ZONES).map(ZoneInfo)
plain_instants = st.datetimes(
    min_value=datetime(1971, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2200, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@cache
def _transitions(zone: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """The UTC instants (to the second) at which *zone* changes its offset in *year*."""
    found: list[datetime] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        after = day + timedelta(hours=6)
        if day.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            low, high = day, after
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == high.astimezone(zone).utcoffset():
                    high = middle
                else:
                    low = middle
            found.append(high.replace(microsecond=0))
        day = after
    return tuple(found)


@st.composite
def near_transitions(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A DST zone and an instant within three hours of one of its offset changes."""
    zone = ZoneInfo(draw(st.sampled_from(DST_ZONES)))
    year = draw(st.integers(1971, 2200))
    changes = _transitions(zone, year)
    if not changes:
        return zone, datetime(year, 7, 1, tzinfo=UTC)
    change = draw(st.sampled_from(changes))
    return zone, change + timedelta(microseconds=draw(st.integers(-3 * 3600, 3 * 3600)) * 10**6)


zoned_instants = st.tuples(zones, plain_instants) | near_transitions()


@st.composite
def clearing_pairs(draw: st.DrawFn) -> tuple[int, int]:
    """A (month, day) pair that every year has."""
    month = draw(st.integers(1, 12))
    return month, draw(st.integers(1, calendar.monthrange(2001, month)[1]))


month_counts = st.integers(1, 36) | st.integers(1, limits.EXPIRY_MONTHS_MAX)
dated_windows: st.SearchStrategy[ExpiryWindow] = st.one_of(
    st.builds(RollingMonths, month_counts),
    st.builds(RollingDays, st.integers(1, 800) | st.integers(1, limits.EXPIRY_DAYS_MAX)),
    st.builds(
        EndOfPeriod,
        st.sampled_from(["month", "quarter", "half_year", "year"]),
        st.integers(0, limits.EXPIRY_OFFSET_MAX),
    ),
    st.builds(
        FixedDates,
        st.lists(clearing_pairs(), min_size=1, max_size=limits.CLEARING_DATES_MAX, unique=True),
        st.integers(0, 400),
    ),
    st.builds(Inactivity, month_counts),
)
windows = dated_windows | st.just(Never())
gaps = st.integers(0, 3 * 3600).map(lambda seconds: timedelta(seconds=seconds)) | st.timedeltas(
    timedelta(0), timedelta(days=800)
)


@given(windows, zoned_instants)
def test_expiry_is_strictly_after_earning_in_utc(
    window: ExpiryWindow, zoned: tuple[ZoneInfo, datetime]
) -> None:
    """Every expiry is an aware UTC datetime strictly after the earning; Never gives None."""
    zone, earned = zoned
    expires = window.expires_at(earned, zone)
    if isinstance(window, Never):
        assert expires is None
        return
    assert expires is not None
    assert expires.tzinfo is UTC
    assert earned < expires


@given(dated_windows, zoned_instants, gaps)
def test_a_later_earning_never_expires_earlier(
    window: ExpiryWindow, zoned: tuple[ZoneInfo, datetime], gap: timedelta
) -> None:
    """For every window but Never, expiry is non-decreasing in the earning instant."""
    zone, earlier = zoned
    first = window.expires_at(earlier, zone)
    second = window.expires_at(earlier + gap, zone)
    assert first is not None
    assert second is not None
    assert first <= second


@given(st.integers(1, limits.EXPIRY_MONTHS_MAX), zoned_instants)
def test_inactivity_counts_like_rolling_months(
    months: int, zoned: tuple[ZoneInfo, datetime]
) -> None:
    """Inactivity(m) expires where RollingMonths(m) does, counted from the activity."""
    zone, at = zoned
    assert RollingMonths(months).expires_at(at, zone) == Inactivity(months).expires_at(at, zone)


@given(st.integers(1, limits.EXPIRY_DAYS_MAX), zoned_instants)
def test_rolling_days_are_exact_elapsed_days(days: int, zoned: tuple[ZoneInfo, datetime]) -> None:
    """RollingDays(d) expires exactly d days of 24 hours after the earning, in any zone."""
    zone, earned = zoned
    expected = earned + timedelta(days=days)
    assert expected == RollingDays(days).expires_at(earned, zone)


def _add_months(day: date, months: int) -> date:
    """The plain calendar model: same day of month, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@given(st.integers(1, limits.EXPIRY_MONTHS_MAX), st.sampled_from(FIXED_ZONES), plain_instants)
def test_rolling_months_match_the_calendar_without_dst(
    months: int, zone_name: str, earned: datetime
) -> None:
    """Without DST, RollingMonths keeps the wall time and clamps the day to the month's end."""
    zone = ZoneInfo(zone_name)
    local = earned.astimezone(zone)
    expected = datetime.combine(_add_months(local.date(), months), local.timetz())
    actual = RollingMonths(months).expires_at(earned, zone)
    assert expected == actual


@given(
    st.sampled_from(["month", "quarter", "half_year", "year"]),
    st.integers(0, limits.EXPIRY_OFFSET_MAX),
    st.sampled_from(FIXED_ZONES),
    plain_instants,
)
def test_end_of_period_matches_the_calendar_without_dst(
    period: str, offset: int, zone_name: str, earned: datetime
) -> None:
    """Without DST, EndOfPeriod is local midnight on the first day of the right later period."""
    zone = ZoneInfo(zone_name)
    local = earned.astimezone(zone)
    length = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}[period]
    start = date(local.year, (local.month - 1) // length * length + 1, 1)
    expected_day = _add_months(start, length * (1 + offset))
    expected = datetime.combine(expected_day, datetime.min.time(), tzinfo=zone)
    assert expected == EndOfPeriod(period, offset).expires_at(earned, zone)  # type: ignore[arg-type]


@given(
    st.lists(clearing_pairs(), min_size=1, max_size=6, unique=True),
    st.integers(0, 400),
    st.sampled_from(FIXED_ZONES),
    plain_instants,
)
def test_fixed_dates_match_a_day_by_day_search(
    dates: list[tuple[int, int]], min_days: int, zone_name: str, earned: datetime
) -> None:
    """FixedDates expires at the end of the first clearing day at least min_days days away."""
    zone = ZoneInfo(zone_name)
    earned_on = earned.astimezone(zone).date()
    clearing = earned_on + timedelta(days=min_days)
    while (clearing.month, clearing.day) not in dates:
        clearing += timedelta(days=1)
    expected = datetime.combine(clearing + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    assert expected == FixedDates(dates, min_days).expires_at(earned, zone)


@given(near_transitions(), st.integers(-3 * 3600, 3 * 3600), st.integers(0, 2 * 3600))
def test_resolving_wall_times_is_monotone(
    zoned: tuple[ZoneInfo, datetime], shift_seconds: int, gap_seconds: int
) -> None:
    """Around a change, a later wall time never resolves earlier; a gap resolves to its end."""
    zone, change = zoned
    wall = change.astimezone(zone).replace(tzinfo=None) + timedelta(seconds=shift_seconds)
    later = wall + timedelta(seconds=gap_seconds)
    resolved = _localtime.resolve(wall, zone)
    assert resolved <= _localtime.resolve(later, zone)
    shown = resolved.astimezone(zone).replace(tzinfo=None)
    if shown != wall:  # wall is in a gap: the clock jumps over it at the resolved instant
        just_before = (resolved - timedelta(microseconds=1)).astimezone(zone)
        assert just_before.replace(tzinfo=None) < wall < shown
    else:  # an existing wall time resolves to its first instant
        assert resolved == wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


@given(near_transitions(), st.integers(0, 3 * 3600))
def test_starting_wall_time_is_monotone(zoned: tuple[ZoneInfo, datetime], gap_seconds: int) -> None:
    """The wall time expiry counts from never decreases, and is the clock's outside a fold."""
    zone, earlier = zoned
    later = earlier + timedelta(seconds=gap_seconds)
    assert _localtime.wall(earlier, zone) <= _localtime.wall(later, zone)
    local = earlier.astimezone(zone)
    if local.fold == 0:
        assert local.replace(tzinfo=None) == _localtime.wall(earlier, zone)


overrides_keys = st.sampled_from(["points", "miles", "tier_credits"])
rule_keys = st.sampled_from(["bonus", "welcome", "double_11"])


@given(
    windows,
    st.dictionaries(overrides_keys, windows),
    st.dictionaries(rule_keys, windows.filter(lambda window: not window.follows_activity)),
    overrides_keys,
    st.none() | rule_keys,
)
def test_policy_precedence_rule_then_currency_then_default(
    default: ExpiryWindow,
    currencies: dict[str, ExpiryWindow],
    rules: dict[str, ExpiryWindow],
    currency: str,
    rule: str | None,
) -> None:
    """window_for gives the rule's override, else the currency's, else the default."""
    policy = ExpiryPolicy("Europe/Berlin", default, currencies, rules)
    if rule is not None and rule in rules:
        expected = rules[rule]
    else:
        expected = currencies.get(currency, default)
    assert expected == policy.window_for(currency, rule)
    at = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert expected.expires_at(at, ZoneInfo("Europe/Berlin")) == policy.expires_at(
        at, currency, rule
    )


@given(
    st.none() | plain_instants,
    plain_instants,
    st.timedeltas(timedelta(microseconds=1), timedelta(days=3650)),
)
def test_expiring_within_is_the_half_open_span(
    expires_at: datetime | None, now: datetime, within: timedelta
) -> None:
    """expiring_within is now < expires_at <= now + within, and False for never."""
    expected = expires_at is not None and now < expires_at <= now + within
    assert expected == expiring_within(expires_at, now=now, within=within)
