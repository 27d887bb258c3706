"""Expiry runs for the conformance machine: a run to its end, and which path it takes."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from pointkit._values import ProgramId


if TYPE_CHECKING:
    from pointkit.ledger import Ledger, Storage, Transaction


__all__ = ["expire_to_end", "expires_set_based"]


def expires_set_based(storage: Storage, program: str) -> bool:
    """Whether *storage* expires lots set-based (its units have ``expire_due_lots``)."""
    with storage.reading(ProgramId(program)) as unit:
        return callable(getattr(unit, "expire_due_lots", None))


def expire_to_end(
    ledger: Ledger, limit: int
) -> tuple[tuple[Transaction, ...], int, int, tuple[tuple[str, int], ...]]:
    """Run expiry to its end in calls of *limit*: (transactions, holds, lots, points).

    Raises:
        AssertionError: If a call returns other than one transaction per hold and lot.
    """
    done: list[Transaction] = []
    holds = lots = 0
    points: defaultdict[str, int] = defaultdict(int)
    while True:
        run = ledger.expire_due(limit=limit, transactions=True)
        if len(run.transactions) != run.holds_expired + run.lots_expired:
            message = (
                f"an expiry run returned {len(run.transactions)} transactions for "
                f"{run.holds_expired} holds and {run.lots_expired} lots"
            )
            raise AssertionError(message)
        done.extend(run.transactions)
        holds += run.holds_expired
        lots += run.lots_expired
        for currency, amount in run.points_expired:
            points[currency] += amount
        if run.complete:
            return tuple(done), holds, lots, tuple(sorted(points.items()))
