"""The conformance suite through the async API: a sync face on :class:`AsyncLedger`.

The state machine calls a ledger; through :func:`through_async` each call goes to an
:class:`~pointkit.ledger.AsyncLedger` and is awaited on an event loop of the machine's own, so
the whole suite — golden rules, model, invariants — checks what an asyncio service gets.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, cast, final

from pointkit.ledger import AsyncLedger


if TYPE_CHECKING:
    from pointkit.ledger import Ledger


__all__ = ["through_async"]


@final
class _Blocking:
    """Each coroutine method of the async ledger, run to its end; the rest passed through."""

    def __init__(self, ledger: Ledger) -> None:
        self._async = AsyncLedger(ledger, max_workers=2)
        self._runner = asyncio.Runner()

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - whatever the ledger has
        attribute = getattr(self._async, name, None)
        if attribute is None:
            return getattr(self._async.sync, name)  # properties such as program, currency
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        def call(*args: object, **kwargs: object) -> object:
            return self._runner.run(attribute(*args, **kwargs))

        return call

    def close(self) -> None:
        self._runner.close()
        self._async.close()


def through_async(ledger: Ledger) -> Ledger:
    """*ledger*'s commands and reads, each sent through an :class:`AsyncLedger` and awaited."""
    return cast("Ledger", _Blocking(ledger))
