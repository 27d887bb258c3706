"""PostgreSQL: postings per second and p99 latency with 8 writers, batches, and a big expiry run.

The peer is raw psycopg on the same schema doing what pointkit does for an earn, without
pointkit: lock the wallet row (``FOR NO KEY UPDATE``), insert the two postings, the transaction,
the wallet entry and the lot, update the wallet, commit. It shows what the same rows cost from
Python on this server, so the gap is pointkit's own work (checks, idempotency lookup, booking,
encoding).

Set POINTKIT_BENCH_DSN to choose the server and POINTKIT_BENCH_LOTS for the size of the expiry
run (1,000,000 by default, as in DESIGN.md §7).
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import psycopg

from pointkit import FixedClock, Ledger
from pointkit.ledger import Earn
from pointkit.ledger._codec import checksum, encode_transaction
from pointkit.storage.postgres import PostgresStorage


if TYPE_CHECKING:
    from collections.abc import Callable

DSN = os.environ.get("POINTKIT_BENCH_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")
WRITERS = 8
SECONDS = 5.0
MEMBERS = 1_000
LOTS = int(os.environ.get("POINTKIT_BENCH_LOTS", "1000000"))


def available() -> bool:
    """Whether the benchmark server answers."""
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def _writers(work: Callable[[random.Random, int], object]) -> tuple[float, float]:
    """Run *work* from WRITERS threads for SECONDS; return (calls per second, p99 ms)."""
    latencies: list[list[float]] = [[] for _ in range(WRITERS)]
    stop = time.perf_counter() + SECONDS

    def writer(index: int) -> None:
        rng = random.Random(index)
        n = 0
        while time.perf_counter() < stop:
            began = time.perf_counter()
            work(rng, index * 10_000_000 + n)
            latencies[index].append(time.perf_counter() - began)
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = [latency for per_writer in latencies for latency in per_writer]
    p99 = statistics.quantiles(every, n=100)[98] * 1000
    return len(every) / elapsed, p99


def _raw_earn(dsn: str, schema: str, body: str) -> Callable[[random.Random, int], object]:
    local = threading.local()
    digest = checksum(body)
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def earn(rng: random.Random, n: int) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = psycopg.connect(dsn)
        member = f"m{rng.randrange(MEMBERS)}"
        txn = uuid.uuid4()
        with connection.transaction():
            connection.execute(
                f"INSERT INTO {schema}.pk_wallet VALUES ('raw', %s, 'points', 0, 0, 0, 0) "
                "ON CONFLICT DO NOTHING",
                (member,),
            )
            version, posted = connection.execute(
                f"SELECT version, posted FROM {schema}.pk_wallet WHERE program_id = 'raw' "
                "AND member = %s AND currency = 'points' FOR NO KEY UPDATE",
                (member,),
            ).fetchone() or (0, 0)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {schema}.pk_posting VALUES "
                    "('raw', %s, %s, %s, %s, 'points', 'posted', %s, %s)",
                    [(txn, 0, "issuance", None, -10, at), (txn, 1, "member", member, 10, at)],
                )
            connection.execute(
                f"INSERT INTO {schema}.pk_txn VALUES ('raw', %s, %s, 'earn', %s, NULL, %s, %s)",
                (txn, f"k{n}", at, body, digest),
            )
            connection.execute(
                f"INSERT INTO {schema}.pk_entry VALUES ('raw', %s, 'points', %s, %s, %s, 0, 0, 10)",
                (member, version + 1, txn, posted + 10),
            )
            connection.execute(
                f"UPDATE {schema}.pk_wallet SET version = %s, posted = %s WHERE program_id = 'raw' "
                "AND member = %s AND currency = 'points'",
                (version + 1, posted + 10, member),
            )
            connection.execute(
                f"INSERT INTO {schema}.pk_lot VALUES ('raw', %s, %s, 'points', 10, 10, 0, 0, %s, "
                "%s, NULL, %s)",
                (txn, member, at, at, txn),
            )

    return earn


def run() -> list[tuple[str, float, float | None, str]]:
    """Measure everything; return rows (what, pointkit figure, peer figure, target)."""
    schema = f"pointkit_bench_{os.urandom(4).hex()}"
    storage = PostgresStorage(DSN, schema=schema, migrate=True)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    rows: list[tuple[str, float, float | None, str]] = []
    try:
        uniform = Ledger(storage, clock=clock, program="uniform")
        calls, p99 = _writers(
            lambda rng, n: uniform.earn(f"m{rng.randrange(MEMBERS)}", 10, key=f"u{n}")
        )
        first = uniform.transaction_by_key("u0")
        if first is None:
            message = "the first benchmark earn was not recorded"
            raise RuntimeError(message)
        body = encode_transaction(first)
        raw_calls, raw_p99 = _writers(_raw_earn(DSN, schema, body))
        rows.append(
            ("PostgreSQL, 8 writers, uniform: postings/s", 2 * calls, 2 * raw_calls, ">= 2,000/s")
        )
        rows.append(("PostgreSQL, 8 writers, uniform: p99 ms", p99, raw_p99, "<= 25 ms"))
        hot = Ledger(storage, clock=clock, program="hot")
        hot_calls, hot_p99 = _writers(lambda _rng, n: hot.earn("hot", 10, key=f"h{n}"))
        rows.append(
            ("PostgreSQL, 8 writers, one hot member: postings/s", 2 * hot_calls, None, ">= 1,500/s")
        )
        rows.append(("PostgreSQL, 8 writers, one hot member: p99 ms", hot_p99, None, "(none)"))
        batched = Ledger(storage, clock=clock, program="batched")
        batch_calls, _ = _writers(
            lambda rng, n: batched.earn_many(
                [
                    Earn(member=f"m{rng.randrange(MEMBERS)}", amount=10, key=f"b{n}-{i}")
                    for i in range(100)
                ]
            )
        )
        rows.append(
            (
                "PostgreSQL, earn_many of 100, 8 writers: postings/s",
                200 * batch_calls,
                None,
                ">= 10,000/s",
            )
        )
        rows.append(_expiry(storage, clock))
    finally:
        storage.close()
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
    return rows


def _expiry(storage: PostgresStorage, clock: FixedClock) -> tuple[str, float, float | None, str]:
    ledger = Ledger(storage, clock=clock, program="expiry")
    expires_at = clock.now() + timedelta(days=1)
    members = max(LOTS // 10, 1)
    for start in range(0, LOTS, 1_000):
        ledger.earn_many(
            [
                Earn(member=f"m{n % members}", amount=5, key=f"x{n}", expires_at=expires_at)
                for n in range(start, min(start + 1_000, LOTS))
            ]
        )
    clock.advance(timedelta(days=2))
    began = time.perf_counter()
    expired = 0
    while True:
        run = ledger.expire_due()
        expired += run.lots_expired
        if run.complete:
            break
    seconds = time.perf_counter() - began
    if expired != LOTS:
        message = f"the expiry run expired {expired} of {LOTS} lots"
        raise RuntimeError(message)
    return (f"PostgreSQL, expire {LOTS:,} lots: seconds", seconds, None, "<= 30 s for 1,000,000")
