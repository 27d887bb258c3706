"""PostgreSQL storage: conformance, the host's transaction, schema versions, enforcement.

Skipped without a server, mandatory under CI=true.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from conftest import adapter_examples, on_citus
from pointkit import FixedClock, InsufficientPointsError, Ledger, ProgramId
from pointkit.exceptions import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvariantViolation,
    SchemaVersionError,
    StorageError,
    TransientStorageError,
)
from pointkit.storage.postgres import SCHEMA_VERSION, PostgresStorage
from pointkit.testing import check_storage_conformance
from test_crash import crash_rounds


if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def scratch_schema(postgres_dsn: str) -> Iterator[str]:
    """An empty schema name of its own, dropped afterwards."""
    schema = f"pointkit_scratch_{os.urandom(4).hex()}"
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _ledger(storage: PostgresStorage, program: str) -> Ledger:
    return Ledger(storage, clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), program=program)


def test_postgres_passes_the_conformance_suite(postgres_storage: PostgresStorage) -> None:
    """Golden cases and the stateful suite, in lockstep with the in-memory reference."""
    check_storage_conformance(lambda: postgres_storage, max_examples=adapter_examples())


def test_points_commit_with_the_hosts_transaction(postgres_dsn: str, postgres_schema: str) -> None:
    """Inside the host's transaction, points commit with the host's rows."""
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute("CREATE TEMP TABLE orders (id text PRIMARY KEY)")
        ledger = _ledger(PostgresStorage(connection=connection, schema=postgres_schema), "host-1")
        with connection.transaction():
            connection.execute("INSERT INTO orders VALUES ('o-1')")
            ledger.earn("alice", 100, key="o-1")
        assert ledger.balance("alice").posted == 100
    with psycopg.connect(postgres_dsn) as other:
        mine = PostgresStorage(connection=other, schema=postgres_schema)
        assert _ledger(mine, "host-1").balance("alice").posted == 100


def test_points_roll_back_with_the_hosts_transaction(
    postgres_dsn: str, postgres_schema: str
) -> None:
    """When the host's transaction rolls back, its points go with it, keys included."""
    failure = "payment declined"
    with psycopg.connect(postgres_dsn) as connection:
        ledger = _ledger(PostgresStorage(connection=connection, schema=postgres_schema), "host-2")

        def order_that_fails() -> None:
            with connection.transaction():
                ledger.earn("alice", 100, key="o-2")
                assert ledger.balance("alice").posted == 100
                raise RuntimeError(failure)

        with pytest.raises(RuntimeError, match=failure):
            order_that_fails()
        assert ledger.balance("alice").posted == 0
        assert ledger.transaction_by_key("o-2") is None
        assert not ledger.earn("alice", 100, key="o-2").replayed


def test_points_sent_first_roll_back_with_the_hosts_implicit_transaction(
    postgres_dsn: str, postgres_schema: str
) -> None:
    """Outside autocommit, points sent before any host statement are still the host's to undo."""
    with psycopg.connect(postgres_dsn) as connection:
        ledger = _ledger(PostgresStorage(connection=connection, schema=postgres_schema), "host-4")
        connection.commit()
        ledger.earn("alice", 100, key="o-4")  # the first statement of the host's transaction
        connection.rollback()
        assert ledger.transaction_by_key("o-4") is None
        ledger.earn("alice", 100, key="o-4")
        connection.commit()
    with psycopg.connect(postgres_dsn) as other:
        mine = PostgresStorage(connection=other, schema=postgres_schema)
        assert 100 == _ledger(mine, "host-4").balance("alice").posted


def test_a_refused_command_leaves_the_hosts_transaction_usable(
    postgres_dsn: str, postgres_schema: str
) -> None:
    """A refusal rolls back only pointkit's savepoint; the host's work goes on."""
    with psycopg.connect(postgres_dsn) as connection:
        ledger = _ledger(PostgresStorage(connection=connection, schema=postgres_schema), "host-3")
        with connection.transaction():
            ledger.earn("alice", 10, key="e1")
            with pytest.raises(InsufficientPointsError, match="10 points available, 11 needed"):
                ledger.redeem("alice", 11, key="r1")
            ledger.redeem("alice", 10, key="r2")
        assert ledger.balance("alice").posted == 0


