"""SQLite: pointkit's durable postings per second beside raw sqlite3 writing the same rows.

The peer is plain sqlite3 on the same schema and the same settings (WAL, synchronous=FULL): for
each earn it inserts exactly the rows pointkit writes (two postings, the transaction document,
the wallet entry, the wallet row, the lot) with no checks, no idempotency lookup and no
booking. It is the floor for this work on this disk; DESIGN.md §7 asks pointkit to stay within
2x of it.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pointkit import FixedClock, Ledger
from pointkit.ledger import Earn
from pointkit.ledger._codec import checksum, encode_transaction, to_micros
from pointkit.storage.sqlite import SQLiteStorage


SINGLE = 3_000
BATCHES = 60
BATCH = 100
MEMBERS = 500


def _raw_earn(db: sqlite3.Connection, n: int, at: int, body: str, digest: bytes) -> None:
    txn = n.to_bytes(16, "big")
    member = f"m{n % MEMBERS}"
    db.executemany(
        "INSERT INTO pk_posting VALUES (?, ?, ?, ?, ?, 'points', 'posted', ?, ?)",
        [("raw", txn, 0, "issuance", None, -10, at), ("raw", txn, 1, "member", member, 10, at)],
    )
    db.execute(
        "INSERT INTO pk_txn VALUES ('raw', ?, ?, 'earn', ?, NULL, ?, ?)",
        (txn, f"k{n}", at, body, digest),
    )
    version = n // MEMBERS + 1
    db.execute(
        "INSERT INTO pk_entry VALUES ('raw', ?, 'points', ?, ?, ?, 0, 0, 10)",
        (member, version, txn, 10 * version),
    )
    db.execute(
        "INSERT INTO pk_wallet VALUES ('raw', ?, 'points', ?, ?, 0, 0) ON CONFLICT DO UPDATE "
        "SET version = excluded.version, posted = excluded.posted",
        (member, version, 10 * version),
    )
    db.execute(
        "INSERT INTO pk_lot (program_id, lot_id, member, currency, amount, remaining, held, "
        "expired, earned_at, available_at, expires_at, source) "
        "VALUES ('raw', ?, ?, 'points', 10, 10, 0, 0, ?, ?, NULL, ?)",
        (txn, member, at, at, txn),
    )


def _raw(path: Path, body: str) -> dict[str, float]:
    SQLiteStorage(path).close()  # the same schema, triggers and indexes
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    at = to_micros(datetime(2026, 1, 1, tzinfo=UTC))
    digest = checksum(body)
    start = time.perf_counter()
    for n in range(SINGLE):
        db.execute("BEGIN IMMEDIATE")
        _raw_earn(db, n, at, body, digest)
        db.execute("COMMIT")
    single = time.perf_counter() - start
    start = time.perf_counter()
    for batch in range(BATCHES):
        db.execute("BEGIN IMMEDIATE")
        for n in range(BATCH):
            _raw_earn(db, SINGLE + batch * BATCH + n, at, body, digest)
        db.execute("COMMIT")
    batched = time.perf_counter() - start
    db.close()
    return {"single": 2 * SINGLE / single, "batched": 2 * BATCHES * BATCH / batched}


def _pointkit(path: Path) -> tuple[dict[str, float], str]:
    storage = SQLiteStorage(path)
    ledger = Ledger(storage, clock=FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    start = time.perf_counter()
    for n in range(SINGLE):
        ledger.earn(f"m{n % MEMBERS}", 10, key=f"s{n}")
    single = time.perf_counter() - start
    start = time.perf_counter()
    for batch in range(BATCHES):
        ledger.earn_many(
            [Earn(member=f"m{n % MEMBERS}", amount=10, key=f"b{batch}-{n}") for n in range(BATCH)]
        )
    batched = time.perf_counter() - start
    first = ledger.transaction_by_key("s0")
    if first is None:
        message = "the first benchmark earn was not recorded"
        raise RuntimeError(message)
    storage.close()
    body = encode_transaction(first)
    return {"single": 2 * SINGLE / single, "batched": 2 * BATCHES * BATCH / batched}, body


def run() -> list[tuple[str, float, float, str]]:
    """Measure both; return rows (what, pointkit postings/s, peer postings/s, target)."""
    with tempfile.TemporaryDirectory(prefix="pointkit-bench-") as folder:
        ours, body = _pointkit(Path(folder) / "pointkit.db")
        raw = _raw(Path(folder) / "raw.db", body)
    return [
        (
            "SQLite durable, 1 earn per commit",
            ours["single"],
            raw["single"],
            ">= 1,000/s and within 2x of raw",
        ),
        (
            f"SQLite durable, earn_many of {BATCH}",
            ours["batched"],
            raw["batched"],
            ">= 10,000/s",
        ),
    ]
