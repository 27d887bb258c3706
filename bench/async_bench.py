"""The async API on PostgreSQL: event-loop lag while 200 requests run, and throughput.

200 concurrent requests (asyncio tasks), each a stream of earn commands through
``AsyncLedger``, on N worker threads and N pooled connections. Meanwhile a probe task asks the
event loop to wake it every millisecond and records how late it wakes: that lateness is what
every other request on the loop would wait. The peer is the sync API with the same number of
connections: N threads calling ``Ledger.earn`` directly, as a threaded service would.

Targets (the service issue): loop lag p99 <= 5 ms while the requests run, and async
throughput >= 0.9x the sync API's with the same number of connections. The run sweeps N over
POINTKIT_BENCH_CONNECTIONS (default "2,4,8"): more connections run more commands at once, and
more worker threads hold the interpreter lock more often, so the loop lags more; the table shows
where both targets hold. Set POINTKIT_BENCH_DSN to choose the server.
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
SWEEP = tuple(
    int(n) for n in os.environ.get("POINTKIT_BENCH_CONNECTIONS", "2,4,8").split(",") if n.strip()
)
REQUESTS = 200
COMMANDS = 6_000
MEMBERS = 2_000
TARGET_LAG_P99_MS = 5.0
TARGET_RATIO = 0.9


def _ledger(storage: PostgresStorage) -> Ledger:
    clock = FixedClock(datetime(2026, 6, 1, tzinfo=UTC))
    return Ledger(storage, clock=clock, program=f"bench-async-{uuid.uuid4().hex[:8]}")


def _sync_run(storage: PostgresStorage, connections: int) -> float:
    """Commands per second from *connections* threads calling the sync API."""
    ledger = _ledger(storage)
    numbers = itertools.count()

    def work(_: int) -> None:
        n = next(numbers)
        ledger.earn(f"m{n % MEMBERS}", 1, key=f"s{n}")

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as threads:
        list(threads.map(work, range(COMMANDS)))
    return COMMANDS / (time.perf_counter() - began)


async def _async_run(storage: PostgresStorage, workers: int) -> tuple[float, list[float]]:
    """Commands per second from REQUESTS tasks on *workers* threads, and the loop's lag in ms."""
    ledger = AsyncLedger(_ledger(storage), max_workers=workers)
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


def _measure(connections: int) -> tuple[float, float, float, float]:
    """Sync and async rates, and the loop lag's p50 and p99 (ms), with *connections*."""
    schema = f"bench_async_{os.getpid()}_{connections}"
    storage = PostgresStorage(DSN, schema=schema, migrate=True, max_connections=connections)
    try:
        _sync_run(storage, connections)  # warm the pool, the caches and the server
        sync_rate = statistics.median(_sync_run(storage, connections) for _ in range(3))
        async_results = [asyncio.run(_async_run(storage, connections)) for _ in range(3)]
    finally:
        storage.close()
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
    async_rate = statistics.median(rate for rate, _ in async_results)
    lags = [lag for _, samples in async_results for lag in samples]
    return sync_rate, async_rate, _percentile(lags, 0.5), _percentile(lags, 0.99)


def main() -> int:
    """Run both sides for each connection count and print them beside each other."""
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.OperationalError:
        print(f"(no PostgreSQL at {DSN!r}: the async benchmark did not run)")
        return 0
    print(f"\nAsync API on PostgreSQL: {REQUESTS} concurrent requests, {COMMANDS:,} earns per run")
    print(
        f"  {'connections':>11}  {'sync/s (peer)':>13}  {'async/s':>8}  {'ratio':>6}  "
        f"{'lag p50':>8}  {'lag p99':>8}  targets"
    )
    for connections in SWEEP:
        sync_rate, async_rate, p50, p99 = _measure(connections)
        ratio = async_rate / sync_rate
        met = p99 <= TARGET_LAG_P99_MS and ratio >= TARGET_RATIO
        print(
            f"  {connections:>11}  {sync_rate:>13,.0f}  {async_rate:>8,.0f}  {ratio:>5.2f}x  "
            f"{p50:>6.2f}ms  {p99:>6.2f}ms  {'met' if met else 'NOT met'}"
        )
    print(f"  targets: lag p99 <= {TARGET_LAG_P99_MS} ms and async >= {TARGET_RATIO}x sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
