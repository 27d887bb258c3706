"""Concurrency on every adapter: threads never overdraw, duplicate keys apply once."""

from __future__ import annotations

import uuid
from collections import Counter
from functools import partial
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, InsufficientPointsError, Ledger
from pointkit.exceptions import HoldAlreadyCapturedError, HoldAlreadyReleasedError
from races import race as _race


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own."""
    return Ledger(any_storage, clock=clock, program=f"threads-{uuid.uuid4().hex[:8]}")


def test_concurrent_redemptions_never_overdraw(ledger: Ledger) -> None:
    """Invariant 6: 40 racing redemptions of 100 against 1,000 points: exactly 10 succeed."""
    ledger.earn("alice", 1_000, key="seed")
    outcomes = _race([partial(ledger.redeem, "alice", 100, key=f"r{n}") for n in range(40)])
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == Counter({"Transaction": 10, "InsufficientPointsError": 30})
    assert all(
        isinstance(outcome, InsufficientPointsError) or not getattr(outcome, "replayed", True)
        for outcome in outcomes
    )
    balance = ledger.balance("alice")
    assert (balance.posted, balance.available) == (0, 0)
    ledger.audit()


def test_concurrent_duplicates_apply_once(ledger: Ledger) -> None:
    """Invariant 9: 16 racing submissions of one key write one transaction; 15 are replays."""
    outcomes = _race([lambda: ledger.earn("alice", 5, key="order-9")] * 16)
    replayed = Counter(getattr(outcome, "replayed", None) for outcome in outcomes)
    assert replayed == Counter({False: 1, True: 15})
    assert len({getattr(outcome, "id", None) for outcome in outcomes}) == 1
    assert ledger.balance("alice").posted == 5


def test_concurrent_capture_and_release_one_wins(ledger: Ledger) -> None:
    """Invariant 12: a capture racing a release of one hold: exactly one resolves it."""
    for round_ in range(20):
        ledger.earn("alice", 10, key=f"e{round_}")
        hold = ledger.reserve("alice", 10, key=f"h{round_}", timeout_seconds=60)
        outcomes = _race(
            [
                lambda: ledger.capture(hold.id, key=f"c{round_}"),  # noqa: B023 - used at once
                lambda: ledger.release(hold.id, key=f"x{round_}"),  # noqa: B023
            ]
        )
        errors = [o for o in outcomes if isinstance(o, Exception)]
        assert len(errors) == 1
        assert isinstance(errors[0], HoldAlreadyCapturedError | HoldAlreadyReleasedError)
    ledger.audit()


def test_concurrent_double_reversal_one_wins(ledger: Ledger) -> None:
    """Invariant 16: two racing full reversals of one transaction: exactly one succeeds."""
    earn = ledger.earn("alice", 100, key="e1")
    outcomes = _race([partial(ledger.reverse, earn.id, key=f"rev{n}") for n in range(8)])
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert ledger.balance("alice").posted == 0


def test_opposite_transfers_net_to_zero(ledger: Ledger) -> None:
    """Racing transfers in both directions between two members keep the total and balance."""
    ledger.earn("alice", 500, key="a")
    ledger.earn("bob", 500, key="b")

    def transfer(sender: str, recipient: str, n: int) -> Callable[[], object]:
        return lambda: ledger.transfer(sender, recipient, 1, key=f"{sender}-{n}")

    calls = [transfer("alice", "bob", n) for n in range(20)]
    calls += [transfer("bob", "alice", n) for n in range(20)]
    outcomes = _race(calls)
    assert not any(isinstance(o, Exception) for o in outcomes)
    assert (ledger.balance("alice").posted, ledger.balance("bob").posted) == (500, 500)
    ledger.audit()
