"""SQLite storage: the embedded default. A file path is all it needs.

Maintainer's notes
------------------
SQLite has one writer at a time, so a write unit starts with ``BEGIN IMMEDIATE``: it takes the
database's write lock at once, which serialises units across threads and processes (no row locks
are needed, and ``lock_wallets`` only reads the rows). Starting a write deferred and upgrading
later can fail with ``SQLITE_BUSY`` even with a busy timeout; immediate never does. Reads use a
deferred transaction, which in WAL mode reads a consistent snapshot while writers go on.

The journal is WAL with ``synchronous=FULL`` by default: a committed unit survives a crash and a
power loss. ``synchronous="NORMAL"`` is faster and still never corrupts the database, but the
last commits before a power loss may roll back; choose it only where that is acceptable.

The database enforces what it can by itself: posted rows (transactions, postings, wallet
entries) are append-only through triggers, a transaction's postings must balance before its row
is inserted (a trigger sums them), lots and wallets carry CHECK constraints, and
``(program_id, idempotency_key)`` is unique. Each thread gets its own connection.

>>> import tempfile, pathlib
>>> from datetime import UTC, datetime
>>> from pointkit import FixedClock, Ledger
>>> path = pathlib.Path(tempfile.mkdtemp()) / "points.db"
>>> ledger = Ledger(SQLiteStorage(path), clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
>>> ledger.earn("alice", 100, key="order-1").amount
100
>>> Ledger(SQLiteStorage(path), clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC))).balance("alice").posted
100
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
import weakref
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Literal, final

from pointkit._values import MemberId
from pointkit.exceptions import (
    InvalidArgumentError,
    InvariantViolation,
    SchemaVersionError,
    StorageError,
    TransientStorageError,
)
from pointkit.ledger._codec import (
    checked_document,
    checked_hold,
    checked_lot,
    checked_tier,
    checked_tier_change,
    checked_wallet,
    checksum,
    decode_allocations,
    decode_transaction,
    encode_allocations,
    encode_transaction,
    from_micros,
    to_micros,
)
from pointkit.ledger._records import (
    Hold,
    HoldId,
    HoldStatus,
    Lot,
    LotId,
    Phase,
    TransactionId,
)
from pointkit.ledger._storage import WalletState


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime

    from pointkit._values import ProgramId
    from pointkit.ledger._records import AccountId, Transaction
    from pointkit.ledger._storage import CounterKey, Plan, RuleEventRecord, WalletKey
    from pointkit.tiers import TierChange, TierState


__all__ = ["SCHEMA_VERSION", "SQLiteStorage"]

SCHEMA_VERSION: Final = 3
"""The schema version this version of pointkit writes and reads."""

_NEVER: Final = 2**63 - 1  # sorts after every real expiry
_PAGE: Final = 128  # lots read per page while walking a wallet
_IN_MAX: Final = 500  # ids per IN (...) list

_APPEND_ONLY = """
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'pointkit: {table} is append-only'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, 'pointkit: {table} is append-only'); END;
"""

_MIGRATIONS: Final[dict[int, str]] = {
    1: """
CREATE TABLE pk_txn (
    program_id TEXT NOT NULL,
    txn_id BLOB NOT NULL,
    idem_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    reverses BLOB,
    body TEXT NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (program_id, txn_id),
    UNIQUE (program_id, idem_key)
) STRICT;
CREATE INDEX pk_txn_reverses ON pk_txn (program_id, reverses) WHERE reverses IS NOT NULL;
CREATE TABLE pk_posting (
    program_id TEXT NOT NULL,
    txn_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    account_kind TEXT NOT NULL,
    member TEXT,
    currency TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('posted', 'pending')),
    amount INTEGER NOT NULL CHECK (amount <> 0),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (program_id, txn_id, seq)
) STRICT;
CREATE INDEX pk_posting_account ON pk_posting (program_id, account_kind, currency, phase);
CREATE TRIGGER pk_txn_balanced BEFORE INSERT ON pk_txn
WHEN EXISTS (
    SELECT 1 FROM pk_posting
    WHERE program_id = NEW.program_id AND txn_id = NEW.txn_id
    GROUP BY phase HAVING SUM(amount) <> 0
)
BEGIN SELECT RAISE(ABORT, 'pointkit: the postings of a transaction must sum to zero'); END;
CREATE TABLE pk_entry (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    version INTEGER NOT NULL,
    txn_id BLOB NOT NULL,
    posted INTEGER NOT NULL,
    held INTEGER NOT NULL,
    debt INTEGER NOT NULL,
    posted_change INTEGER NOT NULL,
    PRIMARY KEY (program_id, member, currency, version)
) STRICT;
CREATE TABLE pk_wallet (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    posted INTEGER NOT NULL,
    held INTEGER NOT NULL CHECK (held >= 0),
    debt INTEGER NOT NULL CHECK (debt >= 0),
    PRIMARY KEY (program_id, member, currency)
) STRICT;
CREATE TABLE pk_lot (
    program_id TEXT NOT NULL,
    lot_id BLOB NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    remaining INTEGER NOT NULL,
    held INTEGER NOT NULL,
    expired INTEGER NOT NULL CHECK (expired >= 0),
    earned_at INTEGER NOT NULL,
    available_at INTEGER NOT NULL,
    expires_at INTEGER,
    expiry_order INTEGER NOT NULL
        GENERATED ALWAYS AS (COALESCE(expires_at, 9223372036854775807)) VIRTUAL,
    source BLOB NOT NULL,
    PRIMARY KEY (program_id, lot_id),
    CHECK (0 <= held AND held <= remaining),
    CHECK (remaining + expired <= amount)
) STRICT;
CREATE INDEX pk_lot_open ON pk_lot (program_id, member, currency, expiry_order, available_at, lot_id)
    WHERE remaining > 0;
