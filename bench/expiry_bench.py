"""Expiry: 1,000,000 due lots expired on SQLite and on PostgreSQL, beside the 30 s target.

Each adapter is timed on the set-based path (the lots expired in SQL, what ``expire_due`` uses
on these adapters) over POINTKIT_BENCH_LOTS lots (1,000,000 by default), and on the Python
path (a booking and a plan per wallet, what the ledger uses with a seal key or on a storage
without set-based expiry) over a sample of POINTKIT_BENCH_SAMPLE lots (20,000), measured in
the same run; both are reported as lots per second too, so they compare. Both programs are
loaded first and the sample runs first, so both start on a database of the same size; the big
run then grows the journal as it goes, which slows its second half (on SQLite most), so its
average rate is the conservative one.

The lots are loaded in SQL, ten per member, 5 points each, due one after another (a member's
ten expire in one transaction, so a million lots make 100,000 expiry transactions): the rows an
expiry run reads — lots, wallets and each wallet's journal entries (version 1 to 10) — and not
the earn transactions and postings that made them, which expiry never reads (and which would
take earn_many minutes to write). With POINTKIT_BENCH_LOAD=earn the lots are loaded through
``earn_many`` instead, every row real. Each run then checks that every lot expired and that
the expired account holds every point. Schemas and files are dropped afterwards.

Set POINTKIT_BENCH_DSN to choose the PostgreSQL server, POINTKIT_BENCH_ADAPTERS to run one
adapter only (``sqlite`` or ``postgres``).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from pointkit import FixedClock, Ledger
from pointkit.ledger import AccountKind, Earn
from pointkit.ledger._codec import to_micros
from pointkit.storage.postgres import PostgresStorage
from pointkit.storage.sqlite import SQLiteStorage
from pointkit.testing._expiry_runs import PythonPlanned


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage

DSN = os.environ.get("POINTKIT_BENCH_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")
LOTS = int(os.environ.get("POINTKIT_BENCH_LOTS", "1000000"))
SAMPLE = int(os.environ.get("POINTKIT_BENCH_SAMPLE", "20000"))
LOAD = os.environ.get("POINTKIT_BENCH_LOAD", "sql")
ADAPTERS = os.environ.get("POINTKIT_BENCH_ADAPTERS", "sqlite,postgres").split(",")
PER_MEMBER = 10
POINTS = 5
TARGET_SECONDS = 30.0
SCHEMA = "pk_bench_expiry"
START = datetime(2026, 1, 1, tzinfo=UTC)
EXPIRES = START + timedelta(days=1)


def _load_sqlite(path: Path, program: str, lots: int) -> None:
    """Write *lots* due lots, their wallets and entries straight into the SQLite file."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        earned, expires = to_micros(START), to_micros(EXPIRES)
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
            "INSERT INTO pk_lot (program_id, lot_id, member, currency, amount, remaining, held, "
            "expired, earned_at, available_at, expires_at, source, follows_activity) "
            "SELECT ?, randomblob(16), 'm' || (i / ?), 'points', ?, ?, 0, 0, ?, ?, ? + i, "
            "randomblob(16), 0 FROM n",
            (lots, program, PER_MEMBER, POINTS, POINTS, earned, earned, expires),
        )
        members = -(-lots // PER_MEMBER)
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
            "INSERT INTO pk_entry (program_id, member, currency, version, txn_id, posted, held, "
            "debt, posted_change) SELECT ?, 'm' || (i / ?), 'points', i % ? + 1, "
            "randomblob(16), (i % ? + 1) * ?, 0, 0, ? FROM n",
            (lots, program, PER_MEMBER, PER_MEMBER, PER_MEMBER, POINTS, POINTS),
        )
        db.execute(
            "INSERT INTO pk_wallet (program_id, member, currency, version, posted, held, debt) "
            "SELECT program_id, member, currency, MAX(version), MAX(posted), 0, 0 FROM pk_entry "
            "WHERE program_id = ? GROUP BY member, currency",
            (program,),
        )
        db.execute("COMMIT")
        if members * PER_MEMBER != lots:
            print(f"(the last member holds {lots % PER_MEMBER} lots)", file=sys.stderr)
    finally:
        db.close()


def _load_postgres(program: str, lots: int) -> None:
    """Write *lots* due lots, their wallets and entries straight into the bench schema."""
    with psycopg.connect(DSN) as db:
        db.execute(
            f"INSERT INTO {SCHEMA}.pk_lot (program_id, lot_id, member, currency, amount, "
            "remaining, held, expired, earned_at, available_at, expires_at, source, "
            "follows_activity) SELECT %s, gen_random_uuid(), 'm' || (i / %s), 'points', %s, %s, "
            "0, 0, %s, %s, %s + i * interval '1 microsecond', gen_random_uuid(), false "
            "FROM generate_series(0, %s - 1) AS i",
            (program, PER_MEMBER, POINTS, POINTS, START, START, EXPIRES, lots),
        )
        db.execute(
            f"INSERT INTO {SCHEMA}.pk_entry (program_id, member, currency, version, txn_id, "
            "posted, held, debt, posted_change) SELECT %s, 'm' || (i / %s), 'points', "
            "i %% %s + 1, gen_random_uuid(), (i %% %s + 1) * %s, 0, 0, %s "
            "FROM generate_series(0, %s - 1) AS i",
            (program, PER_MEMBER, PER_MEMBER, PER_MEMBER, POINTS, POINTS, lots),
        )
        db.execute(
            f"INSERT INTO {SCHEMA}.pk_wallet (program_id, member, currency, version, posted, "
            f"held, debt) SELECT program_id, member, currency, MAX(version), MAX(posted), 0, 0 "
            f"FROM {SCHEMA}.pk_entry WHERE program_id = %s GROUP BY program_id, member, currency",
            (program,),
        )
        db.execute(f"ANALYZE {SCHEMA}.pk_lot")
        db.execute(f"ANALYZE {SCHEMA}.pk_wallet")
        db.execute(f"ANALYZE {SCHEMA}.pk_entry")


