"""In-memory storage: the reference adapter, thread-safe, for tests, simulations and demos.

One re-entrant lock serialises every unit of work, like SQLite's single writer, so a unit sees
and locks a consistent state. Writes go straight to the dictionaries and are recorded in an undo
log; a unit that ends with an exception rolls them back, so a unit is all or nothing.

Each wallet's open lots are kept sorted in spending order, so a command reads only as many lots
as it needs, and adding or closing a lot costs a binary search: a member with thousands of lots
costs about as much per command as a member with one.

Nothing survives the process. For data that must survive, use the SQLite or PostgreSQL adapter.

>>> from datetime import UTC, datetime
>>> from pointkit import FixedClock, Ledger
>>> ledger = Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
>>> ledger.earn("alice", 100, key="order-1").amount
100
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeAlias, final

import attrs

from pointkit.exceptions import InvariantViolation, TransientStorageError
from pointkit.features._parts import StoredRuleEvent
from pointkit.ledger._observe import unit_of_work
from pointkit.ledger._outbox import OutboxEvent, sequence_position
from pointkit.ledger._records import (
    AccountId,
    AccountKind,
    HoldStatus,
    Lot,
    Phase,
    TransactionKind,
)
from pointkit.ledger._storage import WalletState
from pointkit.storage._memory_report_rows import MemoryReportRows


if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Iterator, Sequence
    from contextlib import AbstractContextManager
    from datetime import date
    from types import TracebackType

    from pointkit._values import MemberId, ProgramId
    from pointkit.features import CounterKey, RuleEventRecord
    from pointkit.ledger._outbox import NewEvent
    from pointkit.ledger._records import Hold, HoldId, LotId, Transaction, TransactionId
    from pointkit.ledger._storage import Plan, WalletKey
    from pointkit.tiers import TierChange, TierState


__all__ = ["MemoryStorage"]


_MISSING: Final = object()
_NEVER: Final = datetime.max.replace(tzinfo=UTC)
_OpenEntry: TypeAlias = tuple[tuple[bool, "datetime", "datetime", "LotId"], "LotId"]


class _ProgramData:
    """One program's ledger: the journal plus the caches the ledger reads."""

    def __init__(self) -> None:
        self.transactions: dict[TransactionId, Transaction] = {}
        self.keys: dict[str, TransactionId] = {}
        self.reversals: defaultdict[TransactionId, list[TransactionId]] = defaultdict(list)
        self.wallets: dict[WalletKey, WalletState] = {}
        self.history: defaultdict[WalletKey, list[TransactionId]] = defaultdict(list)
        # Each wallet's qualifying earnings in commit order (its earns and the reversals of
        # earns, as ``earned`` sums them), each ``(created_at, running total)``. A tier review
        # after every award reads them, so they are kept beside the history rather than found
        # in it; while they are in time order (``unordered_earnings`` names the wallets where
        # they are not) a sum over a window is two binary searches.
        self.earnings: defaultdict[WalletKey, list[tuple[datetime, int]]] = defaultdict(list)
        self.unordered_earnings: dict[WalletKey, datetime] = {}
        self.lots: dict[LotId, Lot] = {}
        self.wallet_lots: defaultdict[WalletKey, list[LotId]] = defaultdict(list)
        self.open_lots: defaultdict[WalletKey, list[_OpenEntry]] = defaultdict(list)
        # No open lot expires before this instant (``None``: not known): ``due_lots`` skips
        # its pass over every wallet until then, so a daily expiry run on a year of wallets
        # costs a comparison on the days nothing expires. A pass sets it; a lot opened or
        # moved in spending order lowers it; closing a lot leaves it a lower bound, and a
        # rolled-back unit forgets it.
        self.quiet_until: datetime | None = None
        self.holds: dict[HoldId, Hold] = {}
        self.open_holds: dict[HoldId, Hold] = {}
        self.system: dict[tuple[AccountId, Phase], int] = {}
        self.tiers: dict[MemberId, tuple[TierState, int]] = {}
        self.tier_log: defaultdict[MemberId, list[TierChange]] = defaultdict(list)
        # Records in the order saved (a dict keeps insertion order, and undoing a save pops
        # the last one), kept whole: the audit replays their increments.
        self.rule_events: dict[str, RuleEventRecord] = {}
        self.counters: dict[tuple[MemberId, CounterKey], tuple[int, int]] = {}
        self.streaks: dict[tuple[MemberId, str], tuple[date, int]] = {}
        self.budgets: dict[str, int] = {}
        # The outbox: events in commit order (the storage's lock serialises units), the ids
        # stored, each consumer's position (a count of events) and parked events.
        self.events: list[NewEvent] = []
        self.event_ids: dict[uuid.UUID, int] = {}
        self.positions: dict[str, int] = {}
        self.dead: defaultdict[str, list[tuple[uuid.UUID, str]]] = defaultdict(list)