CREATE INDEX pk_lot_due ON pk_lot (program_id, expires_at, lot_id)
    WHERE remaining > held AND expires_at IS NOT NULL;
CREATE TABLE pk_hold (
    program_id TEXT NOT NULL,
    hold_id BLOB NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    allocations TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
    captured INTEGER NOT NULL,
    resolved_by BLOB,
    PRIMARY KEY (program_id, hold_id)
) STRICT;
CREATE INDEX pk_hold_open ON pk_hold (program_id, expires_at, hold_id) WHERE status = 'open';
"""
    + "".join(_APPEND_ONLY.format(table=table) for table in ("pk_txn", "pk_posting", "pk_entry")),
    2: """
ALTER TABLE pk_lot ADD COLUMN follows_activity INTEGER NOT NULL DEFAULT 0
    CHECK (follows_activity IN (0, 1));
CREATE INDEX pk_lot_expiring ON pk_lot (program_id, expires_at, member, currency, lot_id)
    WHERE remaining > 0 AND expires_at IS NOT NULL;
CREATE INDEX pk_posting_member ON pk_posting (program_id, member, currency, created_at)
    WHERE member IS NOT NULL;
CREATE TABLE pk_tier (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    tier TEXT NOT NULL,
    since INTEGER NOT NULL,
    next_review INTEGER,
    grace_until INTEGER,
    never_downgrade INTEGER NOT NULL CHECK (never_downgrade IN (0, 1)),
    PRIMARY KEY (program_id, member)
) STRICT;
CREATE TABLE pk_tier_change (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    from_tier TEXT,
    to_tier TEXT NOT NULL,
    reason TEXT NOT NULL,
    metric INTEGER,
    PRIMARY KEY (program_id, member, seq)
) STRICT;
"""
    + _APPEND_ONLY.format(table="pk_tier_change"),
    3: """
