"""The accounts part's rows: the columns pointkit reads, and each row as a checked record.

Every row read from PostgreSQL goes through these, so a corrupt or tampered row raises
:class:`~pointkit.exceptions.InvariantViolation` where it is read (see ``ledger/_codec``'s
``checked_*``), whichever statement read it.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from pointkit._values import MemberId
from pointkit.exceptions import InvariantViolation
from pointkit.ledger._codec import (
    checked_hold,
    checked_lot,
    checked_wallet,
    decode_allocations,
    decode_transaction,
)
from pointkit.ledger._records import Hold, HoldId, HoldStatus, Lot, LotId, TransactionId
from pointkit.ledger._storage import WalletState


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit.ledger._records import Transaction


__all__ = [
    "ENTRY_OF_WALLET",
    "HOLD_COLUMNS",
    "LOT_COLUMNS",
    "WALLET_WITH_ENTRY",
    "hold_from",
    "lot_from",
    "only_row",
    "owner",
    "several_members",
    "spending_order",
    "transaction_from",
    "wallet_from",
]


LOT_COLUMNS = (
    "lot_id, member, currency, amount, remaining, held, expired, earned_at, available_at, "
    "expires_at, source, follows_activity"
)


def only_row(rows: Sequence[tuple[Any, ...]], what: str) -> tuple[Any, ...] | None:
    """The one row of a lookup by an id or key alone, or ``None``.

    Distributed by member, a key or event id is unique per member only (and a transaction's
    id, made from its key and instant, with it): a lookup that names no member and finds two
    rows refuses them rather than answer with either.

    Raises:
        InvariantViolation: If two rows were found; *what* names the id.
    """
    if len(rows) > 1:
        raise several_members(what)
    return rows[0] if rows else None


def several_members(what: str) -> InvariantViolation:
    """The error for an id or key (*what*) that a lookup without its member found twice."""
    return InvariantViolation(
        f"{what} is recorded for several members; with the schema distributed by member, "
        "keys and event ids are unique per member: use one per command or event"
    )


def owner(transaction: Transaction) -> str:
    """The member a transaction is stored with: the first of those whose wallets it changed.

    First in code-point order; ``""`` for a transaction that changed no wallet. Every one of them was locked by the command, so a replay finds it among its members; its
    postings are stored with it, so the schema distributed by member keeps a transaction's rows
    on one shard (schema version 7 fills it in the same way for the rows written before).
    """
    changes = transaction.wallet_changes
    if len(changes) == 1:
        return str(changes[0].member)
    return min((str(change.member) for change in changes), default="")


def spending_order(lot: str = "") -> str:
    """A lot's place in spending order, as SQL: expiry (never last), then availability, then id.

    *lot* is the lot table's alias with its dot (``"o."``), or empty.
    """
    return f"COALESCE({lot}expires_at, 'infinity'), {lot}available_at, {lot}lot_id"


HOLD_COLUMNS = (
    "hold_id, member, currency, amount, created_at, expires_at, allocations, status, captured, "
    "resolved_by"
)


def lot_from(row: tuple[Any, ...]) -> Lot:
    (
        lot_id,
        member,
        currency,
        amount,
        remaining,
        held,
        expired,
        earned,
        available,
        expires,
        source,
        follows_activity,
    ) = row
    return checked_lot(
        Lot(
            id=LotId(lot_id),
            member=MemberId(member),
            currency=currency,
            amount=amount,
            remaining=remaining,
            held=held,
            expired=expired,
            earned_at=earned.astimezone(UTC),
            available_at=available.astimezone(UTC),
            expires_at=None if expires is None else expires.astimezone(UTC),
            source=TransactionId(source),
            follows_activity=follows_activity,
        )
    )


def hold_from(row: tuple[Any, ...]) -> Hold:
    (
        hold_id,
        member,
        currency,
        amount,
        created,
        expires,
        allocations,
        status,
        captured,
        resolved_by,
    ) = row
    return checked_hold(
        Hold(
            id=HoldId(hold_id),
            member=MemberId(member),
            currency=currency,
            amount=amount,
            created_at=created.astimezone(UTC),
            expires_at=expires.astimezone(UTC),
            allocations=decode_allocations(allocations),
            status=HoldStatus(status),
            captured=captured,
            resolved_by=None if resolved_by is None else TransactionId(resolved_by),
        )
    )


def wallet_from(row: tuple[Any, ...]) -> WalletState:
    member, currency, version, posted, held, debt = row[:6]
    state = WalletState(MemberId(member), currency, version, posted, held, debt)
    entry = row[6:9]
    return checked_wallet(state, (entry[0], entry[1], entry[2]) if entry else None)


# The journal entry at a wallet row's version, which reads and writes check the row against
# (see checked_wallet); joined to a wallet row aliased w.
ENTRY_OF_WALLET = (
    "LEFT JOIN {s}.pk_entry AS e ON e.program_id = w.program_id AND e.member = w.member "
    "AND e.currency = w.currency AND e.version = w.version "
)
WALLET_WITH_ENTRY = (
    "w.member, w.currency, w.version, w.posted, w.held, w.debt, e.posted, e.held, e.debt"
)


def transaction_from(row: tuple[Any, ...] | None) -> Transaction | None:
    return None if row is None else decode_transaction(row[0], row[1])