def test_schema_versions(postgres_dsn: str, scratch_schema: str) -> None:
    """A missing schema is refused until migrated; migrating twice is harmless; newer is refused."""
    with pytest.raises(SchemaVersionError, match="run `pointkit migrate --dsn DSN`"):
        PostgresStorage(postgres_dsn, schema=scratch_schema)
    storage = PostgresStorage(postgres_dsn, schema=scratch_schema, migrate=True)
    assert storage.schema_version() == SCHEMA_VERSION
    assert storage.migrate() == SCHEMA_VERSION
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(
            f"INSERT INTO {scratch_schema}.pk_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,)
        )
    with pytest.raises(SchemaVersionError, match="newer than this pointkit understands"):
        PostgresStorage(postgres_dsn, schema=scratch_schema)
    storage.close()


def test_a_schema_1_database_upgrades_in_place(postgres_dsn: str, scratch_schema: str) -> None:
    """Schema 1 with a lot in it is refused until migrated; migrating keeps the row readable."""
    from pointkit.storage.postgres._schema import _MIGRATIONS  # noqa: PLC0415 - the old schema itself

    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {scratch_schema}")
        connection.execute(
            f"CREATE TABLE {scratch_schema}.pk_schema "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        connection.execute(_MIGRATIONS[1].replace("{s}", scratch_schema))
        connection.execute(f"INSERT INTO {scratch_schema}.pk_schema (version) VALUES (1)")
        connection.execute(
            f"INSERT INTO {scratch_schema}.pk_lot (program_id, lot_id, member, currency, amount, "
            "remaining, held, expired, earned_at, available_at, expires_at, source) VALUES "
            "('old', gen_random_uuid(), 'alice', 'points', 5, 5, 0, 0, now(), now(), NULL, "
            "gen_random_uuid())"
        )
    with pytest.raises(SchemaVersionError, match="version 1"):
        PostgresStorage(postgres_dsn, schema=scratch_schema)
    storage = PostgresStorage(postgres_dsn, schema=scratch_schema, migrate=True)
    assert SCHEMA_VERSION == storage.schema_version()
    lots = _ledger(storage, "old").lots("alice")
    assert [(5, False)] == [(lot.remaining, lot.follows_activity) for lot in lots]
    storage.close()


def test_a_schema_6_journal_gets_its_members_in_version_7(
    postgres_dsn: str, postgres_schema: str, scratch_schema: str
) -> None:
    """Version 7 fills in the member of each transaction, posting and event written before.

    A journal written by this version (earn, transfer, redeem, their events) is copied into a
    schema built to version 6, less the new columns; migrating it must give back the same
    members, and the ledger must read, replay and audit it.
    """
    from pointkit.storage.postgres._schema import _MIGRATIONS  # noqa: PLC0415 - the old schema itself

    program = f"upgrade-{os.urandom(3).hex()}"
    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    ledger = _ledger(storage, program)
    ledger.earn("alice", 100, key="e1")
    ledger.transfer("alice", "bob", 30, key="t1")
    ledger.redeem("bob", 10, key="r1")
    storage.close()
    new, old = postgres_schema, scratch_schema
    copied = {
        "pk_txn": "program_id, txn_id, idem_key, kind, created_at, reverses, body, checksum",
        "pk_posting": "program_id, txn_id, seq, account_kind, member, currency, phase, amount, "
        "created_at",
        "pk_entry": "*",
        "pk_wallet": "*",
        "pk_lot": "*",
        "pk_outbox": "program_id, xid, seq, event_id, type, version, occurred_at, data",
    }
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute(f"CREATE SCHEMA {old}")
        connection.execute(
            f"CREATE TABLE {old}.pk_schema "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version in range(1, 7):
            connection.execute(_MIGRATIONS[version].replace("{s}", old))
            connection.execute(f"INSERT INTO {old}.pk_schema (version) VALUES (%s)", (version,))
        for table, columns in copied.items():
            names = "" if columns == "*" else f"({columns})"
            connection.execute(
                f"INSERT INTO {old}.{table} {names} OVERRIDING SYSTEM VALUE "
                f"SELECT {columns} FROM {new}.{table} WHERE program_id = %s",
                (program,),
            )
    upgraded = PostgresStorage(postgres_dsn, schema=old, migrate=True)
    members = (
        "SELECT 'txn', txn_id::text, member FROM {s}.pk_txn WHERE program_id = %s "
        "UNION ALL SELECT 'posting', txn_id::text || seq, txn_member FROM {s}.pk_posting "
        "WHERE program_id = %s UNION ALL SELECT 'event', event_id::text, member "
        "FROM {s}.pk_outbox WHERE program_id = %s ORDER BY 1, 2"
    )
    with psycopg.connect(postgres_dsn) as connection:
        before, after = (
            connection.execute(members.format(s=schema), (program,) * 3).fetchall()
            for schema in (new, old)
        )
    assert len(before) == 3 + 6 + 3  # three transactions, their postings and events
    assert after == before
    assert {member for _, _, member in after} == {"alice", "bob"}
    ledger = _ledger(upgraded, program)
    assert (ledger.balance("alice").available, ledger.balance("bob").available) == (70, 20)
    assert ledger.transfer("alice", "bob", 30, key="t1").replayed
    assert ledger.audit().transactions == 3  # it raises if anything disagrees
    upgraded.close()


def test_arguments_are_checked(postgres_dsn: str) -> None:
    """A storage needs exactly one way to connect, and a plain schema name."""
    with pytest.raises(InvalidArgumentError, match=r"give exactly one of conninfo.*given: none"):
        PostgresStorage()
    with pytest.raises(InvalidArgumentError, match=r"given: \['conninfo', 'pool'\]"):
        PostgresStorage(postgres_dsn, pool=ConnectionPool(postgres_dsn, open=False))
    with pytest.raises(ArgumentTypeError, match=r"pool must be a psycopg_pool\.ConnectionPool"):
        PostgresStorage(pool=postgres_dsn)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="max_connections=0"):
        PostgresStorage(postgres_dsn, max_connections=0)
    with pytest.raises(InvalidArgumentError, match="wait_seconds=0"):
        PostgresStorage(postgres_dsn, wait_seconds=0)
    with pytest.raises(InvalidArgumentError, match=r"lock_timeout_seconds=7200 must be in \(0"):
        PostgresStorage(postgres_dsn, lock_timeout_seconds=7200)
    with pytest.raises(ArgumentTypeError, match="lock_timeout_seconds='1s' must be a number"):
        PostgresStorage(postgres_dsn, lock_timeout_seconds="1s")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="schema='Robert; DROP' must be"):
        PostgresStorage(postgres_dsn, schema="Robert; DROP")
    with pytest.raises(StorageError, match="PostgreSQL"):
        PostgresStorage("host=127.0.0.1 port=1 connect_timeout=1")