CREATE TABLE pk_rule_event (
    program_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    member TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    decision TEXT NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (program_id, event_id)
) STRICT;
CREATE TABLE pk_counter (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    points INTEGER NOT NULL,
    tasks INTEGER NOT NULL CHECK (tasks >= 0),
    PRIMARY KEY (program_id, member, scope, period)
) STRICT;
CREATE TABLE pk_streak (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    rule TEXT NOT NULL,
    last_day TEXT NOT NULL,
    length INTEGER NOT NULL CHECK (length > 0),
    PRIMARY KEY (program_id, member, rule)
) STRICT;
CREATE TABLE pk_budget (
    program_id TEXT NOT NULL,
    name TEXT NOT NULL,
    used INTEGER NOT NULL CHECK (used >= 0),
    PRIMARY KEY (program_id, name)
) STRICT;
"""
    + _APPEND_ONLY.format(table="pk_rule_event"),
}

_LOT_COLUMNS = (
    "lot_id, member, currency, amount, remaining, held, expired, earned_at, available_at, "
    "expires_at, source, follows_activity"
)
_HOLD_COLUMNS = (
    "hold_id, member, currency, amount, created_at, expires_at, allocations, status, captured, "
    "resolved_by"
)
_BUSY = ("database is locked", "database table is locked", "database is busy")


def _storage_error(error: sqlite3.Error) -> StorageError:
    """Translate a sqlite3 error: busy and locked are transient, the rest are not."""
    message = f"SQLite: {error}"
    if isinstance(error, sqlite3.OperationalError) and any(text in str(error) for text in _BUSY):
        return TransientStorageError(message)
    if isinstance(error, sqlite3.IntegrityError) and "pointkit:" in str(error):
        raise InvariantViolation(message) from error
    return StorageError(message)


def _uuid(value: object) -> uuid.UUID:
    if not isinstance(value, bytes) or len(value) != 16:  # noqa: PLR2004 - a UUID's size
        raise InvariantViolation(f"a stored id {value!r} is not 16 bytes")
    return uuid.UUID(bytes=value)


def _lot(row: tuple[Any, ...]) -> Lot:
    (
        lot_id,
        member,
        currency,
        amount,
        remaining,
        held,
        expired,
        earned,
        available,
        expires,
        source,
        follows_activity,
    ) = row
    return checked_lot(
        Lot(
            id=LotId(_uuid(lot_id)),
            member=MemberId(member),
            currency=currency,
            amount=amount,
            remaining=remaining,
            held=held,
            expired=expired,
            earned_at=from_micros(earned),
            available_at=from_micros(available),
            expires_at=None if expires is None else from_micros(expires),
            source=TransactionId(_uuid(source)),
            follows_activity=bool(follows_activity),
        )
    )


def _hold(row: tuple[Any, ...]) -> Hold:
    (
        hold_id,
        member,
        currency,
        amount,
        created,
        expires,
        allocations,
        status,
        captured,
        resolved_by,
    ) = row
    return checked_hold(
        Hold(
            id=HoldId(_uuid(hold_id)),
            member=MemberId(member),
            currency=currency,
            amount=amount,
            created_at=from_micros(created),
            expires_at=from_micros(expires),
            allocations=decode_allocations(allocations),
            status=HoldStatus(status),
            captured=captured,
            resolved_by=None if resolved_by is None else TransactionId(_uuid(resolved_by)),
        )
    )


def _wallet(program_row: tuple[Any, ...]) -> WalletState:
    member, currency, version, posted, held, debt = program_row
    return checked_wallet(WalletState(MemberId(member), currency, version, posted, held, debt))


def _transaction(row: tuple[Any, ...] | None) -> Transaction | None:
    return None if row is None else decode_transaction(row[0], row[1])


@final
class _SQLiteUnit:
    """A unit of work on one connection inside an open SQLite transaction."""

    def __init__(self, connection: sqlite3.Connection, program: ProgramId) -> None:
        self._db = connection
        self._program = str(program)

    def _one(self, sql: str, *args: object) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(sql, (self._program, *args)).fetchone()
        return row

    def _all(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, (self._program, *args)).fetchall()

    # -- reads -----------------------------------------------------------------------------

    def transaction(self, transaction_id: TransactionId) -> Transaction | None:
        return _transaction(
            self._one(
                "SELECT body, checksum FROM pk_txn WHERE program_id = ? AND txn_id = ?",
                transaction_id.bytes,
            )
        )

    def transaction_by_key(self, key: str) -> Transaction | None:
        return _transaction(
            self._one(
                "SELECT body, checksum FROM pk_txn WHERE program_id = ? AND idem_key = ?", key
            )
        )

    def reversals_of(self, transaction_id: TransactionId) -> Sequence[Transaction]:
        rows = self._all(
            "SELECT body, checksum FROM pk_txn WHERE program_id = ? AND reverses = ?",
            transaction_id.bytes,
        )
        return [decode_transaction(body, digest) for body, digest in rows]

    def hold(self, hold_id: HoldId) -> Hold | None:
        row = self._one(
            f"SELECT {_HOLD_COLUMNS} FROM pk_hold WHERE program_id = ? AND hold_id = ?",
            hold_id.bytes,
        )
        return None if row is None else _hold(row)

    def _wallet_row(self, member: MemberId, currency: str) -> WalletState:
        row = self._one(
            "SELECT member, currency, version, posted, held, debt FROM pk_wallet "
            "WHERE program_id = ? AND member = ? AND currency = ?",
            str(member),
            currency,
        )
        return WalletState(member, currency) if row is None else _wallet(row)

    def wallet(self, member: MemberId, currency: str) -> WalletState:
        state = self._wallet_row(member, currency)
        return WalletState(
            state.member,
            state.currency,
            state.version,
            state.posted,
            state.held,
            state.debt,
            tuple(self.open_lots(member, currency)),
        )

    def open_lots(self, member: MemberId, currency: str) -> Iterator[Lot]:
        # Keyset pages in spending order: each page is read whole, so no cursor stays open
        # while the booking works, and a walk that stops early reads one page.
        after: tuple[int, int, bytes] = (-(2**63), -(2**63), b"")
        while True:
            rows = self._all(
                f"SELECT {_LOT_COLUMNS}, expiry_order FROM pk_lot "
                "WHERE program_id = ? AND member = ? AND currency = ? AND remaining > 0 "
                "AND (expiry_order, available_at, lot_id) > (?, ?, ?) "
                "ORDER BY expiry_order, available_at, lot_id LIMIT ?",
                str(member),
                currency,
                *after,
                _PAGE,
            )
            for row in rows:
                yield _lot(row[:12])
            if len(rows) < _PAGE:
                return
            last = rows[-1]
            after = (last[12], last[8], last[0])

    def lots(self, lot_ids: Sequence[LotId]) -> Sequence[Lot]:
        found: list[Lot] = []
        for start in range(0, len(lot_ids), _IN_MAX):
            chunk = [lot_id.bytes for lot_id in lot_ids[start : start + _IN_MAX]]
            marks = ", ".join("?" * len(chunk))
            rows = self._all(
                f"SELECT {_LOT_COLUMNS} FROM pk_lot WHERE program_id = ? AND lot_id IN ({marks})",
                *chunk,
            )
            found.extend(_lot(row) for row in rows)
        return found

    def wallet_lots(self, member: MemberId, currency: str) -> Sequence[Lot]:
        rows = self._all(
            f"SELECT {_LOT_COLUMNS} FROM pk_lot WHERE program_id = ? AND member = ? "
            "AND currency = ? ORDER BY expiry_order, available_at, lot_id",
            str(member),
            currency,
        )
        return [_lot(row) for row in rows]

    def wallet_history(
        self, member: MemberId, currency: str, *, after_version: int, limit: int
    ) -> Sequence[Transaction]:
        rows = self._all(
            "SELECT t.body, t.checksum FROM pk_entry AS e JOIN pk_txn AS t "
            "ON t.program_id = e.program_id AND t.txn_id = e.txn_id "
            "WHERE e.program_id = ? AND e.member = ? AND e.currency = ? AND e.version > ? "
            "ORDER BY e.version LIMIT ?",
            str(member),
            currency,
            after_version,
            limit,
        )
        return [decode_transaction(body, digest) for body, digest in rows]

    def due_holds(self, now: datetime, limit: int) -> Sequence[Hold]:
        rows = self._all(
            f"SELECT {_HOLD_COLUMNS} FROM pk_hold WHERE program_id = ? AND status = 'open' "
            "AND expires_at <= ? ORDER BY expires_at, hold_id LIMIT ?",
            to_micros(now),
            limit,
        )
        return [_hold(row) for row in rows]

    def due_lots(self, now: datetime, limit: int) -> Sequence[Lot]:
        rows = self._all(
            f"SELECT {_LOT_COLUMNS} FROM pk_lot WHERE program_id = ? AND remaining > held "
            "AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, lot_id LIMIT ?",
            to_micros(now),
            limit,
        )
        return [_lot(row) for row in rows]

    def expiring(
        self,
        currency: str,
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, MemberId] | None,
        limit: int,
    ) -> Sequence[tuple[datetime, MemberId, int]]:
        cursor = (to_micros(start), "") if after is None else (to_micros(after[0]), after[1])
        rows = self._all(
            "SELECT expires_at, member, SUM(remaining - held) FROM pk_lot "
            "WHERE program_id = ? AND currency = ? AND remaining > held "
            "AND expires_at > ? AND expires_at <= ? AND (expires_at, member) > (?, ?) "
            "GROUP BY expires_at, member ORDER BY expires_at, member LIMIT ?",
            currency,
            to_micros(start),
            to_micros(end),
            *cursor,
            limit,
        )
        return [(from_micros(at), MemberId(member), int(points)) for at, member, points in rows]

    def earned(
        self, member: MemberId, currency: str, since: datetime | None, until: datetime
    ) -> int:
        row = self._one(
            "SELECT COALESCE(SUM(p.amount), 0) FROM pk_posting AS p JOIN pk_txn AS t "
            "ON t.program_id = p.program_id AND t.txn_id = p.txn_id "
            "WHERE p.program_id = ? AND p.member = ? AND p.currency = ? "
            "AND p.account_kind = 'member' AND p.phase = 'posted' "
            "AND p.created_at >= ? AND p.created_at < ? AND (t.kind = 'earn' OR "
            "(t.kind = 'reversal' AND EXISTS (SELECT 1 FROM pk_txn AS o "
            "WHERE o.program_id = t.program_id AND o.txn_id = t.reverses AND o.kind = 'earn')))",
            str(member),
            currency,
            -(2**63) if since is None else to_micros(since),
            to_micros(until),
        )
        return 0 if row is None else int(row[0])

    def tier(self, member: MemberId) -> tuple[TierState, int] | None:
        row = self._one(
            "SELECT version, tier, since, next_review, grace_until, never_downgrade FROM pk_tier "
            "WHERE program_id = ? AND member = ?",
            str(member),
        )
        if row is None:
            return None
        version, tier, since, review, grace, never = row
        state = checked_tier(
            str(member),
            tier,
            from_micros(since),
            None if review is None else from_micros(review),
            None if grace is None else from_micros(grace),
            bool(never),
        )
        return state, int(version)

    def tier_changes(self, member: MemberId, *, limit: int) -> Sequence[TierChange]:
        rows = self._all(
            "SELECT at, from_tier, to_tier, reason, metric FROM pk_tier_change "
            "WHERE program_id = ? AND member = ? ORDER BY seq DESC LIMIT ?",
            str(member),
            limit,
        )
        return [
            checked_tier_change(str(member), from_micros(at), old, new, reason, metric)
            for at, old, new, reason, metric in reversed(rows)
        ]

    def rule_event(self, event_id: str) -> str | None:
        row = self._one(
            "SELECT decision, checksum FROM pk_rule_event WHERE program_id = ? AND event_id = ?",
            event_id,
        )
        return None if row is None else checked_document(row[0], row[1], f"event {event_id!r}")

    def counters(
        self, member: MemberId, keys: Sequence[CounterKey]
    ) -> dict[CounterKey, tuple[int, int]]:
        found: dict[CounterKey, tuple[int, int]] = {}
        for scope, period in keys:
            row = self._one(
                "SELECT points, tasks FROM pk_counter WHERE program_id = ? AND member = ? "
                "AND scope = ? AND period = ?",
                str(member),
                scope,
                period,
            )
            if row is not None:
                found[(scope, period)] = (int(row[0]), int(row[1]))
        return found

    def streaks(self, member: MemberId, rules: Sequence[str]) -> dict[str, tuple[date, int]]:
        found: dict[str, tuple[date, int]] = {}
        for rule in rules:
            row = self._one(
                "SELECT last_day, length FROM pk_streak WHERE program_id = ? AND member = ? "
                "AND rule = ?",
                str(member),
                rule,
            )
            if row is not None:
                found[rule] = (date.fromisoformat(row[0]), int(row[1]))
        return found

    def budgets(self, names: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for name in names:
            row = self._one("SELECT used FROM pk_budget WHERE program_id = ? AND name = ?", name)
            if row is not None:
                found[name] = int(row[0])
        return found

    def system_balance(self, account: AccountId) -> tuple[int, int]:
        rows = self._all(
            "SELECT phase, SUM(amount) FROM pk_posting WHERE program_id = ? AND account_kind = ? "
            "AND currency = ? GROUP BY phase",
            account.kind.value,
            account.currency,
        )
        sums = dict(rows)
        return (sums.get(Phase.POSTED.value, 0), sums.get(Phase.PENDING.value, 0))

    def all_transactions(self) -> Iterator[Transaction]:
        rows = self._all("SELECT body, checksum FROM pk_txn WHERE program_id = ?")
        return (decode_transaction(body, digest) for body, digest in rows)

    def all_wallets(self) -> Iterator[WalletState]:
        rows = self._all(
            "SELECT member, currency, version, posted, held, debt FROM pk_wallet "
            "WHERE program_id = ?"
        )
        return (_wallet(row) for row in rows)

    def all_lots(self) -> Iterator[Lot]:
        rows = self._all(f"SELECT {_LOT_COLUMNS} FROM pk_lot WHERE program_id = ?")
        return (_lot(row) for row in rows)

    def all_holds(self) -> Iterator[Hold]:
        rows = self._all(f"SELECT {_HOLD_COLUMNS} FROM pk_hold WHERE program_id = ?")
        return (_hold(row) for row in rows)

    # -- writes ----------------------------------------------------------------------------

    def lock_wallets(self, keys: Sequence[WalletKey]) -> dict[WalletKey, WalletState]:
        # BEGIN IMMEDIATE already holds the database's write lock: locking is reading the rows.
        return {key: self._wallet_row(*key) for key in sorted(set(keys))}

    def lock_budgets(self, names: Sequence[str]) -> dict[str, int]:
        # BEGIN IMMEDIATE already holds the database's write lock: locking is reading the rows.
        wanted = sorted(set(names))
        self._db.executemany(
            "INSERT INTO pk_budget (program_id, name, used) VALUES (?, ?, 0) "
            "ON CONFLICT (program_id, name) DO NOTHING",
            [(self._program, name) for name in wanted],
        )
        return self.budgets(wanted)

    def save_rule_event(self, record: RuleEventRecord) -> None:
        program, member = self._program, str(record.member)
        if self.rule_event(record.event_id) is not None:
            raise TransientStorageError(
                f"event {record.event_id!r} was recorded meanwhile; look it up again"
            )
        self._db.execute(
            "INSERT INTO pk_rule_event (program_id, event_id, member, kind, at, decision, "
            "checksum) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                program,
                record.event_id,
                member,
                record.kind,
                to_micros(record.at),
                record.decision,
                checksum(record.decision),
            ),
        )
        counter_adds, counter_takes = record.split_counters()
        self._db.executemany(
            "INSERT INTO pk_counter (program_id, member, scope, period, points, tasks) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, member, scope, period) "
            "DO UPDATE SET points = points + excluded.points, tasks = tasks + excluded.tasks",
            [
                (program, member, scope, period, points, tasks)
                for (scope, period), points, tasks in counter_adds
            ],
        )
        for (scope, period), points, tasks in counter_takes:
            self._give_back(
                "UPDATE pk_counter SET points = points + ?, tasks = tasks + ? "
                "WHERE program_id = ? AND member = ? AND scope = ? AND period = ?",
                (points, tasks, program, member, scope, period),
                f"counter {scope}/{period} of {member!r}",
            )
        self._db.executemany(
            "INSERT INTO pk_streak (program_id, member, rule, last_day, length) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (program_id, member, rule) "
            "DO UPDATE SET last_day = excluded.last_day, length = excluded.length",
            [
                (program, member, rule, day.isoformat(), length)
                for rule, day, length in record.streaks
            ],
        )
        budget_adds, budget_takes = record.split_budgets()
        self._db.executemany(
            "INSERT INTO pk_budget (program_id, name, used) VALUES (?, ?, ?) "
            "ON CONFLICT (program_id, name) DO UPDATE SET used = used + excluded.used",
            [(program, name, points) for name, points in budget_adds],
        )
        for name, points in budget_takes:
            self._give_back(
                "UPDATE pk_budget SET used = used + ? WHERE program_id = ? AND name = ?",
                (points, program, name),
                f"budget {name}",
            )

    def _give_back(self, sql: str, parameters: tuple[object, ...], what: str) -> None:
        """Run a give-back UPDATE; the row it gives back to must exist."""
        if self._db.execute(sql, parameters).rowcount != 1:
            raise InvariantViolation(f"{what} is given back to but was never counted")

    def save_tier(self, state: TierState, changes: Sequence[TierChange], *, version: int) -> None:
        program, member = self._program, str(state.member)
        values = (
            state.tier,
            to_micros(state.since),
            None if state.next_review is None else to_micros(state.next_review),
            None if state.grace_until is None else to_micros(state.grace_until),
            int(state.never_downgrade),
        )
        if version == 1:
            written = self._db.execute(
                "INSERT INTO pk_tier (program_id, member, version, tier, since, next_review, "
                "grace_until, never_downgrade) VALUES (?, ?, 1, ?, ?, ?, ?, ?) "
                "ON CONFLICT (program_id, member) DO NOTHING",
                (program, member, *values),
            ).rowcount
        else:
            written = self._db.execute(
                "UPDATE pk_tier SET version = ?, tier = ?, since = ?, next_review = ?, "
                "grace_until = ?, never_downgrade = ? WHERE program_id = ? AND member = ? "
                "AND version = ?",
                (version, *values, program, member, version - 1),
            ).rowcount
        if written != 1:
            raise TransientStorageError(
                f"the tier state of {member!r} changed meanwhile; review it again"
            )
        row = self._one(
            "SELECT COALESCE(MAX(seq), 0) FROM pk_tier_change WHERE program_id = ? AND member = ?",
            member,
        )
        last = 0 if row is None else int(row[0])
        self._db.executemany(
            "INSERT INTO pk_tier_change (program_id, member, seq, at, from_tier, to_tier, reason, "
            "metric) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    program,
                    member,
                    last + index,
                    to_micros(change.at),
                    change.from_tier,
                    change.to_tier,
                    change.reason.value,
                    change.metric,
                )
                for index, change in enumerate(changes, start=1)
            ],
        )

    def apply(self, plan: Plan) -> None:
        transaction = plan.transaction
        program = self._program
        txn_id = transaction.id.bytes
        at = to_micros(transaction.created_at)
        self._db.executemany(
            "INSERT INTO pk_posting (program_id, txn_id, seq, account_kind, member, currency, "
            "phase, amount, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    program,
                    txn_id,
                    seq,
                    p.account.kind.value,
                    p.account.member,
                    p.account.currency,
                    p.phase.value,
                    p.amount,
                    at,
                )
                for seq, p in enumerate(transaction.postings)
            ],
        )
        body = encode_transaction(transaction)
        self._db.execute(
            "INSERT INTO pk_txn (program_id, txn_id, idem_key, kind, created_at, reverses, body, "
            "checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                program,
                txn_id,
                transaction.key,
                transaction.kind.value,
                at,
                None if transaction.reverses is None else transaction.reverses.bytes,
                body,
                checksum(body),
            ),
        )
        self._db.executemany(
            "INSERT INTO pk_entry (program_id, member, currency, version, txn_id, posted, held, "
            "debt, posted_change) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    program,
                    str(c.member),
                    c.currency,
                    c.version,
                    txn_id,
                    c.posted,
                    c.held,
                    c.debt,
                    c.posted_change,
                )
                for c in transaction.wallet_changes
            ],
        )
        for state in plan.wallets:
            updated = self._db.execute(
                "INSERT INTO pk_wallet (program_id, member, currency, version, posted, held, debt) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, member, currency) DO UPDATE "
                "SET version = excluded.version, posted = excluded.posted, held = excluded.held, "
                "debt = excluded.debt WHERE pk_wallet.version = excluded.version - 1",
                (
                    program,
                    str(state.member),
                    state.currency,
                    state.version,
                    state.posted,
                    state.held,
                    state.debt,
                ),
            ).rowcount
            if updated != 1 or (state.version == 1 and self._version_of(state) != 1):
                raise InvariantViolation(
                    f"wallet {state.key} is not at version {state.version - 1}; "
                    "the plan was made from a stale state"
                )
        self._db.executemany(
            f"INSERT INTO pk_lot (program_id, {_LOT_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, lot_id) DO UPDATE "
            "SET remaining = excluded.remaining, held = excluded.held, expired = excluded.expired",
            [
                (
                    program,
                    lot.id.bytes,
                    str(lot.member),
                    lot.currency,
                    lot.amount,
                    lot.remaining,
                    lot.held,
                    lot.expired,
                    to_micros(lot.earned_at),
                    to_micros(lot.available_at),
                    None if lot.expires_at is None else to_micros(lot.expires_at),
                    lot.source.bytes,
                    int(lot.follows_activity),
                )
                for lot in plan.lots
            ],
        )
        self._db.executemany(
            "UPDATE pk_lot SET expires_at = ? WHERE program_id = ? AND member = ? "
            "AND currency = ? AND follows_activity = 1 AND remaining > 0 "
            "AND expires_at > ? AND expires_at < ?",
            [
                (
                    to_micros(e.expires_at),
                    program,
                    str(e.member),
                    e.currency,
                    at,
                    to_micros(e.expires_at),
                )
                for e in transaction.expiry_extensions
            ],
        )
        self._db.executemany(
            f"INSERT INTO pk_hold (program_id, {_HOLD_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, hold_id) DO UPDATE "
            "SET status = excluded.status, captured = excluded.captured, "
            "resolved_by = excluded.resolved_by WHERE pk_hold.status = 'open'",
            [
                (
                    program,
                    hold.id.bytes,
                    str(hold.member),
                    hold.currency,
                    hold.amount,
                    to_micros(hold.created_at),
                    to_micros(hold.expires_at),
                    encode_allocations(hold.allocations),
                    hold.status.value,
                    hold.captured,
                    None if hold.resolved_by is None else hold.resolved_by.bytes,
                )
                for hold in plan.holds
            ],
        )

    def _version_of(self, state: WalletState) -> int:
        row = self._one(
            "SELECT version FROM pk_wallet WHERE program_id = ? AND member = ? AND currency = ?",
            str(state.member),
            state.currency,
        )
        return -1 if row is None else int(row[0])


def _migrate(connection: sqlite3.Connection) -> int:
    """Bring the schema up to SCHEMA_VERSION inside one write transaction; return the version."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        _upgrade(connection)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return SCHEMA_VERSION