class _MemoryUnit(MemoryReportRows):
    """A unit of work on one program's data; writes are logged so they can be undone."""

    def __init__(self, data: _ProgramData) -> None:
        self._data = data
        # What rolls each write back, newest last: a ``(mapping, key, old value)`` to put back
        # (``_MISSING``: remove the key), which costs less than a closure per write, or a call.
        self._undo: list[tuple[dict[Any, Any], object, object] | Callable[[], object]] = []

    # -- reads -----------------------------------------------------------------------------

    def transaction(self, transaction_id: TransactionId) -> Transaction | None:
        return self._data.transactions.get(transaction_id)

    def transaction_by_key(self, key: str) -> Transaction | None:
        transaction_id = self._data.keys.get(key)
        return None if transaction_id is None else self._data.transactions[transaction_id]

    def reversals_of(self, transaction_id: TransactionId) -> Sequence[Transaction]:
        reversals = self._data.reversals.get(transaction_id, [])
        return [self._data.transactions[reversal] for reversal in reversals]

    def hold(self, hold_id: HoldId) -> Hold | None:
        return self._data.holds.get(hold_id)

    def wallet(self, member: MemberId, currency: str) -> WalletState:
        stored = self._data.wallets.get((member, currency)) or WalletState(member, currency)
        return attrs.evolve(stored, lots=tuple(self.open_lots(member, currency)))

    def open_lots(self, member: MemberId, currency: str) -> Iterator[Lot]:
        entries = self._data.open_lots.get((member, currency), [])
        lots = self._data.lots
        # Nothing is applied while a booking reads (apply comes after planning), so walking
        # the live list is safe, and reads only as far as the caller goes.
        return (lots[lot_id] for _, lot_id in entries)

    def lots(self, lot_ids: Sequence[LotId]) -> Sequence[Lot]:
        return [self._data.lots[lot_id] for lot_id in lot_ids if lot_id in self._data.lots]

    def wallet_lots(self, member: MemberId, currency: str) -> Sequence[Lot]:
        lot_ids = self._data.wallet_lots.get((member, currency), [])
        return sorted((self._data.lots[lot_id] for lot_id in lot_ids), key=Lot.fifo_key)

    def wallet_history(
        self, member: MemberId, currency: str, *, after_version: int, limit: int
    ) -> Sequence[Transaction]:
        history = self._data.history.get((member, currency), [])
        page = history[after_version : after_version + limit]
        return [self._data.transactions[transaction_id] for transaction_id in page]

    def due_holds(self, now: datetime, limit: int) -> Sequence[Hold]:
        due = [hold for hold in self._data.open_holds.values() if hold.expires_at <= now]
        due.sort(key=lambda hold: (hold.expires_at, hold.id))
        return due[:limit]

    def due_lots(self, now: datetime, limit: int) -> Sequence[Lot]:
        data = self._data
        if data.quiet_until is not None and now < data.quiet_until:
            return []
        due: list[tuple[datetime, int, Lot]] = []
        lots = data.lots
        soonest = _NEVER
        for entries in data.open_lots.values():
            # Open lots are in spending order, so the due ones come first; an entry's key
            # starts with (never expires, expires_at): most wallets are passed on their first
            # entry alone. Every wallet's first expiring lot, its soonest, bounds the next
            # pass, due or not (a due lot that is all held now may be free tomorrow).
            if not entries:
                continue
            (never, first, _, _), _ = entries[0]
            if never:
                continue
            soonest = min(soonest, first)
            if first > now:
                continue
            for (never, expires_at, _, _), lot_id in entries:
                if never or expires_at > now:
                    break
                lot = lots[lot_id]
                if lot.free > 0:
                    # The entry's expires_at equals the lot's: what the order compares.
                    due.append((expires_at, lot_id.int, lot))
        data.quiet_until = soonest
        # The first *limit* in (expires_at, id) order; an id orders as its int. Ids are
        # unique, so the lots themselves are never compared.
        return [lot for _, _, lot in heapq.nsmallest(limit, due)]

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
        for (member, code), entries in self._data.open_lots.items():
            if code != currency:
                continue
            # Open lots are in spending order: soonest expiry first, never-expiring last.
            for _, lot_id in entries:
                lot = self._data.lots[lot_id]
                if lot.expires_at is None or lot.expires_at > end:
                    break
                if lot.expires_at > start and lot.free > 0:
                    groups[(lot.expires_at, member)] += lot.free
        found = sorted(
            (at, member, points)
            for (at, member), points in groups.items()
            if after is None or (at, member) > after
        )
        return found[:limit]

    def earned(
        self, member: MemberId, currency: str, since: datetime | None, until: datetime
    ) -> int:
        key = (member, currency)
        entries = self._data.earnings.get(key)
        if not entries:
            return 0
        if key in self._data.unordered_earnings:
            total = before = 0
            for at, running in entries:
                if at < until and (since is None or at >= since):
                    total += running - before
                before = running
            return total
        # (instant,) sorts before every entry (instant, running total) at that instant and
        # after those before it: the first entry at or after the instant, with no key calls.
        end = bisect.bisect_left(entries, (until,))
        start = 0 if since is None else bisect.bisect_left(entries, (since,))
        if end <= start:
            return 0
        return entries[end - 1][1] - (entries[start - 1][1] if start else 0)

    def tier(self, member: MemberId) -> tuple[TierState, int] | None:
        return self._data.tiers.get(member)

    def tier_changes(self, member: MemberId, *, limit: int) -> Sequence[TierChange]:
        return list(self._data.tier_log.get(member, [])[-limit:])

    def rule_event(self, event_id: str) -> str | None:
        record = self._data.rule_events.get(event_id)
        return None if record is None else record.decision

    def counters(
        self, member: MemberId, keys: Sequence[CounterKey]
    ) -> dict[CounterKey, tuple[int, int]]:
        stored = self._data.counters
        return {key: found for key in keys if (found := stored.get((member, key))) is not None}

    def streaks(self, member: MemberId, rules: Sequence[str]) -> dict[str, tuple[date, int]]:
        stored = self._data.streaks
        return {rule: found for rule in rules if (found := stored.get((member, rule))) is not None}

    def budgets(self, names: Sequence[str]) -> dict[str, int]:
        stored = self._data.budgets
        return {name: found for name in names if (found := stored.get(name)) is not None}

    def system_balance(self, account: AccountId) -> tuple[int, int]:
        return (
            self._data.system.get((account, Phase.POSTED), 0),
            self._data.system.get((account, Phase.PENDING), 0),
        )

    def all_transactions(self) -> Iterator[Transaction]:
        return iter(list(self._data.transactions.values()))

    def all_wallets(self) -> Iterator[WalletState]:
        return iter(list(self._data.wallets.values()))

    def all_lots(self) -> Iterator[Lot]:
        return iter(list(self._data.lots.values()))

    def all_holds(self) -> Iterator[Hold]:
        return iter(list(self._data.holds.values()))

    def all_rule_events(self) -> Iterator[StoredRuleEvent]:
        records = list(self._data.rule_events.values())
        return (StoredRuleEvent(record, has_effects=True) for record in records)

    def all_counters(self) -> Iterator[tuple[MemberId, CounterKey, int, int]]:
        return iter(
            [
                (member, key, points, tasks)
                for (member, key), (points, tasks) in self._data.counters.items()
            ]
        )

    def all_streaks(self) -> Iterator[tuple[MemberId, str, date, int]]:
        return iter(
            [
                (member, rule, day, length)
                for (member, rule), (day, length) in self._data.streaks.items()
            ]
        )

    def all_budgets(self) -> Iterator[tuple[str, int]]:
        return iter(list(self._data.budgets.items()))

    def all_tiers(self) -> Iterator[tuple[TierState, int]]:
        return iter(list(self._data.tiers.values()))

    def all_tier_changes(self) -> Iterator[TierChange]:
        return iter([change for log in self._data.tier_log.values() for change in log])

    # -- writes ----------------------------------------------------------------------------

    def lock_wallets(self, keys: Sequence[WalletKey]) -> dict[WalletKey, WalletState]:
        # The storage lock is held for the whole unit: locking is reading the rows.
        wallets = self._data.wallets
        if type(keys) is list and len(keys) == 1:  # most units lock one wallet: no sort
            (key,) = keys
            return {key: wallets.get(key) or WalletState(*key)}
        return {key: wallets.get(key) or WalletState(*key) for key in sorted(set(keys))}

    def _set(self, mapping: dict[Any, Any], key: object, value: object) -> None:
        self._undo.append((mapping, key, mapping.get(key, _MISSING)))
        mapping[key] = value

    def _delete(self, mapping: dict[Any, Any], key: object) -> None:
        if key in mapping:
            self._undo.append((mapping, key, mapping.pop(key)))

    def _append(self, items: list[Any], item: object) -> None:
        items.append(item)
        self._undo.append(items.pop)

    def save_tier(self, state: TierState, changes: Sequence[TierChange], *, version: int) -> None:
        stored = self._data.tiers.get(state.member)
        if (0 if stored is None else stored[1]) != version - 1:
            raise TransientStorageError(
                f"the tier state of {str(state.member)!r} changed meanwhile; review it again"
            )
        self._set(self._data.tiers, state.member, (state, version))
        log = self._data.tier_log[state.member]
        for change in changes:
            self._append(log, change)

    def lock_budgets(self, names: Sequence[str]) -> dict[str, int]:
        # The storage lock is held for the whole unit: locking is reading the rows.
        budgets = self._data.budgets
        if not names:
            return {}
        ordered = sorted(set(names))
        for name in ordered:
            if name not in budgets:
                self._set(budgets, name, 0)
        return {name: budgets[name] for name in ordered}

    def save_rule_event(self, record: RuleEventRecord) -> None:
        data = self._data
        if record.event_id in data.rule_events:
            raise TransientStorageError(
                f"event {record.event_id!r} was recorded meanwhile; look it up again"
            )
        self._set(data.rule_events, record.event_id, record)
        for key, points, tasks in record.counters:
            slot = (record.member, key)
            before = data.counters.get(slot)
            if tasks < 0 and (before is None or before[1] + tasks < 0):
                raise InvariantViolation(f"counter {key} of {record.member!r} would go below 0")
            points_before, tasks_before = before or (0, 0)
            self._set(data.counters, slot, (points_before + points, tasks_before + tasks))
        for rule, day, length in record.streaks:
            self._set(data.streaks, (record.member, rule), (day, length))
        for name, points in record.budgets:
            used = data.budgets.get(name)
            if points < 0 and (used is None or used + points < 0):
                raise InvariantViolation(f"budget {name} would go below 0")
            self._set(data.budgets, name, (used or 0) + points)

    def apply(self, plan: Plan) -> None:
        self._check(plan)
        data = self._data
        transaction = plan.transaction
        self._set(data.transactions, transaction.id, transaction)
        self._set(data.keys, transaction.key, transaction.id)
        if transaction.kind is TransactionKind.REVERSAL and transaction.reverses is not None:
            self._append(data.reversals[transaction.reverses], transaction.id)
        earning = self._qualifies(transaction)
        for state in plan.wallets:
            self._set(data.wallets, state.key, state)
            self._append(data.history[state.key], transaction.id)
            if earning:
                self._earn(state.key, transaction)
        for lot in plan.lots:
            self._apply_lot(lot)
        self._extend(transaction)
        for hold in plan.holds:
            self._set(data.holds, hold.id, hold)
            if hold.status is HoldStatus.OPEN:
                self._set(data.open_holds, hold.id, hold)
            else:
                self._delete(data.open_holds, hold.id)
        for posting in transaction.postings:
            if posting.account.kind is not AccountKind.MEMBER:
                slot = (posting.account, posting.phase)
                self._set(data.system, slot, data.system.get(slot, 0) + posting.amount)

    def _extend(self, transaction: Transaction) -> None:
        """Move the expiry of the open lots *transaction*'s expiry extensions apply to."""
        data = self._data
        for extension in transaction.expiry_extensions:
            key = (extension.member, extension.currency)
            moved = [
                lot
                for _, lot_id in data.open_lots.get(key, [])
                if extension.applies_to(lot := data.lots[lot_id], transaction.created_at)
            ]
            for lot in moved:
                self._apply_lot(attrs.evolve(lot, expires_at=extension.expires_at))

    def _earn(self, key: WalletKey, transaction: Transaction) -> None:
        """Add *transaction*'s posting to wallet *key* to the wallet's earnings."""
        data = self._data
        entries = data.earnings[key]
        # What transaction.posted_to(AccountId.wallet(*key)) sums, without building the id.
        wallet = (AccountKind.MEMBER, key[1], key[0])
        points = sum(
            posting.amount
            for posting in transaction.postings
            if (posting.account.kind, posting.account.currency, posting.account.member) == wallet
            and posting.phase is Phase.POSTED
        )
        at = transaction.created_at
        if entries and at < entries[-1][0] and key not in data.unordered_earnings:
            self._set(data.unordered_earnings, key, at)  # a clock that went back
        self._append(entries, (at, (entries[-1][1] if entries else 0) + points))

    def _qualifies(self, transaction: Transaction) -> bool:
        """Whether *transaction* counts in ``earned``: an earn, or a reversal of one."""
        return transaction.kind is TransactionKind.EARN or (
            transaction.kind is TransactionKind.REVERSAL
            and transaction.reverses is not None
            and self._data.transactions[transaction.reverses].kind is TransactionKind.EARN
        )

    def _apply_lot(self, lot: Lot) -> None:
        data = self._data
        key = (lot.member, lot.currency)
        previous = data.lots.get(lot.id)
        if previous is None:
            self._append(data.wallet_lots[key], lot.id)
        self._set(data.lots, lot.id, lot)
        entries = data.open_lots[key]
        if previous is not None and previous.remaining > 0:
            if lot.remaining > 0 and previous.expires_at == lot.expires_at:
                return  # still open, in the same place in spending order
            old: _OpenEntry = (previous.fifo_key(), previous.id)
            del entries[bisect.bisect_left(entries, old)]
            self._undo.append(lambda: bisect.insort(entries, old))
        if lot.remaining > 0:
            new: _OpenEntry = (lot.fifo_key(), lot.id)
            if not entries or entries[-1] < new:
                entries.append(new)  # where insort puts it: a new lot mostly expires last
            else:
                bisect.insort(entries, new)
            self._undo.append(lambda: entries.remove(new))
            quiet = data.quiet_until
            if lot.expires_at is not None and quiet is not None and lot.expires_at < quiet:
                data.quiet_until = lot.expires_at

    def _check(self, plan: Plan) -> None:
        """Check a plan against the stored state before changing anything."""
        data = self._data
        transaction = plan.transaction
        if transaction.key in data.keys or transaction.id in data.transactions:
            raise InvariantViolation(
                f"transaction {transaction.id} (key {transaction.key!r}) is already stored"
            )
        for state in plan.wallets:
            stored = data.wallets.get(state.key)
            expected = 1 if stored is None else stored.version + 1
            if state.version != expected:
                raise InvariantViolation(
                    f"wallet {state.key} would go to version {state.version}, expected {expected}"
                )

    def rollback(self) -> None:
        if self._undo:
            self._data.quiet_until = None  # lots may come back open: ``due_lots`` looks again
        while self._undo:
            entry = self._undo.pop()
            if not isinstance(entry, tuple):
                entry()
                continue
            mapping, key, old = entry
            if old is _MISSING:
                del mapping[key]
            else:
                mapping[key] = old


