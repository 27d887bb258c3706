"""SQLite: pointkit's durable postings per second beside raw sqlite3 writing the same rows.

The peer is plain sqlite3 on the same schema and the same settings (WAL, synchronous=FULL): for
each earn it inserts exactly the rows pointkit writes (two postings, the transaction document,
the wallet entry, the wallet row, the lot and the outbox event that reports the earn) with no
checks, no idempotency lookup and no booking. The rows carry the ids pointkit gives them
(time-ordered, then hashed: a batch's ids share their instant, so they land all over the
B-trees, as pointkit's do), worked out before the clock starts. It is the floor for this work on this disk;
DESIGN.md §7 asks pointkit to stay within 2x of it for single earns, and issue 18 asks
earn_many to reach half the peer's rate (0.5x).

The two run interleaved, round by round, each on its own database file: the machine's noise
(other processes, the disk) falls on both alike. Each figure is the median of the rounds.

Run alone with ``python bench/sqlite_bench.py``; ``bench/run.py`` prints the same rows.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pointkit import FixedClock, Ledger
from pointkit.ledger import Earn
from pointkit.ledger._codec import checksum, encode_transaction, to_micros
from pointkit.ledger._outbox import event_id, transaction_event
from pointkit.ledger._records import lot_id_for, transaction_id_for
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Callable


ROUNDS = 5
SINGLE = 600  # single earns per round
BATCHES = 12  # earn_many calls per round
BATCH = 100
MEMBERS = 500
SINGLE_TARGET = 0.5  # within 2x of raw
BATCH_TARGET = 0.5  # issue 18: earn_many at least half the raw rate
_AT = datetime(2026, 1, 1, tzinfo=UTC)


class _Raw:
    """Plain sqlite3 writing, per earn, the rows pointkit writes for it."""

    def __init__(self, path: Path, body: str, event: str, earns: int) -> None:
        SQLiteStorage(path).close()  # the same schema, triggers and indexes
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._at = to_micros(_AT)
        self._body = body
        self._digest = checksum(body)
        self._event = event
        self._count = 0
        self._versions: dict[str, int] = {}
        self._ids: list[tuple[bytes, bytes, bytes]] = []
        for n in range(earns):
            txn = transaction_id_for(f"k{n}", _AT)
            lot = lot_id_for(txn, 0, _AT)
            self._ids.append((txn.bytes, lot.bytes, event_id("points.earned", str(txn)).bytes))

    def _earn(self) -> None:
        n = self._count
        self._count += 1
        db = self._db
        at = self._at
        txn, lot, event = self._ids[n]
        member = f"m{n % MEMBERS}"
        db.executemany(
            "INSERT INTO pk_posting VALUES (?, ?, ?, ?, ?, 'points', 'posted', ?, ?)",
            [("raw", txn, 0, "issuance", None, -10, at), ("raw", txn, 1, "member", member, 10, at)],
        )
        db.execute(
            "INSERT INTO pk_txn VALUES ('raw', ?, ?, 'earn', ?, NULL, ?, ?)",
            (txn, f"k{n}", at, self._body, self._digest),
        )
        version = self._versions.get(member, 0) + 1
        self._versions[member] = version
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
            (lot, member, at, at, txn),
        )
        db.execute(
            "INSERT INTO pk_outbox (program_id, seq, event_id, type, version, occurred_at, data) "
            "VALUES ('raw', ?, ?, 'points.earned', 1, ?, ?)",
            (n + 1, event, at, self._event),
        )

    def single(self) -> None:
        db = self._db
        for _ in range(SINGLE):
            db.execute("BEGIN IMMEDIATE")
            self._earn()
            db.execute("COMMIT")

    def batched(self) -> None:
        db = self._db
        for _ in range(BATCHES):
            db.execute("BEGIN IMMEDIATE")
            for _ in range(BATCH):
                self._earn()
            db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


class _Pointkit:
    """pointkit's Ledger on SQLiteStorage: the same earns, through every check."""

    def __init__(self, path: Path) -> None:
        self._storage = SQLiteStorage(path)
        self.ledger = Ledger(self._storage, clock=FixedClock(_AT))
        self._count = 0

    def single(self) -> None:
        earn = self.ledger.earn
        for _ in range(SINGLE):
            n = self._count
            self._count += 1
            earn(f"m{n % MEMBERS}", 10, key=f"s{n}")

    def batched(self) -> None:
        for _ in range(BATCHES):
            start = self._count
            self._count += BATCH
            self.ledger.earn_many(
                [
                    Earn(member=f"m{n % MEMBERS}", amount=10, key=f"b{n}")
                    for n in range(start, start + BATCH)
                ]
            )

    def close(self) -> None:
        self._storage.close()


