"""The PostgreSQL adapter's writes: the rows a batch of plans leaves, sent set-based.

``batch_rows`` turns plans into one list of rows per table, the wallets' new versions (each
wallet once, guarded by the version it had when the batch started) and the expiry extensions;
``send_batch`` sends them. On one server every table's rows, the events that report the
transactions and the wallets' guarded UPDATE are one statement (``_inserts.write_together``);
on a distributed schema, one statement per table. The wallet UPDATE's guard fails inside the
database (a cast that cannot succeed), so that a COMMIT sent with it fails too; the adapter
reads that error as an InvariantViolation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, TypeAlias

from pointkit.ledger._codec import checksum, encode_allocations, encode_transaction
from pointkit.storage.postgres._inserts import insert_rows, one_of, row_source, write_together
from pointkit.storage.postgres._outbox_rows import event_rows
from pointkit.storage.postgres._rows import HOLD_COLUMNS, LOT_COLUMNS, owner


if TYPE_CHECKING:
    from collections.abc import Sequence

    import psycopg

    from pointkit.ledger._outbox import NewEvent
    from pointkit.ledger._records import Hold, HoldId, Lot, LotId
    from pointkit.ledger._storage import Plan, WalletKey, WalletState


__all__ = ["BatchRows", "WalletRow", "batch_rows", "send_batch", "wallets_update"]

Rows: TypeAlias = "Sequence[tuple[object, ...]]"
WalletRow: TypeAlias = tuple[str, str, int, int, int, int, int]
"""A wallet's update: member, currency, version, posted, held, debt, the version it was at."""
BatchRows: TypeAlias = (
    "tuple[list[tuple[tuple[str, str], Rows]], list[WalletRow], list[tuple[object, ...]]]"
)
"""A batch's rows: per table ((head, tail), rows), the wallet updates, the expiry extensions."""

# Each table's insert: (the statement up to VALUES, what follows the rows).
_INSERT_POSTINGS: Final = (
    (
        "INSERT INTO {s}.pk_posting (program_id, txn_member, txn_id, seq, account_kind, member, "
        "currency, phase, amount, created_at) VALUES"
    ),
    "",
)
_INSERT_TRANSACTIONS: Final = (
    (
        "INSERT INTO {s}.pk_txn (program_id, member, txn_id, idem_key, kind, created_at, "
        "reverses, body, checksum) VALUES"
    ),
    "",
)
_INSERT_ENTRIES: Final = (
    (
        "INSERT INTO {s}.pk_entry (program_id, member, currency, version, txn_id, posted, held, "
        "debt, posted_change) VALUES"
    ),
    "",
)
_UPSERT_LOTS: Final = (
    f"INSERT INTO {{s}}.pk_lot (program_id, {LOT_COLUMNS}) VALUES",
    (
        " ON CONFLICT (program_id, member, lot_id) DO UPDATE SET remaining = excluded.remaining, "
        "held = excluded.held, expired = excluded.expired"
    ),
)
_UPSERT_HOLDS: Final = (
    f"INSERT INTO {{s}}.pk_hold (program_id, {HOLD_COLUMNS}) VALUES",
    (
        " ON CONFLICT (program_id, member, hold_id) DO UPDATE SET status = excluded.status, "
        "captured = excluded.captured, resolved_by = excluded.resolved_by "
        "WHERE pk_hold.status = 'open'"
    ),
)
# Every wallet the batch touched, once, guarded by the version it had when the batch started:
# a pair assertion, since the locks make a mismatch impossible. It fails in the database (a
# cast that cannot succeed), so that a COMMIT sent with it fails too; the adapter reads that
# error as an InvariantViolation.
_WALLETS_SET: Final = (
    "u AS (UPDATE {s}.pk_wallet AS w SET version = v.version, posted = v.posted, "
    "held = v.held, debt = v.debt FROM "
)
_WALLETS_UPDATED: Final = (
    _WALLETS_SET + "{rows} "
    "AS v(member, currency, version, posted, held, debt, previous) "
    "WHERE w.program_id = %s AND w.member {members} AND w.member = v.member "
    "AND w.currency = v.currency AND w.version = v.previous RETURNING 1)"
)
# The same update on one server, each wallet found by its whole key (a ``LATERAL`` lookup, as
# the read under the locks does) and then updated where it stands (its ``ctid``; the row is
# locked by this transaction, so it stays there). As a join, a plan made while the table's
# statistics were stale scanned every wallet of the program for each batch.
_WALLETS_UPDATED_BY_KEY: Final = (
    _WALLETS_SET + "(SELECT f.at, v.* FROM {rows} "
    "AS v(member, currency, version, posted, held, debt, previous) CROSS JOIN LATERAL "
    "(SELECT x.ctid AS at FROM {s}.pk_wallet AS x WHERE x.program_id = %s "
    "AND x.member = v.member AND x.currency = v.currency LIMIT 1) AS f) AS v "
    "WHERE w.ctid = v.at AND w.version = v.previous RETURNING 1)"
)
_WALLETS_CHECKED: Final = (
    "SELECT CASE WHEN count(*) = %s THEN 0 ELSE ('pointkit: ' || (%s - count(*)) "
    "|| ' wallet(s) were not at the version the plan was made from')::int END FROM u"
)
_WALLET_TYPES: Final = ("text", "text", "bigint", "bigint", "bigint", "bigint", "bigint")


