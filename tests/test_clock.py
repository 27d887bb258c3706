"""Clocks: the system clock is aware, the fixed clock only moves when told, and forwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pointkit import Clock, FixedClock, SystemClock
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, NaiveDatetimeError


def test_system_clock_is_aware_utc() -> None:
    """SystemClock reads the wall clock in UTC."""
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)
    assert isinstance(SystemClock(), Clock)
    assert repr(SystemClock()) == "SystemClock()"


def test_fixed_clock_moves_only_forward() -> None:
    """FixedClock stands still, advances and sets forward, and refuses to go back."""
    start = datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    clock = FixedClock(start)
    assert clock.now() == start
    assert clock.now().tzinfo is UTC
    clock.advance(timedelta(hours=1))
    assert clock.now() == start + timedelta(hours=1)
    clock.set(start + timedelta(days=1))
    assert clock.now() == start + timedelta(days=1)
    clock.advance(timedelta(0))
    with pytest.raises(InvalidArgumentError, match="a clock never moves backwards"):
        clock.set(start)
    with pytest.raises(InvalidArgumentError, match="must not be negative"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ArgumentTypeError, match="must be a timedelta"):
        clock.advance(60)  # type: ignore[arg-type]
    assert repr(clock) == "FixedClock(2026-01-02T00:00:00+00:00)"


def test_fixed_clock_rejects_naive_datetimes() -> None:
    """A naive datetime names no instant, so no clock accepts one."""
    with pytest.raises(NaiveDatetimeError, match="is naive"):
        FixedClock(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive datetime is the point
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(NaiveDatetimeError):
        clock.set(datetime(2026, 2, 1))  # noqa: DTZ001
    with pytest.raises(ArgumentTypeError, match="must be a datetime, not str"):
        FixedClock("2026-01-01")  # type: ignore[arg-type]
