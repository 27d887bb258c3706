"""The conformance entry point: golden cases, then the stateful suite, on any storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from pointkit.exceptions import InvalidArgumentError
from pointkit.testing._golden import CASES, run_case
from pointkit.testing._machine import PARTS, ConformanceMachine
from pointkit.testing._report_checks import check_report_part


if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from pointkit.ledger import Storage


__all__ = ["check_storage_conformance"]


def check_storage_conformance(
    factory: Callable[[], Storage],
    *,
    max_examples: int | None = None,
    stateful_step_count: int | None = None,
    golden: bool = True,
    parts: Collection[str] = PARTS,
    api: str = "sync",
) -> None:
    """Run the golden cases and the stateful suite against storages from *factory*.

    *factory* is called once per golden case and once per state-machine run; it may return the
    same storage every time, since each run works in a program of its own.

    Each storage part is checked on its own terms: ``accounts`` (the ledger's: wallets, lots,
    holds, the journal) always; ``records`` (earning's events, counters, streaks and budgets;
    the catalogue's, the lottery's and the exchange's records) and ``tiers`` when named in
    *parts*. A points-only adapter passes ``parts=("accounts",)``: the cases and state-machine
    rules of the other parts are left out, and nothing reads them. The optional audit reads
    and reports part are checked when the storage has them; the reports part also on a
    scripted programme, when *parts* has records and tiers.

    Args:
        factory: Makes (or returns) the storage to check.
        max_examples: State-machine runs; Hypothesis's current profile decides if omitted.
        stateful_step_count: Most commands per run; the current profile decides if omitted.
        golden: Whether to run the golden table too.
        parts: The storage parts the adapter implements; all three by default.
        api: ``"sync"`` drives the stateful suite through ``Ledger``; ``"async"`` sends every
            command and read through ``AsyncLedger`` and awaits it, as an asyncio service does.

    Raises:
        AssertionError: Describing the first rule the storage breaks (Hypothesis shrinks a
            failing command sequence to a short one and prints it).
    """
    given = frozenset(parts)
    unknown = sorted(given - set(PARTS))
    if unknown or "accounts" not in given:
        raise InvalidArgumentError(
            f"parts={sorted(given)!r} must include 'accounts' and name only {list(PARTS)!r}"
            + (f"; {unknown!r} are unknown" if unknown else "")
        )
    if api not in ("sync", "async"):
        raise InvalidArgumentError(f"api={api!r} must be 'sync' or 'async'")
    if golden:
        for case in CASES:
            if case.parts <= given:
                run_case(factory(), case, tiers="tiers" in given)
        if {"records", "tiers"} <= given:  # the scripted programme needs every feature
            check_report_part(factory)
    machine = type(
        "StorageConformance",
        (ConformanceMachine,),
        {"factory": staticmethod(factory), "parts": given, "api": api},
    )
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
