"""Expiry windows and policies: golden cases for every window, error and precedence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import attrs
import pytest

from pointkit import limits
from pointkit.exceptions import (
    ArgumentTypeError,
    ConfigurationError,
    InvalidArgumentError,
    InvariantViolation,
    LimitExceededError,
    NaiveDatetimeError,
)
from pointkit.expiry import (
    EndOfPeriod,
    ExpiryPolicy,
    ExpiryWindow,
    FixedDates,
    Inactivity,
    Never,
    RollingDays,
    RollingMonths,
    _windows,
    expiring_within,
)


if TYPE_CHECKING:
    from collections.abc import Callable


SH = "Asia/Shanghai"  # no daylight saving time
NY = "America/New_York"  # 2026: gap 8 March 02:00-03:00, fold 1 November 01:00-02:00
BER = "Europe/Berlin"  # 2026: gap 29 March 02:00-03:00, fold 25 October 02:00-03:00
SCL = "America/Santiago"  # 2026: gap 6 September 00:00-01:00, fold 4 April 23:00-24:00
APIA = "Pacific/Apia"  # skipped 30 December 2011 entirely
HALF = FixedDates(((6, 30), (12, 31)))

# (window, zone, earned at, expected expiry shown in the zone); one line per case.
# fmt: off
GOLDEN: list[tuple[ExpiryWindow, str, str, str | None]] = [
    (Never(), SH, "2026-01-31T10:00:00+08:00", None),
    # Calendar months keep the wall time and clamp to the end of a shorter month.
    (RollingMonths(1), SH, "2026-01-31T10:00:00+08:00", "2026-02-28T10:00:00+08:00"),
    (RollingMonths(1), SH, "2028-01-31T10:00:00+08:00", "2028-02-29T10:00:00+08:00"),
    (RollingMonths(1), SH, "2026-03-31T00:00:00+08:00", "2026-04-30T00:00:00+08:00"),
    (RollingMonths(3), SH, "2026-11-30T08:00:00+08:00", "2027-02-28T08:00:00+08:00"),
    (RollingMonths(12), SH, "2028-02-29T23:59:59+08:00", "2029-02-28T23:59:59+08:00"),
    (RollingMonths(48), SH, "2028-02-29T12:00:00+08:00", "2032-02-29T12:00:00+08:00"),
    (RollingMonths(12), SH, "2026-12-31T17:00:00+00:00", "2028-01-01T01:00:00+08:00"),
    (RollingMonths(1200), SH, "2026-06-15T12:00:00+08:00", "2126-06-15T12:00:00+08:00"),
    (RollingMonths(1), BER, "2026-03-15T12:00:00+01:00", "2026-04-15T12:00:00+02:00"),
    # A wall time in the spring gap moves forward to the first instant after it.
    (RollingMonths(1), NY, "2026-02-08T02:30:00-05:00", "2026-03-08T03:00:00-04:00"),
    (RollingMonths(2), BER, "2026-01-29T02:30:00+01:00", "2026-03-29T03:00:00+02:00"),
    # An ambiguous wall time in the autumn fold resolves to the earlier instant.
    (RollingMonths(1), NY, "2026-10-01T01:30:00-04:00", "2026-11-01T01:30:00-04:00"),
    (RollingMonths(1), BER, "2026-09-25T02:30:00+02:00", "2026-10-25T02:30:00+02:00"),
    # An earning in the second pass of the fold counts from the last wall time of the first.
    (RollingMonths(1), NY, "2026-11-01T01:50:00-04:00", "2026-12-01T01:50:00-05:00"),
    (RollingMonths(1), NY, "2026-11-01T01:30:00-05:00", "2026-12-01T01:59:59.999999-05:00"),
    (RollingMonths(1), BER, "2026-10-25T02:15:00+01:00", "2026-11-25T02:59:59.999999+01:00"),
    (RollingMonths(1), NY, "2026-11-01T02:00:00-05:00", "2026-12-01T02:00:00-05:00"),
    # Days are 24 hours of elapsed time, so the local clock time moves by the DST shift.
    (RollingDays(30), BER, "2026-03-20T12:00:00+01:00", "2026-04-19T13:00:00+02:00"),
    (RollingDays(1), NY, "2026-11-01T00:30:00-04:00", "2026-11-01T23:30:00-05:00"),
    (RollingDays(1), SH, "2026-01-31T23:59:59+08:00", "2026-02-01T23:59:59+08:00"),
    (RollingDays(365), SH, "2028-02-29T12:00:00+08:00", "2029-02-28T12:00:00+08:00"),
    (RollingDays(366), SH, "2028-01-01T00:00:00+08:00", "2029-01-01T00:00:00+08:00"),
    # End of period: 00:00 local on the first day of the next period, plus the offset.
    (EndOfPeriod("month"), SH, "2026-01-31T23:59:59+08:00", "2026-02-01T00:00:00+08:00"),
    (EndOfPeriod("month"), SH, "2028-02-29T12:00:00+08:00", "2028-03-01T00:00:00+08:00"),
    (EndOfPeriod("month", 1), SH, "2026-01-01T00:00:00+08:00", "2026-03-01T00:00:00+08:00"),
    (EndOfPeriod("month", 11), SH, "2026-12-05T10:00:00+08:00", "2027-12-01T00:00:00+08:00"),
    (EndOfPeriod("quarter"), SH, "2026-03-31T23:00:00+08:00", "2026-04-01T00:00:00+08:00"),
    (EndOfPeriod("quarter"), SH, "2026-04-01T00:00:00+08:00", "2026-07-01T00:00:00+08:00"),
    (EndOfPeriod("quarter"), SH, "2026-12-31T08:00:00+08:00", "2027-01-01T00:00:00+08:00"),
    (EndOfPeriod("quarter", 1), SH, "2026-02-14T09:30:00+08:00", "2026-07-01T00:00:00+08:00"),
    (EndOfPeriod("quarter", 4), SH, "2026-11-14T09:30:00+08:00", "2028-01-01T00:00:00+08:00"),
    (EndOfPeriod("half_year"), SH, "2026-06-30T12:00:00+08:00", "2026-07-01T00:00:00+08:00"),
    (EndOfPeriod("half_year"), SH, "2026-07-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"),
    (EndOfPeriod("half_year", 1), SH, "2026-08-01T00:00:00+08:00", "2027-07-01T00:00:00+08:00"),
    (EndOfPeriod("year"), SH, "2026-01-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"),
    (EndOfPeriod("year"), SH, "2026-12-31T23:59:59+08:00", "2027-01-01T00:00:00+08:00"),
    (EndOfPeriod("year"), SH, "2026-12-31T17:00:00+00:00", "2028-01-01T00:00:00+08:00"),
    (EndOfPeriod("year"), SH, "2028-02-29T12:00:00+08:00", "2029-01-01T00:00:00+08:00"),
    (EndOfPeriod("year", 1), SH, "2026-05-01T00:00:00+08:00", "2028-01-01T00:00:00+08:00"),
    (EndOfPeriod("year"), NY, "2026-06-15T12:00:00-04:00", "2027-01-01T00:00:00-05:00"),
    (EndOfPeriod("month"), BER, "2026-03-29T01:59:00+01:00", "2026-04-01T00:00:00+02:00"),
    # Fixed clearing dates: the end of the first clearing day on or after the earning date.
    (HALF, SH, "2026-03-01T09:00:00+08:00", "2026-07-01T00:00:00+08:00"),
    (HALF, SH, "2026-06-30T00:00:00+08:00", "2026-07-01T00:00:00+08:00"),
    (HALF, SH, "2026-06-30T23:59:59+08:00", "2026-07-01T00:00:00+08:00"),
    (HALF, SH, "2026-07-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"),
    (HALF, SH, "2026-12-31T23:00:00+08:00", "2027-01-01T00:00:00+08:00"),
    (HALF, SH, "2026-06-30T16:30:00+00:00", "2027-01-01T00:00:00+08:00"),
    (FixedDates(((6, 30),)), SH, "2026-07-01T00:00:00+08:00", "2027-07-01T00:00:00+08:00"),
    (FixedDates(((2, 28),)), SH, "2028-02-29T10:00:00+08:00", "2029-03-01T00:00:00+08:00"),
    (FixedDates(((2, 28),)), SH, "2027-02-28T10:00:00+08:00", "2027-03-01T00:00:00+08:00"),
    (FixedDates(((2, 28),)), SH, "2028-02-28T10:00:00+08:00", "2028-02-29T00:00:00+08:00"),
    # min_days skips a clearing day less than min_days days after the earning date.
    (FixedDates(HALF.dates, 7), SH, "2026-06-23T12:00:00+08:00", "2026-07-01T00:00:00+08:00"),
    (FixedDates(HALF.dates, 7), SH, "2026-06-24T12:00:00+08:00", "2027-01-01T00:00:00+08:00"),
    (FixedDates(HALF.dates, 7), SH, "2026-06-30T12:00:00+08:00", "2027-01-01T00:00:00+08:00"),
    (FixedDates(((12, 31),), 30), SH, "2026-12-15T12:00:00+08:00", "2028-01-01T00:00:00+08:00"),
    (FixedDates(((12, 31),), 366), SH, "2026-12-31T12:00:00+08:00", "2029-01-01T00:00:00+08:00"),
    # Clearing ends at local midnight, also in DST zones, in gaps and in a skipped day.
    (FixedDates(((10, 24),)), BER, "2026-10-01T12:00:00+02:00", "2026-10-25T00:00:00+02:00"),
    (FixedDates(((11, 1),)), NY, "2026-11-01T01:30:00-05:00", "2026-11-02T00:00:00-05:00"),
    (FixedDates(((9, 5),)), SCL, "2026-09-01T12:00:00-04:00", "2026-09-06T01:00:00-03:00"),
    (FixedDates(((4, 4),)), SCL, "2026-04-04T23:30:00-03:00", "2026-04-05T00:00:00-04:00"),
    (FixedDates(((4, 4),)), SCL, "2026-04-04T23:30:00-04:00", "2026-04-05T00:00:00-04:00"),
    (FixedDates(((12, 29),)), APIA, "2011-12-01T00:00:00-10:00", "2011-12-31T00:00:00+14:00"),
    # Inactivity counts calendar months like RollingMonths.
    (Inactivity(18), SH, "2026-08-31T10:00:00+08:00", "2028-02-29T10:00:00+08:00"),
    (Inactivity(12), SH, "2028-02-29T10:00:00+08:00", "2029-02-28T10:00:00+08:00"),
    (Inactivity(1), NY, "2026-11-01T01:30:00-05:00", "2026-12-01T01:59:59.999999-05:00"),
]
# fmt: on


@pytest.mark.parametrize(("window", "zone", "earned", "expected"), GOLDEN)
def test_golden_expiries(
    window: ExpiryWindow, zone: str, earned: str, expected: str | None
) -> None:
    """Each window gives the documented expiry, in UTC, for month ends, 29 February and DST."""
    actual = window.expires_at(datetime.fromisoformat(earned), ZoneInfo(zone))
    if expected is None:
        assert actual is None
        return
    assert actual is not None
    assert actual.tzinfo is UTC
    assert expected == actual.astimezone(ZoneInfo(zone)).isoformat()


def test_second_pass_of_the_fold_never_expires_earlier() -> None:
    """01:30 in the second pass of New York's fold expires no earlier than 01:50 in the first."""
    zone = ZoneInfo(NY)
    first_pass = datetime(2026, 11, 1, 5, 50, tzinfo=UTC)  # 01:50 EDT
    second_pass = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, 40 minutes later
    windows: list[ExpiryWindow] = [
        RollingMonths(1),
        Inactivity(1),
        EndOfPeriod("month"),
        FixedDates(((11, 1),)),
    ]
    for window in windows:
        first = window.expires_at(first_pass, zone)
        second = window.expires_at(second_pass, zone)
        assert first is not None
        assert second is not None
        assert first <= second


