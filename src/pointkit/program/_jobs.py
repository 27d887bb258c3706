"""The scheduled jobs a programme needs, as one call each: for cron, Celery, or a manage.py.

``expire_all`` runs the expiry job to its end: batches of :meth:`Program.run_expiry` until
nothing is due, each batch committing as it goes, so a run that is interrupted loses nothing and
is simply run again, and two runs at once process each hold and lot once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pointkit import limits
from pointkit._validate import check_int
from pointkit.ledger import remind_expiring


if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import timedelta

    from pointkit.ledger import ExpiryRun
    from pointkit.program._program import Program


__all__ = ["BATCHES_MAX", "expire_all", "expiry_summary", "remind", "remind_summary"]

BATCHES_MAX: Final = 1_000
"""The most batches one job takes by default before it stops and says that more are due."""


def expire_all(
    program: Program,
    *,
    limit: int = limits.EXPIRY_BATCH_MAX,
    max_batches: int = BATCHES_MAX,
    progress: Callable[[Sequence[ExpiryRun]], object] | None = None,
) -> tuple[ExpiryRun, ...]:
    """Release timed-out holds and expire due points, batch by batch, until none is due.

    Args:
        program: The programme.
        limit: Holds and due lots per batch (at most ``limits.EXPIRY_BATCH_MAX``; a member's
            due lots expire together, so a batch can expire more).
        max_batches: Stop after this many batches, even if more are due (the last run then
            is not ``complete``: run the job again).
        progress: Called with the runs so far after each batch (a progress line on a
            terminal: ``pointkit expire`` draws one).

    Returns:
        Each batch's run, in order.
    """
    check_int("max_batches", max_batches, minimum=1, maximum=10**9)
    runs = [program.run_expiry(limit=limit)]
    if progress is not None:
        progress(runs)
    while not runs[-1].complete and len(runs) < max_batches:
        runs.append(program.run_expiry(limit=limit))
        if progress is not None:
            progress(runs)
    return tuple(runs)


def _count(number: int, one: str, many: str) -> str:
    return f"{number:,} {one if number == 1 else many}"


def expiry_summary(runs: tuple[ExpiryRun, ...] | list[ExpiryRun]) -> str:
    """One line saying what *runs* (one job's batches, in order) did, as of when."""
    points: dict[str, int] = {}
    for run in runs:
        for currency, amount in run.points_expired:
            points[currency] = points.get(currency, 0) + amount
    expired = ", ".join(f"{amount:,} {currency}" for currency, amount in sorted(points.items()))
    line = (
        f"pointkit expiry as of {runs[0].as_of.isoformat()}: "
        f"{_count(sum(run.lots_expired for run in runs), 'lot', 'lots')} expired "
        f"({expired or 'no points'}), "
        f"{_count(sum(run.holds_expired for run in runs), 'timed-out hold', 'timed-out holds')} "
        f"released, in {_count(len(runs), 'batch', 'batches')}"
    )
    if not runs[-1].complete:
        line += "; more are due: run it again"
    return line


def remind(program: Program, within: timedelta) -> tuple[int, int]:
    """Write ``points.expiring`` events for points that expire within *within* from now.

    One per member, currency and expiry instant, ever: run it daily; a second run (or a second
    worker) writes nothing the first wrote. Relays deliver the events (SMS, push, e-mail).

    Returns:
        ``(reminders due, events written now)``.
    """
    due, written = 0, 0
    for currency in program.config.currencies:
        found = remind_expiring(program.ledger, within, currency=currency.code)
        due, written = due + found[0], written + found[1]
    return due, written


def remind_summary(within: timedelta, due: int, written: int) -> str:
    """One line saying what a reminder run did."""
    return (
        f"pointkit reminders for points expiring within {within.days} days: "
        f"{_count(due, 'member expiry', 'member expiries')} due, "
        f"{_count(written, 'event', 'events')} written ({due - written:,} sent before)"
    )
