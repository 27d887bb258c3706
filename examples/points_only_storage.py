"""A points-only storage: the accounts part alone, in 21 methods, proved by the conformance suite.

Run it with ``python examples/points_only_storage.py``. ``DictStorage`` keeps one program's
journal in plain dictionaries under one lock: the shape of an adapter for a database pointkit
does not ship, with no index and no cleverness. It implements only the ledger's part of the
storage protocol (``pointkit.ledger.Storage``, ``ReadUnit`` and ``WriteUnit``): points, lots,
holds, the journal and its reads. Earning rules, tiers, offers and lotteries need the records
and tiers parts too; a host that only wants points does not implement them, and
``check_storage_conformance(..., parts=("accounts",))`` checks exactly what it does implement.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import attrs

from pointkit import FixedClock, Ledger
from pointkit.ledger import AccountKind, HoldStatus, Lot, Phase, WalletState
from pointkit.testing import check_storage_conformance


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pointkit import MemberId, ProgramId
    from pointkit.ledger import (
        AccountId,
        Hold,
        HoldId,
        LotId,
        Plan,
        Transaction,
        TransactionId,
        WalletKey,
    )


@attrs.define
class _Tables:
    """One program's rows. Values are frozen, so a shallow copy is a snapshot."""

    transactions: dict[TransactionId, Transaction] = attrs.Factory(dict)
    keys: dict[str, TransactionId] = attrs.Factory(dict)
    wallets: dict[WalletKey, WalletState] = attrs.Factory(dict)
    history: dict[WalletKey, tuple[TransactionId, ...]] = attrs.Factory(dict)
    lots: dict[LotId, Lot] = attrs.Factory(dict)
    holds: dict[HoldId, Hold] = attrs.Factory(dict)

    def copy(self) -> _Tables:
        return _Tables(*(dict(table) for table in attrs.astuple(self, recurse=False)))


