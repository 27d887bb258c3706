"""Exports for finance and data teams: the journal, balances and lots, as CSV or JSON Lines.

Rows are written as they are read, never gathered first: an export of a large programme takes
little memory. JSON Lines rows are :func:`pointkit.jsonable.dump` of the value (one per line);
CSV rows are flat, one per posting for the journal, with instants in RFC 3339.
"""

from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from pointkit import jsonable
from pointkit._validate import check_aware
from pointkit.exceptions import InvalidArgumentError


if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from typing import TextIO

    from pointkit.ledger import Transaction
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


def _balances(program: Program) -> Iterator[tuple[object, dict[str, object]]]:
    for member in program.members():
        for currency in program.config.currencies:
            balance = program.balance(str(member), currency.code)
            yield balance, {column: _text(getattr(balance, column)) for column in _BALANCE_COLUMNS}


def _lots(program: Program) -> Iterator[tuple[object, dict[str, object]]]:
    for member in program.members():
        for currency in program.config.currencies:
            for lot in program.lots(str(member), currency.code, include_closed=True):
                row = {
                    column: _text(getattr(lot, column))
                    for column in _LOT_COLUMNS
                    if column != "lot"
                }
                yield lot, {"lot": str(lot.id), **row}
