"""Exports for finance and data teams: the journal, balances and lots, as CSV or JSON Lines.

Rows are written as they are read, never gathered first: an export of a large programme takes
little memory. JSON Lines rows are :func:`pointkit.jsonable.dump` of the value (one per line);
CSV rows are flat, one per posting for the journal, with instants in RFC 3339.

The journal streams from the storage's read of every transaction. Balances and lots go member
by member, sorted; a storage whose reads have ``members_page`` (pointkit's SQLite and
PostgreSQL adapters, in their reports part) gives the members a page of
``MEMBERS_PAGE`` at a time, so not even the list of members is held; any other storage gives
them all at once (:meth:`~pointkit.program.Program.members`). A storage whose reads have
``lots_in_order`` (SQLite's) streams the lots in that same order from one sorted scan.
"""

from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING, Final, Literal, Protocol, TypeAlias, runtime_checkable

from pointkit import jsonable
from pointkit._validate import check_aware
from pointkit.exceptions import InvalidArgumentError


if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime
    from typing import TextIO

    from pointkit.ledger import Lot, Transaction
    from pointkit.program._program import Program


__all__ = ["EXPORTS", "ExportFormat", "ExportKind", "export"]

ExportKind: TypeAlias = Literal["journal", "balances", "lots"]
ExportFormat: TypeAlias = Literal["csv", "jsonl"]
EXPORTS: Final[tuple[ExportKind, ...]] = ("journal", "balances", "lots")
"""What :func:`export` writes: the journal, every balance, or every lot."""
_FORMATS: Final[tuple[ExportFormat, ...]] = ("csv", "jsonl")

_JOURNAL_COLUMNS: Final = (
    "transaction", "key", "kind", "created_at", "currency", "account", "member", "phase",
    "amount", "reason",
)  # fmt: skip
_BALANCE_COLUMNS: Final = (
    "member", "currency", "posted", "pending", "held", "awaiting_expiry", "available", "debt",
    "as_of",
)  # fmt: skip
MEMBERS_PAGE: Final = 1_000
"""Members read per page when the storage pages them (see the module's notes)."""


@runtime_checkable
class _MemberPages(Protocol):
    """A read unit that pages through the members with a wallet, sorted."""

    def members_page(self, after: str | None, limit: int) -> Sequence[str]:
        """Up to *limit* members after *after* (from the first if ``None``), sorted."""
        ...


@runtime_checkable
class _LotStream(Protocol):
    """A read unit that streams every lot in the export's order."""

    def lots_in_order(self, currencies: Sequence[str]) -> Iterator[Lot]:
        """Every lot in *currencies*: by member, currency in that order, then spending order."""
        ...


_LOT_COLUMNS: Final = (
    "lot", "member", "currency", "amount", "remaining", "held", "expired", "earned_at",
    "available_at", "expires_at", "source",
)  # fmt: skip


