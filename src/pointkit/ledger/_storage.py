"""The storage protocol: a unit of work, not get/put.

Maintainer's notes
------------------
Every ledger command runs as one unit of work on the storage:

1. ``storage.writing(program)`` begins a write unit (a database transaction);
2. the ledger looks up the idempotency key (``transaction_by_key``) and any hold or original
   transaction the command names;
3. ``lock_wallets`` locks the member wallets involved, **in sorted order**, so two commands
   never wait on each other in a cycle, and returns their balance rows; the booking then reads
   the lots it needs by id (``lots``) or in spending order (``open_lots``), stopping as soon as
   it has enough, so a command's cost does not grow with the size of the wallet;
4. the pure booking core turns that state and the command into a :class:`Plan`;
5. ``apply`` writes the plan; leaving the ``with`` block commits, an exception rolls back.

Adapters only load, lock and write: every decision is made by the booking core, so all adapters
share one logic. System accounts (issuance, redemption, expired, ...) have no balance row to lock;
their balances are sums of postings, so no single row serialises writers.

An adapter must make a unit all or nothing, serialise units that lock the same wallet, keep
``transaction.key`` unique per program, and never change a stored transaction.

Steps 2 and 3 may be one call: a unit that has ``lock_for`` (:class:`LockingUnit`) locks the
wallets and, under the locks, looks up the keys, reads the lots named by id and, for a command
that spends, the first page of each wallet's open lots, all at once. A database adapter answers
it in one round trip; :func:`lock_for` falls back to the separate calls for a unit without it,
in the same order, so a host-written storage needs nothing more.
``pointkit.ledger.audit`` checks a storage's state against its own journal.

This is the accounts part of storage; the features above the ledger add their own parts
(:mod:`pointkit.features`). :class:`ReleaseHook` is how a feature acts inside a unit of work
that releases a hold, without the ledger knowing the feature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, final

import attrs


if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime

    from pointkit._values import MemberId, ProgramId
    from pointkit.ledger._records import (
        AccountId,
        Hold,
        HoldId,
        Lot,
        LotId,
        Transaction,
        TransactionId,
    )


__all__ = [
    "Locked",
    "LockingUnit",
    "Plan",
    "ReadUnit",
    "ReleaseHook",
    "Storage",
    "WalletKey",
    "WalletState",
    "WriteUnit",
    "lock_for",
]

WalletKey = tuple["MemberId", str]
"""A wallet's key: ``(member, currency code)``. Wallets are locked in the order of their keys."""


@final
@attrs.frozen
class WalletState:
    """A member wallet as storage holds it: the balance row and, when loaded, its open lots.

    Attributes:
        member: The member.
        currency: The point currency.
        version: Grows by one with every transaction that touches the wallet; 0 when new.
        posted: Posted balance.
        held: Points held by open holds.
        debt: Points owed.
        lots: The wallet's open lots (remaining points or held points), in spending order.
    """

    member: MemberId
    currency: str
    version: int = 0
    posted: int = 0
    held: int = 0
    debt: int = 0
    lots: tuple[Lot, ...] = ()

    @property
    def key(self) -> WalletKey:
        """The wallet's key."""
        return (self.member, self.currency)


@final
@attrs.frozen
class Plan:
    """What one command writes: a transaction and the state it leaves behind.

    Attributes:
        transaction: The new transaction, with its postings, lot moves and wallet changes.
        wallets: Every touched wallet's new balance row (without lots); its ``version`` is one
            more than the stored one, which the adapter may check.
        lots: Every lot the transaction created or changed, in its new state.
        holds: Every hold the transaction created or changed, in its new state.
    """

    transaction: Transaction
    wallets: tuple[WalletState, ...]
    lots: tuple[Lot, ...]
    holds: tuple[Hold, ...]


class ReadUnit(Protocol):
    """Consistent reads of one program's ledger."""

    def transaction(self, transaction_id: TransactionId) -> Transaction | None:
        """Return the transaction with this id, or ``None``."""
        ...

    def transaction_by_key(self, key: str) -> Transaction | None:
        """Return the transaction recorded under this idempotency key, or ``None``."""
        ...

    def reversals_of(self, transaction_id: TransactionId) -> Sequence[Transaction]:
        """Return every reversal of the transaction, in any order."""
        ...

    def hold(self, hold_id: HoldId) -> Hold | None:
        """Return the hold with this id, or ``None``."""
        ...

    def wallet(self, member: MemberId, currency: str) -> WalletState:
        """Return the wallet with its open lots in spending order (a zero wallet if new)."""
        ...

    def open_lots(self, member: MemberId, currency: str) -> Iterator[Lot]:
        """Yield the wallet's open lots (remaining points) lazily, in spending order.

        Spending order is :meth:`Lot.fifo_key`: soonest expiry first, never-expiring last, then
        ``available_at``, then id. The ledger stops reading as soon as it has what it needs, so
        an adapter should stream (a cursor, or pages) rather than read the whole wallet.
        """
        ...

    def lots(self, lot_ids: Sequence[LotId]) -> Sequence[Lot]:
        """Return the lots with these ids, open or closed, in any order."""
        ...

    def wallet_lots(self, member: MemberId, currency: str) -> Sequence[Lot]:
        """Return every lot the wallet ever had, open or closed, in spending order."""
        ...

    def wallet_history(
        self, member: MemberId, currency: str, *, after_version: int, limit: int
    ) -> Sequence[Transaction]:
        """Return up to *limit* transactions that touched the wallet after *after_version*.

        They come in version order: the order they were applied to the wallet.
        """
        ...

    def due_holds(self, now: datetime, limit: int) -> Sequence[Hold]:
        """Return up to *limit* open holds that have timed out at *now*.

        They come in ``(expires_at, id)`` order.
        """
        ...

    def due_lots(self, now: datetime, limit: int) -> Sequence[Lot]:
        """Return up to *limit* lots past their expiry at *now* that still have free points.

        They come in ``(expires_at, id)`` order.
        """
        ...

    def expiring(
        self,
        currency: str,
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, MemberId] | None,
        limit: int,
    ) -> Sequence[tuple[datetime, MemberId, int]]:
        """Return up to *limit* ``(expires_at, member, free points)`` groups expiring soon.

        A group sums the free points (remaining less held) of one member's lots in *currency*
        that expire at one instant in ``(start, end]``; groups with no free points are left
        out. They come in ``(expires_at, member)`` order, starting after *after*.
        """
        ...

    def system_balance(self, account: AccountId) -> tuple[int, int]:
        """Return a system account's ``(posted, pending)`` balance: sums of its postings."""
        ...

    def all_transactions(self) -> Iterator[Transaction]:
        """Yield every transaction (for audits), in any order."""
        ...

    def all_wallets(self) -> Iterator[WalletState]:
        """Yield every wallet row without lots (for audits), in any order."""
        ...

    def all_lots(self) -> Iterator[Lot]:
        """Yield every lot (for audits), in any order."""
        ...

    def all_holds(self) -> Iterator[Hold]:
        """Yield every hold (for audits), in any order."""
        ...


