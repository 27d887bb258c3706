"""Benchmarks: pointkit's figures beside a peer's, measured in the same run, on this machine.

Run with ``make bench``. Three parts: the in-memory ledger (below), SQLite (sqlite_bench.py)
and PostgreSQL (postgres_bench.py, when a server answers). For the in-memory ledger:

* pointkit: full commands through ``Ledger`` on ``MemoryStorage`` — argument checks, the
  idempotency lookup, sorted wallet locks, the booking core, the plan's invariant checks and the
  undo-logged write.
* floor: the same balance changes as bare dict updates with no checks, no journal and no
  idempotency. No library can be faster than this; it shows what the guarantees cost.

DESIGN.md §3.4's target for the in-memory adapter is that it is not the bottleneck: well above
20,000 postings per second. A posting is one leg; an earn or a redemption writes two.
"""

from __future__ import annotations

import gc
import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pointkit import FixedClock, Ledger, MemoryStorage


if TYPE_CHECKING:
    from collections.abc import Callable


MEMBERS = 1_000
OPERATIONS = 20_000
TARGET_POSTINGS_PER_SECOND = 20_000


def _timed(operation: Callable[[int], object], count: int) -> float:
    """Seconds to run *operation* for 0..count-1 (garbage collection paused, as timeit does)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for n in range(count):
            operation(n)
        return time.perf_counter() - start
    finally:
        gc.enable()


def _pointkit() -> dict[str, float]:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    ledger = Ledger(MemoryStorage(), clock=clock)
    rng = random.Random(7)
    members = [f"member-{n}" for n in range(MEMBERS)]
    expiry = clock.now() + timedelta(days=365)
    seconds: dict[str, float] = {}
    seconds["earn"] = _timed(
        lambda n: ledger.earn(rng.choice(members), 100, key=f"e{n}", expires_at=expiry),
        OPERATIONS,
    )
    seconds["redeem"] = _timed(
        lambda n: ledger.redeem(members[n % MEMBERS], 1, key=f"r{n}"), OPERATIONS
    )
    seconds["earn (hot member)"] = _timed(lambda n: ledger.earn("hot", 1, key=f"h{n}"), OPERATIONS)
    first = ledger.transaction_by_key("e0")
    if first is None:
        raise RuntimeError("the first earn was not recorded")
    member = first.wallet_changes[0].member
    seconds["replay (same key)"] = _timed(
        lambda _: ledger.earn(member, 100, key="e0", expires_at=expiry), OPERATIONS
    )
    ledger.audit()
    return seconds


def _floor() -> dict[str, float]:
    rng = random.Random(7)
    members = [f"member-{n}" for n in range(MEMBERS)]
    balances: defaultdict[str, int] = defaultdict(int)
    issuance = [0]

    def earn(member: str, amount: int) -> None:
        balances[member] += amount
        issuance[0] -= amount

    def redeem(member: str, amount: int) -> None:
        if balances[member] < amount:
            raise ValueError(member)
        balances[member] -= amount

    seconds: dict[str, float] = {}
    seconds["earn"] = _timed(lambda _: earn(rng.choice(members), 100), OPERATIONS)
    seconds["redeem"] = _timed(lambda n: redeem(members[n % MEMBERS], 1), OPERATIONS)
    seconds["earn (hot member)"] = _timed(lambda _: earn("hot", 1), OPERATIONS)
    seconds["replay (same key)"] = _timed(lambda _: balances.get(members[0]), OPERATIONS)
    return seconds


def _figure(value: float) -> str:
    """Rates as whole numbers, small figures (milliseconds, seconds) with a decimal."""
    return f"{value:,.0f}" if value >= _WHOLE else f"{value:,.1f}"


_WHOLE = 100


def _persistent() -> None:
    """SQLite and PostgreSQL: pointkit beside raw driver code writing the same rows."""
    import postgres_bench  # noqa: PLC0415 - bench/ is on sys.path when run as a script
    import sqlite_bench  # noqa: PLC0415

    rows: list[tuple[str, float, float | None, str, bool | None]] = list(sqlite_bench.run())
    if postgres_bench.available():
        rows += postgres_bench.run()
    else:
        print(f"(no PostgreSQL at {postgres_bench.DSN!r}: its rows are missing)")
    width = max(len(row[0]) for row in rows)
    header = (
        f"{'measure':<{width}} {'pointkit':>12} {'raw driver':>12} {'pk/raw':>7}  "
        f"{'target':<28} met"
    )
    print(header)
    print("-" * len(header))
    for what, ours, peer, target, met in rows:
        peer_text = "-" if peer is None else _figure(peer)
        ours_text = _figure(ours)
        ratio = "-" if peer is None else f"{ours / peer:.2f}x"
        verdict = "-" if met is None else ("yes" if met else "NOT met")
        print(f"{what:<{width}} {ours_text:>12} {peer_text:>12} {ratio:>7}  {target:<28} {verdict}")
    print()
    print("raw driver: plain sqlite3 / psycopg writing the same rows as pointkit, no checks.")
    print("pk/raw: pointkit's figure over the raw driver's (for p99 rows, higher is slower).")


def main() -> None:
    """Measure everything and print the tables."""
    ours = _pointkit()
    floor = _floor()
    print(f"In-memory ledger: {OPERATIONS:,} commands each, {MEMBERS:,} members")
    print(f"target (DESIGN.md §3.4): > {TARGET_POSTINGS_PER_SECOND:,} postings/s")
    print()
    header = (
        f"{'command':<20} {'pointkit cmd/s':>15} {'postings/s':>12} "
        f"{'floor cmd/s':>13} {'floor/pointkit':>15} {'target met':>11}"
    )
    print(header)
    print("-" * len(header))
    for name, seconds in ours.items():
        commands = OPERATIONS / seconds
        postings = 0.0 if name.startswith("replay") else 2 * commands
        floor_commands = OPERATIONS / floor[name]
        met = "-" if not postings else ("yes" if postings > TARGET_POSTINGS_PER_SECOND else "no")
        print(
            f"{name:<20} {commands:>15,.0f} {postings:>12,.0f} "
            f"{floor_commands:>13,.0f} {floor_commands / commands:>14,.1f}x {met:>11}"
        )
    print()
    print("floor: bare dict updates, no checks, no journal, no idempotency (not a library).")
    print("replay: a retry answered from the journal; it writes nothing, so no postings.")
    print()
    _persistent()


if __name__ == "__main__":
    main()