def _load_earn(ledger: Ledger, lots: int) -> None:
    for start in range(0, lots, 1_000):
        ledger.earn_many(
            [
                Earn(
                    member=f"m{n // PER_MEMBER}",
                    amount=POINTS,
                    key=f"x{n}",
                    expires_at=EXPIRES + timedelta(microseconds=n),
                )
                for n in range(start, min(start + 1_000, lots))
            ]
        )


def _expire(storage: Storage, program: str, lots: int, *, set_based: bool) -> tuple[float, float]:
    """Expire every due lot of *program*; return its seconds and this process's CPU seconds.

    The run is checked: every lot expired, every point in the expired account. On SQLite the
    CPU seconds are nearly all the run's; on PostgreSQL the server's are not counted.
    """
    clock = FixedClock(EXPIRES + timedelta(days=1))
    ledger = Ledger(storage if set_based else PythonPlanned(storage), clock=clock, program=program)
    began, cpu = time.perf_counter(), time.process_time()
    expired = 0
    while True:
        run = ledger.expire_due()
        expired += run.lots_expired
        if run.complete:
            break
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    points = ledger.system_balance(AccountKind.EXPIRED).posted
    if (expired, points) != (lots, lots * POINTS):
        message = f"expired {expired} of {lots} lots, {points} of {lots * POINTS} points"
        raise RuntimeError(message)
    return seconds, cpu


def _row(
    name: str, lots: int, seconds: float, cpu: float, target: str
) -> tuple[str, str, str, str, str]:
    return (name, f"{seconds:,.1f} s", f"{cpu:,.1f} s", f"{lots / seconds:,.0f} lots/s", target)


def sqlite_rows() -> list[tuple[str, str, str, str, str]]:
    """The SQLite figures: the set-based run over LOTS, the Python path over SAMPLE."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "expiry.db"
        storage = SQLiteStorage(path)
        try:
            return _measure(
                storage, "SQLite", lambda program, lots: _load_sqlite(path, program, lots)
            )
        finally:
            storage.close()


def _measure(
    storage: Storage, adapter: str, load: Callable[[str, int], None]
) -> list[tuple[str, str, str, str, str]]:
    """Load both programs, then time the Python path's sample and the set-based run.

    Both runs see a database of the same size: the sample is loaded after the big program, and
    its run goes first.
    """
    for program, lots in (("sql", LOTS), ("python", SAMPLE)):
        if LOAD == "earn":
            _load_earn(Ledger(storage, clock=FixedClock(START), program=program), lots)
        else:
            load(program, lots)
    rows = []
    for program, lots, set_based in (("python", SAMPLE, False), ("sql", LOTS, True)):
        seconds, cpu = _expire(storage, program, lots, set_based=set_based)
        label = "set-based" if set_based else "Python plan"
        target = f"<= {TARGET_SECONDS:.0f} s for 1,000,000" if set_based else "(peer)"
        rows.append(_row(f"{adapter}, {label}, {lots:,} lots", lots, seconds, cpu, target))
    return rows


def postgres_rows() -> list[tuple[str, str, str, str, str]]:
    """The PostgreSQL figures: the set-based run over LOTS, the Python path over SAMPLE."""
    with psycopg.connect(DSN, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    storage = PostgresStorage(DSN, schema=SCHEMA, migrate=True)
    try:
        return _measure(storage, "PostgreSQL", _load_postgres)
    finally:
        storage.close()
        with psycopg.connect(DSN, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def main() -> None:
    """Print the figures; PostgreSQL is skipped if its server does not answer."""
    rows = sqlite_rows() if "sqlite" in ADAPTERS else []
    if "postgres" in ADAPTERS:
        try:
            psycopg.connect(DSN, connect_timeout=3).close()
        except psycopg.OperationalError:
            rows.append(("PostgreSQL", "skipped", "", "no server at POINTKIT_BENCH_DSN", ""))
        else:
            rows.extend(postgres_rows())
    width = max(len(row[0]) for row in rows)
    print(f"{'expiry run':<{width}}  {'time':>10}  {'cpu':>10}  {'rate':>16}  target")
    for name, seconds, cpu, rate, target in rows:
        print(f"{name:<{width}}  {seconds:>10}  {cpu:>10}  {rate:>16}  {target}")


if __name__ == "__main__":
    main()