def test_posted_rows_are_append_only(postgres_dsn: str, postgres_schema: str) -> None:
    """Transactions, postings and wallet entries cannot be changed, deleted or truncated."""
    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    _ledger(storage, "append-only").earn("alice", 100, key="e1")
    s = postgres_schema
    for statement in [
        f"UPDATE {s}.pk_txn SET idem_key = 'x' WHERE program_id = 'append-only'",
        f"DELETE FROM {s}.pk_txn WHERE program_id = 'append-only'",
        f"UPDATE {s}.pk_posting SET amount = 1 WHERE program_id = 'append-only'",
        f"DELETE FROM {s}.pk_entry WHERE program_id = 'append-only'",
        f"TRUNCATE {s}.pk_posting",
    ]:
        with (
            psycopg.connect(postgres_dsn) as connection,
            pytest.raises(psycopg.errors.RaiseException, match="is append-only"),
        ):
            connection.execute(statement)
    storage.close()


def test_the_database_refuses_unbalanced_postings(postgres_dsn: str, postgres_schema: str) -> None:
    """At commit, a deferred trigger refuses a transaction whose postings do not balance."""
    s = postgres_schema
    txn = str(uuid.uuid4())
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute(
            f"INSERT INTO {s}.pk_posting (program_id, txn_member, txn_id, seq, account_kind, "
            "member, currency, phase, amount, created_at) VALUES ('p', 'm', %s, 0, 'issuance', "
            "NULL, 'points', 'posted', 5, now())",
            (txn,),
        )
        connection.execute(
            f"INSERT INTO {s}.pk_txn (program_id, txn_id, idem_key, kind, created_at, "
            "reverses, body, checksum, member) "
            "VALUES ('p', %s, 'k', 'earn', now(), NULL, '{{}}', '\\x00', 'm')",
            (txn,),
        )
        if on_citus():
            # The worker's trigger refuses the commit; the coordinator reports only that the
            # shard could not commit (the trigger's message is in the worker's log).
            with pytest.raises(psycopg.errors.InternalError, match="could not commit"):
                connection.commit()
        else:
            with pytest.raises(psycopg.errors.RaiseException, match="must sum to zero"):
                connection.commit()
    with psycopg.connect(postgres_dsn) as connection:
        written = connection.execute(
            f"SELECT (SELECT count(*) FROM {s}.pk_txn WHERE program_id = 'p'), "
            f"(SELECT count(*) FROM {s}.pk_posting WHERE program_id = 'p')"
        ).fetchone()
    assert written == (0, 0)


