"""PostgreSQL storage under faults: backends terminated in the middle of writes.

Skipped without a server, mandatory under CI=true.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pointkit import FixedClock, Ledger
from pointkit.exceptions import StorageError
from pointkit.storage.postgres import PostgresStorage


if TYPE_CHECKING:
    from collections.abc import Iterator

    from psycopg.rows import TupleRow


TERMINATIONS_MIN = 20
KILLING_SECONDS = 3.0
KILL_INTERVAL_SECONDS = 0.05
COMMANDS_AFTER = 50  # sent after the last termination: every one of them must succeed
COMMANDS_AFTER_SECONDS_MAX = 5.0


@pytest.fixture
def faults_schema(postgres_dsn: str) -> Iterator[str]:
    """A migrated schema of this test's own, dropped afterwards."""
    schema = f"pointkit_faults_{os.urandom(4).hex()}"
    PostgresStorage(postgres_dsn, schema=schema, migrate=True).close()
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


class _Earner(threading.Thread):
    """Earns for one member in a loop, each earn with a key of its own, noting each outcome."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__()
        self.ledger = ledger
        self.amounts: dict[str, int] = {}
        self.succeeded: list[str] = []
        self.failed: list[str] = []
        self.after_faults: list[str] = []  # keys first sent once the faults had ended, in order
        self.unexpected: list[BaseException] = []
        self.faults = threading.Event()
        self.faults.set()
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            key, amount, during_faults = f"earn-{n}", n % 7 + 1, self.faults.is_set()
            self.amounts[key] = amount
            n += 1
            try:
                self.ledger.earn("alice", amount, key=key)
            except StorageError:
                self.failed.append(key)
            except BaseException as error:  # noqa: BLE001 - ends the loop; the test asserts on it
                self.unexpected.append(error)
                return
            else:
                self.succeeded.append(key)
            if not during_faults:
                self.after_faults.append(key)

    def finish(self) -> None:
        """End the faults, let COMMANDS_AFTER more earns through (or time out), and stop."""
        self.faults.clear()
        deadline = time.monotonic() + COMMANDS_AFTER_SECONDS_MAX
        while len(self.after_faults) < COMMANDS_AFTER and self.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.stop.set()
        self.join()


def _ledger(storage: PostgresStorage) -> Ledger:
    return Ledger(storage, clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), program="faults")


def _terminate_backends(admin: psycopg.Connection[TupleRow], application: str) -> int:
    """Terminate the backends of *application* every KILL_INTERVAL_SECONDS; return how many."""
    terminated = 0
    end = time.monotonic() + KILLING_SECONDS
    while time.monotonic() < end:
        row = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (application,),
        ).fetchone()
        terminated += row[0] if row else 0
        time.sleep(KILL_INTERVAL_SECONDS)
    return terminated


def test_terminated_backends_are_replaced_and_commands_retried(
    postgres_dsn: str, faults_schema: str
) -> None:
    """Backends killed under a writing thread: it recovers, and every earn is written once."""
    application = f"pointkit_faults_{os.getpid()}"
    storage = PostgresStorage(
        make_conninfo(postgres_dsn, application_name=application), schema=faults_schema
    )
    earner = _Earner(_ledger(storage))
    earner.start()
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        try:
            terminated = _terminate_backends(admin, application)
        finally:
            earner.finish()
        rows = admin.execute(
            f"SELECT idem_key, count(*) FROM {faults_schema}.pk_txn "  # noqa: S608 - a generated schema name
            "WHERE program_id = 'faults' GROUP BY idem_key"
        ).fetchall()
    storage.close()
    amounts, succeeded, failed = earner.amounts, earner.succeeded, earner.failed
    # Checked on connections of its own: the faults also ended this thread's idle connection.
    checker = PostgresStorage(postgres_dsn, schema=faults_schema)
    ledger = _ledger(checker)

    assert [] == earner.unexpected
    # The thread goes on once the faults end: its lost connection was replaced, not reused.
    assert len(earner.after_faults) >= COMMANDS_AFTER
    assert [] == [key for key in earner.after_faults[-COMMANDS_AFTER:] if key in set(failed)]
    assert terminated >= TERMINATIONS_MIN, f"only {terminated} backends were terminated"
    assert sorted(amounts) == sorted(succeeded + failed)
    written: dict[str, int] = dict(rows)
    assert {} == {key: count for key, count in written.items() if count != 1}
    assert set() == set(written) - set(amounts)
    assert [] == [key for key in succeeded if key not in written]
    # A failed earn may still have committed: the connection was lost during its COMMIT.
    unknown = {key for key in failed if key in written}
    expected = sum(amounts[key] for key in succeeded) + sum(amounts[key] for key in unknown)
    assert expected == ledger.balance("alice").posted
    # Sent again with its key, a failed earn replays if it had committed and is written now if
    # it had not: never twice.
    replayed = {key for key in failed if ledger.earn("alice", amounts[key], key=key).replayed}
    assert unknown == replayed
    assert sum(amounts.values()) == ledger.balance("alice").posted
    assert len(amounts) == ledger.audit().transactions
    checker.close()