# (call, error, message); one line per case: each lambda builds its own invalid value.
NAIVE = (
    "datetime.datetime(2026, 1, 1, 0, 0) is naive; give it a time zone, e.g. .replace(tzinfo=UTC)"
)
OUT_OF_RANGE = "is out of range: its expiry would fall outside the years 1 to 9999"
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)
ZONE = ZoneInfo(SH)
# fmt: off
ERRORS: list[tuple[Callable[[], object], type[Exception], str]] = [
    (lambda: RollingMonths(0), InvalidArgumentError, "months=0 must be an int from 1 to 1200"),
    (lambda: RollingMonths(-3), InvalidArgumentError, "months=-3 must be an int from 1 to 1200"),
    (lambda: RollingMonths(1201), LimitExceededError, "months=1201 is over limits.EXPIRY_MONTHS_MAX (1200)"),
    (lambda: RollingMonths(1.5), ArgumentTypeError, "months=1.5 must be an int, not float"),  # type: ignore[arg-type]
    (lambda: RollingMonths(True), ArgumentTypeError, "months=True must be an int, not bool"),  # noqa: FBT003 - the bool is the point
    (lambda: Inactivity(0), InvalidArgumentError, "months=0 must be an int from 1 to 1200"),
    (lambda: Inactivity("12"), ArgumentTypeError, "months='12' must be an int, not str"),  # type: ignore[arg-type]
    (lambda: RollingDays(0), InvalidArgumentError, "days=0 must be an int from 1 to 36525"),
    (lambda: RollingDays(36_526), LimitExceededError, "days=36526 is over limits.EXPIRY_DAYS_MAX (36525)"),
    (lambda: RollingDays("30"), ArgumentTypeError, "days='30' must be an int, not str"),  # type: ignore[arg-type]
    (lambda: EndOfPeriod("week"), InvalidArgumentError, "period='week' must be one of 'month', 'quarter', 'half_year', 'year'"),  # type: ignore[arg-type]
    (lambda: EndOfPeriod("half-year"), InvalidArgumentError, "period='half-year' must be one of 'month', 'quarter', 'half_year', 'year'"),  # type: ignore[arg-type]
    (lambda: EndOfPeriod("year", -1), InvalidArgumentError, "offset=-1 must be an int from 0 to 100"),
    (lambda: EndOfPeriod("year", 101), LimitExceededError, "offset=101 is over limits.EXPIRY_OFFSET_MAX (100)"),
    (lambda: EndOfPeriod("year", False), ArgumentTypeError, "offset=False must be an int, not bool"),  # noqa: FBT003 - the bool is the point
    (lambda: FixedDates(((13, 1),)), InvalidArgumentError, "dates holds (13, 1); the month must be from 1 to 12"),
    (lambda: FixedDates(((0, 1),)), InvalidArgumentError, "dates holds (0, 1); the month must be from 1 to 12"),
    (lambda: FixedDates(((4, 31),)), InvalidArgumentError, "dates holds (4, 31); April has days 1 to 30"),
    (lambda: FixedDates(((2, 30),)), InvalidArgumentError, "dates holds (2, 30); February has days 1 to 28"),
    (lambda: FixedDates(((6, 0),)), InvalidArgumentError, "dates holds (6, 0); June has days 1 to 30"),
    (lambda: FixedDates(((12, 32),)), InvalidArgumentError, "dates holds (12, 32); December has days 1 to 31"),
    (lambda: FixedDates(((2, 29),)), InvalidArgumentError, "dates holds (2, 29), which only leap years have; use (2, 28) or (3, 1), which every year has"),
    (lambda: FixedDates(((6, 30), (12, 31), (6, 30))), InvalidArgumentError, "dates holds (6, 30) twice"),
    (lambda: FixedDates(()), InvalidArgumentError, "dates=() must hold at least one (month, day) pair"),
    (lambda: FixedDates("06-30"), ArgumentTypeError, "dates='06-30' must be a tuple of (month, day) pairs, not str"),  # type: ignore[arg-type]
    (lambda: FixedDates({(6, 30)}), ArgumentTypeError, "dates={(6, 30)} must be a tuple of (month, day) pairs, not set"),
    (lambda: FixedDates(((6,),)), InvalidArgumentError, "dates holds (6,); each must be a (month, day) pair of ints"),  # type: ignore[arg-type]
    (lambda: FixedDates(((6, 30.0),)), InvalidArgumentError, "dates holds (6, 30.0); each must be a (month, day) pair of ints"),  # type: ignore[arg-type]
    (lambda: FixedDates(((True, 1),)), InvalidArgumentError, "dates holds (True, 1); each must be a (month, day) pair of ints"),
    (lambda: FixedDates([(1, day) for day in range(1, 26)]), LimitExceededError, "dates has 25 pairs, over limits.CLEARING_DATES_MAX (24)"),
    (lambda: FixedDates(((6, 30),), -1), InvalidArgumentError, "min_days=-1 must be an int from 0 to 36525"),
    (lambda: FixedDates(((6, 30),), 36_526), LimitExceededError, "min_days=36526 is over limits.EXPIRY_DAYS_MAX (36525)"),
    (lambda: RollingMonths(1).expires_at(datetime(2026, 1, 1), ZONE), NaiveDatetimeError, f"earned_at={NAIVE}"),  # noqa: DTZ001 - naive on purpose
    (lambda: RollingDays(1).expires_at(datetime(2026, 1, 1), ZONE), NaiveDatetimeError, f"earned_at={NAIVE}"),  # noqa: DTZ001 - naive on purpose
    (lambda: Never().expires_at(datetime(2026, 1, 1), ZONE), NaiveDatetimeError, f"earned_at={NAIVE}"),  # noqa: DTZ001 - naive on purpose
    (lambda: HALF.expires_at("2026-01-01", ZONE), ArgumentTypeError, "earned_at='2026-01-01' must be a datetime, not str"),  # type: ignore[arg-type]
    (lambda: HALF.expires_at(JAN_1, 8), ArgumentTypeError, "zone=8 must be an IANA time zone name or a ZoneInfo, not int"),  # type: ignore[arg-type]
    (lambda: Never().expires_at(JAN_1, "Mars/Base"), InvalidArgumentError, "zone='Mars/Base' is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'"),  # type: ignore[arg-type]
    (lambda: RollingDays(1).expires_at(JAN_1, None), ArgumentTypeError, "zone=None must be an IANA time zone name or a ZoneInfo, not NoneType"),  # type: ignore[arg-type]
    (lambda: RollingMonths(1).expires_at(datetime(9999, 12, 15, tzinfo=UTC), ZoneInfo("UTC")), InvalidArgumentError, f"earned_at=9999-12-15T00:00:00+00:00 {OUT_OF_RANGE}"),
    (lambda: RollingMonths(1).expires_at(datetime(9999, 12, 31, 20, tzinfo=UTC), ZONE), InvalidArgumentError, f"earned_at=9999-12-31T20:00:00+00:00 {OUT_OF_RANGE}"),
    (lambda: RollingDays(30).expires_at(datetime(9999, 12, 15, tzinfo=UTC), ZONE), InvalidArgumentError, f"earned_at=9999-12-15T00:00:00+00:00 {OUT_OF_RANGE}"),
    (lambda: EndOfPeriod("year").expires_at(datetime(9999, 6, 1, tzinfo=UTC), ZONE), InvalidArgumentError, f"earned_at=9999-06-01T00:00:00+00:00 {OUT_OF_RANGE}"),
    (lambda: HALF.expires_at(datetime(9999, 12, 31, tzinfo=UTC), ZoneInfo("UTC")), InvalidArgumentError, f"earned_at=9999-12-31T00:00:00+00:00 {OUT_OF_RANGE}"),
    (lambda: FixedDates(((6, 30),)).expires_at(datetime(9999, 7, 1, tzinfo=UTC), ZONE), InvalidArgumentError, f"earned_at=9999-07-01T00:00:00+00:00 {OUT_OF_RANGE}"),
    (lambda: ExpiryPolicy(SH).window_for(3), ArgumentTypeError, "currency=3 must be a str, not int"),  # type: ignore[arg-type]
    (lambda: ExpiryPolicy(SH).window_for("points", 3), ArgumentTypeError, "rule=3 must be a str or None, not int"),  # type: ignore[arg-type]
    (lambda: ExpiryPolicy(SH).expires_at(datetime(2026, 1, 1), "points"), NaiveDatetimeError, f"earned_at={NAIVE}"),  # noqa: DTZ001 - naive on purpose
    (lambda: expiring_within(None, now=datetime(2026, 1, 1), within=timedelta(days=1)), NaiveDatetimeError, f"now={NAIVE}"),  # noqa: DTZ001 - naive on purpose
    (lambda: expiring_within(datetime(2026, 1, 1), now=JAN_1, within=timedelta(days=1)), NaiveDatetimeError, f"expires_at={NAIVE}"),  # noqa: DTZ001 - naive on purpose
    (lambda: expiring_within(None, now=JAN_1, within=30), ArgumentTypeError, "within=30 must be a timedelta, not int"),  # type: ignore[arg-type]
    (lambda: expiring_within(None, now=JAN_1, within=timedelta(0)), InvalidArgumentError, "within=datetime.timedelta(0) must be a positive timedelta"),
    (lambda: expiring_within(None, now=JAN_1, within=-timedelta(days=1)), InvalidArgumentError, "within=datetime.timedelta(days=-1) must be a positive timedelta"),
]
# fmt: on