class WriteUnit(ReadUnit, Protocol):
    """A unit of work that may lock wallets and write plans."""

    def lock_wallets(self, keys: Sequence[WalletKey]) -> dict[WalletKey, WalletState]:
        """Lock the wallets in sorted key order and return their balance rows.

        Locks are held until the unit ends. A wallet that does not exist yet is returned as a
        zero wallet (and the adapter makes sure a concurrent unit cannot create it meanwhile).
        The rows may come without lots (``lots=()``); the ledger reads lots through
        :meth:`open_lots` and :meth:`lots`, under these locks.
        """
        ...

    def apply(self, plan: Plan) -> None:
        """Write *plan*: insert its transaction and upsert its wallets, lots and holds.

        Raises:
            StorageError: If the write fails; the unit then rolls back as a whole.
        """
        ...


@final
@attrs.frozen
class Locked:
    """What a unit read when it locked a command's wallets: the state the booking starts from.

    Attributes:
        wallets: The locked wallets' balance rows, by key (without lots).
        recorded: The transactions already recorded under the keys looked up, by key.
        lots: The lots named by id, open or closed, in any order.
    """

    wallets: Mapping[WalletKey, WalletState]
    recorded: Mapping[str, Transaction]
    lots: tuple[Lot, ...] = ()


class LockingUnit(WriteUnit, Protocol):
    """A write unit that locks a command's wallets and reads what the command needs in one go."""

    def lock_for(
        self,
        keys: Sequence[WalletKey],
        idempotency_keys: Sequence[str],
        *,
        spending: bool,
        lot_ids: Sequence[LotId] = (),
    ) -> Locked:
        """Lock the wallets as :meth:`WriteUnit.lock_wallets` does, then read under the locks.

        Args:
            keys: The wallets to lock (any order; they are locked in sorted order).
            idempotency_keys: Keys to look up, as :meth:`ReadUnit.transaction_by_key` does.
            spending: Whether the command takes points: the unit may then read the first page
                of each wallet's open lots now, for :meth:`ReadUnit.open_lots` to serve.
            lot_ids: Lots to read by id, as :meth:`ReadUnit.lots` does.
        """
        ...


def lock_for(
    unit: WriteUnit,
    keys: Sequence[WalletKey],
    idempotency_keys: Sequence[str],
    *,
    spending: bool = False,
    lot_ids: Sequence[LotId] = (),
) -> Locked:
    """Lock *keys* in *unit* and read, under the locks, the recorded keys and the named lots.

    One call to the unit's ``lock_for`` if it has one; otherwise ``lock_wallets``, then
    ``transaction_by_key`` for each key, then ``lots``.
    """
    locking = getattr(unit, "lock_for", None)
    if locking is not None:
        locked: Locked = locking(keys, idempotency_keys, spending=spending, lot_ids=lot_ids)
        return locked
    wallets = unit.lock_wallets(keys)
    recorded = {
        key: found
        for key in idempotency_keys
        if (found := unit.transaction_by_key(key)) is not None
    }
    return Locked(wallets, recorded, tuple(unit.lots(lot_ids)) if lot_ids else ())


class Storage(Protocol):
    """Where a ledger keeps its journal and state. Implement it for your own database.

    Both methods return context managers: leaving the ``with`` block normally commits (for
    ``writing``) and leaving it with an exception rolls everything back.
    """

    def reading(self, program: ProgramId) -> AbstractContextManager[ReadUnit]:
        """Begin a consistent read of *program*'s ledger."""
        ...

    def writing(self, program: ProgramId) -> AbstractContextManager[WriteUnit]:
        """Begin a unit of work on *program*'s ledger."""
        ...


class ReleaseHook(Protocol):
    """Called in the unit of work that releases a hold or times it out, before it commits.

    A feature that took something when it reserved the points (an offer's stock, a member's
    count) gives it back here, so that every path that frees the points frees the rest too.
    """

    def __call__(self, unit: WriteUnit, hold: Hold, now: datetime) -> None:
        """Give back what the feature took for *hold*, in *unit*."""
