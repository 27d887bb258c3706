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

import contextlib
import os
import sqlite3
import threading
import uuid
import weakref
from contextlib import contextmanager
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
    checked_hold,
    checked_lot,
    checked_wallet,
    checksum,
    decode_allocations,
    decode_transaction,
    encode_allocations,
    encode_transaction,
    from_micros,
    to_micros,
)
from pointkit.ledger._observe import unit_of_work
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
from pointkit.storage.sqlite._expiry_rows import ExpiryRows
from pointkit.storage.sqlite._feature_rows import FeatureRows
from pointkit.storage.sqlite._outbox_rows import OutboxRows
from pointkit.storage.sqlite._report_rows import ReportRows
from pointkit.storage.sqlite._schema import (
    SCHEMA_VERSION,
    newer_error,
    run_migrations,
    stored_version,
)


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime

    from pointkit._values import ProgramId
    from pointkit.ledger._records import AccountId, Transaction
    from pointkit.ledger._storage import Plan, WalletKey


__all__ = ["SCHEMA_VERSION", "SQLiteStorage"]

_NEVER: Final = 2**63 - 1  # sorts after every real expiry
_PAGE: Final = 128  # lots read per page while walking a wallet
_IN_MAX: Final = 500  # ids per IN (...) list


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


def _rollback(connection: sqlite3.Connection) -> None:
    """Roll back what is left of a unit after an error, never hiding that error.

    SQLite rolls a transaction back by itself on some errors (a full disk, an I/O error): then
    there is nothing left to roll back, and a ROLLBACK would raise "no transaction is active"
    in place of the error that matters.
    """
    # A ROLLBACK that fails means a broken connection; the original error says why.
    if connection.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            connection.execute("ROLLBACK")


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


def _wallet(program_row: tuple[Any, ...], member: MemberId | None = None) -> WalletState:
    """A wallet row (and its entry's columns, if read); *member*: the id the row was read by."""
    state = WalletState(
        MemberId(program_row[0]) if member is None else member,
        program_row[1],
        program_row[2],
        program_row[3],
        program_row[4],
        program_row[5],
    )
    entry = program_row[6:9]
    return checked_wallet(state, (entry[0], entry[1], entry[2]) if entry else None)


# A wallet row with its journal entry at the row's version, which reads and writes check it
# against (see checked_wallet).
_WALLET_WITH_ENTRY = (
    "SELECT w.member, w.currency, w.version, w.posted, w.held, w.debt, "
    "e.posted, e.held, e.debt FROM pk_wallet AS w LEFT JOIN pk_entry AS e "
    "ON e.program_id = w.program_id AND e.member = w.member AND e.currency = w.currency "
    "AND e.version = w.version "
)


def _posting_rows(
    program: str, txn_id: bytes, at: int, transaction: Transaction
) -> list[tuple[object, ...]]:
    """The pk_posting rows of *transaction*, its id and instant as written.

    Text is bound as plain str (str() of a StrEnum is its value, of a MemberId its text):
    sqlite3 binds a str subclass only after looking for an adapter for it, which costs more
    than the copy. The stored values are the same.
    """
    return [
        (
            program,
            txn_id,
            seq,
            str(p.account.kind),
            None if p.account.member is None else str(p.account.member),
            p.account.currency,
            str(p.phase),
            p.amount,
            at,
        )
        for seq, p in enumerate(transaction.postings)
    ]


def _transaction(row: tuple[Any, ...] | None) -> Transaction | None:
    return None if row is None else decode_transaction(row[0], row[1])


