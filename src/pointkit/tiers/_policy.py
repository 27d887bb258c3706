"""Qualification windows, review schedules and the downgrade policy of a tier ladder.

Maintainer's notes
------------------
A window says which stretch of time counts toward a tier; a review schedule says when a member
may go down. They are separate types because they are separate meanings: a ladder measured over
the calendar year may be reviewed each 1 January or on each member's tier anniversary.

All calendar arithmetic happens on naive wall times in the ladder's zone and is turned into a
UTC instant only at the end, by :func:`pointkit._localtime.resolve`, the same rule the expiry
windows use: a wall time that occurs twice (the autumn fold) is its first occurrence; one that
does not exist (the spring-forward gap) moves forward to the first instant after the gap, so
02:30 on a spring-forward night becomes 03:00. Windows start at midnight and yearly reviews fall
at midnight, where few zones change their clocks; only reviews counted from a tier's start keep
that instant's time of day.

Every schedule computes its reviews from a fixed base (the tier's start, or the calendar), never
from the previous review, so month-end clamping does not drift: a tier won on 31 January is
reviewed on 28 February, 31 March, 30 April, ... when reviews fall every month.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Final, TypeAlias, final

import attrs
from dateutil.relativedelta import relativedelta

from pointkit import limits
from pointkit._localtime import resolve
from pointkit._validate import check_aware, check_int, check_zone, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


__all__ = [
    "SCHEDULE_TYPES",
    "WINDOW_TYPES",
    "CalendarYear",
    "DowngradePolicy",
    "Lifetime",
    "NoReview",
    "QualificationWindow",
    "ReviewEveryMonths",
    "ReviewSchedule",
    "ReviewYearlyOn",
    "RollingMonths",
]

# The days of each month in a common year: a yearly review date must exist every year.
_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# -- local time -------------------------------------------------------------------------------


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """Return the naive wall time that *zone*'s clocks show at the aware *instant*."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _resolve(local: datetime, zone: ZoneInfo) -> datetime:
    """Return the UTC instant at which *zone*'s clocks show the naive *local* wall time.

    A wall time that occurs twice resolves to its first occurrence; one in a gap moves to the
    first instant after the gap (pointkit's one rule for local time).
    """
    return resolve(local, zone)


@functools.lru_cache(maxsize=256)
def _midnight(year: int, month: int, day: int, zone: ZoneInfo) -> datetime:
    """The instant of local midnight starting *year*-*month*-*day*: a review date, kept."""
    return _resolve(datetime(year, month, day), zone)  # noqa: DTZ001 - a wall time


def _out_of_range(name: str, instant: datetime) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{name}={instant.isoformat()} is out of range: the dates it needs fall outside "
        "the years 1 to 9999"
    )


def _since_wall(since: datetime, zone: ZoneInfo) -> datetime:
    """Return the wall time a tier that began at *since* counts its reviews from."""
    try:
        return _wall(since, zone)
    except OverflowError:
        raise _out_of_range("since", since) from None


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


# -- qualification windows ----------------------------------------------------------------------


@final
@attrs.frozen
class Lifetime:
    """Everything since the member joined counts: the metric never resets.

    Clawbacks still lower it, so a lifetime ladder with reviews can take back a tier that a
    refunded order bought.

    >>> from datetime import UTC, datetime
    >>> Lifetime().bounds(datetime(2026, 5, 15, 8, 0, tzinfo=UTC), "Asia/Shanghai")
    (None, datetime.datetime(2026, 5, 15, 8, 0, tzinfo=datetime.timezone.utc))
    """

    def bounds(self, now: datetime, zone: ZoneInfo | str) -> tuple[datetime | None, datetime]:
        """Return ``(None, now)`` in UTC: the window has no start.

        Raises:
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone.
        """
        instant = check_aware("now", now)
        check_zone("zone", zone)
        return (None, instant)

    def period_end(self, now: datetime, zone: ZoneInfo | str) -> datetime | None:
        """Return ``None``: nothing ever stops counting.

        Raises:
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone.
        """
        check_aware("now", now)
        check_zone("zone", zone)
        return None

    def describe(self) -> str:
        """Return ``"lifetime"``."""
        return "lifetime"