def batch_rows(program: str, plans: Sequence[Plan]) -> BatchRows:
    """The rows *plans* write, per table; the wallet updates; the expiry extensions."""
    postings: list[tuple[object, ...]] = []
    txns: list[tuple[object, ...]] = []
    entries: list[tuple[object, ...]] = []
    wallets: dict[WalletKey, tuple[int, WalletState]] = {}
    lots: dict[LotId, Lot] = {}
    holds: dict[HoldId, Hold] = {}
    extensions: list[tuple[object, ...]] = []
    for plan in plans:
        transaction = plan.transaction
        body = encode_transaction(transaction)
        member = owner(transaction)
        txns.append(
            (
                program,
                member,
                transaction.id,
                transaction.key,
                transaction.kind.value,
                transaction.created_at,
                transaction.reverses,
                body,
                checksum(body),
            )
        )
        postings.extend(
            (
                program,
                member,
                transaction.id,
                seq,
                p.account.kind.value,
                p.account.member,
                p.account.currency,
                p.phase.value,
                p.amount,
                transaction.created_at,
            )
            for seq, p in enumerate(transaction.postings)
        )
        entries.extend(
            (
                program,
                str(c.member),
                c.currency,
                c.version,
                transaction.id,
                c.posted,
                c.held,
                c.debt,
                c.posted_change,
            )
            for c in transaction.wallet_changes
        )
        for state in plan.wallets:
            first = wallets.get(state.key, (state.version - 1, state))[0]
            wallets[state.key] = (first, state)
        lots.update((lot.id, lot) for lot in plan.lots)
        holds.update((hold.id, hold) for hold in plan.holds)
        extensions.extend(
            (
                e.expires_at,
                program,
                str(e.member),
                e.currency,
                transaction.created_at,
                e.expires_at,
            )
            for e in transaction.expiry_extensions
        )
    updates = [
        (str(member), currency, state.version, state.posted, state.held, state.debt, previous)
        for (member, currency), (previous, state) in sorted(wallets.items())
    ]
    lot_rows = [
        (
            program,
            lot.id,
            str(lot.member),
            lot.currency,
            lot.amount,
            lot.remaining,
            lot.held,
            lot.expired,
            lot.earned_at,
            lot.available_at,
            lot.expires_at,
            lot.source,
            lot.follows_activity,
        )
        for lot in lots.values()
    ]
    hold_rows = [
        (
            program,
            hold.id,
            str(hold.member),
            hold.currency,
            hold.amount,
            hold.created_at,
            hold.expires_at,
            encode_allocations(hold.allocations),
            hold.status.value,
            hold.captured,
            hold.resolved_by,
        )
        for hold in holds.values()
    ]
    tables: list[tuple[tuple[str, str], Sequence[tuple[object, ...]]]] = [
        (_INSERT_POSTINGS, postings),
        (_INSERT_TRANSACTIONS, txns),
        (_INSERT_ENTRIES, entries),
        (_UPSERT_LOTS, lot_rows),
        (_UPSERT_HOLDS, hold_rows),
    ]
    return tables, updates, extensions


def wallets_update(
    schema: str, program: str, updates: Sequence[WalletRow], *, together: bool
) -> tuple[str, str, list[object]]:
    """The guarded update of the wallets *updates* names: ``(WITH item, query, values)``.

    *together* (one server): each wallet found by key and updated where it stands. Otherwise
    (distributed) a join that names the members, so that only their shards are updated.
    """
    source, values = row_source(_WALLET_TYPES, updates)
    if together:
        return (
            _WALLETS_UPDATED_BY_KEY.format(s=schema, rows=source),
            _WALLETS_CHECKED,
            [*values, program, len(updates), len(updates)],
        )
    members, member_values = one_of(sorted({row[0] for row in updates}))
    return (
        _WALLETS_UPDATED.format(s=schema, rows=source, members=members),
        _WALLETS_CHECKED,
        [*values, program, *member_values, len(updates), len(updates)],
    )


def send_batch(
    db: psycopg.Connection[Any],
    schema: str,
    program: str,
    rows: BatchRows,
    events: Sequence[NewEvent],
    *,
    together: bool,
) -> Sequence[NewEvent]:
    """Send *rows* (and *events* in the same statement, when *together*); return events left.

    *together* means one server; a distributed schema (Citus) gets a statement per table.

    Events are left (for the outbox's own insert, after) when there is no single statement:
    on a distributed schema, or a batch with more values than a statement takes.
    """
    tables, updates, extensions = rows
    inserts = [(head.format(s=schema), table, tail) for (head, tail), table in tables if table]
    wallet_update = wallets_update(schema, program, updates, together=together) if updates else None
    with_events = (
        [*inserts, event_rows(schema, program, events)] if together and events else inserts
    )
    left: Sequence[NewEvent] = ()
    if not (together and write_together(db, with_events, wallet_update)):
        left = events  # no single statement: the outbox writes them after, on its own
        for head, table, tail in inserts:
            insert_rows(db, head, table, tail)
        if wallet_update is not None:
            item, query, arguments = wallet_update
            db.cursor().execute(f"WITH {item} {query}", arguments)
    if extensions:
        # After the lots: a lot this batch created or changed is extended too.
        db.cursor().executemany(
            f"UPDATE {schema}.pk_lot SET expires_at = %s WHERE program_id = %s "
            "AND member = %s AND currency = %s AND follows_activity AND remaining > 0 "
            "AND expires_at > %s AND expires_at < %s",
            extensions,
        )
    return left
