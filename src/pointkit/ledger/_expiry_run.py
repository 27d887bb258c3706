"""The expiry run: hold timeouts, then every due lot, each under a key derived from its id.

A base of :class:`~pointkit.ledger.Ledger` (the rest of the ledger is in ``_ledger``). Lots are
expired set-based, in SQL, when the storage can and nothing needs the Python plan (see
:mod:`pointkit.ledger._set_expiry`), else each is planned in Python; hold timeouts always are.
"""

from __future__ import annotations

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
from pointkit.ledger._set_expiry import EXPIRY_KEY_PREFIX, ExpiredLots, SetExpiryUnit


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from pointkit._values import MemberId
    from pointkit.ledger._guards import CommandGuard
    from pointkit.ledger._records import Lot
    from pointkit.ledger._storage import Plan, Storage, WriteUnit


__all__ = ["ExpiryRuns"]


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

        Each hold and each lot is processed exactly once, whoever runs this and however often:
        each gets a transaction under a key derived from its id. Holds go first, so points a
        timed-out hold protected past their lot's expiry expire in the same run. Lots are taken
        in ``(expires_at, id)`` order; at most *limit* holds and lots per call.

        On a storage that expires lots set-based (SQLite, PostgreSQL) and a ledger without a
        seal key, the lots are expired in SQL, ``limits.EXPIRY_LOTS_PER_SET_UNIT`` per unit of
        work, writing what the Python plan writes; otherwise each lot is planned in Python,
        ``limits.EXPIRY_LOTS_PER_UNIT`` per unit. Hold timeouts are always planned in Python.

        Args:
            limit: The most holds and lots to process in this call.
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
        if lots is None:
            taken, lots_done = self._expire_set_based(
                now, batch - len(holds), expired, done if transactions else None
            )
        else:
            taken = len(lots)
            for start in range(0, len(lots), limits.EXPIRY_LOTS_PER_UNIT):
                for transaction in self._expire_lots(
                    lots[start : start + limits.EXPIRY_LOTS_PER_UNIT], now
                ):
                    done.append(transaction)
                    lots_done += 1
                    expired[transaction.currency] += self._expired_by(transaction)
        return ExpiryRun(
            as_of=now,
            transactions=tuple(done) if transactions else (),
            holds_expired=holds_done,
            lots_expired=lots_done,
            points_expired=tuple(sorted(expired.items())),
            complete=len(holds) + taken < batch,
        )

    def _set_based(self, unit: object) -> bool:
        """Whether this run expires lots in SQL: the storage can, and no plan needs Python.

        A seal is an HMAC under the ledger's key, which the SQL does not compute. A storage
        can also decline for its layout (``expires_set_based``: PostgreSQL distributed by
        member).
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
    ) -> tuple[int, int]:
        """Expire up to *room* due lots in SQL, a unit of work per batch; return (taken, expired).

        Adds the points to *expired*, and the transactions to *done* unless it is ``None``.
        Command guards run once per member of each batch, under its locks, before the writes.
        """
        taken = lots_done = 0
        while taken < room:
            size = min(limits.EXPIRY_LOTS_PER_SET_UNIT, room - taken)

            def attempt(size: int = size) -> tuple[ExpiredLots, list[Transaction]]:
                with self._storage.writing(self._program) as unit:
                    writer = cast("SetExpiryUnit", unit)
                    check = None if not self._guards else self._guard_expiry(unit)
                    result = writer.expire_due_lots(now, size, check=check)
                    read = [] if done is None else self._read_back(unit, result.transactions)
                return result, read

            key = f"{EXPIRY_KEY_PREFIX}set"
            result, read = _retrying(attempt, (("command", "expiry"),), key, program=self._program)
            taken += result.taken
            lots_done += len(result.transactions)
            for currency, points in result.points:
                expired[currency] += points
            if done is not None:
                done.extend(read)
            if result.taken < size:
                break
        return taken, lots_done

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
        """Expire due lots in one unit of work, one transaction per lot, written set-based.

        A lot that another run expired meanwhile, or that was spent or clawed back, has no
        free points left under the locks and is skipped: each lot expires exactly once.
        """

        def plan_all(unit: WriteUnit, at: datetime) -> list[Transaction | Plan]:
            wallets = unit.lock_wallets(sorted({(lot.member, lot.currency) for lot in lots}))
            current = {lot.id: lot for lot in unit.lots([lot.id for lot in lots])}
            plans: list[Transaction | Plan] = []
            for lot in lots:
                fresh = current.get(lot.id)
                if fresh is None or fresh.free == 0 or not fresh.is_due(at):
                    continue
                lot_text = str(lot.id)  # the key and the request name it alike
                key = f"{EXPIRY_KEY_PREFIX}{lot_text}"
                wallet = (lot.member, lot.currency)
                booking = Booking(
                    transaction_id=transaction_id_for(key, at),
                    key=key,
                    currency=lot.currency,
                    now=at,
                    wallets={wallet: wallets[wallet]},
                    open_lots=unit.open_lots,
                    extra_lots=[fresh],
                    seal_key=self._seal_key,
                )
                points = booking.expire(lot.id, lot.member)
                plan = booking.finish(
                    kind=TransactionKind.EXPIRY,
                    amount=points,
                    request=_request("expiry", lot=lot_text),
                    reason="lot expired",
                )
                wallets[wallet] = plan.wallets[0]  # the wallet's next expiry starts here
                plans.append(plan)
            return plans

        first = f"{EXPIRY_KEY_PREFIX}{lots[0].id}" if lots else ""
        return self._execute_batch(plan_all, now, command="expiry", key=first)