def _check_window_months(value: int) -> int:
    return check_int(
        "months",
        value,
        minimum=1,
        maximum=limits.TIER_WINDOW_MONTHS_MAX,
        limit_name="TIER_WINDOW_MONTHS_MAX",
    )


@final
@attrs.frozen
class RollingMonths:
    """The last *months* calendar months, counting the current one, up to now.

    The window moves a whole month at a time, at local midnight on the 1st: ``RollingMonths(12)``
    on 15 May 2026 counts from 1 June 2025, and from 1 June 2026 the earnings of June 2025 stop
    counting. ``RollingMonths(1)`` is the current month.

    >>> from datetime import UTC, datetime
    >>> start, end = RollingMonths(12).bounds(datetime(2026, 5, 15, 8, 0, tzinfo=UTC), "Asia/Shanghai")
    >>> start.isoformat(), end.isoformat()
    ('2025-05-31T16:00:00+00:00', '2026-05-15T08:00:00+00:00')
    >>> RollingMonths(0)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: months=0 must be an int from 1 to 120

    Attributes:
        months: Calendar months, 1 to ``limits.TIER_WINDOW_MONTHS_MAX``.
    """

    months: int = attrs.field(converter=_check_window_months)

    def bounds(self, now: datetime, zone: ZoneInfo | str) -> tuple[datetime, datetime]:
        """Return the window ``[start, now)`` in UTC.

        Raises:
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone, or the window's start
                would fall before the year 1.
        """
        instant = check_aware("now", now)
        program_zone = check_zone("zone", zone)
        try:
            month = _month_start(instant, program_zone)
            return (_resolve(month - relativedelta(months=self.months - 1), program_zone), instant)
        except (OverflowError, ValueError):
            raise _out_of_range("now", instant) from None

    def period_end(self, now: datetime, zone: ZoneInfo | str) -> datetime:
        """Return when the window next moves: local midnight on the 1st of the next month.

        From then on, the oldest month counted at *now* no longer counts.

        Raises:
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone, or the instant would fall
                after the year 9999.
        """
        instant = check_aware("now", now)
        program_zone = check_zone("zone", zone)
        try:
            return _resolve(
                _month_start(instant, program_zone) + relativedelta(months=1), program_zone
            )
        except (OverflowError, ValueError):
            raise _out_of_range("now", instant) from None

    def describe(self) -> str:
        """Return, for example, ``"the current and the previous 11 calendar months"``."""
        if self.months == 1:
            return "the current calendar month"
        return f"the current and the previous {_plural(self.months - 1, 'calendar month')}"


