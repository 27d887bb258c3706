"""The batch API and batched expiry, on every adapter."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from pointkit import FixedClock, IdempotencyConflictError, Ledger, LedgerPolicy, limits
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError, LimitExceededError
from pointkit.ledger import Earn
from pointkit.testing import snapshot


if TYPE_CHECKING:
    from pointkit.ledger import Storage


@pytest.fixture
def ledger(any_storage: Storage, clock: FixedClock) -> Ledger:
    """A ledger on each adapter in turn, in a program of its own."""
    return Ledger(
        any_storage,
        clock=clock,
        program=f"batch-{uuid.uuid4().hex[:8]}",
        policy=LedgerPolicy(clawback="debt", debt_limit=1_000),
    )


def test_earn_many_is_the_same_as_earning_one_by_one(ledger: Ledger, clock: FixedClock) -> None:
    """A batch writes exactly the transactions single earns would, in order, chained per wallet."""
    expiry = clock.now() + timedelta(days=30)
    earns = [
        Earn(member=f"m{n % 3}", amount=10 + n, key=f"e{n}", expires_at=expiry) for n in range(30)
    ]
    done = ledger.earn_many(earns)
    assert [t.key for t in done] == [e.key for e in earns]
    assert [t.wallet_changes[0].version for t in done[:3]] == [1, 1, 1]
    assert [t.wallet_changes[0].version for t in done[3:6]] == [2, 2, 2]
    assert ledger.balance("m0").posted == sum(10 + n for n in range(0, 30, 3))
    ledger.audit()


def test_earn_many_replays_recorded_keys(ledger: Ledger) -> None:
    """Keys recorded before come back as replays; new ones are written."""
    first = ledger.earn("m0", 5, key="e0")
    done = ledger.earn_many(
        [Earn(member="m0", amount=5, key="e0"), Earn(member="m0", amount=7, key="e1")]
    )
    assert (done[0].replayed, done[0].id, done[1].replayed) == (True, first.id, False)
    assert ledger.balance("m0").posted == 12


def test_earn_many_pays_debt_first(ledger: Ledger) -> None:
    """Each earn of a batch pays the member's debt off first, as a single earn would."""
    ledger.adjust("m0", -50, key="a1", reason="abuse")
    ledger.earn_many(
        [Earn(member="m0", amount=30, key="e1"), Earn(member="m0", amount=30, key="e2")]
    )
    balance = ledger.balance("m0")
    assert (balance.posted, balance.debt, balance.available) == (10, 0, 10)
    ledger.audit()


def test_a_bad_batch_writes_nothing(ledger: Ledger, any_storage: Storage) -> None:
    """Invalid items, repeated keys and conflicts refuse the whole batch before writing."""
    ledger.earn("m0", 5, key="e0")
    before = snapshot(any_storage, ledger.program)
    with pytest.raises(IdempotencyConflictError):
        ledger.earn_many(
            [Earn(member="m1", amount=5, key="e9"), Earn(member="m0", amount=6, key="e0")]
        )
    with pytest.raises(InvalidArgumentError, match="repeat the keys"):
        ledger.earn_many(
            [Earn(member="m1", amount=5, key="x"), Earn(member="m1", amount=5, key="x")]
        )
    with pytest.raises(InvalidArgumentError):
        ledger.earn_many([Earn(member="m1", amount=0, key="y")])
    with pytest.raises(ArgumentTypeError, match="sequence of Earn"):
        ledger.earn_many(["m1"])  # type: ignore[list-item]
    too_many = [Earn(member="m1", amount=1, key=f"k{n}") for n in range(limits.BATCH_MAX + 1)]
    with pytest.raises(LimitExceededError, match="BATCH_MAX"):
        ledger.earn_many(too_many)
    assert before == snapshot(any_storage, ledger.program)
    assert ledger.earn_many([]) == ()


def test_expiry_runs_in_batches_of_units(
    ledger: Ledger, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Due lots expire a unit at a time, one transaction each, and never twice."""
    monkeypatch.setattr(limits, "EXPIRY_LOTS_PER_UNIT", 7)
    expiry = clock.now() + timedelta(days=1)
    ledger.earn_many(
        [Earn(member=f"m{n % 4}", amount=5, key=f"e{n}", expires_at=expiry) for n in range(40)]
    )
    ledger.redeem("m0", 5, key="r1")
    clock.advance(timedelta(days=2))
    run = ledger.expire_due()
    assert (run.lots_expired, dict(run.points_expired)) == (39, {"points": 195})
    assert ledger.expire_due().lots_expired == 0
    assert all(ledger.balance(f"m{n}").posted == 0 for n in range(4))
    ledger.audit()
