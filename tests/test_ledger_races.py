"""Interleavings that a storage with real concurrency allows, forced on MemoryStorage.

A host's database lets another process commit between the moment a command looks up its key
(or an expiry run reads what is due) and the moment it holds its locks. The storage wrapper
below runs a competing command at exactly that moment, on the same thread (the memory lock is
re-entrant), so each race outcome is reproducible.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from pointkit import FixedClock, Ledger, MemoryStorage
from pointkit.ledger import HoldStatus


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from pointkit import ProgramId
    from pointkit.ledger import ReadUnit, WalletKey, WalletState, WriteUnit


class _Interleaving:
    """A storage that runs *meanwhile* once, just before the next unit locks its wallets."""

    def __init__(self) -> None:
        self.inner = MemoryStorage()
        self.meanwhile: Callable[[], object] | None = None

    @contextmanager
    def reading(self, program: ProgramId) -> Iterator[ReadUnit]:
        with self.inner.reading(program) as unit:
            yield unit

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        with self.inner.writing(program) as unit:
            outer = self

            class _Unit:
                def __getattr__(self, name: str) -> object:
                    return getattr(unit, name)

                def lock_wallets(self, keys: Sequence[WalletKey]) -> dict[WalletKey, WalletState]:
                    competing, outer.meanwhile = outer.meanwhile, None
                    if competing is not None:
                        competing()
                    return unit.lock_wallets(keys)

            yield _Unit()  # type: ignore[misc]  # duck-typed WriteUnit


def test_a_duplicate_committed_while_waiting_for_locks_is_replayed(clock: FixedClock) -> None:
    """Invariant 9: if the same key commits while a unit waits for locks, it replays."""
    storage = _Interleaving()
    ledger = Ledger(storage, clock=clock)
    storage.meanwhile = lambda: ledger.earn("alice", 100, key="order-1")
    done = ledger.earn("alice", 100, key="order-1")
    assert done.replayed
    assert ledger.balance("alice").posted == 100
    ledger.audit()


def test_a_timeout_skips_a_hold_captured_meanwhile(clock: FixedClock) -> None:
    """A hold captured by a process whose clock lags, after the run read it, is left alone."""
    storage = _Interleaving()
    ledger = Ledger(storage, clock=clock)
    ledger.earn("alice", 100, key="e1")
    hold = ledger.reserve("alice", 40, key="h1", timeout_seconds=3600)
    lagging = Ledger(storage.inner, clock=FixedClock(clock.now() + timedelta(minutes=30)))
    clock.advance(timedelta(hours=2))
    storage.meanwhile = lambda: lagging.capture(hold.id, key="c1")
    run = ledger.expire_due()
    assert (run.holds_expired, run.transactions) == (0, ())
    assert ledger.hold(hold.id).status is HoldStatus.CAPTURED
    ledger.audit()


def test_an_expiry_skips_a_lot_emptied_meanwhile(clock: FixedClock) -> None:
    """A due lot clawed back after the run read it has nothing left to expire."""
    storage = _Interleaving()
    ledger = Ledger(storage, clock=clock)
    earn = ledger.earn("alice", 100, key="e1", expires_at=clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    storage.meanwhile = lambda: ledger.reverse(earn.id, key="refund-1")
    run = ledger.expire_due()
    assert run.lots_expired == 0
    assert ledger.balance("alice").posted == 0
    ledger.audit()


def test_two_expiry_runs_expire_each_lot_once(clock: FixedClock) -> None:
    """Invariant 21: a second run that gets there first leaves the first with nothing to do."""
    storage = _Interleaving()
    ledger = Ledger(storage, clock=clock)
    ledger.earn("alice", 100, key="e1", expires_at=clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    storage.meanwhile = ledger.expire_due
    run = ledger.expire_due()
    assert run.lots_expired == 0
    assert len(ledger.statement("alice").lines) == 2
    ledger.audit()