def _upgrade(connection: sqlite3.Connection) -> None:
    current = _schema_version(connection)
    if current is None:
        connection.execute(
            "CREATE TABLE pk_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
            " STRICT"
        )
        current = 0
    if current > SCHEMA_VERSION:
        raise _newer(current)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in _split(_MIGRATIONS[version]):
            connection.execute(statement)
        connection.execute(
            "INSERT INTO pk_schema (version, applied_at) VALUES (?, strftime('%s', 'now'))",
            (version,),
        )


def _split(script: str) -> list[str]:
    """Split a migration into statements (triggers hold semicolons inside BEGIN ... END)."""
    statements: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


def _schema_version(connection: sqlite3.Connection) -> int | None:
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pk_schema'"
    ).fetchone()
    if exists is None:
        return None
    row = connection.execute("SELECT MAX(version) FROM pk_schema").fetchone()
    return 0 if row[0] is None else int(row[0])


def _newer(version: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"the database has pointkit schema version {version}, newer than this pointkit "
        f"understands ({SCHEMA_VERSION}); upgrade pointkit to use it"
    )


@final
class _Handle:
    """A thread's connection; when the thread ends, the handle and its connection go."""

    __slots__ = ("__weakref__", "connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __del__(self) -> None:
        self.connection.close()


@final
class SQLiteStorage:
    """Storage in a SQLite database file: durable, embedded, nothing to run beside it.

    Args:
        path: The database file; it is created if it does not exist.
        synchronous: ``"FULL"`` (the default) makes every commit durable across a power loss;
            ``"NORMAL"`` is faster, and a power loss may undo the last commits.
        busy_timeout_ms: How long a unit waits for another writer before giving up with a
            :class:`~pointkit.exceptions.TransientStorageError` (the ledger then retries).
        migrate: Create or upgrade the schema on open (the default). With ``False``, a missing
            or older schema raises :class:`~pointkit.exceptions.SchemaVersionError`.

    Raises:
        SchemaVersionError: If the database's schema is newer than this pointkit, or missing
            or older while *migrate* is ``False``.
        StorageError: If the file cannot be opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout_ms: int = 10_000,
        migrate: bool = True,
    ) -> None:
        if synchronous not in {"FULL", "NORMAL"}:
            raise InvalidArgumentError(
                f"synchronous={synchronous!r} must be 'FULL' (durable) or 'NORMAL'"
            )
        self._path = os.fspath(path)
        self._synchronous = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        # Handles, not connections: sqlite3 connections cannot be weakly referenced, and a
        # thread's connection must go when the thread does.
        self._handles: weakref.WeakSet[_Handle] = weakref.WeakSet()
        self._lock = threading.Lock()
        connection = self._connection()
        try:
            if migrate:
                _migrate(connection)
            else:
                self._check_schema(connection)
        except sqlite3.Error as error:
            raise _storage_error(error) from error

    @staticmethod
    def _check_schema(connection: sqlite3.Connection) -> None:
        version = _schema_version(connection)
        if version is None or version < SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the database has pointkit schema version {version or 0}, this pointkit needs "
                f"{SCHEMA_VERSION}; run `pointkit migrate --db PATH` or SQLiteStorage.migrate()"
            )
        if version > SCHEMA_VERSION:
            raise _newer(version)

    def __repr__(self) -> str:
        return f"SQLiteStorage({self._path!r}, synchronous={self._synchronous!r})"

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def _connection(self) -> sqlite3.Connection:
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is None:
            try:
                connection = sqlite3.connect(
                    self._path,
                    timeout=self._busy_timeout_ms / 1000,
                    isolation_level=None,  # pointkit issues BEGIN / COMMIT itself
                    check_same_thread=False,  # used by one thread only; closed from any
                )
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute(f"PRAGMA synchronous = {self._synchronous}")
                connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            except sqlite3.Error as error:
                raise _storage_error(error) from error
            handle = _Handle(connection)
            self._local.handle = handle
            with self._lock:
                self._handles.add(handle)
        return handle.connection

    def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version now in the database.

        Raises:
            SchemaVersionError: If the database's schema is newer than this pointkit.
        """
        try:
            return _migrate(self._connection())
        except sqlite3.Error as error:
            raise _storage_error(error) from error

    def schema_version(self) -> int | None:
        """The database's schema version, or ``None`` if it has no pointkit schema."""
        try:
            return _schema_version(self._connection())
        except sqlite3.Error as error:
            raise _storage_error(error) from error

    @contextmanager
    def _unit(self, program: ProgramId, begin: str) -> Iterator[_SQLiteUnit]:
        connection = self._connection()
        try:
            connection.execute(begin)
        except sqlite3.Error as error:
            raise _storage_error(error) from error
        try:
            yield _SQLiteUnit(connection, program)
        except BaseException as error:
            connection.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise _storage_error(error) from error
            raise
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            connection.execute("ROLLBACK")
            raise _storage_error(error) from error

    def reading(self, program: ProgramId) -> AbstractContextManager[_SQLiteUnit]:
        """Begin a consistent read of *program*'s ledger (a snapshot, in WAL mode)."""
        return self._unit(program, "BEGIN")

    def writing(self, program: ProgramId) -> AbstractContextManager[_SQLiteUnit]:
        """Begin a unit of work on *program*'s ledger, holding the database's write lock."""
        return self._unit(program, "BEGIN IMMEDIATE")

    def close(self) -> None:
        """Close every connection this storage has open (in any thread)."""
        with self._lock:
            for handle in list(self._handles):
                handle.connection.close()
            self._handles = weakref.WeakSet()
        self._local = threading.local()
