"""SQLite storage: conformance, durability, schema versions, and what the database enforces."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from conftest import adapter_examples
from pointkit import FixedClock, Ledger, MemberId, ProgramId
from pointkit.exceptions import (
    InvalidArgumentError,
    InvariantViolation,
    SchemaVersionError,
    StorageError,
    TransientStorageError,
)
from pointkit.ledger import Earn
from pointkit.ledger._booking import Booking
from pointkit.ledger._records import AccountKind, TransactionKind, transaction_id_for
from pointkit.storage.sqlite import SCHEMA_VERSION, SQLiteStorage
from pointkit.testing import check_storage_conformance


if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from pointkit.ledger._storage import Plan, WalletState, WriteUnit


def _raw(storage: SQLiteStorage) -> sqlite3.Connection:
    return sqlite3.connect(storage.path, isolation_level=None)


def test_sqlite_passes_the_conformance_suite(sqlite_storage: SQLiteStorage) -> None:
    """Golden cases and the stateful suite, in lockstep with the in-memory reference."""
    check_storage_conformance(lambda: sqlite_storage, max_examples=adapter_examples())


def test_durable_by_default(sqlite_storage: SQLiteStorage, tmp_path: Path) -> None:
    """WAL and synchronous=FULL unless asked otherwise; other values are refused."""
    connection = sqlite_storage._connection()
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA synchronous").fetchone() == (2,)
    fast = SQLiteStorage(tmp_path / "fast.db", synchronous="NORMAL")
    assert fast._connection().execute("PRAGMA synchronous").fetchone() == (1,)
    fast.close()
    with pytest.raises(InvalidArgumentError, match="synchronous='OFF' must be 'FULL'"):
        SQLiteStorage(tmp_path / "off.db", synchronous="OFF")  # type: ignore[arg-type]


def test_data_survives_reopening(tmp_path: Path, clock: FixedClock) -> None:
    """What one storage object committed, a new one on the same file reads."""
    first = SQLiteStorage(tmp_path / "p.db")
    ledger = Ledger(first, clock=clock)
    earned = ledger.earn("alice", 100, key="e1", expires_at=clock.now() + timedelta(days=1))
    first.close()
    again = Ledger(SQLiteStorage(tmp_path / "p.db"), clock=clock)
    assert again.transaction(earned.id) == earned
    assert again.balance("alice").available == 100
    again.audit()


def test_schema_versions(tmp_path: Path) -> None:
    """A missing schema is created on open (or refused with migrate=False); a newer one never."""
    path = tmp_path / "p.db"
    with pytest.raises(SchemaVersionError, match="run `pointkit migrate --db PATH`"):
        SQLiteStorage(path, migrate=False)
    storage = SQLiteStorage(path)
    assert storage.schema_version() == SCHEMA_VERSION
    assert storage.migrate() == SCHEMA_VERSION
    SQLiteStorage(path, migrate=False).close()
    raw = _raw(storage)
    raw.execute("INSERT INTO pk_schema (version, applied_at) VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    raw.close()
    message = f"schema version {SCHEMA_VERSION + 1}, newer than this pointkit understands"
    with pytest.raises(SchemaVersionError, match=message):
        SQLiteStorage(path)
    with pytest.raises(SchemaVersionError, match=message):
        SQLiteStorage(path, migrate=False)
    storage.close()


def test_posted_rows_are_append_only(sqlite_storage: SQLiteStorage, clock: FixedClock) -> None:
    """Transactions, postings and wallet entries cannot be changed or deleted, even in SQL."""
    Ledger(sqlite_storage, clock=clock).earn("alice", 100, key="e1")
    raw = _raw(sqlite_storage)
    for statement in [
        "UPDATE pk_txn SET idem_key = 'x'",
        "DELETE FROM pk_txn",
        "UPDATE pk_posting SET amount = 1",
        "DELETE FROM pk_posting",
        "UPDATE pk_entry SET posted = 1",
        "DELETE FROM pk_entry",
    ]:
        with pytest.raises(sqlite3.IntegrityError, match="is append-only"):
            raw.execute(statement)
    raw.close()


def test_the_database_refuses_unbalanced_postings(sqlite_storage: SQLiteStorage) -> None:
    """A transaction row whose postings do not sum to zero is refused by a trigger."""
    raw = _raw(sqlite_storage)
    raw.execute("BEGIN")
    raw.execute(
        "INSERT INTO pk_posting VALUES ('p', x'00', 0, 'issuance', NULL, 'points', 'posted', 5, 0)"
    )
    with pytest.raises(sqlite3.IntegrityError, match="must sum to zero"):
        raw.execute("INSERT INTO pk_txn VALUES ('p', x'00', 'k', 'earn', 0, NULL, '{}', x'00')")
    raw.execute("ROLLBACK")
    raw.close()


def test_tampered_rows_are_detected(sqlite_storage: SQLiteStorage, clock: FixedClock) -> None:
    """Changed rows fail a checksum, a pair assertion or the audit: never a wrong balance."""
    ledger = Ledger(sqlite_storage, clock=clock)
    earned = ledger.earn("alice", 100, key="e1")
    raw = _raw(sqlite_storage)
    raw.execute("UPDATE pk_lot SET remaining = 90")
    with pytest.raises(InvariantViolation, match="disagrees with its lots"):
        ledger.balance("alice")
    with pytest.raises(InvariantViolation, match="problem"):
        ledger.audit()
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        raw.execute("UPDATE pk_lot SET remaining = 100, held = 101")
    raw.execute("DROP TRIGGER pk_txn_no_update")
    raw.execute("UPDATE pk_txn SET body = replace(body, '100', '900')")
    with pytest.raises(InvariantViolation, match="checksum"):
        ledger.transaction(earned.id)
    raw.close()


def test_storage_errors_name_the_command(tmp_path: Path, clock: FixedClock) -> None:
    """A busy database is retried, then reported with the command and key it interrupted."""
    storage = SQLiteStorage(tmp_path / "p.db", busy_timeout_ms=1)
    ledger = Ledger(storage, clock=clock)
    raw = _raw(storage)
    raw.execute("BEGIN IMMEDIATE")
    with pytest.raises(
        TransientStorageError, match=r"earn \(key='order-1'\): SQLite: database is locked"
    ) as caught:
        ledger.earn("alice", 5, key="order-1")
    assert (caught.value.command, caught.value.key) == ("earn", "order-1")
    raw.execute("ROLLBACK")
    raw.close()
    assert ledger.earn("alice", 5, key="order-1").replayed is False
    storage.close()
    with pytest.raises(StorageError, match="unable to open database file"):
        SQLiteStorage(tmp_path / "missing" / "dir" / "p.db")


def _credit_plan(unit: WriteUnit, state: WalletState, key: str, now: datetime) -> Plan:
    """A plan crediting 5 points to *state*'s wallet, made from *state* as it is given."""
    booking = Booking(
        transaction_id=transaction_id_for(key, now),
        key=key,
        currency=state.currency,
        now=now,
        wallets={state.key: state},
        open_lots=unit.open_lots,
    )
    booking.credit(state.member, 5, source=AccountKind.ISSUANCE, available_at=now, expires_at=None)
    return booking.finish(kind=TransactionKind.EARN, amount=5, request=(("command", "earn"),))