@pytest.mark.parametrize(
    ("make", "error", "message"), ERRORS, ids=[f"{index}" for index in range(len(ERRORS))]
)
def test_errors(make: Callable[[], object], error: type[Exception], message: str) -> None:
    """Every invalid window, argument and date is refused with a message naming it in full."""
    with pytest.raises(error) as raised:
        make()
    assert message == str(raised.value)
    assert error is type(raised.value)


def test_an_expiry_not_after_the_earning_is_an_invariant_violation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the arithmetic ever gave an expiry at or before the earning, it raises, not returns."""
    monkeypatch.setattr(_windows, "resolve", lambda _wall, _zone: JAN_1)
    with pytest.raises(InvariantViolation) as raised:
        RollingMonths(1).expires_at(JAN_1, ZoneInfo(SH))
    expected = "expiry 2026-01-01T00:00:00+00:00 is not after the earning 2026-01-01T00:00:00+00:00"
    assert expected == str(raised.value)


WINDOWS_VALID = (
    "an expiry window (Never, RollingMonths, RollingDays, EndOfPeriod, FixedDates or Inactivity)"
)
CODE_VALID = "a point-currency code: 1 to 32 lower-case letters, digits and underscores, starting with a letter"
RULE_VALID = "a rule name: 1 to 64 printable characters without leading or trailing whitespace"
ZONE_INVALID = "is not an IANA time zone; use a name such as 'Asia/Shanghai' or 'UTC'"
MANY_CURRENCIES = {f"c{index}": Never() for index in range(limits.CURRENCIES_MAX + 1)}
MANY_RULES = {f"r{index}": Never() for index in range(limits.EXPIRY_RULE_OVERRIDES_MAX + 1)}
CURRENCY_MAPPING = "must be a mapping of point-currency code to expiry window"

# (policy arguments, every problem in order); one line per case.
# fmt: off
POLICY_PROBLEMS: list[tuple[dict[str, object], list[str]]] = [
    ({"zone": "Mars/Base"}, [f"zone='Mars/Base' {ZONE_INVALID}"]),
    ({"zone": 8}, ["zone=8 must be an IANA time zone name or a ZoneInfo, not int"]),
    ({"zone": SH, "default": 12}, [f"default=12 must be {WINDOWS_VALID}, not int"]),
    ({"zone": SH, "default": RollingMonths}, [f"default=<class 'pointkit.expiry._windows.RollingMonths'> must be {WINDOWS_VALID}, not type"]),
    ({"zone": SH, "currencies": {"points": "12 months"}}, [f"currencies['points']='12 months' must be {WINDOWS_VALID}, not str"]),
    ({"zone": SH, "currencies": {"Points": Never()}}, [f"currencies['Points']: the key must be {CODE_VALID}"]),
    ({"zone": SH, "currencies": {"": Never(), 7: Never()}}, [f"currencies['']: the key must be {CODE_VALID}", f"currencies[7]: the key must be {CODE_VALID}"]),
    ({"zone": SH, "currencies": {"x" * 33: Never()}}, [f"currencies['{'x' * 33}']: the key must be {CODE_VALID}"]),
    ({"zone": SH, "currencies": ["points"]}, [f"currencies=['points'] {CURRENCY_MAPPING}, not list"]),
    ({"zone": SH, "currencies": "points"}, [f"currencies='points' {CURRENCY_MAPPING}, not str"]),
    ({"zone": SH, "currencies": (("miles", Never()), ("miles", Never()))}, ["currencies['miles'] is given twice"]),
    ({"zone": SH, "currencies": MANY_CURRENCIES}, ["currencies has 65 entries, over limits.CURRENCIES_MAX (64)"]),
    ({"zone": SH, "rules": {" bonus": Never()}}, [f"rules[' bonus']: the key must be {RULE_VALID}"]),
    ({"zone": SH, "rules": {"b" * 65: Never()}}, [f"rules['{'b' * 65}']: the key must be {RULE_VALID}"]),
    ({"zone": SH, "rules": {"bonus": None}}, [f"rules['bonus']=None must be {WINDOWS_VALID}, not NoneType"]),
    ({"zone": SH, "rules": None}, ["rules=None must be a mapping of rule name to expiry window, not NoneType"]),
    ({"zone": SH, "rules": MANY_RULES}, ["rules has 1001 entries, over limits.EXPIRY_RULE_OVERRIDES_MAX (1000)"]),
    ({"zone": "Mars", "default": 1, "currencies": {"A": 2}, "rules": {"": 3}}, [f"zone='Mars' {ZONE_INVALID}", f"default=1 must be {WINDOWS_VALID}, not int", f"currencies['A']=2 must be {WINDOWS_VALID}, not int", f"currencies['A']: the key must be {CODE_VALID}", f"rules['']=3 must be {WINDOWS_VALID}, not int", f"rules['']: the key must be {RULE_VALID}"]),
]
# fmt: on


@pytest.mark.parametrize(
    ("arguments", "problems"),
    POLICY_PROBLEMS,
    ids=[f"{index}" for index in range(len(POLICY_PROBLEMS))],
)
def test_policy_lists_every_problem(arguments: dict[str, object], problems: list[str]) -> None:
    """A bad ExpiryPolicy raises one ConfigurationError listing every problem, in order."""
    with pytest.raises(ConfigurationError) as raised:
        ExpiryPolicy(**arguments)  # type: ignore[arg-type]
    expected_message = (
        f"ExpiryPolicy has {len(problems)} problem{'s' if len(problems) != 1 else ''}:"
    )
    expected_message += "".join(f"\n  - {problem}" for problem in problems)
    assert tuple(problems) == raised.value.problems
    assert expected_message == str(raised.value)


DEFAULT = RollingMonths(12)
MILES = EndOfPeriod("year", 1)
BONUS = RollingDays(30)
PRECEDENCE_POLICY = ExpiryPolicy(
    SH, default=DEFAULT, currencies={"miles": MILES}, rules={"bonus": BONUS}
)


# (currency, rule, expected window); one line per case.
@pytest.mark.parametrize(
    ("currency", "rule", "expected"),
    [
        ("points", None, DEFAULT),
        ("miles", None, MILES),
        ("points", "bonus", BONUS),
        ("miles", "bonus", BONUS),
        ("miles", "other", MILES),
        ("points", "other", DEFAULT),
        ("unknown_currency", None, DEFAULT),
    ],
)
def test_policy_precedence(currency: str, rule: str | None, expected: ExpiryWindow) -> None:
    """The rule's override beats the currency's, which beats the default."""
    assert expected == PRECEDENCE_POLICY.window_for(currency, rule)


def test_policy_expires_at_uses_the_window_and_zone() -> None:
    """policy.expires_at applies the chosen window in the policy's zone."""
    earned = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    expected = datetime(2027, 12, 31, 16, 0, tzinfo=UTC)  # 2028-01-01T00:00 in Shanghai
    assert expected == PRECEDENCE_POLICY.expires_at(earned, "miles")
    expected_bonus = earned + timedelta(days=30)
    assert expected_bonus == PRECEDENCE_POLICY.expires_at(earned, "points", "bonus")


