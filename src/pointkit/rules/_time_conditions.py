"""Time conditions: tests on the event's instant and its local date, weekday and hour.

:class:`During` tests the instant itself, in UTC; :class:`OnWeekdays`, :class:`OnMonthDays`,
:class:`OnDates` and :class:`BetweenHours` test the event's local time in the program's zone,
which the condition is compiled for (``_compile_time`` compiles them). A rule failing one of
these is ``outside_window`` rather than ``not_eligible`` (:data:`TIME_CONDITIONS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Final, final

import attrs

from pointkit import limits
from pointkit._validate import check_aware, check_int, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.rules._expressions import _measure, _size_field


__all__ = [
    "TIME_CONDITIONS",
    "BetweenHours",
    "During",
    "OnDates",
    "OnMonthDays",
    "OnWeekdays",
]


def _to_start(value: datetime) -> datetime:
    return check_aware("start", value)


def _to_end(value: datetime) -> datetime:
    return check_aware("end", value)


@final
@attrs.frozen
class During:
    """The event happened in ``[start, end)``: the start in, the end out.

    >>> from datetime import UTC, datetime
    >>> During(datetime(2026, 10, 8, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: end=2026-10-01T00:00:00+00:00 must be after start (2026-10-08T00:00:00+00:00)

    Attributes:
        start: The first instant inside, in UTC.
        end: The first instant after, in UTC.
    """

    start: datetime = attrs.field(converter=_to_start)
    end: datetime = attrs.field(converter=_to_end)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        if not self.end > self.start:
            raise InvalidArgumentError(
                f"end={self.end.isoformat()} must be after start ({self.start.isoformat()})"
            )
        _measure(self, ())


def _int_set(name: str, value: object, low: int, high: int) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ArgumentTypeError(f"{name}={value!r} must be a set of int, not {type_name(value)}")
    items = tuple(
        sorted({check_int(f"{name} item", item, minimum=low, maximum=high) for item in value})
    )
    if not items:
        raise InvalidArgumentError(f"{name} must hold at least one value")
    return items


def _to_weekdays(value: Iterable[int]) -> tuple[int, ...]:
    return _int_set("days", value, 1, 7)


def _to_month_days(value: Iterable[int]) -> tuple[int, ...]:
    return _int_set("days", value, 1, 31)


@final
@attrs.frozen
class OnWeekdays:
    """The event's local weekday is one of *days* (1 is Monday, 7 is Sunday): weekend doubles.

    Attributes:
        days: Weekdays, 1 to 7, sorted.
    """

    days: tuple[int, ...] = attrs.field(converter=_to_weekdays)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, ())


@final
@attrs.frozen
class OnMonthDays:
    """The event's local day of the month is one of *days*: member days ("every 8th").

    Day 31 matches only months that have one.

    Attributes:
        days: Days of the month, 1 to 31, sorted.
    """

    days: tuple[int, ...] = attrs.field(converter=_to_month_days)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, ())


def _to_dates(value: Iterable[date]) -> tuple[date, ...]:
    given: object = value  # checked at run time whatever the annotation says
    if isinstance(given, str | bytes | date) or not isinstance(given, Iterable):
        raise ArgumentTypeError(f"dates={given!r} must be a set of date, not {type_name(given)}")
    items: set[date] = set()
    for item in given:
        if isinstance(item, datetime) or not isinstance(item, date):
            raise ArgumentTypeError(f"dates item {item!r} must be a date, not {type_name(item)}")
        items.add(item)
    if not items:
        raise InvalidArgumentError("dates must hold at least one date")
    if len(items) > limits.CONDITION_VALUES_MAX:
        raise LimitExceededError(
            f"dates has {len(items)} dates, over limits.CONDITION_VALUES_MAX "
            f"({limits.CONDITION_VALUES_MAX})"
        )
    return tuple(sorted(items))


@final
@attrs.frozen
class OnDates:
    """The event's local date is one of *dates*: holidays.

    Attributes:
        dates: Local dates, sorted.
    """

    dates: tuple[date, ...] = attrs.field(converter=_to_dates)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        _measure(self, ())


_DAY_HOURS: Final = 24


def _to_start_hour(value: int) -> int:
    return check_int("start_hour", value, minimum=0, maximum=_DAY_HOURS - 1)


def _to_end_hour(value: int) -> int:
    return check_int("end_hour", value, minimum=1, maximum=_DAY_HOURS)


@final
@attrs.frozen
class BetweenHours:
    """The event's local hour is in ``[start_hour, end_hour)``, past midnight if need be.

    When *end_hour* is not after *start_hour* the range wraps: ``BetweenHours(22, 2)`` is
    22:00 to 01:59.

    >>> BetweenHours(9, 9)
    Traceback (most recent call last):
    ...
    pointkit.exceptions.InvalidArgumentError: end_hour=9 must differ from start_hour (9); BetweenHours(0, 24) is the whole day

    Attributes:
        start_hour: The first local hour inside, 0 to 23.
        end_hour: The first local hour after, 1 to 24.
    """

    start_hour: int = attrs.field(converter=_to_start_hour)
    end_hour: int = attrs.field(converter=_to_end_hour)
    _size: int = _size_field()
    _depth: int = _size_field()

    def __attrs_post_init__(self) -> None:
        if self.start_hour == self.end_hour:
            raise InvalidArgumentError(
                f"end_hour={self.end_hour} must differ from start_hour ({self.start_hour}); "
                "BetweenHours(0, 24) is the whole day"
            )
        _measure(self, ())


TIME_CONDITIONS: Final = (During, OnWeekdays, OnMonthDays, OnDates, BetweenHours)
"""The conditions on the event's instant: a rule failing one is ``outside_window``."""
