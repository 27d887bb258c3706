"""The async API: the sync code on worker threads, the event loop free while storage works."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from conftest import adapter_examples
from pointkit import FixedClock, InsufficientPointsError, Ledger, MemoryStorage, Money
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError
from pointkit.ledger import AsyncLedger
from pointkit.program import AsyncProgram, Program, load_config
from pointkit.rules import Event
from pointkit.testing import check_storage_conformance


if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from pointkit.ledger import ReadUnit, Storage, WriteUnit


MALL = Path(__file__).parent.parent / "src" / "pointkit" / "program" / "points_mall.toml"
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def _ledger(storage: Storage) -> Ledger:
    return Ledger(storage, clock=FixedClock(START), program=f"async-{uuid.uuid4().hex[:8]}")


class _Gate:
    """A storage whose units of work wait at a gate: a unit blocks its thread until opened."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.gate = threading.Event()

    def reading(self, program: Any) -> AbstractContextManager[ReadUnit]:  # noqa: ANN401
        return self.inner.reading(program)

    def writing(self, program: Any) -> AbstractContextManager[WriteUnit]:  # noqa: ANN401
        self.entered.set()
        if not self.gate.wait(timeout=10):
            raise AssertionError("the gate was never opened: the event loop was blocked")
        return self.inner.writing(program)


