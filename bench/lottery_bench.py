"""Lottery draws per second: batch simulation beside the usual samplers, and draws through the ledger.

Run with ``make bench``. Two parts, measured in the same run:

* Batch simulation of the research example's table (a phone, a coupon, 500 points back and a
  participation prize, out of 10,000): ``Lottery.simulate`` with a seeded source (exact integer
  sampling, each draw its own uniform integer below the common denominator and a binary search)
  beside ``random.choices`` (float cumulative weights, the standard library) and, when NumPy is
  installed, ``numpy.random.Generator.choice`` (vectorised C over float probabilities). The
  peers sample floats: their odds are only as exact as the float weights. Also: the same
  simulation with a pity guarantee and stock, where every draw's odds depend on the member's
  counter and the stock left.
* Draws on a ledger (``Draws.draw``) on memory and on a durable SQLite file: each draw locks
  the wallet and the stock rows, reads the counters, builds the odds, draws, and commits the
  transaction, the stock, the counters and the record in one unit of work. Beside it, ``Ledger.redeem`` of
  the same cost: the plain ledger write a draw cannot be cheaper than.

DESIGN.md section 7's targets: at least 1,000,000 draws per second in batch simulation, and a
draw's cost dominated by the ledger write.
"""

from __future__ import annotations

import gc
import random
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from pointkit import FixedClock, Ledger, MemoryStorage, Money
from pointkit.features import Draws
from pointkit.pricing import Lottery, Pity, Prize, SeededRandom, Valuation
from pointkit.storage.sqlite import SQLiteStorage


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage


BATCH = 2_000_000
LEDGER_DRAWS = {"memory": 5_000, "sqlite": 2_000}
TARGET_DRAWS_PER_SECOND = 1_000_000
TABLE = {"phone": 10, "coupon": 100, "back": 1_000, "thanks": 8_890}  # out of 10,000


def _lottery(*, pity: bool) -> Lottery:
    return Lottery(
        "wheel",
        "Lucky wheel",
        1_000,
        [
            Prize(
                "phone",
                "Phone",
                Fraction(10, 10_000),
                cost=Money(3_000, "CNY"),
                stock=500 if pity else None,
                fallback="coupon" if pity else None,
            ),
            Prize("coupon", "Coupon", Fraction(100, 10_000), kind="coupon", cost=Money(100, "CNY")),
            Prize("back", "500 back", Fraction(1_000, 10_000), kind="points", points=500),
            Prize("thanks", "50 back", Fraction(8_890, 10_000), kind="points", points=50),
        ],
        pity=Pity(["phone", "coupon"], hard=50) if pity else None,
        valuation=Valuation(100, Money(1, "CNY")),
    )


def _timed(run: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    finally:
        gc.enable()


def _best(run: Callable[[], object], repeat: int = 3) -> float:
    return min(_timed(run) for _ in range(repeat))


def _batch() -> list[tuple[str, float]]:
    plain, banner = _lottery(pity=False), _lottery(pity=True)
    rows = [
        (
            "pointkit Lottery.simulate (exact integers)",
            _best(lambda: plain.simulate(BATCH, random=SeededRandom(1))),
        ),
        (
            "pointkit Lottery.simulate, pity and stock",
            _best(lambda: banner.simulate(BATCH, random=SeededRandom(1), members=1_000), 1),
        ),
    ]
    names, weights = list(TABLE), [float(weight) for weight in TABLE.values()]
    rng = random.Random(1)
    rows.append(
        (
            "random.choices (float weights)",
            _best(lambda: Counter(rng.choices(names, weights=weights, k=BATCH))),
        )
    )
    try:
        import numpy as np  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415 - an optional peer from the bench extra
    except ImportError:  # pragma: no cover - without the bench extra
        return rows
    generator = np.random.default_rng(1)
    probabilities = np.array(weights) / sum(weights)
    rows.append(
        (
            "numpy Generator.choice (float p, vectorised C)",
            _best(lambda: np.bincount(generator.choice(len(names), size=BATCH, p=probabilities))),
        )
    )
    return rows


def _through_ledger(storage: Storage, count: int) -> tuple[float, float]:
    """Seconds for *count* draws and for *count* redemptions of the same cost."""
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    ledger = Ledger(storage, clock=clock)
    draws = Draws(ledger)
    lottery = _lottery(pity=True)
    members = [f"m{n}" for n in range(100)]
    for member in members:
        ledger.earn(member, 2_000 * count, key=f"seed-{member}")
    source = SeededRandom(5)
    draw_seconds = _timed(
        lambda: [
            draws.draw(members[n % 100], lottery, draw_id=f"d{n}", minor=False, random=source)
            for n in range(count)
        ]
    )
    redeem_seconds = _timed(
        lambda: [ledger.redeem(members[n % 100], 1_000, key=f"r{n}") for n in range(count)]
    )
    ledger.audit()
    return draw_seconds, redeem_seconds


def main() -> None:
    """Print the table."""
    print(f"Lottery, batch simulation: {BATCH:,} draws, best of 3")
    print(f"  {'sampler':<48} {'draws/s':>12}")
    rows = _batch()
    for name, seconds in rows:
        print(f"  {name:<48} {BATCH / seconds:>12,.0f}")
    ours = BATCH / rows[0][1]
    met = "met" if ours >= TARGET_DRAWS_PER_SECOND else "NOT met"
    print(f"  target >= {TARGET_DRAWS_PER_SECOND:,} draws/s: {met} ({ours:,.0f})")
    print()
    print("Lottery, draws through the ledger (pity, stock, counters and record per draw)")
    print(f"  {'storage':<10} {'draws':>7} {'draws/s':>10} {'redeems/s':>10} {'draw/redeem':>12}")
    with tempfile.TemporaryDirectory() as folder:
        storages: dict[str, Storage] = {
            "memory": MemoryStorage(),
            "sqlite": SQLiteStorage(Path(folder) / "bench.db"),
        }
        for name, storage in storages.items():
            count = LEDGER_DRAWS[name]
            draws, redeems = _through_ledger(storage, count)
            print(
                f"  {name:<10} {count:>7,} {count / draws:>10,.0f} {count / redeems:>10,.0f} "
                f"{draws / redeems:>11.2f}x"
            )
            close = getattr(storage, "close", None)
            if close is not None:
                close()


if __name__ == "__main__":
    main()
