"""PostgreSQL: postings per second and p99 latency with 8 writers, and batches.

The peer is raw psycopg on the same schema doing what pointkit does for an earn, without
pointkit: lock the wallet row (``FOR NO KEY UPDATE``), insert the two postings, the transaction,
the wallet entry, the lot and the outbox event that reports the earn, update the wallet,
commit. It shows what the same rows cost from
Python on this server, so the gap is pointkit's own work (checks, idempotency lookup, booking,
encoding).

pointkit and the peer run in turns (three of each, SECONDS / 3 long), so a busy machine slows
both alike. Set POINTKIT_BENCH_DSN to choose the server and POINTKIT_BENCH_SECONDS for how long
each measure runs (6 s by default). With POINTKIT_BENCH_CITUS=1 or =member (the DSN naming a
Citus coordinator) the schema is distributed with ``citus_distribution`` first, by program or by
member, as docs/scaling.md says.
The expiry run over 1,000,000 lots is bench/expiry_bench.py.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import psycopg

from pointkit import FixedClock, Ledger
from pointkit.ledger import Earn
from pointkit.ledger._codec import checksum, encode_transaction
from pointkit.ledger._outbox import transaction_event
from pointkit.storage.postgres import PostgresStorage, citus_distribution


if TYPE_CHECKING:
    from collections.abc import Callable

UNIFORM_TARGET = 0.8  # issue 18: postings/s at least 0.8x raw psycopg writing the same rows
P99_TARGET_MS = 25
HOT_TARGET = 1_500  # postings/s on one member
BATCH_TARGET = 10_000  # postings/s with earn_many of 100
DSN = os.environ.get("POINTKIT_BENCH_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")
WRITERS = 8
SECONDS = float(os.environ.get("POINTKIT_BENCH_SECONDS", "6"))
ROUNDS = 3
MEMBERS = 1_000


def available() -> bool:
    """Whether the benchmark server answers."""
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def _writers(
    work: Callable[[random.Random, int], object], seconds: float = SECONDS, first: int = 0
) -> tuple[int, float, list[float]]:
    """Run *work* from WRITERS threads for *seconds*; return (calls, elapsed, latencies).

    Call numbers start at *first* for each writer, so slices of one run never repeat a key.
    """
    latencies: list[list[float]] = [[] for _ in range(WRITERS)]
    stop = time.perf_counter() + seconds

    def writer(index: int) -> None:
        rng = random.Random(index + first)
        n = first
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
    return len(every), elapsed, every


def _rate(work: Callable[[random.Random, int], object]) -> tuple[float, float]:
    """Calls per second and p99 ms of *work* run for SECONDS."""
    calls, elapsed, every = _writers(work)
    return calls / elapsed, _p99(every)


def _p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000


def _alternating(
    ours: Callable[[random.Random, int], object], peer: Callable[[random.Random, int], object]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Run *ours* and *peer* in turns of SECONDS / ROUNDS each, so load on the machine hits both.

    Returns ((calls per second, p99 ms) of ours, the same of the peer).
    """
    totals: dict[str, tuple[int, float, list[float]]] = {"ours": (0, 0.0, []), "peer": (0, 0.0, [])}
    for turn in range(ROUNDS):
        for name, work in (("ours", ours), ("peer", peer)):
            calls, elapsed, every = _writers(work, SECONDS / ROUNDS, first=turn * 1_000_000)
            done, took, latencies = totals[name]
            totals[name] = (done + calls, took + elapsed, latencies + every)
    ours_calls, ours_time, ours_latencies = totals["ours"]
    peer_calls, peer_time, peer_latencies = totals["peer"]
    return (
        (ours_calls / ours_time, _p99(ours_latencies)),
        (peer_calls / peer_time, _p99(peer_latencies)),
    )


def _raw_earn(
    dsn: str, schema: str, body: str, event: str
) -> Callable[[random.Random, int], object]:
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
                    "('raw', %s, %s, %s, %s, 'points', 'posted', %s, %s, %s)",
                    [
                        (txn, 0, "issuance", None, -10, at, member),
                        (txn, 1, "member", member, 10, at, member),
                    ],
                )
            connection.execute(
                f"INSERT INTO {schema}.pk_txn VALUES ('raw', %s, %s, 'earn', %s, NULL, %s, %s, %s)",
                (txn, f"k{n}", at, body, digest, member),
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
            connection.execute(
                f"INSERT INTO {schema}.pk_outbox (program_id, member, event_id, type, version, "
                "occurred_at, data) VALUES ('raw', %s, %s, 'points.earned', 1, %s, %s)",
                (member, uuid.uuid4(), at, event),
            )

    return earn


def run() -> list[tuple[str, float, float | None, str, bool | None]]:
    """Measure everything; return rows (what, pointkit figure, peer figure, target, met)."""
    schema = f"pointkit_bench_{os.urandom(4).hex()}"
    PostgresStorage(DSN, schema=schema, migrate=True).close()
    layout = {"1": "program", "program": "program", "member": "member"}.get(
        os.environ.get("POINTKIT_BENCH_CITUS", "")
    )
    if layout is not None:
        with psycopg.connect(DSN, autocommit=True) as connection:
            for statement in citus_distribution(schema, by=layout):
                connection.execute(statement)
    # Opened after the distribution: the storage reads the layout when it opens.
    storage = PostgresStorage(DSN, schema=schema)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    rows: list[tuple[str, float, float | None, str, bool | None]] = []
    try:
        uniform = Ledger(storage, clock=clock, program="uniform")
        uniform.earn("m0", 10, key="u-first")
        first = uniform.transaction_by_key("u-first")
        if first is None:
            message = "the first benchmark earn was not recorded"
            raise RuntimeError(message)
        body, event = encode_transaction(first), transaction_event(first).body()
        (calls, p99), (raw_calls, raw_p99) = _alternating(
            lambda rng, n: uniform.earn(f"m{rng.randrange(MEMBERS)}", 10, key=f"u{n}"),
            _raw_earn(DSN, schema, body, event),
        )
        rows.append(
            (
                "PostgreSQL, 8 writers, uniform: postings/s",
                2 * calls,
                2 * raw_calls,
                f">= {UNIFORM_TARGET}x raw",
                calls >= UNIFORM_TARGET * raw_calls,
            )
        )
        rows.append(
            (
                "PostgreSQL, 8 writers, uniform: p99 ms",
                p99,
                raw_p99,
                f"<= {P99_TARGET_MS} ms",
                p99 <= P99_TARGET_MS,
            )
        )
        hot = Ledger(storage, clock=clock, program="hot")
        hot_calls, hot_p99 = _rate(lambda _rng, n: hot.earn("hot", 10, key=f"h{n}"))
        rows.append(
            (
                "PostgreSQL, 8 writers, one hot member: postings/s",
                2 * hot_calls,
                None,
                f">= {HOT_TARGET:,}/s",
                2 * hot_calls >= HOT_TARGET,
            )
        )
        rows.append(
            ("PostgreSQL, 8 writers, one hot member: p99 ms", hot_p99, None, "(none)", None)
        )
        batched = Ledger(storage, clock=clock, program="batched")
        batch_calls, _ = _rate(
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
                f">= {BATCH_TARGET:,}/s",
                200 * batch_calls >= BATCH_TARGET,
            )
        )
    finally:
        storage.close()
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
    return rows
