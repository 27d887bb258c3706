"""Simulation runs in worker processes: each run whole in one process, its days counted back.

A forecast's runs (one per programme and seed) share nothing: each builds its own programme on
its own memory storage from its seed. So :func:`run_all` can hand them to a pool of processes,
one run to a worker at a time, and collect the runs in the order asked; a run computes the same
figures in any process (tests/test_simulate.py holds a pool's runs to one process's). Workers
are started with ``spawn`` on every platform: a fresh interpreter, which a host's threads and
open connections cannot leak into. So, as for any ``multiprocessing`` pool, a script that asks
for workers must start from a ``if __name__ == "__main__":`` block.

Each worker reports every finished day on a queue the pool inherits; the caller's progress is
told the days done over all runs as they arrive.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Final, final

import attrs

from pointkit.simulate._engine import simulate_run


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import date
    from multiprocessing.queues import SimpleQueue

    from pointkit.program import ProgramConfig
    from pointkit.simulate._engine import Run
    from pointkit.simulate._population import Population


__all__ = ["RunJob", "run_all"]

_POLL_SECONDS: Final = 0.1
"""How often the caller drains the workers' finished days while it waits for runs."""


@final
@attrs.frozen
class RunJob:
    """One run to make: a programme over a population under a seed, as ``simulate_run`` takes."""

    config: ProgramConfig
    population: Population
    members: int
    days: int
    start: date
    seed: int

    def run(self, progress: Callable[[int], object] | None = None) -> Run:
        """Make the run here, telling *progress* the days done after each day."""
        return simulate_run(
            self.config,
            self.population,
            members=self.members,
            days=self.days,
            start=self.start,
            seed=self.seed,
            progress=progress,
        )


def run_all(
    jobs: Sequence[RunJob], *, workers: int, progress: Callable[[int], object] | None
) -> list[Run]:
    """Make every run of *jobs*, in this process or in up to *workers* worker processes.

    Args:
        jobs: The runs to make.
        workers: The most processes to run them in; 1 (or a single job) runs them here, one
            after another.
        progress: Called with the days done over all runs, after each simulated day.

    Returns:
        The runs, in the order of *jobs*.
    """
    if workers == 1 or len(jobs) == 1:
        return _here(jobs, progress)
    context = multiprocessing.get_context("spawn")
    days: SimpleQueue[int] | None = None if progress is None else context.SimpleQueue()
    done = 0
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_started,
        initargs=(days,),
    ) as pool:
        futures = [pool.submit(_run, job) for job in jobs]
        waiting = set(futures)
        while waiting:
            _, waiting = wait(waiting, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            if days is not None and progress is not None:
                # A worker puts a run's last day before it returns the run, so once every run
                # is back the queue holds every day.
                while not days.empty():
                    done += days.get()
                    progress(done)
        return [future.result() for future in futures]


def _here(jobs: Sequence[RunJob], progress: Callable[[int], object] | None) -> list[Run]:
    """The runs made in this process, one after another."""
    runs: list[Run] = []
    before = 0
    for job in jobs:
        runs.append(job.run(None if progress is None else _after(progress, before)))
        before += job.days
    return runs


def _after(progress: Callable[[int], object], before: int) -> Callable[[int], object]:
    return lambda days: progress(before + days)


# The worker's queue of finished days, set when the worker starts (None: nobody listens).
_DAYS: list[SimpleQueue[int] | None] = [None]


def _started(days: SimpleQueue[int] | None) -> None:
    """Start a worker: keep the queue its finished days go to."""
    _DAYS[0] = days


def _run(job: RunJob) -> Run:
    """Make *job*'s run in a worker."""
    days = _DAYS[0]
    return job.run(None if days is None else lambda _: days.put(1))