@final
class _OutboxMemoryUnit(_MemoryUnit):
    """A unit of work with the outbox part: what ``MemoryStorage()`` opens by default."""

    # -- the outbox part ---------------------------------------------------------------------

    def append_events(self, events: Sequence[NewEvent]) -> int:
        data = self._data
        stored = 0
        for event in events:
            if event.id not in data.event_ids:
                self._set(data.event_ids, event.id, len(data.events) + 1)
                self._append(data.events, event)
                stored += 1
        return stored

    def _outbox_event(self, position: int) -> OutboxEvent:
        new = self._data.events[position - 1]
        return OutboxEvent(
            new.id, new.type, new.version, "", new.occurred_at, dict(new.data), str(position)
        )

    def events_after(self, position: str, limit: int) -> Sequence[OutboxEvent]:
        start = sequence_position(position)
        end = min(len(self._data.events), start + limit)
        return [self._outbox_event(index) for index in range(start + 1, end + 1)]

    def all_events(self) -> Sequence[OutboxEvent]:
        return [self._outbox_event(index) for index in range(1, len(self._data.events) + 1)]

    def outbox_position(self, consumer: str) -> str:
        position = self._data.positions.get(consumer)
        return "" if position is None else str(position)

    def set_outbox_position(self, consumer: str, position: str) -> None:
        moved = sequence_position(position)
        if moved > self._data.positions.get(consumer, 0):
            self._set(self._data.positions, consumer, moved)

    def add_dead_letter(
        self,
        consumer: str,
        event: OutboxEvent,
        reason: str,
        at: datetime,  # noqa: ARG002 - parked in order; the reference keeps no times
    ) -> None:
        parked = self._data.dead[consumer]
        if all(event_id != event.id for event_id, _ in parked):
            self._append(parked, (event.id, reason))

    def dead_letters(self, consumer: str) -> Sequence[tuple[OutboxEvent, str]]:
        return [
            (self._outbox_event(self._data.event_ids[event_id]), reason)
            for event_id, reason in self._data.dead.get(consumer, [])
        ]