def export(
    program: Program,
    what: str,
    out: TextIO,
    *,
    format: str = "csv",  # noqa: A002 - the word users know
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Write *what* (``journal``, ``balances`` or ``lots``) of *program* to *out*.

    Args:
        program: The programme.
        what: ``journal`` — every transaction recorded in ``[since, until)``, a CSV row per
            posting, in the order the storage returns them; ``balances`` — every member's
            balance in every currency, now; ``lots`` — every lot, closed ones included.
        out: Where to write (a file opened with ``newline=""`` for CSV).
        format: ``csv`` or ``jsonl``.
        since: For the journal: the first instant included.
        until: For the journal: the first instant left out.

    Returns:
        How many transactions, balances or lots were written.

    Raises:
        InvalidArgumentError: If *what* or *format* is not one of those, or a range is given
            for balances or lots.
    """
    if what not in EXPORTS:
        raise InvalidArgumentError(f"what={what!r} must be one of {list(EXPORTS)}")
    if format not in _FORMATS:
        raise InvalidArgumentError(f"format={format!r} must be one of {list(_FORMATS)}")
    if what != "journal" and (since is not None or until is not None):
        raise InvalidArgumentError(f"since and until apply to the journal, not to {what}")
    start = None if since is None else check_aware("since", since)
    end = None if until is None else check_aware("until", until)
    rows: Iterator[tuple[object, dict[str, object] | list[dict[str, object]]]]
    columns: tuple[str, ...]
    if what == "journal":
        rows, columns = _journal(program, start, end), _JOURNAL_COLUMNS
    elif what == "balances":
        rows, columns = _balances(program), _BALANCE_COLUMNS
    else:
        rows, columns = _lots(program), _LOT_COLUMNS
    return _write(rows, columns, out, format)


def _write(
    rows: Iterator[tuple[object, dict[str, object] | list[dict[str, object]]]],
    columns: tuple[str, ...],
    out: TextIO,
    format: str,  # noqa: A002
) -> int:
    written = 0
    writer = csv.DictWriter(out, fieldnames=columns) if format == "csv" else None
    if writer is not None:
        writer.writeheader()
    for value, flat in rows:
        if writer is None:
            out.write(json.dumps(jsonable.dump(value), ensure_ascii=False, sort_keys=True) + "\n")
        else:
            writer.writerows(flat if isinstance(flat, list) else [flat])
        written += 1
    return written


def _text(value: object) -> object:
    if value is None:
        return ""
    dumped = jsonable.dump(value)
    return dumped if isinstance(dumped, str | int) else json.dumps(dumped)


def _journal(
    program: Program, start: datetime | None, end: datetime | None
) -> Iterator[tuple[Transaction, list[dict[str, object]]]]:
    storage = program.ledger.storage
    with storage.reading(program.ledger.program) as unit:
        for transaction in unit.all_transactions():
            if (start is not None and transaction.created_at < start) or (
                end is not None and transaction.created_at >= end
            ):
                continue
            yield (
                transaction,
                [
                    {
                        "transaction": str(transaction.id),
                        "key": transaction.key,
                        "kind": transaction.kind.value,
                        "created_at": transaction.created_at.isoformat(),
                        "currency": transaction.currency,
                        "account": posting.account.kind.value,
                        "member": posting.account.member or "",
                        "phase": posting.phase.value,
                        "amount": posting.amount,
                        "reason": transaction.reason or "",
                    }
                    for posting in transaction.postings
                ],
            )


def _members(program: Program) -> Iterator[str]:
    """Every member with a wallet, sorted: a page at a time where the storage pages them."""
    storage, name = program.ledger.storage, program.ledger.program
    after: str | None = None
    while True:
        with storage.reading(name) as unit:
            if not isinstance(unit, _MemberPages):
                break
            page = list(unit.members_page(after, MEMBERS_PAGE))
        yield from page
        if len(page) < MEMBERS_PAGE:
            return
        after = page[-1]
    yield from map(str, program.members())


def _balances(program: Program) -> Iterator[tuple[object, dict[str, object]]]:
    for member in _members(program):
        for currency in program.config.currencies:
            balance = program.balance(member, currency.code)
            yield balance, {column: _text(getattr(balance, column)) for column in _BALANCE_COLUMNS}


def _lots(program: Program) -> Iterator[tuple[object, dict[str, object]]]:
    codes = [currency.code for currency in program.config.currencies]
    with program.ledger.storage.reading(program.ledger.program) as unit:
        if isinstance(unit, _LotStream):
            for lot in unit.lots_in_order(codes):
                yield lot, _lot_row(lot)
            return
    for member in _members(program):
        for code in codes:
            for lot in program.lots(member, code, include_closed=True):
                yield lot, _lot_row(lot)


def _lot_row(lot: Lot) -> dict[str, object]:
    row = {column: _text(getattr(lot, column)) for column in _LOT_COLUMNS if column != "lot"}
    return {"lot": str(lot.id), **row}