def test_policy_defaults_and_zone() -> None:
    """A policy with only a zone never expires points and keeps the zone as a ZoneInfo."""
    policy = ExpiryPolicy(ZoneInfo(NY))
    expected_overrides: tuple[object, ...] = ()
    assert ZoneInfo(NY) == policy.zone
    assert Never() == policy.default
    assert expected_overrides == policy.currencies
    assert expected_overrides == policy.rules
    assert policy.expires_at(JAN_1, "points") is None
    assert ZoneInfo(SH) == ExpiryPolicy(SH).zone


def test_policy_stores_sorted_immutable_pairs() -> None:
    """Overrides are stored as pairs sorted by key; the policy is frozen and hashable."""
    currencies: dict[str, ExpiryWindow] = {"zeta": Never(), "alpha": BONUS}
    rules: dict[str, ExpiryWindow] = {"b": MILES, "a": BONUS}
    policy = ExpiryPolicy(SH, currencies=currencies, rules=rules)
    expected_currencies = (("alpha", BONUS), ("zeta", Never()))
    expected_rules = (("a", BONUS), ("b", MILES))
    assert expected_currencies == policy.currencies
    assert expected_rules == policy.rules
    same = ExpiryPolicy(SH, currencies=dict(reversed(currencies.items())), rules=rules)
    assert same == policy
    assert hash(same) == hash(policy)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.zone = ZoneInfo(NY)  # type: ignore[misc]


