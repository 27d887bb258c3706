"""The async API on PostgreSQL: event-loop lag while 200 requests run, and throughput.

200 concurrent requests (asyncio tasks), each a stream of earn commands through
``AsyncLedger``, on 10 worker threads and 10 pooled connections. Meanwhile a probe task asks the
event loop to wake it every millisecond and records how late it wakes: that lateness is what
every other request on the loop would wait. The peer is the sync API with the same number of
connections: 10 threads calling ``Ledger.earn`` directly, as a threaded service would.

Targets (the service issue): loop lag p99 <= 5 ms while the requests run, and async
throughput >= 0.9x the sync API's. Set POINTKIT_BENCH_DSN to choose the server and
POINTKIT_BENCH_ASYNC_WORKERS for the async side's worker threads (the connections by default):
fewer workers hold the interpreter lock less often, so the loop lags less, but run fewer commands
at once.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg

from pointkit import FixedClock, Ledger
from pointkit.ledger import AsyncLedger
from pointkit.storage.postgres import PostgresStorage


DSN = os.environ.get("POINTKIT_BENCH_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")
CONNECTIONS = 10
WORKERS = int(os.environ.get("POINTKIT_BENCH_ASYNC_WORKERS", str(CONNECTIONS)))
REQUESTS = 200
COMMANDS = 6_000
MEMBERS = 2_000
TARGET_LAG_P99_MS = 5.0
TARGET_RATIO = 0.9


def _ledger(storage: PostgresStorage) -> Ledger:
    clock = FixedClock(datetime(2026, 6, 1, tzinfo=UTC))
    return Ledger(storage, clock=clock, program=f"bench-async-{uuid.uuid4().hex[:8]}")


def _sync_run(storage: PostgresStorage) -> float:
    """Commands per second from CONNECTIONS threads calling the sync API."""
    ledger = _ledger(storage)
    numbers = itertools.count()

    def work(_: int) -> None:
        n = next(numbers)
        ledger.earn(f"m{n % MEMBERS}", 1, key=f"s{n}")

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONNECTIONS) as threads:
        list(threads.map(work, range(COMMANDS)))
    return COMMANDS / (time.perf_counter() - began)


async def _async_run(storage: PostgresStorage) -> tuple[float, list[float]]:
    """Commands per second from REQUESTS tasks, and the loop's lag samples in ms."""
    ledger = AsyncLedger(_ledger(storage), max_workers=WORKERS)
    numbers = itertools.count()
    lags: list[float] = []
    running = True

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while running:
            asked = loop.time()
            await asyncio.sleep(0.001)
            lags.append((loop.time() - asked - 0.001) * 1_000)

    async def request(_: int) -> None:
        while (n := next(numbers)) < COMMANDS:
            await ledger.earn(f"m{n % MEMBERS}", 1, key=f"a{n}")

    watcher = asyncio.create_task(probe())
    began = time.perf_counter()
    await asyncio.gather(*(request(index) for index in range(REQUESTS)))
    elapsed = time.perf_counter() - began
    running = False
    await watcher
    ledger.close()
    return COMMANDS / elapsed, lags


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    """Run both sides and print them beside each other; the exit status says if targets hold."""
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.OperationalError:
        print(f"(no PostgreSQL at {DSN!r}: the async benchmark did not run)")
        return 0
    schema = f"bench_async_{os.getpid()}"
    storage = PostgresStorage(DSN, schema=schema, migrate=True, max_connections=CONNECTIONS)
    try:
        _sync_run(storage)  # warm the pool, the caches and the server
        sync_rate = statistics.median(_sync_run(storage) for _ in range(3))
        async_results = [asyncio.run(_async_run(storage)) for _ in range(3)]
    finally:
        storage.close()
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
    async_rate = statistics.median(rate for rate, _ in async_results)
    lags = [lag for _, samples in async_results for lag in samples]
    p50, p99, worst = _percentile(lags, 0.5), _percentile(lags, 0.99), max(lags)
    ratio = async_rate / sync_rate
    print(
        f"\nAsync API on PostgreSQL: {REQUESTS} concurrent requests, {CONNECTIONS} connections, "
        f"{WORKERS} async workers (POINTKIT_BENCH_ASYNC_WORKERS)"
    )
    print(f"  {'':<34}{'commands/s':>12}")
    print(f"  {'pointkit AsyncLedger (200 tasks)':<34}{async_rate:>12,.0f}")
    print(f"  {'pointkit Ledger (10 threads, peer)':<34}{sync_rate:>12,.0f}")
    print(f"  async / sync: {ratio:.2f}x (target >= {TARGET_RATIO}x)")
    print(
        f"  event-loop lag while they run: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"worst {worst:.2f} ms over {len(lags):,} wake-ups (target p99 <= {TARGET_LAG_P99_MS} ms)"
    )
    met = p99 <= TARGET_LAG_P99_MS and ratio >= TARGET_RATIO
    print(f"  targets {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
