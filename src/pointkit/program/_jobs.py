"""The scheduled jobs a programme needs, as one call each: for cron, Celery, or a manage.py.

``expire_all`` runs the expiry job to its end: batches of :meth:`Program.run_expiry` until
nothing is due, each batch committing as it goes, so a run that is interrupted loses nothing and
is simply run again, and two runs at once process each hold and lot once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pointkit import limits
from pointkit._validate import check_int


if TYPE_CHECKING:
    from pointkit.ledger import ExpiryRun
    from pointkit.program._program import Program


__all__ = ["BATCHES_MAX", "expire_all", "expiry_summary"]

BATCHES_MAX: Final = 1_000
"""The most batches one job takes by default before it stops and says that more are due."""


def expire_all(
    program: Program, *, limit: int = limits.EXPIRY_BATCH_MAX, max_batches: int = BATCHES_MAX
) -> tuple[ExpiryRun, ...]:
    """Release timed-out holds and expire due points, batch by batch, until none is due.

    Args:
        program: The programme.
        limit: Holds and lots per batch (at most ``limits.EXPIRY_BATCH_MAX``).
        max_batches: Stop after this many batches, even if more are due (the last run then
            is not ``complete``: run the job again).

    Returns:
        Each batch's run, in order.
    """
    check_int("max_batches", max_batches, minimum=1, maximum=10**9)
    runs = [program.run_expiry(limit=limit)]
    while not runs[-1].complete and len(runs) < max_batches:
        runs.append(program.run_expiry(limit=limit))
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
