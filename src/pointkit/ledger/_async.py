"""The ledger for asyncio: every command and read of :class:`Ledger`, awaitable.

Each call runs the sync ledger's own code on a worker thread (see :mod:`pointkit._offload`):
the same checks, the same unit of work and retries, the same results and errors, and the event
loop is free while the database works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, final

from pointkit._offload import Offloader, offloaded
from pointkit._validate import type_name
from pointkit.exceptions import ArgumentTypeError
from pointkit.ledger._ledger import Ledger


if TYPE_CHECKING:
    from concurrent.futures import Executor
    from types import TracebackType

    from pointkit.clock import Clock
    from pointkit.ledger._storage import Storage


__all__ = ["AsyncLedger"]


@final
class AsyncLedger:
    """A :class:`Ledger` for asyncio: each method is the ledger's, awaited.

    >>> import asyncio
    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, Ledger, MemoryStorage
    >>> async def main() -> int:
    ...     async with AsyncLedger(Ledger(MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))) as ledger:
    ...         await ledger.earn("alice", 500, key="order-1001")
    ...         balance = await ledger.balance("alice")
    ...     return balance.available
    >>> asyncio.run(main())
    500

    Several commands in one unit of work: :meth:`run_linked` runs a (sync) function on a link,
    on one worker thread.

    Args:
        ledger: The ledger to run.
        max_workers: Worker threads of its own (twice the cores by default): the most commands at once. On
            PostgreSQL give the storage as many connections.
        executor: Instead: a ``concurrent.futures.Executor`` of the host's.
    """

    def __init__(
        self, ledger: Ledger, *, max_workers: int | None = None, executor: Executor | None = None
    ) -> None:
        if not isinstance(ledger, Ledger):
            raise ArgumentTypeError(f"ledger={ledger!r} must be a Ledger, not {type_name(ledger)}")
        self._sync = ledger
        self._offloader = Offloader(max_workers=max_workers, executor=executor, name="pointkit")

    def __repr__(self) -> str:
        return f"AsyncLedger({self._sync!r})"

    @property
    def sync(self) -> Ledger:
        """The ledger behind it, for code that runs on a thread of its own."""
        return self._sync

    @property
    def storage(self) -> Storage:
        """The storage."""
        return self._sync.storage

    @property
    def clock(self) -> Clock:
        """The clock."""
        return self._sync.clock

    async def __aenter__(self) -> AsyncLedger:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Let running commands end and stop the worker threads (not a host's executor)."""
        self._offloader.close()

    earn = offloaded(Ledger.earn)
    earn_many = offloaded(Ledger.earn_many)
    redeem = offloaded(Ledger.redeem)
    reserve = offloaded(Ledger.reserve)
    capture = offloaded(Ledger.capture)
    release = offloaded(Ledger.release)
    transfer = offloaded(Ledger.transfer)
    reverse = offloaded(Ledger.reverse)
    adjust = offloaded(Ledger.adjust)
    expire_due = offloaded(Ledger.expire_due)
    run_linked = offloaded(Ledger.run_linked)
    balance = offloaded(Ledger.balance)
    lots = offloaded(Ledger.lots)
    upcoming_expiries = offloaded(Ledger.upcoming_expiries)
    expiring = offloaded(Ledger.expiring)
    statement = offloaded(Ledger.statement)
    hold = offloaded(Ledger.hold)
    transaction = offloaded(Ledger.transaction)
    transaction_by_key = offloaded(Ledger.transaction_by_key)
    system_balance = offloaded(Ledger.system_balance)
    audit = offloaded(Ledger.audit)
    outstanding = offloaded(Ledger.outstanding)