@final
class _Opened:
    """A unit of work while it is open: the storage's lock is held from enter to exit.

    A plain context manager, not a generator: every recorded event opens two or three.
    """

    __slots__ = ("_program", "_storage", "_unit", "_write")

    def __init__(self, storage: MemoryStorage, program: ProgramId, *, write: bool) -> None:
        self._storage = storage
        self._program = program
        self._write = write
        self._unit: _MemoryUnit | None = None

    def __enter__(self) -> _MemoryUnit:
        storage = self._storage
        storage._lock.acquire()  # noqa: SLF001 - the storage's own helper
        try:
            unit = self._unit = storage._unit(storage._data(self._program))  # noqa: SLF001 - the same
        except BaseException:
            storage._lock.release()  # noqa: SLF001 - the same
            raise
        return unit

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if kind is not None and self._write and self._unit is not None:
                self._unit.rollback()
        finally:
            self._unit = None
            self._storage._lock.release()  # noqa: SLF001 - the storage's own helper


@final
class MemoryStorage:
    """Storage in process memory: the reference adapter. Thread-safe; nothing is persisted.

    Args:
        outbox: Whether its units have the outbox part, so that every change writes its event
            (the default). A simulation that reads no events passes ``False`` and skips the
            work of building them.
    """

    def __init__(self, *, outbox: bool = True) -> None:
        self._lock = threading.RLock()
        self._programs: dict[ProgramId, _ProgramData] = {}
        self._unit: type[_MemoryUnit] = _OutboxMemoryUnit if outbox else _MemoryUnit

    def _data(self, program: ProgramId) -> _ProgramData:
        data = self._programs.get(program)
        if data is None:
            data = self._programs[program] = _ProgramData()
        return data

    @unit_of_work("memory", "read")
    def reading(self, program: ProgramId) -> AbstractContextManager[_MemoryUnit]:
        """Begin a consistent read of *program*'s ledger."""
        return _Opened(self, program, write=False)

    @unit_of_work("memory", "write")
    def writing(self, program: ProgramId) -> AbstractContextManager[_MemoryUnit]:
        """Begin a unit of work on *program*'s ledger; an exception rolls it back."""
        return _Opened(self, program, write=True)

    def __repr__(self) -> str:
        return f"MemoryStorage(programs={len(self._programs)})"