class _Unit:
    """A unit of work on one program's tables (reads and writes)."""

    def __init__(self, tables: _Tables) -> None:
        self.t = tables

    # -- reads (17) ---------------------------------------------------------------------------

    def transaction(self, transaction_id: TransactionId) -> Transaction | None:
        return self.t.transactions.get(transaction_id)

    def transaction_by_key(self, key: str) -> Transaction | None:
        found = self.t.keys.get(key)
        return None if found is None else self.t.transactions[found]

    def reversals_of(self, transaction_id: TransactionId) -> Sequence[Transaction]:
        return [t for t in self.t.transactions.values() if t.reverses == transaction_id]

    def hold(self, hold_id: HoldId) -> Hold | None:
        return self.t.holds.get(hold_id)

    def wallet(self, member: MemberId, currency: str) -> WalletState:
        row = self.t.wallets.get((member, currency)) or WalletState(member, currency)
        return attrs.evolve(row, lots=tuple(self.open_lots(member, currency)))

    def open_lots(self, member: MemberId, currency: str) -> Iterator[Lot]:
        mine = [lot for lot in self.wallet_lots(member, currency) if lot.remaining > 0]
        return iter(mine)

    def lots(self, lot_ids: Sequence[LotId]) -> Sequence[Lot]:
        return [self.t.lots[lot_id] for lot_id in lot_ids if lot_id in self.t.lots]

    def wallet_lots(self, member: MemberId, currency: str) -> Sequence[Lot]:
        mine = (
            lot for lot in self.t.lots.values() if (lot.member, lot.currency) == (member, currency)
        )
        return sorted(mine, key=Lot.fifo_key)

    def wallet_history(
        self, member: MemberId, currency: str, *, after_version: int, limit: int
    ) -> Sequence[Transaction]:
        ids = self.t.history.get((member, currency), ())[after_version : after_version + limit]
        return [self.t.transactions[transaction_id] for transaction_id in ids]

    def due_holds(self, now: datetime, limit: int) -> Sequence[Hold]:
        due = (
            h for h in self.t.holds.values() if h.status is HoldStatus.OPEN and h.expires_at <= now
        )
        return sorted(due, key=lambda hold: (hold.expires_at, hold.id))[:limit]

    def due_lots(self, now: datetime, limit: int) -> Sequence[Lot]:
        due = (lot for lot in self.t.lots.values() if lot.is_due(now) and lot.free > 0)
        return sorted(due, key=lambda lot: (lot.expires_at, lot.id))[:limit]

    def expiring(
        self,
        currency: str,
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, MemberId] | None,
        limit: int,
    ) -> Sequence[tuple[datetime, MemberId, int]]:
        groups: defaultdict[tuple[datetime, MemberId], int] = defaultdict(int)
        for lot in self.t.lots.values():
            due = lot.expires_at
            if lot.currency == currency and due is not None and start < due <= end and lot.free:
                groups[(due, lot.member)] += lot.free
        rows = sorted((at, member, points) for (at, member), points in groups.items())
        return [row for row in rows if after is None or row[:2] > after][:limit]

    def system_balance(self, account: AccountId) -> tuple[int, int]:
        sums = {Phase.POSTED: 0, Phase.PENDING: 0}
        for transaction in self.t.transactions.values():
            for posting in transaction.postings:
                if posting.account == account:
                    sums[posting.phase] += posting.amount
        return (sums[Phase.POSTED], sums[Phase.PENDING])

    def all_transactions(self) -> Iterator[Transaction]:
        return iter(list(self.t.transactions.values()))

    def all_wallets(self) -> Iterator[WalletState]:
        return iter(list(self.t.wallets.values()))

    def all_lots(self) -> Iterator[Lot]:
        return iter(list(self.t.lots.values()))

    def all_holds(self) -> Iterator[Hold]:
        return iter(list(self.t.holds.values()))

    # -- writes (2) ---------------------------------------------------------------------------

    def lock_wallets(self, keys: Sequence[WalletKey]) -> dict[WalletKey, WalletState]:
        # One lock guards the whole storage for the unit, so the rows are already locked.
        return {key: self.t.wallets.get(key) or WalletState(*key) for key in sorted(set(keys))}

    def apply(self, plan: Plan) -> None:
        transaction = plan.transaction
        if transaction.key in self.t.keys:
            raise ValueError(f"key {transaction.key!r} is already stored")
        self.t.transactions[transaction.id] = transaction
        self.t.keys[transaction.key] = transaction.id
        for row in plan.wallets:
            stored = self.t.wallets.get(row.key)
            if row.version != (1 if stored is None else stored.version + 1):
                raise ValueError(f"wallet {row.key} changed meanwhile")
            self.t.wallets[row.key] = row
            self.t.history[row.key] = (*self.t.history.get(row.key, ()), transaction.id)
        for lot in plan.lots:
            self.t.lots[lot.id] = lot
        for extension in transaction.expiry_extensions:  # inactivity expiry moves lots later
            for lot in list(self.t.lots.values()):
                if extension.applies_to(lot, transaction.created_at):
                    self.t.lots[lot.id] = attrs.evolve(lot, expires_at=extension.expires_at)
        for hold in plan.holds:
            self.t.holds[hold.id] = hold


class DictStorage:
    """A points-only storage in dictionaries: ``reading`` and ``writing`` (2 methods)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._programs: defaultdict[ProgramId, _Tables] = defaultdict(_Tables)

    @contextmanager
    def reading(self, program: ProgramId) -> Iterator[_Unit]:
        """A consistent read: the lock keeps writers out."""
        with self._lock:
            yield _Unit(self._programs[program])

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[_Unit]:
        """A unit of work on a copy of the tables, swapped in only if the unit succeeds."""
        with self._lock:
            unit = _Unit(self._programs[program].copy())
            yield unit
            self._programs[program] = unit.t


def main() -> None:
    """Prove the adapter's accounts part, then use it."""
    storage = DictStorage()
    check_storage_conformance(lambda: storage, max_examples=10, parts=("accounts",))
    ledger = Ledger(storage, clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    ledger.earn("alice", 500, key="order-1001")
    ledger.redeem("alice", 120, key="coupon-7")
    print("DictStorage passes the accounts part of the conformance suite")
    print("alice has", ledger.balance("alice").available, "points")
    print("issued:", ledger.system_balance(AccountKind.ISSUANCE).posted)  # debited what it issues


if __name__ == "__main__":
    main()
