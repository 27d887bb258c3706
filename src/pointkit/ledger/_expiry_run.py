"""The expiry run: hold timeouts, then every due lot, each under a key derived from its id.

A base of :class:`~pointkit.ledger.Ledger` (the rest of the ledger is in ``_ledger``). Lots are
expired set-based, in SQL, when the storage can and nothing needs the Python plan (see
:mod:`pointkit.ledger._set_expiry`), else each is planned in Python; hold timeouts always are.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import TYPE_CHECKING, cast

from pointkit import limits
from pointkit._validate import check_int, type_name
from pointkit.exceptions import ArgumentTypeError, InvariantViolation
from pointkit.ledger._booking import Booking
from pointkit.ledger._commands import Commands
from pointkit.ledger._envelope import RESERVED_KEY_PREFIX
from pointkit.ledger._envelope import request as _request
from pointkit.ledger._envelope import retrying as _retrying
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    ExpiryRun,
    HoldStatus,
    Transaction,
    TransactionId,
    TransactionKind,
    transaction_id_for,
)
from pointkit.ledger._set_expiry import (
    EXPIRY_KEY_PREFIX,
    EXPIRY_REASON,
    ExpiredLots,
    SetExpiryUnit,
    take_wallets,
)


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from pointkit._values import MemberId
    from pointkit.ledger._guards import CommandGuard
    from pointkit.ledger._records import Lot
    from pointkit.ledger._storage import Plan, Storage, WalletState, WriteUnit


__all__ = ["ExpiryRuns"]

# What a unit of an expiry run is named by when it fails (each transaction has its own key).
_RUN_KEY = f"{EXPIRY_KEY_PREFIX}run"


class ExpiryRuns(Commands):
    """The ledger's expiry run (:meth:`expire_due`); the ledger says where units run."""

    _storage: Storage
    _guards: dict[str, CommandGuard]

    def _execute_batch(
        self,
        plan_all: Callable[[WriteUnit, datetime], list[Transaction | Plan]],
        now: datetime | None,
        *,
        command: str,
        key: str,
    ) -> list[Transaction]:
        raise NotImplementedError

    def expire_due(
        self, *, limit: int = limits.EXPIRY_BATCH_MAX, transactions: bool = False
    ) -> ExpiryRun:
        """Release timed-out holds, then expire the free points of every lot past its expiry.

        Each hold and each lot is processed exactly once, whoever runs this and however often.
        Holds go first, so points a timed-out hold protected past their lot's expiry expire in
        the same run. Each hold gets a transaction under a key derived from its id; a wallet's
        due lots expire together, in one transaction named by its first due lot (at most
        ``limits.LOTS_PER_COMMAND_MAX`` lots: a wallet with more gets several). Wallets are
        taken in the order of their first due lot, by ``(expires_at, id)``.

        On a storage that expires lots set-based (SQLite, PostgreSQL) and a ledger without a
        seal key, the lots are expired in SQL, about ``limits.EXPIRY_LOTS_PER_SET_UNIT`` lots
        per unit of work, writing what the Python plan writes; otherwise they are planned in
        Python, about ``limits.EXPIRY_LOTS_PER_UNIT`` per unit. Hold timeouts are always planned
        in Python.

        Args:
            limit: The most holds, and due lots whose wallets are expired, to take in this
                call. A wallet's due lots expire together, so a call may expire more lots.
            transactions: Also return every transaction the run recorded (read back from
                storage on the set-based path); off by default, so a large run keeps counts
                only.

        Returns:
            What the run did; ``complete`` is ``False`` when more remain (call again).

        Raises:
            ArgumentTypeError: If *transactions* is not a bool.
        """
        batch = check_int(
            "limit",
            limit,
            minimum=1,
            maximum=limits.EXPIRY_BATCH_MAX,
            limit_name="EXPIRY_BATCH_MAX",
        )
        if not isinstance(transactions, bool):
            raise ArgumentTypeError(
                f"transactions={transactions!r} must be a bool, not {type_name(transactions)}"
            )
        now = self._now()
        with self._storage.reading(self._program) as unit:
            holds = list(unit.due_holds(now, batch))
            lots = None if self._set_based(unit) else list(unit.due_lots(now, batch - len(holds)))
        done: list[Transaction] = []
        expired: defaultdict[str, int] = defaultdict(int)
        holds_done = lots_done = 0
        for hold in holds:
            transaction = self._timeout(hold.id, now)
            if transaction is not None and not transaction.replayed:
                done.append(transaction)
                holds_done += 1
                expired[transaction.currency] += self._expired_by(transaction)
        room = batch - len(holds)
        if room == 0:
            complete = False  # the holds took the whole call
        elif lots is None:
            lots_done, complete = self._expire_set_based(
                now, room, expired, done if transactions else None
            )
        else:
            for transaction in self._expire_lots(lots, now):
                done.append(transaction)
                lots_done += len(transaction.lot_moves)
                expired[transaction.currency] += self._expired_by(transaction)
            complete = len(lots) < room
        return ExpiryRun(
            as_of=now,
            transactions=tuple(done) if transactions else (),
            holds_expired=holds_done,
            lots_expired=lots_done,
            points_expired=tuple(sorted(expired.items())),
            complete=complete,
        )

    def _set_based(self, unit: object) -> bool:
        """Whether this run expires lots in SQL: the storage can, and no plan needs Python.

        A seal is an HMAC under the ledger's key, which the SQL does not compute. A storage
        can also decline for its layout (``expires_set_based``: PostgreSQL distributed with
        Citus).
        """
        return (
            self._seal_key is None
            and callable(getattr(unit, "expire_due_lots", None))
            and getattr(unit, "expires_set_based", True) is True
        )

    def _expire_set_based(
        self,
        now: datetime,
        room: int,
        expired: defaultdict[str, int],
        done: list[Transaction] | None,
    ) -> tuple[int, bool]:
        """Expire about *room* due lots in SQL, a unit of work per batch of wallets.

        Returns the lots expired and whether none are left due. Adds the points to *expired*,
        and the transactions to *done* unless it is ``None``. Command guards run once per
        member of each batch, under its locks, before the writes.
        """
        lots_done = 0
        while True:
            size = min(limits.EXPIRY_LOTS_PER_SET_UNIT, room - lots_done)

            def attempt(size: int = size) -> tuple[ExpiredLots, list[Transaction]]:
                with self._storage.writing(self._program) as unit:
                    writer = cast("SetExpiryUnit", unit)
                    check = None if not self._guards else self._guard_expiry(unit)
                    result = writer.expire_due_lots(now, size, check=check)
                    read = [] if done is None else self._read_back(unit, result.transactions)
                return result, read

            result, read = _retrying(
                attempt, (("command", "expiry"),), _RUN_KEY, program=self._program
            )
            lots_done += result.lots
            for currency, points in result.points:
                expired[currency] += points
            if done is not None:
                done.extend(read)
            if result.complete or result.lots == 0 or lots_done >= room:
                return lots_done, result.complete

    def _guard_expiry(self, unit: WriteUnit) -> Callable[[Sequence[MemberId]], None]:
        def check(members: Sequence[MemberId]) -> None:
            for member in members:
                for guard in self._guards.values():
                    guard(unit, TransactionKind.EXPIRY.value, (member,))

        return check

    @staticmethod
    def _read_back(unit: WriteUnit, ids: Sequence[TransactionId]) -> list[Transaction]:
        found = [unit.transaction(transaction_id) for transaction_id in ids]
        missing = [str(i) for i, t in zip(ids, found, strict=True) if t is None]
        if missing:
            raise InvariantViolation(f"expiry transactions {missing} were not written")
        return [t for t in found if t is not None]

    @staticmethod
    def _expired_by(transaction: Transaction) -> int:
        return transaction.posted_to(AccountId.system(AccountKind.EXPIRED, transaction.currency))

    def _timeout(self, hold_id: TransactionId, now: datetime) -> Transaction | None:
        key = f"{RESERVED_KEY_PREFIX}hold-timeout:{hold_id}"
        request = _request("hold_timeout", hold=hold_id)

        def plan(unit: WriteUnit, at: datetime) -> Plan | None:
            found = unit.hold(hold_id)
            if found is None:  # pragma: no cover - the run just read it
                return None
            allocated = [lot_id for lot_id, _ in found.allocations]
            booking = self._booking(unit, key, found.currency, at, [found.member], allocated)
            current = unit.hold(hold_id) or found
            if current.status is not HoldStatus.OPEN or current.expires_at > at:
                return None  # resolved meanwhile by a capture or release
            booking.resolve(current, capture=0, status=HoldStatus.EXPIRED)
            self._released(unit, current, at)
            return booking.finish(
                kind=TransactionKind.HOLD_TIMEOUT,
                amount=current.amount,
                request=request,
                reason="hold timed out",
                hold=hold_id,
            )

        return self._execute(key, request, plan, now)

    def _expire_lots(self, lots: Sequence[Lot], now: datetime) -> list[Transaction]:
        """Expire the due lots of these lots' wallets, a wallet per transaction.

        The wallets are taken in the order of their first due lot, as many per unit of work
        as ``limits.EXPIRY_LOTS_PER_UNIT`` lots allow (at least one). A lot that another run
        expired meanwhile, or that was spent or clawed back, has no free points left under the
        locks and is passed over: each lot expires exactly once.
        """
        firsts: dict[tuple[MemberId, str], tuple[datetime, int]] = {}
        for lot in lots:  # in (expires_at, id) order: each wallet's first due lot
            firsts.setdefault((lot.member, lot.currency), _expiry_order(lot))
        order = list(firsts)  # the wallets by their first due lot
        starts = list(firsts.values())
        done: list[Transaction] = []
        while order:
            transactions, taken, again = self._expire_wallets(order, now)
            done += transactions
            del order[:taken], starts[:taken]
            if again is not None:
                # The rest of a wallet's due lots wait their turn in the run, by the first of
                # them, as a set-based run takes them.
                start, wallet = again
                at = bisect.bisect(starts, start)
                order.insert(at, wallet)
                starts.insert(at, start)
        return done

    def _expire_wallets(
        self, order: Sequence[tuple[MemberId, str]], now: datetime
    ) -> tuple[list[Transaction], int, tuple[tuple[datetime, int], tuple[MemberId, str]] | None]:
        """Expire the first wallets of *order* in one unit of work, as many as fit in it.

        Returns the transactions, how many wallets it took, and the first due lot and wallet
        of one with more due lots than a transaction takes (it ends the unit), if any.
        """
        most = limits.LOTS_PER_COMMAND_MAX
        taken: list[tuple[MemberId, str]] = []
        again: list[tuple[tuple[datetime, int], tuple[MemberId, str]]] = []

        def plan_all(unit: WriteUnit, at: datetime) -> list[Transaction | Plan]:
            taken.clear()
            again.clear()
            candidates = order[: limits.EXPIRY_LOTS_PER_UNIT]
            wallets = unit.lock_wallets(sorted(candidates))
            due: list[list[Lot]] = []

            def sizes(start: int, stop: int) -> list[int]:
                due.extend(due_in_wallet(unit, w, at, most + 1) for w in candidates[start:stop])
                return [len(lots) for lots in due[start:stop]]

            count, _ = take_wallets(len(candidates), sizes, limits.EXPIRY_LOTS_PER_UNIT)
            taken.extend(candidates[:count])
            if count and len(due[count - 1]) > most:
                again.append((_expiry_order(due[count - 1][most]), candidates[count - 1]))
            return [
                self._expiry_plan(unit, wallet, wallets[wallet], lots[:most], at)
                for wallet, lots in zip(taken, due, strict=False)
                if lots
            ]

        done = self._execute_batch(plan_all, now, command="expiry", key=_RUN_KEY)
        return done, len(taken), again[0] if again else None

    def _expiry_plan(
        self,
        unit: WriteUnit,
        wallet: tuple[MemberId, str],
        state: WalletState,
        due: Sequence[Lot],
        at: datetime,
    ) -> Plan:
        """The expiry transaction of a wallet's *due* lots (its first due lot names it)."""
        first = str(due[0].id)  # the key and the request name it alike
        key = f"{EXPIRY_KEY_PREFIX}{first}"
        member, currency = wallet
        booking = Booking(
            transaction_id=transaction_id_for(key, at),
            key=key,
            currency=currency,
            now=at,
            wallets={wallet: state},
            open_lots=unit.open_lots,
            extra_lots=due,
            seal_key=self._seal_key,
        )
        points = 0
        for lot in due:
            points += booking.expire(lot.id, member)
        return booking.finish(
            kind=TransactionKind.EXPIRY,
            amount=points,
            request=_request("expiry", lot=first),
            reason=EXPIRY_REASON,
        )


def due_in_wallet(
    unit: WriteUnit, wallet: tuple[MemberId, str], at: datetime, most: int
) -> list[Lot]:
    """The wallet's first *most* lots with free points due at *at*.

    In ``(expires_at, id)`` order, the order one expiry transaction moves them in.
    """
    due: list[Lot] = []
    for lot in unit.open_lots(*wallet):
        if lot.expires_at is None or lot.expires_at > at:
            break  # spending order: every due lot comes before the first that is not
        if lot.free > 0:
            due.append(lot)
    due.sort(key=_expiry_order)
    return due[:most]


def _expiry_order(lot: Lot) -> tuple[datetime, int]:
    return (cast("datetime", lot.expires_at), lot.id.int)
