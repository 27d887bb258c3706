"""Scheduled events: the birthday and anniversary events a daily job emits, and 29 February.

A member born (or who joined) on 29 February has the day only in leap years; the program's
:data:`Feb29` policy moves it to 28 February or 1 March in the other years, for the scheduled
events here and for the ``member.is_birthday`` fact alike (:func:`falls_on`).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from pointkit._localtime import resolve
from pointkit._validate import check_zone, type_name
from pointkit._values import MemberId
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.rules._events import Event


if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from zoneinfo import ZoneInfo


__all__ = [
    "FEB29_POLICIES",
    "Feb29",
    "anniversary_events",
    "birthday_events",
    "falls_on",
]


Feb29: TypeAlias = Literal["feb28", "mar1"]
"""Where a 29 February birthday or anniversary falls in a year without one."""

FEB29_POLICIES: Final[tuple[Feb29, ...]] = ("feb28", "mar1")


def falls_on(month: int, day: int, on: date, feb29: Feb29) -> bool:
    """Whether the yearly date *month*/*day* falls on *on*, with 29 February moved by *feb29*.

    In a year without 29 February, a 29 February date falls on 28 February (``"feb28"``) or
    on 1 March (``"mar1"``).
    """
    if month == 2 and day == 29 and not calendar.isleap(on.year):  # noqa: PLR2004 - 29 February
        return (on.month, on.day) == ((2, 28) if feb29 == "feb28" else (3, 1))
    return (on.month, on.day) == (month, day)


def _check_feb29(value: object) -> Feb29:
    if value not in FEB29_POLICIES:
        raise InvalidArgumentError(f"feb29={value!r} must be 'feb28' or 'mar1'")
    return value


def _check_date(name: str, value: object) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ArgumentTypeError(f"{name}={value!r} must be a date, not {type_name(value)}")
    return value


def _start_of(name: str, day: date, zone: ZoneInfo) -> datetime:
    """Return the first instant of the local date *day*, the argument called *name*."""
    try:
        return resolve(datetime.combine(day, time()), zone)
    except OverflowError:
        # 0001-01-01 begins before the year 1 in UTC in a zone east of Greenwich.
        raise InvalidArgumentError(
            f"{name}={day.isoformat()} is out of range: its start in {zone} would fall outside "
            "the years 1 to 9999 in UTC"
        ) from None


def _dated_members(
    members: Iterable[tuple[MemberId | str, date]], name: str
) -> Iterator[tuple[MemberId, date]]:
    given: Iterable[object] = members  # checked at run time whatever the annotation says
    for index, pair in enumerate(given):
        if not isinstance(pair, tuple) or len(pair) != 2:  # noqa: PLR2004 - a pair
            raise ArgumentTypeError(f"members[{index}]={pair!r} must be a (member, {name}) pair")
        yield MemberId(pair[0]), _check_date(f"members[{index}] {name}", pair[1])


def birthday_events(
    members: Iterable[tuple[MemberId | str, date]],
    on: date,
    *,
    zone: str | ZoneInfo,
    feb29: Feb29,
) -> Iterator[Event]:
    """Emit the birthday events due on the local date *on*, for a daily scheduled job.

    Each member whose birthday falls on *on* gets a ``birthday`` event with the id
    ``f"birthday:{member}:{on.year}"``, so running the job twice on a day (or on two machines)
    awards once: the ledger records each id once. The event's instant is the start of *on* in
    *zone* (after a spring-forward gap, the first instant of the day). Members are read lazily;
    a member listed twice gets the same event twice, which the ledger records once.

    >>> from datetime import date
    >>> [event.id for event in birthday_events([("ann", date(2000, 2, 29)), ("bob", date(1990, 3, 1))], date(2027, 2, 28), zone="Asia/Shanghai", feb29="feb28")]
    ['birthday:ann:2027']

    Args:
        members: ``(member, birthday)`` pairs; the birthday's year is ignored.
        on: The local date to emit for.
        zone: The program's time zone.
        feb29: Where 29 February birthdays fall in other years: ``"feb28"`` or ``"mar1"``.

    Returns:
        An iterator over the events, in the order of *members*.

    Raises:
        ArgumentTypeError: If *on* is not a date, or (while iterating) a pair is malformed.
        InvalidArgumentError: If *zone* or *feb29* is invalid, or *on* starts outside the
            years 1 to 9999 in UTC.
    """
    day = _check_date("on", on)
    program_zone = check_zone("zone", zone)
    policy = _check_feb29(feb29)
    at = _start_of("on", day, program_zone)

    def emit() -> Iterator[Event]:
        for member, birthday in _dated_members(members, "birthday"):
            if falls_on(birthday.month, birthday.day, day, policy):
                yield Event.birthday(f"birthday:{member}:{day.year}", member, at)

    return emit()


def anniversary_events(
    members: Iterable[tuple[MemberId | str, date]],
    on: date,
    *,
    zone: str | ZoneInfo,
    feb29: Feb29,
) -> Iterator[Event]:
    """Emit the anniversary events due on the local date *on*, for a daily scheduled job.

    Like :func:`birthday_events`, from each member's local join date: a member who joined on
    *on*'s month and day in an earlier year gets an ``anniversary`` event with ``years`` the
    number of years since joining and the id ``f"anniversary:{member}:{on.year}"``.

    >>> from datetime import date
    >>> [event.get("years") for event in anniversary_events([("ann", date(2024, 2, 29))], date(2025, 3, 1), zone="UTC", feb29="mar1")]
    [1]

    Raises:
        ArgumentTypeError: If *on* is not a date, or (while iterating) a pair is malformed.
        InvalidArgumentError: If *zone* or *feb29* is invalid, or *on* starts outside the
            years 1 to 9999 in UTC.
    """
    day = _check_date("on", on)
    program_zone = check_zone("zone", zone)
    policy = _check_feb29(feb29)
    at = _start_of("on", day, program_zone)

    def emit() -> Iterator[Event]:
        for member, joined in _dated_members(members, "join date"):
            years = day.year - joined.year
            if years >= 1 and falls_on(joined.month, joined.day, day, policy):
                yield Event.anniversary(f"anniversary:{member}:{day.year}", member, at, years=years)

    return emit()
