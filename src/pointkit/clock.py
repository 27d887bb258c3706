"""Where pointkit gets the time: a :class:`Clock` passed in, never a hidden ``now()``.

Everything that depends on the time (which lots have expired, whether a hold has timed out,
which points are still pending) reads the clock it was given. Production code passes
:class:`SystemClock`; tests pass a :class:`FixedClock` and move it by hand, so that runs are
repeatable and an expiry a year away is one call away.

>>> from datetime import UTC, datetime, timedelta
>>> clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
>>> clock.advance(timedelta(days=31))
>>> clock.now()
datetime.datetime(2026, 2, 1, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, final, runtime_checkable

from pointkit._validate import check_aware, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError


__all__ = ["Clock", "FixedClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of the current instant. Implement it to give pointkit your own time source.

    ``now()`` must return an aware datetime; pointkit rejects naive ones.
    """

    def now(self) -> datetime:
        """Return the current instant as an aware datetime."""
        ...


@final
class SystemClock:
    """The system's wall clock, in UTC."""

    __slots__ = ()

    def now(self) -> datetime:
        """Return the current instant in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


@final
class FixedClock:
    """A clock that stands still until it is moved: for tests, simulations and replays.

    It never moves backwards; :meth:`set` and :meth:`advance` refuse to, since the ledger
    relies on time not running backwards.

    Args:
        at: The instant the clock shows; must be aware.

    Raises:
        NaiveDatetimeError: If *at* has no time zone.
    """

    __slots__ = ("_lock", "_now")

    def __init__(self, at: datetime) -> None:
        self._now = check_aware("at", at)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the instant the clock shows."""
        # One attribute read is atomic: the lock only orders the check and the write in set().
        return self._now

    def set(self, at: datetime) -> None:
        """Move the clock to *at*, which must not be earlier than the time it shows.

        Raises:
            NaiveDatetimeError: If *at* has no time zone.
            InvalidArgumentError: If *at* is earlier than the time the clock shows.
        """
        target = check_aware("at", at)
        with self._lock:
            if target < self._now:
                raise InvalidArgumentError(
                    f"at={target.isoformat()} is before the clock's {self._now.isoformat()}; "
                    "a clock never moves backwards"
                )
            self._now = target

    def advance(self, by: timedelta) -> None:
        """Move the clock forward by *by*, which must not be negative.

        Raises:
            ArgumentTypeError: If *by* is not a timedelta.
            InvalidArgumentError: If *by* is negative, or would move the clock past the year
                9999.
        """
        if not isinstance(by, timedelta):
            raise ArgumentTypeError(f"by={by!r} must be a timedelta, not {type_name(by)}")
        if by < timedelta(0):
            raise InvalidArgumentError(f"by={by!r} must not be negative")
        with self._lock:
            try:
                self._now += by
            except OverflowError:
                raise InvalidArgumentError(
                    f"by={by!r} is out of range: from the clock's {self._now.isoformat()} it "
                    "would pass the year 9999"
                ) from None

    def __repr__(self) -> str:
        return f"FixedClock({self.now().isoformat()})"
