"""The Program for asyncio: every command and read of :class:`Program`, awaitable.

Each call runs the sync program's own code on a worker thread (see :mod:`pointkit._offload`):
the same rules, checks, units of work, retries, results and errors, with the event loop free
while the database works. For FastAPI, Starlette, aiohttp and every other asyncio service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ParamSpec, TypeVar, final

from pointkit._offload import Offloader, offloaded
from pointkit._validate import type_name
from pointkit.exceptions import ArgumentTypeError
from pointkit.ledger import AsyncLedger
from pointkit.program._program import Program


if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Executor
    from types import TracebackType

    from pointkit.clock import Clock
    from pointkit.program._config import ProgramConfig


__all__ = ["AsyncProgram"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


@final
class AsyncProgram:
    """A :class:`Program` for asyncio: each method is the program's, awaited.

    >>> import asyncio
    >>> from datetime import UTC, datetime
    >>> from pointkit import FixedClock, MemoryStorage
    >>> from pointkit.program import ProgramConfig
    >>> mall = Program(ProgramConfig(id="mall", zone="Asia/Shanghai"), storage=MemoryStorage(), clock=FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))
    >>> async def main() -> int:
    ...     async with AsyncProgram(mall) as program:
    ...         await program.adjust("alice", 100, key="welcome", reason="welcome gift")
    ...         return (await program.balance("alice")).available
    >>> asyncio.run(main())
    100

    Each call runs on one of the worker threads; a call the awaiting task abandons (a
    cancelled request) still runs to its end, and sending it again with its key returns what
    it did. Several commands in one unit of work: :meth:`run_linked` runs a (sync) function on
    a link, on one worker thread.

    Args:
        program: The program to run.
        max_workers: Worker threads of its own (twice the cores by default): the most calls at once. On
            PostgreSQL give the storage as many connections (``max_connections``).
        executor: Instead: a ``concurrent.futures.Executor`` of the host's.
    """

    def __init__(
        self, program: Program, *, max_workers: int | None = None, executor: Executor | None = None
    ) -> None:
        if not isinstance(program, Program):
            raise ArgumentTypeError(
                f"program={program!r} must be a Program, not {type_name(program)}"
            )
        self._sync = program
        self._offloader = Offloader(max_workers=max_workers, executor=executor, name="pointkit")
        self._ledger = AsyncLedger(program.ledger, executor=self._offloader.executor)

    def __repr__(self) -> str:
        return f"AsyncProgram({self._sync!r})"

    @property
    def sync(self) -> Program:
        """The program behind it, for code that runs on a thread of its own (a job, a CLI)."""
        return self._sync

    @property
    def ledger(self) -> AsyncLedger:
        """The ledger under the program, awaitable, on the same worker threads."""
        return self._ledger

    @property
    def config(self) -> ProgramConfig:
        """The configuration."""
        return self._sync.config

    @property
    def clock(self) -> Clock:
        """The clock."""
        return self._sync.clock

    async def __aenter__(self) -> AsyncProgram:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def run_sync(
        self, function: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Run a sync *function* of the host's on the program's worker threads.

        For work that must stay on one thread: a request's own transaction on a connection of
        the host's, with a :class:`Program` on ``PostgresStorage(connection=...)`` inside it.
        """
        return await self._offloader.call(function, *args, **kwargs)

    def close(self) -> None:
        """Let running calls end and stop the worker threads (not a host's executor)."""
        self._offloader.close()

    member = offloaded(Program.member)
    tier_status = offloaded(Program.tier_status)
    review_tier = offloaded(Program.review_tier)
    set_tier = offloaded(Program.set_tier)
    tier_history = offloaded(Program.tier_history)
    record = offloaded(Program.record)
    refund_event = offloaded(Program.refund_event)
    offers_for = offloaded(Program.offers_for)
    redeem = offloaded(Program.redeem)
    fulfil = offloaded(Program.fulfil)
    cancel = offloaded(Program.cancel)
    refund = offloaded(Program.refund)
    redemption = offloaded(Program.redemption)
    offer_sold = offloaded(Program.offer_sold)
    draw = offloaded(Program.draw)
    disclosure = offloaded(Program.disclosure)
    odds = offloaded(Program.odds)
    draw_record = offloaded(Program.draw_record)
    pity = offloaded(Program.pity)
    lottery_sold = offloaded(Program.lottery_sold)
    transfer = offloaded(Program.transfer)
    convert = offloaded(Program.convert)
    reverse = offloaded(Program.reverse)
    adjust = offloaded(Program.adjust)
    run_expiry = offloaded(Program.run_expiry)
    balance = offloaded(Program.balance)
    statement = offloaded(Program.statement)
    upcoming_expiries = offloaded(Program.upcoming_expiries)
    expiring = offloaded(Program.expiring)
    lots = offloaded(Program.lots)
    hold = offloaded(Program.hold)
    transaction = offloaded(Program.transaction)
    transaction_by_key = offloaded(Program.transaction_by_key)
    system_balance = offloaded(Program.system_balance)
    outstanding = offloaded(Program.outstanding)
    audit = offloaded(Program.audit)
    run_linked = offloaded(Program.run_linked)
    transactions = offloaded(Program.transactions)
    members = offloaded(Program.members)
    record_of = offloaded(Program.record_of)
