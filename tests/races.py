"""Run calls at once from many threads, for the concurrency tests on every adapter."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def race(calls: Sequence[Callable[[], object]]) -> list[object]:
    """Run every call at once from its own thread; return results or raised errors."""
    barrier = threading.Barrier(len(calls))

    def start(call: Callable[[], object]) -> object:
        barrier.wait()
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test compares
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(start, calls))
