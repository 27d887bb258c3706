"""Reminders: what a member loses and when, and the program-wide listing, on every adapter."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from conftest import START
from pointkit import FixedClock, Ledger, MemberId
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.ledger import ExpiringPage, UpcomingExpiry


if TYPE_CHECKING:
    from pointkit.ledger import Storage

DAY = timedelta(days=1)


def _ledger(storage: Storage) -> tuple[Ledger, FixedClock]:
    clock = FixedClock(START)
    return Ledger(storage, clock=clock, program=f"reminders-{uuid.uuid4().hex}"), clock


def _seed(ledger: Ledger) -> None:
    """alice: 100 in 10 days, 50 (30 held) in 10 days, 70 in 40 days, 20 never; bob: 5 in 3."""
    ledger.earn("alice", 100, key="a1", expires_at=START + 10 * DAY)
    ledger.earn("alice", 50, key="a2", expires_at=START + 10 * DAY)
    ledger.earn("alice", 70, key="a3", expires_at=START + 40 * DAY)
    ledger.earn("alice", 20, key="a4")
    ledger.earn("bob", 5, key="b1", expires_at=START + 3 * DAY)
    ledger.earn("carol", 9, key="c1", expires_at=START + 10 * DAY)
    ledger.reserve("alice", 130, key="h1", timeout_seconds=3600)  # 100 from a1, 30 from a2


def test_upcoming_expiries_group_free_points_by_instant(any_storage: Storage) -> None:
    """A member's reminder lists free points per expiry instant within the window, soonest first."""
    ledger, _ = _ledger(any_storage)
    _seed(ledger)
    alice = MemberId("alice")
    expected = (
        UpcomingExpiry(alice, "points", START + 10 * DAY, 20),
        UpcomingExpiry(alice, "points", START + 40 * DAY, 70),
    )
    assert expected == ledger.upcoming_expiries("alice", 60 * DAY)
    assert expected[:1] == ledger.upcoming_expiries("alice", 10 * DAY)
    assert () == ledger.upcoming_expiries("alice", 9 * DAY)
    assert () == ledger.upcoming_expiries("nobody", 60 * DAY)


def test_due_points_are_no_longer_upcoming(any_storage: Storage) -> None:
    """Points already past their expiry (awaiting the run) are not reminded of."""
    ledger, clock = _ledger(any_storage)
    _seed(ledger)
    clock.advance(10 * DAY)
    assert (START + 40 * DAY,) == tuple(
        entry.expires_at for entry in ledger.upcoming_expiries("alice", 60 * DAY)
    )


def test_expiring_lists_the_program_in_pages(any_storage: Storage) -> None:
    """The program-wide listing pages through (expires_at, member) without gaps or repeats."""
    ledger, _ = _ledger(any_storage)
    _seed(ledger)
    whole = ledger.expiring(60 * DAY)
    expected = [
        (START + 3 * DAY, "bob", 5),
        (START + 10 * DAY, "alice", 20),
        (START + 10 * DAY, "carol", 9),
        (START + 40 * DAY, "alice", 70),
    ]
    assert expected == [(e.expires_at, e.member, e.points) for e in whole.items]
    assert whole.after is None
    pages: list[ExpiringPage] = [ledger.expiring(60 * DAY, limit=2)]
    while pages[-1].after is not None:
        pages.append(ledger.expiring(60 * DAY, limit=2, after=pages[-1].after))
    assert list(whole.items) == [item for page in pages for item in page.items]
    assert [2, 2, 0] == [len(page.items) for page in pages]


def test_expiring_orders_members_by_code_point(any_storage: Storage) -> None:
    """Member order is code-point order on every adapter (PostgreSQL collation notwithstanding)."""
    ledger, _ = _ledger(any_storage)
    for index, member in enumerate(["bob", "Bob", "alice", "Zoë", "zoe", "émile"]):
        ledger.earn(member, 1 + index, key=f"k{index}", expires_at=START + DAY)
    page = ledger.expiring(2 * DAY)
    assert ["Bob", "Zoë", "alice", "bob", "zoe", "émile"] == [e.member for e in page.items]
    first = ledger.expiring(2 * DAY, limit=3)
    rest = ledger.expiring(2 * DAY, after=first.after)
    assert page.items == first.items + rest.items


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda ledger: ledger.upcoming_expiries("a", 7),
            ArgumentTypeError,
            "within=7 must be a timedelta, not int",
        ),
        (
            lambda ledger: ledger.upcoming_expiries("a", timedelta(0)),
            InvalidArgumentError,
            "within=datetime.timedelta(0) must be a positive timedelta",
        ),
        (
            lambda ledger: ledger.expiring(DAY, limit=0),
            InvalidArgumentError,
            "limit=0 must be an int from 1 to 10000",
        ),
        (
            lambda ledger: ledger.expiring(DAY, limit=10_001),
            LimitExceededError,
            "limit=10001 is over limits.EXPIRING_PAGE_MAX (10000)",
        ),
        (
            lambda ledger: ledger.expiring(DAY, after="bob"),
            ArgumentTypeError,
            "after='bob' must be the after of a previous ExpiringPage, or None",
        ),
    ],
)
def test_reminder_arguments_are_checked(
    ledger: Ledger, call: object, error: type[Exception], message: str
) -> None:
    """Bad reminder arguments raise errors that name the argument and what is valid."""
    assert callable(call)
    with pytest.raises(error) as raised:
        call(ledger)
    assert message == str(raised.value)