def _timed(work: Callable[[], None]) -> tuple[float, float]:
    """Seconds *work* took: on the wall clock, and of this process's CPU."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure() -> dict[str, float]:
    """Earns per second of each side, single and batched: medians of interleaved rounds.

    Also each side's CPU microseconds per earn (``cpu ...``): on a shared machine the wall
    clock counts the time other processes ran; the CPU time does not (the disk's waits
    are in neither side's CPU time).
    """
    with tempfile.TemporaryDirectory(prefix="pointkit-bench-") as folder:
        ours = _Pointkit(Path(folder) / "pointkit.db")
        first = ours.ledger.earn("m0", 10, key="first")  # what the peer's rows look like
        earns = (1 + ROUNDS) * (SINGLE + BATCHES * BATCH)
        raw = _Raw(
            Path(folder) / "raw.db",
            encode_transaction(first),
            transaction_event(first).body(),
            earns,
        )
        ours.batched()  # warm-up: each side's wallets exist before the timed rounds
        raw.batched()
        times: dict[str, list[tuple[float, float]]] = {
            f"{side} {name}": [] for side in ("pointkit", "raw") for name in ("single", "batched")
        }
        for _ in range(ROUNDS):
            times["pointkit single"].append(_timed(ours.single))
            times["raw single"].append(_timed(raw.single))
            times["pointkit batched"].append(_timed(ours.batched))
            times["raw batched"].append(_timed(raw.batched))
        ours.close()
        raw.close()
    count = {"single": SINGLE, "batched": BATCHES * BATCH}
    figures: dict[str, float] = {}
    for measured, rounds in times.items():
        earned = count[measured.split()[1]]
        figures[measured] = earned / statistics.median(wall for wall, _ in rounds)
        figures[f"cpu {measured}"] = statistics.median(cpu for _, cpu in rounds) / earned * 1e6
    return figures


def run() -> list[tuple[str, float, float, str, bool]]:
    """Measure both; return rows (what, pointkit postings/s, peer postings/s, target, met)."""
    rates = measure()
    rows = []
    for what, name, floor, target in (
        ("SQLite durable, 1 earn per commit", "single", 1_000, SINGLE_TARGET),
        (f"SQLite durable, earn_many of {BATCH}", "batched", 10_000, BATCH_TARGET),
    ):
        ours, raw = 2 * rates[f"pointkit {name}"], 2 * rates[f"raw {name}"]
        wanted = f">= {floor:,}/s and >= {target}x raw"
        rows.append((what, ours, raw, wanted, ours >= floor and ours >= target * raw))
    return rows


def main() -> None:
    """Print earns per second, each beside the peer's, the ratio and the target."""
    rates = measure()
    print(f"SQLite, WAL, synchronous=FULL; median of {ROUNDS} interleaved rounds")
    header = (
        f"{'measure':<20} {'pointkit earns/s':>17} {'raw earns/s':>12} "
        f"{'pointkit/raw':>13} {'target':>8} {'met':>4} {'CPU us/earn pk | raw':>21}"
    )
    print(header)
    print("-" * len(header))
    for name, label, target in (
        ("single", "1 earn per commit", SINGLE_TARGET),
        ("batched", f"earn_many of {BATCH}", BATCH_TARGET),
    ):
        ours, peer = rates[f"pointkit {name}"], rates[f"raw {name}"]
        ratio = ours / peer
        met = "yes" if ratio >= target else "no"
        cpu = f"{rates[f'cpu pointkit {name}']:.0f} | {rates[f'cpu raw {name}']:.0f}"
        print(
            f"{label:<20} {ours:>17,.0f} {peer:>12,.0f} {ratio:>12.2f}x "
            f"{f'>= {target}x':>8} {met:>4} {cpu:>21}"
        )
    print("(postings/s are twice earns/s: an earn is two postings)")


if __name__ == "__main__":
    main()
