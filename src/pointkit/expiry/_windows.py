"""Expiry windows: when points earned at an instant expire, in the program's time zone.

Maintainer's notes
------------------
Each window is its own type because each is its own meaning: twelve calendar months are not 365
days, and "the end of the quarter" is not "90 days". Every window that works on the calendar
goes through the same two helpers, so the local-time rules hold once and everywhere:

* :func:`_wall` turns the earning instant into the local wall time the arithmetic starts from.
  An instant in the *second* pass of a repeated interval (the autumn fold: 01:30 EST, after
  01:59 EDT) counts from the last wall time of the first pass (01:59:59.999999), the latest
  wall time the clock had already shown. Without this rule an earning at 01:30 in the second
  pass, plus a month, would expire before an earlier one at 01:50 in the first pass, plus a
  month. Counting from the end of the interval (02:00) would do as well for months, but where
  clocks fall back at midnight (Chile) it would move a 23:30 earning to the next day.
* :func:`_resolve` turns the computed wall time back into an instant. A wall time that does not
  exist (the spring-forward gap) moves forward to the first instant after the gap; an ambiguous
  one (the fold) resolves to the earlier of its two instants.

Both helpers are non-decreasing, and so is every window's wall-time arithmetic, so a later
earning never expires earlier. :func:`_expiry` checks the last promise, that points expire
strictly after they are earned, and raises :class:`InvariantViolation` if it ever breaks.

Zone transitions are found by bisecting whole seconds (TZif files hold transitions to the
second): ``zoneinfo`` does not expose them, and a bisection of at most ~17 steps per gap or
fold is cheap next to the rest of a ledger command.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, ClassVar, Final, Literal, TypeAlias, final

import attrs
from dateutil.relativedelta import relativedelta
from dateutil.rrule import YEARLY, rrule, rruleset

from pointkit import limits
from pointkit._localtime import resolve, wall
from pointkit._validate import check_aware, check_int, check_zone, type_name
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvariantViolation,
    LimitExceededError,
)


if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from zoneinfo import ZoneInfo


__all__ = [
    "PERIODS",
    "WINDOW_TYPES",
    "EndOfPeriod",
    "ExpiryWindow",
    "FixedDates",
    "Inactivity",
    "Never",
    "Period",
    "RollingDays",
    "RollingMonths",
]

_DAY: Final = timedelta(days=1)


# -- local time -------------------------------------------------------------------------------


def _expiry(earned_at: object, zone: object, shift: Callable[[datetime], datetime]) -> datetime:
    """Check the arguments, move the local wall time with *shift* and resolve the result."""
    earned = check_aware("earned_at", earned_at)
    program_zone = check_zone("zone", zone)
    try:
        expires = resolve(shift(wall(earned, program_zone)), program_zone)
    except (OverflowError, ValueError):
        raise _out_of_range(earned) from None
    return _after(earned, expires)


def _out_of_range(earned: datetime) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"earned_at={earned.isoformat()} is out of range: its expiry would fall outside "
        "the years 1 to 9999"
    )


def _after(earned: datetime, expires: datetime) -> datetime:
    if not expires > earned:
        raise InvariantViolation(
            f"expiry {expires.isoformat()} is not after the earning {earned.isoformat()}"
        )
    return expires


def _plural(count: int, unit: str, units: str | None = None) -> str:
    return f"{count} {unit if count == 1 else units or unit + 's'}"


# -- windows ----------------------------------------------------------------------------------


@final
@attrs.frozen
class Never:
    """Points never expire.

    >>> from datetime import UTC, datetime
    >>> from zoneinfo import ZoneInfo
    >>> print(Never().expires_at(datetime(2026, 1, 1, tzinfo=UTC), ZoneInfo("Asia/Shanghai")))
    None
    """

    follows_activity: ClassVar[bool] = False
    """Whether each qualifying activity moves the expiry of all open points: no."""

    def expires_at(self, earned_at: datetime, zone: ZoneInfo) -> datetime | None:
        """Return ``None``: the points never expire.

        Raises:
            NaiveDatetimeError: If *earned_at* has no time zone.
            ArgumentTypeError: If *zone* is not a ``ZoneInfo``.
        """
        check_aware("earned_at", earned_at)
        check_zone("zone", zone)
        return None

    def describe(self) -> str:
        """Return ``"never"``."""
        return "never"


def _check_months(value: int) -> int:
    return check_int(
        "months",
        value,
        minimum=1,
        maximum=limits.EXPIRY_MONTHS_MAX,
        limit_name="EXPIRY_MONTHS_MAX",
    )


def _add_months(months: int) -> Callable[[datetime], datetime]:
    # relativedelta clamps to the end of a shorter month: 31 January + 1 month = 28 February.
    step = relativedelta(months=months)
    return lambda wall: wall + step


@final
@attrs.frozen
class RollingMonths:
    """Points expire a number of calendar months after they are earned, at the same wall time.

    A date the target month does not have becomes its last day: 31 January + 1 month is
    28 February (29 in a leap year), and 29 February + 12 months is 28 February.

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> window = RollingMonths(1)
    >>> window.expires_at(datetime(2026, 1, 31, 20, 0, tzinfo=shanghai), shanghai).astimezone(shanghai)
    datetime.datetime(2026, 2, 28, 20, 0, tzinfo=zoneinfo.ZoneInfo(key='Asia/Shanghai'))
    >>> RollingMonths(0)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: months=0 must be an int from 1 to 1200

    Attributes:
        months: Calendar months, 1 to ``limits.EXPIRY_MONTHS_MAX``.
    """

    months: int = attrs.field(converter=_check_months)

    follows_activity: ClassVar[bool] = False
    """Whether each qualifying activity moves the expiry of all open points: no."""

    def expires_at(self, earned_at: datetime, zone: ZoneInfo) -> datetime:
        """Return the UTC instant at which points earned at *earned_at* expire.

        Args:
            earned_at: When the points were earned; must be aware.
            zone: The program's time zone, in which months are counted.

        Raises:
            NaiveDatetimeError: If *earned_at* has no time zone.
            InvalidArgumentError: If the expiry would fall after the year 9999.
        """
        return _expiry(earned_at, zone, _add_months(self.months))

    def describe(self) -> str:
        """Return, for example, ``"12 calendar months after earning"``."""
        return f"{_plural(self.months, 'calendar month')} after earning"


def _check_days(value: int) -> int:
    return check_int(
        "days", value, minimum=1, maximum=limits.EXPIRY_DAYS_MAX, limit_name="EXPIRY_DAYS_MAX"
    )


@final
@attrs.frozen
class RollingDays:
    """Points expire an exact number of days of 24 hours after they are earned.

    The days are elapsed time, not calendar days: across a change to or from daylight saving
    time the local clock time of the expiry differs from the earning's by the shift.

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> berlin = ZoneInfo("Europe/Berlin")
    >>> earned = datetime(2026, 3, 20, 12, 0, tzinfo=berlin)
    >>> RollingDays(30).expires_at(earned, berlin).astimezone(berlin).isoformat()
    '2026-04-19T13:00:00+02:00'

    Attributes:
        days: Days of 24 hours, 1 to ``limits.EXPIRY_DAYS_MAX``.
    """

    days: int = attrs.field(converter=_check_days)

    follows_activity: ClassVar[bool] = False
    """Whether each qualifying activity moves the expiry of all open points: no."""

    def expires_at(self, earned_at: datetime, zone: ZoneInfo) -> datetime:
        """Return the UTC instant at which points earned at *earned_at* expire.

        Args:
            earned_at: When the points were earned; must be aware.
            zone: The program's time zone (checked, but elapsed days do not depend on it).

        Raises:
            NaiveDatetimeError: If *earned_at* has no time zone.
            InvalidArgumentError: If the expiry would fall after the year 9999.
        """
        earned = check_aware("earned_at", earned_at)
        check_zone("zone", zone)
        try:
            expires = earned + timedelta(days=self.days)
        except OverflowError:
            raise _out_of_range(earned) from None
        return _after(earned, expires)

    def describe(self) -> str:
        """Return, for example, ``"30 days of 24 hours after earning"``."""
        return f"{_plural(self.days, 'day')} of 24 hours after earning"


Period: TypeAlias = Literal["month", "quarter", "half_year", "year"]
"""The calendar period an :class:`EndOfPeriod` window rounds up to."""

PERIODS: Final[tuple[Period, ...]] = ("month", "quarter", "half_year", "year")

_PERIOD_MONTHS: Final[dict[str, int]] = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
_PERIOD_NAMES: Final[dict[str, tuple[str, str]]] = {
    "month": ("month", "months"),
    "quarter": ("quarter", "quarters"),
    "half_year": ("half-year", "half-years"),
    "year": ("year", "years"),
}


def _check_period(value: Period) -> Period:
    for period in PERIODS:
        if value == period:
            return period
    valid = ", ".join(repr(period) for period in PERIODS)
    raise InvalidArgumentError(f"period={value!r} must be one of {valid}")


def _check_offset(value: int) -> int:
    return check_int(
        "offset", value, minimum=0, maximum=limits.EXPIRY_OFFSET_MAX, limit_name="EXPIRY_OFFSET_MAX"
    )


@final
@attrs.frozen
class EndOfPeriod:
    """Points expire at the end of the calendar period they were earned in, or *offset* later.

    Periods are calendar months, quarters (January, April, July, October), half-years (January,
    July) or years, in the program's time zone. The expiry is 00:00 local on the first day of
    the period after the one of earning, moved *offset* more periods: with ``offset=1`` a
    ``"year"`` window lets points earned any time in 2026 expire at 2028-01-01T00:00, the end
    of the next year. The boundary is exclusive: the points are gone at that instant.

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> window = EndOfPeriod("quarter", offset=1)
    >>> window.expires_at(datetime(2026, 2, 14, 9, 30, tzinfo=shanghai), shanghai).astimezone(shanghai)
    datetime.datetime(2026, 7, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='Asia/Shanghai'))
    >>> window.describe()
    'end of the quarter of earning + 1 quarter'

    Attributes:
        period: ``"month"``, ``"quarter"``, ``"half_year"`` or ``"year"``.
        offset: Periods to add after the period of earning, 0 to ``limits.EXPIRY_OFFSET_MAX``.
    """

    period: Period = attrs.field(converter=_check_period)
    offset: int = attrs.field(default=0, converter=_check_offset)

    follows_activity: ClassVar[bool] = False
    """Whether each qualifying activity moves the expiry of all open points: no."""

    def expires_at(self, earned_at: datetime, zone: ZoneInfo) -> datetime:
        """Return the UTC instant at which points earned at *earned_at* expire.

        Args:
            earned_at: When the points were earned; must be aware.
            zone: The program's time zone, whose calendar the periods follow.

        Raises:
            NaiveDatetimeError: If *earned_at* has no time zone.
            InvalidArgumentError: If the expiry would fall after the year 9999.
        """
        return _expiry(earned_at, zone, self._shift)

    def _shift(self, wall: datetime) -> datetime:
        length = _PERIOD_MONTHS[self.period]
        index = (wall.year * 12 + wall.month - 1) // length + 1 + self.offset
        year, month = divmod(index * length, 12)
        return datetime(year, month + 1, 1)  # noqa: DTZ001 - a naive local wall time on purpose

    def describe(self) -> str:
        """Return, for example, ``"end of the half-year of earning + 1 half-year"``."""
        one, many = _PERIOD_NAMES[self.period]
        if self.offset == 0:
            return f"end of the {one} of earning"
        return f"end of the {one} of earning + {_plural(self.offset, one, many)}"


_MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# The days every year has in each month: 29 February is refused, not clamped.
_MONTH_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _check_pair(pair: object) -> tuple[int, int] | str:
    """Return *pair* as a (month, day) tuple, or the reason it is not a yearly date."""
    if not isinstance(pair, tuple | list) or len(pair) != 2:  # noqa: PLR2004 - a pair
        return f"dates holds {pair!r}; each must be a (month, day) pair of ints"
    month, day = pair
    if any(isinstance(part, bool) or not isinstance(part, int) for part in (month, day)):
        return f"dates holds {pair!r}; each must be a (month, day) pair of ints"
    if not 1 <= month <= 12:  # noqa: PLR2004 - months of the year
        return f"dates holds {(month, day)!r}; the month must be from 1 to 12"
    if (month, day) == (2, 29):
        return (
            "dates holds (2, 29), which only leap years have; use (2, 28) or (3, 1), "
            "which every year has"
        )
    last = _MONTH_DAYS[month - 1]
    if not 1 <= day <= last:
        return f"dates holds {(month, day)!r}; {_MONTH_NAMES[month - 1]} has days 1 to {last}"
    return (month, day)


def _check_dates(value: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    given: object = value  # checked at run time whatever the annotation says
    if not isinstance(given, tuple | list):
        raise ArgumentTypeError(
            f"dates={given!r} must be a tuple of (month, day) pairs, not {type_name(given)}"
        )
    if not given:
        raise InvalidArgumentError(f"dates={given!r} must hold at least one (month, day) pair")
    if len(given) > limits.CLEARING_DATES_MAX:
        raise LimitExceededError(
            f"dates has {len(given)} pairs, over limits.CLEARING_DATES_MAX "
            f"({limits.CLEARING_DATES_MAX})"
        )
    pairs: set[tuple[int, int]] = set()
    for item in given:
        pair = _check_pair(item)
        if isinstance(pair, str):
            raise InvalidArgumentError(pair)
        if pair in pairs:
            raise InvalidArgumentError(f"dates holds {pair!r} twice")
        pairs.add(pair)
    return tuple(sorted(pairs))


def _check_min_days(value: int) -> int:
    return check_int(
        "min_days",
        value,
        minimum=0,
        maximum=limits.EXPIRY_DAYS_MAX,
        limit_name="EXPIRY_DAYS_MAX",
    )


@final
@attrs.frozen
class FixedDates:
    """Points expire at the end of a yearly clearing day, such as 30 June or 31 December.

    Points expire at the end (00:00 local of the next day) of the first clearing day on or
    after the local date they were earned, skipping any clearing day fewer than *min_days*
    days after that date, so that points earned in the last week before a clearing survive to
    the next one. The dates are kept sorted. 29 February is refused because most years lack it;
    a date given twice is refused as a likely typo.

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> window = FixedDates(((12, 31), (6, 30)), min_days=7)
    >>> window
    FixedDates(dates=((6, 30), (12, 31)), min_days=7)
    >>> window.expires_at(datetime(2026, 6, 25, 12, 0, tzinfo=shanghai), shanghai).astimezone(shanghai)
    datetime.datetime(2027, 1, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='Asia/Shanghai'))
    >>> FixedDates(((4, 31),))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: dates holds (4, 31); April has days 1 to 30

    Attributes:
        dates: The clearing days as sorted ``(month, day)`` pairs, 1 to
            ``limits.CLEARING_DATES_MAX`` of them.
        min_days: The fewest days from the earning date to a clearing day that takes its
            points, 0 to ``limits.EXPIRY_DAYS_MAX``; 0 lets points earned on a clearing day
            expire at its end.
    """

    dates: tuple[tuple[int, int], ...] = attrs.field(converter=_check_dates)
    min_days: int = attrs.field(default=0, converter=_check_min_days)

    follows_activity: ClassVar[bool] = False
    """Whether each qualifying activity moves the expiry of all open points: no."""

    def expires_at(self, earned_at: datetime, zone: ZoneInfo) -> datetime:
        """Return the UTC instant at which points earned at *earned_at* expire.

        Args:
            earned_at: When the points were earned; must be aware.
            zone: The program's time zone, whose calendar the dates follow.

        Raises:
            NaiveDatetimeError: If *earned_at* has no time zone.
            InvalidArgumentError: If the expiry would fall after the year 9999.
        """
        return _expiry(earned_at, zone, self._shift)

    def _clearing_day(self, earned_on: date) -> date:
        """Return the clearing day that takes points earned on the local date *earned_on*."""
        return _clearing_day(self.dates, self.min_days, earned_on)

    def _shift(self, wall: datetime) -> datetime:
        return datetime.combine(self._clearing_day(wall.date()) + _DAY, time())

    def describe(self) -> str:
        """Return, for example, ``"every 30 June and 31 December"``."""
        days = [f"{day} {_MONTH_NAMES[month - 1]}" for month, day in self.dates]
        listed = days[0] if len(days) == 1 else f"{', '.join(days[:-1])} and {days[-1]}"
        if self.min_days == 0:
            return f"every {listed}"
        skipped = _plural(self.min_days, "day")
        return f"every {listed}, skipping a clearing less than {skipped} after earning"


@functools.lru_cache(maxsize=4_096)
def _clearing_day(dates: tuple[tuple[int, int], ...], min_days: int, earned_on: date) -> date:
    """The clearing day of :meth:`FixedDates._clearing_day`, cached.

    Every credit asks it, and a day's credits all ask the same: an rrule walk costs more than
    the rest of the booking.
    """
    start = datetime.combine(earned_on + timedelta(days=min_days), time())
    clearings = rruleset()
    for month, day in dates:
        clearings.rrule(rrule(YEARLY, dtstart=start, bymonth=month, bymonthday=day))
    found = clearings.after(start, inc=True)
    if found is None:
        raise OverflowError("no clearing day before the year 10000")
    return found.date()


@final
@attrs.frozen
class Inactivity:
    """All of a member's points expire a number of calendar months after their last activity.

    ``expires_at`` counts from the instant it is given, as :class:`RollingMonths` does; the
    ledger calls it at each earning and again at each qualifying activity, and moves the expiry
    of every open lot of the wallet to the result.

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> window = Inactivity(18)
    >>> window.follows_activity
    True
    >>> window.expires_at(datetime(2026, 8, 31, 10, 0, tzinfo=shanghai), shanghai).astimezone(shanghai)
    datetime.datetime(2028, 2, 29, 10, 0, tzinfo=zoneinfo.ZoneInfo(key='Asia/Shanghai'))

    Attributes:
        months: Calendar months without activity, 1 to ``limits.EXPIRY_MONTHS_MAX``.
    """

    months: int = attrs.field(converter=_check_months)

    follows_activity: ClassVar[bool] = True
    """Whether each qualifying activity moves the expiry of all open points: yes."""

    def expires_at(self, earned_at: datetime, zone: ZoneInfo) -> datetime:
        """Return the UTC instant at which points expire if *earned_at* is the last activity.

        Args:
            earned_at: When the points were earned, or the member's latest qualifying
                activity; must be aware.
            zone: The program's time zone, in which months are counted.

        Raises:
            NaiveDatetimeError: If *earned_at* has no time zone.
            InvalidArgumentError: If the expiry would fall after the year 9999.
        """
        return _expiry(earned_at, zone, _add_months(self.months))

    def describe(self) -> str:
        """Return, for example, ``"12 calendar months after the last qualifying activity"``."""
        return f"{_plural(self.months, 'calendar month')} after the last qualifying activity"


ExpiryWindow: TypeAlias = (
    Never | RollingMonths | RollingDays | EndOfPeriod | FixedDates | Inactivity
)
"""Any expiry window: the six types are the whole set, and hosts never subclass them."""

WINDOW_TYPES: Final = (Never, RollingMonths, RollingDays, EndOfPeriod, FixedDates, Inactivity)