@final
class _SQLiteUnit(ExpiryRows, FeatureRows, OutboxRows, ReportRows):
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
            _WALLET_WITH_ENTRY + "WHERE w.program_id = ? AND w.member = ? AND w.currency = ?",
            str(member),
            currency,
        )
        return WalletState(member, currency) if row is None else _wallet(row, member)

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

    def system_balance(self, account: AccountId) -> tuple[int, int]:
        where = "WHERE program_id = ? AND account_kind = ? AND currency = ?"
        try:
            rows = self._all(
                f"SELECT phase, SUM(amount) FROM pk_posting {where} GROUP BY phase",
                account.kind.value,
                account.currency,
            )
        except sqlite3.OperationalError as error:
            if "integer overflow" not in str(error):
                raise
            # A system account's total may pass 2**63 - 1 (each member may hold POINTS_MAX),
            # beyond SQLite's integers: add the postings exactly in Python instead.
            totals: dict[str, int] = {}
            postings = self._db.execute(
                f"SELECT phase, amount FROM pk_posting {where}",
                (self._program, account.kind.value, account.currency),
            )
            for phase, amount in postings:
                totals[phase] = totals.get(phase, 0) + amount
            rows = list(totals.items())
        sums = dict(rows)
        return (sums.get(Phase.POSTED.value, 0), sums.get(Phase.PENDING.value, 0))

    # The all_* reads stream from the cursor, a row at a time (the journal, the wallets and
    # the lots never sit in memory whole); iterate them inside the unit that made them.

    def _stream(self, sql: str) -> sqlite3.Cursor:
        return self._db.execute(sql, (self._program,))

    def all_transactions(self) -> Iterator[Transaction]:
        rows = self._stream("SELECT body, checksum FROM pk_txn WHERE program_id = ?")
        return (decode_transaction(body, digest) for body, digest in rows)

    def all_wallets(self) -> Iterator[WalletState]:
        rows = self._stream(
            "SELECT member, currency, version, posted, held, debt FROM pk_wallet "
            "WHERE program_id = ?"
        )
        return (_wallet(row) for row in rows)

    def all_lots(self) -> Iterator[Lot]:
        rows = self._stream(f"SELECT {_LOT_COLUMNS} FROM pk_lot WHERE program_id = ?")
        return (_lot(row) for row in rows)

    def all_holds(self) -> Iterator[Hold]:
        rows = self._all(f"SELECT {_HOLD_COLUMNS} FROM pk_hold WHERE program_id = ?")
        return (_hold(row) for row in rows)

    def transactions_by_keys(self, keys: Sequence[str]) -> dict[str, Transaction]:
        """The transactions recorded under any of *keys*, by key: one query per 500 keys."""
        found: dict[str, Transaction] = {}
        for start in range(0, len(keys), _IN_MAX):
            chunk = keys[start : start + _IN_MAX]
            marks = ", ".join("?" * len(chunk))
            rows = self._all(
                "SELECT idem_key, body, checksum FROM pk_txn "
                f"WHERE program_id = ? AND idem_key IN ({marks})",
                *chunk,
            )
            for key, body, digest in rows:
                found[key] = decode_transaction(body, digest)
        return found

    # -- writes ----------------------------------------------------------------------------

    def lock_wallets(self, keys: Sequence[WalletKey]) -> dict[WalletKey, WalletState]:
        # BEGIN IMMEDIATE already holds the database's write lock: locking is reading the rows,
        # many at once (one query per currency and 500 members).
        wanted = sorted(set(keys))
        if len(wanted) < 2:  # noqa: PLR2004 - one wallet: the keyed read
            return {key: self._wallet_row(*key) for key in wanted}
        members: dict[str, list[str]] = {}
        for member, currency in wanted:
            members.setdefault(currency, []).append(str(member))
        # Each row's key as given: its member id was checked once already.
        given = {key: key for key in wanted}
        found: dict[tuple[str, str], WalletState] = {}
        for currency, names in members.items():
            for start in range(0, len(names), _IN_MAX):
                chunk = names[start : start + _IN_MAX]
                marks = ", ".join("?" * len(chunk))
                rows = self._all(
                    _WALLET_WITH_ENTRY
                    + f"WHERE w.program_id = ? AND w.currency = ? AND w.member IN ({marks})",
                    currency,
                    *chunk,
                )
                for row in rows:
                    key = given[(row[0], row[1])]
                    found[key] = _wallet(row, key[0])
        return {key: found.get(key) or WalletState(*key) for key in wanted}

    def apply(self, plan: Plan) -> None:
        self.apply_batch((plan,))

    def apply_batch(self, plans: Sequence[Plan]) -> None:
        """Write *plans* in order with one statement per table, however many plans there are.

        Postings go before their transactions (a trigger checks that they balance); a wallet
        several plans touch is written once, in its last state, on the condition that the
        stored row is at the version the first of them started from. Lots are upserted in
        plan order (a later state of a lot wins), then the inactivity extensions move expiries.
        """
        program = self._program
        postings: list[tuple[object, ...]] = []
        txns: list[tuple[object, ...]] = []
        entries: list[tuple[object, ...]] = []
        wallets: dict[WalletKey, tuple[int, WalletState]] = {}
        lots: list[tuple[object, ...]] = []
        extensions: list[tuple[object, ...]] = []
        holds: list[tuple[object, ...]] = []
        for plan in plans:
            transaction = plan.transaction
            txn_id = transaction.id.bytes
            at = to_micros(transaction.created_at)
            postings.extend(_posting_rows(program, txn_id, at, transaction))
            body = encode_transaction(transaction)
            txns.append(
                (
                    program,
                    txn_id,
                    transaction.key,
                    str(transaction.kind),  # a plain str: see _posting_rows
                    at,
                    None if transaction.reverses is None else transaction.reverses.bytes,
                    body,
                    checksum(body),
                )
            )
            entries.extend(
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
                ]
            )
            for state in plan.wallets:
                key = state.key
                earlier = wallets.get(key)
                if earlier is None:
                    wallets[key] = (state.version - 1, state)
                    continue
                if state.version != earlier[1].version + 1:
                    raise InvariantViolation(
                        f"wallet {key} goes from version {earlier[1].version} to "
                        f"{state.version} between two plans of one batch"
                    )
                wallets[key] = (earlier[0], state)
            created_at = transaction.created_at  # most lots a plan writes were made now
            lots.extend(
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
                        at if lot.earned_at is created_at else to_micros(lot.earned_at),
                        at if lot.available_at is created_at else to_micros(lot.available_at),
                        None if lot.expires_at is None else to_micros(lot.expires_at),
                        txn_id if lot.source is transaction.id else lot.source.bytes,
                        int(lot.follows_activity),
                    )
                    for lot in plan.lots
                ]
            )
            if transaction.expiry_extensions:
                extensions.extend(
                    (
                        to_micros(e.expires_at),
                        program,
                        str(e.member),
                        e.currency,
                        at,
                        to_micros(e.expires_at),
                    )
                    for e in transaction.expiry_extensions
                )
            if plan.holds:
                holds.extend(
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
                )
        db = self._db
        db.executemany(
            "INSERT INTO pk_posting (program_id, txn_id, seq, account_kind, member, currency, "
            "phase, amount, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            postings,
        )
        db.executemany(
            "INSERT INTO pk_txn (program_id, txn_id, idem_key, kind, created_at, reverses, body, "
            "checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            txns,
        )
        db.executemany(
            "INSERT INTO pk_entry (program_id, member, currency, version, txn_id, posted, held, "
            "debt, posted_change) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            entries,
        )
        self._write_wallets(list(wallets.values()))
        if lots:
            db.executemany(
                f"INSERT INTO pk_lot (program_id, {_LOT_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, lot_id) DO UPDATE "
                "SET remaining = excluded.remaining, held = excluded.held, "
                "expired = excluded.expired",
                lots,
            )
        if extensions:
            db.executemany(
                "UPDATE pk_lot SET expires_at = ? WHERE program_id = ? AND member = ? "
                "AND currency = ? AND follows_activity = 1 AND remaining > 0 "
                "AND expires_at > ? AND expires_at < ?",
                extensions,
            )
        if holds:
            db.executemany(
                f"INSERT INTO pk_hold (program_id, {_HOLD_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, hold_id) DO UPDATE "
                "SET status = excluded.status, captured = excluded.captured, "
                "resolved_by = excluded.resolved_by WHERE pk_hold.status = 'open'",
                holds,
            )

    def _write_wallets(self, wallets: Sequence[tuple[int, WalletState]]) -> None:
        """Upsert each wallet's new row if the stored one is at *previous* (0: no row yet).

        A pair assertion: a plan made from a stale wallet changes no row, and the count of
        rows written shows it.
        """
        written = self._db.executemany(
            "INSERT INTO pk_wallet (program_id, member, currency, version, posted, held, debt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, member, currency) DO UPDATE "
            "SET version = excluded.version, posted = excluded.posted, held = excluded.held, "
            "debt = excluded.debt WHERE pk_wallet.version = ?",
            [
                (
                    self._program,
                    str(state.member),
                    state.currency,
                    state.version,
                    state.posted,
                    state.held,
                    state.debt,
                    previous,
                )
                for previous, state in wallets
            ],
        ).rowcount
        if written == len(wallets):
            return
        for previous, state in wallets:  # name the first stale one
            if self._version_of(state) != state.version:
                raise InvariantViolation(
                    f"wallet {state.key} is not at version {previous}; "
                    "the plan was made from a stale state"
                )
        raise InvariantViolation(  # pragma: no cover - every wallet is at its new version
            "a batch's wallets were not all written; the plan was made from a stale state"
        )

    def _version_of(self, state: WalletState) -> int:
        row = self._one(
            "SELECT version FROM pk_wallet WHERE program_id = ? AND member = ? AND currency = ?",
            str(state.member),
            state.currency,
        )
        return -1 if row is None else int(row[0])


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
                run_migrations(connection)
            else:
                self._check_schema(connection)
        except sqlite3.Error as error:
            raise _storage_error(error) from error

    @staticmethod
    def _check_schema(connection: sqlite3.Connection) -> None:
        version = stored_version(connection)
        if version is None or version < SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the database has pointkit schema version {version or 0}, this pointkit needs "
                f"{SCHEMA_VERSION}; run `pointkit migrate --db PATH` or SQLiteStorage.migrate()"
            )
        if version > SCHEMA_VERSION:
            raise newer_error(version)

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
            return run_migrations(self._connection())
        except sqlite3.Error as error:
            raise _storage_error(error) from error

    def schema_version(self) -> int | None:
        """The database's schema version, or ``None`` if it has no pointkit schema."""
        try:
            return stored_version(self._connection())
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
            _rollback(connection)
            if isinstance(error, sqlite3.Error):
                raise _storage_error(error) from error
            raise
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            _rollback(connection)
            raise _storage_error(error) from error

    @unit_of_work("sqlite", "read")
    def reading(self, program: ProgramId) -> AbstractContextManager[_SQLiteUnit]:
        """Begin a consistent read of *program*'s ledger (a snapshot, in WAL mode)."""
        return self._unit(program, "BEGIN")

    @unit_of_work("sqlite", "write")
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
