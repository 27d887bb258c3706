"""Running pointkit's blocking calls from asyncio, on worker threads, without a second copy.

pointkit's commands are a short pure computation between storage reads and writes. The async
API runs each whole command — the same code the sync API runs — on a worker thread, so the
event loop never waits on the database and there is no async twin of the command logic to
drift from it. A command's unit of work, its retries and its transaction stay on one thread.

:func:`offloaded` turns a method of the sync class into the async method of its async face;
an :class:`Offloader` owns the worker threads.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, TypeVar, final

from pointkit._validate import check_int, type_name
from pointkit.exceptions import ArgumentTypeError, InvalidArgumentError


if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine


__all__ = ["Offloader", "default_workers", "offloaded"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S")

WORKERS_MAX: Final = 1_000


@final
class Offloader:
    """Worker threads for an async face: its own pool, or the host's executor.

    Args:
        max_workers: Threads of its own pool: the most commands that run at once. Twice the
            cores by default, at least 2: more threads hold the interpreter lock more often,
            and the event loop wakes later. Give PostgreSQL as many connections
            (``max_connections``), so no worker waits for one.
        executor: Instead: the host's executor, used as it is and never shut down here.
        name: The threads' name prefix.
    """

    def __init__(self, *, max_workers: int | None, executor: Executor | None, name: str) -> None:
        if executor is not None and max_workers is not None:
            raise InvalidArgumentError(
                "give max_workers (pointkit's own threads) or executor (yours), not both"
            )
        if executor is not None and not isinstance(executor, Executor):
            raise ArgumentTypeError(
                f"executor must be a concurrent.futures.Executor, not {type_name(executor)}"
            )
        workers = default_workers() if max_workers is None else max_workers
        check_int("max_workers", workers, minimum=1, maximum=WORKERS_MAX)
        self._own = executor is None
        self._executor = executor or ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=name
        )
        self.max_workers = workers if executor is None else None

    @property
    def executor(self) -> Executor:
        """The executor the calls run on."""
        return self._executor

    async def call(self, function: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """Run ``function(*args, **kwargs)`` on a worker thread, in the caller's context.

        If the awaiting task is cancelled, the call still runs to its end on its thread; a
        command's outcome is then unknown to the caller, and sending it again with its key
        returns what it did.
        """
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        bound = functools.partial(context.run, function, *args, **kwargs)
        return await loop.run_in_executor(self._executor, bound)

    def close(self) -> None:
        """Let running calls end and stop the threads (never the host's executor)."""
        if self._own:
            self._executor.shutdown(wait=True)


def default_workers() -> int:
    """The worker threads an async face keeps by default: twice the cores, at least 2."""
    return max(2, 2 * (os.cpu_count() or 1))


def offloaded(
    method: Callable[Concatenate[_S, _P], _R],
) -> Callable[Concatenate[Any, _P], Coroutine[Any, Any, _R]]:
    """The async method that runs *method* on the wrapped sync object, on a worker thread.

    The async face keeps the sync object as ``_sync`` and its :class:`Offloader` as
    ``_offloader``; the method keeps *method*'s name, signature and documentation.
    """

    @functools.wraps(method)
    async def call(self: Any, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:  # noqa: ANN401
        offloader: Offloader = self._offloader
        result: _R = await offloader.call(method, self._sync, *args, **kwargs)
        return result

    return call