def _month_start(instant: datetime, zone: ZoneInfo) -> datetime:
    return _wall(instant, zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@final
@attrs.frozen
class CalendarYear:
    """The current calendar year in the ladder's zone, from local midnight on 1 January.

    >>> from datetime import UTC, datetime
    >>> start, end = CalendarYear().bounds(datetime(2026, 5, 15, 8, 0, tzinfo=UTC), "Asia/Shanghai")
    >>> start.isoformat()
    '2025-12-31T16:00:00+00:00'
    """

    def bounds(self, now: datetime, zone: ZoneInfo | str) -> tuple[datetime, datetime]:
        """Return the window ``[1 January, now)`` in UTC.

        Raises:
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone.
        """
        instant = check_aware("now", now)
        program_zone = check_zone("zone", zone)
        try:
            return (_resolve(_year_start(instant, program_zone), program_zone), instant)
        except (OverflowError, ValueError):
            raise _out_of_range("now", instant) from None

    def period_end(self, now: datetime, zone: ZoneInfo | str) -> datetime:
        """Return when the window resets: local midnight on the next 1 January.

        Raises:
            NaiveDatetimeError: If *now* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone, or the instant would fall
                after the year 9999.
        """
        instant = check_aware("now", now)
        program_zone = check_zone("zone", zone)
        try:
            next_year = _year_start(instant, program_zone) + relativedelta(years=1)
            return _resolve(next_year, program_zone)
        except (OverflowError, ValueError):
            raise _out_of_range("now", instant) from None

    def describe(self) -> str:
        """Return ``"the calendar year"``."""
        return "the calendar year"


def _year_start(instant: datetime, zone: ZoneInfo) -> datetime:
    return datetime(_wall(instant, zone).year, 1, 1)  # noqa: DTZ001 - a wall time, resolved later


QualificationWindow: TypeAlias = Lifetime | RollingMonths | CalendarYear
"""Which stretch of time counts toward a tier."""

WINDOW_TYPES: Final = (Lifetime, RollingMonths, CalendarYear)


# -- review schedules ---------------------------------------------------------------------------


@final
@attrs.frozen
class NoReview:
    """No reviews: members never go down, whatever their metric does.

    >>> from datetime import UTC, datetime
    >>> print(NoReview().next_after(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), "UTC"))
    None
    """

    def next_after(self, since: datetime, after: datetime, zone: ZoneInfo | str) -> datetime | None:
        """Return ``None``: there is no review.

        Raises:
            NaiveDatetimeError: If *since* or *after* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone.
        """
        check_aware("since", since)
        check_aware("after", after)
        check_zone("zone", zone)
        return None

    def latest_until(
        self, since: datetime, until: datetime, zone: ZoneInfo | str
    ) -> datetime | None:
        """Return ``None``: there is no review.

        Raises:
            NaiveDatetimeError: If *since* or *until* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone.
        """
        check_aware("since", since)
        check_aware("until", until)
        check_zone("zone", zone)
        return None

    def describe(self) -> str:
        """Return ``"never"``."""
        return "never"


def _check_review_months(value: int) -> int:
    return check_int(
        "months",
        value,
        minimum=1,
        maximum=limits.TIER_REVIEW_MONTHS_MAX,
        limit_name="TIER_REVIEW_MONTHS_MAX",
    )


@final
@attrs.frozen
class ReviewEveryMonths:
    """A review every *months* calendar months from the day the member's tier began.

    Reviews keep the time of day the tier began at and count from that instant, so a tier won on
    31 January with ``ReviewEveryMonths(1)`` is reviewed on 28 February, 31 March, ... A new tier
    (up, down or set by hand) starts the count again: ``ReviewEveryMonths(12)`` is a yearly
    review on the tier's anniversary.

    >>> from datetime import UTC, datetime
    >>> since = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    >>> ReviewEveryMonths(1).next_after(since, datetime(2026, 3, 1, tzinfo=UTC), "UTC").isoformat()
    '2026-03-31T12:00:00+00:00'

    Attributes:
        months: Calendar months between reviews, 1 to ``limits.TIER_REVIEW_MONTHS_MAX``.
    """

    months: int = attrs.field(converter=_check_review_months)

    def _review(self, base: datetime, count: int, zone: ZoneInfo) -> datetime:
        return _resolve(base + relativedelta(months=count * self.months), zone)

    def _first_after(self, base: datetime, after: datetime, zone: ZoneInfo) -> int:
        """Return the smallest count ``k >= 1`` whose review is after *after*."""
        after_wall = _wall(after, zone)
        elapsed = (after_wall.year - base.year) * 12 + after_wall.month - base.month
        # Review k + 1 falls in a later month than *after* once k * months >= elapsed, and
        # review k - 1 in an earlier one: three tries find the first.
        count = max(1, elapsed // self.months - 1)
        for _ in range(3):
            if self._review(base, count, zone) > after:
                return count
            count += 1
        raise AssertionError("unreachable")  # pragma: no cover - see the comment above

    def next_after(self, since: datetime, after: datetime, zone: ZoneInfo | str) -> datetime:
        """Return the first review strictly after *after* of a tier that began at *since*.

        Raises:
            NaiveDatetimeError: If *since* or *after* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone, or the review would fall
                after the year 9999.
        """
        start = check_aware("since", since)
        instant = check_aware("after", after)
        program_zone = check_zone("zone", zone)
        base = _since_wall(start, program_zone)
        try:
            return self._review(base, self._first_after(base, instant, program_zone), program_zone)
        except (OverflowError, ValueError):
            raise _out_of_range("after", instant) from None

    def latest_until(
        self, since: datetime, until: datetime, zone: ZoneInfo | str
    ) -> datetime | None:
        """Return the last review at or before *until* of a tier that began at *since*, if any.

        Raises:
            NaiveDatetimeError: If *since* or *until* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone, or a review would fall
                after the year 9999.
        """
        start = check_aware("since", since)
        instant = check_aware("until", until)
        program_zone = check_zone("zone", zone)
        base = _since_wall(start, program_zone)
        try:
            count = self._first_after(base, instant, program_zone) - 1
            return None if count < 1 else self._review(base, count, program_zone)
        except (OverflowError, ValueError):
            raise _out_of_range("until", instant) from None

    def describe(self) -> str:
        """Return, for example, ``"every 12 calendar months from the tier's start"``."""
        return f"every {_plural(self.months, 'calendar month')} from the tier's start"


def _check_dates(value: object) -> tuple[tuple[int, int], ...]:
    if isinstance(value, str | bytes) or not isinstance(value, tuple | list):
        raise ArgumentTypeError(
            f"dates={value!r} must be a tuple of (month, day) pairs, not {type_name(value)}"
        )
    if not value:
        raise InvalidArgumentError("dates=() must hold at least one (month, day) pair")
    if len(value) > limits.TIER_REVIEW_DATES_MAX:
        raise LimitExceededError(
            f"dates has {len(value)} dates, over limits.TIER_REVIEW_DATES_MAX "
            f"({limits.TIER_REVIEW_DATES_MAX})"
        )
    dates: list[tuple[int, int]] = []
    for index, pair in enumerate(value):
        name = f"dates[{index}]"
        if not isinstance(pair, tuple | list) or len(pair) != 2:  # noqa: PLR2004 - a pair
            raise ArgumentTypeError(f"{name}={pair!r} must be a (month, day) pair of ints")
        month = check_int(f"{name} month", pair[0], minimum=1, maximum=12)
        last = _DAYS_IN_MONTH[month - 1]
        day = check_int(f"{name} day", pair[1], minimum=1, maximum=31)
        if day > last:
            raise InvalidArgumentError(
                f"{name}=({month}, {day}) is not a day of every year: month {month} has "
                f"days 1 to {last} in a common year"
            )
        if (month, day) in dates:
            raise InvalidArgumentError(f"{name}=({month}, {day}) is listed twice")
        dates.append((month, day))
    return tuple(sorted(dates))


@final
@attrs.frozen
class ReviewYearlyOn:
    """Reviews each year on the given (month, day) dates, at local midnight.

    ``ReviewYearlyOn(((1, 1),))`` reviews every member on 1 January, the end of a
    :class:`CalendarYear` window; ``((1, 1), (7, 1))`` twice a year. Dates are kept sorted;
    29 February is refused, as it is not a day of every year.

    >>> from datetime import UTC, datetime
    >>> ReviewYearlyOn(((7, 1), (1, 1))).dates
    ((1, 1), (7, 1))
    >>> ReviewYearlyOn(((2, 29),))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: dates[0]=(2, 29) is not a day of every year: month 2 has days 1 to 28 in a common year

    Attributes:
        dates: Sorted, distinct ``(month, day)`` pairs, 1 to ``limits.TIER_REVIEW_DATES_MAX``.
    """

    dates: tuple[tuple[int, int], ...] = attrs.field(converter=_check_dates)

    def _on(self, year: int, date: tuple[int, int], zone: ZoneInfo) -> datetime:
        month, day = date
        return _midnight(year, month, day, zone)

    def next_after(self, since: datetime, after: datetime, zone: ZoneInfo | str) -> datetime:
        """Return the first review date strictly after *after*; *since* does not matter.

        Raises:
            NaiveDatetimeError: If *since* or *after* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone, or the review would fall
                after the year 9999.
        """
        check_aware("since", since)
        instant = check_aware("after", after)
        program_zone = check_zone("zone", zone)
        try:
            year = _wall(instant, program_zone).year
            # Every date of the next year is after *after*, so the loop returns.
            for candidate_year in (year, year + 1):
                for date in self.dates:
                    review = self._on(candidate_year, date, program_zone)
                    if review > instant:
                        return review
        except (OverflowError, ValueError):
            raise _out_of_range("after", instant) from None
        raise AssertionError("unreachable")  # pragma: no cover - see the comment above

    def latest_until(self, since: datetime, until: datetime, zone: ZoneInfo | str) -> datetime:
        """Return the last review date at or before *until*; *since* does not matter.

        Raises:
            NaiveDatetimeError: If *since* or *until* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone, or the review would fall
                before the year 1.
        """
        check_aware("since", since)
        instant = check_aware("until", until)
        program_zone = check_zone("zone", zone)
        try:
            year = _wall(instant, program_zone).year
            # Every date of the previous year is before *until*, so the loop returns.
            for candidate_year in (year, year - 1):
                for date in reversed(self.dates):
                    review = self._on(candidate_year, date, program_zone)
                    if review <= instant:
                        return review
        except (OverflowError, ValueError):
            raise _out_of_range("until", instant) from None
        raise AssertionError("unreachable")  # pragma: no cover - see the comment above

    def describe(self) -> str:
        """Return, for example, ``"yearly on 01-01 and 07-01"``."""
        dates = [f"{month:02d}-{day:02d}" for month, day in self.dates]
        listed = dates[0] if len(dates) == 1 else f"{', '.join(dates[:-1])} and {dates[-1]}"
        return f"yearly on {listed}"


ReviewSchedule: TypeAlias = NoReview | ReviewEveryMonths | ReviewYearlyOn
"""When a member's tier is reviewed, and so when they may go down."""

SCHEDULE_TYPES: Final = (NoReview, ReviewEveryMonths, ReviewYearlyOn)


# -- the downgrade policy -----------------------------------------------------------------------


def _check_review(value: object) -> ReviewSchedule:
    if not isinstance(value, SCHEDULE_TYPES):
        raise ArgumentTypeError(
            f"review={value!r} must be NoReview(), ReviewEveryMonths(months) or "
            f"ReviewYearlyOn(dates), not {type_name(value)}"
        )
    return value


def _check_grace_days(value: int) -> int:
    return check_int(
        "grace_days",
        value,
        minimum=0,
        maximum=limits.TIER_GRACE_DAYS_MAX,
        limit_name="TIER_GRACE_DAYS_MAX",
    )


def _check_one_step(value: bool) -> bool:  # noqa: FBT001 - a converter takes the value as it is
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"one_step={value!r} must be a bool, not {type_name(value)}")
    return value


@final
@attrs.frozen
class DowngradePolicy:
    """When and how far a member goes down. Upgrades always happen at once.

    A member goes down only at a review (see :class:`ReviewEveryMonths`,
    :class:`ReviewYearlyOn`) that finds them below their tier, or at the end of the grace such a
    review started. With ``grace_days``, the review starts a grace instead: the member keeps
    their tier until that many local calendar days after the review, and requalifying before
    then cancels it. With ``one_step``, a downgrade moves one tier down; otherwise it moves to
    the tier the metric qualifies for.

    >>> DowngradePolicy(ReviewYearlyOn(((1, 1),)), grace_days=30, one_step=True)
    DowngradePolicy(review=ReviewYearlyOn(dates=((1, 1),)), grace_days=30, one_step=True)

    Attributes:
        review: When members are reviewed; :class:`NoReview` (the default) means never, so
            nobody ever goes down.
        grace_days: Local calendar days of grace after a review that finds a member short,
            0 (no grace) to ``limits.TIER_GRACE_DAYS_MAX``.
        one_step: Whether a downgrade moves at most one tier down.
    """

    review: ReviewSchedule = attrs.field(factory=NoReview, converter=_check_review)
    grace_days: int = attrs.field(default=0, converter=_check_grace_days, kw_only=True)
    one_step: bool = attrs.field(default=False, converter=_check_one_step, kw_only=True)

    def grace_end(self, start: datetime, zone: ZoneInfo | str) -> datetime:
        """Return the end of a grace that starts at *start*: ``grace_days`` local days later.

        Raises:
            NaiveDatetimeError: If *start* has no time zone.
            InvalidArgumentError: If *zone* is not an IANA time zone, or the end would fall
                after the year 9999.
        """
        instant = check_aware("start", start)
        program_zone = check_zone("zone", zone)
        try:
            return _resolve(
                _wall(instant, program_zone) + relativedelta(days=self.grace_days), program_zone
            )
        except (OverflowError, ValueError):
            raise _out_of_range("start", instant) from None
