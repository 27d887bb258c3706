"""The memory storage's ``earned``: its running totals agree with a walk of the journal.

``earned`` sums a wallet's earns and reversals of earns over a window from running totals kept
as transactions are applied (two binary searches while they are in time order). These tests
compare it with the plain definition, summed over the wallet's whole history, for journals in
time order, journals whose clock went back, and units rolled back.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pointkit import Ledger
from pointkit._values import MemberId
from pointkit.exceptions import PointkitError
from pointkit.features._parts import tier_reader
from pointkit.ledger import AccountId, Transaction, TransactionKind
from pointkit.storage.memory import MemoryStorage


_START = datetime(2026, 1, 1, tzinfo=UTC)
_MEMBER = MemberId("alice")


class _Clock:
    """A clock set by hand that may go back (a host's clock after an NTP step)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def _walked(ledger: Ledger, since: datetime | None, until: datetime) -> int:
    """What ``earned`` must return: the definition, over every transaction of the wallet."""
    account = AccountId.wallet(_MEMBER, "points")
    with ledger.storage.reading(ledger.program) as unit:
        history = unit.wallet_history(_MEMBER, "points", after_version=0, limit=10_000)
        total = 0
        for transaction in history:
            if transaction.created_at >= until or (
                since is not None and transaction.created_at < since
            ):
                continue
            original = (
                None if transaction.reverses is None else unit.transaction(transaction.reverses)
            )
            if transaction.kind is TransactionKind.EARN or (
                original is not None and original.kind is TransactionKind.EARN
            ):
                total += transaction.posted_to(account)
    return total


def _earned(ledger: Ledger, since: datetime | None, until: datetime) -> int:
    with ledger.storage.reading(ledger.program) as unit:
        return tier_reader(unit, "test").earned(_MEMBER, "points", since, until)


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["earn", "reverse", "redeem"]),
        st.integers(min_value=1, max_value=50),
        st.integers(min_value=-3, max_value=48),
    ),
    min_size=1,
    max_size=25,
)


@given(
    steps=_STEPS,
    since=st.none() | st.integers(min_value=-5, max_value=50),
    until=st.integers(min_value=-5, max_value=55),
)
def test_earned_matches_the_journal(
    steps: list[tuple[str, int, int]], since: int | None, until: int
) -> None:
    """``earned`` equals the walk of the journal, whatever order the clock went in."""
    clock = _Clock(_START)
    ledger = Ledger(MemoryStorage(outbox=False), clock=clock)
    earns: list[Transaction] = []
    for index, (command, amount, hours) in enumerate(steps):
        clock.at = _START + timedelta(hours=hours)
        if command == "earn" or not earns:
            earns.append(ledger.earn(_MEMBER, amount, key=f"earn-{index}"))
        elif command == "reverse":
            original = earns[amount % len(earns)]
            # A reversal that is refused (nothing left to reverse) changes nothing.
            with contextlib.suppress(PointkitError):
                ledger.reverse(str(original.id), 1, key=f"reverse-{index}")
        elif ledger.balance(_MEMBER).available >= amount:
            ledger.redeem(_MEMBER, amount, key=f"redeem-{index}")
    start = None if since is None else _START + timedelta(hours=since)
    end = _START + timedelta(hours=until)
    assert _walked(ledger, start, end) == _earned(ledger, start, end)


def test_rolled_back_earn_is_not_counted() -> None:
    """An earn in a unit that rolls back leaves ``earned`` as it was, order flag included."""
    clock = _Clock(_START + timedelta(days=2))
    ledger = Ledger(MemoryStorage(outbox=False), clock=clock)
    ledger.earn(_MEMBER, 10, key="first")
    clock.at = _START

    def earn_then_fail() -> None:
        with ledger.linked() as link:
            link.earn(_MEMBER, 5, key="earlier")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        earn_then_fail()
    ledger.earn(_MEMBER, 7, key="later")
    day, week = _START + timedelta(days=1), _START + timedelta(days=7)
    assert (7, 17) == (_earned(ledger, None, day), _earned(ledger, None, week))
