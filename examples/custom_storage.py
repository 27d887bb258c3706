"""A storage of your own, proved by the conformance suite.

Run it with ``python examples/custom_storage.py``. ``TimedStorage`` wraps any storage and
measures how long each unit of work takes, the way a host adds metrics or tracing around its
database: it delegates every read and write, so the ledger's guarantees are the wrapped
storage's. ``pointkit.testing.check_storage_conformance`` then runs the golden table of every
error and the stateful suite against it, in lockstep with the in-memory reference, before the
example uses it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pointkit import FixedClock, Ledger, MemoryStorage, ProgramId
from pointkit.testing import check_storage_conformance


if TYPE_CHECKING:
    from collections.abc import Iterator

    from pointkit.ledger import ReadUnit, Storage, WriteUnit


class TimedStorage:
    """Delegates to another storage and keeps the duration of every write unit."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.seconds: list[float] = []

    @contextmanager
    def reading(self, program: ProgramId) -> Iterator[ReadUnit]:
        """A read unit of the wrapped storage."""
        with self.inner.reading(program) as unit:
            yield unit

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        """A write unit of the wrapped storage, timed; it commits or rolls back as that one does."""
        start = time.perf_counter()
        try:
            with self.inner.writing(program) as unit:
                yield unit
        finally:
            self.seconds.append(time.perf_counter() - start)


def main() -> None:
    """Prove the storage, then use it."""
    storage = TimedStorage(MemoryStorage())
    check_storage_conformance(lambda: storage, max_examples=10, stateful_step_count=30)
    print(f"conformance suite passed: {len(storage.seconds)} write units checked")

    storage.seconds.clear()
    ledger = Ledger(storage, clock=FixedClock(datetime(2026, 6, 1, tzinfo=UTC)))
    for n in range(100):
        ledger.earn("mei", 10, key=f"order-{n}")
    slowest = max(storage.seconds) * 1_000
    print(f"100 earns: {len(storage.seconds)} units, the slowest took {slowest:.2f} ms")
    print(f"balance: {ledger.balance('mei').available} points")


if __name__ == "__main__":
    main()
