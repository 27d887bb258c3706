"""Expiry runs for the conformance machine: a run to its end, and which path it takes."""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pointkit._values import ProgramId
from pointkit.ledger._records import TransactionKind


if TYPE_CHECKING:
    from collections.abc import Iterator

    from pointkit.ledger import Ledger, ReadUnit, Storage, Transaction, WriteUnit


__all__ = ["PythonPlanned", "expire_to_end", "expires_set_based"]


class PythonPlanned:
    """*inner* with its units' ``expire_due_lots`` hidden: the ledger plans expiry in Python."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    @contextmanager
    def reading(self, program: ProgramId) -> Iterator[ReadUnit]:
        """*inner*'s read unit, without the set-based expiry."""
        with self.inner.reading(program) as unit:
            yield _WithoutSetExpiry(unit)  # type: ignore[misc]  # duck-typed unit

    @contextmanager
    def writing(self, program: ProgramId) -> Iterator[WriteUnit]:
        """*inner*'s write unit, without the set-based expiry."""
        with self.inner.writing(program) as unit:
            yield _WithoutSetExpiry(unit)  # type: ignore[misc]  # duck-typed unit


class _WithoutSetExpiry:
    def __init__(self, unit: object) -> None:
        self._unit = unit

    def __getattr__(self, name: str) -> object:
        if name == "expire_due_lots":
            raise AttributeError(name)
        return getattr(self._unit, name)


def expires_set_based(storage: Storage, program: str) -> bool:
    """Whether *storage* expires lots set-based (its units have ``expire_due_lots``)."""
    with storage.reading(ProgramId(program)) as unit:
        return callable(getattr(unit, "expire_due_lots", None))


def expire_to_end(
    ledger: Ledger, limit: int
) -> tuple[tuple[Transaction, ...], int, int, tuple[tuple[str, int], ...]]:
    """Run expiry to its end in calls of *limit*: (transactions, holds, lots, points).

    Raises:
        AssertionError: If a call returns other than one transaction per hold, and expiry
            transactions whose lots are not the lots it counts.
    """
    done: list[Transaction] = []
    holds = lots = 0
    points: defaultdict[str, int] = defaultdict(int)
    while True:
        run = ledger.expire_due(limit=limit, transactions=True)
        expiries = [t for t in run.transactions if t.kind is TransactionKind.EXPIRY]
        moved = [move.lot for t in expiries for move in t.lot_moves]
        if (len(run.transactions) - len(expiries), len(moved), len(set(moved))) != (
            run.holds_expired,
            run.lots_expired,
            run.lots_expired,
        ):
            message = (
                f"an expiry run returned {len(run.transactions) - len(expiries)} hold timeouts "
                f"and expiries of {len(moved)} lots ({len(set(moved))} distinct) for "
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
