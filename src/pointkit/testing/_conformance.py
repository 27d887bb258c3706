"""The conformance entry point: golden cases, then the stateful suite, on any storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from pointkit.testing._golden import CASES, run_case
from pointkit.testing._machine import ConformanceMachine


if TYPE_CHECKING:
    from collections.abc import Callable

    from pointkit.ledger import Storage


__all__ = ["check_storage_conformance"]


def check_storage_conformance(
    factory: Callable[[], Storage],
    *,
    max_examples: int | None = None,
    stateful_step_count: int | None = None,
    golden: bool = True,
) -> None:
    """Run the golden cases and the stateful suite against storages from *factory*.

    *factory* is called once per golden case and once per state-machine run; it may return the
    same storage every time, since each run works in a program of its own.

    Args:
        factory: Makes (or returns) the storage to check.
        max_examples: State-machine runs; Hypothesis's current profile decides if omitted.
        stateful_step_count: Most commands per run; the current profile decides if omitted.
        golden: Whether to run the golden table too.

    Raises:
        AssertionError: Describing the first rule the storage breaks (Hypothesis shrinks a
            failing command sequence to a short one and prints it).
    """
    if golden:
        for case in CASES:
            run_case(factory(), case)
    machine = type("StorageConformance", (ConformanceMachine,), {"factory": staticmethod(factory)})
    current = settings()
    run_state_machine_as_test(
        machine,
        settings=settings(
            current,
            max_examples=max_examples or current.max_examples,
            stateful_step_count=stateful_step_count or current.stateful_step_count,
            deadline=None,
            suppress_health_check=[*current.suppress_health_check, HealthCheck.too_slow],
        ),
    )
