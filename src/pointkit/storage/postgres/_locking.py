"""What a ledger command locks and reads before it books: two statements, whatever it needs.

Why two, and why these
----------------------
Each statement costs the client a pipeline step (its parameters adapted, its message sent, its
result taken apart), and with several writers on one interpreter that client work, not the
server, bounds the throughput. So ``lock_for`` sends only:

1. the lock: ``INSERT ... VALUES ... ON CONFLICT DO UPDATE ... WHERE false``. A wallet that
   does not exist yet is inserted (a version-0 row stands for "no transaction yet"), and an
   existing one is locked without being written: the conflict action locks the row before its
   ``WHERE`` is tested, in ``FOR NO KEY UPDATE`` mode since it sets no key column. Rows are
   given in key order and taken in that order, so units never wait on each other in a cycle;
2. the read, one statement after the lock: under READ COMMITTED it sees the rows as the
   transactions it waited for left them, journal entries included (a locking read re-reads
   only the row it locks, not a row joined to it). Its parts, joined with ``UNION ALL`` into
   rows of one shape, are the wallets with their entries, the transactions recorded under the
   idempotency keys, the lots named by id and, for a command that spends, each wallet's first
   page of open lots in spending order.

Every part filters its own table on ``program_id``, so a distributed PostgreSQL (Citus) routes
the statement to one program's shard group.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

import psycopg

from pointkit.exceptions import InvariantViolation
from pointkit.ledger._codec import decode_transaction
from pointkit.ledger._storage import Locked
from pointkit.storage.postgres._inserts import one_of, row_source
from pointkit.storage.postgres._rows import lot_from, spending_order, wallet_from


if TYPE_CHECKING:
    from collections.abc import Sequence

    from pointkit.ledger._records import Lot, LotId, Transaction
    from pointkit.ledger._storage import WalletKey, WalletState


__all__ = ["LockedRead", "send_lock"]

# The kinds of row the read returns, in the order it returns them.
_WALLET: Final = 0
_RECORDED: Final = 1
_NAMED_LOT: Final = 2
_PAGE_LOT: Final = 3

_LOCK: Final = (
    "INSERT INTO {s}.pk_wallet AS w (program_id, member, currency, version, posted, held, "
    "debt) VALUES {rows} ON CONFLICT (program_id, member, currency) "
    "DO UPDATE SET version = w.version WHERE false"
)
# The lock's rows of new wallets: the program ($1), then each key's member and currency.
_WALLET_ROW: Final = "($1, ${}, ${}, 0, 0, 0, 0)"

# The read's rows: (kind, id, member, currency, n1 .. n7, t1, t2, t3, source, flag, body,
# digest). A wallet fills member, currency and n1 .. n7 (version, posted, held, debt, then
# its entry's posted, held, debt); a recorded transaction fills member (its key), body and
# digest; a lot fills id, member, currency, n1 .. n4 (amount, remaining, held, expired),
# t1 .. t3 (earned, available, expires), source and flag (follows_activity).
_WALLET_SELECT: Final = (
    f"SELECT {_WALLET} AS kind, NULL::uuid AS id, w.member, w.currency, w.version AS n1, "
    "w.posted AS n2, w.held AS n3, w.debt AS n4, e.posted AS n5, e.held AS n6, e.debt AS n7, "
    "NULL::timestamptz AS t1, NULL::timestamptz AS t2, NULL::timestamptz AS t3, "
    "NULL::uuid AS source, NULL::boolean AS flag, NULL::text AS body, NULL::bytea AS digest "
)
_WALLETS: Final = (
    _WALLET_SELECT + "FROM {s}.pk_wallet AS w LEFT JOIN {s}.pk_entry AS e ON e.program_id = %s "
    "AND e.member = w.member AND e.currency = w.currency AND e.version = w.version "
    "WHERE w.program_id = %s AND (w.member, w.currency) IN (SELECT * FROM {keys} AS k)"
)
# The same rows, each wallet and its entry looked up by its whole key. ``LIMIT 1`` keeps each
# lookup a subquery of its own, run once per key, so the plan is index lookups whatever the
# table statistics say: in the join above, a generic plan made while a table was small (not
# analyzed yet) scans every wallet, and every entry per wallet, of the program (160 ms per
# read at 15,000 entries). On one server only: a distributed schema keeps the join, the shape
# its router was run with (a subquery with a limit across shards is not pushed down).
_WALLETS_BY_KEY: Final = (
    _WALLET_SELECT
    + "FROM {keys} AS k(member, currency) CROSS JOIN LATERAL (SELECT w.* FROM {s}.pk_wallet "
    "AS w WHERE w.program_id = %s AND w.member = k.member AND w.currency = k.currency "
    "LIMIT 1) AS w LEFT JOIN LATERAL (SELECT e.posted, e.held, e.debt FROM {s}.pk_entry AS e "
    "WHERE e.program_id = %s AND e.member = w.member AND e.currency = w.currency "
    "AND e.version = w.version LIMIT 1) AS e ON true"
)
_RECORDED_TRANSACTIONS: Final = (
    f"SELECT {_RECORDED}, NULL, t.idem_key, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, t.body, t.checksum FROM {s}.pk_txn AS t "
    "WHERE t.program_id = %s AND t.idem_key {names}{members}"
)
_LOT_VALUES: Final = (
    "{a}.lot_id, {a}.member, {a}.currency, {a}.amount, {a}.remaining, {a}.held, {a}.expired, "
    "NULL, NULL, NULL, {a}.earned_at, {a}.available_at, {a}.expires_at, {a}.source, "
    "{a}.follows_activity, NULL, NULL"
)
_NAMED_LOTS: Final = (
    f"SELECT {_NAMED_LOT}, {_LOT_VALUES.format(a='l')} FROM {{s}}.pk_lot AS l "
    "WHERE l.program_id = %s AND l.lot_id {ids}{members}"
)
_FIRST_PAGES: Final = (
    f"SELECT {_PAGE_LOT}, {_LOT_VALUES.format(a='p')} "
    "FROM {keys} AS k(member, currency) CROSS JOIN LATERAL (SELECT o.* FROM {s}.pk_lot AS o "
    "WHERE o.program_id = %s AND o.member = k.member AND o.currency = k.currency "
    f"AND o.remaining > 0 ORDER BY {spending_order('o.')} LIMIT %s) AS p"
)
# The same page for one wallet, a part of its own: the schema distributed by member routes it
# to the member's shard, which a join to a list of keys does not.
_FIRST_PAGE: Final = (
    f"SELECT {_PAGE_LOT}, {_LOT_VALUES.format(a='p')} FROM (SELECT o.* FROM {{s}}.pk_lot AS o "
    "WHERE o.program_id = %s AND o.member = %s AND o.currency = %s AND o.remaining > 0 "
    f"ORDER BY {spending_order('o.')} LIMIT %s) AS p"
)


def send_lock(
    connection: psycopg.Connection[Any], schema: str, program: str, keys: Sequence[WalletKey]
) -> None:
    """Send the statement that creates the missing wallets of *keys* (sorted) and locks them all.

    A raw statement (``$n`` placeholders), as ``_inserts`` sends: it may have hundreds.
    """
    psycopg.RawCursor(connection).execute(
        _LOCK.format(s=schema, rows=_wallet_rows(len(keys))),
        [program, *(value for member, currency in keys for value in (str(member), currency))],
    )


@lru_cache(maxsize=256)
def _wallet_rows(count: int) -> str:
    return ", ".join(_WALLET_ROW.format(2 * n + 2, 2 * n + 3) for n in range(count))


class LockedRead:
    """The read sent after the lock; :meth:`result` waits for its rows and checks them."""

    def __init__(
        self,
        connection: psycopg.Connection[Any],
        schema: str,
        program: str,
        keys: Sequence[WalletKey],
        idempotency_keys: Sequence[str],
        lot_ids: Sequence[LotId],
        *,
        page: int | None,
        by_member: bool = False,
        distributed: bool = False,
    ) -> None:
        """Send the read of the locked *keys*, with what the command needs besides.

        The read also returns the transactions recorded under *idempotency_keys*, the lots
        named by *lot_ids* and, with *page*, that many of each wallet's open lots. With
        *by_member* (the schema distributed by member) every part also names the members, so
        that each is routed to their shards, and a key is looked up among the transactions of
        the command's members: keys are unique per member there. *distributed* (Citus) keeps
        the wallets' join, which its planner routes.
        """
        self._keys = keys
        self._paged = page is not None and bool(keys)
        parts: list[str] = []
        args: list[object] = []
        pairs, pair_values = row_source(("text", "text"), [(str(m), c) for m, c in keys])
        members = sorted({str(member) for member, _ in keys}) if by_member else []
        among, member_values = one_of(members) if members else ("", [])
        if keys and distributed:
            parts.append(
                _WALLETS.replace("{keys}", pairs) + (f" AND w.member {among}" * bool(among))
            )
            args += [program, program, *pair_values, *member_values]
        elif keys:
            parts.append(_WALLETS_BY_KEY.replace("{keys}", pairs))
            args += [*pair_values, program, program]
        if idempotency_keys:
            names, name_values = one_of(idempotency_keys)
            parts.append(
                _RECORDED_TRANSACTIONS.replace("{names}", names).replace(
                    "{members}", f" AND t.member {among}" * bool(among)
                )
            )
            args += [program, *name_values, *member_values]
        if lot_ids:
            ids, id_values = one_of(lot_ids)
            parts.append(
                _NAMED_LOTS.replace("{ids}", ids).replace(
                    "{members}", f" AND l.member {among}" * bool(among)
                )
            )
            args += [program, *id_values, *member_values]
        if page is not None and keys and by_member:
            for member, currency in keys:
                parts.append(_FIRST_PAGE)
                args += [program, str(member), currency, page]
        elif page is not None and keys:
            parts.append(_FIRST_PAGES.replace("{keys}", pairs))
            args += [*pair_values, program, page]
        # Spending order within each wallet's page; the kinds in the order above.
        sql = (
            f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS r ORDER BY r.kind, r.member, "
            "r.currency, COALESCE(r.t3, 'infinity'), r.t2, r.id"
        )
        self._cursor = connection.execute(sql.replace("{s}", schema), args) if parts else None

    def result(self) -> tuple[Locked, dict[WalletKey, list[Lot]]]:
        """Wait for the read; return what the booking starts from, and the first lot pages.

        The pages (a command that spends) are each wallet's first open lots in spending order.

        Raises:
            InvariantViolation: If a wallet was not locked, or a row breaks an invariant.
        """
        wallets: dict[WalletKey, WalletState] = {}
        recorded: dict[str, Transaction] = {}
        named: list[Lot] = []
        pages: dict[WalletKey, list[Lot]] = {key: [] for key in self._keys} if self._paged else {}
        if self._cursor is not None:
            for row in self._cursor.fetchall():
                kind = row[0]
                if kind == _WALLET:
                    wallet = wallet_from(row[2:11])
                    wallets[wallet.key] = wallet
                elif kind == _RECORDED:
                    recorded[row[2]] = decode_transaction(row[16], row[17])
                elif kind == _NAMED_LOT:
                    named.append(lot_from(_lot_columns(row)))
                else:
                    lot = lot_from(_lot_columns(row))
                    pages.setdefault((lot.member, lot.currency), []).append(lot)
        if len(wallets) != len(self._keys):
            raise InvariantViolation(f"could not lock every wallet of {list(self._keys)}")
        return Locked(wallets, recorded, tuple(named)), pages


def _lot_columns(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A read row's lot, as the columns ``lot_from`` takes (``LOT_COLUMNS``)."""
    return (*row[1:8], *row[11:16])
