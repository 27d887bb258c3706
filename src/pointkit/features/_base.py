"""What every feature above the ledger shares: its ledger, its clock and its storage part."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pointkit._validate import check_aware, type_name
from pointkit._values import Money
from pointkit.exceptions import ArgumentTypeError
from pointkit.features._parts import record_reader, record_writer
from pointkit.ledger import Ledger


if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from datetime import datetime

    from pointkit.features._parts import RecordsReading, RecordsWriting
    from pointkit.ledger import Linked, ReadUnit


__all__ = ["Feature", "RecordsFeature", "money_of", "money_text"]


class Feature:
    """A feature on a ledger: it runs its commands in the ledger's linked units of work."""

    _name: ClassVar[str] = "this feature"

    def __init__(self, ledger: Ledger) -> None:
        if not isinstance(ledger, Ledger):
            raise ArgumentTypeError(f"ledger={ledger!r} must be a Ledger, not {type_name(ledger)}")
        self._ledger = ledger

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._ledger!r})"

    @property
    def ledger(self) -> Ledger:
        """The ledger this feature posts its points on."""
        return self._ledger

    def _now(self) -> datetime:
        return check_aware("clock.now()", self._ledger.clock.now())

    def _reading(self) -> AbstractContextManager[ReadUnit]:
        return self._ledger.storage.reading(self._ledger.program)


class RecordsFeature(Feature):
    """A feature that keeps its state in the records part of storage."""

    def _reader(self, unit: ReadUnit) -> RecordsReading:
        return record_reader(unit, self._name)

    def _writer(self, link: Linked) -> RecordsWriting:
        return record_writer(link.unit, self._name)


def money_text(money: Money | None) -> str | None:
    """Money as stored in a record's document: ``"300.00 CNY"``, or ``None``."""
    return None if money is None else str(money)


def money_of(text: object) -> Money | None:
    """The money :func:`money_text` stored."""
    if text is None:
        return None
    amount, code = str(text).split(" ")
    return Money(amount, code)