def test_policy_evolves() -> None:
    """attrs.evolve builds a changed policy from the stored pairs, checking it again."""
    changed = attrs.evolve(PRECEDENCE_POLICY, default=Never())
    expected: list[ExpiryWindow] = [Never(), MILES, BONUS]
    actual = [
        changed.window_for("points"),
        changed.window_for("miles"),
        changed.window_for("points", "bonus"),
    ]
    assert expected == actual
    with pytest.raises(ConfigurationError):
        attrs.evolve(PRECEDENCE_POLICY, rules={"": Never()})


def test_fixed_dates_are_sorted() -> None:
    """FixedDates keeps its clearing dates sorted, whatever order they were given in."""
    expected = ((3, 31), (6, 30), (12, 31))
    assert expected == FixedDates([(12, 31), (3, 31), (6, 30)]).dates
    assert FixedDates(((6, 30), (12, 31))) == FixedDates(((12, 31), (6, 30)))


# (window, description); one line per case.
# fmt: off
DESCRIPTIONS: list[tuple[ExpiryWindow, str]] = [
    (Never(), "never"),
    (RollingMonths(1), "1 calendar month after earning"),
    (RollingMonths(12), "12 calendar months after earning"),
    (RollingDays(1), "1 day of 24 hours after earning"),
    (RollingDays(30), "30 days of 24 hours after earning"),
    (EndOfPeriod("month"), "end of the month of earning"),
    (EndOfPeriod("quarter", 1), "end of the quarter of earning + 1 quarter"),
    (EndOfPeriod("half_year", 1), "end of the half-year of earning + 1 half-year"),
    (EndOfPeriod("year", 2), "end of the year of earning + 2 years"),
    (FixedDates(((12, 31),)), "every 31 December"),
    (HALF, "every 30 June and 31 December"),
    (FixedDates(((3, 31), (6, 30), (9, 30))), "every 31 March, 30 June and 30 September"),
    (FixedDates(((6, 30),), 1), "every 30 June, skipping a clearing less than 1 day after earning"),
    (FixedDates(HALF.dates, 7), "every 30 June and 31 December, skipping a clearing less than 7 days after earning"),
    (Inactivity(1), "1 calendar month after the last qualifying activity"),
    (Inactivity(24), "24 calendar months after the last qualifying activity"),
]
# fmt: on