def test_a_command_waiting_on_storage_leaves_the_event_loop_free() -> None:
    """While a command blocks in storage, other coroutines run, and one of them unblocks it."""
    gate = _Gate(MemoryStorage())
    ledger = AsyncLedger(_ledger(gate))

    async def main() -> int:
        earning = asyncio.create_task(ledger.earn("ann", 5, key="e1"))
        # The loop goes on while the worker waits at the gate; had the call blocked the loop,
        # this would never run, the gate would stay shut and the worker would fail.
        await asyncio.to_thread(gate.entered.wait, 10)
        gate.gate.set()
        await earning
        return (await ledger.balance("ann")).posted

    assert 5 == asyncio.run(main())
    ledger.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_concurrent_commands_land_once_each(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """200 concurrent earns and redeems: each lands once, balances add up, the audit passes."""
    if kind == "memory":
        storage: Storage = MemoryStorage()
    elif kind == "sqlite":
        from pointkit.storage.sqlite import SQLiteStorage  # noqa: PLC0415

        storage = SQLiteStorage(tmp_path / "points.db")
    else:
        storage = request.getfixturevalue("postgres_storage")
    ledger = AsyncLedger(_ledger(storage), max_workers=8)

    async def main() -> None:
        await asyncio.gather(
            *(ledger.earn(f"m{n % 5}", 10, key=f"e{n}") for n in range(200)),
        )
        results = await asyncio.gather(
            *(ledger.redeem(f"m{n % 5}", 3, key=f"r{n}") for n in range(200)),
            *(ledger.earn(f"m{n % 5}", 10, key=f"e{n}") for n in range(50)),  # resent
        )
        assert sum(1 for result in results if result.replayed) == 50

    asyncio.run(main())
    sync = ledger.sync
    assert [sync.balance(f"m{n}").posted for n in range(5)] == [280] * 5
    assert 400 == sync.audit().transactions
    ledger.close()


def test_errors_and_results_are_the_sync_apis() -> None:
    """The same exceptions and results as the sync API; arguments are checked the same way."""
    sync = _ledger(MemoryStorage())
    ledger = AsyncLedger(sync)

    async def main() -> None:
        with pytest.raises(InsufficientPointsError, match="member 'ann' has 0 points available"):
            await ledger.redeem("ann", 5, key="r1")
        with pytest.raises(ArgumentTypeError, match=r"amount=1\.5 must be an int"):
            await ledger.earn("ann", 1.5, key="e1")  # type: ignore[arg-type]
        earned = await ledger.earn("ann", 5, key="e2")
        assert earned == sync.transaction_by_key("e2")

    asyncio.run(main())
    ledger.close()


def test_the_callers_context_goes_with_the_call() -> None:
    """Context variables (a request id, a trace) are seen by the code on the worker thread."""
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    seen: list[str] = []
    storage = MemoryStorage()

    class _Seeing:
        def reading(self, program: Any) -> AbstractContextManager[ReadUnit]:  # noqa: ANN401
            return storage.reading(program)

        def writing(self, program: Any) -> AbstractContextManager[WriteUnit]:  # noqa: ANN401
            seen.append(request_id.get("none"))
            return storage.writing(program)

    ledger = AsyncLedger(_ledger(_Seeing()))

    async def main() -> None:
        request_id.set("req-42")
        await ledger.earn("ann", 1, key="e1")

    asyncio.run(main())
    assert ["req-42"] == seen
    ledger.close()


def test_a_cancelled_call_still_completes_and_its_key_replays() -> None:
    """A request cancelled while its command runs: the command lands, a resend replays it."""
    gate = _Gate(MemoryStorage())
    ledger = AsyncLedger(_ledger(gate))

    async def main() -> object:
        task = asyncio.create_task(ledger.earn("ann", 7, key="e1"))
        await asyncio.to_thread(gate.entered.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gate.gate.set()
        return await ledger.earn("ann", 7, key="e1")  # the resend: lands once with the first

    again = asyncio.run(main())
    ledger.close()  # waits for the abandoned call to end
    assert again == ledger.sync.transaction_by_key("e1")
    assert 7 == ledger.sync.balance("ann").posted


def test_a_program_runs_every_feature_through_asyncio(any_storage: Storage) -> None:
    """Events, offers, draws, conversions, tiers and linked units, awaited, on each adapter."""
    config = attrs.evolve(load_config(MALL), id=f"async-{uuid.uuid4().hex[:8]}")
    program = AsyncProgram(Program(config, storage=any_storage, clock=FixedClock(START)))

    def welcome(link: Any) -> None:  # noqa: ANN401 - a Linked
        link.adjust("ann", 60_000, key="gift", reason="welcome")
        link.earn("bob", 3_000, key="gift-bob")

    async def main() -> None:
        purchase = Event.purchase("o1", "ann", START, amount=Money("800.00", "CNY"), order_id="o1")
        recorded = await program.record(purchase)
        assert recorded.outcome.transactions
        await program.run_linked(welcome)
        coupon = await program.redeem("ann", "coupon", key="buy-1")
        await program.fulfil(coupon.key, key="ship-1")
        from pointkit.pricing import SeededRandom  # noqa: PLC0415

        await program.draw("ann", "wheel", draw_id="d1", minor=False, random=SeededRandom(3))
        await program.convert("ann", "points-to-miles", 2_000, key="c1")
        await program.transfer("ann", "bob", 500, key="t1")
        assert (await program.ledger.balance("bob")).posted == 3_500
        await program.audit()

    asyncio.run(main())
    assert program.sync.balance("bob").posted == 3_500
    program.close()


def test_workers_are_checked_and_a_host_executor_is_left_running() -> None:
    """Either threads of its own or the host's executor, which it never shuts down."""
    with pytest.raises(InvalidArgumentError, match="max_workers=0"):
        AsyncLedger(_ledger(MemoryStorage()), max_workers=0)
    with pytest.raises(ArgumentTypeError, match="must be a Ledger"):
        AsyncLedger("ledger")  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=2) as executor:
        with pytest.raises(InvalidArgumentError, match="not both"):
            AsyncLedger(_ledger(MemoryStorage()), max_workers=2, executor=executor)
        ledger = AsyncLedger(_ledger(MemoryStorage()), executor=executor)

        async def main() -> int:
            async with ledger:
                await ledger.earn("ann", 1, key="e1")
            return (await asyncio.wrap_future(executor.submit(lambda: 1))) + 0

        assert 1 == asyncio.run(main())  # the host's executor still runs after the ledger closed


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_the_conformance_suite_passes_through_the_async_api(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The stateful suite, every command and read awaited through AsyncLedger."""
    if kind == "memory":
        storage: Storage = MemoryStorage()
    elif kind == "sqlite":
        from pointkit.storage.sqlite import SQLiteStorage  # noqa: PLC0415

        storage = SQLiteStorage(tmp_path / "points.db")
    else:
        storage = request.getfixturevalue("postgres_storage")
    check_storage_conformance(
        lambda: storage, max_examples=adapter_examples() // 2, golden=False, api="async"
    )


def test_the_conformance_api_is_checked() -> None:
    """Only the two APIs there are."""
    with pytest.raises(InvalidArgumentError, match="api='trio' must be 'sync' or 'async'"):
        check_storage_conformance(MemoryStorage, api="trio")


def test_the_default_workers_are_twice_the_cores() -> None:
    """Without max_workers an async face keeps twice the cores in threads, at least two."""
    from pointkit._offload import Offloader, default_workers  # noqa: PLC0415 - internal

    offloader = Offloader(max_workers=None, executor=None, name="test")
    try:
        assert max(2, 2 * (os.cpu_count() or 1)) == default_workers() == offloader.max_workers
    finally:
        offloader.close()