def test_a_batch_writes_each_wallet_once_from_the_version_it_read(
    sqlite_storage: SQLiteStorage, clock: FixedClock
) -> None:
    """A batch's wallet is written once, in its last state; plans made from one state refused."""
    ledger = Ledger(sqlite_storage, clock=clock, program="batch-chain")
    ledger.earn_many([Earn(member="ann", amount=n, key=f"e{n}") for n in (1, 2, 3)])
    raw = _raw(sqlite_storage)
    wallet = "SELECT version, posted FROM pk_wallet WHERE program_id = 'batch-chain'"
    assert (3, 6) == raw.execute(wallet).fetchone()
    entries = "SELECT version, posted FROM pk_entry WHERE program_id = 'batch-chain' ORDER BY 1"
    assert [(1, 1), (2, 3), (3, 6)] == raw.execute(entries).fetchall()
    key = (MemberId("ann"), "points")

    def write_twins() -> None:
        with sqlite_storage.writing(ProgramId("batch-chain")) as unit:
            state = unit.lock_wallets([key])[key]
            twins = [_credit_plan(unit, state, f"twin-{n}", clock.now()) for n in (1, 2)]
            unit.apply_batch(twins)

    with pytest.raises(InvariantViolation, match="goes from version 4 to 4"):
        write_twins()
    assert (3, 6) == raw.execute(wallet).fetchone()  # the unit rolled back: nothing written
    with sqlite_storage.writing(ProgramId("batch-chain")) as unit:
        state = unit.lock_wallets([key])[key]
        unit.apply_batch([_credit_plan(unit, state, "next", clock.now())])
    assert (4, 11) == raw.execute(wallet).fetchone()
    raw.close()
    assert ledger.audit().transactions == 4