@pytest.mark.parametrize(("window", "expected"), DESCRIPTIONS)
def test_describe(window: ExpiryWindow, expected: str) -> None:
    """Each window describes itself in short English for reports."""
    assert expected == window.describe()


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (Never(), False),
        (RollingMonths(12), False),
        (RollingDays(30), False),
        (EndOfPeriod("year"), False),
        (HALF, False),
        (Inactivity(12), True),
    ],
)
def test_follows_activity(window: ExpiryWindow, expected: bool) -> None:
    """Only the inactivity window moves with the member's activity."""
    assert expected is window.follows_activity


NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        (None, False),
        (NOW - timedelta(seconds=1), False),
        (NOW, False),
        (NOW + timedelta(microseconds=1), True),
        (NOW + timedelta(days=30), True),
        (NOW + timedelta(days=30, microseconds=1), False),
        (datetime(2026, 7, 1, 7, 59, 59, tzinfo=ZoneInfo(SH)), True),
        (datetime(9999, 12, 31, tzinfo=UTC), False),
    ],
)
def test_expiring_within(expires_at: datetime | None, expected: bool) -> None:
    """A reminder covers now < expires_at <= now + within: not the already due, not never."""
    assert expected is expiring_within(expires_at, now=NOW, within=timedelta(days=30))


def test_expiring_within_a_huge_horizon() -> None:
    """A horizon past the end of the calendar does not overflow."""
    assert expiring_within(NOW + timedelta(days=1), now=NOW, within=timedelta.max)