def test_tampered_rows_are_detected(postgres_dsn: str, postgres_schema: str) -> None:
    """Changed rows fail a checksum, a pair assertion or the audit: never a wrong balance."""
    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    ledger = _ledger(storage, "tamper")
    earned = ledger.earn("alice", 100, key="e1")
    s = postgres_schema
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"UPDATE {s}.pk_lot SET remaining = 90 WHERE program_id = 'tamper'")
        with pytest.raises(InvariantViolation, match="disagrees with its lots"):
            ledger.balance("alice")
        with pytest.raises(InvariantViolation, match="problem"):
            ledger.audit()
        # Citus keeps the triggers on each shard, named by shard: they are switched there.
        toggle = (
            f"SELECT run_command_on_shards('{s}.pk_txn', 'ALTER TABLE %s {{}} TRIGGER USER')"
            if on_citus()
            else f"ALTER TABLE {s}.pk_txn {{}} TRIGGER pk_txn_append_only"
        )
        connection.execute(toggle.format("DISABLE"))
        try:
            connection.execute(
                f"UPDATE {s}.pk_txn SET body = replace(body, '100', '900') "
                "WHERE program_id = 'tamper'"
            )
        finally:
            connection.execute(toggle.format("ENABLE"))
    with pytest.raises(InvariantViolation, match="checksum"):
        ledger.transaction(earned.id)
    storage.close()


@pytest.mark.parametrize("setting", ["session", "transaction"])
def test_lock_waits_are_transient_and_named(
    postgres_dsn: str, postgres_schema: str, setting: str
) -> None:
    """A command that cannot get its locks in time is retried, then reported with its key.

    The timeout is the server's (a session setting) or pointkit's, set per transaction.
    """
    storage = (
        PostgresStorage(f"{postgres_dsn} options='-c lock_timeout=50'", schema=postgres_schema)
        if setting == "session"
        else PostgresStorage(postgres_dsn, schema=postgres_schema, lock_timeout_seconds=0.05)
    )
    ledger = _ledger(storage, f"locks-{setting}")
    ledger.earn("alice", 10, key="e1")
    with psycopg.connect(postgres_dsn) as blocker:
        blocker.execute(
            f"SELECT * FROM {postgres_schema}.pk_wallet WHERE program_id = 'locks-{setting}' "
            "AND member = 'alice' FOR UPDATE"
        )
        with pytest.raises(TransientStorageError, match=r"redeem \(key='r1'\)") as caught:
            ledger.redeem("alice", 5, key="r1")
        assert caught.value.key == "r1"
        blocker.rollback()
    assert ledger.redeem("alice", 5, key="r1").amount == 5
    storage.close()


def test_postgres_survives_kill_9(postgres_dsn: str, postgres_schema: str) -> None:
    """50 SIGKILLs inside PostgreSQL commands: nothing half-written, every key applied once."""
    target = f"{postgres_dsn}|{postgres_schema}"
    storage = PostgresStorage(postgres_dsn, schema=postgres_schema)
    landed = crash_rounds("postgres", target, storage)
    assert landed >= 25, f"only {landed} kills landed inside the command loop"
    storage.close()


def test_the_pool_is_shared_by_threads_and_bounded(postgres_dsn: str, postgres_schema: str) -> None:
    """Threads share pointkit's pool; a unit that finds none free in time is transient."""
    storage = PostgresStorage(
        postgres_dsn, schema=postgres_schema, max_connections=2, wait_seconds=0.2
    )
    ledger = _ledger(storage, "pool")
    with ThreadPoolExecutor(max_workers=8) as workers:
        list(workers.map(lambda n: ledger.earn(f"m{n % 3}", 1, key=f"e{n}"), range(200)))
    assert 200 == sum(ledger.balance(f"m{n}").posted for n in range(3))
    with (
        storage.writing(ProgramId("pool")),
        storage.writing(ProgramId("pool")),
        pytest.raises(TransientStorageError, match=r"no connection was free within 0\.2 s"),
    ):
        ledger.balance("m0")
    assert "own pool of up to 2" in repr(storage)
    storage.close()


def test_a_host_pool_is_used_and_left_open(postgres_dsn: str, postgres_schema: str) -> None:
    """A pool the host made serves the units; closing the storage leaves it to the host."""
    with ConnectionPool(postgres_dsn, min_size=1, max_size=2) as pool:
        storage = PostgresStorage(pool=pool, schema=postgres_schema)
        ledger = _ledger(storage, "host-pool")
        ledger.earn("ann", 5, key="e1")
        storage.close()
        assert not pool.closed
        with pool.connection() as connection:
            row = connection.execute(
                f"SELECT count(*) FROM {postgres_schema}.pk_txn WHERE program_id = 'host-pool'"
            ).fetchone()
        assert row is not None
        assert 1 == row[0]
        assert "host pool" in repr(storage)
