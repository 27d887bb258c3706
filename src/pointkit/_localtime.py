"""Local wall time and back, in an IANA time zone, with one rule for gaps and folds.

Maintainer's notes
------------------
Every calendar computation in pointkit (expiry windows, tier windows and reviews) works on
naive wall times in the program's zone and turns the result back into an instant here, so the
rules for daylight saving time hold once and everywhere:

* :func:`wall` turns an instant into the local wall time arithmetic starts from. An instant in
  the *second* pass of a repeated interval (the autumn fold: 01:30 EST, after 01:59 EDT) counts
  from the last wall time of the first pass (01:59:59.999999), the latest wall time the clock
  had already shown, so the result never decreases as the instant increases.
* :func:`resolve` turns a wall time back into an instant. A wall time that does not exist (the
  spring-forward gap) moves forward to the first instant after the gap; an ambiguous one (the
  fold) resolves to the earlier of its two instants.

An instant near either end of the years 1 to 9999 may have no wall time a ``datetime`` holds
(9999-12-31T20:00Z is 04:00 on 1 January 10000 in Shanghai). :func:`checked_wall` refuses it
with an error that names the argument; the calendar arithmetic in ``expiry`` and ``tiers``
catches the ``OverflowError`` of :func:`wall` and :func:`resolve` and names its own argument.

Zone transitions are found by bisecting whole seconds (TZif files hold transitions to the
second): ``zoneinfo`` does not expose them, and a bisection of at most ~17 steps per gap or
fold is cheap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from pointkit.exceptions import InvalidArgumentError


if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


__all__ = ["TICK", "checked_wall", "out_of_range", "resolve", "wall"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)
TICK: Final = timedelta(microseconds=1)
"""The smallest step between two instants."""
_TICK: Final = TICK


def _offset(local: datetime) -> timedelta:
    offset = local.utcoffset()
    if offset is None:
        raise AssertionError("unreachable")  # every datetime here carries a ZoneInfo
    return offset


def _offset_at(seconds: int, zone: ZoneInfo) -> timedelta:
    return _offset((_EPOCH + timedelta(seconds=seconds)).astimezone(zone))


def _transition(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """Return the instant in ``(before, after]`` at which *zone* takes the offset of *after*.

    *before* and *after* are UTC instants with different offsets in *zone* and a single
    transition between them.
    """
    low = (before - _EPOCH) // _SECOND
    high = (after - _EPOCH) // _SECOND
    target = _offset_at(high, zone)
    # Invariant: the offset at low is not target, the offset at high is.
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(middle, zone) == target:
            high = middle
        else:
            low = middle
    return _EPOCH + timedelta(seconds=high)


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """Return the naive local wall time that expiry arithmetic starts from.

    That is the wall time of *instant* in *zone*, except in the second pass of a repeated
    interval, which counts from the last wall time of the first pass; so the result never
    decreases as *instant* increases.
    """
    local = instant.astimezone(zone)
    offset = _offset(local)
    first_pass_offset = _offset(local.replace(fold=0))
    if local.fold == 1 and first_pass_offset != offset:
        # The repeated interval began when the offset fell; just before, the clock showed
        # the latest wall time it has shown so far.
        repeated = first_pass_offset - offset
        began = _transition(zone, instant - repeated, instant)
        return (began + first_pass_offset - _TICK).replace(tzinfo=None, fold=0)
    return local.replace(tzinfo=None, fold=0)


def resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    """Return the UTC instant at which *zone*'s clocks show the naive *wall* time.

    A wall time in a gap moves forward to the first instant after the gap; an ambiguous one
    resolves to the earlier instant (``fold=0``).
    """
    local = wall.replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap, fold=0 reads the wall time with the offset from before the gap (a later
    # instant) and fold=1 with the offset from after it (an earlier one); the gap began between.
    return _transition(zone, local.replace(fold=1).astimezone(UTC), instant)


def out_of_range(name: str, instant: datetime, zone: ZoneInfo) -> InvalidArgumentError:
    """The error for an instant whose wall time in *zone* falls outside the years 1 to 9999."""
    return InvalidArgumentError(
        f"{name}={instant.isoformat()} is out of range: its local time in {zone} would fall "
        "outside the years 1 to 9999"
    )


def checked_wall(name: str, instant: datetime, zone: ZoneInfo) -> datetime:
    """Return :func:`wall` of *instant*, the argument called *name*.

    Raises:
        InvalidArgumentError: If the wall time falls outside the years 1 to 9999.
    """
    try:
        return wall(instant, zone)
    except OverflowError:
        raise out_of_range(name, instant, zone) from None
